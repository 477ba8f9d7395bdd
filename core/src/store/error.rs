//! What can go wrong with the on-device archive. Messages never carry personal data (names, phones):
//! they name codes, ids and hashes only.

use rusqlite::ErrorCode;

use crate::catalog::CatalogError;
use crate::domain::{BuildingCode, GridId, RecordId, Sha256Hex, TransitionError, ValidationError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLCipher and plain SQLite both report a wrong key, a missing key and a foreign file as
    /// "file is not a database"; they cannot be told apart, so one error covers them.
    #[error("archive is encrypted or the key is wrong (or the file is not an archive)")]
    NotReadable,
    #[error("the encryption key is empty")]
    EmptyKey,
    #[error(
        "an encryption key was given but this build has no encryption support (feature `encryption`)"
    )]
    EncryptionUnavailable,
    #[error(
        "archive schema version {found} is newer than this app understands ({supported}); update the app"
    )]
    NewerSchema { found: i64, supported: i64 },
    #[error("the operation was interrupted; nothing was written")]
    Interrupted,
    #[error("the device storage is full; nothing was written")]
    DiskFull,

    #[error(transparent)]
    Validation(#[from] ValidationError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Transition(#[from] TransitionError),

    #[error("photo {0} is not in the archive; add it before recording")]
    MissingPhoto(Sha256Hex),
    #[error("photo {0} is in the archive with a different size or dimensions")]
    PhotoMismatch(Sha256Hex),
    #[error("photo is {size_bytes} bytes, more than the {max_bytes} byte limit")]
    PhotoTooLarge { size_bytes: u64, max_bytes: u64 },
    #[error("photo is {width}x{height} px; its long edge exceeds the {max_long_edge_px} px limit")]
    PhotoTooManyPixels {
        width: u32,
        height: u32,
        max_long_edge_px: u32,
    },
    #[error("the bytes are not an image in a known format")]
    NotAnImage,

    #[error("record {0} already exists; edits go through update_inspection / update_event")]
    DuplicateRecord(RecordId),
    #[error("record {0} is not in the archive")]
    UnknownRecord(RecordId),
    #[error("building {building} refers to grid {grid}, which is not in the archive")]
    UnknownGrid {
        building: BuildingCode,
        grid: GridId,
    },
    #[error("grid {0} still has buildings in the archive")]
    GridInUse(GridId),

    #[error(
        "records of worker '{worker}' are not synced yet; log in as '{worker}' and sync them first"
    )]
    UnsyncedRecordsOfAnotherWorker { worker: String },
    #[error("the server's answer names another record under push number {push_seq}")]
    PushAnswerMismatch { push_seq: u64 },
    /// A login's server holds push numbers for this device so high that the records waiting on
    /// the phone cannot be numbered after them (a broken or foreign server).
    #[error(
        "the server reports push numbers up to {server_last} for this device; the records waiting \
         on the phone cannot be numbered after them"
    )]
    PushNumbersExhausted { server_last: u64 },
    #[error("page limit must be 1..={max}, got {got}")]
    BadPageLimit { got: u32, max: u32 },

    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    #[error("JSON encoding failed: {0}")]
    Json(#[from] serde_json::Error),
    #[error("file system error while {what}: {source}")]
    Io {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("SQLite error: {0}")]
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => StoreError::DiskFull,
            Some(ErrorCode::OperationInterrupted) => StoreError::Interrupted,
            Some(ErrorCode::NotADatabase) => StoreError::NotReadable,
            _ => StoreError::Sqlite(e),
        }
    }
}

impl StoreError {
    /// File-system errors, with ENOSPC mapped to [`StoreError::DiskFull`].
    pub(crate) fn io(what: &'static str, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::StorageFull {
            StoreError::DiskFull
        } else {
            StoreError::Io { what, source }
        }
    }

    /// Stored data that does not decode (damaged file, or written by a buggy version).
    pub(crate) fn corrupt(what: impl Into<String>) -> Self {
        StoreError::Corrupt(what.into())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
