//! Prints the sync figures (run in release):
//! `cargo run --release -p gridwalk-tests --example sync_figures -- [records]`

use gridwalk_tests::sync_bench::{SyncFigures, pull_into_empty_phone, push_from_phone};

fn show(what: &str, f: &SyncFigures) {
    println!(
        "{what}: {} records (~{:.0} B JSON each) in {:.3} s ({what} phase {:.3} s), {} requests; wire {} B up + {} B down = {:.3} MB (client counted {} + {})",
        f.records,
        f.record_json_bytes,
        f.seconds,
        f.phase_seconds,
        f.requests,
        f.wire_up,
        f.wire_down,
        f.wire_total() as f64 / 1e6,
        f.client_sent,
        f.client_received,
    );
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let n: u32 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let pull = rt.block_on(pull_into_empty_phone(n))?;
    show("pull", &pull);
    let push = rt.block_on(push_from_phone(n))?;
    show("push", &push);
    Ok(())
}
