//! Storage: one [`Database`] trait, two engines ([`SqliteDb`], [`PgDb`]), chosen by URL.
//!
//! Both engines keep one global change sequence (`sync_state.last_seq`): every accepted record,
//! building change, building exit and review outcome takes the next number, under the engine's
//! single writer (SQLite) or a row lock on the counter (PostgreSQL), so numbers become visible in
//! order and a pull past a cursor never skips a change. Device clocks play no part in ordering.

mod any;
pub mod assessment;
pub mod audit;
pub mod codec;
pub mod dispatch;
pub mod import_plan;
pub mod lists;
pub mod postgres;
pub(crate) mod rating_codec;
pub mod review;
pub mod sqlite;
mod types;

use std::future::Future;

pub use any::AnyDb;
pub use lists::{ListParams, ListRows};
pub use postgres::PgDb;
pub use sqlite::SqliteDb;
pub use types::*;

use chrono::{DateTime, NaiveDate, Utc};
use dispatch::{
    ClaimedNotice, DepartmentQuery, EventMover, MoveOutcome, NoticeClaim, NoticeFinish,
    NoticeQuery, OverdueNotices,
};
use gridwalk_core::protocol::{
    ConflictView, DepartmentQueuePage, DeviceId, NoticeView, PushRecord, PushResponse,
    ReviewOutcome, Scope,
};
use gridwalk_core::{Building, BuildingCode, DepartmentId, EventStatus, Grid, RecordId, Sha256Hex};

use crate::sync::plan::SequenceError;
use crate::sync::validate::Checked;

/// Why a storage operation failed. Engine errors are internal (500); the typed variants are
/// answers the caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("postgres connection pool: {0}")]
    Pool(String),
    #[error("database task failed: {0}")]
    Task(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("unsupported database URL '{0}': use sqlite://PATH or postgres://USER@HOST/DB")]
    BadUrl(String),
    #[error("cannot use data directory {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("user '{0}' already exists")]
    UserExists(String),
    #[error("migration {version} failed: {message}")]
    Migration { version: u32, message: String },
    #[error("database schema version {found} is newer than this server knows ({known})")]
    SchemaTooNew { found: u32, known: u32 },
    #[error(
        "database is not migrated (schema version {found}, need {need}); run `gridwalk-server migrate`"
    )]
    NotMigrated { found: u32, need: u32 },
}

/// Why a push was refused as a whole (nothing of it is committed).
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    Sequence(#[from] SequenceError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<rusqlite::Error> for PushError {
    fn from(e: rusqlite::Error) -> Self {
        PushError::Db(e.into())
    }
}

impl From<tokio_postgres::Error> for PushError {
    fn from(e: tokio_postgres::Error) -> Self {
        PushError::Db(e.into())
    }
}

/// The storage contract. Every method is async; engines never block the runtime's threads (SQLite
/// work runs under `spawn_blocking`, PostgreSQL is asynchronous).
pub trait Database: Send + Sync + 'static {
    /// `"sqlite"` or `"postgres"`.
    fn engine(&self) -> &'static str;

    /// Applies pending migrations, each in its own transaction. Returns the versions applied.
    fn migrate(&self) -> impl Future<Output = Result<Vec<u32>, DbError>> + Send;

    /// Fails with [`DbError::NotMigrated`] unless the schema is current.
    fn check_schema(&self) -> impl Future<Output = Result<(), DbError>> + Send;

    /// A random id created with the database; cursors issued by another database are not
    /// continued.
    fn server_id(&self) -> impl Future<Output = Result<String, DbError>> + Send;

    // --- accounts -------------------------------------------------------------------------
    fn add_user(&self, user: NewUser) -> impl Future<Output = Result<(), DbError>> + Send;
    fn user(&self, username: &str)
    -> impl Future<Output = Result<Option<UserRow>, DbError>> + Send;
    fn create_session(&self, s: NewSession) -> impl Future<Output = Result<(), DbError>> + Send;
    /// The session for a token hash, with its user's current role and scope.
    fn session(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<SessionRow>, DbError>> + Send;
    /// Revokes one token; false if it was unknown or already revoked.
    fn revoke_session(
        &self,
        token_hash: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, DbError>> + Send;
    /// Revokes every live token of a user; returns how many.
    fn revoke_user_sessions(
        &self,
        username: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, DbError>> + Send;
    /// The highest push sequence stored from a device (0 if none).
    fn device_last_seq(
        &self,
        device: &DeviceId,
    ) -> impl Future<Output = Result<u64, DbError>> + Send;

    // --- the archive ----------------------------------------------------------------------
    fn upsert_grids(&self, grids: Vec<Grid>) -> impl Future<Output = Result<u64, DbError>> + Send;
    /// Merges address-base rows into the archive in one transaction (or only plans it when
    /// `dry_run`). Archive fields of existing buildings (stars, scores, hazards, blacklist,
    /// inspection dates) are kept; a building whose grid, community or street changes leaves a
    /// tombstone for the scopes it left.
    fn import_buildings(
        &self,
        buildings: Vec<Building>,
        dry_run: bool,
    ) -> impl Future<Output = Result<ImportSummary, DbError>> + Send;
    /// Marks a building demolished / merged away; false if unknown or already removed.
    fn remove_building(
        &self,
        code: &BuildingCode,
    ) -> impl Future<Output = Result<bool, DbError>> + Send;
    fn building(
        &self,
        code: &BuildingCode,
    ) -> impl Future<Output = Result<Option<StoredBuilding>, DbError>> + Send;
    fn count_buildings(&self) -> impl Future<Output = Result<u64, DbError>> + Send;

    // --- sync -----------------------------------------------------------------------------
    /// Applies a push batch exactly once, in one transaction committed before it returns.
    /// `checks[i]` is what [`crate::sync::validate::check_batch`] settled about `records[i]`
    /// before, without the database; a record without one is stored unchecked.
    fn push(
        &self,
        ctx: PushCtx,
        records: Vec<PushRecord>,
        checks: Vec<Checked>,
    ) -> impl Future<Output = Result<PushResponse, PushError>> + Send {
        self.push_audited(ctx, records, checks, None)
    }
    /// [`Database::push`] that also appends `audit` in the same transaction: the audit row of a
    /// push commits with its records or not at all, and costs no commit of its own.
    fn push_audited(
        &self,
        ctx: PushCtx,
        records: Vec<PushRecord>,
        checks: Vec<Checked>,
        audit: Option<audit::NewAuditEntry>,
    ) -> impl Future<Output = Result<PushResponse, PushError>> + Send;
    /// One page of changes for a scope after a sequence number, from one consistent snapshot.
    fn pull(&self, p: PullParams) -> impl Future<Output = Result<PullPage, DbError>> + Send;
    /// [`Database::pull`] with the building files left as stored JSON (what the HTTP answer
    /// needs).
    fn pull_json(
        &self,
        p: PullParams,
    ) -> impl Future<Output = Result<PullPageJson, DbError>> + Send;
    /// Records a supervisor's decision on a stored record; `None` if the record is unknown.
    fn add_review(
        &self,
        outcome: ReviewOutcome,
    ) -> impl Future<Output = Result<Option<u64>, DbError>> + Send;
    /// Field-correction conflicts about buildings in a scope, oldest first.
    fn conflicts(
        &self,
        scope: &Scope,
    ) -> impl Future<Output = Result<Vec<ConflictView>, DbError>> + Send;
    /// What the store holds from a device: (accepted records, rejected records).
    fn device_record_counts(
        &self,
        device: &DeviceId,
    ) -> impl Future<Output = Result<(u64, u64), DbError>> + Send;

    // --- photos ---------------------------------------------------------------------------
    /// The size declared for a photo by the records of `username`; `None` if none refers to it.
    fn photo_declared_size(
        &self,
        sha: &Sha256Hex,
        username: &str,
    ) -> impl Future<Output = Result<Option<u64>, DbError>> + Send;
    /// Whether a record about a building in `scope` refers to the photo.
    fn photo_visible(
        &self,
        sha: &Sha256Hex,
        scope: &Scope,
    ) -> impl Future<Output = Result<bool, DbError>> + Send;
    fn photo_stored(&self, sha: &Sha256Hex) -> impl Future<Output = Result<bool, DbError>> + Send;
    /// Registers a verified photo file (idempotent).
    fn mark_photo_stored(
        &self,
        sha: &Sha256Hex,
        size_bytes: u64,
    ) -> impl Future<Output = Result<(), DbError>> + Send;
    /// Photos a device's stored records refer to that the server does not have yet.
    fn missing_photos(
        &self,
        device: &DeviceId,
    ) -> impl Future<Output = Result<Vec<Sha256Hex>, DbError>> + Send;

    // --- review and audit -----------------------------------------------------------------
    /// Indexes the inspections and events merged since the last call for the review queue,
    /// judging each one's presence with `policy` (the core rule). Returns how many were indexed.
    fn review_index(
        &self,
        policy: gridwalk_core::policy::SupervisionPolicy,
    ) -> impl Future<Output = Result<u64, DbError>> + Send;
    /// One page of indexed reports in a scope, oldest first; `true` when more follow.
    fn review_queue(
        &self,
        p: review::ReviewQueueParams,
    ) -> impl Future<Output = Result<(Vec<gridwalk_core::protocol::ReviewItem>, bool), DbError>> + Send;
    /// Records a decision under the rules of [`crate::review::rules`], in one transaction.
    fn decide_review(
        &self,
        p: review::DecideParams,
    ) -> impl Future<Output = Result<review::DecideResult, DbError>> + Send;
    /// A grid with its buildings and every inspection and event about them; `None` if unknown.
    fn grid_records(
        &self,
        grid: &gridwalk_core::GridId,
    ) -> impl Future<Output = Result<Option<assessment::GridRecords>, DbError>> + Send;
    /// Appends one row to the append-only audit log.
    fn append_audit(
        &self,
        e: audit::NewAuditEntry,
    ) -> impl Future<Output = Result<(), DbError>> + Send;
    /// One page of the audit log, oldest first; `true` when more follow.
    fn audit_log(
        &self,
        f: audit::AuditFilter,
    ) -> impl Future<Output = Result<(Vec<gridwalk_core::protocol::AuditEntry>, bool), DbError>> + Send;

    // --- dispatch and notices ---------------------------------------------------------------
    /// Makes an account a member of a handling department; false if there is no such user.
    fn set_user_department(
        &self,
        username: &str,
        department: &DepartmentId,
    ) -> impl Future<Output = Result<bool, DbError>> + Send;
    fn user_department(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<DepartmentId>, DbError>> + Send;
    /// One page of a department's queue within a scope, in report order.
    fn department_events(
        &self,
        q: DepartmentQuery,
    ) -> impl Future<Output = Result<DepartmentQueuePage, DbError>> + Send;
    /// Moves an event along its lifecycle (only allowed moves) in one transaction, cancelling its
    /// unsent notices when it is no longer open and queueing its building for re-rating.
    fn move_event(
        &self,
        event: RecordId,
        to: EventStatus,
        mover: EventMover,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<MoveOutcome, DbError>> + Send;
    /// Notices of an event or a building within a scope, with their contacts.
    fn notices(
        &self,
        q: NoticeQuery,
    ) -> impl Future<Output = Result<Vec<NoticeView>, DbError>> + Send;
    /// Claims due notices (and notices whose lease ran out) for one delivery attempt each.
    fn claim_notices(
        &self,
        claim: NoticeClaim,
    ) -> impl Future<Output = Result<Vec<ClaimedNotice>, DbError>> + Send;
    /// Stores an attempt's result; false if the claim was lost (lease ran out, claimed again).
    fn finish_notice(
        &self,
        finish: NoticeFinish,
    ) -> impl Future<Output = Result<bool, DbError>> + Send;
    /// The notice step of the overdue sweep: notices whose deadline is before `today` with their
    /// event still open are marked overdue, and such events move to `overdue` (their buildings
    /// queued for re-rating). Idempotent: a second run with the same day changes nothing.
    fn mark_overdue_notices(
        &self,
        today: NaiveDate,
    ) -> impl Future<Output = Result<OverdueNotices, DbError>> + Send;

    // --- stars, sweep and lists -------------------------------------------------------------
    /// Rates up to `limit` queued buildings, oldest queued first, in one transaction (see
    /// [`crate::rater`]).
    fn rate_queued(
        &self,
        rules: std::sync::Arc<crate::rater::Rules>,
        today: chrono::NaiveDate,
        limit: usize,
    ) -> impl Future<Output = Result<crate::rater::RateReport, DbError>> + Send;
    /// Buildings waiting in the rating queue.
    fn queued_ratings(&self) -> impl Future<Output = Result<u64, DbError>> + Send;
    /// Marks up to `limit` open hazards and micro-events whose deadline is before `today`
    /// overdue and queues their buildings for rating, in one transaction; returns how many.
    fn mark_overdue_events(
        &self,
        today: chrono::NaiveDate,
        limit: usize,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, DbError>> + Send;
    /// A building's rating history, oldest first.
    fn rating_history(
        &self,
        code: &BuildingCode,
    ) -> impl Future<Output = Result<Vec<gridwalk_core::protocol::RatingEntry>, DbError>> + Send;
    /// One page of an officer's list (see [`lists`]).
    fn officer_list(&self, p: ListParams)
    -> impl Future<Output = Result<ListRows, DbError>> + Send;

    // --- benchmarks -----------------------------------------------------------------------
    /// Inserts record rows with no checks at all, in one transaction, through the same batched
    /// statements the push uses: the baseline a push's merge rate is compared with.
    fn bench_raw_insert(
        &self,
        rows: Vec<NewRecord>,
    ) -> impl Future<Output = Result<u64, DbError>> + Send;
}

/// Opens the engine a URL names: `sqlite://PATH` or `postgres://…` / `postgresql://…`.
pub async fn open(url: &str) -> Result<AnyDb, DbError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        if path.is_empty() {
            return Err(DbError::BadUrl(url.to_owned()));
        }
        return Ok(AnyDb::Sqlite(SqliteDb::open(path).await?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(AnyDb::Postgres(PgDb::connect(url).await?));
    }
    Err(DbError::BadUrl(redact_url(url)))
}

/// A URL with any password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Merges the per-stream results (each already limited to `limit + 1` rows in sequence order)
/// into one page of at most `limit` changes. If more than `limit` exist in total, the union of
/// the streams' first `limit + 1` rows holds more than `limit`, so `has_more` is exact.
pub(crate) fn merge_page(mut items: Vec<(u64, ChangeJson)>, limit: usize) -> PullPageJson {
    items.sort_by_key(|(seq, _)| *seq);
    let has_more = items.len() > limit;
    items.truncate(limit);
    PullPageJson {
        changes: items,
        has_more,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://gw:secret@127.0.0.1:5432/gw"),
            "postgres://gw:***@127.0.0.1:5432/gw"
        );
        assert_eq!(redact_url("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }
}
