//! Entry points for the benchmark binary (`gridwalk-bench --only server`). Nothing here is timed
//! by the test suite; the bench decides sizes and prints figures.
//!
//! - [`merge_vs_raw`]: the server's push merge (validation, idempotency, sequence, scope, one
//!   transaction per batch) against a raw batched insert of the same rows into the same engine.
//! - [`import_time`]: parsing and importing an address-base CSV of `n` buildings.

use std::path::Path;
use std::time::{Duration, Instant};

use gridwalk_core::protocol::{DeviceId, PushRecord, RecordOutcome, Scope, SyncRecord};
use gridwalk_core::{Catalog, CatalogError};

use crate::db::{Database, DbError, ImportSummary, NewRecord, PushCtx, PushError};
use crate::fixtures::{self, DistrictShape, grid_id};
use crate::import::{self, ImportError};
use crate::sync::plan::record_row;
use crate::sync::validate::{RecordLimits, check_record};

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Push(#[from] PushError),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("cannot write the bench file: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot write the bench CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("the merge did not accept every record: {0}")]
    NotAccepted(String),
}

pub const BENCH_WORKER: &str = "w-S01C01G001";

/// Migrates `db` and loads a one-grid district of `buildings` buildings; returns the worker's
/// push context for that grid.
pub async fn prepare<D: Database>(
    db: &D,
    buildings: u32,
    device: &str,
) -> Result<PushCtx, BenchError> {
    db.migrate().await?;
    let (grids, b) = fixtures::district(DistrictShape {
        streets: 1,
        communities_per_street: 1,
        grids_per_community: 1,
        buildings_per_grid: buildings.max(1),
    });
    db.upsert_grids(grids).await?;
    db.import_buildings(b, false).await?;
    Ok(PushCtx {
        username: BENCH_WORKER.to_owned(),
        scope: Scope::Grid(grid_id(1, 1, 1)),
        device: DeviceId::parse(device).map_err(|e| BenchError::NotAccepted(e.to_string()))?,
        now: chrono::Utc::now(),
    })
}

/// `n` inspections spread over the grid's `buildings` buildings, numbered 1..=n.
pub fn inspections(n: usize, buildings: u32) -> Vec<PushRecord> {
    let records = (0..n)
        .map(|i| {
            let code = fixtures::code(1 + (i as u64 % u64::from(buildings.max(1))));
            SyncRecord::Inspection(fixtures::inspection(&code, BENCH_WORKER, Vec::new()))
        })
        .collect();
    fixtures::batch(1, records)
}

/// The rows a push of `records` stores, for the raw baseline.
pub fn raw_rows(ctx: &PushCtx, records: &[PushRecord]) -> Vec<NewRecord> {
    records.iter().map(|r| record_row(ctx, r, false)).collect()
}

/// Pushes `records` in batches through the full merge path; fails unless every record is accepted.
pub async fn merge<D: Database>(
    db: &D,
    ctx: &PushCtx,
    records: &[PushRecord],
    batch: usize,
) -> Result<Duration, BenchError> {
    let catalog = Catalog::default_catalog()?;
    let limits = RecordLimits::default();
    let started = Instant::now();
    for chunk in records.chunks(batch.max(1)) {
        let checks = chunk
            .iter()
            .map(|r| check_record(&r.record, &ctx.username, &catalog, &limits).err())
            .collect();
        let resp = db.push(ctx.clone(), chunk.to_vec(), checks).await?;
        if let Some(bad) = resp
            .results
            .iter()
            .find(|r| !matches!(r.outcome, RecordOutcome::Accepted { .. }))
        {
            return Err(BenchError::NotAccepted(format!("{bad:?}")));
        }
    }
    Ok(started.elapsed())
}

/// Inserts the rows in batches with no checks at all.
pub async fn raw<D: Database>(
    db: &D,
    rows: &[NewRecord],
    batch: usize,
) -> Result<Duration, BenchError> {
    let started = Instant::now();
    for chunk in rows.chunks(batch.max(1)) {
        db.bench_raw_insert(chunk.to_vec()).await?;
    }
    Ok(started.elapsed())
}

#[derive(Debug, Clone)]
pub struct MergeFigures {
    pub engine: &'static str,
    pub rows: usize,
    pub batch: usize,
    pub merge: Duration,
    pub raw: Duration,
}

impl MergeFigures {
    pub fn merge_rows_per_sec(&self) -> f64 {
        self.rows as f64 / self.merge.as_secs_f64().max(1e-9)
    }

    pub fn raw_rows_per_sec(&self) -> f64 {
        self.rows as f64 / self.raw.as_secs_f64().max(1e-9)
    }

    /// Merge rate as a fraction of the raw insert rate (the goal is at least 0.5).
    pub fn ratio(&self) -> f64 {
        self.merge_rows_per_sec() / self.raw_rows_per_sec().max(1e-9)
    }
}

/// Measures the merge of `rows` records against the raw insert of the same rows. `merge_db` and
/// `raw_db` must be two fresh, empty databases of the same engine (so neither run sees the
/// other's rows); both are prepared here.
pub async fn merge_vs_raw<D: Database>(
    merge_db: &D,
    raw_db: &D,
    rows: usize,
    batch: usize,
) -> Result<MergeFigures, BenchError> {
    const BUILDINGS: u32 = 500;
    let ctx = prepare(merge_db, BUILDINGS, "bench-merge").await?;
    let raw_ctx = prepare(raw_db, BUILDINGS, "bench-raw").await?;
    let records = inspections(rows, BUILDINGS);
    let raw_rows = raw_rows(&raw_ctx, &records);
    let raw = raw(raw_db, &raw_rows, batch).await?;
    let merge = merge(merge_db, &ctx, &records, batch).await?;
    Ok(MergeFigures {
        engine: merge_db.engine(),
        rows,
        batch,
        merge,
        raw,
    })
}

#[derive(Debug, Clone)]
pub struct ImportFigures {
    pub engine: &'static str,
    pub buildings: usize,
    pub csv_bytes: u64,
    pub elapsed: Duration,
    pub summary: ImportSummary,
}

/// Writes an address-base CSV of `n` buildings into `dir` and times its import (read, parse,
/// validate, merge, commit) into `db` (migrated here).
pub async fn import_time<D: Database>(
    db: &D,
    n: usize,
    dir: &Path,
) -> Result<ImportFigures, BenchError> {
    db.migrate().await?;
    let (_, mut buildings) = crate::demo::demo_district(1, n > 10_000);
    buildings.truncate(n);
    let path = dir.join(format!("address-base-{n}.csv"));
    let mut f = std::fs::File::create(&path)?;
    import::write_csv(&mut f, &buildings)?;
    drop(f);
    let csv_bytes = std::fs::metadata(&path)?.len();
    let started = Instant::now();
    let summary = import::import_file(db, &path, None, false).await?;
    Ok(ImportFigures {
        engine: db.engine(),
        buildings: buildings.len(),
        csv_bytes,
        elapsed: started.elapsed(),
        summary,
    })
}
