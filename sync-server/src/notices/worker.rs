//! The delivery worker: claims due notices with a lease, sends each through the transport, and
//! stores the result guarded by the attempt number. A crash mid-send leaves the notice `sending`
//! with a lease; when the lease runs out the next claim retries it (one attempt used), so a notice
//! is never lost and a late result from a dead claim never overwrites a newer one. Delivery is at
//! least once; receivers deduplicate on the notice id.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::NoticePolicy;
use super::transport::{NoticeTransport, SendOutcome};
use super::webhook::{WebhookError, WebhookTransport};
use crate::db::dispatch::{NoticeClaim, NoticeFinish, NoticeResult};
use crate::db::{AnyDb, Database, DbError};

/// What one [`NoticeWorker::deliver_due`] pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub claimed: u32,
    pub delivered: u32,
    /// Failed this time, scheduled again.
    pub retrying: u32,
    /// Given up (a permanent refusal or the attempt cap).
    pub failed: u32,
    /// Results not stored because the claim was lost (the lease ran out first).
    pub lost: u32,
}

#[derive(Debug, Clone)]
pub struct NoticeWorker<D, T> {
    db: D,
    transport: Arc<T>,
    policy: NoticePolicy,
}

impl<D: Database + Clone, T: NoticeTransport> NoticeWorker<D, T> {
    pub fn new(db: D, transport: T, policy: NoticePolicy) -> Self {
        Self {
            db,
            transport: Arc::new(transport),
            policy,
        }
    }

    /// One pass: claims up to `limit` notices due at `now`, sends them concurrently (so a pass
    /// lasts about one transport timeout, well inside the lease), stores each result. Callable
    /// directly (tests, tools); the background loop calls it with the clock.
    pub async fn deliver_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<DeliveryReport, DbError> {
        let claimed = self
            .db
            .claim_notices(NoticeClaim {
                now,
                limit,
                lease_until: now + self.policy.lease(),
                max_attempts: self.policy.max_attempts,
            })
            .await?;
        let mut report = DeliveryReport {
            claimed: u32::try_from(claimed.len()).unwrap_or(u32::MAX),
            ..DeliveryReport::default()
        };
        let mut sends = JoinSet::new();
        for (i, c) in claimed.iter().enumerate() {
            let transport = self.transport.clone();
            let message = c.message.clone();
            sends.spawn(async move { (i, transport.send(&message).await) });
        }
        let mut outcomes: Vec<Option<SendOutcome>> = vec![None; claimed.len()];
        while let Some(done) = sends.join_next().await {
            if let Ok((i, outcome)) = done {
                outcomes[i] = Some(outcome);
            }
        }
        for (c, outcome) in claimed.into_iter().zip(outcomes) {
            // A send task that panicked leaves no outcome: try again later.
            let outcome = outcome
                .unwrap_or_else(|| SendOutcome::Retryable("notice transport failed".to_owned()));
            let result = match outcome {
                SendOutcome::Delivered => NoticeResult::Delivered,
                SendOutcome::Retryable(error) if c.attempt < self.policy.max_attempts => {
                    NoticeResult::Retry {
                        error,
                        at: now + self.policy.backoff(c.attempt),
                    }
                }
                SendOutcome::Retryable(error) => NoticeResult::Failed {
                    error: format!("{error}; gave up after {} attempts", c.attempt),
                },
                SendOutcome::Permanent(error) => NoticeResult::Failed { error },
            };
            let kept = self
                .db
                .finish_notice(NoticeFinish {
                    notice: c.message.notice_id,
                    attempt: c.attempt,
                    result: result.clone(),
                    now,
                })
                .await?;
            match (kept, result) {
                (false, _) => report.lost += 1,
                (true, NoticeResult::Delivered) => report.delivered += 1,
                (true, NoticeResult::Retry { .. }) => report.retrying += 1,
                (true, NoticeResult::Failed { .. }) => report.failed += 1,
            }
        }
        Ok(report)
    }

    /// Runs passes on the clock until `stop` says so: every poll interval, and again at once
    /// while passes come back full.
    pub fn spawn(self, mut stop: watch::Receiver<bool>) -> JoinHandle<()>
    where
        D: 'static,
        T: 'static,
    {
        tokio::spawn(async move {
            let every = StdDuration::from_secs(self.policy.poll_interval_secs);
            loop {
                if *stop.borrow() {
                    break;
                }
                let pass = tokio::select! {
                    // A pass cut short leaves its claims to their leases: retried, not lost.
                    _ = stop.changed() => break,
                    r = self.deliver_due(Utc::now(), self.policy.batch) => r,
                };
                let full = match pass {
                    Ok(r) => {
                        if r.claimed > 0 {
                            tracing::info!(
                                claimed = r.claimed,
                                delivered = r.delivered,
                                retrying = r.retrying,
                                failed = r.failed,
                                lost = r.lost,
                                "notice delivery"
                            );
                        }
                        r.claimed == self.policy.batch
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "notice delivery pass failed");
                        false
                    }
                };
                if full {
                    continue;
                }
                tokio::select! {
                    _ = stop.changed() => {}
                    () = tokio::time::sleep(every) => {}
                }
            }
        })
    }
}

/// A running delivery loop.
#[derive(Debug)]
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl WorkerHandle {
    pub fn start<D: Database + Clone, T: NoticeTransport>(worker: NoticeWorker<D, T>) -> Self {
        let (stop, rx) = watch::channel(false);
        Self {
            stop,
            task: worker.spawn(rx),
        }
    }

    /// Stops at once; a notice being sent keeps its lease and is retried when the lease runs out.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts the webhook delivery loop when a webhook URL is configured (`serve` calls this).
pub fn start_webhook(
    db: &AnyDb,
    policy: &NoticePolicy,
) -> Result<Option<WorkerHandle>, WebhookError> {
    let Some(url) = &policy.webhook_url else {
        tracing::warn!("no notice webhook configured (notices.webhook_url): notices stay queued");
        return Ok(None);
    };
    let transport = WebhookTransport::new(url, StdDuration::from_secs(policy.timeout_secs))?;
    tracing::info!("notice delivery to the configured webhook started");
    Ok(Some(WorkerHandle::start(NoticeWorker::new(
        db.clone(),
        transport,
        policy.clone(),
    ))))
}
