//! Worker and grid assessments for supervisors and admins, within their scope.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use gridwalk_core::protocol::{
    AssessmentQuery, ErrorCode, GridAssessment, Scope, WorkerAssessment,
};
use gridwalk_core::{GridId, WorkerId};

use super::AppState;
use super::error::ApiFailure;
use super::extract::require;
use crate::assessment::{self, AssessError};
use crate::audit;
use crate::auth::Caller;
use crate::db::assessment::GridRecords;
use crate::scope::Action;

fn period(
    state: &AppState,
    query: Result<Query<AssessmentQuery>, QueryRejection>,
) -> Result<gridwalk_core::assessment::Period, ApiFailure> {
    let Query(q) = query.map_err(|r| {
        ApiFailure::bad_request(
            ErrorCode::InvalidRequest,
            format!("{} (from and to are days: YYYY-MM-DD)", r.body_text()),
        )
    })?;
    assessment::period(q.from, q.to, state.config().review.max_assessment_days)
        .map_err(|e| failure(e, &Scope::District))
}

/// Unknown and out-of-scope get the same answer below the district, as elsewhere in the API.
fn failure(e: AssessError, scope: &Scope) -> ApiFailure {
    match e {
        AssessError::Period(_) | AssessError::PeriodTooLong { .. } => {
            ApiFailure::bad_request(ErrorCode::InvalidRequest, e.to_string())
        }
        AssessError::UnknownWorker(_) | AssessError::UnknownGrid(_)
            if *scope == Scope::District =>
        {
            ApiFailure::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, e.to_string())
        }
        AssessError::UnknownWorker(w) => {
            ApiFailure::out_of_scope(format!("worker '{w}' is not in your scope"))
        }
        AssessError::UnknownGrid(g) => {
            ApiFailure::out_of_scope(format!("grid '{g}' is not in your scope"))
        }
        AssessError::Db(d) => d.into(),
    }
}

fn in_scope(caller: &Caller, g: &GridRecords) -> bool {
    caller
        .scope
        .contains_place(&g.grid.id, &g.grid.community, &g.grid.street)
}

pub async fn worker(
    State(state): State<AppState>,
    caller: Caller,
    Path(worker): Path<String>,
    query: Result<Query<AssessmentQuery>, QueryRejection>,
) -> Result<Json<WorkerAssessment>, ApiFailure> {
    require(&caller, Action::Assess)?;
    let period = period(&state, query)?;
    let fail = |e| failure(e, &caller.scope);
    let grid = assessment::worker_grid(state.db(), &worker)
        .await
        .map_err(fail)?;
    let records = assessment::grid_records(state.db(), &grid)
        .await
        .map_err(fail)?;
    if !in_scope(&caller, &records) {
        return Err(fail(AssessError::UnknownWorker(worker)));
    }
    let a = assessment::assess_on_grid(&WorkerId(worker), period, &records, state.policy());
    audit::personal_read(
        state.db(),
        &caller,
        "GET /v1/assessment/workers/{worker}",
        format!("worker {} grid {grid}", a.assessment.worker),
    )
    .await?;
    Ok(Json(a))
}

pub async fn grid(
    State(state): State<AppState>,
    caller: Caller,
    Path(grid): Path<String>,
    query: Result<Query<AssessmentQuery>, QueryRejection>,
) -> Result<Json<GridAssessment>, ApiFailure> {
    require(&caller, Action::Assess)?;
    let period = period(&state, query)?;
    let grid = GridId(grid);
    let fail = |e| failure(e, &caller.scope);
    let records = assessment::grid_records(state.db(), &grid)
        .await
        .map_err(fail)?;
    if !in_scope(&caller, &records) {
        return Err(fail(AssessError::UnknownGrid(grid)));
    }
    let a = assessment::assess_grid(period, &records, state.policy());
    let workers: Vec<&str> = a.workers.iter().map(|w| w.worker.as_str()).collect();
    audit::personal_read(
        state.db(),
        &caller,
        "GET /v1/assessment/grids/{grid}",
        format!("grid {grid} workers {}", workers.join(",")),
    )
    .await?;
    Ok(Json(a))
}
