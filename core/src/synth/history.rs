//! A grid's past: inspection records ending at each building's last inspection, and events that
//! were reported and have since been rectified or closed.

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, RngExt};

use super::checklist;
use super::context::{Ctx, at_work, chance, count, days_before};
use super::events::{self, Kind, Phase, Subject};
use super::layout::PlannedGrid;
use super::rng::record_id;
use crate::domain::{Building, ChecklistResult, Event, Inspection, ItemOutcome, WorkerId};

/// An inspection record with the given checklist outcomes (catalog order; empty: nothing was
/// checked, as on the visits to a building not rated yet).
fn inspection(
    ctx: &Ctx<'_>,
    building: &Building,
    worker: &WorkerId,
    finished_at: DateTime<Utc>,
    outcomes: &[ItemOutcome],
    rng: &mut impl Rng,
) -> Inspection {
    let started_at = finished_at - Duration::minutes(rng.random_range(5..=25));
    let fix_at = started_at + Duration::minutes(rng.random_range(1..=4));
    let mut results = Vec::with_capacity(outcomes.len());
    let mut findings = Vec::new();
    for (item, &outcome) in ctx.checklist.iter().zip(outcomes) {
        if outcome == ItemOutcome::Fail {
            findings.push(format!("{}：不符合", item.label.zh_cn));
        }
        results.push(ChecklistResult {
            item: item.id.clone(),
            category: item.category,
            outcome,
        });
    }
    let note = if results.is_empty() {
        "登记走访，尚未评级".to_owned()
    } else if findings.is_empty() {
        "巡查正常".to_owned()
    } else {
        format!("发现{}项问题", findings.len())
    };
    Inspection {
        id: record_id(rng, finished_at),
        building: building.code.clone(),
        worker: worker.clone(),
        started_at,
        finished_at,
        fix: ctx.fix_near(building.location, fix_at, rng),
        results,
        findings,
        photos: Vec::new(),
        note,
        corrects: None,
    }
}

/// Appends the history of the grid's `buildings`. Buildings never inspected have none. The newest
/// record of a building carries `latest_checklists[i]`, the checklist its scores come from; older
/// ones are drawn around its scores (unrated buildings: nothing checked).
pub(crate) fn generate(
    ctx: &Ctx<'_>,
    planned: &PlannedGrid,
    buildings: &[Building],
    latest_checklists: &[Option<Vec<ItemOutcome>>],
    rng: &mut impl Rng,
    inspections: &mut Vec<Inspection>,
    events: &mut Vec<Event>,
) {
    let p = ctx.profile;
    let h = ctx.spec.history_per_building;
    let worker = &planned.worker;
    let oldest = days_before(ctx.today(), p.history_days);
    for (b, latest) in buildings.iter().zip(latest_checklists) {
        let Some(last) = b.last_inspected_at else {
            continue;
        };
        let interval = ctx.interval_days(b.stars);
        // The newest record is the building's last inspection; earlier ones step back by about
        // the interval, within the history window.
        let mut finished = last;
        for k in 0..count(rng, h) {
            if k > 0 {
                let day = days_before(finished.date_naive(), interval + rng.random_range(0..=2));
                if day < oldest {
                    break;
                }
                finished = at_work(day, rng);
            }
            let older;
            let outcomes = match (k, latest, b.scores) {
                (0, Some(latest), _) => latest.as_slice(),
                (_, _, Some(scores)) => {
                    older = checklist::around(ctx, &scores, rng);
                    older.as_slice()
                }
                _ => &[],
            };
            inspections.push(inspection(ctx, b, worker, finished, outcomes, rng));
        }
        let subject = Subject {
            code: &b.code,
            location: b.location,
            has_manager: b.manager.is_some(),
            worker,
        };
        for _ in 0..count(rng, h * p.closed_events_per_inspection) {
            let kind = if chance(rng, 0.7) {
                Kind::MicroEvent
            } else {
                Kind::Hazard
            };
            let reported = days_before(ctx.today(), rng.random_range(15..=p.history_days));
            events.push(events::draw_event(
                ctx,
                &subject,
                kind,
                &ctx.incident_categories,
                Phase::Closed,
                rng,
                |_, _| reported,
            ));
        }
    }
}
