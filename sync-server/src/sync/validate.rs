//! Content checks of one pushed record. A failing record is rejected alone (with a stable code);
//! the rest of its batch proceeds.

use gridwalk_core::protocol::{RejectCode, SyncRecord};
use gridwalk_core::{Catalog, GpsFix, PhotoRef, ValidationError};
use serde::{Deserialize, Serialize};

/// Why one record is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: RejectCode,
    pub message: String,
}

impl Rejection {
    pub fn new(code: RejectCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Limits on what a record may carry (policy, from the server config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecordLimits {
    pub max_photo_bytes: u64,
    pub max_photos_per_record: usize,
}

impl Default for RecordLimits {
    fn default() -> Self {
        Self {
            max_photo_bytes: gridwalk_core::CaptureLimits::default().max_photo_bytes,
            max_photos_per_record: 20,
        }
    }
}

/// Checks what can be checked without the database. The device's clock is not checked: a record
/// with a wrong phone clock is still a true observation, and ordering never uses it.
pub fn check_record(
    rec: &SyncRecord,
    username: &str,
    catalog: &Catalog,
    limits: &RecordLimits,
) -> Result<(), Rejection> {
    if rec.worker().as_str() != username {
        return Err(Rejection::new(
            RejectCode::WorkerMismatch,
            format!(
                "record names worker '{}' but was pushed by '{username}'",
                rec.worker()
            ),
        ));
    }
    match rec {
        SyncRecord::Inspection(i) => {
            check_fix(&i.fix)?;
            catalog.check_inspection(i).map_err(from_validation)?;
        }
        SyncRecord::Event(e) => {
            check_fix(&e.fix)?;
            catalog.check_event(e).map_err(from_validation)?;
        }
        SyncRecord::BuildingCorrection(c) => {
            if let Some(fix) = &c.fix {
                check_fix(fix)?;
            }
            if let Some(points) = c.change.points() {
                for p in points {
                    p.validate().map_err(from_validation)?;
                }
            }
        }
    }
    check_photos(rec.photos(), limits)
}

fn check_fix(fix: &GpsFix) -> Result<(), Rejection> {
    fix.point.validate().map_err(from_validation)?;
    if !fix.accuracy_m.is_finite() || fix.accuracy_m < 0.0 {
        return Err(from_validation(ValidationError::InvalidAccuracy(
            fix.accuracy_m,
        )));
    }
    Ok(())
}

fn check_photos(photos: &[PhotoRef], limits: &RecordLimits) -> Result<(), Rejection> {
    if photos.len() > limits.max_photos_per_record {
        return Err(Rejection::new(
            RejectCode::BadPhoto,
            format!(
                "{} photos attached; at most {} per record",
                photos.len(),
                limits.max_photos_per_record
            ),
        ));
    }
    for p in photos {
        if p.size_bytes == 0 || p.size_bytes > limits.max_photo_bytes {
            return Err(Rejection::new(
                RejectCode::BadPhoto,
                format!(
                    "photo {} declares {} bytes; photos must be 1 to {} bytes",
                    p.sha256, p.size_bytes, limits.max_photo_bytes
                ),
            ));
        }
    }
    Ok(())
}

fn from_validation(e: ValidationError) -> Rejection {
    let code = match &e {
        ValidationError::LatitudeOutOfRange(_) | ValidationError::LongitudeOutOfRange(_) => {
            RejectCode::BadCoordinates
        }
        ValidationError::InvalidAccuracy(_) | ValidationError::GpsTooInaccurate { .. } => {
            RejectCode::BadGpsAccuracy
        }
        ValidationError::UnknownChecklistItem(_) => RejectCode::UnknownChecklistItem,
        ValidationError::DuplicateChecklistItem(_) => RejectCode::DuplicateChecklistItem,
        ValidationError::UnknownEventCategory(_) => RejectCode::UnknownEventCategory,
        ValidationError::UnknownMicroEventKind(_) => RejectCode::UnknownMicroEventKind,
        ValidationError::MicroEventWithoutNotice => RejectCode::MicroEventWithoutNotice,
        ValidationError::DeadlineBeforeReport { .. } => RejectCode::DeadlineBeforeReport,
        ValidationError::BadSha256(_) => RejectCode::BadPhoto,
        _ => RejectCode::InvalidRecord,
    };
    Rejection::new(code, e.to_string())
}
