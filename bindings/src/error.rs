//! The one error the apps see. Every core error becomes a [`GridwalkError`] here and nowhere else,
//! so the foreign side has a small, stable set of cases to handle (Kotlin `GridwalkException.*`,
//! Swift `GridwalkError.*`, Python `GridwalkError.*`).
//!
//! Messages come from the core's error texts, which name codes, ids, limits and hashes, never a
//! person's name or phone number (the core guarantees this; contacts never appear in errors).

use gridwalk_core::synth::SynthError;
use gridwalk_core::{BuildingCodeError, CatalogError, ValidationError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum GridwalkError {
    /// The caller passed something the core refuses (a malformed building code, an out-of-range
    /// coordinate, an unknown checklist item…). Fix the input; retrying will not help.
    #[error("invalid input: {message}")]
    InvalidInput { message: String },
    /// The thing asked for does not exist (a grid, a building, a record).
    #[error("not found: {message}")]
    NotFound { message: String },
}

impl GridwalkError {
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound {
            message: message.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidInput {
            message: message.into(),
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
