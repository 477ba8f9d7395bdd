//! Group `server`: the sync server's storage, on SQLite and on PostgreSQL.
//!
//! (a) Merge against raw: the same inspection records (about a one-grid synthetic district of 500
//! buildings) pushed in batches through the server's full merge (validation, idempotency,
//! per-device sequence, scope, one transaction per batch) into one fresh database, and inserted raw
//! (the same rows through the same batched statements, no checks) into another fresh database of
//! the same engine, in the same run, a few times per batch size. Goal: merge ≥ 0.5 × raw.
//! (b) Import: the synthetic Bao'an's address base (175,700 buildings; quick: 10%) written as a
//! CSV, then read, parsed, validated and merged into an empty archive in one transaction. Goal:
//! < 30 s.
//!
//! SQLite databases are files in a temporary directory. PostgreSQL needs `GRIDWALK_TEST_PG_URL`
//! (run under `scripts/with-postgres.sh`); every measurement gets a fresh schema, dropped
//! afterwards. Without the variable the group says so loudly on stderr and emits the SQLite
//! figures only — never a made-up PostgreSQL figure.

use std::fmt::Display;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use gridwalk_core::synth::{self, DistrictSpec};
use gridwalk_server::bench::{self as server_bench, ImportFigures, MergeFigures};
use gridwalk_server::db::SqliteDb;

use super::district::Setup;
use super::stats::median;
use super::{BenchError, Context};

const GROUP: &str = "server";
/// Where `scripts/with-postgres.sh` puts the throwaway PostgreSQL's URL.
pub const PG_ENV: &str = "GRIDWALK_TEST_PG_URL";

fn err(e: impl Display) -> BenchError {
    BenchError::failed(GROUP, e)
}

/// How much the group measures.
#[derive(Debug, Clone)]
pub struct Sizes {
    /// Records per merge / raw run.
    pub rows: usize,
    /// Push batch sizes compared (the server accepts up to 1,000 records per push).
    pub batches: Vec<usize>,
    /// Runs per batch size; the figures are medians.
    pub repeats: usize,
    /// The district whose address base is imported (its history is not generated).
    pub import: DistrictSpec,
}

impl Sizes {
    pub fn for_run(quick: bool) -> Self {
        let mut import = Setup::spec(quick);
        import.history_per_building = 0.0;
        if quick {
            Sizes {
                rows: 5_000,
                batches: vec![500],
                repeats: 1,
                import,
            }
        } else {
            Sizes {
                rows: 20_000,
                batches: vec![100, 500, 1_000],
                repeats: 3,
                import,
            }
        }
    }
}

pub fn run(ctx: &mut Context<'_>) -> Result<(), BenchError> {
    let sizes = Sizes::for_run(ctx.quick());
    let pg = std::env::var(PG_ENV).ok().filter(|u| !u.is_empty());
    measure(ctx, &sizes, pg.as_deref(), &mut std::io::stderr())
}

/// Measures on SQLite, then on the PostgreSQL at `pg_url` if there is one (else warns on `warn`).
pub fn measure(
    ctx: &mut Context<'_>,
    sizes: &Sizes,
    pg_url: Option<&str>,
    warn: &mut dyn Write,
) -> Result<(), BenchError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(err)?;
    let dir = tempfile::tempdir().map_err(err)?;

    let start = Instant::now();
    let district = synth::generate_default(&sizes.import).map_err(err)?;
    let generate_ms = Context::ms_since(start);
    ctx.emit("server.merge_rows", sizes.rows as f64, "count")?;
    ctx.emit(
        "server.import_buildings",
        district.buildings.len() as f64,
        "count",
    )?;
    ctx.emit("server.import_generate_ms", generate_ms, "ms")?;

    for &batch in &sizes.batches {
        let runs = runtime.block_on(sqlite_merges(dir.path(), sizes, batch))?;
        emit_merge(ctx, "sqlite", batch, &runs)?;
    }
    let f = runtime.block_on(async {
        let db = SqliteDb::open(dir.path().join("import.sqlite")).await?;
        server_bench::import_time(&db, &district.buildings, dir.path()).await
    });
    emit_import(ctx, &f.map_err(err)?)?;

    let Some(base) = pg_url else {
        writeln!(
            warn,
            "SKIPPED: server: PostgreSQL figures ({PG_ENV} unset; run the bench under \
             scripts/with-postgres.sh) — only the SQLite figures were measured"
        )?;
        return Ok(());
    };
    for &batch in &sizes.batches {
        let runs = runtime.block_on(pg_merges(base, sizes, batch))?;
        emit_merge(ctx, "postgres", batch, &runs)?;
    }
    let f = runtime.block_on(async {
        const SCHEMA: &str = "gw_bench_import";
        let db = server_bench::pg_bench_db(base, SCHEMA).await?;
        let f = server_bench::import_time(&db, &district.buildings, dir.path()).await;
        drop(db);
        server_bench::drop_pg_schema(base, SCHEMA).await?;
        f
    });
    emit_import(ctx, &f.map_err(err)?)
}

async fn sqlite_merges(
    dir: &Path,
    sizes: &Sizes,
    batch: usize,
) -> Result<Vec<MergeFigures>, BenchError> {
    let mut runs = Vec::with_capacity(sizes.repeats);
    for r in 0..sizes.repeats.max(1) {
        let open = |what: &str| SqliteDb::open(dir.join(format!("{what}-{batch}-{r}.sqlite")));
        let (m, raw) = (
            open("merge").await.map_err(err)?,
            open("raw").await.map_err(err)?,
        );
        runs.push(
            server_bench::merge_vs_raw(&m, &raw, sizes.rows, batch)
                .await
                .map_err(err)?,
        );
    }
    Ok(runs)
}

async fn pg_merges(
    base: &str,
    sizes: &Sizes,
    batch: usize,
) -> Result<Vec<MergeFigures>, BenchError> {
    const MERGE: &str = "gw_bench_merge";
    const RAW: &str = "gw_bench_raw";
    let mut runs = Vec::with_capacity(sizes.repeats);
    for _ in 0..sizes.repeats.max(1) {
        let m = server_bench::pg_bench_db(base, MERGE).await.map_err(err)?;
        let raw = server_bench::pg_bench_db(base, RAW).await.map_err(err)?;
        let f = server_bench::merge_vs_raw(&m, &raw, sizes.rows, batch).await;
        drop((m, raw));
        for schema in [MERGE, RAW] {
            server_bench::drop_pg_schema(base, schema)
                .await
                .map_err(err)?;
        }
        runs.push(f.map_err(err)?);
    }
    Ok(runs)
}

fn emit_merge(
    ctx: &mut Context<'_>,
    engine: &str,
    batch: usize,
    runs: &[MergeFigures],
) -> Result<(), BenchError> {
    let of = |f: fn(&MergeFigures) -> f64| -> Result<f64, BenchError> {
        median(&runs.iter().map(f).collect::<Vec<_>>()).ok_or_else(|| err("no merge runs"))
    };
    let name = |what: &str| format!("server.{engine}.{what}_batch{batch}");
    ctx.emit(
        &name("merge_rows_per_s"),
        of(MergeFigures::merge_rows_per_sec)?,
        "1/s",
    )?;
    ctx.emit(
        &name("raw_rows_per_s"),
        of(MergeFigures::raw_rows_per_sec)?,
        "1/s",
    )?;
    ctx.emit(&name("merge_vs_raw"), of(MergeFigures::ratio)?, "ratio")
}

fn emit_import(ctx: &mut Context<'_>, f: &ImportFigures) -> Result<(), BenchError> {
    if f.summary.inserted != f.buildings as u64 {
        return Err(err(format!(
            "{} imported {} of {} buildings",
            f.engine, f.summary.inserted, f.buildings
        )));
    }
    let ms = f.elapsed.as_secs_f64() * 1e3;
    let engine = f.engine;
    ctx.emit(&format!("server.{engine}.import_ms"), ms, "ms")?;
    ctx.emit(
        &format!("server.{engine}.import_buildings_per_s"),
        f.buildings as f64 / (ms / 1e3).max(1e-9),
        "1/s",
    )?;
    ctx.emit(
        &format!("server.{engine}.import_csv_mb"),
        f.csv_bytes as f64 / 1e6,
        "MB",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::Figure;

    fn tiny() -> Sizes {
        let mut import = DistrictSpec::small(3);
        import.history_per_building = 0.0;
        Sizes {
            rows: 120,
            batches: vec![50],
            repeats: 2,
            import,
        }
    }

    fn figures(out: Vec<u8>) -> Vec<Figure> {
        String::from_utf8(out)
            .expect("utf-8")
            .lines()
            .map(|l| Figure::parse_line(l).expect("a figure line"))
            .collect()
    }

    #[test]
    fn with_postgres_both_engines_are_measured() {
        let Some(url) = std::env::var(PG_ENV).ok().filter(|u| !u.is_empty()) else {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: server bench on PostgreSQL ({PG_ENV} unset)"
            );
            return;
        };
        let mut out = Vec::new();
        let mut warn = Vec::new();
        let mut ctx = Context::new(true, &mut out);
        measure(&mut ctx, &tiny(), Some(&url), &mut warn).expect("measures");
        let names: Vec<String> = figures(out).into_iter().map(|f| f.name).collect();
        for engine in ["sqlite", "postgres"] {
            for what in ["merge_vs_raw_batch50", "import_ms"] {
                let name = format!("server.{engine}.{what}");
                assert!(names.contains(&name), "{name} missing: {names:?}");
            }
        }
        assert!(warn.is_empty());
    }

    #[test]
    fn without_postgres_it_says_so_and_emits_sqlite_figures_only() {
        let mut out = Vec::new();
        let mut warn = Vec::new();
        let mut ctx = Context::new(true, &mut out);
        measure(&mut ctx, &tiny(), None, &mut warn).expect("measures");
        let out = String::from_utf8(out).expect("utf-8");
        let figures: Vec<Figure> = out
            .lines()
            .map(|l| Figure::parse_line(l).expect("a figure line"))
            .collect();
        let get = |name: &str| {
            figures
                .iter()
                .find(|f| f.name == name)
                .unwrap_or_else(|| panic!("{name} missing from {out}"))
                .value
        };
        assert_eq!(get("server.merge_rows"), 120.0);
        assert_eq!(get("server.import_buildings"), 430.0);
        assert!(get("server.sqlite.merge_rows_per_s_batch50") > 0.0);
        assert!(get("server.sqlite.raw_rows_per_s_batch50") > 0.0);
        assert!(get("server.sqlite.merge_vs_raw_batch50") > 0.0);
        assert!(get("server.sqlite.import_ms") > 0.0);
        assert!(
            figures.iter().all(|f| !f.name.contains("postgres")),
            "{out}"
        );
        let warn = String::from_utf8(warn).expect("utf-8");
        assert!(
            warn.starts_with("SKIPPED: server: PostgreSQL figures"),
            "{warn}"
        );
    }
}
