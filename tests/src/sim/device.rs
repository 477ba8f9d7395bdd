//! One simulated phone: a real archive in its own directory, the real sync client, a clock the
//! simulation sets (days off for the clock-skew scenario), and the patrol days it works through.
//!
//! A device only ever learns about the world the way a phone does: it logs in, pulls its grid, plans
//! from what it holds, records, and syncs when it has signal. Failures of a sync are what the field
//! is like; they are counted and the day goes on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone, Utc};
use gridwalk_core::protocol::Scope;
use gridwalk_core::store::{Archive, ArchiveOptions, FieldRecord, FixedClock, StoreResult};
use gridwalk_core::sync::{ProgressObserver, SyncClient, SyncConfig, SyncError, SyncPhase};
use gridwalk_core::{Building, Catalog, Event, Policy, WorkerId};
use serde::{Deserialize, Serialize};

use super::script::{DayScript, DayShape, Patrol, Step, generate_day};
use super::{SIM_PASSWORD, SimError, SimResult};

/// The archive's file name inside a device's directory.
pub const ARCHIVE_FILE: &str = "phone.db";

/// Everything a device needs to be (re)started, also by a child process (`device.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceSpec {
    pub index: u32,
    pub dir: PathBuf,
    pub server_url: String,
    pub username: String,
    pub password: String,
    /// How wrong the phone's clock is, in seconds (negative: behind).
    pub skew_s: i64,
    pub seed: u64,
    pub first_day: NaiveDate,
    pub days: u32,
    pub shape: DayShape,
    pub config: SyncConfig,
}

impl DeviceSpec {
    pub fn new(
        index: u32,
        dir: PathBuf,
        server_url: &str,
        username: &str,
        seed: u64,
        first_day: NaiveDate,
    ) -> Self {
        Self {
            index,
            dir,
            server_url: server_url.to_owned(),
            username: username.to_owned(),
            password: SIM_PASSWORD.to_owned(),
            skew_s: 0,
            seed,
            first_day,
            days: 1,
            shape: DayShape::default(),
            config: sim_sync_config(server_url),
        }
    }

    pub fn archive_path(&self) -> PathBuf {
        self.dir.join(ARCHIVE_FILE)
    }

    pub fn name(&self) -> String {
        format!("d{}", self.index)
    }
}

/// The sync client's settings in the simulation: fast retries (the simulation retries whole syncs
/// itself, like the app's scheduler), small batches and pages so that a sync has many steps to be
/// interrupted in.
pub fn sim_sync_config(url: &str) -> SyncConfig {
    let mut c = SyncConfig::new(url);
    c.retry.max_attempts = 3;
    c.retry.initial_delay = Duration::from_millis(5);
    c.retry.max_delay = Duration::from_millis(40);
    c.connect_timeout = Duration::from_secs(3);
    c.request_timeout = Duration::from_secs(30);
    c.push_batch = 5;
    c.pull_page = 10;
    c.photo_chunk_bytes = 16 * 1024;
    c
}

/// What a device did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceStats {
    pub records: u64,
    pub photos: u64,
    pub logins: u64,
    pub syncs_ok: u64,
    pub syncs_failed: u64,
    /// Failed syncs and logins by kind of error.
    pub errors: BTreeMap<String, u64>,
}

impl DeviceStats {
    pub fn add(&mut self, o: &DeviceStats) {
        self.records += o.records;
        self.photos += o.photos;
        self.logins += o.logins;
        self.syncs_ok += o.syncs_ok;
        self.syncs_failed += o.syncs_failed;
        for (k, v) in &o.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
    }

    fn failed(&mut self, e: &SyncError) {
        *self.errors.entry(error_kind(e).to_owned()).or_default() += 1;
    }
}

/// A short name for a sync error (for counts).
pub fn error_kind(e: &SyncError) -> &'static str {
    match e {
        SyncError::NotLoggedIn => "not_logged_in",
        SyncError::LoginRequired { .. } => "login_required",
        SyncError::InvalidCredentials => "invalid_credentials",
        SyncError::Network { .. } => "network",
        SyncError::ServerUnavailable { .. } => "server_unavailable",
        SyncError::Refused { .. } => "refused",
        SyncError::Protocol(_) => "protocol",
        SyncError::PhotoFile { .. } => "photo_file",
        SyncError::AlreadyRunning => "already_running",
        SyncError::Cancelled => "cancelled",
        SyncError::Store(_) => "store",
        SyncError::Setup(_) => "setup",
        SyncError::Task(_) => "task",
        SyncError::Killed(_) => "killed",
    }
}

/// Prints sync markers on stdout (a device run as a child process: its parent kills it mid-sync).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announce {
    Quiet,
    Stdout,
}

#[derive(Debug)]
pub struct SimDevice {
    pub spec: DeviceSpec,
    pub archive: Arc<Archive>,
    pub client: SyncClient,
    clock: Arc<FixedClock>,
    catalog: Catalog,
    policy: Policy,
    pub stats: DeviceStats,
    announce: Announce,
}

impl SimDevice {
    /// Opens (creating if new) the device's archive; its clock starts at the first day's 09:00
    /// (Shenzhen time) plus the skew.
    pub fn open(spec: DeviceSpec, announce: Announce) -> SimResult<Self> {
        std::fs::create_dir_all(&spec.dir)
            .map_err(|e| SimError::io(format!("creating {}", spec.dir.display()), e))?;
        let start = Utc.from_utc_datetime(&spec.first_day.and_hms_opt(1, 0, 0).unwrap_or_default())
            + chrono::Duration::seconds(spec.skew_s);
        let clock = Arc::new(FixedClock::new(start));
        let archive = Arc::new(Archive::open(
            spec.archive_path(),
            ArchiveOptions {
                clock: clock.clone(),
                ..ArchiveOptions::default()
            },
        )?);
        let client = SyncClient::new(archive.clone(), spec.config.clone())?;
        if announce == Announce::Stdout {
            client.set_progress_observer(Some(phase_printer()));
        }
        Ok(Self {
            spec,
            archive,
            client,
            clock,
            catalog: Catalog::default_catalog()
                .map_err(|e| SimError::Setup(format!("catalog: {e}")))?,
            policy: Policy::default_policy()
                .map_err(|e| SimError::Setup(format!("policy: {e}")))?,
            stats: DeviceStats::default(),
            announce,
        })
    }

    fn fail(&self, message: impl Into<String>) -> SimError {
        SimError::Device {
            device: self.spec.name(),
            message: message.into(),
        }
    }

    /// Runs `f` on the archive off the async threads.
    pub async fn store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Archive) -> StoreResult<T> + Send + 'static,
    ) -> SimResult<T> {
        let a = self.archive.clone();
        Ok(tokio::task::spawn_blocking(move || f(&a))
            .await
            .map_err(|e| SimError::Setup(format!("archive task: {e}")))??)
    }

    async fn logged_in(&self) -> SimResult<bool> {
        Ok(self.store(|a| a.sync_state()).await?.session.is_some())
    }

    /// Logs in unless the archive holds a token; retries until `deadline` (the network may be bad).
    pub async fn ensure_login(&mut self, deadline: Instant) -> SimResult<()> {
        while !self.logged_in().await? {
            self.stats.logins += 1;
            match self
                .client
                .login(&self.spec.username, &self.spec.password)
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() < deadline && e.is_transient() => {
                    self.stats.failed(&e);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(self.fail(format!("login: {e}"))),
            }
        }
        Ok(())
    }

    /// One sync attempt; a failure is counted, not returned (the phone tries again later).
    pub async fn sync(&mut self) -> bool {
        if self.announce == Announce::Stdout {
            // What this sync has to send, so the parent can aim its kills at pushes and uploads.
            let c = self.store(|a| a.sync_counts()).await.unwrap_or_default();
            println!(
                "sync-start records={} photos={}",
                c.pending_records, c.pending_photos
            );
        }
        let r = self.client.sync_now().await;
        if self.announce == Announce::Stdout {
            println!("sync-end {}", if r.is_ok() { "ok" } else { "err" });
        }
        match r {
            Ok(report) if report.photo_failures.is_empty() => {
                self.stats.syncs_ok += 1;
                true
            }
            Ok(_) => {
                self.stats.syncs_failed += 1;
                *self.stats.errors.entry("photo_refused".into()).or_default() += 1;
                false
            }
            Err(e) => {
                self.stats.syncs_failed += 1;
                self.stats.failed(&e);
                if matches!(e, SyncError::LoginRequired { .. } | SyncError::NotLoggedIn) {
                    let _ = self.ensure_login(Instant::now()).await;
                }
                false
            }
        }
    }

    /// Syncs until a sync completes with nothing left to send, or `deadline` passes.
    pub async fn settle(&mut self, deadline: Instant) -> SimResult<()> {
        self.ensure_login(deadline).await?;
        loop {
            if self.sync().await {
                let counts = self.store(|a| a.sync_counts()).await?;
                if counts.pending_records == 0 && counts.pending_photos == 0 {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                let counts = self.store(|a| a.sync_counts()).await?;
                return Err(self.fail(format!(
                    "still {} records and {} photos to send at the deadline ({:?})",
                    counts.pending_records, counts.pending_photos, self.stats.errors
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Logs in and pulls the grid (the first sync on a new phone), retrying until `deadline`.
    pub async fn bootstrap(&mut self, deadline: Instant) -> SimResult<()> {
        self.ensure_login(deadline).await?;
        loop {
            let held = self.store(|a| a.building_count()).await?;
            if held > 0
                && self
                    .store(|a| a.sync_state())
                    .await?
                    .last_success_at
                    .is_some()
            {
                return Ok(());
            }
            if self.sync().await {
                continue;
            }
            if Instant::now() > deadline {
                return Err(self.fail(format!("could not bootstrap: {:?}", self.stats.errors)));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Generates day `day` from what the phone holds.
    pub async fn plan(&self, day: u32) -> SimResult<DayScript> {
        let state = self.store(|a| a.sync_state()).await?;
        let grid = match state.session.map(|s| s.scope) {
            Some(Scope::Grid(g)) => g,
            other => {
                return Err(self.fail(format!(
                    "a worker's phone needs a grid scope, got {other:?}"
                )));
            }
        };
        let g = grid.clone();
        let (buildings, open_events) = self
            .store(move |a| Ok((a.buildings_in_grid(&g)?, a.open_events_for_grid(&g)?)))
            .await?;
        self.plan_with(day, &buildings, &open_events)
    }

    /// Generates day `day` over the given buildings (all of one grid: the worker's).
    pub fn plan_with(
        &self,
        day: u32,
        buildings: &[Building],
        open_events: &[Event],
    ) -> SimResult<DayScript> {
        let Some(grid) = buildings.first().map(|b| b.grid.clone()) else {
            return Err(self.fail("no buildings to plan a day over"));
        };
        let worker = WorkerId(self.spec.username.clone());
        let patrol = Patrol {
            device: self.spec.index,
            day,
            seed: self.spec.seed,
            worker: &worker,
            grid: &grid,
            buildings,
            open_events,
            first_day: self.spec.first_day,
            skew: chrono::Duration::seconds(self.spec.skew_s),
        };
        Ok(generate_day(
            &patrol,
            &self.spec.shape,
            &self.catalog,
            &self.policy,
        ))
    }

    /// Works through a day: records what is not recorded yet (a restarted phone skips what it
    /// already has), syncs where the script says.
    pub async fn run_day(&mut self, script: &DayScript) -> SimResult<()> {
        for step in &script.steps {
            match step {
                Step::Record { at, record, photos } => {
                    let id = record.id();
                    let kind = record.kind();
                    let have = self
                        .store(move |a| {
                            Ok(match kind {
                                gridwalk_core::store::RecordKind::Inspection => {
                                    a.inspection(id)?.is_some()
                                }
                                gridwalk_core::store::RecordKind::Event => a.event(id)?.is_some(),
                            })
                        })
                        .await?;
                    if have {
                        continue;
                    }
                    self.clock.set(*at);
                    let bytes: Vec<Vec<u8>> = photos.iter().map(|p| p.bytes()).collect();
                    self.stats.photos += bytes.len() as u64;
                    let record = record.clone();
                    self.store(move |a| {
                        for b in &bytes {
                            a.add_photo(b)?;
                        }
                        match record.as_ref() {
                            FieldRecord::Inspection(i) => a.record_inspection(i)?,
                            FieldRecord::Event(e) => a.record_event(e)?,
                        };
                        Ok(())
                    })
                    .await?;
                    self.stats.records += 1;
                }
                Step::Sync => {
                    self.sync().await;
                }
            }
        }
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.spec.dir
    }
}

fn phase_printer() -> ProgressObserver {
    let last = std::sync::Mutex::new(None::<SyncPhase>);
    ProgressObserver::new(move |p| {
        let mut l = last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *l != Some(p.phase) {
            *l = Some(p.phase);
            println!("sync-phase {:?}", p.phase);
        }
    })
}
