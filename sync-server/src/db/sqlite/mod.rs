//! The embedded engine: one SQLite file in WAL mode, one writer connection and a few readers.
//!
//! All SQLite work runs under `spawn_blocking`. Writes take the single writer connection (SQLite
//! allows one writer at a time anyway) and use `BEGIN IMMEDIATE`; `synchronous = FULL` makes a
//! commit durable before the push that caused it is acknowledged.

mod accounts;
mod archive;
mod audit;
mod checkpointer;
mod events;
mod lists;
mod photos;
mod pull;
mod push;
mod rating;
mod review;
mod schema;
pub use schema::versions as migration_versions;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::dispatch::{
    ClaimedNotice, DepartmentQuery, EventMover, MoveOutcome, NoticeClaim, NoticeFinish,
    NoticeQuery, OverdueNotices,
};
use chrono::{DateTime, NaiveDate, Utc};
use gridwalk_core::protocol::{
    ConflictView, DepartmentQueuePage, DeviceId, NoticeView, PushRecord, PushResponse,
    ReviewOutcome, Scope,
};
use gridwalk_core::{Building, BuildingCode, DepartmentId, EventStatus, Grid, RecordId, Sha256Hex};
use rusqlite::Connection;

use super::codec::seq_u;
use super::{
    Database, DbError, ImportSummary, NewRecord, NewSession, NewUser, PullPage, PullPageJson,
    PullParams, PushCtx, PushError, SessionRow, StoredBuilding, UserRow,
};
use crate::sync::validate::Checked;

const MAX_READERS: usize = 4;

#[derive(Debug, Clone)]
pub struct SqliteDb {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    _checkpointer: checkpointer::Checkpointer,
}

fn open_connection(path: &Path) -> Result<Connection, DbError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;",
    )?;
    Ok(conn)
}

impl SqliteDb {
    /// Opens (creating if needed) the database file and its directory.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, DbError> {
        let path = path.as_ref().to_path_buf();
        tokio::task::spawn_blocking(move || {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|source| DbError::Io {
                    path: dir.display().to_string(),
                    source,
                })?;
            }
            let writer = open_connection(&path)?;
            writer.pragma_update(None, "wal_autocheckpoint", checkpointer::BACKSTOP_PAGES)?;
            Ok(SqliteDb {
                inner: Arc::new(Inner {
                    _checkpointer: checkpointer::Checkpointer::start(path.clone()),
                    path,
                    writer: Mutex::new(writer),
                    readers: Mutex::new(Vec::new()),
                }),
            })
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))?
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on the writer connection on a blocking thread.
    async fn write<T, E>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock leaves the connection usable (SQLite rolls back the
            // open transaction when it is dropped), so a poisoned lock is recovered.
            let mut conn = inner
                .writer
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|e| E::from(DbError::Task(e.to_string())))?
    }

    /// Runs `f` on a reader connection on a blocking thread.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = inner
                .readers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop();
            let mut conn = match pooled {
                Some(c) => c,
                None => {
                    let c = open_connection(&inner.path)?;
                    c.execute_batch("PRAGMA query_only = ON;")?;
                    c
                }
            };
            let out = f(&mut conn);
            let mut readers = inner.readers.lock().unwrap_or_else(|p| p.into_inner());
            if readers.len() < MAX_READERS {
                readers.push(conn);
            }
            out
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))?
    }
}

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(v: i64) -> Result<DateTime<Utc>, DbError> {
    DateTime::from_timestamp_millis(v).ok_or_else(|| DbError::Corrupt(format!("timestamp {v}")))
}

impl Database for SqliteDb {
    fn engine(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> Result<Vec<u32>, DbError> {
        self.write(schema::migrate).await
    }

    async fn check_schema(&self) -> Result<(), DbError> {
        self.read(schema::check).await
    }

    async fn server_id(&self) -> Result<String, DbError> {
        self.read(|c| {
            Ok(
                c.query_row("SELECT server_id FROM sync_state WHERE id = 1", [], |r| {
                    r.get(0)
                })?,
            )
        })
        .await
    }

    async fn add_user(&self, user: NewUser) -> Result<(), DbError> {
        self.write(move |c| accounts::add_user(c, &user)).await
    }

    async fn user(&self, username: &str) -> Result<Option<UserRow>, DbError> {
        let username = username.to_owned();
        self.read(move |c| accounts::user(c, &username)).await
    }

    async fn create_session(&self, s: NewSession) -> Result<(), DbError> {
        self.write(move |c| accounts::create_session(c, &s)).await
    }

    async fn session(&self, token_hash: &str) -> Result<Option<SessionRow>, DbError> {
        let token_hash = token_hash.to_owned();
        self.read(move |c| accounts::session(c, &token_hash)).await
    }

    async fn revoke_session(&self, token_hash: &str, at: DateTime<Utc>) -> Result<bool, DbError> {
        let token_hash = token_hash.to_owned();
        self.write(move |c| accounts::revoke_session(c, &token_hash, at))
            .await
    }

    async fn revoke_user_sessions(
        &self,
        username: &str,
        at: DateTime<Utc>,
    ) -> Result<u64, DbError> {
        let username = username.to_owned();
        self.write(move |c| accounts::revoke_user_sessions(c, &username, at))
            .await
    }

    async fn device_last_seq(&self, device: &DeviceId) -> Result<u64, DbError> {
        let device = device.clone();
        self.read(move |c| accounts::device_last_seq(c, &device))
            .await
    }

    async fn upsert_grids(&self, grids: Vec<Grid>) -> Result<u64, DbError> {
        self.write(move |c| archive::upsert_grids(c, &grids)).await
    }

    async fn import_buildings(
        &self,
        buildings: Vec<Building>,
        dry_run: bool,
    ) -> Result<ImportSummary, DbError> {
        self.write(move |c| archive::import_buildings(c, buildings, dry_run))
            .await
    }

    async fn remove_building(&self, code: &BuildingCode) -> Result<bool, DbError> {
        let code = code.clone();
        self.write(move |c| archive::remove_building(c, &code))
            .await
    }

    async fn building(&self, code: &BuildingCode) -> Result<Option<StoredBuilding>, DbError> {
        let code = code.clone();
        self.read(move |c| archive::building(c, &code)).await
    }

    async fn count_buildings(&self) -> Result<u64, DbError> {
        self.read(archive::count_buildings).await
    }

    async fn push_audited(
        &self,
        ctx: PushCtx,
        records: Vec<PushRecord>,
        checks: Vec<Checked>,
        audit: Option<super::audit::NewAuditEntry>,
    ) -> Result<PushResponse, PushError> {
        self.write(move |c| push::push(c, &ctx, &records, &checks, audit.as_ref()))
            .await
    }

    async fn pull(&self, p: PullParams) -> Result<PullPage, DbError> {
        self.read(move |c| pull::pull(c, &p)?.parse()).await
    }

    async fn pull_json(&self, p: PullParams) -> Result<PullPageJson, DbError> {
        self.read(move |c| pull::pull(c, &p)).await
    }

    async fn add_review(&self, outcome: ReviewOutcome) -> Result<Option<u64>, DbError> {
        self.write(move |c| pull::add_review(c, &outcome)).await
    }

    async fn conflicts(&self, scope: &Scope) -> Result<Vec<ConflictView>, DbError> {
        let scope = scope.clone();
        self.read(move |c| pull::conflicts(c, &scope)).await
    }

    async fn device_record_counts(&self, device: &DeviceId) -> Result<(u64, u64), DbError> {
        let device = device.clone();
        self.read(move |c| push::device_record_counts(c, &device))
            .await
    }

    async fn photo_declared_size(
        &self,
        sha: &Sha256Hex,
        username: &str,
    ) -> Result<Option<u64>, DbError> {
        let (sha, username) = (sha.clone(), username.to_owned());
        self.read(move |c| photos::declared_size(c, &sha, &username))
            .await
    }

    async fn photo_visible(&self, sha: &Sha256Hex, scope: &Scope) -> Result<bool, DbError> {
        let (sha, scope) = (sha.clone(), scope.clone());
        self.read(move |c| photos::visible(c, &sha, &scope)).await
    }

    async fn photo_stored(&self, sha: &Sha256Hex) -> Result<bool, DbError> {
        let sha = sha.clone();
        self.read(move |c| photos::stored(c, &sha)).await
    }

    async fn mark_photo_stored(&self, sha: &Sha256Hex, size_bytes: u64) -> Result<(), DbError> {
        let sha = sha.clone();
        self.write(move |c| photos::mark_stored(c, &sha, size_bytes))
            .await
    }

    async fn missing_photos(&self, device: &DeviceId) -> Result<Vec<Sha256Hex>, DbError> {
        let device = device.clone();
        self.read(move |c| photos::missing_for_device(c, &device))
            .await
    }

    async fn review_index(
        &self,
        policy: gridwalk_core::policy::SupervisionPolicy,
    ) -> Result<u64, DbError> {
        self.write(move |c| review::index(c, &policy)).await
    }

    async fn review_queue(
        &self,
        p: super::review::ReviewQueueParams,
    ) -> Result<(Vec<gridwalk_core::protocol::ReviewItem>, bool), DbError> {
        self.read(move |c| review::queue(c, &p)).await
    }

    async fn decide_review(
        &self,
        p: super::review::DecideParams,
    ) -> Result<super::review::DecideResult, DbError> {
        self.write(move |c| review::decide(c, &p)).await
    }

    async fn grid_records(
        &self,
        grid: &gridwalk_core::GridId,
    ) -> Result<Option<super::assessment::GridRecords>, DbError> {
        let grid = grid.clone();
        self.read(move |c| review::grid_records(c, &grid)).await
    }

    async fn append_audit(&self, e: super::audit::NewAuditEntry) -> Result<(), DbError> {
        self.write(move |c| audit::append(c, &e)).await
    }

    async fn audit_log(
        &self,
        f: super::audit::AuditFilter,
    ) -> Result<(Vec<gridwalk_core::protocol::AuditEntry>, bool), DbError> {
        self.read(move |c| audit::page(c, &f)).await
    }

    async fn set_user_department(
        &self,
        username: &str,
        department: &DepartmentId,
    ) -> Result<bool, DbError> {
        let (username, department) = (username.to_owned(), department.clone());
        self.write(move |c| events::set_user_department(c, &username, &department))
            .await
    }

    async fn user_department(&self, username: &str) -> Result<Option<DepartmentId>, DbError> {
        let username = username.to_owned();
        self.read(move |c| events::user_department(c, &username))
            .await
    }

    async fn department_events(&self, q: DepartmentQuery) -> Result<DepartmentQueuePage, DbError> {
        self.read(move |c| events::department_events(c, &q)).await
    }

    async fn move_event(
        &self,
        event: RecordId,
        to: EventStatus,
        mover: EventMover,
        now: DateTime<Utc>,
    ) -> Result<MoveOutcome, DbError> {
        self.write(move |c| events::move_event(c, event, to, &mover, now))
            .await
    }

    async fn notices(&self, q: NoticeQuery) -> Result<Vec<NoticeView>, DbError> {
        self.read(move |c| events::notices(c, &q)).await
    }

    async fn claim_notices(&self, claim: NoticeClaim) -> Result<Vec<ClaimedNotice>, DbError> {
        self.write(move |c| events::claim_notices(c, &claim)).await
    }

    async fn finish_notice(&self, finish: NoticeFinish) -> Result<bool, DbError> {
        self.write(move |c| events::finish_notice(c, &finish)).await
    }

    async fn mark_overdue_notices(&self, today: NaiveDate) -> Result<OverdueNotices, DbError> {
        self.write(move |c| events::mark_overdue_notices(c, today, Utc::now()))
            .await
    }

    async fn rate_queued(
        &self,
        rules: std::sync::Arc<crate::rater::Rules>,
        today: chrono::NaiveDate,
        limit: usize,
    ) -> Result<crate::rater::RateReport, DbError> {
        self.write(move |c| rating::rate_queued(c, &rules, today, limit))
            .await
    }

    async fn queued_ratings(&self) -> Result<u64, DbError> {
        self.read(rating::queued_ratings).await
    }

    async fn mark_overdue_events(
        &self,
        today: chrono::NaiveDate,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<u64, DbError> {
        self.write(move |c| rating::mark_overdue_events(c, today, limit, now))
            .await
    }

    async fn rating_history(
        &self,
        code: &BuildingCode,
    ) -> Result<Vec<gridwalk_core::protocol::RatingEntry>, DbError> {
        let code = code.clone();
        self.read(move |c| rating::rating_history(c, &code)).await
    }

    async fn officer_list(&self, p: crate::db::ListParams) -> Result<crate::db::ListRows, DbError> {
        self.read(move |c| lists::officer_list(c, &p)).await
    }

    async fn bench_raw_insert(&self, rows: Vec<NewRecord>) -> Result<u64, DbError> {
        self.write(move |c| push::raw_insert(c, &rows)).await
    }
}

/// Takes `n` numbers from the global change sequence; returns the first. Runs inside the caller's
/// write transaction.
pub(crate) fn allocate_seqs(tx: &rusqlite::Transaction<'_>, n: usize) -> Result<u64, DbError> {
    let n = i64::try_from(n).map_err(|_| DbError::Corrupt("sequence batch too large".into()))?;
    let last: i64 = tx.query_row(
        "UPDATE sync_state SET last_seq = last_seq + ?1 WHERE id = 1 RETURNING last_seq",
        [n],
        |r| r.get(0),
    )?;
    Ok(seq_u(last - n + 1))
}
