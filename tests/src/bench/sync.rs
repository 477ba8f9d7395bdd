//! Group `sync`: the phone's sync against the real server over loopback, both directions — pulling
//! 10,000 buildings into an empty phone and pushing 10,000 inspections recorded offline (quick:
//! 1,000 each way, one run). Each run starts a fresh server (SQLite engine, one-grid district) and a
//! fresh phone; bytes are counted by a TCP proxy between them. Figures are medians over the runs.
//!
//! Goal (issue 6), against PouchDB 9 ↔ pouchdb-server replicating the same volume on this machine
//! kind (pull 3.7 s, push 5.0 s, 5.5 MB on the wire): at most 1/20 of those times and 1/5 of those
//! bytes, i.e. pull ≤ 185 ms, push ≤ 250 ms, ≤ 1.1 MB on the wire (up + down) each way. Every
//! `…_goal_…` figure is printed right after the figure it bounds, scaled linearly to the number of
//! records measured (so a quick run's goals are a tenth).
//!
//! `GRIDWALK_BENCH_PULL_PAGE=<n>` sets the phone's pull page size for a run (default 5,000), to compare
//! page sizes with one binary.

use std::fmt::Display;

use crate::sync_bench::{SyncFigures, pull_into_empty_phone, push_from_phone};

use super::stats::median;
use super::{BenchError, Context};

const GROUP: &str = "sync";

/// The reference volume the goals are stated for.
pub const GOAL_RECORDS: f64 = 10_000.0;
/// Goals for [`GOAL_RECORDS`] records: 1/20 of PouchDB's times, 1/5 of its bytes.
pub const PULL_GOAL_MS: f64 = 3_700.0 / 20.0;
pub const PUSH_GOAL_MS: f64 = 5_000.0 / 20.0;
pub const WIRE_GOAL_MB: f64 = 5.5 / 5.0;
/// A phone's downlink for `sync.pull_10mbit_ms`: 10 Mbit/s, shared by every connection.
pub const PHONE_DOWNLINK_BYTES_PER_S: u64 = 10_000_000 / 8;

fn err(e: impl Display) -> BenchError {
    BenchError::failed(GROUP, e)
}

/// How much the group measures.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Records each way.
    pub records: u32,
    /// Runs per direction; the figures are medians.
    pub runs: usize,
}

impl Sizes {
    pub fn for_run(quick: bool) -> Self {
        if quick {
            Sizes {
                records: 1_000,
                runs: 1,
            }
        } else {
            Sizes {
                records: 10_000,
                runs: 5,
            }
        }
    }
}

pub fn run(ctx: &mut Context<'_>) -> Result<(), BenchError> {
    measure(ctx, Sizes::for_run(ctx.quick()))
}

pub fn measure(ctx: &mut Context<'_>, sizes: Sizes) -> Result<(), BenchError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(err)?;
    let n = sizes.records;
    ctx.emit("sync.records", f64::from(n), "count")?;
    ctx.emit("sync.runs", sizes.runs.max(1) as f64, "count")?;
    let scale = f64::from(n) / GOAL_RECORDS;

    let mut pulls = Vec::new();
    for _ in 0..sizes.runs.max(1) {
        pulls.push(
            runtime
                .block_on(pull_into_empty_phone(n, None))
                .map_err(err)?,
        );
    }
    emit_direction(
        ctx,
        "pull",
        &pulls,
        PULL_GOAL_MS * scale,
        WIRE_GOAL_MB * scale,
    )?;
    // The same pull over a phone's downlink (no goal: it shows what the transfer costs and how much
    // of the rest hides behind it).
    let mut slow = Vec::new();
    for _ in 0..sizes.runs.max(1) {
        slow.push(
            runtime
                .block_on(pull_into_empty_phone(n, Some(PHONE_DOWNLINK_BYTES_PER_S)))
                .map_err(err)?,
        );
    }
    let slow_ms = median(&slow.iter().map(|f| f.seconds * 1e3).collect::<Vec<_>>())
        .ok_or_else(|| err("no runs"))?;
    ctx.emit("sync.pull_10mbit_ms", slow_ms, "ms")?;

    let mut pushes = Vec::new();
    for _ in 0..sizes.runs.max(1) {
        pushes.push(runtime.block_on(push_from_phone(n)).map_err(err)?);
    }
    emit_direction(
        ctx,
        "push",
        &pushes,
        PUSH_GOAL_MS * scale,
        WIRE_GOAL_MB * scale,
    )
}

fn emit_direction(
    ctx: &mut Context<'_>,
    what: &str,
    runs: &[SyncFigures],
    goal_ms: f64,
    goal_mb: f64,
) -> Result<(), BenchError> {
    let of = |f: &dyn Fn(&SyncFigures) -> f64| -> Result<f64, BenchError> {
        median(&runs.iter().map(f).collect::<Vec<_>>()).ok_or_else(|| err("no runs"))
    };
    let name = |figure: &str| format!("sync.{what}_{figure}");
    let mb = |bytes: u64| bytes as f64 / 1e6;
    ctx.emit(
        &name("record_json_bytes"),
        of(&|f| f.record_json_bytes)?,
        "B",
    )?;
    ctx.emit(&name("ms"), of(&|f| f.seconds * 1e3)?, "ms")?;
    ctx.emit(&name("goal_ms"), goal_ms, "ms")?;
    // No goal: what the phone still does after the sync returned (ADR 0046).
    ctx.emit(
        &name("with_upkeep_ms"),
        of(&|f| f.with_upkeep_seconds * 1e3)?,
        "ms",
    )?;
    ctx.emit(&name("phase_ms"), of(&|f| f.phase_seconds * 1e3)?, "ms")?;
    ctx.emit(&name("cpu_ms"), of(&|f| f.cpu_seconds * 1e3)?, "ms")?;
    ctx.emit(&name("wire_up_mb"), of(&|f| mb(f.wire_up))?, "MB")?;
    ctx.emit(&name("wire_down_mb"), of(&|f| mb(f.wire_down))?, "MB")?;
    ctx.emit(&name("wire_mb"), of(&|f| mb(f.wire_total()))?, "MB")?;
    ctx.emit(&name("wire_goal_mb"), goal_mb, "MB")?;
    ctx.emit(&name("requests"), of(&|f| f.requests as f64)?, "count")
}
