use std::fmt;

use serde::{Deserialize, Serialize};

/// Stable machine-readable error codes of the API. Clients branch on these, never on messages;
/// a code, once shipped, keeps its meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not JSON, or not JSON of the expected shape (wrong type, missing field).
    InvalidJson,
    /// The body has a field the endpoint does not know.
    UnknownField,
    /// The body is larger than the endpoint's limit.
    BodyTooLarge,
    /// A query parameter or header is malformed.
    InvalidRequest,
    /// Unsupported `Content-Type` or `Content-Encoding`.
    UnsupportedMediaType,
    /// Wrong username or password (the same answer for both).
    InvalidCredentials,
    /// No bearer token, or one the server never issued.
    Unauthenticated,
    TokenExpired,
    TokenRevoked,
    /// The account's role may not use this endpoint.
    Forbidden,
    /// Outside the caller's scope. Said the same way whether the thing exists or not.
    OutOfScope,
    /// The request names a device other than the one the token was issued to.
    DeviceMismatch,
    NotFound,
    /// Push records are not in strictly increasing sequence order within the batch.
    SequenceOutOfOrder,
    /// The batch's first new record does not continue the device's sequence (records are missing).
    SequenceGap,
    /// A sequence number the device already used arrives with a different record.
    SequenceReplayed,
    /// More records in one push than the server accepts.
    BatchTooLarge,
    BadCursor,
    /// A photo upload for a hash none of the caller's records refer to.
    PhotoNotReferenced,
    /// A resumed upload does not start where the server's copy ends.
    OffsetMismatch,
    /// The uploaded bytes do not hash to the name they were uploaded under.
    HashMismatch,
    PhotoTooLarge,
    /// The event's lifecycle does not allow the requested status change.
    InvalidTransition,
    /// The server is shutting down or overloaded; retry later.
    Unavailable,
    Internal,
    /// The report's review is closed (approved, or replaced by a resubmission).
    ReviewClosed,
    /// A send-back needs a comment for the worker.
    CommentRequired,
    /// A code this client version does not know (sent by a newer server).
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::UnknownField => "unknown_field",
            ErrorCode::BodyTooLarge => "body_too_large",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::TokenRevoked => "token_revoked",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::OutOfScope => "out_of_scope",
            ErrorCode::DeviceMismatch => "device_mismatch",
            ErrorCode::NotFound => "not_found",
            ErrorCode::SequenceOutOfOrder => "sequence_out_of_order",
            ErrorCode::SequenceGap => "sequence_gap",
            ErrorCode::SequenceReplayed => "sequence_replayed",
            ErrorCode::BatchTooLarge => "batch_too_large",
            ErrorCode::BadCursor => "bad_cursor",
            ErrorCode::PhotoNotReferenced => "photo_not_referenced",
            ErrorCode::OffsetMismatch => "offset_mismatch",
            ErrorCode::HashMismatch => "hash_mismatch",
            ErrorCode::PhotoTooLarge => "photo_too_large",
            ErrorCode::InvalidTransition => "invalid_transition",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
            ErrorCode::ReviewClosed => "review_closed",
            ErrorCode::CommentRequired => "comment_required",
            ErrorCode::Unknown => "unknown",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every error answer: `{"code": "...", "message": "..."}`. Messages name the problem
/// for a human and never contain personal data or anything outside the caller's scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_their_names_and_unknown_codes_parse() {
        let e = ApiError::new(ErrorCode::SequenceGap, "expected 3");
        let json = serde_json::to_string(&e).expect("serializes");
        assert_eq!(json, r#"{"code":"sequence_gap","message":"expected 3"}"#);
        let back: ApiError = serde_json::from_str(r#"{"code":"added_in_v9","message":"x"}"#)
            .expect("unknown codes parse");
        assert_eq!(back.code, ErrorCode::Unknown);
        for code in [
            ErrorCode::InvalidJson,
            ErrorCode::OutOfScope,
            ErrorCode::TokenRevoked,
        ] {
            let s = serde_json::to_string(&code).expect("serializes");
            assert_eq!(s, format!("\"{}\"", code.as_str()));
        }
    }
}
