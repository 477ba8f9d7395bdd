//! Entry points for the benchmark binary (`gridwalk-bench --only server`). Nothing here is timed
//! by the test suite; the bench decides sizes and prints figures.
//!
//! - [`merge_vs_raw`]: the server's push merge (validation, idempotency, sequence, scope, one
//!   transaction per batch) against a raw batched insert of the same rows into the same engine.
//! - [`import_time`]: writing, parsing and importing an address-base CSV of given buildings.
//! - [`pg_bench_db`], [`drop_pg_schema`]: a fresh PostgreSQL schema per measurement.

use std::path::Path;
use std::time::{Duration, Instant};

use gridwalk_core::protocol::{DeviceId, PushRecord, RecordOutcome, Scope, SyncRecord};
use gridwalk_core::{Building, Catalog, CatalogError};

use crate::db::{Database, DbError, ImportSummary, NewRecord, PgDb, PushCtx, PushError};
use crate::fixtures::{self, DistrictShape, Sample, SampleError};
use crate::import::{self, ImportError};
use crate::sync::plan::record_row;
use crate::sync::validate::{RecordLimits, check_batch, stored_payload};

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
    #[error(transparent)]
    Sample(#[from] SampleError),
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("bench schema name '{0}' must be lowercase ASCII letters, digits and '_'")]
    BadSchema(String),
    #[error("the merge did not accept every record: {0}")]
    NotAccepted(String),
    #[error("the bench district is unusable: {0}")]
    District(String),
}

/// The seed of the benchmark districts.
pub const SEED: u64 = 20_250_701;

/// A one-grid synthetic district of `buildings` buildings: the grid a bench worker pushes about.
pub fn bench_district(buildings: u32) -> Result<Sample, BenchError> {
    Ok(Sample::generate(
        DistrictShape::one_grid(buildings.max(1)),
        SEED,
    )?)
}

/// Migrates `db` and loads `sample`; returns the push context of its first grid's worker.
pub async fn prepare<D: Database>(
    db: &D,
    sample: &Sample,
    device: &str,
) -> Result<PushCtx, BenchError> {
    db.migrate().await?;
    let grid = sample
        .grid(1, 1, 1)
        .ok_or_else(|| BenchError::District("it has no grid".into()))?;
    let worker = grid
        .worker
        .as_ref()
        .ok_or_else(|| BenchError::District(format!("grid {} has no worker", grid.id)))?;
    let ctx = PushCtx {
        username: worker.as_str().to_owned(),
        scope: Scope::Grid(grid.id.clone()),
        device: DeviceId::parse(device).map_err(|e| BenchError::District(e.to_string()))?,
        now: chrono::Utc::now(),
    };
    db.upsert_grids(sample.grids().to_vec()).await?;
    db.import_buildings(sample.buildings().to_vec(), false)
        .await?;
    Ok(ctx)
}

/// `n` inspections by `worker`, spread over the sample's buildings in turn, numbered 1..=n.
pub fn inspections(sample: &Sample, worker: &str, n: usize) -> Vec<PushRecord> {
    let buildings = sample.buildings();
    let records = (0..n)
        .filter_map(|i| buildings.get(i % buildings.len().max(1)))
        .map(|b| SyncRecord::Inspection(fixtures::inspection(&b.code, worker, Vec::new())))
        .collect();
    fixtures::batch(1, records)
}

/// The rows a push of `records` stores, for the raw baseline.
pub fn raw_rows(ctx: &PushCtx, records: &[PushRecord]) -> Vec<NewRecord> {
    records
        .iter()
        .map(|r| record_row(ctx, r, stored_payload(&r.record), false))
        .collect()
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
        let checks = check_batch(chunk, &ctx.username, &catalog, &limits);
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
    let sample = tokio::task::spawn_blocking(|| bench_district(BUILDINGS))
        .await
        .map_err(|e| DbError::Task(e.to_string()))??;
    let ctx = prepare(merge_db, &sample, "bench-merge").await?;
    let raw_ctx = prepare(raw_db, &sample, "bench-raw").await?;
    let records = inspections(&sample, &ctx.username, rows);
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

/// Writes `buildings` as an address-base CSV into `dir` and times its import (read, parse,
/// validate, merge, commit) into `db` (migrated here, before the clock starts).
pub async fn import_time<D: Database>(
    db: &D,
    buildings: &[Building],
    dir: &Path,
) -> Result<ImportFigures, BenchError> {
    db.migrate().await?;
    let path = dir.join(format!("address-base-{}.csv", buildings.len()));
    let mut f = std::fs::File::create(&path)?;
    import::write_csv(&mut f, buildings)?;
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

fn check_schema_name(name: &str) -> Result<(), BenchError> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(BenchError::BadSchema(name.to_owned()))
    }
}

async fn pg_admin(base_url: &str, sql: &str) -> Result<(), BenchError> {
    let (client, conn) = tokio_postgres::connect(base_url, tokio_postgres::NoTls).await?;
    let driver = tokio::spawn(conn);
    let result = client.batch_execute(sql).await;
    drop(client);
    let _ = driver.await;
    Ok(result?)
}

/// A fresh, empty schema `name` on the PostgreSQL at `base_url` (dropped first if left over from
/// an earlier run), and a [`PgDb`] whose connections use it.
pub async fn pg_bench_db(base_url: &str, name: &str) -> Result<PgDb, BenchError> {
    check_schema_name(name)?;
    pg_admin(
        base_url,
        &format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"),
    )
    .await?;
    let sep = if base_url.contains('?') { '&' } else { '?' };
    Ok(PgDb::connect(&format!("{base_url}{sep}options=-csearch_path%3D{name}")).await?)
}

/// Drops a schema [`pg_bench_db`] made.
pub async fn drop_pg_schema(base_url: &str, name: &str) -> Result<(), BenchError> {
    check_schema_name(name)?;
    pg_admin(base_url, &format!("DROP SCHEMA IF EXISTS {name} CASCADE")).await
}
