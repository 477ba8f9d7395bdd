//! The one error the apps see. Every core error becomes a [`GridwalkError`] here and nowhere else,
//! so the foreign side has a small, stable set of cases to handle (Kotlin `GridwalkException.*`,
//! Swift `GridwalkError.*`, Python `GridwalkError.*`).
//!
//! Each case carries a `detail` string (not `message`: Kotlin exceptions already have a `message`
//! property, and uniffi's generated Kotlin cannot have both).
//!
//! Details come from the core's error texts, which name codes, ids, limits and hashes, never a
//! person's name or phone number (the core guarantees this; contacts never appear in errors).

use gridwalk_core::store::StoreError;
#[cfg(feature = "sync")]
use gridwalk_core::sync::SyncError;
use gridwalk_core::synth::SynthError;
use gridwalk_core::{BuildingCodeError, CatalogError, PolicyError, ValidationError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum GridwalkError {
    /// The caller passed something the core refuses (a malformed building code, an out-of-range
    /// coordinate, an unknown checklist item…). Fix the input; retrying will not help.
    #[error("invalid input: {detail}")]
    InvalidInput { detail: String },
    /// The thing asked for does not exist (a grid, a building, a record).
    #[error("not found: {detail}")]
    NotFound { detail: String },
    /// The archive cannot be read with this key: wrong key, a key missing for an encrypted archive,
    /// or a file that is not an archive. SQLCipher cannot tell these apart.
    #[error("the archive cannot be read (wrong key, or not an archive)")]
    NotReadable,
    /// Stopped by `interrupt()`; nothing was written.
    #[error("interrupted; nothing was written")]
    Interrupted,
    /// The device storage is full; nothing was written. Ask the worker to free space.
    #[error("device storage is full; nothing was written")]
    DiskFull,
    /// The archive failed in a way the caller cannot fix (damaged file, I/O error, an archive from a
    /// newer app version…). Report it.
    #[error("storage error: {detail}")]
    Storage { detail: String },
    /// No account on this phone yet: show the login screen.
    #[error("not logged in; log in to sync")]
    NotLoggedIn,
    /// The server refused the token (expired or revoked): show "log in again". Everything
    /// recorded stays on the phone and goes out after the next login.
    #[error("log in again: {detail}")]
    LoginRequired { detail: String },
    /// The server refused this username and password.
    #[error("wrong username or password")]
    WrongCredentials,
    /// No connection, or the server is unavailable, after every retry. Try again later; nothing
    /// recorded is lost.
    #[error("no connection to the server: {detail}")]
    Network { detail: String },
    /// The server refused the request or answered something this app cannot read; retrying the
    /// same thing will not help (update the app, or report it).
    #[error("the server refused the request: {detail}")]
    Rejected { detail: String },
    /// Another worker's records still wait on this phone: they can only be sent under that
    /// worker's account, so that worker must log in and sync first.
    #[error("records of another worker still wait to be synced; that worker must sync first")]
    OtherWorkerUnsynced,
    /// A sync is already running (another thread started it).
    #[error("a sync is already running")]
    SyncRunning,
    /// Stopped by `cancel_sync()`; what was sent so far stays sent and the next sync continues.
    #[error("the sync was cancelled")]
    SyncCancelled,
}

impl GridwalkError {
    pub(crate) fn not_found(detail: impl Into<String>) -> Self {
        Self::NotFound {
            detail: detail.into(),
        }
    }

    pub(crate) fn storage(detail: impl Into<String>) -> Self {
        Self::Storage {
            detail: detail.into(),
        }
    }

    pub(crate) fn invalid(detail: impl Into<String>) -> Self {
        Self::InvalidInput {
            detail: detail.into(),
        }
    }
}

impl From<BuildingCodeError> for GridwalkError {
    fn from(e: BuildingCodeError) -> Self {
        Self::invalid(e.to_string())
    }
}

impl From<ValidationError> for GridwalkError {
    fn from(e: ValidationError) -> Self {
        Self::invalid(e.to_string())
    }
}

impl From<CatalogError> for GridwalkError {
    fn from(e: CatalogError) -> Self {
        Self::invalid(e.to_string())
    }
}

impl From<SynthError> for GridwalkError {
    fn from(e: SynthError) -> Self {
        Self::invalid(e.to_string())
    }
}

impl From<PolicyError> for GridwalkError {
    fn from(e: PolicyError) -> Self {
        Self::invalid(e.to_string())
    }
}

impl From<StoreError> for GridwalkError {
    fn from(e: StoreError) -> Self {
        use StoreError as S;
        // No wildcard: a new store error must be placed here deliberately.
        match e {
            S::NotReadable => Self::NotReadable,
            S::Interrupted => Self::Interrupted,
            S::DiskFull => Self::DiskFull,
            S::UnknownRecord(_) => Self::not_found(e.to_string()),
            S::EmptyKey
            | S::EncryptionUnavailable
            | S::Validation(_)
            | S::Catalog(_)
            | S::Transition(_)
            | S::MissingPhoto(_)
            | S::PhotoMismatch(_)
            | S::PhotoTooLarge { .. }
            | S::PhotoTooManyPixels { .. }
            | S::NotAnImage
            | S::DuplicateRecord(_)
            | S::UnknownGrid { .. }
            | S::GridInUse(_)
            | S::BadPageLimit { .. } => Self::invalid(e.to_string()),
            // The username stays out of the message: the case says what to do.
            S::UnsyncedRecordsOfAnotherWorker { .. } => Self::OtherWorkerUnsynced,
            // The server's answer does not match what was sent: not fixable on the phone.
            S::PushAnswerMismatch { .. } | S::PushNumbersExhausted { .. } => Self::Rejected {
                detail: e.to_string(),
            },
            S::NewerSchema { .. } | S::Corrupt(_) | S::Json(_) | S::Io { .. } | S::Sqlite(_) => {
                Self::storage(e.to_string())
            }
        }
    }
}

#[cfg(feature = "sync")]
impl From<SyncError> for GridwalkError {
    fn from(e: SyncError) -> Self {
        use SyncError as E;
        // No wildcard: a new sync error must be placed here deliberately.
        match e {
            E::NotLoggedIn => Self::NotLoggedIn,
            E::LoginRequired { reason } => Self::LoginRequired { detail: reason },
            E::InvalidCredentials => Self::WrongCredentials,
            E::Network { .. } | E::ServerUnavailable { .. } => Self::Network {
                detail: e.to_string(),
            },
            E::Refused { .. } | E::Protocol(_) => Self::Rejected {
                detail: e.to_string(),
            },
            E::AlreadyRunning => Self::SyncRunning,
            E::Cancelled => Self::SyncCancelled,
            E::Store(s) => s.into(),
            E::PhotoFile { .. } | E::Setup(_) | E::Task(_) | E::Killed(_) => {
                Self::storage(e.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridwalk_core::{BuildingCode, RecordId, Sha256Hex};

    #[test]
    fn store_errors_map_to_the_cases_an_app_acts_on() {
        assert_eq!(
            GridwalkError::from(StoreError::NotReadable),
            GridwalkError::NotReadable
        );
        assert_eq!(
            GridwalkError::from(StoreError::DiskFull),
            GridwalkError::DiskFull
        );
        assert_eq!(
            GridwalkError::from(StoreError::Interrupted),
            GridwalkError::Interrupted
        );
        let id = RecordId::new();
        assert_eq!(
            GridwalkError::from(StoreError::UnknownRecord(id)),
            GridwalkError::NotFound {
                detail: format!("record {id} is not in the archive")
            }
        );
        let photo = Sha256Hex::of_bytes(b"x");
        assert!(matches!(
            GridwalkError::from(StoreError::MissingPhoto(photo)),
            GridwalkError::InvalidInput { .. }
        ));
        assert!(matches!(
            GridwalkError::from(StoreError::NewerSchema {
                found: 9,
                supported: 3
            }),
            GridwalkError::Storage { detail } if detail.contains("update the app")
        ));
    }

    #[cfg(feature = "sync")]
    #[test]
    fn sync_errors_map_to_what_the_app_shows() {
        assert_eq!(
            GridwalkError::from(SyncError::LoginRequired {
                reason: "the login has expired".into()
            }),
            GridwalkError::LoginRequired {
                detail: "the login has expired".into()
            }
        );
        assert_eq!(
            GridwalkError::from(SyncError::InvalidCredentials),
            GridwalkError::WrongCredentials
        );
        assert_eq!(
            GridwalkError::from(SyncError::Network {
                message: "connection refused".into()
            }),
            GridwalkError::Network {
                detail: "no connection to the server: connection refused".into()
            }
        );
        assert_eq!(
            GridwalkError::from(SyncError::Store(StoreError::DiskFull)),
            GridwalkError::DiskFull
        );
        let other = GridwalkError::from(StoreError::UnsyncedRecordsOfAnotherWorker {
            worker: "w-S01C01G001".into(),
        });
        assert_eq!(other, GridwalkError::OtherWorkerUnsynced);
        assert!(!other.to_string().contains("w-S01C01G001"));
        assert!(matches!(
            GridwalkError::from(StoreError::PushAnswerMismatch { push_seq: 4 }),
            GridwalkError::Rejected { detail } if detail.contains("push number 4")
        ));
        assert!(matches!(
            GridwalkError::from(StoreError::PushNumbersExhausted { server_last: 9 }),
            GridwalkError::Rejected { detail } if detail.contains("push numbers up to 9")
        ));
    }

    #[test]
    fn a_bad_code_names_the_problem_not_the_input() {
        let e = GridwalkError::from(BuildingCode::parse("1234").expect_err("too short"));
        assert_eq!(
            e,
            GridwalkError::InvalidInput {
                detail: "building code must have exactly 25 digits, got 4 characters".into()
            }
        );
    }
}
