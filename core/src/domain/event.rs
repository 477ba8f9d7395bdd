use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{BuildingCode, GpsFix, ItemId, PhotoRef, RecordId, WorkerId};

/// What was reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// 隐患: a hazard with a rectification deadline.
    Hazard,
    /// 微小事件: one of the catalog's micro-event kinds, handled by notice (简易程序).
    MicroEvent { kind: ItemId },
    /// An incident (criminal / public-security case, fire accident, illegal business …).
    Incident,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

/// Who a notice goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeRecipient {
    /// 业主
    Owner,
    /// 实际管理人
    Manager,
    /// 租户
    Tenants,
}

/// A notice (告知书) with a rectification deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub recipients: Vec<NoticeRecipient>,
    pub deadline: NaiveDate,
}

/// Lifecycle: reported → dispatched → noticed → rectified (verified by a later visit) or overdue → closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    Reported,
    Dispatched,
    Noticed,
    Rectified,
    Overdue,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an event cannot go from {from:?} to {to:?}")]
pub struct TransitionError {
    pub from: EventStatus,
    pub to: EventStatus,
}

impl EventStatus {
    /// The allowed moves. Overdue can still be rectified late; only rectified or overdue close.
    pub fn can_move_to(self, to: EventStatus) -> bool {
        use EventStatus::*;
        matches!(
            (self, to),
            (Reported, Dispatched)
                | (Reported, Noticed)
                | (Dispatched, Noticed)
                | (Dispatched, Rectified)
                | (Noticed, Rectified)
                | (Reported, Overdue)
                | (Dispatched, Overdue)
                | (Noticed, Overdue)
                | (Overdue, Rectified)
                | (Rectified, Closed)
                | (Overdue, Closed)
        )
    }

    pub fn move_to(self, to: EventStatus) -> Result<EventStatus, TransitionError> {
        if self.can_move_to(to) {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }

    /// The wire and storage name (as serde writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Reported => "reported",
            EventStatus::Dispatched => "dispatched",
            EventStatus::Noticed => "noticed",
            EventStatus::Rectified => "rectified",
            EventStatus::Overdue => "overdue",
            EventStatus::Closed => "closed",
        }
    }

    /// The inverse of [`EventStatus::as_str`].
    pub fn parse(s: &str) -> Option<EventStatus> {
        [
            EventStatus::Reported,
            EventStatus::Dispatched,
            EventStatus::Noticed,
            EventStatus::Rectified,
            EventStatus::Overdue,
            EventStatus::Closed,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// Still needs something done (counts as an open hazard).
    pub fn is_open(self) -> bool {
        !matches!(self, EventStatus::Rectified | EventStatus::Closed)
    }
}

/// A reported event about a building.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: RecordId,
    pub building: BuildingCode,
    pub worker: WorkerId,
    pub kind: EventKind,
    /// Event category id from the catalog; it decides the handling department.
    pub category: ItemId,
    pub severity: Severity,
    pub fix: GpsFix,
    pub photos: Vec<PhotoRef>,
    pub description: String,
    #[serde(with = "crate::domain::utc_time::serde")]
    pub reported_at: DateTime<Utc>,
    /// Required for micro-events; optional for hazards (a deadline to rectify).
    pub notice: Option<Notice>,
    pub status: EventStatus,
    pub corrects: Option<RecordId>,
}

#[cfg(test)]
mod tests {
    use super::EventStatus::*;

    #[test]
    fn lifecycle_moves() {
        assert_eq!(Reported.move_to(Dispatched), Ok(Dispatched));
        assert!(Noticed.move_to(Rectified).is_ok());
        assert!(Overdue.move_to(Rectified).is_ok());
        assert!(Closed.move_to(Reported).is_err());
        assert!(Rectified.move_to(Overdue).is_err());
        assert!(Reported.move_to(Closed).is_err());
        assert!(Overdue.is_open());
        assert!(!Closed.is_open());
    }

    #[test]
    fn storage_names_round_trip_and_match_serde() {
        for st in [Reported, Dispatched, Noticed, Rectified, Overdue, Closed] {
            assert_eq!(super::EventStatus::parse(st.as_str()), Some(st));
            assert_eq!(
                serde_json::to_string(&st).expect("json"),
                format!("\"{}\"", st.as_str())
            );
        }
        assert_eq!(super::EventStatus::parse("open"), None);
    }
}
