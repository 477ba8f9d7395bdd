//! Request extractors that answer bad input with JSON errors naming the problem.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use gridwalk_core::protocol::ErrorCode;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiFailure;
use crate::auth::{self, AuthError, Caller};
use crate::scope::{Action, allowed};

/// A JSON body parsed strictly: malformed JSON, wrong types, missing fields and unknown fields
/// (at any depth, including inside domain payloads) are refused with the path of the problem.
#[derive(Debug)]
pub struct StrictJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for StrictJson<T> {
    type Rejection = ApiFailure;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiFailure> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                let mime = ct.split(';').next().unwrap_or("").trim();
                mime.eq_ignore_ascii_case("application/json")
            });
        if !is_json {
            return Err(ApiFailure::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                "send the body as Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiFailure::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    ErrorCode::BodyTooLarge,
                    "request body is larger than the server accepts",
                )
            } else {
                ApiFailure::bad_request(
                    ErrorCode::InvalidRequest,
                    format!("could not read the request body: {}", r.body_text()),
                )
            }
        })?;
        parse_strict(&bytes).map(StrictJson)
    }
}

/// Parses JSON refusing unknown fields anywhere, reporting where the problem is.
pub fn parse_strict<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiFailure> {
    // Tracking the path of every value costs about half the parse time of a push; it is only
    // needed to say where a problem is. So: parse without it, and parse again with it only when
    // the first parse finds a problem (the answer is the same, its message names the place).
    // Checked once as a whole, the strings are then read without checking each; text that is not
    // UTF-8 goes the slow way, whose message says where.
    let Ok(text) = std::str::from_utf8(bytes) else {
        return parse_strict_tracked(bytes);
    };
    let mut json = serde_json::Deserializer::from_str(text);
    let mut clean = true;
    let value = serde_ignored::deserialize(&mut json, |_| clean = false);
    if let Ok(v) = value.and_then(|v| json.end().map(|()| v))
        && clean
    {
        return Ok(v);
    }
    parse_strict_tracked(bytes)
}

fn parse_strict_tracked<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiFailure> {
    let mut json = serde_json::Deserializer::from_slice(bytes);
    let mut track = serde_path_to_error::Track::new();
    let mut unknown: Vec<String> = Vec::new();
    let value = {
        let de = serde_path_to_error::Deserializer::new(&mut json, &mut track);
        serde_ignored::deserialize(de, |path| unknown.push(path.to_string()))
    };
    let value = value.and_then(|v| json.end().map(|()| v));
    match value {
        Ok(_) if !unknown.is_empty() => Err(ApiFailure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::UnknownField,
            format!("unknown field `{}`", unknown.join("`, `")),
        )),
        Ok(v) => Ok(v),
        Err(e) => {
            let path = track.path().to_string();
            let at = if path.is_empty() || path == "." {
                String::new()
            } else {
                format!(" at `{path}`")
            };
            if e.is_syntax() || e.is_eof() || e.is_io() {
                Err(ApiFailure::bad_request(
                    ErrorCode::InvalidJson,
                    format!("malformed JSON: {e}"),
                ))
            } else if e.to_string().starts_with("unknown field") {
                Err(ApiFailure::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorCode::UnknownField,
                    format!("{e}{at}"),
                ))
            } else {
                Err(ApiFailure::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorCode::InvalidJson,
                    format!("{e}{at}"),
                ))
            }
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiFailure;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiFailure> {
        // Already authenticated by the audit middleware (write requests).
        if let Some(c) = parts.extensions.get::<Caller>() {
            return Ok(c.clone());
        }
        let token = bearer_token(&parts.headers).ok_or(AuthError::MissingToken)?;
        Ok(auth::authenticate(state.db(), token, chrono::Utc::now()).await?)
    }
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Refuses a caller whose role may not perform `action`.
pub fn require(caller: &Caller, action: Action) -> Result<(), ApiFailure> {
    if allowed(caller.role, action) {
        Ok(())
    } else {
        Err(ApiFailure::forbidden(format!(
            "the {} role may not {}",
            caller.role.as_str(),
            action.describe()
        )))
    }
}
