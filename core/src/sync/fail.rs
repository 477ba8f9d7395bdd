//! Simulated crashes at each step of a sync, for tests: an armed point makes the sync stop dead
//! there with [`SyncError::Killed`](super::SyncError::Killed) — no clean-up, exactly as if the app
//! were killed — so a test can reopen the archive and check that the next sync completes with
//! nothing lost and nothing duplicated. Unarmed points cost one uncontended lock.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// The steps of a sync where the process can die.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailPoint {
    /// Logged in, nothing done yet.
    BeforePush,
    /// A batch is numbered and marked in flight, nothing sent.
    AfterClaim,
    /// The server committed the batch and answered; the answer is not recorded (a lost ack).
    AfterPushAnswered,
    /// A batch's answer is recorded, in the same transaction as the claim of the batch after the
    /// one now with the server; nothing more is sent.
    AfterPushApplied,
    /// One chunk of a photo reached the server; the rest did not.
    AfterPhotoChunk,
    /// A pull page arrived and is not applied.
    AfterPullFetched,
    /// A pull page is applied with its cursor; the next page is not fetched.
    AfterPullPageApplied,
}

/// Armed points: each fires once, at its `nth` passage (1-based).
#[derive(Debug, Default)]
pub(crate) struct FailPoints(Mutex<Vec<Armed>>);

#[derive(Debug)]
struct Armed {
    point: FailPoint,
    remaining: u32,
}

impl FailPoints {
    #[cfg_attr(not(any(test, feature = "sync-fail-points")), allow(dead_code))]
    pub fn arm(&self, point: FailPoint, nth: u32) {
        let mut v = self.0.lock().unwrap_or_else(|p| p.into_inner());
        v.push(Armed {
            point,
            remaining: nth.max(1),
        });
    }

    /// Whether the sync must die here.
    pub fn fires(&self, point: FailPoint) -> bool {
        let mut v = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let Some(i) = v.iter().position(|a| a.point == point) else {
            return false;
        };
        v[i].remaining -= 1;
        if v[i].remaining == 0 {
            v.remove(i);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_fail_points_fire_once_at_their_nth_passage() {
        let f = FailPoints::default();
        assert!(!f.fires(FailPoint::AfterPullPageApplied));
        f.arm(FailPoint::AfterPullPageApplied, 2);
        assert!(!f.fires(FailPoint::AfterPullPageApplied));
        assert!(!f.fires(FailPoint::AfterClaim));
        assert!(f.fires(FailPoint::AfterPullPageApplied));
        assert!(!f.fires(FailPoint::AfterPullPageApplied));
    }
}
