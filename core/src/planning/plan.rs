//! Today's plan for one worker: the grid's due buildings, most urgent first, capped per day, then
//! put in walking order from where the worker stands.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::{Building, Event, GeoPoint, GridId};
use crate::policy::Policy;

use super::due::{DueBuilding, due_list};
use super::route::{RouteMethod, walking_order};

/// One stop of the day, with the walk to it from the previous stop (or the start).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedStop {
    pub building: DueBuilding,
    pub leg_m: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayPlan {
    pub grid: GridId,
    pub day: NaiveDate,
    pub start: GeoPoint,
    /// In walking order.
    pub stops: Vec<PlannedStop>,
    /// How many of the grid's buildings were due; those beyond the daily cap wait for tomorrow.
    pub due_total: usize,
    pub walk_m: f64,
    /// The walk if the stops were taken in priority order (never shorter than `walk_m`).
    pub priority_order_m: f64,
    pub route: RouteMethod,
}

/// Plan `today` for the worker of `grid`, standing at `start`. Buildings of other grids are left
/// out; at most `policy.planning.max_stops_per_day` of the most urgent due buildings are planned.
pub fn plan_day(
    grid: &GridId,
    buildings: &[Building],
    events: &[Event],
    policy: &Policy,
    today: NaiveDate,
    start: GeoPoint,
) -> DayPlan {
    let mine: Vec<Building> = buildings
        .iter()
        .filter(|b| &b.grid == grid)
        .cloned()
        .collect();
    let mut due = due_list(&mine, events, policy, today);
    let due_total = due.len();
    due.truncate(policy.planning.max_stops_per_day);

    let points: Vec<GeoPoint> = due.iter().map(|d| d.location).collect();
    let route = walking_order(start, &points);
    let mut slots: Vec<Option<DueBuilding>> = due.into_iter().map(Some).collect();
    let mut stops = Vec::with_capacity(slots.len());
    let mut at = start;
    for k in route.order {
        if let Some(b) = slots.get_mut(k).and_then(Option::take) {
            let leg_m = at.distance_m(&b.location);
            at = b.location;
            stops.push(PlannedStop { building: b, leg_m });
        }
    }
    DayPlan {
        grid: grid.clone(),
        day: today,
        start,
        stops,
        due_total,
        walk_m: route.length_m,
        priority_order_m: route.priority_order_m,
        route: route.method,
    }
}
