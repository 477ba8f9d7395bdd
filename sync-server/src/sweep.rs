//! The overdue sweep (逾期扫描): a scheduled job that marks overdue work and applies the downgrade
//! rules (降星摘牌), as a list of steps each of which is idempotent and restart-safe on its own:
//!
//! 1. **events**: open hazards and micro-events whose rectification deadline is before today
//!    become `overdue` in `event_states` (only those not overdue yet), and their buildings are
//!    queued for rating — in batches, each batch one transaction with its queue rows;
//! 2. **notices**: notices whose deadline passed while their event is still open are marked
//!    overdue, and such events too (dispatch's step, [`Database::mark_overdue_notices`]);
//! 3. **rating**: the queue is drained by the rater ([`crate::rater`]), where the core's caps
//!    lower the stars of buildings with an overdue hazard.
//!
//! A second run finds
//! nothing left to mark and nothing queued, so it changes nothing; a run killed between batches
//! leaves whole batches behind (marked events with their buildings queued), and the next run
//! finishes the job with the same result as one uninterrupted run.

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use gridwalk_core::EventStatus;
use serde::{Deserialize, Serialize};

use crate::db::{AnyDb, Database, DbError};
use crate::rater::{self, RateReport, Rules};

/// The statuses an event can become overdue from (the core's lifecycle decides).
pub fn overdue_from() -> Vec<&'static str> {
    [
        EventStatus::Reported,
        EventStatus::Dispatched,
        EventStatus::Noticed,
        EventStatus::Rectified,
        EventStatus::Overdue,
        EventStatus::Closed,
    ]
    .into_iter()
    .filter(|s| s.can_move_to(EventStatus::Overdue))
    .map(EventStatus::as_str)
    .collect()
}

/// [`overdue_from`] as an SQL list of literals.
pub fn overdue_from_sql() -> String {
    overdue_from()
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The event kinds with a rectification deadline (storage names, see `sync::effects::kind_str`):
/// incidents are cases, not things to rectify, and never become overdue.
pub const OVERDUE_KINDS: [&str; 2] = ["hazard", "micro_event"];
/// [`OVERDUE_KINDS`] as an SQL list of literals.
pub const OVERDUE_KINDS_SQL: &str = "'hazard', 'micro_event'";

/// The rater's and the sweep's settings (config section `[stars]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StarsConfig {
    /// Run the rater and the sweep in the background while serving. Off: ratings happen only
    /// through `gridwalk-server sweep` (and the API's callers in tests).
    pub background: bool,
    /// Buildings rated per transaction.
    pub rater_batch: usize,
    /// The rater drains the queue after every push and at least this often.
    pub rater_interval_secs: u64,
    /// After a push the rater waits until no push has come for this long (at most ten times as
    /// long), so a phone sending a backlog in many batches is rated once, after its last batch,
    /// instead of competing with it for the writer after every batch.
    pub rater_settle_ms: u64,
    /// Events marked overdue per transaction.
    pub sweep_batch: usize,
    /// The sweep runs when the server starts and then this often ("daily-ish").
    pub sweep_interval_secs: u64,
}

impl Default for StarsConfig {
    fn default() -> Self {
        Self {
            background: true,
            rater_batch: 500,
            rater_interval_secs: 60,
            rater_settle_ms: 250,
            sweep_batch: 1_000,
            sweep_interval_secs: 6 * 3600,
        }
    }
}

impl StarsConfig {
    /// `Err((field, message))` for a setting that cannot work.
    pub fn check(&self) -> Result<(), (&'static str, &'static str)> {
        if self.rater_batch == 0 {
            return Err(("stars.rater_batch", "must be positive"));
        }
        if self.sweep_batch == 0 {
            return Err(("stars.sweep_batch", "must be positive"));
        }
        if self.rater_interval_secs == 0 {
            return Err(("stars.rater_interval_secs", "must be positive"));
        }
        if self.sweep_interval_secs == 0 {
            return Err(("stars.sweep_interval_secs", "must be positive"));
        }
        Ok(())
    }

    pub fn options(&self) -> SweepOptions {
        SweepOptions {
            batch: self.sweep_batch,
            rate_batch: self.rater_batch,
            max_batches: None,
        }
    }
}

/// How one sweep runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepOptions {
    /// Events marked per transaction.
    pub batch: usize,
    /// Buildings rated per transaction.
    pub rate_batch: usize,
    /// Stop after this many transactions in all (a test stands in for a kill with it); `None`
    /// runs to the end.
    pub max_batches: Option<usize>,
}

/// What a sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub day: Option<NaiveDate>,
    /// Events newly marked overdue.
    pub events_overdue: u64,
    /// Notices newly marked overdue.
    pub notices_overdue: u64,
    pub rating: RateReport,
    /// Transactions committed.
    pub batches: usize,
    /// Stopped by `max_batches` before the end.
    pub stopped: bool,
}

/// Runs the sweep as of local day `today` (see the module docs).
pub async fn sweep_overdue<D: Database>(
    db: &D,
    rules: &Arc<Rules>,
    today: NaiveDate,
    opts: SweepOptions,
) -> Result<SweepReport, DbError> {
    let mut report = SweepReport {
        day: Some(today),
        ..SweepReport::default()
    };
    let mut budget = Budget(opts.max_batches);
    let batch = opts.batch.max(1);
    let done = 'run: {
        // Step 1: events past their deadline.
        loop {
            if !budget.take() {
                break 'run false;
            }
            let n = db.mark_overdue_events(today, batch, Utc::now()).await?;
            report.batches += 1;
            report.events_overdue += n;
            if n < batch as u64 {
                break;
            }
        }
        // Step 2: notices past their deadline (one transaction).
        if !budget.take() {
            break 'run false;
        }
        let n = db.mark_overdue_notices(today).await?;
        report.batches += 1;
        report.notices_overdue += n.notices;
        report.events_overdue += n.events;
        // Step 3: the downgrades, through the rater.
        loop {
            if !budget.take() {
                break 'run false;
            }
            let r = db
                .rate_queued(rules.clone(), today, opts.rate_batch.max(1))
                .await?;
            report.batches += 1;
            report.rating += r;
            if r.taken == 0 {
                break;
            }
        }
        true
    };
    report.stopped = !done;
    Ok(report)
}

/// Transactions left before a simulated kill.
struct Budget(Option<usize>);

impl Budget {
    /// Spends one transaction; false when none is left.
    fn take(&mut self) -> bool {
        match &mut self.0 {
            None => true,
            Some(0) => false,
            Some(n) => {
                *n -= 1;
                true
            }
        }
    }
}

/// Starts the scheduled sweep: at once, then every `interval`, until aborted. A failed run is
/// logged; the next one picks up where it stopped.
pub fn spawn(
    db: AnyDb,
    rules: Arc<Rules>,
    opts: SweepOptions,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let today = rules.today(Utc::now());
            match sweep_overdue(&db, &rules, today, opts).await {
                Ok(r) => tracing::info!(
                    %today,
                    events_overdue = r.events_overdue,
                    rated = r.rating.rated,
                    changed = r.rating.changed,
                    "overdue sweep"
                ),
                Err(e) => tracing::error!(error = %e, "overdue sweep failed; retrying next time"),
            }
            tokio::time::sleep(interval).await;
        }
    })
}

/// The background work of a serving server (the rater and the sweep), stopped when dropped.
#[derive(Debug, Default)]
pub struct Background(Vec<tokio::task::JoinHandle<()>>);

impl Background {
    /// Starts the rater and the sweep when `config.background` is on.
    pub fn start(
        db: &AnyDb,
        rules: &Arc<Rules>,
        bell: &rater::RaterBell,
        config: &StarsConfig,
    ) -> Self {
        if !config.background {
            return Self::default();
        }
        Self(vec![
            rater::spawn(
                db.clone(),
                rules.clone(),
                bell.clone(),
                rater::RaterSettings {
                    batch: config.rater_batch,
                    interval: Duration::from_secs(config.rater_interval_secs),
                    settle: Duration::from_millis(config.rater_settle_ms),
                },
            ),
            spawn(
                db.clone(),
                rules.clone(),
                config.options(),
                Duration::from_secs(config.sweep_interval_secs),
            ),
        ])
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}
