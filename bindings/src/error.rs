//! The one error the apps see. Every core error becomes a [`GridwalkError`] here and nowhere else,
//! so the foreign side has a small, stable set of cases to handle (Kotlin `GridwalkException.*`,
//! Swift `GridwalkError.*`, Python `GridwalkError.*`).
//!
//! Each case carries a `detail` string (not `message`: Kotlin exceptions already have a `message`
//! property, and uniffi's generated Kotlin cannot have both).
//!
//! Details come from the core's error texts, which name codes, ids, limits and hashes, never a
//! person's name or phone number (the core guarantees this; contacts never appear in errors).

use gridwalk_core::synth::SynthError;
use gridwalk_core::{BuildingCodeError, CatalogError, ValidationError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum GridwalkError {
    /// The caller passed something the core refuses (a malformed building code, an out-of-range
    /// coordinate, an unknown checklist item…). Fix the input; retrying will not help.
    #[error("invalid input: {detail}")]
    InvalidInput { detail: String },
    /// The thing asked for does not exist (a grid, a building, a record).
    #[error("not found: {detail}")]
    NotFound { detail: String },
}

impl GridwalkError {
    pub(crate) fn not_found(detail: impl Into<String>) -> Self {
        Self::NotFound {
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
