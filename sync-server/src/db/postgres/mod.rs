//! The production engine: PostgreSQL through tokio-postgres and a deadpool connection pool.
//!
//! Batches are written with `UNNEST` array parameters (one statement per table per batch). The
//! global change counter is a row in `sync_state` updated inside each write transaction: the row
//! lock serializes the writers that take numbers, so numbers become visible in commit order and a
//! pull never sees number `n + 1` before `n`. Pulls run in one read-only REPEATABLE READ
//! transaction so all their streams see the same snapshot.

mod accounts;
mod archive;
mod audit;
mod events;
mod lists;
mod photos;
mod pull;
mod push;
mod rating;
mod review;
mod schema;
pub use schema::versions as migration_versions;

use super::dispatch::{
    ClaimedNotice, DepartmentQuery, EventMover, MoveOutcome, NoticeClaim, NoticeFinish,
    NoticeQuery, OverdueNotices,
};
use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use gridwalk_core::protocol::{
    ConflictView, DepartmentQueuePage, DeviceId, NoticeView, PushRecord, PushResponse,
    ReviewOutcome, Scope,
};
use gridwalk_core::{Building, BuildingCode, DepartmentId, EventStatus, Grid, RecordId, Sha256Hex};
use tokio_postgres::NoTls;

use super::codec::seq_u;
use super::{
    Database, DbError, ImportSummary, NewRecord, NewSession, NewUser, PullPage, PullPageJson,
    PullParams, PushCtx, PushError, SessionRow, StoredBuilding, UserRow,
};
use crate::sync::validate::Checked;

const POOL_SIZE: usize = 16;

#[derive(Clone)]
pub struct PgDb {
    pool: Pool,
}

impl std::fmt::Debug for PgDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgDb").finish_non_exhaustive()
    }
}

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        DbError::Pool(e.to_string())
    }
}

impl From<deadpool_postgres::PoolError> for PushError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        PushError::Db(e.into())
    }
}

impl PgDb {
    /// Connects (TLS is not used: the server and its database share a host or a private network).
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        let cfg: tokio_postgres::Config = url
            .parse()
            .map_err(|_| DbError::BadUrl(super::redact_url(url)))?;
        let mgr = Manager::from_config(
            cfg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| DbError::Pool(e.to_string()))?;
        // Fail now, not on the first request, when the database is unreachable.
        drop(pool.get().await?);
        Ok(Self { pool })
    }

    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Client, DbError> {
        Ok(self.pool.get().await?)
    }
}

/// Takes `n` numbers from the global change sequence inside the caller's transaction; returns
/// the first. The counter row stays locked until that transaction ends.
pub(crate) async fn allocate_seqs(
    tx: &deadpool_postgres::Transaction<'_>,
    n: usize,
) -> Result<u64, DbError> {
    let n = i64::try_from(n).map_err(|_| DbError::Corrupt("sequence batch too large".into()))?;
    let row = tx
        .query_one(
            "UPDATE sync_state SET last_seq = last_seq + $1 WHERE id = 1 RETURNING last_seq",
            &[&n],
        )
        .await?;
    let last: i64 = row.try_get(0)?;
    Ok(seq_u(last - n + 1))
}

impl Database for PgDb {
    fn engine(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> Result<Vec<u32>, DbError> {
        schema::migrate(&mut self.client().await?).await
    }

    async fn check_schema(&self) -> Result<(), DbError> {
        schema::check(&self.client().await?).await
    }

    async fn server_id(&self) -> Result<String, DbError> {
        let c = self.client().await?;
        let row = c
            .query_one("SELECT server_id FROM sync_state WHERE id = 1", &[])
            .await?;
        Ok(row.try_get(0)?)
    }

    async fn add_user(&self, user: NewUser) -> Result<(), DbError> {
        accounts::add_user(&self.client().await?, &user).await
    }

    async fn user(&self, username: &str) -> Result<Option<UserRow>, DbError> {
        accounts::user(&self.client().await?, username).await
    }

    async fn create_session(&self, s: NewSession) -> Result<(), DbError> {
        accounts::create_session(&self.client().await?, &s).await
    }

    async fn session(&self, token_hash: &str) -> Result<Option<SessionRow>, DbError> {
        accounts::session(&self.client().await?, token_hash).await
    }

    async fn revoke_session(&self, token_hash: &str, at: DateTime<Utc>) -> Result<bool, DbError> {
        accounts::revoke_session(&self.client().await?, token_hash, at).await
    }

    async fn revoke_user_sessions(
        &self,
        username: &str,
        at: DateTime<Utc>,
    ) -> Result<u64, DbError> {
        accounts::revoke_user_sessions(&self.client().await?, username, at).await
    }

    async fn device_last_seq(&self, device: &DeviceId) -> Result<u64, DbError> {
        accounts::device_last_seq(&self.client().await?, device).await
    }

    async fn upsert_grids(&self, grids: Vec<Grid>) -> Result<u64, DbError> {
        archive::upsert_grids(&mut self.client().await?, &grids).await
    }

    async fn import_buildings(
        &self,
        buildings: Vec<Building>,
        dry_run: bool,
    ) -> Result<ImportSummary, DbError> {
        archive::import_buildings(&mut self.client().await?, buildings, dry_run).await
    }

    async fn remove_building(&self, code: &BuildingCode) -> Result<bool, DbError> {
        archive::remove_building(&mut self.client().await?, code).await
    }

    async fn building(&self, code: &BuildingCode) -> Result<Option<StoredBuilding>, DbError> {
        archive::building(&self.client().await?, code).await
    }

    async fn count_buildings(&self) -> Result<u64, DbError> {
        archive::count_buildings(&self.client().await?).await
    }

    async fn push_audited(
        &self,
        ctx: PushCtx,
        records: Vec<PushRecord>,
        checks: Vec<Checked>,
        audit: Option<super::audit::NewAuditEntry>,
    ) -> Result<PushResponse, PushError> {
        push::push(
            &mut self.client().await?,
            &ctx,
            &records,
            &checks,
            audit.as_ref(),
        )
        .await
    }

    async fn pull(&self, p: PullParams) -> Result<PullPage, DbError> {
        pull::pull(&mut self.client().await?, &p).await?.parse()
    }

    async fn pull_json(&self, p: PullParams) -> Result<PullPageJson, DbError> {
        pull::pull(&mut self.client().await?, &p).await
    }

    async fn add_review(&self, outcome: ReviewOutcome) -> Result<Option<u64>, DbError> {
        pull::add_review(&mut self.client().await?, &outcome).await
    }

    async fn conflicts(&self, scope: &Scope) -> Result<Vec<ConflictView>, DbError> {
        pull::conflicts(&self.client().await?, scope).await
    }

    async fn device_record_counts(&self, device: &DeviceId) -> Result<(u64, u64), DbError> {
        push::device_record_counts(&self.client().await?, device).await
    }

    async fn photo_declared_size(
        &self,
        sha: &Sha256Hex,
        username: &str,
    ) -> Result<Option<u64>, DbError> {
        photos::declared_size(&self.client().await?, sha, username).await
    }

    async fn photo_visible(&self, sha: &Sha256Hex, scope: &Scope) -> Result<bool, DbError> {
        photos::visible(&self.client().await?, sha, scope).await
    }

    async fn photo_stored(&self, sha: &Sha256Hex) -> Result<bool, DbError> {
        photos::stored(&self.client().await?, sha).await
    }

    async fn mark_photo_stored(&self, sha: &Sha256Hex, size_bytes: u64) -> Result<(), DbError> {
        photos::mark_stored(&self.client().await?, sha, size_bytes).await
    }

    async fn missing_photos(&self, device: &DeviceId) -> Result<Vec<Sha256Hex>, DbError> {
        photos::missing_for_device(&self.client().await?, device).await
    }

    async fn review_index(
        &self,
        policy: gridwalk_core::policy::SupervisionPolicy,
    ) -> Result<u64, DbError> {
        review::index(&mut self.client().await?, &policy).await
    }

    async fn review_queue(
        &self,
        p: super::review::ReviewQueueParams,
    ) -> Result<(Vec<gridwalk_core::protocol::ReviewItem>, bool), DbError> {
        review::queue(&self.client().await?, &p).await
    }

    async fn decide_review(
        &self,
        p: super::review::DecideParams,
    ) -> Result<super::review::DecideResult, DbError> {
        review::decide(&mut self.client().await?, &p).await
    }

    async fn grid_records(
        &self,
        grid: &gridwalk_core::GridId,
    ) -> Result<Option<super::assessment::GridRecords>, DbError> {
        review::grid_records(&mut self.client().await?, grid).await
    }

    async fn append_audit(&self, e: super::audit::NewAuditEntry) -> Result<(), DbError> {
        audit::append(&self.client().await?, &e).await
    }

    async fn audit_log(
        &self,
        f: super::audit::AuditFilter,
    ) -> Result<(Vec<gridwalk_core::protocol::AuditEntry>, bool), DbError> {
        audit::page(&self.client().await?, &f).await
    }

    async fn set_user_department(
        &self,
        username: &str,
        department: &DepartmentId,
    ) -> Result<bool, DbError> {
        events::set_user_department(&self.client().await?, username, department).await
    }

    async fn user_department(&self, username: &str) -> Result<Option<DepartmentId>, DbError> {
        events::user_department(&self.client().await?, username).await
    }

    async fn department_events(&self, q: DepartmentQuery) -> Result<DepartmentQueuePage, DbError> {
        events::department_events(&self.client().await?, &q).await
    }

    async fn move_event(
        &self,
        event: RecordId,
        to: EventStatus,
        mover: EventMover,
        now: DateTime<Utc>,
    ) -> Result<MoveOutcome, DbError> {
        events::move_event(&mut self.client().await?, event, to, &mover, now).await
    }

    async fn notices(&self, q: NoticeQuery) -> Result<Vec<NoticeView>, DbError> {
        events::notices(&self.client().await?, &q).await
    }

    async fn claim_notices(&self, claim: NoticeClaim) -> Result<Vec<ClaimedNotice>, DbError> {
        events::claim_notices(&mut self.client().await?, &claim).await
    }

    async fn finish_notice(&self, finish: NoticeFinish) -> Result<bool, DbError> {
        events::finish_notice(&mut self.client().await?, &finish).await
    }

    async fn mark_overdue_notices(&self, today: NaiveDate) -> Result<OverdueNotices, DbError> {
        events::mark_overdue_notices(&mut self.client().await?, today, Utc::now()).await
    }

    async fn rate_queued(
        &self,
        rules: std::sync::Arc<crate::rater::Rules>,
        today: chrono::NaiveDate,
        limit: usize,
    ) -> Result<crate::rater::RateReport, DbError> {
        rating::rate_queued(&mut self.client().await?, &rules, today, limit).await
    }

    async fn queued_ratings(&self) -> Result<u64, DbError> {
        rating::queued_ratings(&self.client().await?).await
    }

    async fn mark_overdue_events(
        &self,
        today: chrono::NaiveDate,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<u64, DbError> {
        rating::mark_overdue_events(&mut self.client().await?, today, limit, now).await
    }

    async fn rating_history(
        &self,
        code: &BuildingCode,
    ) -> Result<Vec<gridwalk_core::protocol::RatingEntry>, DbError> {
        rating::rating_history(&self.client().await?, code).await
    }

    async fn officer_list(&self, p: crate::db::ListParams) -> Result<crate::db::ListRows, DbError> {
        lists::officer_list(&self.client().await?, &p).await
    }

    async fn bench_raw_insert(&self, rows: Vec<NewRecord>) -> Result<u64, DbError> {
        push::raw_insert(&mut self.client().await?, &rows).await
    }
}
