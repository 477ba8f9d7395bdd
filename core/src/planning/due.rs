//! When each building is next due, and how urgent it is.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::{Building, BuildingCode, Event, GeoPoint, RecordId, Stars};
use crate::policy::{Policy, add_days, days_between};
use crate::records;

/// Why a building is due on a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DueReason {
    /// Never inspected: the archive's first-visit date, or today when it has none.
    FirstVisit,
    /// The last visit plus the interval for the building's stars.
    Regular {
        last_visit: NaiveDate,
        interval_days: u32,
    },
    /// A notice deadline: visit that day to verify the rectification.
    FollowUp {
        event: RecordId,
        deadline: NaiveDate,
    },
    /// A visit after the deadline found the event still open: look again.
    Recheck {
        event: RecordId,
        deadline: NaiveDate,
        last_visit: NaiveDate,
    },
}

impl DueReason {
    pub fn is_follow_up(&self) -> bool {
        matches!(self, DueReason::FollowUp { .. } | DueReason::Recheck { .. })
    }
}

/// The day a building is next due, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Due {
    pub on: NaiveDate,
    pub reason: DueReason,
}

/// The day a new building's first visit is due: within the unrated interval of entering the archive.
pub fn first_due(added_on: NaiveDate, policy: &Policy) -> NaiveDate {
    add_days(added_on, policy.planning.interval_days.unrated)
}

/// The day a building is next due (see [`due`]).
pub fn next_due(
    building: &Building,
    events: &[Event],
    policy: &Policy,
    today: NaiveDate,
) -> NaiveDate {
    due(building, events, policy, today).on
}

/// When a building is next due: the earliest of
/// - the regular visit: last visit + the interval for its stars (unrated: the unrated interval);
///   never visited: the archive's `next_due_on` (set to [`first_due`] when the building was added),
///   or today when it has none;
/// - for each open event with a notice deadline `D`: `D` (verify the rectification that day); when
///   the building was already visited on or after `D` and the event is still open,
///   last visit + `overdue_recheck_days`.
///
/// `events` may hold other buildings' events; corrected records are ignored. Ties go to the
/// regular visit, then to the earliest deadline.
pub fn due(building: &Building, events: &[Event], policy: &Policy, today: NaiveDate) -> Due {
    due_of(
        building,
        &records::live_events(events, &building.code),
        policy,
        today,
    )
}

pub(crate) fn due_of(
    building: &Building,
    events: &[&Event],
    policy: &Policy,
    today: NaiveDate,
) -> Due {
    let p = &policy.planning;
    let last_visit = building.last_inspected_at.map(|t| policy.local_date(t));
    let mut best = match last_visit {
        Some(last) => {
            let interval_days = p.interval_days.for_stars(building.stars);
            Due {
                on: add_days(last, interval_days),
                reason: DueReason::Regular {
                    last_visit: last,
                    interval_days,
                },
            }
        }
        None => Due {
            on: building.next_due_on.unwrap_or(today),
            reason: DueReason::FirstVisit,
        },
    };
    let mut follow_ups: Vec<(NaiveDate, RecordId)> = events
        .iter()
        .filter(|e| e.status.is_open())
        .filter_map(|e| e.notice.as_ref().map(|n| (n.deadline, e.id)))
        .collect();
    follow_ups.sort();
    for (deadline, event) in follow_ups {
        let candidate = match last_visit {
            Some(last) if last >= deadline => Due {
                on: add_days(last, p.overdue_recheck_days),
                reason: DueReason::Recheck {
                    event,
                    deadline,
                    last_visit: last,
                },
            },
            _ => Due {
                on: deadline,
                reason: DueReason::FollowUp { event, deadline },
            },
        };
        if candidate.on < best.on {
            best = candidate;
        }
    }
    best
}

/// The priority score and its parts (each already weighted).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Priority {
    pub total: f64,
    pub overdue: f64,
    pub stars: f64,
    pub open_hazards: f64,
    pub recent_events: f64,
    pub follow_up: f64,
}

/// How urgent a due building is:
///
/// ```text
/// priority = w_overdue   × min(days overdue ÷ interval for its stars, overdue_cap_intervals)
///          + w_stars     × (5 − stars) ÷ 4            (unrated counts as 1★)
///          + w_hazard    × min(open hazards and micro-events, open_hazard_cap)
///          + w_recent    × min(events reported in the last recent_days days, recent_event_cap)
///          + w_follow_up × (1 if an open event's notice deadline is today or past, else 0)
/// ```
///
/// Overdue is measured in intervals so that three days late means much more for a weekly (1★)
/// building than for a quarterly (5★) one: with the default weights a 1★ building 3 days overdue
/// scores 10 × 3/7 + 4 = 8.29 and a 5★ building 3 days overdue 10 × 3/90 = 0.33.
pub fn priority(
    stars: Option<Stars>,
    days_overdue: u32,
    open_hazards: u32,
    recent_events: u32,
    follow_up: bool,
    policy: &Policy,
) -> Priority {
    let w = &policy.planning.priority;
    let interval = f64::from(policy.planning.interval_days.for_stars(stars).max(1));
    let overdue = w.overdue * (f64::from(days_overdue) / interval).min(w.overdue_cap_intervals);
    let stars = w.stars * f64::from(5 - stars.map_or(1, Stars::get)) / 4.0;
    let open_hazards = w.open_hazard * f64::from(open_hazards.min(w.open_hazard_cap));
    let recent_events = w.recent_event * f64::from(recent_events.min(w.recent_event_cap));
    let follow_up = if follow_up { w.follow_up } else { 0.0 };
    Priority {
        total: overdue + stars + open_hazards + recent_events + follow_up,
        overdue,
        stars,
        open_hazards,
        recent_events,
        follow_up,
    }
}

/// A building on the due list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DueBuilding {
    pub code: BuildingCode,
    pub location: GeoPoint,
    pub stars: Option<Stars>,
    pub due: Due,
    /// 0 on the due day itself.
    pub days_overdue: u32,
    pub open_hazards: u32,
    pub recent_events: u32,
    pub priority: Priority,
}

/// The buildings due today or earlier (`next_due ≤ today`), most urgent first (ties: earlier due
/// day, then building code). `events` may hold any buildings' events.
pub fn due_list(
    buildings: &[Building],
    events: &[Event],
    policy: &Policy,
    today: NaiveDate,
) -> Vec<DueBuilding> {
    let by_building = records::events_by_building(events);
    let mut list: Vec<DueBuilding> = buildings
        .iter()
        .filter_map(|b| {
            let evs = by_building.get(&b.code).map_or(&[][..], Vec::as_slice);
            due_building(b, evs, policy, today)
        })
        .collect();
    list.sort_by(|a, b| {
        b.priority
            .total
            .total_cmp(&a.priority.total)
            .then(a.due.on.cmp(&b.due.on))
            .then(a.code.cmp(&b.code))
    });
    list
}

fn due_building(
    b: &Building,
    events: &[&Event],
    policy: &Policy,
    today: NaiveDate,
) -> Option<DueBuilding> {
    let due = due_of(b, events, policy, today);
    if due.on > today {
        return None;
    }
    let days_overdue = u32::try_from(days_between(due.on, today)).unwrap_or(u32::MAX);
    let open_hazards = records::open_hazard_count(events);
    let recent_days = i64::from(policy.planning.priority.recent_days);
    let recent_events = events
        .iter()
        .filter(|e| days_between(policy.local_date(e.reported_at), today) < recent_days)
        .count();
    let recent_events = u32::try_from(recent_events).unwrap_or(u32::MAX);
    // The visit verifies a deadline when an open event's deadline is today or past, whichever
    // rule made the building due.
    let follow_up = events
        .iter()
        .any(|e| e.status.is_open() && e.notice.as_ref().is_some_and(|n| n.deadline <= today));
    let priority = priority(
        b.stars,
        days_overdue,
        open_hazards,
        recent_events,
        follow_up,
        policy,
    );
    Some(DueBuilding {
        code: b.code.clone(),
        location: b.location,
        stars: b.stars,
        due,
        days_overdue,
        open_hazards,
        recent_events,
        priority,
    })
}
