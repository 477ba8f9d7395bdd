use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{BuildingField, DeviceId, RatingEntry};
use crate::domain::{Building, BuildingCode, RecordId, Sha256Hex, WorkerId};

/// A position in the server's change log, issued by the server. Opaque to clients: store it, send it
/// back, never interpret it. No cursor (or an empty one) means "from the beginning" (bootstrap).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub String);

impl Cursor {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `GET /v1/sync/pull?cursor=…&limit=…`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<Cursor>,
    /// Changes per page; the server caps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// Why a building left the caller's view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TombstoneReason {
    /// Moved to a grid (community, street) outside the caller's scope.
    Reassigned,
    /// Demolished or merged into another building.
    Removed,
}

impl TombstoneReason {
    pub fn as_str(self) -> &'static str {
        match self {
            TombstoneReason::Reassigned => "reassigned",
            TombstoneReason::Removed => "removed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "reassigned" => Some(Self::Reassigned),
            "removed" => Some(Self::Removed),
            _ => None,
        }
    }
}

/// A supervisor's decision on a synced report (审核).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    Approved,
    /// 退回: the worker corrects and resubmits (the correction's `corrects` names this record).
    SentBack,
}

impl ReviewDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewDecision::Approved => "approved",
            ReviewDecision::SentBack => "sent_back",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "approved" => Some(Self::Approved),
            "sent_back" => Some(Self::SentBack),
            _ => None,
        }
    }
}

/// The outcome of a review, delivered to the reporting worker's devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewOutcome {
    pub record: RecordId,
    pub decision: ReviewDecision,
    pub comment: String,
    pub reviewer: WorkerId,
    pub reviewed_at: DateTime<Utc>,
}

/// One entry of a pull page, in server order. Read by a hand-written `Deserialize` (in
/// `change_de.rs`, same wire form) that skips serde's buffering of tagged enums.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// The building's current file; replaces any copy the device holds.
    Building {
        building: Box<Building>,
        /// The server's latest rating of the building, with its explanation (older servers send
        /// none; older devices ignore it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rating: Option<Box<RatingEntry>>,
    },
    /// The building left the caller's scope: drop it (but keep unsynced records about it).
    Tombstone {
        code: BuildingCode,
        reason: TombstoneReason,
    },
    Review {
        outcome: ReviewOutcome,
    },
}

/// Response header of a pull page that has more after it: its `next_cursor`, readable before the
/// body. A client can ask for the next page while this one is still downloading and being parsed
/// (on a phone network, that hides a round trip and the server's work per page). The body's
/// `next_cursor` is the one to store; a client that used this header checks the two agree.
pub const NEXT_PAGE_HEADER: &str = "gridwalk-next-cursor";

/// A page of changes since a cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    pub changes: Vec<Change>,
    /// Send this back on the next pull; store it only together with the applied changes.
    pub next_cursor: Cursor,
    /// More changes are waiting: pull again right away.
    pub has_more: bool,
    /// The cursor was issued for another scope (the account was reassigned): drop every building
    /// held (keeping unsynced records) before applying this page, which starts from the beginning.
    #[serde(default)]
    pub reset: bool,
    pub catalog_version: u32,
    pub policy_version: u32,
    /// Photos this device's stored records refer to that the server does not have yet.
    #[serde(default)]
    pub missing_photos: Vec<Sha256Hex>,
}

/// A field correction that lost against an earlier one and waits for a supervisor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConflictView {
    pub id: i64,
    pub record: RecordId,
    pub building: BuildingCode,
    pub field: BuildingField,
    /// What the losing device saw before its change.
    pub seen: Value,
    /// The losing value, kept for review.
    pub proposed: Value,
    /// The building's value when the losing correction arrived.
    pub current: Value,
    pub worker: WorkerId,
    pub device: DeviceId,
    pub received_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_refuses_unknown_parameters_and_changes_are_tagged() {
        let q: PullQuery = serde_json::from_str(r#"{"cursor":"abc","limit":10}"#).expect("parses");
        assert_eq!(q.cursor, Some(Cursor("abc".into())));
        assert!(serde_json::from_str::<PullQuery>(r#"{"since":"abc"}"#).is_err());

        let code = BuildingCode::parse("4403060010010010000000001").expect("valid");
        let t = Change::Tombstone {
            code,
            reason: TombstoneReason::Reassigned,
        };
        assert_eq!(
            serde_json::to_value(&t).expect("serializes"),
            serde_json::json!({"type":"tombstone","code":"4403060010010010000000001","reason":"reassigned"})
        );
    }
}
