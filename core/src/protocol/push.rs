use std::fmt;

use serde::{Deserialize, Serialize};

use super::{BuildingCorrection, DeviceId};
use crate::domain::{BuildingCode, Event, Inspection, PhotoRef, RecordId, Sha256Hex, WorkerId};

/// `POST /v1/sync/push`: a batch of a device's outbox, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    pub device_id: DeviceId,
    pub records: Vec<PushRecord>,
}

/// One outbox record with its per-device sequence number.
///
/// Sequence numbers start at 1 per device and increase by one per record, never reused: the server
/// accepts new records only in order, so a lost batch can never be silently skipped.
/// The record's own `id` (client-generated UUID v7) is the idempotency key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRecord {
    pub seq: u64,
    pub record: SyncRecord,
}

/// What a device records in the field. Wire form: `{"kind": "inspection", "payload": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    content = "payload",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum SyncRecord {
    Inspection(Inspection),
    Event(Event),
    BuildingCorrection(BuildingCorrection),
}

impl SyncRecord {
    pub fn id(&self) -> RecordId {
        match self {
            SyncRecord::Inspection(i) => i.id,
            SyncRecord::Event(e) => e.id,
            SyncRecord::BuildingCorrection(c) => c.id,
        }
    }

    pub fn building(&self) -> &BuildingCode {
        match self {
            SyncRecord::Inspection(i) => &i.building,
            SyncRecord::Event(e) => &e.building,
            SyncRecord::BuildingCorrection(c) => &c.building,
        }
    }

    pub fn worker(&self) -> &WorkerId {
        match self {
            SyncRecord::Inspection(i) => &i.worker,
            SyncRecord::Event(e) => &e.worker,
            SyncRecord::BuildingCorrection(c) => &c.worker,
        }
    }

    pub fn photos(&self) -> &[PhotoRef] {
        match self {
            SyncRecord::Inspection(i) => &i.photos,
            SyncRecord::Event(e) => &e.photos,
            SyncRecord::BuildingCorrection(c) => &c.photos,
        }
    }

    pub fn kind_str(&self) -> &'static str {
        match self {
            SyncRecord::Inspection(_) => "inspection",
            SyncRecord::Event(_) => "event",
            SyncRecord::BuildingCorrection(_) => "building_correction",
        }
    }
}

/// Why the server refused one record. Stable codes; the record is not stored, and sending it again
/// gets the same answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// The building is not in the worker's scope (or does not exist: the two are not told apart).
    OutOfScope,
    /// The building has been demolished or merged away.
    BuildingRemoved,
    /// The record names another worker than the logged-in account.
    WorkerMismatch,
    /// Another device already used this record id.
    RecordIdTaken,
    BadCoordinates,
    BadGpsAccuracy,
    UnknownChecklistItem,
    DuplicateChecklistItem,
    UnknownEventCategory,
    UnknownMicroEventKind,
    MicroEventWithoutNotice,
    DeadlineBeforeReport,
    /// A photo reference is not usable (too large, zero bytes).
    BadPhoto,
    InvalidRecord,
    /// A code this client version does not know (sent by a newer server).
    #[serde(other)]
    Unknown,
}

impl RejectCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectCode::OutOfScope => "out_of_scope",
            RejectCode::BuildingRemoved => "building_removed",
            RejectCode::WorkerMismatch => "worker_mismatch",
            RejectCode::RecordIdTaken => "record_id_taken",
            RejectCode::BadCoordinates => "bad_coordinates",
            RejectCode::BadGpsAccuracy => "bad_gps_accuracy",
            RejectCode::UnknownChecklistItem => "unknown_checklist_item",
            RejectCode::DuplicateChecklistItem => "duplicate_checklist_item",
            RejectCode::UnknownEventCategory => "unknown_event_category",
            RejectCode::UnknownMicroEventKind => "unknown_micro_event_kind",
            RejectCode::MicroEventWithoutNotice => "micro_event_without_notice",
            RejectCode::DeadlineBeforeReport => "deadline_before_report",
            RejectCode::BadPhoto => "bad_photo",
            RejectCode::InvalidRecord => "invalid_record",
            RejectCode::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> RejectCode {
        const ALL: [RejectCode; 14] = [
            RejectCode::OutOfScope,
            RejectCode::BuildingRemoved,
            RejectCode::WorkerMismatch,
            RejectCode::RecordIdTaken,
            RejectCode::BadCoordinates,
            RejectCode::BadGpsAccuracy,
            RejectCode::UnknownChecklistItem,
            RejectCode::DuplicateChecklistItem,
            RejectCode::UnknownEventCategory,
            RejectCode::UnknownMicroEventKind,
            RejectCode::MicroEventWithoutNotice,
            RejectCode::DeadlineBeforeReport,
            RejectCode::BadPhoto,
            RejectCode::InvalidRecord,
        ];
        ALL.into_iter()
            .find(|c| c.as_str() == s)
            .unwrap_or(RejectCode::Unknown)
    }
}

impl fmt::Display for RejectCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to one pushed record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RecordOutcome {
    /// Stored durably by this push. `conflict`: a building correction whose `seen` value was stale;
    /// it is kept as a conflict for a supervisor instead of being applied.
    Accepted {
        #[serde(default)]
        conflict: bool,
    },
    /// Already stored by an earlier push (a retry, or a lost acknowledgement).
    Duplicate,
    Rejected {
        code: RejectCode,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordResult {
    pub seq: u64,
    pub id: RecordId,
    pub outcome: RecordOutcome,
}

/// Answer to a push: one result per record in request order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResponse {
    pub results: Vec<RecordResult>,
    /// Photos referred to by this batch's stored records that the server does not have yet.
    pub missing_photos: Vec<Sha256Hex>,
    /// The highest sequence the server now holds from this device.
    pub device_last_seq: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_have_a_stable_wire_form() {
        let r = RecordOutcome::Rejected {
            code: RejectCode::OutOfScope,
            message: "not in your scope".into(),
        };
        assert_eq!(
            serde_json::to_value(&r).expect("serializes"),
            serde_json::json!({"status":"rejected","code":"out_of_scope","message":"not in your scope"})
        );
        assert_eq!(
            serde_json::to_value(RecordOutcome::Duplicate).expect("serializes"),
            serde_json::json!({"status":"duplicate"})
        );
        for s in [
            "out_of_scope",
            "bad_photo",
            "invalid_record",
            "record_id_taken",
        ] {
            assert_eq!(RejectCode::parse(s).as_str(), s);
        }
        assert_eq!(RejectCode::parse("nope"), RejectCode::Unknown);
    }

    #[test]
    fn push_request_refuses_unknown_fields() {
        let ok = r#"{"device_id":"phone-1","records":[]}"#;
        assert!(serde_json::from_str::<PushRequest>(ok).is_ok());
        let extra = r#"{"device_id":"phone-1","records":[],"force":true}"#;
        let err = serde_json::from_str::<PushRequest>(extra).expect_err("unknown field");
        assert!(err.to_string().contains("unknown field `force`"), "{err}");
        let bad_kind = r#"{"device_id":"phone-1","records":[{"seq":1,"record":{"kind":"selfie","payload":{}}}]}"#;
        assert!(serde_json::from_str::<PushRequest>(bad_kind).is_err());
        let bad_device = r#"{"device_id":"phone 1","records":[]}"#;
        assert!(serde_json::from_str::<PushRequest>(bad_device).is_err());
    }
}
