//! The engine chosen at run time by URL.

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

use super::{
    Database, DbError, ImportSummary, NewRecord, NewSession, NewUser, PgDb, PullPage, PullPageJson,
    PullParams, PushCtx, PushError, SessionRow, SqliteDb, StoredBuilding, UserRow,
};
use crate::sync::validate::Checked;

#[derive(Debug, Clone)]
pub enum AnyDb {
    Sqlite(SqliteDb),
    Postgres(PgDb),
}

macro_rules! on_engine {
    ($self:ident, $db:ident => $e:expr) => {
        match $self {
            AnyDb::Sqlite($db) => $e,
            AnyDb::Postgres($db) => $e,
        }
    };
}

impl Database for AnyDb {
    fn engine(&self) -> &'static str {
        on_engine!(self, d => d.engine())
    }
    async fn migrate(&self) -> Result<Vec<u32>, DbError> {
        on_engine!(self, d => d.migrate().await)
    }
    async fn check_schema(&self) -> Result<(), DbError> {
        on_engine!(self, d => d.check_schema().await)
    }
    async fn server_id(&self) -> Result<String, DbError> {
        on_engine!(self, d => d.server_id().await)
    }
    async fn add_user(&self, user: NewUser) -> Result<(), DbError> {
        on_engine!(self, d => d.add_user(user).await)
    }
    async fn user(&self, username: &str) -> Result<Option<UserRow>, DbError> {
        on_engine!(self, d => d.user(username).await)
    }
    async fn create_session(&self, s: NewSession) -> Result<(), DbError> {
        on_engine!(self, d => d.create_session(s).await)
    }
    async fn session(&self, token_hash: &str) -> Result<Option<SessionRow>, DbError> {
        on_engine!(self, d => d.session(token_hash).await)
    }
    async fn revoke_session(&self, token_hash: &str, at: DateTime<Utc>) -> Result<bool, DbError> {
        on_engine!(self, d => d.revoke_session(token_hash, at).await)
    }
    async fn revoke_user_sessions(
        &self,
        username: &str,
        at: DateTime<Utc>,
    ) -> Result<u64, DbError> {
        on_engine!(self, d => d.revoke_user_sessions(username, at).await)
    }
    async fn device_last_seq(&self, device: &DeviceId) -> Result<u64, DbError> {
        on_engine!(self, d => d.device_last_seq(device).await)
    }
    async fn upsert_grids(&self, grids: Vec<Grid>) -> Result<u64, DbError> {
        on_engine!(self, d => d.upsert_grids(grids).await)
    }
    async fn import_buildings(
        &self,
        buildings: Vec<Building>,
        dry_run: bool,
    ) -> Result<ImportSummary, DbError> {
        on_engine!(self, d => d.import_buildings(buildings, dry_run).await)
    }
    async fn remove_building(&self, code: &BuildingCode) -> Result<bool, DbError> {
        on_engine!(self, d => d.remove_building(code).await)
    }
    async fn building(&self, code: &BuildingCode) -> Result<Option<StoredBuilding>, DbError> {
        on_engine!(self, d => d.building(code).await)
    }
    async fn count_buildings(&self) -> Result<u64, DbError> {
        on_engine!(self, d => d.count_buildings().await)
    }
    async fn push_audited(
        &self,
        ctx: PushCtx,
        records: Vec<PushRecord>,
        checks: Vec<Checked>,
        audit: Option<super::audit::NewAuditEntry>,
    ) -> Result<PushResponse, PushError> {
        on_engine!(self, d => d.push_audited(ctx, records, checks, audit).await)
    }
    async fn pull(&self, p: PullParams) -> Result<PullPage, DbError> {
        on_engine!(self, d => d.pull(p).await)
    }
    async fn pull_json(&self, p: PullParams) -> Result<PullPageJson, DbError> {
        on_engine!(self, d => d.pull_json(p).await)
    }
    async fn add_review(&self, outcome: ReviewOutcome) -> Result<Option<u64>, DbError> {
        on_engine!(self, d => d.add_review(outcome).await)
    }
    async fn conflicts(&self, scope: &Scope) -> Result<Vec<ConflictView>, DbError> {
        on_engine!(self, d => d.conflicts(scope).await)
    }
    async fn device_record_counts(&self, device: &DeviceId) -> Result<(u64, u64), DbError> {
        on_engine!(self, d => d.device_record_counts(device).await)
    }
    async fn photo_declared_size(
        &self,
        sha: &Sha256Hex,
        username: &str,
    ) -> Result<Option<u64>, DbError> {
        on_engine!(self, d => d.photo_declared_size(sha, username).await)
    }
    async fn photo_visible(&self, sha: &Sha256Hex, scope: &Scope) -> Result<bool, DbError> {
        on_engine!(self, d => d.photo_visible(sha, scope).await)
    }
    async fn photo_stored(&self, sha: &Sha256Hex) -> Result<bool, DbError> {
        on_engine!(self, d => d.photo_stored(sha).await)
    }
    async fn mark_photo_stored(&self, sha: &Sha256Hex, size_bytes: u64) -> Result<(), DbError> {
        on_engine!(self, d => d.mark_photo_stored(sha, size_bytes).await)
    }
    async fn missing_photos(&self, device: &DeviceId) -> Result<Vec<Sha256Hex>, DbError> {
        on_engine!(self, d => d.missing_photos(device).await)
    }
    async fn review_index(
        &self,
        policy: gridwalk_core::policy::SupervisionPolicy,
    ) -> Result<u64, DbError> {
        on_engine!(self, d => d.review_index(policy).await)
    }
    async fn review_queue(
        &self,
        p: super::review::ReviewQueueParams,
    ) -> Result<(Vec<gridwalk_core::protocol::ReviewItem>, bool), DbError> {
        on_engine!(self, d => d.review_queue(p).await)
    }
    async fn decide_review(
        &self,
        p: super::review::DecideParams,
    ) -> Result<super::review::DecideResult, DbError> {
        on_engine!(self, d => d.decide_review(p).await)
    }
    async fn grid_records(
        &self,
        grid: &gridwalk_core::GridId,
    ) -> Result<Option<super::assessment::GridRecords>, DbError> {
        on_engine!(self, d => d.grid_records(grid).await)
    }
    async fn append_audit(&self, e: super::audit::NewAuditEntry) -> Result<(), DbError> {
        on_engine!(self, d => d.append_audit(e).await)
    }
    async fn audit_log(
        &self,
        f: super::audit::AuditFilter,
    ) -> Result<(Vec<gridwalk_core::protocol::AuditEntry>, bool), DbError> {
        on_engine!(self, d => d.audit_log(f).await)
    }
    async fn set_user_department(
        &self,
        username: &str,
        department: &DepartmentId,
    ) -> Result<bool, DbError> {
        on_engine!(self, d => d.set_user_department(username, department).await)
    }
    async fn user_department(&self, username: &str) -> Result<Option<DepartmentId>, DbError> {
        on_engine!(self, d => d.user_department(username).await)
    }
    async fn department_events(&self, q: DepartmentQuery) -> Result<DepartmentQueuePage, DbError> {
        on_engine!(self, d => d.department_events(q).await)
    }
    async fn move_event(
        &self,
        event: RecordId,
        to: EventStatus,
        mover: EventMover,
        now: DateTime<Utc>,
    ) -> Result<MoveOutcome, DbError> {
        on_engine!(self, d => d.move_event(event, to, mover, now).await)
    }
    async fn notices(&self, q: NoticeQuery) -> Result<Vec<NoticeView>, DbError> {
        on_engine!(self, d => d.notices(q).await)
    }
    async fn claim_notices(&self, claim: NoticeClaim) -> Result<Vec<ClaimedNotice>, DbError> {
        on_engine!(self, d => d.claim_notices(claim).await)
    }
    async fn finish_notice(&self, finish: NoticeFinish) -> Result<bool, DbError> {
        on_engine!(self, d => d.finish_notice(finish).await)
    }
    async fn mark_overdue_notices(&self, today: NaiveDate) -> Result<OverdueNotices, DbError> {
        on_engine!(self, d => d.mark_overdue_notices(today).await)
    }

    async fn rate_queued(
        &self,
        rules: std::sync::Arc<crate::rater::Rules>,
        today: chrono::NaiveDate,
        limit: usize,
    ) -> Result<crate::rater::RateReport, DbError> {
        on_engine!(self, d => d.rate_queued(rules, today, limit).await)
    }
    async fn queued_ratings(&self) -> Result<u64, DbError> {
        on_engine!(self, d => d.queued_ratings().await)
    }
    async fn mark_overdue_events(
        &self,
        today: chrono::NaiveDate,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<u64, DbError> {
        on_engine!(self, d => d.mark_overdue_events(today, limit, now).await)
    }
    async fn rating_history(
        &self,
        code: &BuildingCode,
    ) -> Result<Vec<gridwalk_core::protocol::RatingEntry>, DbError> {
        on_engine!(self, d => d.rating_history(code).await)
    }
    async fn officer_list(&self, p: super::ListParams) -> Result<super::ListRows, DbError> {
        on_engine!(self, d => d.officer_list(p).await)
    }
    async fn bench_raw_insert(&self, rows: Vec<NewRecord>) -> Result<u64, DbError> {
        on_engine!(self, d => d.bench_raw_insert(rows).await)
    }
}
