//! What the app shows about syncing, at any time: what waits, how the last sync ended, and — while
//! one runs — its phase and progress (enough to draw a progress bar).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::store::{PhotoFailure, PullApplied, PushApplied};

use super::transport::WireBytes;

/// The step a running sync is in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncPhase {
    #[default]
    Starting,
    Pushing,
    UploadingPhotos,
    Pulling,
    Finishing,
}

/// Progress of the running sync. Totals are what was known when the phase began.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProgress {
    pub phase: SyncPhase,
    pub records_to_push: u64,
    pub records_pushed: u64,
    pub photos_to_upload: u64,
    pub photos_uploaded: u64,
    pub photo_bytes_to_upload: u64,
    pub photo_bytes_uploaded: u64,
    pub pages_pulled: u64,
    pub changes_pulled: u64,
    /// The server said more pages are waiting.
    pub more_to_pull: bool,
}

impl SyncProgress {
    /// A fraction in `[0, 1]` for a progress bar: push, photos and pull weigh a third each; the
    /// pull's share grows by pages as its total is unknown up front.
    pub fn fraction(&self) -> f64 {
        let part = |done: u64, total: u64| {
            if total == 0 {
                1.0
            } else {
                (done as f64 / total as f64).min(1.0)
            }
        };
        let push = match self.phase {
            SyncPhase::Starting => 0.0,
            SyncPhase::Pushing => part(self.records_pushed, self.records_to_push),
            _ => 1.0,
        };
        let photos = match self.phase {
            SyncPhase::Starting | SyncPhase::Pushing => 0.0,
            SyncPhase::UploadingPhotos => {
                part(self.photo_bytes_uploaded, self.photo_bytes_to_upload)
            }
            _ => 1.0,
        };
        let pull = match self.phase {
            SyncPhase::Pulling if self.more_to_pull => 1.0 - 1.0 / (self.pages_pulled as f64 + 2.0),
            SyncPhase::Pulling if self.pages_pulled > 0 => 1.0,
            SyncPhase::Finishing => 1.0,
            _ => 0.0,
        };
        (push + photos + pull) / 3.0
    }
}

/// Everything the sync screen needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStatus {
    /// The account the phone syncs as (also while it must log in again).
    pub username: Option<String>,
    pub logged_in: bool,
    /// The server refused the token: show "log in again". Nothing recorded is affected.
    pub login_required: bool,
    pub pending_records: u64,
    pub pending_photos: u64,
    /// Pending photos whose last upload failed, with the reason (a damaged file, the server's
    /// refusal); they are tried again by every sync.
    pub photo_failures: Vec<PhotoFailure>,
    /// Records the server refused; see `Archive::rejected_records` for codes and messages.
    pub rejected_records: u64,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub running: bool,
    /// Set while `running`.
    pub progress: Option<SyncProgress>,
    /// Since the client was made.
    pub wire: WireBytes,
}

/// What one `sync_now` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    pub push_batches: u64,
    pub pushed: PushApplied,
    /// In-flight entries of an interrupted earlier sync, sent again.
    pub requeued: u64,
    pub photos_uploaded: u64,
    pub photo_bytes_uploaded: u64,
    /// Photos that could not be uploaded this time (each with its reason); the others went on.
    pub photo_failures: Vec<String>,
    pub pull_pages: u64,
    pub pulled: PullApplied,
    pub wire: WireBytes,
    pub elapsed_ms: u64,
    /// Time in each phase (both photo passes together).
    pub push_ms: u64,
    pub photos_ms: u64,
    pub pull_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_progress_fraction_moves_forward_through_the_phases() {
        let mut p = SyncProgress {
            phase: SyncPhase::Pushing,
            records_to_push: 10,
            records_pushed: 5,
            ..SyncProgress::default()
        };
        assert!((p.fraction() - 1.0 / 6.0).abs() < 1e-9);
        p.phase = SyncPhase::UploadingPhotos;
        p.photo_bytes_to_upload = 100;
        p.photo_bytes_uploaded = 50;
        assert!((p.fraction() - 0.5).abs() < 1e-9);
        p.phase = SyncPhase::Pulling;
        p.more_to_pull = true;
        p.pages_pulled = 1;
        let mid = p.fraction();
        assert!(mid > 2.0 / 3.0 && mid < 1.0);
        p.more_to_pull = false;
        assert!((p.fraction() - 1.0).abs() < 1e-9);
    }
}
