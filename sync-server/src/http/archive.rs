use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use gridwalk_core::protocol::{ConflictView, ErrorCode, Scope};
use gridwalk_core::{Building, BuildingCode};

use super::AppState;
use super::error::ApiFailure;
use super::extract::require;
use crate::auth::Caller;
use crate::db::Database;
use crate::scope::Action;

/// One building's file. Outside the caller's scope the answer is the same 403 whether the
/// building exists or not.
pub async fn building(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
) -> Result<Json<Building>, ApiFailure> {
    require(&caller, Action::ReadArchive)?;
    let code = BuildingCode::parse(&code)
        .map_err(|e| ApiFailure::bad_request(ErrorCode::InvalidRequest, e.to_string()))?;
    let found = state.db().building(&code).await?;
    match found {
        Some(sb) if !sb.removed && caller.scope.contains(&sb.building) => {
            // The file holds the owner's, manager's and building head's contacts.
            crate::audit::personal_read(
                state.db(),
                &caller,
                "GET /v1/buildings/{code}",
                code.as_str(),
            )
            .await?;
            Ok(Json(sb.building))
        }
        None if caller.scope == Scope::District => Err(ApiFailure::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("no building {code}"),
        )),
        _ => Err(ApiFailure::out_of_scope(format!(
            "building {code} is not in your scope"
        ))),
    }
}

pub async fn conflicts(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ConflictView>>, ApiFailure> {
    require(&caller, Action::ReviewConflicts)?;
    let list = state.db().conflicts(&caller.scope).await?;
    super::review::audit_conflicts(&state, &caller, "GET /v1/conflicts", &list).await?;
    Ok(Json(list))
}
