//! What can stop a sync. Every variant leaves the archive consistent and resumable: nothing
//! recorded is lost, and the next `sync_now` continues where this one stopped.

use crate::protocol::{ApiError, ErrorCode};
use crate::store::StoreError;

use super::fail::FailPoint;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// No account on this phone yet.
    #[error("not logged in; log in to sync")]
    NotLoggedIn,
    /// The server refused the token (expired or revoked). Everything recorded stays on the phone
    /// and goes out after the next login.
    #[error("log in again: {reason}")]
    LoginRequired { reason: String },
    #[error("wrong username or password")]
    InvalidCredentials,
    /// No connection, or it broke, after every retry.
    #[error("no connection to the server: {message}")]
    Network { message: String },
    /// 5xx or 429 after every retry.
    #[error("the server is unavailable (HTTP {status}): {message}")]
    ServerUnavailable { status: u16, message: String },
    /// The server refused a whole request (4xx other than the login ones).
    #[error("the server refused the request (HTTP {status}): {error}")]
    Refused { status: u16, error: ApiError },
    /// The server answered something this client cannot read.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    /// A photo the server asked for cannot be read on the phone.
    #[error("photo {sha256} {message}")]
    PhotoFile { sha256: String, message: String },
    #[error("a sync is already running")]
    AlreadyRunning,
    #[error("the sync was cancelled")]
    Cancelled,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the HTTP client could not be set up: {0}")]
    Setup(String),
    #[error("an internal task failed: {0}")]
    Task(String),
    /// A simulated crash (test hook): the sync stopped dead at this point, doing no clean-up.
    #[error("simulated crash at {0:?}")]
    Killed(FailPoint),
}

impl SyncError {
    /// Whether waiting and trying again could help (the app's "retry later" vs "act now").
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SyncError::Network { .. } | SyncError::ServerUnavailable { .. }
        )
    }

    /// The server's error code, when the server sent one.
    pub fn api_code(&self) -> Option<ErrorCode> {
        match self {
            SyncError::Refused { error, .. } => Some(error.code),
            _ => None,
        }
    }
}
