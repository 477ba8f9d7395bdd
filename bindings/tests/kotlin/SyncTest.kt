// The sync surface driven from Kotlin on the JVM against a REAL gridwalk-server (`demo` as a
// subprocess on 127.0.0.1, a port the OS picks, a temporary data directory): log in, pull the
// worker's grid, record an inspection with a photo, sync, and check on the server over HTTP that the
// record arrived once and the photo is stored with the same bytes; then the send-back loop: a
// supervisor's send-back over HTTP reaches the phone, the correction links to the original. The server binary is found from
// the GRIDWALK_SERVER environment variable set by scripts/test-bindings.
package gridwalk.tests

import gridwalk.android.FieldArchive
import gridwalk.android.FieldSync
import gridwalk.android.SyncActivity
import gridwalk.ffi.ChecklistResult
import gridwalk.ffi.GpsFix
import gridwalk.ffi.GridwalkArchive
import gridwalk.ffi.GridwalkException
import gridwalk.ffi.GridwalkSync
import gridwalk.ffi.InspectionDraft
import gridwalk.ffi.ItemOutcome
import gridwalk.ffi.OutboxStatus
import gridwalk.ffi.ReviewDecision
import gridwalk.ffi.Scope
import gridwalk.ffi.SyncObserver
import gridwalk.ffi.SyncPhase
import gridwalk.ffi.SyncProgress
import gridwalk.ffi.SyncState
import java.net.HttpURLConnection
import java.net.URI
import java.nio.file.Files
import java.time.Duration
import java.time.Instant
import java.util.Collections
import kotlinx.coroutines.runBlocking
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertTrue

const val DEMO_PASSWORD = "gridwalk-demo"

class DemoServer : AutoCloseable {
    private val dir = Files.createTempDirectory("gridwalk-server-kt")
    private val process: Process
    val url: String

    init {
        val binary = System.getenv("GRIDWALK_SERVER") ?: error("GRIDWALK_SERVER is not set")
        process = ProcessBuilder(binary, "demo", "--listen", "127.0.0.1:0", "--data", dir.resolve("server").toString())
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .apply { environment()["RUST_LOG"] = "warn" }
            .start()
        val lines = process.inputStream.bufferedReader()
        var found: String? = null
        while (true) {
            val line = lines.readLine() ?: break
            Regex("listening on (http://127\\.0\\.0\\.1:\\d+)").find(line)?.let { found = it.groupValues[1] }
            if (line.startsWith("Ctrl-C")) break
        }
        url = found ?: run { close(); error("the demo server did not print its URL") }
        // Keep draining stdout so the server never blocks on a full pipe.
        Thread { lines.readText() }.apply { isDaemon = true }.start()
    }

    fun call(method: String, path: String, token: String? = null, body: String? = null): ByteArray {
        val c = URI(url + path).toURL().openConnection() as HttpURLConnection
        c.requestMethod = method
        token?.let { c.setRequestProperty("Authorization", "Bearer $it") }
        if (body != null) {
            c.doOutput = true
            c.setRequestProperty("Content-Type", "application/json")
            c.outputStream.use { it.write(body.toByteArray()) }
        }
        check(c.responseCode == 200) { "$method $path: HTTP ${c.responseCode}" }
        return c.inputStream.use { it.readBytes() }
    }

    /** Logs in over HTTP; returns the JSON answer as text. */
    fun login(username: String, deviceId: String): String = String(
        call("POST", "/v1/auth/login", body = """{"username":"$username","password":"$DEMO_PASSWORD","device_id":"$deviceId"}"""),
    )

    override fun close() {
        process.destroy()
        process.waitFor()
        dir.toFile().deleteRecursively()
    }
}

/** A JSON string or number field of a flat answer (enough for the few fields checked here). */
fun jsonField(json: String, name: String): String =
    Regex("\"$name\"\\s*:\\s*(\"([^\"]*)\"|[^,}\\s]+)").find(json)?.let { m ->
        m.groupValues[2].ifEmpty { m.groupValues[1] }
    } ?: error("no $name in $json")

class Recorder : SyncObserver {
    val progress: MutableList<SyncProgress> = Collections.synchronizedList(mutableListOf())
    val states: MutableList<SyncState> = Collections.synchronizedList(mutableListOf())
    override fun onProgress(progress: SyncProgress) { this.progress += progress }
    override fun onState(state: SyncState) { states += state }
}

fun syncSuite() = Suite("sync").apply {
    val server = DemoServer()
    Runtime.getRuntime().addShutdownHook(Thread { server.close() })

    fun phone(body: (GridwalkArchive, GridwalkSync) -> Unit) {
        val dir = Files.createTempDirectory("gridwalk-phone-kt")
        GridwalkArchive.open(dir.resolve("phone.db").toString(), KEY).use { archive ->
            GridwalkSync(archive, server.url).use { sync -> body(archive, sync) }
        }
        dir.toFile().deleteRecursively()
    }

    test("a wrong password raises WrongCredentials; sync before login NotLoggedIn") {
        phone { _, sync ->
            assertFailsWith<GridwalkException.WrongCredentials> { sync.login("demo-worker", "not the password") }
            assertFailsWith<GridwalkException.NotLoggedIn> { sync.syncNow() }
        }
    }

    test("login, pull the grid, record an inspection with a photo, sync, find it on the server; send-back loop") {
        phone { archive, sync ->
            val recorder = Recorder()
            sync.setObserver(recorder)
            val account = sync.login("demo-worker", DEMO_PASSWORD)
            assertEquals("worker", account.role)
            val grid = assertIs<Scope.Grid>(account.scope).id

            val first = sync.syncNow()
            assertEquals(0uL, first.recordsAccepted)
            assertTrue(first.buildingsPulled > 0uL)
            val buildings = archive.buildingsInGrid(grid)
            assertEquals(first.buildingsPulled, buildings.size.toULong())
            assertIs<SyncState.Running>(recorder.states.first())
            assertEquals(first, assertIs<SyncState.Succeeded>(recorder.states.last()).summary)
            assertEquals(SyncPhase.FINISHING, recorder.progress.last().phase)
            assertEquals(1.0, recorder.progress.last().fraction, 1e-9)

            val plan = archive.planDay(grid, archive.today(), buildings.first().location)
            assertTrue(plan.stops.isNotEmpty())
            val building = archive.building(plan.stops.first().building)
            val bytes = png(32, 24)
            val photo = archive.addPhoto(bytes)
            val finished = Instant.now()
            val draft = InspectionDraft(
                building = building.code, worker = "demo-worker",
                startedAt = finished.minus(Duration.ofMinutes(9)), finishedAt = finished,
                fix = GpsFix(building.location.lat, building.location.lon, 6.0, finished),
                results = archive.catalog().checklist.map { ChecklistResult(it.id, it.category, ItemOutcome.PASS) },
                findings = emptyList(), photos = listOf(photo), note = "fire exit clear",
            )
            val recorded = archive.recordInspection(draft)
            assertEquals(1uL, sync.syncStatus().pendingRecords)

            val second = sync.syncNow()
            assertEquals(Triple(1uL, 0uL, 0uL), Triple(second.recordsAccepted, second.recordsDuplicate, second.recordsRejected))
            assertEquals(1uL, second.photosUploaded)
            assertEquals(bytes.size.toULong(), second.photoBytesUploaded)
            assertEquals(OutboxStatus(0uL, 0uL, 1uL, 0uL), archive.outboxStatus())
            assertEquals(0uL, sync.syncNow().recordsAccepted, "nothing goes twice")

            // On the server, over HTTP, as this device: one record arrived, the photo is complete.
            val login = server.login("demo-worker", archive.deviceId())
            assertEquals("1", jsonField(login, "device_last_seq"))
            val token = jsonField(login, "token")
            val status = String(server.call("GET", "/v1/photos/${photo.sha256}/status", token))
            assertEquals("true", jsonField(status, "complete"))
            assertEquals(bytes.size.toString(), jsonField(status, "received_bytes"))
            assertContentEquals(bytes, server.call("GET", "/v1/photos/${photo.sha256}", token))

            // The supervisor sends it back over HTTP; the next sync brings the comment to the phone.
            val sup = jsonField(server.login("demo-supervisor", "supervisor-desk-kt"), "token")
            val comment = "photo of the fire exit is blurred"
            val decided = String(server.call("POST", "/v1/review/${recorded.id}", sup, """{"decision":"sent_back","comment":"$comment"}"""))
            assertEquals("sent_back", jsonField(decided, "state"))
            assertEquals(1uL, sync.syncNow().reviewsPulled)
            val todo = archive.sentBackUncorrected()
            assertEquals(listOf(recorded.id), todo.map { it.recordId })
            assertEquals(ReviewDecision.SENT_BACK, todo.single().decision)
            assertEquals(comment, todo.single().comment)

            // The correction names the original, syncs once, and the server links the two.
            val corrected = archive.recordInspection(draft.copy(photos = emptyList(), note = "photo retaken", corrects = recorded.id))
            assertEquals(recorded.id, archive.inspection(corrected.id).corrects)
            assertTrue(archive.sentBackUncorrected().isEmpty())
            assertEquals(1uL, sync.syncNow().recordsAccepted)
            val queue = String(server.call("GET", "/v1/review/queue?worker=demo-worker&state=resubmitted", sup))
            assertTrue(queue.contains("\"record\":\"${recorded.id}\""), queue)
            assertTrue(queue.contains("\"corrected_by\":\"${corrected.id}\""), queue)

            // A malformed correction link is the mapped InvalidInput; nothing is stored.
            assertFailsWith<GridwalkException.InvalidInput> {
                archive.recordInspection(draft.copy(photos = emptyList(), corrects = "not-a-record-id"))
            }
            assertEquals(OutboxStatus(0uL, 0uL, 2uL, 0uL), archive.outboxStatus())
        }
    }

    test("android layer: FieldSync's activity and status flows follow a sync, the outbox flow empties") {
        val dir = Files.createTempDirectory("gridwalk-layer-kt")
        runBlocking {
            FieldArchive.open(dir.resolve("phone.db").toString(), KEY).use { archive ->
                FieldSync.connect(archive, server.url).use { sync ->
                    assertEquals(false, sync.status.value?.loggedIn)
                    assertEquals(SyncActivity.Idle, sync.activity.value)
                    val grid = assertIs<Scope.Grid>(sync.login("demo-worker", DEMO_PASSWORD).scope).id
                    assertEquals(true, sync.status.value?.loggedIn)
                    val pulled = sync.syncNow()
                    assertEquals(pulled, assertIs<SyncActivity.Succeeded>(sync.activity.value).summary)
                    assertTrue(pulled.buildingsPulled > 0uL)
                    assertTrue(sync.status.value?.lastSuccessAt != null)
                    val page = archive.buildingList(
                        gridwalk.ffi.BuildingFilter(Scope.Grid(grid), null, true, null, false, false), 1u,
                    )
                    val start = archive.buildingFile(page.buildings.first().code).building.location
                    val plan = archive.planToday(grid, start)
                    assertTrue(plan.stops.isNotEmpty())
                    val building = archive.buildingFile(plan.stops.first().building).building
                    val finished = Instant.now()
                    archive.record(
                        InspectionDraft(
                            building = building.code, worker = "demo-worker",
                            startedAt = finished.minus(Duration.ofMinutes(7)), finishedAt = finished,
                            fix = GpsFix(building.location.lat, building.location.lon, 5.0, finished),
                            results = emptyList(), findings = emptyList(), photos = emptyList(), note = "unrated visit",
                        ),
                    )
                    assertEquals(1uL, archive.outbox.value.pending)
                    val pushed = sync.syncNow()
                    assertEquals(1uL, pushed.recordsAccepted)
                    assertEquals(OutboxStatus(0uL, 0uL, 1uL, 0uL), archive.outbox.value)
                    assertEquals(0uL, sync.status.value?.pendingRecords)
                }
            }
        }
        dir.toFile().deleteRecursively()
    }
}
