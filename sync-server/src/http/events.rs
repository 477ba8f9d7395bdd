//! The handling departments' side of dispatch (自动分拨): a department's queue and the status
//! moves its users make. Department users see and move only their own department's events within
//! their scope; admins any.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use gridwalk_core::protocol::{
    DepartmentEvent, DepartmentQueuePage, ErrorCode, EventStatusUpdate, Role, Scope,
};
use gridwalk_core::{DepartmentId, EventStatus, RecordId};
use serde::Deserialize;

use super::AppState;
use super::error::ApiFailure;
use super::extract::{StrictJson, require};
use crate::auth::Caller;
use crate::db::Database;
use crate::db::dispatch::{DepartmentQuery, EventMover, MoveOutcome};
use crate::scope::Action;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    status: Option<EventStatus>,
    after: Option<RecordId>,
    limit: Option<u32>,
}

/// The department a caller acts for: their own (department users) or any (`None`, admins).
pub(super) async fn acting_department(
    state: &AppState,
    caller: &Caller,
) -> Result<Option<DepartmentId>, ApiFailure> {
    if caller.role != Role::Department {
        return Ok(None);
    }
    match state.db().user_department(&caller.username).await? {
        Some(d) => Ok(Some(d)),
        None => Err(ApiFailure::forbidden(
            "this account belongs to no department; an admin assigns one",
        )),
    }
}

fn parse_event_id(s: &str) -> Result<RecordId, ApiFailure> {
    uuid::Uuid::parse_str(s).map(RecordId).map_err(|_| {
        ApiFailure::bad_request(
            ErrorCode::InvalidRequest,
            format!("'{s}' is not an event id"),
        )
    })
}

pub async fn queue(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<QueueQuery>, QueryRejection>,
) -> Result<Json<DepartmentQueuePage>, ApiFailure> {
    require(&caller, Action::HandleEvents)?;
    let Query(q) =
        query.map_err(|r| ApiFailure::bad_request(ErrorCode::InvalidRequest, r.body_text()))?;
    let department = DepartmentId(id);
    if !state
        .catalog()
        .departments
        .iter()
        .any(|d| d.id == department)
    {
        return Err(ApiFailure::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("no department '{department}' in the catalog"),
        ));
    }
    if let Some(own) = acting_department(&state, &caller).await?
        && own != department
    {
        return Err(ApiFailure::forbidden(format!(
            "you work for department '{own}', not '{department}'"
        )));
    }
    let cfg = state.config();
    let limit = q.limit.unwrap_or(cfg.default_pull_limit);
    if limit == 0 || limit > cfg.max_pull_limit {
        return Err(ApiFailure::bad_request(
            ErrorCode::InvalidRequest,
            format!("limit must be 1 to {}", cfg.max_pull_limit),
        ));
    }
    let page = state
        .db()
        .department_events(DepartmentQuery {
            department,
            scope: caller.scope.clone(),
            status: q.status,
            after: q.after,
            limit,
        })
        .await?;
    Ok(Json(page))
}

pub async fn move_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    StrictJson(update): StrictJson<EventStatusUpdate>,
) -> Result<Json<DepartmentEvent>, ApiFailure> {
    require(&caller, Action::HandleEvents)?;
    let event = parse_event_id(&id)?;
    let mover = EventMover {
        scope: caller.scope.clone(),
        department: acting_department(&state, &caller).await?,
    };
    let outcome = state
        .db()
        .move_event(event, update.status, mover, chrono::Utc::now())
        .await?;
    match outcome {
        MoveOutcome::Moved(e) => {
            tracing::info!(user = %caller.username, %event, status = e.status.as_str(), "event moved");
            Ok(Json(e))
        }
        // Outside the scope the answer is the same whether the event exists or not.
        MoveOutcome::NotFound if caller.scope == Scope::District => Err(ApiFailure::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("no event {event}"),
        )),
        MoveOutcome::NotFound | MoveOutcome::OutOfScope => Err(ApiFailure::out_of_scope(format!(
            "event {event} is not in your scope"
        ))),
        MoveOutcome::OtherDepartment => Err(ApiFailure::forbidden(format!(
            "event {event} is not dispatched to your department"
        ))),
        MoveOutcome::Refused(t) => Err(ApiFailure::new(
            StatusCode::CONFLICT,
            ErrorCode::InvalidTransition,
            format!(
                "event {event} is {} and cannot become {}",
                t.from.as_str(),
                t.to.as_str()
            ),
        )),
    }
}
