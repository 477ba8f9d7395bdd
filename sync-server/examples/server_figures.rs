//! Prints the server's figures: push merge rate against a raw batched insert of the same rows,
//! and the address-base import time, on SQLite and (with GRIDWALK_TEST_PG_URL) PostgreSQL.
//!
//!   cargo run --release -p gridwalk-server --example server_figures -- [ROWS] [BATCH]
//!   scripts/with-postgres.sh cargo run --release -p gridwalk-server --example server_figures
//!
//! The lead's `gridwalk-bench --only server` calls the same `gridwalk_server::bench` functions.

use gridwalk_server::bench;
use gridwalk_server::db::{PgDb, SqliteDb};

async fn pg_schema(base: &str, name: &str) -> Result<PgDb, Box<dyn std::error::Error>> {
    let (client, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls).await?;
    let driver = tokio::spawn(conn);
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
        ))
        .await?;
    drop(client);
    let _ = driver.await;
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok(PgDb::connect(&format!("{base}{sep}options=-csearch_path%3D{name}")).await?)
}

fn show(f: &bench::MergeFigures) {
    println!(
        "{:<8} merge {:>9.0} rows/s ({:.2} s)  raw {:>9.0} rows/s ({:.2} s)  merge/raw {:.2}  [{} rows, batch {}]",
        f.engine,
        f.merge_rows_per_sec(),
        f.merge.as_secs_f64(),
        f.raw_rows_per_sec(),
        f.raw.as_secs_f64(),
        f.ratio(),
        f.rows,
        f.batch
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let rows = args.first().copied().unwrap_or(20_000);
    let batch = args.get(1).copied().unwrap_or(500);
    let buildings = args.get(2).copied().unwrap_or(175_700);
    let dir = tempfile::tempdir()?;

    let m = SqliteDb::open(dir.path().join("merge.sqlite")).await?;
    let r = SqliteDb::open(dir.path().join("raw.sqlite")).await?;
    show(&bench::merge_vs_raw(&m, &r, rows, batch).await?);
    let i = SqliteDb::open(dir.path().join("import.sqlite")).await?;
    let f = bench::import_time(&i, buildings, dir.path()).await?;
    println!(
        "{:<8} import {} buildings ({} MB CSV) in {:.2} s",
        f.engine,
        f.buildings,
        f.csv_bytes / 1_000_000,
        f.elapsed.as_secs_f64()
    );

    match std::env::var("GRIDWALK_TEST_PG_URL") {
        Ok(base) if !base.is_empty() => {
            let m = pg_schema(&base, "bench_merge").await?;
            let r = pg_schema(&base, "bench_raw").await?;
            show(&bench::merge_vs_raw(&m, &r, rows, batch).await?);
            let i = pg_schema(&base, "bench_import").await?;
            let f = bench::import_time(&i, buildings, dir.path()).await?;
            println!(
                "{:<8} import {} buildings ({} MB CSV) in {:.2} s",
                f.engine,
                f.buildings,
                f.csv_bytes / 1_000_000,
                f.elapsed.as_secs_f64()
            );
        }
        _ => println!("SKIPPED: PostgreSQL figures (GRIDWALK_TEST_PG_URL unset)"),
    }
    Ok(())
}
