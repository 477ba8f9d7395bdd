//! Content checks of one pushed record. A failing record is rejected alone (with a stable code);
//! the rest of its batch proceeds.

use gridwalk_core::protocol::{PushRecord, RejectCode, SyncRecord};
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

/// What is settled about one pushed record before the merge, outside the database's single
/// writer: the field checks' verdict and, for a record that passed, the JSON it is stored as.
/// Serialising a batch of 1,000 takes ~1.5 ms that the writer would otherwise hold its lock for.
#[derive(Debug, Clone, PartialEq)]
pub enum Checked {
    Refused(Rejection),
    Passed { payload: String },
}

/// Checks every record of a batch (see [`check_record`]) and prepares what passes for storage.
pub fn check_batch(
    records: &[PushRecord],
    username: &str,
    catalog: &Catalog,
    limits: &RecordLimits,
) -> Vec<Checked> {
    records
        .iter()
        .map(
            |r| match check_record(&r.record, username, catalog, limits) {
                Ok(()) => Checked::Passed {
                    payload: stored_payload(&r.record),
                },
                Err(e) => Checked::Refused(e),
            },
        )
        .collect()
}

/// The JSON a record is stored as: its payload, without the kind (a column of its own).
pub fn stored_payload(rec: &SyncRecord) -> String {
    match rec {
        SyncRecord::Inspection(i) => serde_json::to_string(i),
        SyncRecord::Event(e) => serde_json::to_string(e),
        SyncRecord::BuildingCorrection(c) => serde_json::to_string(c),
    }
    // Domain types serialize infallibly; an empty object keeps the row rather than losing it.
    .unwrap_or_else(|_| "{}".to_owned())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn a_batch_is_checked_record_by_record_and_what_passes_carries_its_stored_json() {
        let mine = fixtures::inspection(&fixtures::code(1), "w1", Vec::new());
        let theirs = fixtures::inspection(&fixtures::code(2), "w2", Vec::new());
        let batch = fixtures::batch(
            1,
            vec![
                SyncRecord::Inspection(mine.clone()),
                SyncRecord::Inspection(theirs),
            ],
        );
        let catalog = Catalog::default_catalog().expect("catalog");
        let checked = check_batch(&batch, "w1", &catalog, &RecordLimits::default());
        assert_eq!(checked.len(), 2);
        let Checked::Passed { payload } = &checked[0] else {
            panic!("w1's own inspection passes: {:?}", checked[0]);
        };
        let stored: gridwalk_core::Inspection = serde_json::from_str(payload).expect("JSON");
        assert_eq!(stored, mine, "the payload is the inspection itself");
        assert!(
            matches!(&checked[1], Checked::Refused(r) if r.code == RejectCode::WorkerMismatch),
            "{:?}",
            checked[1]
        );
    }
}
