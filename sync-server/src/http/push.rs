use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use gridwalk_core::protocol::{ErrorCode, PushRequest, PushResponse};

use super::AppState;
use super::audit::{AuditRow, AuditWritten};
use super::error::ApiFailure;
use super::extract::{StrictJson, require};
use crate::auth::Caller;
use crate::db::{Database, PushCtx};
use crate::scope::Action;
use crate::sync::plan::check_batch_order;
use crate::sync::validate::check_batch;

pub async fn push(
    State(state): State<AppState>,
    caller: Caller,
    audit_row: Option<Extension<AuditRow>>,
    StrictJson(req): StrictJson<PushRequest>,
) -> Result<(Option<Extension<AuditWritten>>, Json<PushResponse>), ApiFailure> {
    require(&caller, Action::Push)?;
    if req.device_id != caller.device {
        return Err(ApiFailure::new(
            StatusCode::FORBIDDEN,
            ErrorCode::DeviceMismatch,
            format!(
                "this token was issued to device '{}', not '{}'",
                caller.device, req.device_id
            ),
        ));
    }
    let max = state.config().max_push_records;
    if req.records.len() > max {
        return Err(ApiFailure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BatchTooLarge,
            format!("{} records in one push; at most {max}", req.records.len()),
        ));
    }
    check_batch_order(&req.records)?;
    let checks = check_batch(
        &req.records,
        &caller.username,
        state.catalog(),
        &state.config().records,
    );
    let ctx = PushCtx {
        username: caller.username.clone(),
        scope: caller.scope.clone(),
        device: caller.device.clone(),
        now: chrono::Utc::now(),
    };
    let n = req.records.len();
    // Parsed and checked while the batch before it merges; merged after it.
    if let Some(first) = req.records.first() {
        state
            .push_turns()
            .wait_for(
                &caller.device,
                first.seq,
                std::time::Duration::from_millis(state.config().push_turn_wait_ms),
            )
            .await;
    }
    let _in_flight = state.push_started();
    // The write runs to completion even if the client goes away: the engine's transaction
    // commits or rolls back as a whole, and a retry is answered from what was stored.
    let db = state.db().clone();
    // The audit row goes into the push's own transaction (see [`AuditRow`]).
    let audit = audit_row.as_ref().map(|r| r.answered(200));
    let audited = audit.is_some().then_some(Extension(AuditWritten));
    let resp = tokio::spawn(async move { db.push_audited(ctx, req.records, checks, audit).await })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "push task failed");
            ApiFailure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "internal error; nothing of this request was stored",
            )
        })??;
    state
        .push_turns()
        .merged(&caller.device, resp.device_last_seq);
    state.rater_bell().ring();
    tracing::info!(
        user = %caller.username,
        device = %caller.device,
        records = n,
        last_seq = resp.device_last_seq,
        missing_photos = resp.missing_photos.len(),
        "push"
    );
    Ok((audited, Json(resp)))
}
