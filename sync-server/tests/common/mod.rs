//! Test harness shared by the conformance and HTTP suites: real engines in temporary places.
//!
//! PostgreSQL tests read `GRIDWALK_TEST_PG_URL` (see `scripts/with-postgres.sh`) and run each test
//! in a fresh schema so tests can run in parallel. Without the variable they print a SKIPPED line
//! (on the real stderr, past the test harness's capture) — and when `CI` is set they fail instead.

#![allow(dead_code)]

use std::io::Write;

use gridwalk_server::db::{Database, PgDb, SqliteDb};
use tempfile::TempDir;

pub const PG_ENV: &str = "GRIDWALK_TEST_PG_URL";

pub async fn sqlite_db() -> (TempDir, SqliteDb) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = SqliteDb::open(dir.path().join("gridwalk.sqlite"))
        .await
        .expect("open sqlite");
    (dir, db)
}

/// The URL of a fresh, empty schema on the test PostgreSQL, or `None` (after saying so loudly)
/// when no PostgreSQL was provided.
pub async fn pg_url(test: &str) -> Option<String> {
    let base = match std::env::var(PG_ENV) {
        Ok(u) if !u.is_empty() => u,
        _ => {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "CI is set but {PG_ENV} is not: the PostgreSQL conformance run must not be \
                     skipped in CI (run the tests through scripts/with-postgres.sh)"
                );
            }
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: PostgreSQL conformance ({PG_ENV} unset): {test}"
            );
            return None;
        }
    };
    let schema = format!("gw_t_{}", uuid::Uuid::now_v7().simple());
    let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .expect("connect to the test PostgreSQL");
    let driver = tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("create test schema");
    drop(client);
    let _ = driver.await;
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}options=-csearch_path%3D{schema}"))
}

pub async fn pg_db(test: &str) -> Option<PgDb> {
    let url = pg_url(test).await?;
    Some(PgDb::connect(&url).await.expect("connect PgDb"))
}

/// A migrated engine, for tests that do not care about migrations.
pub async fn migrated<D: Database>(db: D) -> D {
    db.migrate().await.expect("migrate");
    db
}
