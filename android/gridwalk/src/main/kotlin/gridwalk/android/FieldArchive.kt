// The idiomatic Kotlin face of the gridwalk core for Android apps: suspend functions that run the
// blocking core calls on an I/O dispatcher, and the outbox status as a StateFlow a progress bar can
// collect. Plain Kotlin + kotlinx.coroutines, no Android API: scripts/test-bindings compiles and
// tests this file on the JVM.
package gridwalk.android

import gridwalk.ffi.BuildingFile
import gridwalk.ffi.BuildingFilter
import gridwalk.ffi.BuildingPage
import gridwalk.ffi.DayPlan
import gridwalk.ffi.EventDraft
import gridwalk.ffi.GeoPoint
import gridwalk.ffi.GridwalkArchive
import gridwalk.ffi.InspectionDraft
import gridwalk.ffi.MicroEventDraft
import gridwalk.ffi.OutboxStatus
import gridwalk.ffi.PhotoRef
import gridwalk.ffi.Recorded
import gridwalk.ffi.StarExplanation
import gridwalk.ffi.SyntheticDistrict
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import kotlinx.coroutines.withContext
import java.time.LocalDate

/**
 * The grid worker's on-device archive. Every call may touch the disk (a recording call returns only
 * once the record is on disk), so every call suspends and runs on [io]. Failures are thrown as
 * `gridwalk.ffi.GridwalkException` subclasses (`InvalidInput`, `NotFound`, `NotReadable`, …).
 */
class FieldArchive private constructor(
    private val inner: GridwalkArchive,
    private val io: CoroutineDispatcher,
) : AutoCloseable {

    companion object {
        /**
         * Opens (creating if needed) the archive at [path]. [key] is the SQLCipher key (keep it in the
         * Android Keystore); a wrong key throws `GridwalkException.NotReadable`.
         */
        suspend fun open(path: String, key: String?, io: CoroutineDispatcher = Dispatchers.IO): FieldArchive =
            withContext(io) {
                val inner = GridwalkArchive.open(path, key)
                FieldArchive(inner, io).also { it.outboxState.value = inner.outboxStatus() }
            }
    }

    private val outboxState = MutableStateFlow(OutboxStatus(0uL, 0uL, 0uL, 0uL))

    // Refreshes read the archive and publish one at a time, so a slow refresh can never publish an
    // older count over a newer one: the last refresh to run read the latest state.
    private val refreshLock = Mutex()

    /** Records waiting for sync; updated after every recording call (and, later, by sync). */
    val outbox: StateFlow<OutboxStatus> = outboxState.asStateFlow()

    /** Today in the district's time zone. */
    fun today(): LocalDate = inner.today()

    suspend fun loadDemoDistrict(district: SyntheticDistrict): ULong = withContext(io) { inner.loadDistrict(district) }

    suspend fun planToday(grid: String, start: GeoPoint): DayPlan = planDay(grid, today(), start)

    suspend fun planDay(grid: String, day: LocalDate, start: GeoPoint): DayPlan =
        withContext(io) { inner.planDay(grid, day, start) }

    suspend fun buildingFile(code: String, day: LocalDate = today()): BuildingFile =
        withContext(io) { inner.buildingFile(code, day) }

    suspend fun starExplanation(code: String, day: LocalDate = today()): StarExplanation =
        withContext(io) { inner.starExplanation(code, day) }

    suspend fun buildingList(filter: BuildingFilter, limit: UInt = 50u, after: String? = null): BuildingPage =
        withContext(io) { inner.buildingList(filter, limit, after) }

    /** Stores a photo the app has already resized (the core refuses, never resizes). */
    suspend fun addPhoto(bytes: ByteArray): PhotoRef = withContext(io) { inner.addPhoto(bytes) }

    suspend fun record(draft: InspectionDraft): Recorded = recording { inner.recordInspection(draft) }

    suspend fun record(draft: EventDraft): Recorded = recording { inner.recordEvent(draft) }

    suspend fun record(draft: MicroEventDraft): Recorded = recording { inner.recordMicroEvent(draft) }

    /** Stops whatever the archive runs right now; that call throws `GridwalkException.Interrupted`. */
    fun interrupt() = inner.interrupt()

    override fun close() = inner.close()

    /** The bindings' archive, shared with [FieldSync]. */
    internal val native: GridwalkArchive get() = inner

    /** Re-reads the outbox (after a sync sent or refused records). */
    internal suspend fun refreshOutbox() = withContext(io) {
        refreshLock.withLock { outboxState.value = inner.outboxStatus() }
    }

    private suspend fun recording(call: () -> Recorded): Recorded = withContext(io) {
        val recorded = call()
        refreshLock.withLock { outboxState.value = inner.outboxStatus() }
        recorded
    }
}

/** Stars as a plain Int for display (null: unrated, 未评级). */
val gridwalk.ffi.Building.starCount: Int? get() = stars?.toInt()
