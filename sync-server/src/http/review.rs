//! Supervisor review: the queue, decisions, and field-correction conflicts.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use gridwalk_core::protocol::{
    ConflictView, ErrorCode, ReviewItem, ReviewQueuePage, ReviewQueueQuery, ReviewRequest, Scope,
};
use gridwalk_core::{RecordId, WorkerId};

use super::AppState;
use super::error::ApiFailure;
use super::extract::{StrictJson, require};
use crate::audit;
use crate::auth::Caller;
use crate::db::Database;
use crate::db::review::{DecideParams, DecideResult, ReviewQueueParams};
use crate::review::rules::{ReviewRefusal, clean_comment};
use crate::scope::Action;

pub async fn queue(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ReviewQueueQuery>, QueryRejection>,
) -> Result<Json<ReviewQueuePage>, ApiFailure> {
    require(&caller, Action::Review)?;
    let Query(q) =
        query.map_err(|r| ApiFailure::bad_request(ErrorCode::InvalidRequest, r.body_text()))?;
    let cfg = &state.config().review;
    let limit = q.limit.unwrap_or(cfg.default_queue_limit);
    if limit == 0 || limit > cfg.max_queue_limit {
        return Err(ApiFailure::bad_request(
            ErrorCode::InvalidRequest,
            format!("limit must be 1 to {}", cfg.max_queue_limit),
        ));
    }
    state.db().review_index(state.policy().supervision).await?;
    let (items, has_more) = state
        .db()
        .review_queue(ReviewQueueParams {
            scope: caller.scope.clone(),
            kind: q.kind,
            grid: q.grid,
            worker: q.worker,
            off_site: q.off_site,
            state: q.state,
            after_seq: q.after.unwrap_or(0),
            limit,
        })
        .await?;
    let next_after = if has_more {
        items.last().map(|i| i.seq)
    } else {
        None
    };
    Ok(Json(ReviewQueuePage {
        items,
        has_more,
        next_after,
    }))
}

pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path(record): Path<String>,
    StrictJson(req): StrictJson<ReviewRequest>,
) -> Result<Json<ReviewItem>, ApiFailure> {
    require(&caller, Action::Review)?;
    let record = uuid::Uuid::parse_str(&record).map(RecordId).map_err(|_| {
        ApiFailure::bad_request(
            ErrorCode::InvalidRequest,
            format!("'{record}' is not a record id (a UUID)"),
        )
    })?;
    let comment = clean_comment(
        req.decision,
        &req.comment,
        state.config().review.max_comment_chars,
    )
    .map_err(refusal)?;
    let result = state
        .db()
        .decide_review(DecideParams {
            record,
            scope: caller.scope.clone(),
            decision: req.decision,
            comment,
            reviewer: WorkerId(caller.username.clone()),
            at: chrono::Utc::now(),
            policy: state.policy().supervision,
        })
        .await?;
    match result {
        DecideResult::Decided { item, recorded } => {
            tracing::info!(
                reviewer = %caller.username,
                record = %record,
                decision = req.decision.as_str(),
                recorded,
                "review"
            );
            Ok(Json(*item))
        }
        DecideResult::UnknownRecord if caller.scope == Scope::District => Err(ApiFailure::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("no record {record}"),
        )),
        DecideResult::UnknownRecord | DecideResult::OutOfScope => Err(ApiFailure::out_of_scope(
            format!("record {record} is not in your scope"),
        )),
        DecideResult::NotReviewable => Err(ApiFailure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidRequest,
            format!(
                "record {record} is a building correction; corrections are settled as conflicts \
                 (GET /v1/review/conflicts)"
            ),
        )),
        DecideResult::Refused(r) => Err(refusal(r)),
    }
}

fn refusal(r: ReviewRefusal) -> ApiFailure {
    match r {
        ReviewRefusal::Closed(_) => {
            ApiFailure::new(StatusCode::CONFLICT, ErrorCode::ReviewClosed, r.to_string())
        }
        ReviewRefusal::CommentRequired => ApiFailure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::CommentRequired,
            r.to_string(),
        ),
        ReviewRefusal::CommentTooLong { .. } => ApiFailure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidRequest,
            r.to_string(),
        ),
    }
}

/// Field-correction conflicts in the caller's scope, oldest first. Conflicts about contact
/// fields carry personal data and are audited as a read of it.
pub async fn conflicts(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ConflictView>>, ApiFailure> {
    require(&caller, Action::ReviewConflicts)?;
    let list = state.db().conflicts(&caller.scope).await?;
    audit_conflicts(&state, &caller, "GET /v1/review/conflicts", &list).await?;
    Ok(Json(list))
}

/// Logs the read when any of `list` holds a contact.
pub async fn audit_conflicts(
    state: &AppState,
    caller: &Caller,
    action: &str,
    list: &[ConflictView],
) -> Result<(), ApiFailure> {
    let ids = audit::contact_conflicts(list);
    if !ids.is_empty() {
        let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
        audit::personal_read(
            state.db(),
            caller,
            action,
            format!("conflicts {}", ids.join(",")),
        )
        .await?;
    }
    Ok(())
}
