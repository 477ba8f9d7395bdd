//! Today's plan (今日巡查计划) as the apps see it: the due buildings of one grid, most urgent first,
//! capped per day, in walking order.

use gridwalk_core as core;
use gridwalk_core::planning;

use crate::building::GeoPoint;
use crate::types::{LocalDate, stars};

/// Why a building is due.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum DueReason {
    /// Never inspected.
    FirstVisit,
    /// The last visit plus the interval for the building's stars.
    Regular {
        last_visit: LocalDate,
        interval_days: u32,
    },
    /// A notice deadline: verify the rectification.
    FollowUp { event: String, deadline: LocalDate },
    /// Visited after the deadline and the event is still open: look again.
    Recheck {
        event: String,
        deadline: LocalDate,
        last_visit: LocalDate,
    },
}

impl From<planning::DueReason> for DueReason {
    fn from(r: planning::DueReason) -> Self {
        match r {
            planning::DueReason::FirstVisit => Self::FirstVisit,
            planning::DueReason::Regular {
                last_visit,
                interval_days,
            } => Self::Regular {
                last_visit: last_visit.into(),
                interval_days,
            },
            planning::DueReason::FollowUp { event, deadline } => Self::FollowUp {
                event: event.to_string(),
                deadline: deadline.into(),
            },
            planning::DueReason::Recheck {
                event,
                deadline,
                last_visit,
            } => Self::Recheck {
                event: event.to_string(),
                deadline: deadline.into(),
                last_visit: last_visit.into(),
            },
        }
    }
}

/// The priority score and its weighted parts (formula: docs/planning.md).
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct Priority {
    pub total: f64,
    pub overdue: f64,
    pub stars: f64,
    pub open_hazards: f64,
    pub recent_events: f64,
    pub follow_up: f64,
}

impl From<planning::Priority> for Priority {
    fn from(p: planning::Priority) -> Self {
        Self {
            total: p.total,
            overdue: p.overdue,
            stars: p.stars,
            open_hazards: p.open_hazards,
            recent_events: p.recent_events,
            follow_up: p.follow_up,
        }
    }
}

/// One stop of the day.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PlannedStop {
    pub building: String,
    pub address: String,
    pub location: GeoPoint,
    pub stars: Option<u8>,
    pub due_on: LocalDate,
    pub reason: DueReason,
    /// 0 on the due day itself.
    pub days_overdue: u32,
    pub open_hazards: u32,
    pub recent_events: u32,
    pub priority: Priority,
    /// The walk from the previous stop (or the start), metres.
    pub leg_m: f64,
}

/// How the walking order was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum RouteMethod {
    PriorityOrder,
    NearestNeighbourImproved,
    PriorityOrderImproved,
}

impl From<planning::RouteMethod> for RouteMethod {
    fn from(m: planning::RouteMethod) -> Self {
        match m {
            planning::RouteMethod::PriorityOrder => Self::PriorityOrder,
            planning::RouteMethod::NearestNeighbourImproved => Self::NearestNeighbourImproved,
            planning::RouteMethod::PriorityOrderImproved => Self::PriorityOrderImproved,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DayPlan {
    pub grid: String,
    pub day: LocalDate,
    pub start: GeoPoint,
    /// In walking order.
    pub stops: Vec<PlannedStop>,
    /// How many of the grid's buildings were due; those beyond the daily cap wait.
    pub due_total: u32,
    pub walk_m: f64,
    /// The walk in priority order (never shorter than `walk_m`).
    pub priority_order_m: f64,
    pub route: RouteMethod,
}

/// The core's plan with each stop's address from `buildings` (the grid's buildings).
pub(crate) fn day_plan(plan: planning::DayPlan, buildings: &[core::Building]) -> DayPlan {
    let stops = plan
        .stops
        .into_iter()
        .map(|s| {
            let b = s.building;
            let address = buildings
                .iter()
                .find(|x| x.code == b.code)
                .map(|x| x.address.clone())
                .unwrap_or_default();
            PlannedStop {
                building: b.code.into(),
                address,
                location: b.location.into(),
                stars: stars(b.stars),
                due_on: b.due.on.into(),
                reason: b.due.reason.into(),
                days_overdue: b.days_overdue,
                open_hazards: b.open_hazards,
                recent_events: b.recent_events,
                priority: b.priority.into(),
                leg_m: s.leg_m,
            }
        })
        .collect();
    DayPlan {
        grid: plan.grid.0,
        day: plan.day.into(),
        start: plan.start.into(),
        stops,
        due_total: u32::try_from(plan.due_total).unwrap_or(u32::MAX),
        walk_m: plan.walk_m,
        priority_order_m: plan.priority_order_m,
        route: plan.route.into(),
    }
}
