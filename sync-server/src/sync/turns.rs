//! Push turns: a device's batches are merged in the order of their numbers (ADR 0047).
//!
//! A phone keeps up to two push requests on the wire, so the server parses and checks one batch
//! while it merges the one before. The two travel on separate connections and the later one can
//! reach the merge first; rather than refuse it for a gap, it waits here, briefly, until the
//! batch before it has committed. Nothing depends on the wait for correctness: once `patience`
//! runs out (the earlier batch was lost, or went to another server instance) the merge goes ahead
//! and answers a gap as it always has, and the phone sends the batch again.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use gridwalk_core::protocol::DeviceId;
use tokio::sync::Notify;

#[derive(Debug, Default)]
pub struct PushTurns {
    /// The last number merged per device, as this process saw it.
    last: Mutex<HashMap<DeviceId, u64>>,
    merged: Notify,
}

impl PushTurns {
    /// Returns when a batch whose first new number is `first_seq` can merge without a gap, when the
    /// device has not pushed to this process yet, or after `patience`.
    pub async fn wait_for(&self, device: &DeviceId, first_seq: u64, patience: Duration) {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            // Registered before the check, so a merge between the check and the wait wakes us.
            let merged = self.merged.notified();
            tokio::pin!(merged);
            merged.as_mut().enable();
            if self.ready(device, first_seq) {
                return;
            }
            if tokio::time::timeout_at(deadline, merged).await.is_err() {
                return;
            }
        }
    }

    fn ready(&self, device: &DeviceId, first_seq: u64) -> bool {
        let last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        last.get(device)
            .is_none_or(|&l| first_seq <= l.saturating_add(1))
    }

    /// Notes that `device`'s numbers up to `last_seq` are merged, and wakes the batches waiting.
    pub fn merged(&self, device: &DeviceId, last_seq: u64) {
        {
            let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
            let l = last.entry(device.clone()).or_insert(0);
            *l = (*l).max(last_seq);
        }
        self.merged.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> DeviceId {
        DeviceId::parse("phone-1").expect("device id")
    }

    #[tokio::test]
    async fn a_later_batch_waits_for_the_one_before_and_goes_on_when_it_merges() {
        let turns = std::sync::Arc::new(PushTurns::default());
        turns.merged(&device(), 1_000);
        let t = turns.clone();
        let waiting = tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            t.wait_for(&device(), 2_001, Duration::from_secs(10)).await;
            started.elapsed()
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "2,001 must wait for 1,001–2,000");
        turns.merged(&device(), 2_000);
        let waited = waiting.await.expect("task");
        assert!(
            waited < Duration::from_secs(5),
            "woken by the merge, not the deadline: {waited:?}"
        );
    }

    #[tokio::test]
    async fn an_unknown_device_or_the_next_number_does_not_wait_and_patience_runs_out() {
        let turns = PushTurns::default();
        assert!(turns.ready(&device(), 5_001), "no history: no wait");
        turns.merged(&device(), 5_000);
        assert!(turns.ready(&device(), 5_001));
        assert!(turns.ready(&device(), 17), "a resend of old numbers");
        assert!(!turns.ready(&device(), 5_002));
        let started = tokio::time::Instant::now();
        turns
            .wait_for(&device(), 9_000, Duration::from_millis(30))
            .await;
        assert!(started.elapsed() >= Duration::from_millis(30));
    }
}
