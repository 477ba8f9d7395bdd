// The on-device archive driven from Kotlin on the JVM: the same core flow as the Python tests —
// an encrypted archive, a wrong key, a synthetic district, today's plan, an inspection with a real
// PNG photo, a micro-event, the building's file and star explanation, the officer's list.
package gridwalk.tests

import gridwalk.ffi.BuildingFilter
import gridwalk.ffi.ChecklistResult
import gridwalk.ffi.Effect
import gridwalk.ffi.EventKind
import gridwalk.ffi.EventStatus
import gridwalk.ffi.GpsFix
import gridwalk.ffi.Grid
import gridwalk.ffi.GridwalkArchive
import gridwalk.ffi.GridwalkException
import gridwalk.ffi.InspectionDraft
import gridwalk.ffi.ItemOutcome
import gridwalk.ffi.MicroEventDraft
import gridwalk.ffi.NoticeRecipient
import gridwalk.ffi.PhotoRef
import gridwalk.ffi.RatingBasis
import gridwalk.ffi.Scope
import gridwalk.ffi.Severity
import gridwalk.ffi.SyntheticDistrict
import gridwalk.ffi.smallDistrictSpec
import java.awt.image.BufferedImage
import java.io.ByteArrayOutputStream
import java.nio.file.Files
import java.nio.file.Path
import java.time.Duration
import java.time.Instant
import java.time.ZoneOffset
import java.util.UUID
import javax.imageio.ImageIO
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertTrue

const val KEY = "correct horse battery staple"

/** A real PNG from the JDK's encoder. */
fun png(width: Int, height: Int): ByteArray {
    val image = BufferedImage(width, height, BufferedImage.TYPE_INT_RGB)
    for (x in 0 until width) for (y in 0 until height) image.setRGB(x, y, 0x808080)
    return ByteArrayOutputStream().also { ImageIO.write(image, "png", it) }.toByteArray()
}

/** A fresh encrypted archive in a temporary directory with a seeded district loaded. */
class Field : AutoCloseable {
    val dir: Path = Files.createTempDirectory("gridwalk-kt")
    val path = dir.resolve("archive.db").toString()
    val archive = GridwalkArchive.open(path, KEY)
    val today = archive.today()
    val district = SyntheticDistrict(smallDistrictSpec(11uL).copy(today = today))
    val grid: Grid = district.grids().first()
    val worker = grid.worker!!

    init {
        assertEquals(430uL, archive.loadDistrict(district))
    }

    fun fixAt(code: String, accuracyM: Double = 8.0): GpsFix {
        val b = archive.building(code)
        return GpsFix(b.location.lat, b.location.lon, accuracyM, Instant.now())
    }

    fun allPass() = archive.catalog().checklist.map { ChecklistResult(it.id, it.category, ItemOutcome.PASS) }

    fun inspection(code: String, photos: List<PhotoRef> = emptyList(), accuracyM: Double = 8.0): InspectionDraft {
        val finished = Instant.now()
        return InspectionDraft(
            building = code, worker = worker,
            startedAt = finished.minus(Duration.ofMinutes(12)), finishedAt = finished,
            fix = fixAt(code, accuracyM), results = allPass(), findings = emptyList(), photos = photos,
            note = "stairwell clear",
        )
    }

    override fun close() {
        archive.close()
        district.close()
        dir.toFile().deleteRecursively()
    }
}

fun archiveSuite() = Suite("archive").apply {
    test("a wrong key raises NotReadable; the right key reopens the same archive") {
        Field().use { f ->
            assertFailsWith<GridwalkException.NotReadable> { GridwalkArchive.open(f.path, "not the key") }
            assertFailsWith<GridwalkException.NotReadable> { GridwalkArchive.open(f.path) }
            GridwalkArchive.open(f.path, KEY).use { again ->
                assertEquals(f.archive.deviceId(), again.deviceId())
                assertEquals(430uL, again.buildingCount())
            }
        }
    }
    test("buildings round-trip through the archive unchanged") {
        Field().use { f ->
            for (g in f.district.grids()) assertEquals(f.district.buildingsInGrid(g.id), f.archive.buildingsInGrid(g.id))
            val e = assertFailsWith<GridwalkException.NotFound> { f.archive.building("4403069999999999999990000") }
            assertTrue("4403069999999999999990000" in e.detail)
            assertFailsWith<GridwalkException.InvalidInput> { f.archive.building("44030600") }
        }
    }
    test("a patrol day: plan, inspect with a photo, the stop leaves the plan, stars explained, micro-event") {
        Field().use { f ->
            val start = f.grid.boundary.first()
            val plan = f.archive.planDay(f.grid.id, f.today, start)
            assertEquals(f.today, plan.day)
            assertTrue(plan.stops.isNotEmpty())
            assertTrue(plan.stops.size.toUInt() <= plan.dueTotal)
            val gridCodes = f.district.buildingsInGrid(f.grid.id).map { it.code }.toSet()
            assertTrue(plan.stops.all { it.building in gridCodes && !it.dueOn.isAfter(f.today) })
            assertEquals(plan.walkM, plan.stops.sumOf { it.legM }, 0.01)
            assertTrue(plan.walkM <= plan.priorityOrderM + 1e-6)

            val first = plan.stops[0].building
            val photo = f.archive.addPhoto(png(64, 48))
            assertEquals(64u to 48u, photo.width to photo.height)
            val recorded = f.archive.recordInspection(f.inspection(first, listOf(photo)))
            assertEquals(7, UUID.fromString(recorded.id).version())
            assertEquals(1uL, f.archive.outboxStatus().pending)

            val after = f.archive.planDay(f.grid.id, f.today, start)
            assertFalse(after.stops.any { it.building == first })
            assertEquals(plan.dueTotal - 1u, after.dueTotal)

            val file = f.archive.buildingFile(first, f.today)
            assertEquals(listOf(recorded.id), file.inspections.map { it.id })
            assertEquals(listOf(photo), file.inspections[0].photos)
            val basis = assertIs<RatingBasis.Inspection>(file.stars.basis)
            assertEquals(recorded.id, basis.id)
            assertEquals(5.toUByte(), file.stars.scoreStars)
            assertEquals(Effect.Scored(5u), file.stars.rulesFired.single { it.rule == "score.stars" }.effect)

            val second = plan.stops[1].building
            val reported = Instant.now()
            val me = f.archive.recordMicroEvent(
                MicroEventDraft(
                    building = second, worker = f.worker, kind = "me_corridor_clutter", fix = f.fixAt(second),
                    photos = listOf(photo), description = "bicycles on the landing", reportedAt = reported,
                    recipients = listOf(NoticeRecipient.OWNER),
                ),
            )
            val event = f.archive.event(me.id)
            assertEquals(EventKind.MicroEvent("me_corridor_clutter"), event.kind)
            assertEquals(EventStatus.REPORTED, event.status)
            assertEquals(Severity.LOW, event.severity)
            val localDay = reported.atOffset(ZoneOffset.ofHours(8)).toLocalDate()
            assertEquals(localDay.plusDays(7), event.notice!!.deadline)
            assertEquals(2uL, f.archive.outboxStatus().pending)
        }
    }
    test("refused captures raise InvalidInput and queue nothing") {
        Field().use { f ->
            val code = f.district.buildingsInGrid(f.grid.id).first().code
            val gps = assertFailsWith<GridwalkException.InvalidInput> {
                f.archive.recordInspection(f.inspection(code, accuracyM = 500.0))
            }
            assertTrue("worse than the 100 m limit" in gps.detail, gps.detail)
            val ghost = PhotoRef("ab".repeat(32), 10uL, 1u, 1u)
            val missing = assertFailsWith<GridwalkException.InvalidInput> {
                f.archive.recordInspection(f.inspection(code, listOf(ghost)))
            }
            assertTrue("not in the archive" in missing.detail, missing.detail)
            assertFailsWith<GridwalkException.InvalidInput> { f.archive.addPhoto("not a jpeg".toByteArray()) }
            assertEquals(0uL, f.archive.outboxStatus().pending)
        }
    }
    test("the officer's list pages through low-star buildings, riskiest first") {
        Field().use { f ->
            val filter = BuildingFilter(scope = Scope.District, maxStars = 2u, includeUnrated = false)
            val seen = mutableListOf<String>()
            val stars = mutableListOf<UByte>()
            var after: String? = null
            do {
                val page = f.archive.buildingList(filter, 25u, after)
                seen += page.buildings.map { it.code }
                stars += page.buildings.map { it.stars!! }
                after = page.nextAfter
            } while (after != null)
            val want = f.district.buildings().filter { (it.stars ?: 9u) <= 2u }.map { it.code }.sorted()
            assertEquals(want, seen.sorted())
            assertEquals(stars.sorted(), stars)
        }
    }
}
