//! Automatic assessment of a grid worker (自动考核) over a period of days, from the records alone.
//!
//! Definitions (all days are local days; the period `[from, to]` includes both ends; records
//! replaced by a correction are ignored; only the grid's buildings count):
//!
//! - **Visits**: the worker's inspections of the grid's buildings that started in the period.
//! - **Due visits** follow each building's schedule, the same rule the planner uses with the
//!   building's current stars (star changes within the period are not replayed). The first due day
//!   is the last visit before the period plus the interval, or the period's first day for a
//!   building never visited or already overdue when the period starts. A visit on a later day
//!   *settles* the pending due day if it comes no later than `due + on_time_grace_days` (early is
//!   fine: visiting before the due day restarts the interval just as the planner does); the next due
//!   day is then that visit's day plus the interval. A due day that passes its grace without a visit
//!   is **missed**, and the building is due again one interval later (a neglected weekly building
//!   adds a missed visit every week). Only due days within the period count.
//!   - **on time**: settled by this worker; **covered by others**: settled by someone else's visit
//!     (not credited, not held against); **pending**: due so late in the period that its grace
//!     runs past the end; **missed**: the rest.
//!   - `on_time_ratio = on_time / (on_time + missed)`.
//! - **Coverage**: share of the grid's buildings the worker visited at least once.
//! - **Off-site ratio**: share of the worker's visits whose GPS fix was off site (see `supervision`).
//! - **Events reported**: the worker's events about the grid's buildings reported in the period.
//! - **Follow-ups**: every event of a grid building with a notice deadline `D` is a follow-up due
//!   by `D + follow_up_grace_days`, counted in the period that day falls in. It is **done** when the
//!   worker visited the building on a day in `[D, D + grace]`, or — when the event is by now
//!   rectified or closed — at any time after the report and up to `D + grace` (the owner fixed it
//!   early and that visit verified it). Visits after the period's end still count for follow-ups
//!   whose grace runs past it, if the records include them.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::{Building, BuildingCode, Event, EventKind, Inspection, WorkerId};
use crate::policy::{Policy, add_days};
use crate::records;
use crate::supervision::check_presence;

/// A period of whole local days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawPeriod")]
pub struct Period {
    from: NaiveDate,
    to: NaiveDate,
}

/// A period as read from the wire, before its ends are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPeriod {
    from: NaiveDate,
    to: NaiveDate,
}

impl TryFrom<RawPeriod> for Period {
    type Error = AssessmentError;
    fn try_from(r: RawPeriod) -> Result<Self, Self::Error> {
        Period::new(r.from, r.to)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssessmentError {
    #[error("the period ends on {to}, before it starts on {from}")]
    EndsBeforeStart { from: NaiveDate, to: NaiveDate },
}

impl Period {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, AssessmentError> {
        if to < from {
            return Err(AssessmentError::EndsBeforeStart { from, to });
        }
        Ok(Self { from, to })
    }

    pub fn from(&self) -> NaiveDate {
        self.from
    }

    pub fn to(&self) -> NaiveDate {
        self.to
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }
}

/// Events a worker reported, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCounts {
    pub hazards: usize,
    pub micro_events: usize,
    pub incidents: usize,
    pub total: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub worker: WorkerId,
    pub period: Period,
    pub buildings: usize,
    pub visits: usize,
    pub due_visits: usize,
    pub on_time: usize,
    pub covered_by_others: usize,
    pub missed: usize,
    pub pending: usize,
    pub on_time_ratio: Option<f64>,
    pub buildings_visited: usize,
    pub coverage: Option<f64>,
    pub off_site_visits: usize,
    pub off_site_ratio: Option<f64>,
    pub events_reported: EventCounts,
    pub follow_ups_due: usize,
    pub follow_ups_done: usize,
}

/// Assess `worker` over `period` on the buildings of their grid. `inspections` and `events` may
/// hold anyone's records about any buildings; they are filtered here.
pub fn assess_worker(
    worker: &WorkerId,
    period: Period,
    grid_buildings: &[Building],
    inspections: &[Inspection],
    events: &[Event],
    policy: &Policy,
) -> Assessment {
    let ins_by = records::inspections_by_building(inspections);
    let evs_by = records::events_by_building(events);
    let mut a = Assessment {
        worker: worker.clone(),
        period,
        buildings: grid_buildings.len(),
        visits: 0,
        due_visits: 0,
        on_time: 0,
        covered_by_others: 0,
        missed: 0,
        pending: 0,
        on_time_ratio: None,
        buildings_visited: 0,
        coverage: None,
        off_site_visits: 0,
        off_site_ratio: None,
        events_reported: EventCounts::default(),
        follow_ups_due: 0,
        follow_ups_done: 0,
    };
    let mut seen: HashSet<&BuildingCode> = HashSet::new();
    for b in grid_buildings {
        if !seen.insert(&b.code) {
            a.buildings -= 1; // listed twice: count it once
            continue;
        }
        let ins = ins_by.get(&b.code).map_or(&[][..], Vec::as_slice);
        let evs = evs_by.get(&b.code).map_or(&[][..], Vec::as_slice);
        assess_building(&mut a, b, ins, evs, policy);
    }
    a.on_time_ratio = ratio(a.on_time, a.on_time + a.missed);
    a.coverage = ratio(a.buildings_visited, a.buildings);
    a.off_site_ratio = ratio(a.off_site_visits, a.visits);
    a
}

fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn assess_building(
    a: &mut Assessment,
    b: &Building,
    inspections: &[&Inspection],
    events: &[&Event],
    policy: &Policy,
) {
    let period = a.period;
    let worker = &a.worker;
    let day_of = |i: &Inspection| policy.local_date(i.started_at);
    let mine = |i: &&&Inspection| &i.worker == worker;

    // The worker's visits, presence, coverage.
    let my_visits: Vec<&Inspection> = inspections
        .iter()
        .filter(mine)
        .filter(|i| period.contains(day_of(i)))
        .copied()
        .collect();
    a.visits += my_visits.len();
    if !my_visits.is_empty() {
        a.buildings_visited += 1;
    }
    a.off_site_visits += my_visits
        .iter()
        .filter(|i| check_presence(&i.fix, &b.location, &policy.supervision).off_site)
        .count();

    // The schedule: visit days in the period, and whether the worker made one that day.
    let interval = policy.planning.interval_days.for_stars(b.stars);
    let grace = policy.assessment.on_time_grace_days;
    let last_before = inspections
        .iter()
        .map(|i| day_of(i))
        .filter(|d| *d < period.from)
        .max();
    let mut days: BTreeMap<NaiveDate, bool> = BTreeMap::new();
    for i in inspections.iter().filter(|i| period.contains(day_of(i))) {
        *days.entry(day_of(i)).or_default() |= &i.worker == worker;
    }
    let mut due = last_before
        .map_or(period.from, |d| add_days(d, interval))
        .max(period.from);
    for (&visit, &by_worker) in &days {
        while due <= period.to && add_days(due, grace) < visit {
            a.due_visits += 1;
            a.missed += 1;
            due = add_days(due, interval);
        }
        if due <= period.to {
            a.due_visits += 1;
            if by_worker {
                a.on_time += 1;
            } else {
                a.covered_by_others += 1;
            }
        }
        due = add_days(visit, interval);
    }
    while due <= period.to {
        a.due_visits += 1;
        if add_days(due, grace) > period.to {
            a.pending += 1;
        } else {
            a.missed += 1;
        }
        due = add_days(due, interval);
    }

    // Events the worker reported.
    for e in events
        .iter()
        .filter(|e| &e.worker == worker && period.contains(policy.local_date(e.reported_at)))
    {
        let c = &mut a.events_reported;
        match e.kind {
            EventKind::Hazard => c.hazards += 1,
            EventKind::MicroEvent { .. } => c.micro_events += 1,
            EventKind::Incident => c.incidents += 1,
        }
        c.total += 1;
    }

    // Follow-ups of notice deadlines.
    let fgrace = policy.assessment.follow_up_grace_days;
    for e in events {
        let Some(n) = &e.notice else { continue };
        let by = add_days(n.deadline, fgrace);
        if !period.contains(by) {
            continue;
        }
        a.follow_ups_due += 1;
        let verified = inspections.iter().filter(mine).any(|i| {
            let d = day_of(i);
            i.started_at > e.reported_at && d <= by && (d >= n.deadline || !e.status.is_open())
        });
        if verified {
            a.follow_ups_done += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EventStatus, GeoPoint, ItemOutcome, Severity, WorkerId};
    use crate::testkit::*;

    fn visit(b: &Building, d: NaiveDate, who: &str) -> Inspection {
        let c = catalog();
        let mut i = inspection(b, morning(d), &[("sl_gas", ItemOutcome::Pass)], &c);
        i.worker = WorkerId::from(who);
        i
    }

    #[test]
    fn period_must_not_end_before_it_starts() {
        assert_eq!(
            Period::new(day(2026, 6, 30), day(2026, 6, 1)),
            Err(AssessmentError::EndsBeforeStart {
                from: day(2026, 6, 30),
                to: day(2026, 6, 1)
            })
        );
        assert!(Period::new(day(2026, 6, 1), day(2026, 6, 1)).is_ok());
        let bad: Result<Period, _> =
            serde_json::from_str(r#"{"from":"2026-06-30","to":"2026-06-01"}"#);
        let msg = bad.expect_err("refused").to_string();
        assert!(
            msg.contains("ends on 2026-06-01, before it starts on 2026-06-30"),
            "{msg}"
        );
        let ok: Period =
            serde_json::from_str(r#"{"from":"2026-06-01","to":"2026-06-30"}"#).expect("valid");
        assert_eq!(ok.to(), day(2026, 6, 30));
    }

    /// June 2026 for worker wk-0001 on a grid of four buildings (default policy: 1★ every 7 days,
    /// 3★ every 30, 5★ every 90; grace 0 days for due visits, 2 for follow-ups).
    #[test]
    fn a_small_month_matches_the_hand_count() {
        let p = policy();
        let me = "wk-0001";
        let june = Period::new(day(2026, 6, 1), day(2026, 6, 30)).expect("period");

        // A (1★): last visit 05-28 → due 06-04. Visits 06-04 (on time → due 06-11),
        // none by 06-11 (missed → due 06-18), 06-15 (early, on time → due 06-22),
        // 06-22 by a colleague (covered → due 06-29), none by 06-29 (missed → 07-06).
        // Due 5: on time 2, covered 1, missed 2.
        let a = building(1, Some(1));
        // B (3★): never visited → due 06-01; visited 06-03 (late: 06-01 missed, due again
        // 07-01 > June; the 06-03 visit settles nothing in June). Due 1: missed 1.
        // Its fix is 300 m away: off site.
        let b = building(2, Some(3));
        // C (5★): last visit 04-15 → due 07-14, not due in June; visited 06-20 anyway (early).
        let c = building(3, Some(5));
        // D (3★): last visit 05-05 → due 06-04; not visited in June → missed 06-04, due again
        // 07-04. Due 1: missed 1. Not visited → coverage 3 of 4.
        let d = building(4, Some(3));
        let grid = vec![a.clone(), b.clone(), c.clone(), d.clone()];

        let mut off = visit(&b, day(2026, 6, 3), me);
        off.fix.point = GeoPoint {
            lat: b.location.lat + 0.0027, // ~300 m
            lon: b.location.lon,
        };
        let inspections = vec![
            visit(&a, day(2026, 5, 28), me),
            visit(&a, day(2026, 6, 4), me),
            visit(&a, day(2026, 6, 15), me),
            visit(&a, day(2026, 6, 22), "wk-0002"),
            off,
            visit(&c, day(2026, 4, 15), me),
            visit(&c, day(2026, 6, 20), me),
            visit(&d, day(2026, 5, 5), me),
            // Another grid's building: ignored.
            visit(&building(9, Some(1)), day(2026, 6, 5), me),
        ];

        // Events: A's hazard reported 06-04, deadline 06-10 (by 06-12): no visit in [06-10, 06-12] →
        // not done. C's micro-event reported 06-01 deadline 06-19 (by 06-21): visit 06-20 → done.
        // D's hazard deadline 06-29 (by 07-01): next period. An incident on B by the worker.
        let ha = hazard(
            &a,
            morning(day(2026, 6, 4)),
            Some(day(2026, 6, 10)),
            EventStatus::Noticed,
        );
        let mc = event(
            &c,
            EventKind::MicroEvent {
                kind: crate::domain::ItemId::from("me_corridor_clutter"),
            },
            "sanitation",
            Severity::Low,
            morning(day(2026, 6, 1)),
            Some(day(2026, 6, 19)),
            EventStatus::Noticed,
        );
        let hd = hazard(
            &d,
            morning(day(2026, 5, 20)),
            Some(day(2026, 6, 29)),
            EventStatus::Noticed,
        );
        let ib = incident(
            &b,
            "criminal_case",
            Severity::High,
            morning(day(2026, 6, 3)),
        );
        let mut theirs = hazard(&a, morning(day(2026, 6, 22)), None, EventStatus::Reported);
        theirs.worker = WorkerId::from("wk-0002");
        let events = vec![ha, mc, hd, ib, theirs];

        let r = assess_worker(&WorkerId::from(me), june, &grid, &inspections, &events, &p);
        assert_eq!(r.buildings, 4);
        assert_eq!(r.visits, 4, "A 06-04, A 06-15, B 06-03, C 06-20");
        assert_eq!(r.due_visits, 7, "A 5 + B 1 + D 1");
        assert_eq!(r.on_time, 2);
        assert_eq!(r.covered_by_others, 1);
        assert_eq!(r.missed, 4);
        assert_eq!(r.pending, 0);
        assert_eq!(r.on_time_ratio, Some(2.0 / 6.0));
        assert_eq!(r.buildings_visited, 3);
        assert_eq!(r.coverage, Some(0.75));
        assert_eq!(r.off_site_visits, 1);
        assert_eq!(r.off_site_ratio, Some(0.25));
        assert_eq!(
            r.events_reported,
            EventCounts {
                hazards: 1,
                micro_events: 1,
                incidents: 1,
                total: 3
            },
            "D's hazard was reported in May; wk-0002's is not this worker's"
        );
        assert_eq!(r.follow_ups_due, 2);
        assert_eq!(r.follow_ups_done, 1);
    }

    #[test]
    fn grace_and_pending() {
        let mut p = policy();
        p.assessment.on_time_grace_days = 2;
        let me = WorkerId::from("wk-0001");
        let a = building(1, Some(1));
        // Last visit 05-29 → due 06-05; visited 06-07 (within 2 days' grace: on time) → due 06-14;
        // visited 06-13 (early, on time) → due 06-20 … the period ends 06-21: grace runs to 06-22.
        let ins = vec![
            visit(&a, day(2026, 5, 29), "wk-0001"),
            visit(&a, day(2026, 6, 7), "wk-0001"),
            visit(&a, day(2026, 6, 13), "wk-0001"),
        ];
        let period = Period::new(day(2026, 6, 1), day(2026, 6, 21)).expect("period");
        let r = assess_worker(&me, period, &[a], &ins, &[], &p);
        assert_eq!((r.due_visits, r.on_time, r.missed, r.pending), (3, 2, 0, 1));
        assert_eq!(r.on_time_ratio, Some(1.0));
    }

    #[test]
    fn an_early_rectification_verified_by_a_visit_counts_as_a_follow_up() {
        let p = policy();
        let me = WorkerId::from("wk-0001");
        let a = building(1, Some(3));
        let mut h = hazard(
            &a,
            morning(day(2026, 6, 2)),
            Some(day(2026, 6, 20)),
            EventStatus::Rectified,
        );
        let ins = vec![visit(&a, day(2026, 6, 10), "wk-0001")];
        let period = Period::new(day(2026, 6, 1), day(2026, 6, 30)).expect("period");
        let r = assess_worker(
            &me,
            period,
            std::slice::from_ref(&a),
            &ins,
            std::slice::from_ref(&h),
            &p,
        );
        assert_eq!((r.follow_ups_due, r.follow_ups_done), (1, 1));
        // Still open: the 06-10 visit was before the deadline and verifies nothing.
        h.status = EventStatus::Noticed;
        let r = assess_worker(&me, period, &[a], &ins, &[h], &p);
        assert_eq!((r.follow_ups_due, r.follow_ups_done), (1, 0));
    }

    #[test]
    fn an_empty_grid_has_no_ratios() {
        let p = policy();
        let period = Period::new(day(2026, 6, 1), day(2026, 6, 30)).expect("period");
        let r = assess_worker(&WorkerId::from("wk-0001"), period, &[], &[], &[], &p);
        assert_eq!(r.coverage, None);
        assert_eq!(r.on_time_ratio, None);
        assert_eq!(r.off_site_ratio, None);
        assert_eq!(r.due_visits, 0);
    }
}
