use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use gridwalk_core::protocol::{ErrorCode, PullQuery, PullResponse};

use super::AppState;
use super::error::ApiFailure;
use super::extract::require;
use crate::auth::Caller;
use crate::db::{Database, PullParams};
use crate::scope::Action;
use crate::sync::cursor::{self, Start};

pub async fn pull(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<PullQuery>, QueryRejection>,
) -> Result<Json<PullResponse>, ApiFailure> {
    require(&caller, Action::Pull)?;
    let Query(q) =
        query.map_err(|r| ApiFailure::bad_request(ErrorCode::InvalidRequest, r.body_text()))?;
    let cfg = state.config();
    let limit = q.limit.unwrap_or(cfg.default_pull_limit);
    if limit == 0 || limit > cfg.max_pull_limit {
        return Err(ApiFailure::bad_request(
            ErrorCode::InvalidRequest,
            format!("limit must be 1 to {}", cfg.max_pull_limit),
        ));
    }
    let start = cursor::decode(q.cursor.as_ref(), state.server_id(), &caller.scope)?;
    let after_seq = match start {
        Start::After(s) => s,
        Start::Bootstrap | Start::Reset => 0,
    };
    let page = state
        .db()
        .pull(PullParams {
            username: caller.username.clone(),
            scope: caller.scope.clone(),
            after_seq,
            limit,
        })
        .await?;
    let next = page.last_seq(after_seq);
    // Building files hold owners' and managers' contacts: the page is a read of personal data.
    let files = page
        .changes
        .iter()
        .filter(|(_, c)| matches!(c, gridwalk_core::protocol::Change::Building { .. }))
        .count();
    if files > 0 {
        let target = format!("{files} building files, changes {after_seq}..{next}");
        crate::audit::personal_read(state.db(), &caller, "GET /v1/sync/pull", target).await?;
    }
    let missing_photos = state.db().missing_photos(&caller.device).await?;
    Ok(Json(PullResponse {
        next_cursor: cursor::encode(next, state.server_id(), &caller.scope),
        has_more: page.has_more,
        reset: start == Start::Reset,
        catalog_version: state.catalog().version,
        policy_version: cfg.policy_version,
        missing_photos,
        changes: page.changes.into_iter().map(|(_, c)| c).collect(),
    }))
}
