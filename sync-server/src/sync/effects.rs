//! What an accepted record sets in motion in the district archive, decided with the push and
//! written in its transaction, so no accepted record can miss its follow-up work:
//! - every building an accepted inspection or event is about is queued for re-rating (the rater
//!   works off the write path: a push never waits for the star rules);
//! - every accepted event gets its server-side lifecycle row (status, deadline), where dispatch,
//!   notices and the overdue sweep keep its state;
//! - every accepted event is dispatched (自动分拨) to the department the catalog routes its
//!   category to, and every notice it carries becomes one outbound notice per recipient.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate, Utc};
use gridwalk_core::protocol::SyncRecord;
use gridwalk_core::{
    BuildingCode, Catalog, DepartmentId, EventKind, EventStatus, ItemId, NoticeRecipient, RecordId,
};

/// The follow-up work of one push.
#[derive(Debug, Clone, Default)]
pub struct MergeEffects {
    /// Buildings whose stars must be recomputed.
    pub rate: BTreeSet<BuildingCode>,
    /// Events entering their server-side lifecycle.
    pub events: Vec<EventIntake>,
    /// Notices to queue for delivery, one per recipient of an accepted event's notice.
    pub notices: Vec<NoticeIntake>,
}

/// How dispatch went for one event: a typed outcome, never a panic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dispatch {
    /// Routed to the department and moved to `dispatched`.
    Dispatched(DepartmentId),
    /// Routed, but the reported status is already past `dispatched` (e.g. noticed on the spot,
    /// rectified at once): the department is recorded and the status kept.
    RoutedKeepingStatus(DepartmentId),
    /// The catalog names no department for the category: the status stays as reported and the
    /// event waits in no department's queue.
    NoDepartment,
}

impl Dispatch {
    pub fn department(&self) -> Option<&DepartmentId> {
        match self {
            Dispatch::Dispatched(d) | Dispatch::RoutedKeepingStatus(d) => Some(d),
            Dispatch::NoDepartment => None,
        }
    }
}

/// Routes an event by its category (catalog rule) and gives the status it starts with.
pub fn dispatch(
    catalog: Option<&Catalog>,
    category: &ItemId,
    reported: EventStatus,
) -> (Dispatch, EventStatus) {
    let Some(dept) = catalog.and_then(|c| c.department_for(category)) else {
        return (Dispatch::NoDepartment, reported);
    };
    match reported.move_to(EventStatus::Dispatched) {
        Ok(status) => (Dispatch::Dispatched(dept.id.clone()), status),
        Err(_) => (Dispatch::RoutedKeepingStatus(dept.id.clone()), reported),
    }
}

/// The catalog the server validates records with (`AppState` loads the same shipped document);
/// dispatch at merge routes by it. `None` only if the shipped catalog were broken, which the
/// server refuses to start with.
pub fn shipped_catalog() -> Option<&'static Catalog> {
    static CATALOG: OnceLock<Option<Catalog>> = OnceLock::new();
    CATALOG
        .get_or_init(|| Catalog::default_catalog().ok())
        .as_ref()
}

/// A notice to one recipient, queued with the push.
#[derive(Debug, Clone, PartialEq)]
pub struct NoticeIntake {
    pub event: RecordId,
    pub building: BuildingCode,
    pub recipient: NoticeRecipient,
    pub deadline: NaiveDate,
}

/// An accepted event as its lifecycle row starts.
#[derive(Debug, Clone, PartialEq)]
pub struct EventIntake {
    pub event: RecordId,
    pub building: BuildingCode,
    /// `hazard`, `micro_event` or `incident`.
    pub kind: &'static str,
    pub category: ItemId,
    pub status: EventStatus,
    /// The notice's rectification deadline, when there is one.
    pub deadline: Option<NaiveDate>,
    pub reported_at: DateTime<Utc>,
    pub dispatch: Dispatch,
}

impl MergeEffects {
    /// Notes what an accepted record needs. Building corrections change no stars.
    pub fn note(&mut self, record: &SyncRecord) {
        match record {
            SyncRecord::Inspection(i) => {
                self.rate.insert(i.building.clone());
            }
            SyncRecord::Event(e) => {
                self.rate.insert(e.building.clone());
                let (dispatch, status) = dispatch(shipped_catalog(), &e.category, e.status);
                self.events.push(EventIntake {
                    event: e.id,
                    building: e.building.clone(),
                    kind: kind_str(&e.kind),
                    category: e.category.clone(),
                    status,
                    deadline: e.notice.as_ref().map(|n| n.deadline),
                    reported_at: e.reported_at,
                    dispatch,
                });
                if let Some(n) = &e.notice {
                    let mut seen = Vec::with_capacity(n.recipients.len());
                    for r in &n.recipients {
                        if !seen.contains(r) {
                            seen.push(*r);
                            self.notices.push(NoticeIntake {
                                event: e.id,
                                building: e.building.clone(),
                                recipient: *r,
                                deadline: n.deadline,
                            });
                        }
                    }
                }
            }
            SyncRecord::BuildingCorrection(_) => {}
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rate.is_empty() && self.events.is_empty() && self.notices.is_empty()
    }
}

/// The storage name of an event's kind.
pub fn kind_str(kind: &EventKind) -> &'static str {
    match kind {
        EventKind::Hazard => "hazard",
        EventKind::MicroEvent { .. } => "micro_event",
        EventKind::Incident => "incident",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn inspections_and_events_queue_their_building_once_and_events_start_a_lifecycle() {
        let ins = fixtures::inspection(&fixtures::code(1), "w", vec![]);
        let ev = fixtures::hazard(&fixtures::code(2), "w");
        let mut fx = MergeEffects::default();
        fx.note(&SyncRecord::Inspection(ins.clone()));
        fx.note(&SyncRecord::Inspection(ins.clone()));
        fx.note(&SyncRecord::Event(ev.clone()));
        let expected: BTreeSet<BuildingCode> = [ins.building.clone(), ev.building.clone()]
            .into_iter()
            .collect();
        assert_eq!(fx.rate, expected);
        assert_eq!(fx.events.len(), 1);
        assert_eq!(fx.events[0].event, ev.id);
        assert_eq!(fx.events[0].status, EventStatus::Dispatched);
        assert_eq!(
            fx.events[0].dispatch,
            Dispatch::Dispatched(DepartmentId::from("fire"))
        );
        assert!(fx.notices.is_empty(), "the hazard carries no notice");
        assert_eq!(fx.events[0].kind, "hazard");
        assert_eq!(
            fx.events[0].deadline,
            ev.notice.as_ref().map(|n| n.deadline)
        );
        assert!(MergeEffects::default().is_empty() && !fx.is_empty());
    }

    #[test]
    fn dispatch_routes_by_the_catalog_and_keeps_statuses_past_dispatch() {
        let catalog = Catalog::default_catalog().expect("catalog");
        for cat in &catalog.event_categories {
            let (d, st) = dispatch(Some(&catalog), &cat.id, EventStatus::Reported);
            assert_eq!(
                d,
                Dispatch::Dispatched(cat.department.clone()),
                "{}",
                cat.id
            );
            assert_eq!(st, EventStatus::Dispatched);
        }
        let fire = ItemId::from("fire_hazard");
        assert_eq!(
            dispatch(Some(&catalog), &fire, EventStatus::Noticed),
            (
                Dispatch::RoutedKeepingStatus(DepartmentId::from("fire")),
                EventStatus::Noticed
            )
        );
        assert_eq!(
            dispatch(
                Some(&catalog),
                &ItemId::from("no_such"),
                EventStatus::Reported
            ),
            (Dispatch::NoDepartment, EventStatus::Reported)
        );
        assert_eq!(
            dispatch(None, &fire, EventStatus::Reported),
            (Dispatch::NoDepartment, EventStatus::Reported)
        );
        assert_eq!(shipped_catalog(), Some(&catalog));
    }

    #[test]
    fn a_notice_becomes_one_intake_per_distinct_recipient() {
        let mut ev = fixtures::hazard(&fixtures::code(3), "w");
        let deadline = ev.reported_at.date_naive() + chrono::Days::new(3);
        ev.notice = Some(gridwalk_core::Notice {
            recipients: vec![
                NoticeRecipient::Owner,
                NoticeRecipient::Tenants,
                NoticeRecipient::Owner,
            ],
            deadline,
        });
        let mut fx = MergeEffects::default();
        fx.note(&SyncRecord::Event(ev.clone()));
        let got: Vec<(NoticeRecipient, NaiveDate)> = fx
            .notices
            .iter()
            .map(|n| (n.recipient, n.deadline))
            .collect();
        assert_eq!(
            got,
            [
                (NoticeRecipient::Owner, deadline),
                (NoticeRecipient::Tenants, deadline)
            ]
        );
        assert!(fx.notices.iter().all(|n| n.event == ev.id));
    }
}
