//! The one place where internal errors become HTTP answers: always a 4xx/5xx with a JSON body
//! `{code, message}`. Internal details (SQL, file paths) are logged, never sent.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gridwalk_core::protocol::{ApiError, ErrorCode};

use crate::auth::AuthError;
use crate::db::{DbError, PushError};
use crate::photos::PhotoError;
use crate::sync::cursor::BadCursor;
use crate::sync::plan::SequenceError;

#[derive(Debug)]
pub struct ApiFailure {
    pub status: StatusCode,
    pub error: ApiError,
}

impl ApiFailure {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            error: ApiError::new(code, message),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message)
    }

    pub fn out_of_scope(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::OutOfScope, message)
    }

    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "internal error; nothing of this request was stored",
        )
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(self.error)).into_response();
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body was not read: this connection cannot carry another request.
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

impl From<DbError> for ApiFailure {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotMigrated { .. } | DbError::SchemaTooNew { .. } | DbError::Pool(_) => {
                tracing::error!(error = %e, "database unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::Unavailable,
                    "the database is unavailable; retry later",
                )
            }
            other => {
                tracing::error!(error = %other, "database error");
                Self::internal()
            }
        }
    }
}

impl From<AuthError> for ApiFailure {
    fn from(e: AuthError) -> Self {
        let status = StatusCode::UNAUTHORIZED;
        match e {
            AuthError::InvalidCredentials => {
                Self::new(status, ErrorCode::InvalidCredentials, e.to_string())
            }
            AuthError::MissingToken | AuthError::UnknownToken => {
                Self::new(status, ErrorCode::Unauthenticated, e.to_string())
            }
            AuthError::Expired(_) => Self::new(status, ErrorCode::TokenExpired, e.to_string()),
            AuthError::Revoked => Self::new(status, ErrorCode::TokenRevoked, e.to_string()),
            AuthError::BadUsername | AuthError::WeakPassword(_) => {
                Self::bad_request(ErrorCode::InvalidRequest, e.to_string())
            }
            AuthError::Db(db) => db.into(),
            AuthError::Hash(m) => {
                tracing::error!(error = %m, "password hashing");
                Self::internal()
            }
        }
    }
}

impl From<SequenceError> for ApiFailure {
    fn from(e: SequenceError) -> Self {
        let (status, code) = match e {
            SequenceError::OutOfOrder { .. } | SequenceError::OutOfRange { .. } => {
                (StatusCode::BAD_REQUEST, ErrorCode::SequenceOutOfOrder)
            }
            SequenceError::Gap { .. } => (StatusCode::CONFLICT, ErrorCode::SequenceGap),
            SequenceError::Replayed { .. } => (StatusCode::CONFLICT, ErrorCode::SequenceReplayed),
        };
        Self::new(status, code, e.to_string())
    }
}

impl From<PushError> for ApiFailure {
    fn from(e: PushError) -> Self {
        match e {
            PushError::Sequence(s) => s.into(),
            PushError::Db(d) => d.into(),
        }
    }
}

impl From<BadCursor> for ApiFailure {
    fn from(e: BadCursor) -> Self {
        Self::bad_request(ErrorCode::BadCursor, e.to_string())
    }
}

impl From<PhotoError> for ApiFailure {
    fn from(e: PhotoError) -> Self {
        match e {
            PhotoError::NotReferenced(_) => Self::new(
                StatusCode::NOT_FOUND,
                ErrorCode::PhotoNotReferenced,
                e.to_string(),
            ),
            PhotoError::OffsetMismatch { .. } => Self::new(
                StatusCode::CONFLICT,
                ErrorCode::OffsetMismatch,
                e.to_string(),
            ),
            PhotoError::TooLarge { .. } => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PhotoTooLarge,
                e.to_string(),
            ),
            PhotoError::HashMismatch { .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::HashMismatch,
                e.to_string(),
            ),
            PhotoError::Db(d) => d.into(),
            PhotoError::Io(_) | PhotoError::Task(_) => {
                tracing::error!(error = %e, "photo storage");
                Self::internal()
            }
        }
    }
}

/// The generic error for a status produced outside our handlers (unknown route, wrong method,
/// unsupported encoding, a layer's limit).
pub fn for_status(status: StatusCode) -> ApiFailure {
    let code = match status {
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::BodyTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::UNAUTHORIZED => ErrorCode::Unauthenticated,
        StatusCode::FORBIDDEN => ErrorCode::Forbidden,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::Unavailable,
        s if s.is_server_error() => ErrorCode::Internal,
        _ => ErrorCode::InvalidRequest,
    };
    let message = match status {
        StatusCode::NOT_FOUND => "no such endpoint; see /v1/openapi.json".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed on this endpoint".to_owned(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            "unsupported Content-Type or Content-Encoding (use application/json, optionally gzip)"
                .to_owned()
        }
        s => s.canonical_reason().unwrap_or("error").to_owned(),
    };
    ApiFailure::new(status, code, message)
}
