//! The audit middleware (one row per write request) and the admins' audit query.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{MatchedPath, Query, Request, State};
use axum::http::{Method, Uri};
use axum::middleware::Next;
use axum::response::Response;
use gridwalk_core::protocol::{AuditPage, AuditQuery, ErrorCode};

use super::AppState;
use super::error::ApiFailure;
use super::extract::{bearer_token, require};
use crate::audit::{self, Actor};
use crate::auth::{self, Caller};
use crate::db::Database;
use crate::db::audit::{AuditFilter, NewAuditEntry};
use crate::scope::Action;

/// The audit row of the current write request, for a handler that appends it inside its own
/// transaction: then the row commits exactly when the write does — also when the client is gone
/// before the answer, which would drop this middleware before it logs — and costs no commit of its
/// own. The handler answers with [`AuditWritten`] so the middleware does not log it again.
#[derive(Debug, Clone)]
pub struct AuditRow {
    actor: Option<Actor>,
    action: String,
    target: String,
}

impl AuditRow {
    /// The row for this request answered with `status`.
    pub fn answered(&self, status: u16) -> NewAuditEntry {
        audit::entry(
            self.actor.as_ref(),
            self.action.clone(),
            self.target.clone(),
            false,
            status,
        )
    }
}

/// Marks an answer whose handler wrote its [`AuditRow`] with the write.
#[derive(Debug, Clone, Copy)]
pub struct AuditWritten;

/// Logs every write request (any method but GET, HEAD and OPTIONS) to a known route once the
/// handler has answered: who (from the bearer token, or the account that just logged in), the
/// route, the path with its ids, and the status. The caller found here is handed on to the
/// handler, so the token is looked up once. A failure to log is reported, not turned into a
/// failed answer: the write has happened by then.
pub async fn audit_writes(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let (true, Some(route)) = (
        !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS),
        route,
    ) else {
        return next.run(req).await;
    };
    let path = req.uri().path().to_owned();
    let caller = match bearer_token(req.headers()) {
        Some(t) => auth::authenticate(state.db(), t, chrono::Utc::now())
            .await
            .ok(),
        None => None,
    };
    if let Some(c) = &caller {
        req.extensions_mut().insert(c.clone());
    }
    let mut row = AuditRow {
        actor: caller.as_ref().map(Actor::from),
        action: format!("{method} {route}"),
        target: path,
    };
    req.extensions_mut().insert(row.clone());
    let resp = next.run(req).await;
    if resp.extensions().get::<AuditWritten>().is_some() {
        return resp;
    }
    if row.actor.is_none() {
        row.actor = resp.extensions().get::<Actor>().cloned();
    }
    if let Err(e) = state
        .db()
        .append_audit(row.answered(resp.status().as_u16()))
        .await
    {
        tracing::error!(error = %e, %method, %route, "audit row not written");
    }
    resp
}

pub async fn query(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<AuditPage>, ApiFailure> {
    require(&caller, Action::ReadAudit)?;
    let Query(q) = query.map_err(|r| {
        ApiFailure::bad_request(
            ErrorCode::InvalidRequest,
            format!("{} (from and to are RFC 3339 instants)", r.body_text()),
        )
    })?;
    let cfg = &state.config().review;
    let limit = q.limit.unwrap_or(cfg.default_audit_limit);
    if limit == 0 || limit > cfg.max_audit_limit {
        return Err(ApiFailure::bad_request(
            ErrorCode::InvalidRequest,
            format!("limit must be 1 to {}", cfg.max_audit_limit),
        ));
    }
    if let (Some(from), Some(to)) = (q.from, q.to)
        && to < from
    {
        return Err(ApiFailure::bad_request(
            ErrorCode::InvalidRequest,
            format!("to ({to}) is before from ({from})"),
        ));
    }
    let (entries, has_more) = state
        .db()
        .audit_log(AuditFilter {
            user: q.user,
            from: q.from,
            to: q.to,
            action: q.action,
            personal: q.personal,
            after_id: q.after.unwrap_or(0),
            limit,
        })
        .await?;
    // Logged after the page was read, so a page never holds the row of its own query.
    audit::personal_read(state.db(), &caller, "GET /v1/audit", uri.to_string()).await?;
    let next_after = if has_more {
        entries.last().map(|e| e.id)
    } else {
        None
    };
    Ok(Json(AuditPage {
        entries,
        has_more,
        next_after,
    }))
}
