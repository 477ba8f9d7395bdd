// The idiomatic Kotlin layer of android/ (gridwalk.android.FieldArchive), tested on the JVM with
// real coroutines against the real library.
package gridwalk.tests

import gridwalk.android.FieldArchive
import gridwalk.android.starCount
import gridwalk.ffi.GridwalkException
import gridwalk.ffi.SyntheticDistrict
import gridwalk.ffi.smallDistrictSpec
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import java.nio.file.Files
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

fun layerSuite() = Suite("android layer").apply {
    test("suspend calls plan, record and update the outbox flow; concurrent recordings all land") {
        val dir = Files.createTempDirectory("gridwalk-layer")
        try {
            runBlocking {
                val path = dir.resolve("a.db").toString()
                FieldArchive.open(path, KEY).use { a ->
                    assertEquals(0uL, a.outbox.value.pending)
                    val spec = smallDistrictSpec(5uL).copy(today = a.today())
                    val district = SyntheticDistrict(spec)
                    assertEquals(430uL, a.loadDemoDistrict(district))
                    val grid = district.grids().first()
                    val plan = a.planToday(grid.id, grid.boundary.first())
                    assertTrue(plan.stops.isNotEmpty())

                    val field = object {
                        fun draft(code: String) = gridwalk.ffi.InspectionDraft(
                            building = code, worker = grid.worker!!,
                            startedAt = java.time.Instant.now().minusSeconds(600), finishedAt = java.time.Instant.now(),
                            fix = district.buildingsInGrid(grid.id).first { it.code == code }.location.let {
                                gridwalk.ffi.GpsFix(it.lat, it.lon, 6.0, java.time.Instant.now())
                            },
                            results = emptyList(), findings = emptyList(), photos = emptyList(), note = "",
                        )
                    }
                    // 20 inspections from 20 coroutines on the I/O pool: one archive object shared
                    // across threads, every record stored once with its own outbox slot.
                    val codes = district.buildingsInGrid(grid.id).take(20).map { it.code }
                    val recorded = codes.map { code -> async(Dispatchers.IO) { a.record(field.draft(code)) } }.awaitAll()
                    assertEquals(20, recorded.map { it.outboxSeq }.toSet().size)
                    assertEquals(20, recorded.map { it.id }.toSet().size)
                    // The flow settles on the final count (a stale refresh must not overwrite it).
                    assertEquals(20uL, a.outbox.value.pending)
                    assertEquals(20uL, withTimeout(5_000) { a.outbox.first { it.pending == 20uL } }.pending)

                    val b = district.buildings().first { it.stars != null }
                    assertEquals(b.stars!!.toInt(), b.starCount)
                    assertEquals(codes.first(), a.buildingFile(codes.first()).building.code)
                    district.close()
                }
                assertFailsWith<GridwalkException.NotReadable> { FieldArchive.open(path, "wrong") }
            }
        } finally {
            dir.toFile().deleteRecursively()
        }
    }
}
