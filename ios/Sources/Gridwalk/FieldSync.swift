// Syncing for iOS apps: async functions over the blocking GridwalkSync (run on a background
// queue), and the running sync's progress and outcome as an AsyncStream fed by the bindings'
// SyncObserver. Never compiled on the development machine (no Swift toolchain there); the same
// surface is exercised from Kotlin and Python against a real server by scripts/test-bindings.
import Foundation

/// What the sync is doing, for a progress view and a "synced" badge.
public enum SyncActivity: Sendable {
    case running(SyncProgress?)
    case succeeded(SyncSummary)
    /// `.LoginRequired` means: show "log in again"; nothing recorded is lost.
    case failed(GridwalkError)
}

public final class FieldSync: @unchecked Sendable {
    private let inner: GridwalkSync
    private let relay = Relay()
    private static let queue = DispatchQueue(label: "gridwalk.sync", qos: .utility)

    /// A sync client for `archive` and the server at `serverUrl`; makes no request yet.
    public init(archive: FieldArchive, serverUrl: String) throws {
        inner = try GridwalkSync(archive: archive.native, serverUrl: serverUrl)
        inner.setObserver(observer: relay)
    }

    public func login(username: String, password: String) async throws -> SyncAccount {
        try await run { try self.inner.login(username: username, password: password) }
    }

    /// Push, photos, pull; throws the `GridwalkError` that `activity()` also reports.
    public func syncNow() async throws -> SyncSummary {
        try await run { try self.inner.syncNow() }
    }

    public func status() async throws -> SyncStatus {
        try await run { try self.inner.syncStatus() }
    }

    /// Stops the running sync at its next step (it then throws `.SyncCancelled`).
    public func cancel() { inner.cancelSync() }

    /// Every progress step and outcome of the syncs from now on.
    public func activity() -> AsyncStream<SyncActivity> { relay.stream() }

    private func run<T>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Self.queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}

/// The `SyncObserver` the bindings call on the sync's thread; fans out to the streams.
private final class Relay: SyncObserver, @unchecked Sendable {
    private let lock = NSLock()
    private var watchers: [UUID: AsyncStream<SyncActivity>.Continuation] = [:]

    func stream() -> AsyncStream<SyncActivity> {
        AsyncStream { continuation in
            let id = UUID()
            lock.withLock { watchers[id] = continuation }
            continuation.onTermination = { [weak self] _ in
                self?.lock.withLock { _ = self?.watchers.removeValue(forKey: id) }
            }
        }
    }

    func onProgress(progress: SyncProgress) { publish(.running(progress)) }

    func onState(state: SyncState) {
        switch state {
        case .running: publish(.running(nil))
        case .succeeded(let summary): publish(.succeeded(summary))
        case .failed(let error): publish(.failed(error))
        }
    }

    private func publish(_ activity: SyncActivity) {
        lock.withLock { for continuation in watchers.values { continuation.yield(activity) } }
    }
}
