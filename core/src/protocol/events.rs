//! Dispatch and notices on the wire: the department queue (自动分拨), event status moves by the
//! handling department, the notice queue (告知书) and the notice message a transport delivers.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{
    BuildingCode, Contact, DepartmentId, EventKind, EventStatus, ItemId, NoticeRecipient, RecordId,
    Severity,
};

/// One event in a department's queue: `GET /v1/departments/{id}/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DepartmentEvent {
    pub id: RecordId,
    pub building: BuildingCode,
    pub kind: EventKind,
    pub category: ItemId,
    /// The department the catalog routes the category to (`None`: no rule, not dispatched).
    pub department: Option<DepartmentId>,
    pub status: EventStatus,
    pub severity: Severity,
    pub description: String,
    /// The rectification deadline of the event's notice, when it has one.
    pub deadline: Option<NaiveDate>,
    pub reported_at: DateTime<Utc>,
    /// When the server last changed the event's status.
    pub updated_at: DateTime<Utc>,
}

/// A page of a department's queue, oldest report first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DepartmentQueuePage {
    pub events: Vec<DepartmentEvent>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next_after: Option<RecordId>,
}

/// `POST /v1/events/{id}/status`: the handling department moves an event along its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventStatusUpdate {
    pub status: EventStatus,
}

/// Where a notice is in the outbound queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeState {
    /// Waiting for its (next) delivery attempt.
    Pending,
    /// Claimed by a delivery worker; a lease expiry hands it back if the worker dies.
    Sending,
    Delivered,
    /// Refused by the transport for good, or out of attempts.
    Failed,
    /// The event was rectified or closed before the notice went out.
    Cancelled,
}

impl NoticeState {
    pub const ALL: [NoticeState; 5] = [
        NoticeState::Pending,
        NoticeState::Sending,
        NoticeState::Delivered,
        NoticeState::Failed,
        NoticeState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeState::Pending => "pending",
            NoticeState::Sending => "sending",
            NoticeState::Delivered => "delivered",
            NoticeState::Failed => "failed",
            NoticeState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<NoticeState> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for NoticeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who a notice is actually addressed to. Tenants have no contacts in the archive, so a notice to
/// the tenants is a building-level notice: posted at the building, handed to the building head
/// (楼栋长) when one is on file. So is a notice to a manager the file does not name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NoticeAddressee {
    /// A named person (owner or actual manager). `contact` is personal data: API answers carry
    /// it only to the roles that act on notices, and it is `None` for the others.
    Person { contact: Option<Contact> },
    /// Posted at the building; `head` is the building head who relays it, when on file.
    Building { head: Option<Contact> },
}

impl NoticeAddressee {
    /// The same addressee without personal data.
    pub fn redacted(&self) -> NoticeAddressee {
        match self {
            NoticeAddressee::Person { .. } => NoticeAddressee::Person { contact: None },
            NoticeAddressee::Building { .. } => NoticeAddressee::Building { head: None },
        }
    }
}

/// One notice as the API shows it: `GET /v1/notices?event=…` or `?building=…`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoticeView {
    pub id: RecordId,
    pub event: RecordId,
    pub building: BuildingCode,
    pub recipient: NoticeRecipient,
    pub addressee: NoticeAddressee,
    pub deadline: NaiveDate,
    pub state: NoticeState,
    /// Delivery attempts so far (a claim counts, so a crash mid-send uses one up).
    pub attempts: u32,
    /// Why the last attempt failed (transport words only, never personal data).
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// When the deadline was found passed with the event still open.
    pub overdue_at: Option<DateTime<Utc>>,
}

/// What a notice transport delivers (the webhook's JSON body). It carries the addressee's
/// contact: the transport is how the notice reaches that person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoticeMessage {
    /// Stable across retries: receivers deduplicate on it (delivery is at least once).
    pub notice_id: RecordId,
    pub event_id: RecordId,
    pub building: BuildingCode,
    pub address: String,
    pub recipient: NoticeRecipient,
    pub addressee: NoticeAddressee,
    pub category: ItemId,
    /// The micro-event kind (微小事件), for notices of micro-events.
    pub micro_event_kind: Option<ItemId>,
    pub description: String,
    /// Rectify by the end of this day.
    pub deadline: NaiveDate,
    pub issued_at: DateTime<Utc>,
    /// 1 for the first attempt.
    pub attempt: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notice_states_round_trip_and_match_serde() {
        for st in NoticeState::ALL {
            assert_eq!(NoticeState::parse(st.as_str()), Some(st));
            assert_eq!(
                serde_json::to_string(&st).expect("json"),
                format!("\"{st}\"")
            );
        }
        assert_eq!(NoticeState::parse("lost"), None);
    }

    #[test]
    fn addressees_redact_contacts_and_updates_refuse_unknown_fields() {
        let owner = NoticeAddressee::Person {
            contact: Some(Contact {
                name: "Li".into(),
                phone: "13800000000".into(),
            }),
        };
        assert_eq!(
            serde_json::to_value(owner.redacted()).expect("json"),
            serde_json::json!({"type": "person", "contact": null})
        );
        let ok: EventStatusUpdate =
            serde_json::from_str(r#"{"status":"rectified"}"#).expect("parses");
        assert_eq!(ok.status, EventStatus::Rectified);
        assert!(serde_json::from_str::<EventStatusUpdate>(r#"{"status":"closed","x":1}"#).is_err());
    }
}
