//! `GET /v1/notices?event=…` or `?building=…`: the notices about an event or a building in the
//! caller's scope, with their delivery state. Addressee contacts are personal data: only the
//! roles that act on notices (departments, admins) get them; everyone else sees them redacted.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use gridwalk_core::protocol::{ErrorCode, NoticeView};
use gridwalk_core::{BuildingCode, RecordId};
use serde::Deserialize;

use super::AppState;
use super::error::ApiFailure;
use super::events::acting_department;
use super::extract::require;
use crate::auth::Caller;
use crate::db::Database;
use crate::db::dispatch::{NoticeQuery, NoticeSubject};
use crate::scope::{Action, allowed};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticesQuery {
    event: Option<RecordId>,
    building: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    uri: axum::http::Uri,
    query: Result<Query<NoticesQuery>, QueryRejection>,
) -> Result<Json<Vec<NoticeView>>, ApiFailure> {
    require(&caller, Action::ReadNotices)?;
    let Query(q) =
        query.map_err(|r| ApiFailure::bad_request(ErrorCode::InvalidRequest, r.body_text()))?;
    let subject = match (q.event, q.building) {
        (Some(e), None) => NoticeSubject::Event(e),
        (None, Some(b)) => NoticeSubject::Building(
            BuildingCode::parse(&b)
                .map_err(|e| ApiFailure::bad_request(ErrorCode::InvalidRequest, e.to_string()))?,
        ),
        _ => {
            return Err(ApiFailure::bad_request(
                ErrorCode::InvalidRequest,
                "give exactly one of `event` or `building`",
            ));
        }
    };
    let department = acting_department(&state, &caller).await?;
    let mut notices = state
        .db()
        .notices(NoticeQuery {
            subject,
            scope: caller.scope.clone(),
            department,
        })
        .await?;
    if !allowed(caller.role, Action::ReadNoticeContacts) {
        for n in &mut notices {
            n.addressee = n.addressee.redacted();
        }
    } else if !notices.is_empty() {
        // Contacts leave the server: the read is audited before they are sent.
        crate::audit::personal_read(state.db(), &caller, "GET /v1/notices", uri.to_string())
            .await?;
    }
    Ok(Json(notices))
}
