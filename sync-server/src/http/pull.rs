use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gridwalk_core::protocol::{ErrorCode, NEXT_PAGE_HEADER, PullQuery, PullResponse};

use super::AppState;
use super::error::ApiFailure;
use super::extract::require;
use crate::auth::Caller;
use crate::db::{ChangeJson, Database, PullParams};
use crate::scope::Action;
use crate::sync::cursor::{self, Start};

pub async fn pull(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    query: Result<Query<PullQuery>, QueryRejection>,
) -> Result<Response, ApiFailure> {
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
        .pull_json(PullParams {
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
        .filter(|(_, c)| matches!(c, ChangeJson::Building { .. }))
        .count();
    let audit = async {
        if files > 0 {
            let target = format!("{files} building files, changes {after_seq}..{next}");
            crate::audit::personal_read(state.db(), &caller, "GET /v1/sync/pull", target).await?;
        }
        Ok::<_, ApiFailure>(())
    };
    // The audit entry is written (durably) while the photo list is read; both before answering.
    let (audited, missing_photos) = tokio::join!(audit, state.db().missing_photos(&caller.device));
    audited?;
    let missing_photos = missing_photos?;
    let rest = PullResponse {
        next_cursor: cursor::encode(next, state.server_id(), &caller.scope),
        has_more: page.has_more,
        reset: start == Start::Reset,
        catalog_version: state.catalog().version,
        policy_version: cfg.policy_version,
        missing_photos,
        changes: Vec::new(),
    };
    // The next page's cursor goes in a header too, so the phone can ask for that page before
    // this body has arrived (`NEXT_PAGE_HEADER`).
    let next_page = if page.has_more {
        HeaderValue::from_str(rest.next_cursor.as_str()).ok()
    } else {
        None
    };
    let body = page_body(&page.changes, &rest)?;
    let mut response = if accepts_gzip(&headers) {
        let level = cfg.response_gzip_level;
        let gz = tokio::task::spawn_blocking(move || gzip(&body, level))
            .await
            .map_err(|e| internal(e.to_string()))??;
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
                (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
                (header::VARY, HeaderValue::from_static("accept-encoding")),
            ],
            gz,
        )
            .into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    };
    if let Some(cursor) = next_page {
        response.headers_mut().insert(NEXT_PAGE_HEADER, cursor);
    }
    Ok(response)
}

/// Whether the caller takes a gzip answer (`Accept-Encoding` lists gzip with a weight above 0).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            parts.next().is_some_and(|c| c.eq_ignore_ascii_case("gzip"))
                && parts.all(|p| {
                    let p = p.replace(' ', "");
                    p.strip_prefix("q=")
                        .is_none_or(|q| q.parse::<f32>().is_ok_and(|q| q > 0.0))
                })
        })
}

/// A page is compressed here, off the async threads and in one piece, rather than by the
/// compression layer, which deflates the 3 MB body in small streamed chunks on a runtime thread.
fn gzip(body: &[u8], level: u32) -> Result<Vec<u8>, ApiFailure> {
    use std::io::Write as _;
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 6 + 64),
        flate2::Compression::new(level.min(9)),
    );
    enc.write_all(body)
        .and_then(|()| enc.finish())
        .map_err(|e| internal(format!("compressing a pull page: {e}")))
}

fn internal(message: String) -> ApiFailure {
    tracing::error!(error = %message, "writing a pull page failed");
    ApiFailure::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::Internal,
        "internal error",
    )
}

/// The pull answer: the JSON `rest` (a [`PullResponse`] without changes) serializes to, with
/// `changes` filled in — building files copied as stored, other changes serialized.
fn page_body(changes: &[(u64, ChangeJson)], rest: &PullResponse) -> Result<Vec<u8>, ApiFailure> {
    const HEAD: &str = r#"{"changes":["#;
    const BUILDING: &str = r#"{"type":"building","building":"#;
    const RATING: &str = r#","rating":"#;
    let rest = serde_json::to_string(rest).map_err(|e| internal(e.to_string()))?;
    // `changes` is the first field of `PullResponse`, so its JSON starts with an empty list.
    let tail = rest
        .strip_prefix(HEAD)
        .and_then(|t| t.strip_prefix(']'))
        .ok_or_else(|| internal("the pull answer no longer starts with its changes".into()))?;
    let files: usize = changes
        .iter()
        .map(|(_, c)| match c {
            ChangeJson::Building { data, rating } => {
                BUILDING.len()
                    + data.len()
                    + rating.as_ref().map_or(0, |r| RATING.len() + r.len())
                    + 2
            }
            ChangeJson::Other(_) => 256,
        })
        .sum();
    let mut out = Vec::with_capacity(HEAD.len() + files + tail.len() + 1);
    out.extend_from_slice(HEAD.as_bytes());
    for (i, (_, change)) in changes.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match change {
            ChangeJson::Building { data, rating } => {
                out.extend_from_slice(BUILDING.as_bytes());
                out.extend_from_slice(data.as_bytes());
                if let Some(r) = rating {
                    out.extend_from_slice(RATING.as_bytes());
                    out.extend_from_slice(r.as_bytes());
                }
                out.push(b'}');
            }
            ChangeJson::Other(c) => {
                serde_json::to_writer(&mut out, c).map_err(|e| internal(e.to_string()))?;
            }
        }
    }
    out.push(b']');
    out.extend_from_slice(tail.as_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use gridwalk_core::protocol::{
        Change, Cursor, RatingEntry, ReviewDecision, ReviewOutcome, TombstoneReason,
    };
    use gridwalk_core::{Catalog, Policy, RecordId, Sha256Hex, WorkerId};

    use super::*;
    use crate::db::codec::building_json;
    use crate::db::rating_codec::entry_json;
    use crate::fixtures::{self, DistrictShape};

    #[test]
    fn gzip_is_used_only_when_the_caller_takes_it() {
        let with = |values: &[&str]| {
            let mut h = HeaderMap::new();
            for v in values {
                h.append(
                    header::ACCEPT_ENCODING,
                    HeaderValue::from_str(v).expect("header"),
                );
            }
            accepts_gzip(&h)
        };
        assert!(with(&["gzip"]));
        assert!(with(&["br, GZIP;q=0.5"]));
        assert!(with(&["identity", "deflate, gzip"]));
        assert!(!with(&[]));
        assert!(!with(&["identity"]));
        assert!(!with(&["gzip;q=0"]));
        assert!(!with(&["gzip; q = 0, br"]));
        assert!(!with(&["gzip;q=0.000"]));
        assert!(!with(&["x-gzip"]));
        let page = br#"{"changes":[],"has_more":false}"#.repeat(50);
        let gz = gzip(&page, 2).expect("compresses");
        assert!(gz.len() < page.len() / 5);
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut back)
            .expect("gunzips");
        assert_eq!(back, page);
    }

    #[test]
    fn the_written_page_is_the_typed_page() {
        let (_, buildings) = fixtures::district(DistrictShape::SMALL);
        let rated_at = chrono::DateTime::from_timestamp(1_750_000_000, 0).expect("valid");
        let entry = RatingEntry {
            rated_at,
            rating: gridwalk_core::rating::rate_building(
                &buildings[1],
                &[],
                &[],
                None,
                &Catalog::default_catalog().expect("catalog"),
                &Policy::default_policy().expect("policy"),
                rated_at.date_naive(),
            ),
        };
        let review = Change::Review {
            outcome: ReviewOutcome {
                record: RecordId::new(),
                decision: ReviewDecision::SentBack,
                comment: "\"楼栋\" photo missing\n".into(),
                reviewer: WorkerId::from("supervisor-S01"),
                reviewed_at: chrono::DateTime::from_timestamp(1_750_000_000, 0).expect("valid"),
            },
        };
        let tomb = Change::Tombstone {
            code: buildings[2].code.clone(),
            reason: TombstoneReason::Reassigned,
        };
        let stored = vec![
            (
                1,
                ChangeJson::Building {
                    data: building_json(&buildings[0]).expect("json"),
                    rating: None,
                },
            ),
            (2, ChangeJson::Other(review.clone())),
            (
                3,
                ChangeJson::Building {
                    data: building_json(&buildings[1]).expect("json"),
                    rating: Some(entry_json(&entry).expect("json")),
                },
            ),
            (4, ChangeJson::Other(tomb.clone())),
        ];
        let typed = PullResponse {
            changes: vec![
                Change::Building {
                    building: Box::new(buildings[0].clone()),
                    rating: None,
                },
                review,
                Change::Building {
                    building: Box::new(buildings[1].clone()),
                    rating: Some(Box::new(entry)),
                },
                tomb,
            ],
            next_cursor: Cursor("c-42".into()),
            has_more: true,
            reset: false,
            catalog_version: 3,
            policy_version: 7,
            missing_photos: vec![Sha256Hex::of_bytes(b"photo")],
        };
        let rest = PullResponse {
            changes: Vec::new(),
            ..typed.clone()
        };
        let body = page_body(&stored, &rest).expect("writes");
        let written: serde_json::Value = serde_json::from_slice(&body).expect("valid JSON");
        assert_eq!(written, serde_json::to_value(&typed).expect("json"));
        let read: PullResponse = serde_json::from_slice(&body).expect("reads");
        assert_eq!(read, typed);

        let empty = page_body(&[], &rest).expect("writes");
        let read: PullResponse = serde_json::from_slice(&empty).expect("reads");
        assert!(read.changes.is_empty() && read.has_more);
    }
}
