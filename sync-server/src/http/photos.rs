//! Resumable, deduplicated photo uploads.
//!
//! `PUT /v1/photos/{sha256}?offset=N` appends the body to what the server holds, which must be
//! exactly `N` bytes (`GET …/status` says how many). When the size the record declared is
//! reached the hash is verified and the photo is stored. Only photos referred to by the caller's
//! own records can be uploaded, so no photo is ever stored without its record.

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gridwalk_core::Sha256Hex;
use gridwalk_core::protocol::{ErrorCode, PhotoStatus};
use http_body_util::BodyExt;
use serde::Deserialize;

use super::AppState;
use super::error::ApiFailure;
use super::extract::require;
use crate::auth::Caller;
use crate::db::Database;
use crate::photos::PhotoError;
use crate::scope::Action;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// Where this body starts in the photo; must equal the bytes already received.
    #[serde(default)]
    offset: u64,
}

fn parse_sha(s: &str) -> Result<Sha256Hex, ApiFailure> {
    Sha256Hex::parse(s)
        .map_err(|e| ApiFailure::bad_request(ErrorCode::InvalidRequest, e.to_string()))
}

/// Whether the photo is stored; repairs the index if a crash came between moving the file into
/// place and recording it.
async fn is_stored(state: &AppState, sha: &Sha256Hex, size: u64) -> Result<bool, ApiFailure> {
    if state.db().photo_stored(sha).await? {
        return Ok(true);
    }
    if state.photos().is_complete(sha).await? {
        state.db().mark_photo_stored(sha, size).await?;
        return Ok(true);
    }
    Ok(false)
}

async fn declared_size(
    state: &AppState,
    caller: &Caller,
    sha: &Sha256Hex,
) -> Result<u64, ApiFailure> {
    Ok(state
        .db()
        .photo_declared_size(sha, &caller.username)
        .await?
        .ok_or_else(|| PhotoError::NotReferenced(sha.clone()))?)
}

pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Path(sha): Path<String>,
) -> Result<Json<PhotoStatus>, ApiFailure> {
    require(&caller, Action::Push)?;
    let sha = parse_sha(&sha)?;
    let size = declared_size(&state, &caller, &sha).await?;
    let mut complete = is_stored(&state, &sha, size).await?;
    let mut received = if complete {
        size
    } else {
        state.photos().received(&sha).await?
    };
    if !complete && received == size {
        received = finish_stranded(&state, &sha, size).await?;
        complete = received == size;
    }
    Ok(Json(PhotoStatus {
        sha256: sha,
        size_bytes: size,
        received_bytes: received,
        complete,
    }))
}

/// A server killed between a photo's last chunk and its verification leaves a partial file of
/// full size that no upload would touch again (the phone has nothing left to send): verify and
/// store it now, or, if it is damaged, discard it so that the upload starts over. Returns the
/// bytes the server then holds.
async fn finish_stranded(state: &AppState, sha: &Sha256Hex, size: u64) -> Result<u64, ApiFailure> {
    let guard = state.photos().lock(sha).await;
    let result = async {
        if is_stored(state, sha, size).await? {
            return Ok(size);
        }
        let received = state.photos().received(sha).await?;
        if received != size {
            return Ok(received);
        }
        match state.photos().finish(sha).await {
            Ok(()) => {
                state.db().mark_photo_stored(sha, size).await?;
                Ok(size)
            }
            // `finish` removed the damaged file.
            Err(PhotoError::HashMismatch { .. }) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }
    .await;
    drop(guard);
    state.photos().release(sha);
    result
}

pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Path(sha): Path<String>,
    query: Result<Query<UploadQuery>, QueryRejection>,
    body: Body,
) -> Response {
    let mut body_read = false;
    let result = upload_checked(&state, &caller, &sha, query, body, &mut body_read).await;
    let mut resp = match result {
        Ok(status) => {
            tracing::info!(user = %caller.username, sha = %status.sha256,
                received = status.received_bytes, complete = status.complete, "photo upload");
            Json(status).into_response()
        }
        Err(e) => e.into_response(),
    };
    if !body_read {
        // Answered without reading the body (already stored, or refused): the unread bytes make
        // this connection unusable for a next request.
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

async fn upload_checked(
    state: &AppState,
    caller: &Caller,
    sha: &str,
    query: Result<Query<UploadQuery>, QueryRejection>,
    body: Body,
    body_read: &mut bool,
) -> Result<PhotoStatus, ApiFailure> {
    require(caller, Action::Push)?;
    let sha = parse_sha(sha)?;
    let Query(q) =
        query.map_err(|r| ApiFailure::bad_request(ErrorCode::InvalidRequest, r.body_text()))?;
    let size = declared_size(state, caller, &sha).await?;
    let guard = state.photos().lock(&sha).await;
    let result = upload_locked(state, &sha, size, q.offset, body, body_read).await;
    drop(guard);
    state.photos().release(&sha);
    result
}

async fn upload_locked(
    state: &AppState,
    sha: &Sha256Hex,
    size: u64,
    offset: u64,
    mut body: Body,
    body_read: &mut bool,
) -> Result<PhotoStatus, ApiFailure> {
    let store = state.photos();
    let done = |received| PhotoStatus {
        sha256: sha.clone(),
        size_bytes: size,
        received_bytes: received,
        complete: received == size,
    };
    // Already stored (by this device earlier, or another record with the same picture).
    if is_stored(state, sha, size).await? {
        return Ok(done(size));
    }
    let mut received = store.received(sha).await?;
    if offset != received {
        return Err(PhotoError::OffsetMismatch { received, offset }.into());
    }
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                // The client went away mid-transfer: what arrived is kept for the resume.
                tracing::info!(sha = %sha, received, error = %e, "photo upload interrupted");
                return Err(ApiFailure::bad_request(
                    ErrorCode::InvalidRequest,
                    format!("upload interrupted after {received} bytes; resume at that offset"),
                ));
            }
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let got = received + data.len() as u64;
        if got > size {
            store.discard(sha).await?;
            return Err(PhotoError::TooLarge {
                declared: size,
                got,
            }
            .into());
        }
        store.append(sha, data).await?;
        received = got;
    }
    *body_read = true;
    if received == size {
        store.finish(sha).await?;
        state.db().mark_photo_stored(sha, size).await?;
    }
    Ok(done(received))
}

fn sniff_content_type(bytes: &[u8]) -> &'static str {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => "image/jpeg",
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => "image/webp",
        _ => "application/octet-stream",
    }
}

/// A stored photo, to callers whose scope holds a record that refers to it.
pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path(sha): Path<String>,
) -> Result<Response, ApiFailure> {
    require(&caller, Action::ReadArchive)?;
    let sha = parse_sha(&sha)?;
    if !state.db().photo_visible(&sha, &caller.scope).await? {
        return Err(ApiFailure::out_of_scope(format!(
            "photo {sha} is not in your scope"
        )));
    }
    if !state.db().photo_stored(&sha).await? {
        return Err(ApiFailure::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("photo {sha} has not been uploaded yet"),
        ));
    }
    let bytes = state.photos().read(&sha).await?;
    let content_type = sniff_content_type(&bytes);
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{sha}\"")) {
        h.insert(header::ETAG, etag);
    }
    Ok(resp)
}
