//! The phone's side of the sync contract (feature `sync-client`): an HTTP client (reqwest with
//! rustls) that pushes the archive's outbox, uploads the photos the server lacks and pulls the
//! changes of the worker's scope — so that nothing recorded offline is ever lost or duplicated.
//!
//! The guarantees rest on the archive (every step is one SQLite transaction) and on the server's
//! exactly-once push (records keyed by id, per-device sequence numbers):
//! - A push batch is numbered and marked in flight before it is sent; an answer is recorded in one
//!   transaction. A batch whose answer never came (no signal, app killed) is sent again under the
//!   same numbers and the server answers "duplicate" for what it already stored.
//! - A pull page and its cursor commit together; a page applied twice changes nothing. The next
//!   page is fetched while one is applied, and dropped unless it follows the applied page.
//! - Photos upload in chunks from wherever the server's copy ends.
//! - A refused token stops the sync with "log in again"; nothing recorded is touched.
//!
//! ```no_run
//! # async fn demo(archive: std::sync::Arc<gridwalk_core::store::Archive>) -> Result<(), gridwalk_core::sync::SyncError> {
//! use gridwalk_core::sync::{SyncClient, SyncConfig};
//! let client = SyncClient::new(archive, SyncConfig::new("https://gridwalk.example"))?;
//! client.login("w-S01C01G001", "secret").await?;
//! let report = client.sync_now().await?;
//! println!("{} records pushed, {} bytes sent", report.pushed.accepted, report.wire.sent);
//! # Ok(()) }
//! ```

mod client;
mod config;
mod error;
mod fail;
mod pull_pages;
mod status;
mod transport;

pub use client::{ProgressObserver, SyncClient};
pub use config::{RetryPolicy, SyncConfig};
pub use error::SyncError;
pub use fail::FailPoint;
pub use pull_pages::PAGES_AHEAD as PULL_PAGES_AHEAD;
pub use status::{SyncPhase, SyncProgress, SyncReport, SyncStatus};
pub use transport::WireBytes;
