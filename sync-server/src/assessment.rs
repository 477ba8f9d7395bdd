//! Worker and grid assessment (自动考核) from the stored records, through the core's
//! [`gridwalk_core::assessment::assess_worker`] (the server adds no rule of its own).
//!
//! A worker is assessed on the grid of their account's scope, with the grid's buildings as they
//! are now. A grid's assessment is its assigned worker's, followed by that of everyone else who
//! inspected or reported there during the period.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use gridwalk_core::assessment::{AssessmentError, Period, assess_worker};
use gridwalk_core::protocol::{GridAssessment, Role, Scope, WorkerAssessment};
use gridwalk_core::{GridId, Policy, WorkerId};

use crate::db::assessment::GridRecords;
use crate::db::{Database, DbError};

#[derive(Debug, thiserror::Error)]
pub enum AssessError {
    #[error(transparent)]
    Period(#[from] AssessmentError),
    #[error("the period is {days} days long; at most {max}")]
    PeriodTooLong { days: i64, max: u32 },
    #[error("no grid worker '{0}'")]
    UnknownWorker(String),
    #[error("no grid '{0}'")]
    UnknownGrid(GridId),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The period `[from, to]`, at most `max_days` days long.
pub fn period(from: NaiveDate, to: NaiveDate, max_days: u32) -> Result<Period, AssessError> {
    let p = Period::new(from, to)?;
    let days = (to - from).num_days() + 1;
    if days > i64::from(max_days) {
        return Err(AssessError::PeriodTooLong {
            days,
            max: max_days,
        });
    }
    Ok(p)
}

/// The grid a worker account patrols.
pub async fn worker_grid<D: Database>(db: &D, worker: &str) -> Result<GridId, AssessError> {
    match db.user(worker).await? {
        Some(u) if u.role == Role::Worker => match u.scope {
            Scope::Grid(g) => Ok(g),
            _ => Err(AssessError::UnknownWorker(worker.to_owned())),
        },
        _ => Err(AssessError::UnknownWorker(worker.to_owned())),
    }
}

/// A grid's buildings and records.
pub async fn grid_records<D: Database>(db: &D, grid: &GridId) -> Result<GridRecords, AssessError> {
    db.grid_records(grid)
        .await?
        .ok_or_else(|| AssessError::UnknownGrid(grid.clone()))
}

/// One worker's figures on a grid.
pub fn assess_on_grid(
    worker: &WorkerId,
    period: Period,
    g: &GridRecords,
    policy: &Policy,
) -> WorkerAssessment {
    WorkerAssessment {
        grid: g.grid.id.clone(),
        assessment: assess_worker(
            worker,
            period,
            &g.buildings,
            &g.inspections,
            &g.events,
            policy,
        ),
    }
}

/// The grid's assigned worker, then everyone else with an inspection or event in the grid
/// during the period (by name).
pub fn assess_grid(period: Period, g: &GridRecords, policy: &Policy) -> GridAssessment {
    let assigned = g.grid.worker.clone();
    let others: BTreeSet<&WorkerId> = g
        .inspections
        .iter()
        .filter(|i| period.contains(policy.local_date(i.started_at)))
        .map(|i| &i.worker)
        .chain(
            g.events
                .iter()
                .filter(|e| period.contains(policy.local_date(e.reported_at)))
                .map(|e| &e.worker),
        )
        .filter(|w| Some(*w) != assigned.as_ref())
        .collect();
    let workers = assigned
        .iter()
        .chain(others)
        .map(|w| assess_on_grid(w, period, g, policy).assessment)
        .collect();
    GridAssessment {
        grid: g.grid.id.clone(),
        period,
        assigned_worker: assigned,
        workers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_checked() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).expect("date");
        assert!(period(d(6, 1), d(6, 30), 30).is_ok());
        assert!(matches!(
            period(d(6, 1), d(7, 1), 30),
            Err(AssessError::PeriodTooLong { days: 31, max: 30 })
        ));
        assert!(matches!(
            period(d(6, 2), d(6, 1), 30),
            Err(AssessError::Period(_))
        ));
    }
}
