//! Syncing with the district server: log in, sync now, status, cancel, and an observer for
//! progress bars.
//!
//! Like the archive, every call blocks (see docs/adr/0012-ffi-blocking-sync.md): the core's client
//! is async, and [`GridwalkSync`] drives it on a small tokio runtime it owns. Call `login` and
//! `sync_now` from a background thread (the Kotlin and Swift layers do); `sync_status` and
//! `cancel_sync` may be called from any thread while a sync runs.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use gridwalk_core::sync::{self as core_sync, ProgressObserver, SyncClient, SyncConfig};

use crate::GridwalkError;
use gridwalk_core::protocol::{Scope as ProtocolScope, UserInfo};

use crate::archive::GridwalkArchive;
use crate::officer::Scope;
use crate::types::instant;

/// The step a running sync is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SyncPhase {
    Starting,
    Pushing,
    UploadingPhotos,
    Pulling,
    Finishing,
}

impl From<core_sync::SyncPhase> for SyncPhase {
    fn from(p: core_sync::SyncPhase) -> Self {
        use core_sync::SyncPhase as P;
        match p {
            P::Starting => Self::Starting,
            P::Pushing => Self::Pushing,
            P::UploadingPhotos => Self::UploadingPhotos,
            P::Pulling => Self::Pulling,
            P::Finishing => Self::Finishing,
        }
    }
}

/// Progress of the running sync; `fraction` in `[0, 1]` is what a progress bar shows.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct SyncProgress {
    pub phase: SyncPhase,
    pub fraction: f64,
    pub records_to_push: u64,
    pub records_pushed: u64,
    pub photos_to_upload: u64,
    pub photos_uploaded: u64,
    pub photo_bytes_to_upload: u64,
    pub photo_bytes_uploaded: u64,
    pub pages_pulled: u64,
    pub changes_pulled: u64,
}

impl From<&core_sync::SyncProgress> for SyncProgress {
    fn from(p: &core_sync::SyncProgress) -> Self {
        Self {
            phase: p.phase.into(),
            fraction: p.fraction(),
            records_to_push: p.records_to_push,
            records_pushed: p.records_pushed,
            photos_to_upload: p.photos_to_upload,
            photos_uploaded: p.photos_uploaded,
            photo_bytes_to_upload: p.photo_bytes_to_upload,
            photo_bytes_uploaded: p.photo_bytes_uploaded,
            pages_pulled: p.pages_pulled,
            changes_pulled: p.changes_pulled,
        }
    }
}

/// Everything the sync screen shows.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SyncStatus {
    /// The account this phone syncs as (also while it must log in again).
    pub username: Option<String>,
    pub logged_in: bool,
    /// Show "log in again"; nothing recorded is affected.
    pub login_required: bool,
    pub pending_records: u64,
    pub pending_photos: u64,
    /// Pending photos whose last upload failed, most recent first; every sync tries them again.
    pub photo_failures: Vec<PhotoFailure>,
    pub rejected_records: u64,
    pub last_success_at: Option<SystemTime>,
    pub last_error: Option<String>,
    pub running: bool,
    /// Set while `running`.
    pub progress: Option<SyncProgress>,
}

/// A photo the server still lacks whose last upload failed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PhotoFailure {
    pub sha256: String,
    /// Why: the server's refusal, or a file on the phone that is damaged or gone.
    pub reason: String,
    pub failed_at: SystemTime,
}

/// What one `sync_now` did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncSummary {
    pub records_accepted: u64,
    pub records_duplicate: u64,
    pub records_rejected: u64,
    pub photos_uploaded: u64,
    pub photo_bytes_uploaded: u64,
    /// Photos that could not go this time, each with its reason; the others went on.
    pub photo_failures: Vec<String>,
    pub pull_pages: u64,
    pub buildings_pulled: u64,
    pub buildings_removed: u64,
    pub reviews_pulled: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub elapsed_ms: u64,
}

impl From<core_sync::SyncReport> for SyncSummary {
    fn from(r: core_sync::SyncReport) -> Self {
        Self {
            records_accepted: r.pushed.accepted,
            records_duplicate: r.pushed.duplicate,
            records_rejected: r.pushed.rejected,
            photos_uploaded: r.photos_uploaded,
            photo_bytes_uploaded: r.photo_bytes_uploaded,
            photo_failures: r.photo_failures,
            pull_pages: r.pull_pages,
            buildings_pulled: r.pulled.buildings,
            buildings_removed: r.pulled.removed,
            reviews_pulled: r.pulled.reviews,
            bytes_sent: r.wire.sent,
            bytes_received: r.wire.received,
            elapsed_ms: r.elapsed_ms,
        }
    }
}

/// The account a login opened.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncAccount {
    pub username: String,
    /// worker, officer, supervisor or admin.
    pub role: String,
    /// What the account sees: a grid worker's grid, for instance.
    pub scope: Scope,
}

impl From<UserInfo> for SyncAccount {
    fn from(u: UserInfo) -> Self {
        let scope = match u.scope {
            ProtocolScope::Grid(id) => Scope::Grid { id: id.0 },
            ProtocolScope::Community(id) => Scope::Community { id: id.0 },
            ProtocolScope::Street(id) => Scope::Street { id: id.0 },
            ProtocolScope::District => Scope::District,
        };
        Self {
            username: u.username,
            role: u.role.as_str().to_owned(),
            scope,
        }
    }
}

/// How a sync started or ended, for the observer.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum SyncState {
    Running,
    Succeeded {
        summary: SyncSummary,
    },
    /// The error `sync_now` raises, also told to the observer.
    Failed {
        error: GridwalkError,
    },
}

/// What the app implements to follow syncs (progress bars, a "synced" badge). Called on the
/// sync's thread: hand the values to the UI thread and return quickly; never call `sync_now`
/// from it.
#[uniffi::export(with_foreign)]
pub trait SyncObserver: Send + Sync {
    fn on_progress(&self, progress: SyncProgress);
    fn on_state(&self, state: SyncState);
}

/// The phone's sync with the district server, over one archive.
#[derive(uniffi::Object)]
pub struct GridwalkSync {
    client: Arc<SyncClient>,
    runtime: tokio::runtime::Runtime,
    observer: Arc<Mutex<Option<Arc<dyn SyncObserver>>>>,
}

impl std::fmt::Debug for GridwalkSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GridwalkSync")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

fn observer_of(slot: &Mutex<Option<Arc<dyn SyncObserver>>>) -> Option<Arc<dyn SyncObserver>> {
    slot.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

#[uniffi::export]
impl GridwalkSync {
    /// A sync client for `archive` talking to `server_url` (e.g. `https://gridwalk.example`,
    /// without `/v1`). Makes no request yet.
    #[uniffi::constructor]
    pub fn new(
        archive: Arc<GridwalkArchive>,
        server_url: String,
    ) -> Result<Arc<Self>, GridwalkError> {
        if !(server_url.starts_with("https://") || server_url.starts_with("http://")) {
            return Err(GridwalkError::invalid(
                "the server URL must start with https:// or http://",
            ));
        }
        // One worker is plenty: the sync is one task, and its store calls go to blocking threads.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("gridwalk-sync")
            .enable_all()
            .build()
            .map_err(|e| GridwalkError::storage(format!("the sync runtime: {e}")))?;
        let client = {
            let _guard = runtime.enter();
            SyncClient::new(archive.shared(), SyncConfig::new(server_url))?
        };
        let observer: Arc<Mutex<Option<Arc<dyn SyncObserver>>>> = Arc::new(Mutex::new(None));
        let slot = observer.clone();
        client.set_progress_observer(Some(ProgressObserver::new(move |p| {
            if let Some(o) = observer_of(&slot) {
                o.on_progress(p.into());
            }
        })));
        Ok(Arc::new(Self {
            client: Arc::new(client),
            runtime,
            observer,
        }))
    }

    /// Logs in and keeps the token in the archive (the password is not kept). Returns the
    /// account with its scope. Raises `WrongCredentials`, `Network`, `OtherWorkerUnsynced`.
    pub fn login(&self, username: String, password: String) -> Result<SyncAccount, GridwalkError> {
        let user = self
            .runtime
            .block_on(self.client.login(&username, &password))?;
        Ok(user.into())
    }

    /// Forgets the token on this phone; records and the outbox stay.
    pub fn logout(&self) -> Result<(), GridwalkError> {
        Ok(self.runtime.block_on(self.client.logout())?)
    }

    /// Pushes what was recorded, uploads photos, pulls what changed; blocks until done. Safe to
    /// stop anywhere (no signal, `cancel_sync`, the app killed): the next sync continues.
    pub fn sync_now(&self) -> Result<SyncSummary, GridwalkError> {
        let observer = observer_of(&self.observer);
        if let Some(o) = &observer {
            o.on_state(SyncState::Running);
        }
        let result = self
            .runtime
            .block_on(self.client.sync_now())
            .map(SyncSummary::from)
            .map_err(GridwalkError::from);
        if let Some(o) = &observer {
            o.on_state(match &result {
                Ok(summary) => SyncState::Succeeded {
                    summary: summary.clone(),
                },
                Err(error) => SyncState::Failed {
                    error: error.clone(),
                },
            });
        }
        result
    }

    /// Stops the running sync at its next step; it then raises `SyncCancelled`. A no-op when idle.
    pub fn cancel_sync(&self) {
        self.client.cancel();
    }

    pub fn sync_status(&self) -> Result<SyncStatus, GridwalkError> {
        let s = self.runtime.block_on(self.client.status())?;
        Ok(SyncStatus {
            username: s.username,
            logged_in: s.logged_in,
            login_required: s.login_required,
            pending_records: s.pending_records,
            pending_photos: s.pending_photos,
            photo_failures: s
                .photo_failures
                .into_iter()
                .map(|f| PhotoFailure {
                    sha256: f.sha256.to_string(),
                    reason: f.reason,
                    failed_at: instant(f.failed_at),
                })
                .collect(),
            rejected_records: s.rejected_records,
            last_success_at: s.last_success_at.map(instant),
            last_error: s.last_error,
            running: s.running,
            progress: s.progress.as_ref().map(SyncProgress::from),
        })
    }

    /// Sets (or with `None` removes) the observer told of every sync's progress and outcome.
    pub fn set_observer(&self, observer: Option<Arc<dyn SyncObserver>>) {
        *self.observer.lock().unwrap_or_else(PoisonError::into_inner) = observer;
    }
}
