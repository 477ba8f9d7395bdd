//! One grid's buildings and their current state: stars and scores, contacts, when they were last
//! inspected and are next due, open events (open hazards) and the blacklist.
//!
//! The current state agrees with the star rules for the drawn stars: the scores are those of the
//! latest checklist, drawn to earn the stars (`checklist`); an open hazard or micro-event is past
//! its notice deadline, and an open incident is filed under a capped category, only where the cap
//! does not lower the stars. The final rating (`settle`) makes it exact.

use chrono::{DateTime, NaiveDate, Utc};
use rand::{Rng, RngExt};

use super::checklist;
use super::code::CodeParts;
use super::context::{Ctx, at_work, chance, days_before, pick};
use super::events::{self, Phase, Subject};
use super::layout::{Layout, PlannedGrid};
use super::names;
use super::spec::SynthError;
use crate::domain::{Building, Event, GeoPoint, ItemOutcome, Stars};
use crate::planning;

/// Buildings keep this fraction of their grid's width and height clear of its edges.
const EDGE_MARGIN: f64 = 0.08;

/// When the building was last inspected; for one never inspected (newly registered), the day its
/// first visit is due instead ([`planning::first_due`] of the day it was registered). Visits are
/// spaced by the policy's interval for the building's stars.
fn inspection_state(
    ctx: &Ctx<'_>,
    stars: Option<Stars>,
    rng: &mut impl Rng,
) -> (Option<DateTime<Utc>>, Option<NaiveDate>) {
    let p = ctx.profile;
    let interval = ctx.interval_days(stars);
    if stars.is_none() && chance(rng, p.unrated_never_inspected_share) {
        let registered = days_before(ctx.today(), rng.random_range(0..=2 * interval));
        return (None, Some(planning::first_due(registered, ctx.policy)));
    }
    let days_ago = if chance(rng, p.overdue_share) {
        interval + rng.random_range(1..=p.max_overdue_days)
    } else {
        rng.random_range(0..=interval)
    };
    let last = days_before(ctx.today(), days_ago);
    (Some(at_work(last, rng)), None)
}

fn floors_and_units(ctx: &Ctx<'_>, rng: &mut impl Rng) -> (crate::domain::BuildingUse, u16, u32) {
    let shape = &ctx.profile.usages[pick(rng, &ctx.usage_weights)];
    let weights: Vec<f64> = shape.floors.iter().map(|f| f.weight).collect();
    let band = shape.floors[pick(rng, &weights)];
    let floors = rng.random_range(band.min..=band.max);
    let rental_floors = floors.saturating_sub(shape.non_rental_floors).max(1);
    let per_floor = rng.random_range(shape.units_per_floor_min..=shape.units_per_floor_max);
    let units = (u32::from(rental_floors) * per_floor).max(1);
    (shape.usage, floors, units)
}

/// Appends the grid's buildings, and their open events and blacklist incidents. Returns, per
/// building of the grid, the outcomes of its latest checklist (`None` for unrated buildings, whose
/// visits so far checked nothing); `history` writes them into the last inspection's record.
pub(crate) fn generate(
    ctx: &Ctx<'_>,
    layout: &Layout,
    planned: &PlannedGrid,
    rng: &mut impl Rng,
    buildings: &mut Vec<Building>,
    events: &mut Vec<Event>,
) -> Result<Vec<Option<Vec<ItemOutcome>>>, SynthError> {
    let mut latest_checklists = Vec::with_capacity(planned.buildings as usize);
    let p = ctx.profile;
    let street = &layout.streets[planned.street];
    let community = &layout.communities[planned.community];
    let worker = &planned.worker;
    for seq in 1..=planned.buildings {
        let code = CodeParts::building(
            planned.street_no,
            planned.community_no,
            planned.grid_no,
            seq,
        )
        .to_code()
        .map_err(crate::domain::ValidationError::from)?;
        let (lat, lon) = planned.rect.sample_inside(EDGE_MARGIN, rng);
        let location = GeoPoint::new(lat, lon)?;
        let (usage, floors, units) = floors_and_units(ctx, rng);
        let stars = ctx.star_levels[pick(rng, &ctx.star_weights)];
        let (latest, scores) = match stars {
            Some(s) => {
                let (outcomes, scores) = checklist::latest(ctx, s, rng);
                (Some(outcomes), Some(scores))
            }
            None => (None, None),
        };
        let blacklisted = stars == Some(Stars::MIN) && chance(rng, ctx.blacklist_chance);
        let owner = names::contact(rng);
        let manager = chance(rng, p.manager_chance).then(|| names::contact(rng));
        let building_head =
            chance(rng, *p.building_head_chance.get(stars)).then(|| names::contact(rng));
        let (last_inspected_at, first_visit_due) = inspection_state(ctx, stars, rng);

        let subject = Subject {
            code: &code,
            location,
            has_manager: manager.is_some(),
            worker,
        };
        let mut open_hazards = 0;
        if chance(rng, *p.open_event_chance.get(stars)) {
            for _ in 0..rng.random_range(1..=p.max_open_events) {
                let Some(kind) = events::draw_kind(ctx, stars, rng) else {
                    break;
                };
                let may_be_overdue = ctx.may_be_overdue(stars, kind);
                let e = events::draw_event(
                    ctx,
                    &subject,
                    kind,
                    ctx.incidents_for(stars),
                    Phase::Open,
                    rng,
                    // Past its deadline only where the overdue cap leaves the stars alone.
                    |deadline_days, rng| {
                        let max_age = match deadline_days {
                            Some(d) if !may_be_overdue => d.min(p.open_event_max_age_days),
                            _ => p.open_event_max_age_days,
                        };
                        days_before(ctx.today(), rng.random_range(0..=max_age))
                    },
                );
                open_hazards += u32::from(e.status.is_open());
                events.push(e);
            }
        }
        if blacklisted {
            // The closed incident that put the building on the blacklist.
            // Whatever its cap, it cannot lower a 1★ building.
            let e = events::draw_event(
                ctx,
                &subject,
                events::Kind::Incident,
                &ctx.incident_categories,
                Phase::Closed,
                rng,
                |_, rng| days_before(ctx.today(), rng.random_range(14..=p.history_days.max(14))),
            );
            events.push(e);
        }

        let lane = (seq - 1) / 12 + 1;
        let number = (seq - 1) % 12 + 1;
        let mut building = Building {
            address: format!(
                "深圳市宝安区{}{}{}区{lane}巷{number}号",
                street.name_zh, community.name_zh, planned.grid_no
            ),
            code,
            location,
            street: street.id.clone(),
            community: community.id.clone(),
            grid: planned.grid.id.clone(),
            floors,
            units,
            usage,
            owner,
            manager,
            building_head,
            stars,
            scores,
            open_hazards,
            blacklisted,
            last_inspected_at,
            next_due_on: first_visit_due,
        };
        // The archive's due date is the regular schedule as the planner computes it. Notice
        // deadlines of open events are left out: the planner adds those follow-ups from the events.
        building.next_due_on = Some(planning::next_due(&building, &[], ctx.policy, ctx.today()));
        buildings.push(building);
        latest_checklists.push(latest);
    }
    Ok(latest_checklists)
}
