//! What an accepted record sets in motion in the district archive, decided with the push and
//! written in its transaction, so no accepted record can miss its follow-up work:
//! - every building an accepted inspection or event is about is queued for re-rating (the rater
//!   works off the write path: a push never waits for the star rules);
//! - every accepted event gets its server-side lifecycle row (status, deadline), where dispatch,
//!   notices and the overdue sweep keep its state.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use gridwalk_core::protocol::SyncRecord;
use gridwalk_core::{BuildingCode, EventKind, EventStatus, ItemId, RecordId};

/// The follow-up work of one push.
#[derive(Debug, Clone, Default)]
pub struct MergeEffects {
    /// Buildings whose stars must be recomputed.
    pub rate: BTreeSet<BuildingCode>,
    /// Events entering their server-side lifecycle.
    pub events: Vec<EventIntake>,
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
                self.events.push(EventIntake {
                    event: e.id,
                    building: e.building.clone(),
                    kind: kind_str(&e.kind),
                    category: e.category.clone(),
                    status: e.status,
                    deadline: e.notice.as_ref().map(|n| n.deadline),
                    reported_at: e.reported_at,
                });
            }
            SyncRecord::BuildingCorrection(_) => {}
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rate.is_empty() && self.events.is_empty()
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
        assert_eq!(fx.events[0].status, ev.status);
        assert_eq!(fx.events[0].kind, "hazard");
        assert_eq!(
            fx.events[0].deadline,
            ev.notice.as_ref().map(|n| n.deadline)
        );
        assert!(MergeEffects::default().is_empty() && !fx.is_empty());
    }
}
