//! Entry points for the `sync` benchmark group: pulling N records into an empty phone and pushing N
//! records from a phone, over loopback, against the real server (SQLite engine) — time and bytes.
//!
//! Bytes are counted twice: by the client (HTTP messages as it sends and receives them) and by a
//! TCP proxy between client and server (every byte on the wire, the reference figure).
//! Reference on this machine kind: PouchDB 9 ↔ pouchdb-server, 10,000 records of ~300 B: pull
//! 3.7 s, push 5.0 s, 5.5 MB on the wire.

use std::time::Instant;

use gridwalk_core::domain::{
    BuildingCode, Category, ChecklistResult, Inspection, ItemId, ItemOutcome, RecordId, WorkerId,
};
use gridwalk_core::store::FieldRecord;
use gridwalk_server::fixtures;
use serde::Serialize;

use crate::sim::procstat::self_threads_cpu_seconds;
use crate::sync_harness::{HarnessResult, Phone, Proxy, TestServer, W1, test_config};

/// One measured sync.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SyncFigures {
    pub records: u64,
    /// Mean JSON size of one record (building file or inspection), bytes.
    pub record_json_bytes: f64,
    /// `sync_now` from start to end, seconds.
    pub seconds: f64,
    /// From the start of `sync_now` to the end of the upkeep it leaves running (the list indexes
    /// a bootstrap pull left to build, the checkpoint), seconds.
    pub with_upkeep_seconds: f64,
    /// The measured phase alone (the pull for a pull, the push for a push), seconds.
    pub phase_seconds: f64,
    /// CPU time of the whole process (phone, server and proxy together) during `sync_now`,
    /// seconds: the work done, steadier than the wall clock on a machine whose speed drifts.
    pub cpu_seconds: f64,
    pub requests: u64,
    /// Counted by the client.
    pub client_sent: u64,
    pub client_received: u64,
    /// Counted by the proxy: every byte on the wire.
    pub wire_up: u64,
    pub wire_down: u64,
}

impl SyncFigures {
    pub fn wire_total(&self) -> u64 {
        self.wire_up + self.wire_down
    }
}

/// Names the phone's pull page size for a benchmark run (default 5,000, the client's default), to
/// compare page sizes with the same binary.
pub const PULL_PAGE_ENV: &str = "GRIDWALK_BENCH_PULL_PAGE";

fn phone_config(url: &str) -> gridwalk_core::sync::SyncConfig {
    let mut c = test_config(url);
    c.push_batch = 1_000;
    c.pull_page = std::env::var(PULL_PAGE_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    c
}

/// A lean inspection (~400 B of JSON, the smallest real one): one checklist result, a GPS fix,
/// no free text.
pub fn lean_inspection(building: &BuildingCode, worker: &str) -> Inspection {
    let mut i = fixtures::inspection(building, worker, vec![]);
    i.id = RecordId::new();
    i.worker = WorkerId::from(worker);
    i.results = vec![ChecklistResult {
        item: ItemId::from("sl_extinguishers"),
        category: Category::SafetyLivability,
        outcome: ItemOutcome::Pass,
    }];
    i.findings.clear();
    i.note.clear();
    i
}

/// Pulls `n` buildings into an empty phone (after its login), over loopback or, with
/// `downlink` (bytes per second), over a link that carries answers no faster.
pub async fn pull_into_empty_phone(n: u32, downlink: Option<u64>) -> HarnessResult<SyncFigures> {
    let (server, _) = TestServer::start_one_grid(n).await?;
    let proxy = Proxy::start(server.handle.addr).await?;
    let phone = Phone::new(phone_config(&proxy.url()))?;
    phone.login(W1).await?;
    proxy.set_downlink(downlink.unwrap_or(0));
    // The district's archive is at rest when a phone syncs: its import is not timed with it.
    server.settle().await?;
    let (up0, down0) = proxy.bytes();
    let cpu0 = self_threads_cpu_seconds().unwrap_or(0.0);
    let start = Instant::now();
    let report = phone.client.sync_now().await?;
    let seconds = start.elapsed().as_secs_f64();
    let cpu_seconds = self_threads_cpu_seconds().unwrap_or(0.0) - cpu0;
    phone.client.wait_for_upkeep().await;
    let with_upkeep_seconds = start.elapsed().as_secs_f64();
    let (up, down) = proxy.bytes();
    let held = phone.archive.building_count()?;
    if report.pulled.buildings != u64::from(n) || held != u64::from(n) {
        return Err(format!(
            "pulled {} buildings, phone holds {held}, expected {n}",
            report.pulled.buildings
        )
        .into());
    }
    let sample = phone
        .archive
        .buildings_in_grid(&fixtures::grid_id(1, 1, 1))?;
    let json: usize = sample
        .iter()
        .take(1_000)
        .map(|b| serde_json::to_vec(b).map(|v| v.len()).unwrap_or(0))
        .sum();
    Ok(SyncFigures {
        records: u64::from(n),
        record_json_bytes: json as f64 / sample.len().clamp(1, 1_000) as f64,
        seconds,
        with_upkeep_seconds,
        phase_seconds: report.pull_ms as f64 / 1e3,
        cpu_seconds,
        requests: report.wire.requests,
        client_sent: report.wire.sent,
        client_received: report.wire.received,
        wire_up: up - up0,
        wire_down: down - down0,
    })
}

/// Pushes `n` inspections recorded offline on a phone that already holds its grid.
pub async fn push_from_phone(n: u32) -> HarnessResult<SyncFigures> {
    let (server, codes) = TestServer::start_one_grid(100).await?;
    let proxy = Proxy::start(server.handle.addr).await?;
    let phone = Phone::new(phone_config(&proxy.url()))?;
    phone.login(W1).await?;
    // Bootstrap first, so the measured sync's pull has nothing to bring.
    phone.client.sync_now().await?;
    phone.client.wait_for_upkeep().await;
    let records: Vec<FieldRecord> = (0..n as usize)
        .map(|i| FieldRecord::Inspection(lean_inspection(&codes[i % codes.len()], W1)))
        .collect();
    let json: usize = records
        .iter()
        .map(|r| match r {
            FieldRecord::Inspection(i) => serde_json::to_vec(i).map(|v| v.len()).unwrap_or(0),
            FieldRecord::Event(e) => serde_json::to_vec(e).map(|v| v.len()).unwrap_or(0),
        })
        .sum();
    phone.archive.record_batch(&records)?;

    // The district's archive is at rest when a phone syncs: its import is not timed with it.
    server.settle().await?;
    let (up0, down0) = proxy.bytes();
    let cpu0 = self_threads_cpu_seconds().unwrap_or(0.0);
    let start = Instant::now();
    let report = phone.client.sync_now().await?;
    let seconds = start.elapsed().as_secs_f64();
    let cpu_seconds = self_threads_cpu_seconds().unwrap_or(0.0) - cpu0;
    phone.client.wait_for_upkeep().await;
    let with_upkeep_seconds = start.elapsed().as_secs_f64();
    let (up, down) = proxy.bytes();
    let stored = server.device_counts(&phone.device()).await?;
    if report.pushed.accepted != u64::from(n) || stored != (u64::from(n), 0) {
        return Err(format!(
            "pushed {:?}, server holds {stored:?}, expected {n}",
            report.pushed
        )
        .into());
    }
    Ok(SyncFigures {
        records: u64::from(n),
        record_json_bytes: json as f64 / f64::from(n.max(1)),
        seconds,
        with_upkeep_seconds,
        phase_seconds: report.push_ms as f64 / 1e3,
        cpu_seconds,
        requests: report.wire.requests,
        client_sent: report.wire.sent,
        client_received: report.wire.received,
        wire_up: up - up0,
        wire_down: down - down0,
    })
}
