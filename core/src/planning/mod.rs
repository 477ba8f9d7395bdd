//! Patrol planning: "high credit inspect less, low credit inspect more" (高信用等级少查、低信用等级多查).
//!
//! - [`next_due`] / [`due`]: when a building is next due (interval per star level, notice follow-ups).
//! - [`priority`] and [`due_list`]: which due buildings matter most (formula on [`priority`]).
//! - [`walking_order`]: an open walking path over the day's stops (method in [`route`]).
//! - [`plan_day`]: all of it for one worker's grid and day.
//!
//! Officers' lists (low-star, overdue, by jurisdiction) are queries in the store, not here.

mod due;
mod plan;
pub mod route;
#[cfg(test)]
mod tests;

pub use due::{
    Due, DueBuilding, DueReason, Priority, due, due_list, first_due, next_due, priority,
};
pub use plan::{DayPlan, PlannedStop, plan_day};
pub use route::{Route, RouteMethod, walking_order};
