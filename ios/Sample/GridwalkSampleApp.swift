// The smallest SwiftUI app on the gridwalk core: today's plan for the demo grid in walking order,
// and a button recording an inspection of the first stop. Never compiled (no Swift toolchain on the
// development machine); add it to an iOS app target that depends on the Gridwalk package.
import Gridwalk
import SwiftUI

@main
struct GridwalkSampleApp: App {
    var body: some Scene {
        WindowGroup { PlanView() }
    }
}

@MainActor
final class PlanModel: ObservableObject {
    @Published var plan: DayPlan?
    @Published var pending: UInt64 = 0
    @Published var message = ""
    private var archive: FieldArchive?
    private var grid: Grid?

    func start() async {
        do {
            let path = FileManager.default.urls(for: .documentDirectory, in: .userDomainMask)[0]
                .appendingPathComponent("archive.db").path
            // Demo only: a real app keeps a random key in the Keychain.
            let archive = try await FieldArchive.open(path: path, key: "demo-key")
            var spec = smallDistrictSpec(seed: 7)
            spec.today = archive.today()
            let district = try SyntheticDistrict(spec: spec)
            _ = try await archive.loadDemoDistrict(district)
            self.archive = archive
            self.grid = district.grids().first
            Task { for await status in archive.outboxUpdates() { self.pending = status.pending } }
            await refresh()
        } catch {
            message = "\(error)"
        }
    }

    func refresh() async {
        guard let archive, let grid, let start = grid.boundary.first else { return }
        plan = try? await archive.planToday(grid: grid.id, start: start)
    }

    func inspectFirstStop() async {
        guard let archive, let grid, let stop = plan?.stops.first else { return }
        let now = Date()
        do {
            _ = try await archive.record(
                InspectionDraft(
                    building: stop.building, worker: grid.worker ?? "demo",
                    startedAt: now.addingTimeInterval(-600), finishedAt: now,
                    // A real app passes CoreLocation's fix here.
                    fix: GpsFix(lat: stop.location.lat, lon: stop.location.lon, accuracyM: 10, takenAt: now),
                    results: [], findings: [], photos: [], note: ""))
        } catch let error as GridwalkError {
            message = "not recorded: \(error)"
        } catch {
            message = "\(error)"
        }
        await refresh()
    }
}

struct PlanView: View {
    @StateObject private var model = PlanModel()

    var body: some View {
        NavigationStack {
            List {
                Section("waiting for sync: \(model.pending)") {
                    Button("Inspect first stop") { Task { await model.inspectFirstStop() } }
                    if !model.message.isEmpty { Text(model.message).foregroundStyle(.red) }
                }
                if let plan = model.plan {
                    Section("\(plan.stops.count) of \(plan.dueTotal) due · \(Int(plan.walkM)) m") {
                        ForEach(Array(plan.stops.enumerated()), id: \.offset) { index, stop in
                            VStack(alignment: .leading) {
                                Text("\(index + 1). \(stop.address)")
                                Text(stop.stars.map { "\($0)★" } ?? "unrated").font(.caption)
                            }
                        }
                    }
                }
            }
            .navigationTitle("Today")
        }
        .task { await model.start() }
    }
}
