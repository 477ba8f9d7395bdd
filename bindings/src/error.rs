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
            S::UnknownRecord(_) | S::UnknownOutboxEntry(_) => Self::not_found(e.to_string()),
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
            S::NewerSchema { .. }
            | S::OutboxTransition { .. }
            | S::Corrupt(_)
            | S::Json(_)
            | S::Io { .. }
            | S::Sqlite(_) => Self::storage(e.to_string()),
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
