//! `GET /v1/lists/{list}`: the officer's lists over the caller's scope, as JSON pages or as whole
//! CSV / GeoJSON exports; `GET /v1/buildings/{code}/rating-history`.
//!
//! The green channel and the push-to-regulators list are the same query with the policy's other
//! thresholds ([`ListCriteria::for_list`]); every row also says whether it earns the green channel.
//! Contacts (personal data) are left out unless `contacts=true` is asked by a role allowed to read
//! them.

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use gridwalk_core::protocol::{
    ErrorCode, ListContacts, ListFormat, ListKind, ListPage, ListQuery, ListRow, RatingHistory,
    Scope,
};
use gridwalk_core::store::BuildingSummary;
use gridwalk_core::store::risk::ListCriteria;
use gridwalk_core::{Building, BuildingCode};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiFailure;
use super::extract::require;
use super::openapi::{AUTH_ERRORS, error_responses, ok, path_param, schema_ref};
use super::stream_body;
use crate::auth::Caller;
use crate::db::{AnyDb, Database, ListParams, ListRows};
use crate::export::Exporter;
use crate::scope::Action;

/// Rows per JSON page unless the caller asks otherwise, and at most.
const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 1_000;
/// Rows per database read while an export streams.
const EXPORT_PAGE: u32 = 2_000;

/// What one list request resolved to.
struct Request {
    kind: ListKind,
    on: NaiveDate,
    params: ListParams,
    green: ListCriteria,
    contacts: bool,
    format: ListFormat,
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, ApiFailure> {
    require(&caller, Action::ReadLists)?;
    let Query(q) =
        query.map_err(|r| ApiFailure::bad_request(ErrorCode::InvalidRequest, r.body_text()))?;
    let req = resolve(&state, &caller, &name, q)?;
    if req.format == ListFormat::Json {
        let rows = state.db().officer_list(req.params.clone()).await?;
        return Ok(Json(ListPage {
            list: req.kind,
            on: req.on,
            policy_version: state.rules().policy.version,
            rows: rows
                .buildings
                .into_iter()
                .map(|b| row(b, &req.green, req.contacts))
                .collect(),
            next_after: rows.next_after,
        })
        .into_response());
    }
    // The first page is read before answering, so a database that fails at once gets a proper
    // error answer rather than a cut-off 200.
    let first = state.db().officer_list(req.params.clone()).await?;
    Ok(export(state.db().clone(), req, first))
}

fn bad(message: impl Into<String>) -> ApiFailure {
    ApiFailure::bad_request(ErrorCode::InvalidRequest, message)
}

fn resolve(
    state: &AppState,
    caller: &Caller,
    name: &str,
    q: ListQuery,
) -> Result<Request, ApiFailure> {
    let kind = ListKind::parse(name).ok_or_else(|| {
        let known: Vec<&str> = ListKind::ALL.iter().map(|k| k.as_str()).collect();
        ApiFailure::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("no list '{name}'; the lists are: {}", known.join(", ")),
        )
    })?;
    for (what, v) in [("max_stars", q.max_stars), ("min_stars", q.min_stars)] {
        if v.is_some_and(|s| s > 5) {
            return Err(bad(format!("{what} must be 0 to 5")));
        }
    }
    let contacts = q.contacts.unwrap_or(false);
    if contacts {
        require(caller, Action::ReadContacts)?;
    }
    let format = q.format.unwrap_or_default();
    let limit = match (format, q.limit) {
        (ListFormat::Json, None) => DEFAULT_PAGE,
        (ListFormat::Json, Some(l)) if (1..=MAX_PAGE).contains(&l) => l,
        (ListFormat::Json, Some(_)) => return Err(bad(format!("limit must be 1 to {MAX_PAGE}"))),
        (_, None) if q.after.is_none() => EXPORT_PAGE,
        _ => {
            return Err(bad(
                "an export carries the whole list: limit and after page JSON lists only",
            ));
        }
    };
    let policy = &state.rules().policy;
    let on =
        q.on.unwrap_or_else(|| state.rules().today(chrono::Utc::now()));
    let mut criteria =
        ListCriteria::for_list(kind, &policy.lists, on).narrow_stars(q.min_stars, q.max_stars);
    if let Some(u) = q.include_unrated {
        criteria.include_unrated = u;
    }
    Ok(Request {
        kind,
        on,
        params: ListParams {
            scope: caller.scope.clone(),
            grid: q.grid,
            community: q.community,
            street: q.street,
            criteria,
            after: q.after,
            limit,
        },
        green: ListCriteria::for_list(ListKind::GreenChannel, &policy.lists, on),
        contacts,
        format,
    })
}

fn row(b: Building, green: &ListCriteria, contacts: bool) -> ListRow {
    let green_channel = green.matches(&b);
    let contacts = contacts.then(|| ListContacts {
        owner: b.owner.clone(),
        manager: b.manager.clone(),
        building_head: b.building_head.clone(),
    });
    ListRow {
        building: BuildingSummary {
            code: b.code,
            address: b.address,
            location: b.location,
            street: b.street,
            community: b.community,
            grid: b.grid,
            stars: b.stars,
            next_due_on: b.next_due_on,
            open_hazards: b.open_hazards,
            blacklisted: b.blacklisted,
            last_inspected_at: b.last_inspected_at,
        },
        green_channel,
        contacts,
    }
}

/// Streams the whole list page by page (memory stays a few pages whatever the list's length). A
/// failure half-way cuts the response (see [`stream_body`]), so a client never takes a partial file
/// for a whole one.
fn export(db: AnyDb, req: Request, first: ListRows) -> Response {
    let mut exporter = Exporter::new(req.format, req.contacts);
    let content_type = exporter.content_type();
    let filename = format!("{}-{}.{}", req.kind, req.on, exporter.extension());
    let (writer, body) = stream_body::channel();
    tokio::spawn(async move {
        let kind = req.kind;
        let outcome: Result<(), String> = async {
            let mut params = req.params;
            let head = exporter.head().map_err(|e| e.to_string())?;
            writer.send(head).await.map_err(|_| GONE.to_owned())?;
            let mut next = Some(first);
            loop {
                let page = match next.take() {
                    Some(p) => p,
                    None => db
                        .officer_list(params.clone())
                        .await
                        .map_err(|e| e.to_string())?,
                };
                let rows: Vec<ListRow> = page
                    .buildings
                    .into_iter()
                    .map(|b| row(b, &req.green, req.contacts))
                    .collect();
                let chunk = exporter.rows(&rows).map_err(|e| e.to_string())?;
                writer.send(chunk).await.map_err(|_| GONE.to_owned())?;
                match page.next_after {
                    Some(after) => params.after = Some(after),
                    None => break,
                }
            }
            writer
                .send(exporter.tail())
                .await
                .map_err(|_| GONE.to_owned())?;
            writer.complete().await;
            Ok(())
        }
        .await;
        match outcome {
            Ok(()) => {}
            Err(e) if e == GONE => tracing::info!(list = %kind, "export: the client went away"),
            Err(e) => tracing::error!(error = %e, list = %kind, "export failed half-way"),
        }
    });
    let mut resp = Response::new(Body::new(body));
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

const GONE: &str = "the client went away";

/// A building's rating history (oldest first), within the caller's scope; the same 403 whether
/// a building outside it exists or not.
pub async fn rating_history(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
) -> Result<Json<RatingHistory>, ApiFailure> {
    require(&caller, Action::ReadArchive)?;
    let code = BuildingCode::parse(&code)
        .map_err(|e| ApiFailure::bad_request(ErrorCode::InvalidRequest, e.to_string()))?;
    match state.db().building(&code).await? {
        Some(sb) if caller.scope.contains(&sb.building) => Ok(Json(RatingHistory {
            entries: state.db().rating_history(&code).await?,
            building: code,
        })),
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

/// The two routes' entries in the OpenAPI document.
pub(super) fn document_paths(doc: &mut Value) {
    let errors = |extra: &[(&'static str, &'static str)]| {
        let mut v = AUTH_ERRORS.to_vec();
        v.extend_from_slice(extra);
        error_responses(&v)
    };
    let with_ok = |mut responses: Value, ok_body: Value| {
        responses["200"] = ok_body;
        responses
    };
    let query = |name: &str, description: &str, schema: Value| json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema});
    let text = json!({"type": "string"});
    let stars = json!({"type": "integer", "minimum": 0, "maximum": 5});
    let list_names: Vec<&str> = ListKind::ALL.iter().map(|k| k.as_str()).collect();
    let list = json!({"get": {
        "summary": "An officer's list over the caller's scope (officer, supervisor, admin)",
        "description": "Riskiest first: stars ascending (unrated first), next due date, open hazards descending, code. What low-star, green-channel and push-to-regulators mean is the policy's (`lists`). format=json pages by `limit`/`after`; csv (RFC 4180, header row) and geojson (RFC 7946 FeatureCollection of Points in [lon, lat]) carry the whole list. Contacts (personal data) only with contacts=true and a role that may read them (officer, admin).",
        "parameters": [
            {"name": "list", "in": "path", "required": true, "schema": {"type": "string", "enum": list_names}},
            query("grid", "only this grid (within the scope)", text.clone()),
            query("community", "only this community (within the scope)", text.clone()),
            query("street", "only this street (within the scope)", text.clone()),
            query("max_stars", "at most this many stars", stars.clone()),
            query("min_stars", "at least this many stars", stars),
            query("include_unrated", "keep or drop unrated buildings (default: as the list says)", json!({"type": "boolean"})),
            query("on", "the day the list is for (default: today, district time)", json!({"type": "string", "format": "date"})),
            query("limit", "rows per JSON page (1-1000, default 100)", json!({"type": "integer"})),
            query("after", "the previous JSON page's next_after", text),
            query("format", "json (default), csv or geojson", json!({"type": "string", "enum": ["json", "csv", "geojson"]})),
            query("contacts", "add owners', managers' and building heads' contacts", json!({"type": "boolean"}))
        ],
        "responses": with_ok(
            errors(&[("400", "bad parameter (invalid_request)"), ("404", "no such list (not_found)")]),
            json!({"description": "a JSON page, or the whole list as CSV or GeoJSON", "content": {
                "application/json": {"schema": schema_ref("ListPage")},
                "text/csv": {"schema": {"type": "string"}},
                "application/geo+json": {"schema": {"type": "object"}}
            }})
        )
    }});
    let history = json!({"get": {
        "summary": "A building's rating history (oldest first), each rating with the rules that fired",
        "parameters": [path_param("code", "25-digit building code")],
        "responses": with_ok(
            errors(&[("400", "malformed code (invalid_request)"), ("404", "no such building (district scope only)")]),
            ok(schema_ref("RatingHistory"), "the server's ratings of the building")
        )
    }});
    doc["paths"]["/v1/lists/{list}"] = list;
    doc["paths"]["/v1/buildings/{code}/rating-history"] = history;
    doc["components"]["schemas"]["ListPage"] = json!({"type": "object", "properties": {
        "list": {"type": "string"}, "on": {"type": "string", "format": "date"},
        "policy_version": {"type": "integer"},
        "rows": {"type": "array", "items": {"type": "object"}},
        "next_after": {"type": "string"}}});
    doc["components"]["schemas"]["RatingHistory"] = json!({"type": "object", "properties": {
        "building": {"type": "string"},
        "entries": {"type": "array", "items": {"type": "object", "properties": {
            "rated_at": {"type": "string", "format": "date-time"},
            "rating": {"type": "object", "description": "the core Rating: stars, previous_stars, scores, basis, rules_fired (the explanation), policy_version"}}}}}});
}
