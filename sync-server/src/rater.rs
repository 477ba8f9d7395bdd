//! The rater: the server's authoritative star rating (星级评价), off the request path.
//!
//! A push queues the buildings its accepted records are about (`rating_queue`, see
//! [`crate::sync::effects`]); the overdue sweep queues the buildings whose events it marked
//! overdue. The rater drains the queue in bounded batches, one transaction per batch: for each
//! building it loads the file, its inspections and events (each event's status overlaid from the
//! server's `event_states`, which dispatch, notices and the sweep keep) and its last stored rating,
//! runs the core's rules ([`gridwalk_core::rating::rate_building`], [`gridwalk_core::planning`]),
//! writes the new stars, scores, open hazards, last visit and next due date with a fresh change
//! sequence when any of them changed (so the next pull delivers the building), appends a rating
//! history row when the verdict changed, and removes the queue row. A crash loses nothing: the
//! batch commits as a whole or not at all, and queue rows survive until their building is rated.
//!
//! [`rerate`] is the pure step both engines share; [`spawn`] runs the drain as a background task
//! woken after pushes and on an interval.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use gridwalk_core::protocol::RatingEntry;
use gridwalk_core::rating::{Effect, Rating, rate_building};
use gridwalk_core::{
    Building, Catalog, CatalogError, Event, Inspection, Policy, PolicyError, planning, records,
};
use serde::Serialize;
use tokio::sync::Notify;

use crate::db::{AnyDb, Database, DbError, StoredBuilding};

/// What the rules read: the catalog and the policy, both shipped data.
#[derive(Debug, Clone)]
pub struct Rules {
    pub catalog: Catalog,
    pub policy: Policy,
}

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("the shipped catalog is invalid: {0}")]
    Catalog(#[from] CatalogError),
    #[error("the shipped policy is invalid: {0}")]
    Policy(#[from] PolicyError),
}

impl Rules {
    /// The catalog and policy shipped with the server (the policy checked against the catalog).
    pub fn shipped() -> Result<Self, RulesError> {
        let catalog = Catalog::default_catalog()?;
        let policy = Policy::default_policy()?;
        policy.check_against(&catalog)?;
        Ok(Self { catalog, policy })
    }

    /// Today in the district's local time.
    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        self.policy.local_date(now)
    }
}

/// One queued building with everything its rating reads.
#[derive(Debug, Clone)]
pub struct RateInput {
    pub stored: StoredBuilding,
    pub inspections: Vec<Inspection>,
    /// With their server-side status.
    pub events: Vec<Event>,
    /// The last rating the server stored for the building.
    pub previous: Option<RatingEntry>,
}

/// What rating one building changes.
#[derive(Debug, Clone, PartialEq)]
pub struct RateOutcome {
    /// The building's new file, when any rated field changed (write it with a fresh sequence).
    pub building: Option<Building>,
    /// A new rating history row, when the verdict changed (or it is the first).
    pub entry: Option<RatingEntry>,
}

/// What a drain did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RateReport {
    /// Queue rows taken (each removed).
    pub taken: u64,
    /// Buildings rated (queued buildings that are not in the archive or were removed are only
    /// dropped from the queue).
    pub rated: u64,
    /// Buildings whose file changed and got a fresh change sequence.
    pub changed: u64,
    /// Rating history rows appended.
    pub history: u64,
}

impl std::ops::AddAssign for RateReport {
    fn add_assign(&mut self, o: Self) {
        self.taken += o.taken;
        self.rated += o.rated;
        self.changed += o.changed;
        self.history += o.history;
    }
}

/// Rates one building with the core's rules as of `today` (a local day), stamped `at`.
pub fn rerate(
    input: &RateInput,
    rules: &Rules,
    today: NaiveDate,
    at: DateTime<Utc>,
) -> RateOutcome {
    let old = &input.stored.building;
    let previous = input.previous.as_ref().map(|e| &e.rating);
    let rating = rate_building(
        old,
        &input.inspections,
        &input.events,
        previous,
        &rules.catalog,
        &rules.policy,
        today,
    );
    let live_inspections = records::live_inspections(&input.inspections, &old.code);
    let live_events = records::live_events(&input.events, &old.code);

    let mut b = old.clone();
    b.stars = rating.stars;
    b.scores = rating.scores;
    b.open_hazards = records::open_hazard_count(&live_events);
    b.last_inspected_at = old
        .last_inspected_at
        .into_iter()
        .chain(live_inspections.iter().map(|i| i.finished_at))
        .max();
    b.next_due_on = Some(planning::next_due(&b, &input.events, &rules.policy, today));

    let new_verdict = previous.is_none_or(|p| !same_verdict(p, &rating));
    RateOutcome {
        building: (&b != old).then_some(b),
        entry: new_verdict.then_some(RatingEntry {
            rated_at: at,
            rating,
        }),
    }
}

/// Whether two ratings say the same thing: the same stars, scores and basis, and the same rules
/// with the same findings, whatever day they were computed on. The change rules (first rating,
/// lowered, raised, held) are left out: re-rating after a downgrade finds no downgrade, yet
/// nothing new happened.
pub fn same_verdict(a: &Rating, b: &Rating) -> bool {
    let findings = |r: &Rating| {
        r.rules_fired
            .iter()
            .filter(|f| {
                !matches!(
                    f.effect,
                    Effect::Initial { .. }
                        | Effect::Lowered { .. }
                        | Effect::Raised { .. }
                        | Effect::Held { .. }
                )
            })
            .cloned()
            .collect::<Vec<_>>()
    };
    a.building == b.building
        && a.stars == b.stars
        && a.score_stars == b.score_stars
        && a.scores == b.scores
        && a.basis == b.basis
        && a.policy_version == b.policy_version
        && a.catalog_version == b.catalog_version
        && findings(a) == findings(b)
}

/// Drains the whole queue in batches of `batch`; returns the totals.
pub async fn drain<D: Database>(
    db: &D,
    rules: &Arc<Rules>,
    today: NaiveDate,
    batch: usize,
) -> Result<RateReport, DbError> {
    let mut total = RateReport::default();
    loop {
        let r = db.rate_queued(rules.clone(), today, batch.max(1)).await?;
        total += r;
        if r.taken == 0 {
            return Ok(total);
        }
    }
}

/// How the background rater runs.
#[derive(Debug, Clone, Copy)]
pub struct RaterSettings {
    /// Buildings per transaction.
    pub batch: usize,
    /// Drain at least this often even when no push woke the rater.
    pub interval: Duration,
    /// After the bell, wait for this long without another ring (ten times this at most).
    pub settle: Duration,
}

/// Wakes the background rater (after a push).
#[derive(Debug, Clone, Default)]
pub struct RaterBell(Arc<Notify>);

impl RaterBell {
    pub fn ring(&self) {
        self.0.notify_one();
    }
}

/// Starts the background rater: drains the queue whenever rung and every `interval`, until the
/// returned handle is aborted (the server's shutdown). A failed drain is logged and retried at
/// the next wake-up; the queue keeps the work.
pub fn spawn(
    db: AnyDb,
    rules: Arc<Rules>,
    bell: RaterBell,
    settings: RaterSettings,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let today = rules.today(Utc::now());
            match drain(&db, &rules, today, settings.batch).await {
                Ok(r) if r.taken > 0 => tracing::info!(
                    rated = r.rated,
                    changed = r.changed,
                    history = r.history,
                    "rater"
                ),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "rater: drain failed; retrying later"),
            }
            tokio::select! {
                () = bell.0.notified() => settle(&bell, settings.settle).await,
                () = tokio::time::sleep(settings.interval) => {}
            }
        }
    })
}

/// Returns once the bell has been quiet for `quiet`, or after ten times `quiet` of rings.
async fn settle(bell: &RaterBell, quiet: Duration) {
    let deadline = tokio::time::Instant::now() + quiet * 10;
    loop {
        tokio::select! {
            () = bell.0.notified() => {}
            () = tokio::time::sleep(quiet) => return,
            () = tokio::time::sleep_until(deadline) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[tokio::test]
    async fn the_rater_waits_for_the_bell_to_be_quiet() {
        let bell = RaterBell::default();
        let quiet = Duration::from_millis(60);
        let start = Instant::now();
        let ringer = bell.clone();
        let rings = tokio::spawn(async move {
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                ringer.ring();
            }
            Instant::now()
        });
        settle(&bell, quiet).await;
        let last_ring = rings.await.expect("ringer");
        // Settling ends only after a full quiet period following the last ring.
        assert!(
            last_ring.elapsed() >= quiet,
            "settled {:?} after the last ring",
            last_ring.elapsed()
        );
        assert!(start.elapsed() >= Duration::from_millis(120));
    }

    #[tokio::test]
    async fn the_rater_does_not_wait_forever_under_endless_pushes() {
        let bell = RaterBell::default();
        let quiet = Duration::from_millis(60);
        let ringer = bell.clone();
        let rings = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                ringer.ring();
            }
        });
        let start = Instant::now();
        settle(&bell, quiet).await;
        let waited = start.elapsed();
        rings.abort();
        assert!(waited >= quiet * 10, "{waited:?}");
        assert!(waited < Duration::from_secs(5), "{waited:?}");
    }
}
