// Syncing for Android apps: suspend functions over the blocking GridwalkSync (run on an I/O
// dispatcher), and what a sync screen shows as StateFlows — the running sync's progress and outcome
// (fed by the bindings' SyncObserver) and the sync status. Plain Kotlin + kotlinx.coroutines, no
// Android API: scripts/test-bindings compiles and tests this file on the JVM against a real server.
package gridwalk.android

import gridwalk.ffi.GridwalkException
import gridwalk.ffi.GridwalkSync
import gridwalk.ffi.SyncAccount
import gridwalk.ffi.SyncObserver
import gridwalk.ffi.SyncProgress
import gridwalk.ffi.SyncState
import gridwalk.ffi.SyncStatus
import gridwalk.ffi.SyncSummary
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.withContext

/** What the sync is doing, for a progress bar and a "synced" badge. */
sealed interface SyncActivity {
    data object Idle : SyncActivity
    /** [progress] is null until the first step is reported. */
    data class Running(val progress: SyncProgress?) : SyncActivity
    data class Succeeded(val summary: SyncSummary) : SyncActivity
    /** `LoginRequired` means: show "log in again"; nothing recorded is lost. */
    data class Failed(val error: GridwalkException) : SyncActivity
}

class FieldSync private constructor(
    private val archive: FieldArchive,
    private val inner: GridwalkSync,
    private val io: CoroutineDispatcher,
) : AutoCloseable {

    companion object {
        /** A sync client for [archive] and the server at [serverUrl]; makes no request yet. */
        suspend fun connect(
            archive: FieldArchive,
            serverUrl: String,
            io: CoroutineDispatcher = Dispatchers.IO,
        ): FieldSync = withContext(io) {
            val inner = GridwalkSync(archive.native, serverUrl)
            FieldSync(archive, inner, io).also {
                inner.setObserver(it.observer)
                it.statusState.value = inner.syncStatus()
            }
        }
    }

    private val activityState = MutableStateFlow<SyncActivity>(SyncActivity.Idle)
    private val statusState = MutableStateFlow<SyncStatus?>(null)

    /** The running sync's progress, then how it ended. */
    val activity: StateFlow<SyncActivity> = activityState.asStateFlow()

    /** What waits, the last success and error, login state; refreshed after login and every sync. */
    val status: StateFlow<SyncStatus?> = statusState.asStateFlow()

    // Called on the sync's thread: only publishes to the StateFlow (thread-safe).
    private val observer = object : SyncObserver {
        override fun onProgress(progress: SyncProgress) {
            activityState.value = SyncActivity.Running(progress)
        }

        override fun onState(state: SyncState) {
            activityState.value = when (state) {
                is SyncState.Running -> SyncActivity.Running(null)
                is SyncState.Succeeded -> SyncActivity.Succeeded(state.summary)
                is SyncState.Failed -> SyncActivity.Failed(state.error)
            }
        }
    }

    suspend fun login(username: String, password: String): SyncAccount = withContext(io) {
        inner.login(username, password).also { statusState.value = inner.syncStatus() }
    }

    /** Push, photos, pull; throws the `GridwalkException` the [activity] also shows. */
    suspend fun syncNow(): SyncSummary = withContext(io) {
        try {
            inner.syncNow()
        } finally {
            statusState.value = inner.syncStatus()
            archive.refreshOutbox()
        }
    }

    /** Stops the running sync at its next step (it then throws `SyncCancelled`). */
    fun cancel() = inner.cancelSync()

    override fun close() = inner.close()
}
