//! Dispatch and notices in storage: the rows that cross the trait and the decisions both engines
//! share (who may move an event, where a notice is addressed, how stored rows become wire types).

use chrono::{DateTime, NaiveDate, Utc};
use gridwalk_core::protocol::{
    DepartmentEvent, NoticeAddressee, NoticeMessage, NoticeState, NoticeView, Scope,
};
use gridwalk_core::{
    Building, BuildingCode, CommunityId, Contact, DepartmentId, Event, EventKind, EventStatus,
    GridId, ItemId, NoticeRecipient, RecordId, StreetId, TransitionError,
};

use super::DbError;
use super::codec::{parse_code, parse_record_id};

/// `GET /v1/departments/{id}/events`: one page of a department's queue within a scope.
#[derive(Debug, Clone)]
pub struct DepartmentQuery {
    pub department: DepartmentId,
    pub scope: Scope,
    pub status: Option<EventStatus>,
    /// Events after this one (ids are UUID v7: report order).
    pub after: Option<RecordId>,
    pub limit: u32,
}

/// Who asks to move an event along its lifecycle.
#[derive(Debug, Clone)]
pub struct EventMover {
    pub scope: Scope,
    /// The mover's department; `None` (an admin) may move any department's events.
    pub department: Option<DepartmentId>,
}

/// What a status move did.
#[derive(Debug, Clone, PartialEq)]
pub enum MoveOutcome {
    Moved(DepartmentEvent),
    NotFound,
    /// The event's building is outside the mover's scope.
    OutOfScope,
    /// The event is routed to another department (or to none).
    OtherDepartment,
    Refused(TransitionError),
}

/// Which notices to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeSubject {
    Event(RecordId),
    Building(BuildingCode),
}

#[derive(Debug, Clone)]
pub struct NoticeQuery {
    pub subject: NoticeSubject,
    pub scope: Scope,
    /// Only notices of events routed to this department (for department users).
    pub department: Option<DepartmentId>,
}

/// A notice claimed for one delivery attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedNotice {
    /// The attempt number this claim made; finishing requires it, so a worker whose lease ran out
    /// (and whose notice was claimed again) cannot overwrite the newer attempt's result.
    pub attempt: u32,
    pub message: NoticeMessage,
}

/// Claim parameters: notices due at `now`, leased until `lease_until`.
#[derive(Debug, Clone, Copy)]
pub struct NoticeClaim {
    pub now: DateTime<Utc>,
    pub limit: u32,
    pub lease_until: DateTime<Utc>,
    /// A lease that ran out with this many attempts used fails the notice instead of retrying.
    pub max_attempts: u32,
}

/// The result of one delivery attempt, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeResult {
    Delivered,
    /// Back to pending until `at`.
    Retry {
        error: String,
        at: DateTime<Utc>,
    },
    Failed {
        error: String,
    },
}

#[derive(Debug, Clone)]
pub struct NoticeFinish {
    pub notice: RecordId,
    pub attempt: u32,
    pub result: NoticeResult,
    pub now: DateTime<Utc>,
}

/// What [`crate::db::Database::mark_overdue_notices`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OverdueNotices {
    /// Notices found past their deadline with the event still open.
    pub notices: u64,
    /// Events moved to `overdue` because of them.
    pub events: u64,
}

/// The error stored when a lease ran out with no attempts left.
pub const INTERRUPTED: &str = "delivery interrupted (lease expired) and no attempts left";

const STATUSES: [EventStatus; 6] = [
    EventStatus::Reported,
    EventStatus::Dispatched,
    EventStatus::Noticed,
    EventStatus::Rectified,
    EventStatus::Overdue,
    EventStatus::Closed,
];

/// The statuses the core lifecycle allows to move to `to` (set-based moves select on these).
pub fn statuses_moving_to(to: EventStatus) -> Vec<&'static str> {
    STATUSES
        .into_iter()
        .filter(|s| s.can_move_to(to))
        .map(EventStatus::as_str)
        .collect()
}

/// The statuses that count as open (the core's `is_open`).
pub fn open_statuses() -> Vec<&'static str> {
    STATUSES
        .into_iter()
        .filter(|s| s.is_open())
        .map(EventStatus::as_str)
        .collect()
}

/// `'a', 'b'` for an SQL `IN (…)` list of the storage names above (fixed words, no input).
pub fn sql_list(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Who a notice to `recipient` about `building` is addressed to (see [`NoticeAddressee`]).
pub fn addressee_for(recipient: NoticeRecipient, building: &Building) -> NoticeAddressee {
    let posted = || NoticeAddressee::Building {
        head: building.building_head.clone(),
    };
    match recipient {
        NoticeRecipient::Owner => NoticeAddressee::Person {
            contact: Some(building.owner.clone()),
        },
        NoticeRecipient::Manager => match &building.manager {
            Some(m) => NoticeAddressee::Person {
                contact: Some(m.clone()),
            },
            None => posted(),
        },
        NoticeRecipient::Tenants => posted(),
    }
}

/// Storage form of an addressee: (type, contact name, contact phone).
pub fn addressee_columns(a: &NoticeAddressee) -> (&'static str, Option<&str>, Option<&str>) {
    let (kind, contact) = match a {
        NoticeAddressee::Person { contact } => ("person", contact.as_ref()),
        NoticeAddressee::Building { head } => ("building", head.as_ref()),
    };
    (
        kind,
        contact.map(|c| c.name.as_str()),
        contact.map(|c| c.phone.as_str()),
    )
}

pub fn parse_addressee(
    kind: &str,
    name: Option<String>,
    phone: Option<String>,
) -> Result<NoticeAddressee, DbError> {
    let contact = match (name, phone) {
        (Some(name), Some(phone)) => Some(Contact { name, phone }),
        _ => None,
    };
    match kind {
        "person" => Ok(NoticeAddressee::Person { contact }),
        "building" => Ok(NoticeAddressee::Building { head: contact }),
        other => Err(DbError::Corrupt(format!("notice addressee '{other}'"))),
    }
}

pub fn recipient_str(r: NoticeRecipient) -> &'static str {
    match r {
        NoticeRecipient::Owner => "owner",
        NoticeRecipient::Manager => "manager",
        NoticeRecipient::Tenants => "tenants",
    }
}

pub fn parse_recipient(s: &str) -> Result<NoticeRecipient, DbError> {
    match s {
        "owner" => Ok(NoticeRecipient::Owner),
        "manager" => Ok(NoticeRecipient::Manager),
        "tenants" => Ok(NoticeRecipient::Tenants),
        other => Err(DbError::Corrupt(format!("notice recipient '{other}'"))),
    }
}

pub fn parse_status(s: &str) -> Result<EventStatus, DbError> {
    EventStatus::parse(s).ok_or_else(|| DbError::Corrupt(format!("event status '{s}'")))
}

pub fn parse_notice_state(s: &str) -> Result<NoticeState, DbError> {
    NoticeState::parse(s).ok_or_else(|| DbError::Corrupt(format!("notice state '{s}'")))
}

pub fn parse_event(payload: &str) -> Result<Event, DbError> {
    serde_json::from_str(payload).map_err(|e| DbError::Corrupt(format!("event record: {e}")))
}

pub fn parse_deadline(s: &str) -> Result<NaiveDate, DbError> {
    s.parse()
        .map_err(|_| DbError::Corrupt(format!("deadline '{s}'")))
}

/// An `event_states` row joined with its record and its building's place.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub id: String,
    pub building: String,
    pub category: String,
    pub department: Option<String>,
    pub status: String,
    pub deadline: Option<NaiveDate>,
    pub reported_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub payload: String,
    pub grid: String,
    pub community: String,
    pub street: String,
}

impl EventRow {
    pub fn in_scope(&self, scope: &Scope) -> bool {
        scope.contains_place(
            &GridId(self.grid.clone()),
            &CommunityId(self.community.clone()),
            &StreetId(self.street.clone()),
        )
    }

    pub fn view(&self) -> Result<DepartmentEvent, DbError> {
        let e = parse_event(&self.payload)?;
        Ok(DepartmentEvent {
            id: parse_record_id(&self.id)?,
            building: parse_code(&self.building)?,
            kind: e.kind,
            category: ItemId(self.category.clone()),
            department: self.department.clone().map(DepartmentId),
            status: parse_status(&self.status)?,
            severity: e.severity,
            description: e.description,
            deadline: self.deadline,
            reported_at: self.reported_at,
            updated_at: self.updated_at,
        })
    }
}

/// Why a move is not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveRefusal {
    NotFound,
    OutOfScope,
    OtherDepartment,
    Refused(TransitionError),
}

impl From<MoveRefusal> for MoveOutcome {
    fn from(r: MoveRefusal) -> Self {
        match r {
            MoveRefusal::NotFound => MoveOutcome::NotFound,
            MoveRefusal::OutOfScope => MoveOutcome::OutOfScope,
            MoveRefusal::OtherDepartment => MoveOutcome::OtherDepartment,
            MoveRefusal::Refused(t) => MoveOutcome::Refused(t),
        }
    }
}

/// Decides a move for the event as stored (read inside the write transaction).
pub fn decide_move(
    row: Option<&EventRow>,
    mover: &EventMover,
    to: EventStatus,
) -> Result<EventStatus, MoveRefusal> {
    let Some(row) = row else {
        return Err(MoveRefusal::NotFound);
    };
    if !row.in_scope(&mover.scope) {
        return Err(MoveRefusal::OutOfScope);
    }
    if let Some(d) = &mover.department
        && row.department.as_deref() != Some(d.as_str())
    {
        return Err(MoveRefusal::OtherDepartment);
    }
    parse_status(&row.status)
        .map_err(|_| MoveRefusal::NotFound)?
        .move_to(to)
        .map_err(MoveRefusal::Refused)
}

/// A `notices` row joined with what a delivery or a listing needs.
#[derive(Debug, Clone)]
pub struct NoticeRow {
    pub id: String,
    pub event: String,
    pub building: String,
    pub recipient: String,
    pub addressee: String,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub deadline: NaiveDate,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub overdue_at: Option<DateTime<Utc>>,
}

impl NoticeRow {
    pub fn view(self) -> Result<NoticeView, DbError> {
        Ok(NoticeView {
            id: parse_record_id(&self.id)?,
            event: parse_record_id(&self.event)?,
            building: parse_code(&self.building)?,
            recipient: parse_recipient(&self.recipient)?,
            addressee: parse_addressee(&self.addressee, self.contact_name, self.contact_phone)?,
            deadline: self.deadline,
            state: parse_notice_state(&self.state)?,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            last_error: self.last_error,
            created_at: self.created_at,
            delivered_at: self.delivered_at,
            overdue_at: self.overdue_at,
        })
    }

    /// The message a transport delivers for this claimed notice.
    pub fn message(
        self,
        event_payload: &str,
        building_data: &str,
        attempt: u32,
    ) -> Result<NoticeMessage, DbError> {
        let e = parse_event(event_payload)?;
        let b = super::codec::parse_building(building_data)?;
        let view = self.view()?;
        Ok(NoticeMessage {
            notice_id: view.id,
            event_id: view.event,
            building: view.building,
            address: b.address,
            recipient: view.recipient,
            addressee: view.addressee,
            category: e.category,
            micro_event_kind: match e.kind {
                EventKind::MicroEvent { kind } => Some(kind),
                EventKind::Hazard | EventKind::Incident => None,
            },
            description: e.description,
            deadline: view.deadline,
            issued_at: view.created_at,
            attempt,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn set_based_moves_follow_the_core_lifecycle() {
        assert_eq!(
            statuses_moving_to(EventStatus::Overdue),
            ["reported", "dispatched", "noticed"]
        );
        assert_eq!(
            statuses_moving_to(EventStatus::Noticed),
            ["reported", "dispatched"]
        );
        assert_eq!(
            open_statuses(),
            ["reported", "dispatched", "noticed", "overdue"]
        );
        assert_eq!(sql_list(&["a", "b"]), "'a', 'b'");
    }

    #[test]
    fn tenants_and_unnamed_managers_get_a_building_notice() {
        let mut b = fixtures::building(1).clone();
        let head = Contact {
            name: "Head".into(),
            phone: "139".into(),
        };
        b.building_head = Some(head.clone());
        b.manager = None;
        assert_eq!(
            addressee_for(NoticeRecipient::Owner, &b),
            NoticeAddressee::Person {
                contact: Some(b.owner.clone())
            }
        );
        let posted = NoticeAddressee::Building { head: Some(head) };
        assert_eq!(addressee_for(NoticeRecipient::Manager, &b), posted);
        assert_eq!(addressee_for(NoticeRecipient::Tenants, &b), posted);
        let (kind, name, phone) = addressee_columns(&posted);
        assert_eq!(
            parse_addressee(kind, name.map(str::to_owned), phone.map(str::to_owned))
                .expect("parses"),
            posted
        );
        for r in [
            NoticeRecipient::Owner,
            NoticeRecipient::Manager,
            NoticeRecipient::Tenants,
        ] {
            assert_eq!(parse_recipient(recipient_str(r)).expect("parses"), r);
        }
    }

    fn row(status: &str, department: Option<&str>) -> EventRow {
        let b = fixtures::building(1);
        EventRow {
            id: RecordId::new().to_string(),
            building: b.code.to_string(),
            category: "fire_hazard".into(),
            department: department.map(str::to_owned),
            status: status.into(),
            deadline: None,
            reported_at: fixtures::epoch(),
            updated_at: fixtures::epoch(),
            payload: String::new(),
            grid: b.grid.0.clone(),
            community: b.community.0.clone(),
            street: b.street.0.clone(),
        }
    }

    #[test]
    fn moves_need_scope_department_and_an_allowed_transition() {
        let b = fixtures::building(1);
        let fire = EventMover {
            scope: Scope::Street(b.street.clone()),
            department: Some(DepartmentId::from("fire")),
        };
        let r = row("dispatched", Some("fire"));
        assert_eq!(
            decide_move(Some(&r), &fire, EventStatus::Rectified),
            Ok(EventStatus::Rectified)
        );
        assert_eq!(
            decide_move(Some(&r), &fire, EventStatus::Closed),
            Err(MoveRefusal::Refused(TransitionError {
                from: EventStatus::Dispatched,
                to: EventStatus::Closed
            }))
        );
        assert_eq!(
            decide_move(None, &fire, EventStatus::Rectified),
            Err(MoveRefusal::NotFound)
        );
        let police = EventMover {
            department: Some(DepartmentId::from("police")),
            ..fire.clone()
        };
        assert_eq!(
            decide_move(Some(&r), &police, EventStatus::Rectified),
            Err(MoveRefusal::OtherDepartment)
        );
        let elsewhere = EventMover {
            scope: Scope::Grid(GridId::from("nowhere")),
            ..fire
        };
        assert_eq!(
            decide_move(Some(&r), &elsewhere, EventStatus::Rectified),
            Err(MoveRefusal::OutOfScope)
        );
        let admin = EventMover {
            scope: Scope::District,
            department: None,
        };
        assert_eq!(
            decide_move(Some(&row("overdue", None)), &admin, EventStatus::Rectified),
            Ok(EventStatus::Rectified)
        );
    }
}
