//! The field simulator behind `gridwalk-sim`: simulated grid workers' phones (each a real core
//! archive in its own directory and the real sync client) doing seeded patrol days against a real
//! `gridwalk-server` process, attacks on the whole system (the server killed, a faulty network, a
//! phone killed mid-sync, wrong phone clocks), the district-scale load, and the checker that
//! judges what survived.
//!
//! ```text
//! gridwalk-sim run   [--devices N] [--days N] [--records N] [--seed N] [--engine sqlite|postgres] [--keep DIR]
//! gridwalk-sim run   --server URL --user NAME --password PW [--server-db URL]
//! gridwalk-sim chaos --scenario kill-server|proxy|kill-device|clock-skew [--quick] [--seed N]
//! gridwalk-sim load  [--quick] [--engine sqlite|postgres] [--concurrency N]
//! gridwalk-sim check --dir DIR
//! ```
//!
//! Every run that checks ends with `result: lost=<n> duplicated=<n>` and exits non-zero when
//! either is not 0 or a device's archive differs from the server's view of its scope.
//!
//! - [`script`]: a device's patrol day, generated from a seed (plan, inspections with photos,
//!   micro-events, hazards, offline stretches, syncs).
//! - [`device`]: one simulated phone running scripts.
//! - [`world`], [`server`]: the district, its accounts, and the server as a child process.
//! - [`proxy`]: a TCP proxy that times requests per endpoint and injects network faults.
//! - [`check`]: lost and duplicated records, and each device's view against the server's.
//! - [`chaos`], [`load`]: the scenarios.

pub mod chaos;
pub mod check;
pub mod cli;
pub mod device;
pub mod load;
pub mod procstat;
pub mod proxy;
pub mod run;
pub mod script;
pub mod server;
pub mod world;

use gridwalk_core::store::StoreError;
use gridwalk_core::sync::SyncError;
use gridwalk_server::db::DbError;

/// Why a simulation could not run to its verdict (a verdict of lost or duplicated records is not
/// an error: it is the result).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("archive: {0}")]
    Store(#[from] StoreError),
    #[error("sync: {0}")]
    Sync(#[from] SyncError),
    #[error("server database: {0}")]
    Db(#[from] DbError),
    #[error("reading the server's database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("reading the server's database: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Setup(String),
    #[error("the server: {0}")]
    Server(String),
    #[error("device {device}: {message}")]
    Device { device: String, message: String },
    #[error("{0}")]
    Json(#[from] serde_json::Error),
}

impl SimError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        SimError::Io {
            context: context.into(),
            source,
        }
    }
}

pub type SimResult<T> = Result<T, SimError>;

/// The password every simulated account gets.
pub const SIM_PASSWORD: &str = "gridwalk-sim-pw";
/// Where `scripts/with-postgres.sh` puts the throwaway PostgreSQL's URL.
pub const PG_ENV: &str = "GRIDWALK_TEST_PG_URL";
/// A `gridwalk-server` binary to run as the server instead of this binary's built-in copy.
pub const SERVER_ENV: &str = "GRIDWALK_SERVER";
