use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{Duration, Utc};
use gridwalk_core::protocol::{LoginRequest, LoginResponse, UserInfo};

use super::AppState;
use super::error::ApiFailure;
use super::extract::{StrictJson, require};
use crate::audit::Actor;
use crate::auth::{self, Caller};
use crate::db::Database;
use crate::scope::Action;

pub async fn login(
    State(state): State<AppState>,
    StrictJson(req): StrictJson<LoginRequest>,
) -> Result<(Extension<Actor>, Json<LoginResponse>), ApiFailure> {
    // The config caps the lifetime (see `ServerConfig::validate`), so this is always in range.
    let ttl = i64::try_from(state.config().token_ttl_secs)
        .ok()
        .and_then(Duration::try_seconds)
        .unwrap_or(Duration::days(1));
    let username = req.username.clone();
    let device = req.device_id.clone();
    let resp = auth::login(state.db(), state.passwords(), req, ttl, Utc::now())
        .await
        .inspect_err(|e| tracing::info!(%username, %device, error = %e, "login refused"))?;
    tracing::info!(%username, %device, "login");
    // The audit row of this login names the account that logged in.
    let actor = Actor {
        username: resp.user.username.clone(),
        device,
        role: resp.user.role,
        scope: resp.user.scope.clone(),
    };
    Ok((Extension(actor), Json(resp)))
}

pub async fn logout(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<StatusCode, ApiFailure> {
    state
        .db()
        .revoke_session(&caller.token_hash, Utc::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn me(caller: Caller) -> Json<UserInfo> {
    Json(UserInfo {
        username: caller.username,
        role: caller.role,
        scope: caller.scope,
    })
}

pub async fn revoke_user_tokens(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> Result<Json<serde_json::Value>, ApiFailure> {
    require(&caller, Action::ManageAccounts)?;
    let revoked = state
        .db()
        .revoke_user_sessions(&username, Utc::now())
        .await?;
    tracing::info!(admin = %caller.username, %username, revoked, "tokens revoked");
    Ok(Json(
        serde_json::json!({ "username": username, "revoked": revoked }),
    ))
}
