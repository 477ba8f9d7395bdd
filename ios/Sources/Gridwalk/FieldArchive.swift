// The idiomatic Swift face of the gridwalk core: async functions that run the blocking core calls
// on a background queue, and the sync outbox as an AsyncStream a progress view can iterate.
// Never compiled on the development machine (no Swift toolchain there).
import Foundation

/// The grid worker's on-device archive. Every call may touch the disk (a recording call returns
/// only once the record is on disk), so every call is `async` and runs off the main thread. Errors
/// are `GridwalkError` (`.InvalidInput`, `.NotFound`, `.NotReadable`, …).
public final class FieldArchive: @unchecked Sendable {
    private let inner: GridwalkArchive
    private let lock = NSLock()
    private var watchers: [UUID: AsyncStream<OutboxStatus>.Continuation] = [:]

    /// The core object is thread-safe; a concurrent queue lets reads run beside a write.
    private static let queue = DispatchQueue(
        label: "gridwalk.archive", qos: .userInitiated, attributes: .concurrent)

    private init(inner: GridwalkArchive) {
        self.inner = inner
    }

    /// Opens (creating if needed) the archive at `path`. Keep `key` in the Keychain; a wrong key
    /// throws `GridwalkError.NotReadable`.
    public static func open(path: String, key: String?) async throws -> FieldArchive {
        try await run { FieldArchive(inner: try GridwalkArchive.open(path: path, key: key)) }
    }

    /// Today in the district's time zone, as `yyyy-MM-dd`.
    public func today() -> LocalDate { inner.today() }

    public func loadDemoDistrict(_ district: SyntheticDistrict) async throws -> UInt64 {
        try await Self.run { try self.inner.loadDistrict(district: district) }
    }

    public func planToday(grid: String, start: GeoPoint) async throws -> DayPlan {
        try await Self.run { try self.inner.planDay(grid: grid, day: self.inner.today(), start: start) }
    }

    public func buildingFile(code: String) async throws -> BuildingFile {
        try await Self.run { try self.inner.buildingFile(code: code, day: self.inner.today()) }
    }

    public func buildingList(filter: BuildingFilter, limit: UInt32 = 50, after: String? = nil)
        async throws -> BuildingPage
    {
        try await Self.run { try self.inner.buildingList(filter: filter, limit: limit, after: after) }
    }

    /// Stores a photo the app has already resized (the core refuses, never resizes).
    public func addPhoto(_ bytes: Data) async throws -> PhotoRef {
        try await Self.run { try self.inner.addPhoto(bytes: bytes) }
    }

    public func record(_ draft: InspectionDraft) async throws -> Recorded {
        try await recording { try self.inner.recordInspection(draft: draft) }
    }

    public func record(_ draft: EventDraft) async throws -> Recorded {
        try await recording { try self.inner.recordEvent(draft: draft) }
    }

    public func record(_ draft: MicroEventDraft) async throws -> Recorded {
        try await recording { try self.inner.recordMicroEvent(draft: draft) }
    }

    /// The outbox status now and after every recording (and, later, every sync step).
    public func outboxUpdates() -> AsyncStream<OutboxStatus> {
        AsyncStream { continuation in
            let id = UUID()
            lock.withLock { watchers[id] = continuation }
            continuation.onTermination = { [weak self] _ in
                self?.lock.withLock { _ = self?.watchers.removeValue(forKey: id) }
            }
            Self.queue.async {
                if let status = try? self.inner.outboxStatus() { continuation.yield(status) }
            }
        }
    }

    /// The bindings' archive, shared with `FieldSync`.
    var native: GridwalkArchive { inner }

    /// Stops whatever the archive runs right now; that call throws `GridwalkError.Interrupted`.
    public func interrupt() { inner.interrupt() }

    private func recording(_ body: @escaping @Sendable () throws -> Recorded) async throws -> Recorded {
        try await Self.run {
            let recorded = try body()
            // Publish under the lock so a slower, older count never follows a newer one.
            self.lock.withLock {
                if let status = try? self.inner.outboxStatus() {
                    for continuation in self.watchers.values { continuation.yield(status) }
                }
            }
            return recorded
        }
    }

    private static func run<T>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
