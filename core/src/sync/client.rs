//! [`SyncClient`]: login, `sync_now` (push → photos → pull), status, cancellation.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use reqwest::Method;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::domain::{PhotoRef, Sha256Hex};
use crate::protocol::{
    Cursor, DeviceId, ErrorCode, LoginRequest, LoginResponse, PhotoStatus, PushResponse, UserInfo,
};
use crate::store::{Archive, PushApplied, PushItem, StoreResult};

use super::config::SyncConfig;
use super::error::SyncError;
use super::fail::{FailPoint, FailPoints};
use super::pull_pages::PagePipeline;
use super::status::{SyncPhase, SyncProgress, SyncReport, SyncStatus};
use super::transport::{Body, Call, Failure, Transport, WireBytes, gzip};

/// The phone's sync client. One per archive: it owns the archive's outbox while a sync runs.
///
/// Every store call runs under `spawn_blocking` and no SQLite connection is held across an await.
/// Cheap to share behind an `Arc`; `status` and `cancel` may be called from anywhere at any time.
#[derive(Debug)]
pub struct SyncClient {
    archive: Arc<Archive>,
    config: SyncConfig,
    device: DeviceId,
    transport: Arc<Transport>,
    running: AtomicBool,
    cancel: Mutex<Option<CancellationToken>>,
    progress: Mutex<SyncProgress>,
    progress_observer: Mutex<Option<ProgressObserver>>,
    /// The last sync's upkeep (list indexes, checkpoint), running after it returned.
    upkeep: Mutex<Option<JoinHandle<()>>>,
    fail: FailPoints,
}

/// Called with the progress after every step of a running sync (for progress bars in the apps).
/// It runs on the sync's task: keep it short and never call back into the client from it.
#[derive(Clone)]
pub struct ProgressObserver(Arc<dyn Fn(&SyncProgress) + Send + Sync>);

impl ProgressObserver {
    pub fn new(f: impl Fn(&SyncProgress) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }
}

impl std::fmt::Debug for ProgressObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressObserver")
    }
}

/// Clears `running` however the sync ends.
struct Running<'a>(&'a SyncClient);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        *lock(&self.0.cancel) = None;
        self.0.running.store(false, Ordering::SeqCst);
    }
}

fn ms_since(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SyncClient {
    pub fn new(archive: Arc<Archive>, config: SyncConfig) -> Result<Self, SyncError> {
        let device = DeviceId::parse(&archive.device_id().to_string())
            .map_err(|e| SyncError::Setup(format!("device id: {e}")))?;
        let transport = Arc::new(Transport::new(&config)?);
        Ok(Self {
            archive,
            config,
            device,
            transport,
            running: AtomicBool::new(false),
            cancel: Mutex::new(None),
            progress: Mutex::new(SyncProgress::default()),
            progress_observer: Mutex::new(None),
            upkeep: Mutex::new(None),
            fail: FailPoints::default(),
        })
    }

    pub fn device_id(&self) -> &DeviceId {
        &self.device
    }

    pub fn archive(&self) -> &Arc<Archive> {
        &self.archive
    }

    /// Bytes and requests on the wire since this client was made.
    pub fn wire(&self) -> WireBytes {
        self.transport.counters.snapshot()
    }

    /// Test hook: the sync dies (no clean-up) the `nth` time it reaches `point`.
    #[cfg(feature = "sync-fail-points")]
    pub fn fail_at(&self, point: FailPoint, nth: u32) {
        self.fail.arm(point, nth);
    }

    /// Logs in and keeps the token in the archive. The password is not kept.
    pub async fn login(&self, username: &str, password: &str) -> Result<UserInfo, SyncError> {
        let body = serde_json::to_vec(&LoginRequest {
            username: username.to_owned(),
            password: password.to_owned(),
            device_id: self.device.clone(),
        })
        .map_err(|e| SyncError::Protocol(e.to_string()))?;
        let call = Call {
            method: Method::POST,
            path: "/v1/auth/login",
            query: &[],
            token: None,
            body: Body::Json(body),
        };
        let login: LoginResponse = match self
            .transport
            .send_json(&call, &CancellationToken::new())
            .await
        {
            Ok(l) => l,
            Err(Failure::Unauthorized(e)) if e.code == ErrorCode::InvalidCredentials => {
                return Err(SyncError::InvalidCredentials);
            }
            Err(f) => return Err(f.into()),
        };
        let url = self.config.server_url.clone();
        let user = login.user.clone();
        self.store(move |a| a.save_login(&url, &login)).await?;
        Ok(user)
    }

    /// Forgets the token on the phone (records and outbox stay).
    pub async fn logout(&self) -> Result<(), SyncError> {
        self.store(|a| a.logout()).await
    }

    /// Stops the running sync at its next step or wait; what it did so far stays, and the next
    /// sync continues from there. A no-op when idle.
    pub fn cancel(&self) {
        if let Some(c) = lock(&self.cancel).as_ref() {
            c.cancel();
        }
    }

    /// Sets (or with `None` removes) the observer told of every progress step.
    pub fn set_progress_observer(&self, observer: Option<ProgressObserver>) {
        *lock(&self.progress_observer) = observer;
    }

    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    /// Everything the sync screen shows.
    pub async fn status(&self) -> Result<SyncStatus, SyncError> {
        let (state, counts, photo_failures) = self
            .store(|a| Ok((a.sync_state()?, a.sync_counts()?, a.photo_failures()?)))
            .await?;
        let running = self.is_running();
        Ok(SyncStatus {
            username: state.username,
            logged_in: state.session.is_some(),
            login_required: state.login_required,
            pending_records: counts.pending_records,
            pending_photos: counts.pending_photos,
            photo_failures,
            rejected_records: counts.rejected_records,
            last_success_at: state.last_success_at,
            last_error: state.last_error,
            last_error_at: state.last_error_at,
            running,
            progress: running.then(|| *lock(&self.progress)),
            wire: self.wire(),
        })
    }

    /// Pushes the outbox, uploads the photos the server lacks, pulls what changed — each step
    /// committed as it goes, so a sync stopped anywhere (no signal, cancel, the app killed)
    /// loses nothing and the next one continues.
    pub async fn sync_now(&self) -> Result<SyncReport, SyncError> {
        if self.running.swap(true, Ordering::SeqCst) {
            return Err(SyncError::AlreadyRunning);
        }
        let cancel = CancellationToken::new();
        *lock(&self.cancel) = Some(cancel.clone());
        let _running = Running(self);
        *lock(&self.progress) = SyncProgress::default();

        let started = Instant::now();
        let wire_before = self.wire();
        let mut report = SyncReport::default();
        let result = self.run(&cancel, &mut report).await;
        report.wire = self.wire().since(wire_before);
        report.elapsed_ms = ms_since(started);
        // A simulated crash writes nothing more.
        let killed = matches!(result, Err(SyncError::Killed(_)));
        let outcome = async {
            match result {
                Ok(()) => {
                    self.store(|a| a.record_sync_success()).await?;
                    Ok(report)
                }
                Err(e @ SyncError::Killed(_)) => Err(e),
                Err(SyncError::LoginRequired { reason }) => {
                    let r = reason.clone();
                    self.store(move |a| a.require_login(&r)).await?;
                    Err(SyncError::LoginRequired { reason })
                }
                Err(e) => {
                    let msg = e.to_string();
                    self.store(move |a| a.record_sync_error(&msg)).await?;
                    Err(e)
                }
            }
        }
        .await;
        // Started after the sync's last write, so that write never waits for the index build.
        if !killed {
            self.upkeep_in_background();
        }
        outcome
    }

    /// What a sync leaves to do after it, without holding it up (ADR 0046):
    /// - the list indexes a bootstrap pull dropped are built (lists answer by scanning meanwhile);
    /// - what the sync wrote, durable in the write-ahead log, is copied into the database file.
    ///
    /// Neither changes a record, so a failure loses nothing: the next open builds the indexes, the
    /// next checkpoint copies the log.
    fn upkeep_in_background(&self) {
        let archive = self.archive.clone();
        let task = tokio::task::spawn_blocking(move || {
            let _ = archive.ensure_list_indexes();
            let _ = archive.checkpoint();
        });
        // A previous sync's upkeep still running is not stopped, only no longer waited for here.
        *lock(&self.upkeep) = Some(task);
    }

    /// Waits for the last sync's upkeep (the list indexes a bootstrap left to build, the
    /// checkpoint) to finish. An app need not call it: lists answer meanwhile.
    pub async fn wait_for_upkeep(&self) {
        let task = lock(&self.upkeep).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    async fn run(
        &self,
        cancel: &CancellationToken,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        // Entries left in flight by a sync that was killed go out again under their numbers; the
        // server answers "duplicate" for any it had already stored.
        report.requeued = self.store(|a| a.requeue_in_flight()).await? as u64;
        let state = self.store(|a| a.sync_state()).await?;
        let Some(session) = state.session else {
            return Err(if state.login_required {
                SyncError::LoginRequired {
                    reason: state
                        .last_error
                        .unwrap_or_else(|| "the server refused the token".into()),
                }
            } else {
                SyncError::NotLoggedIn
            });
        };
        // No check of `expires_at` against the phone's clock (phones' clocks are wrong): the server
        // says when a token has expired, and that answer leads to "log in again".
        let token = session.token;
        self.checkpoint(FailPoint::BeforePush, cancel)?;
        // A push the server refuses as a whole (not one record: those are answered one by one)
        // keeps its records pending and is reported at the end; the worker still gets the photos
        // out and the latest buildings in.
        let t = Instant::now();
        let pushed = self.push_all(&token, cancel, report).await;
        report.push_ms = ms_since(t);
        let refused = match pushed {
            Ok(()) => None,
            Err(e @ SyncError::Refused { .. }) => Some(e),
            Err(e) => return Err(e),
        };
        // A photo that failed in this sync is not tried again by its second photo pass.
        let mut failed_photos = HashSet::new();
        let t = Instant::now();
        self.upload_photos(&token, cancel, report, &mut failed_photos)
            .await?;
        report.photos_ms = ms_since(t);
        let t = Instant::now();
        // A bootstrap stopped between its pages (cancelled, offline) leaves the list indexes to the
        // upkeep after the sync, like one that completed.
        self.pull_all(&token, cancel, report).await?;
        report.pull_ms = ms_since(t);
        // The pull's list of photos the server lacks is the complete one; send any it named.
        let t = Instant::now();
        self.upload_photos(&token, cancel, report, &mut failed_photos)
            .await?;
        report.photos_ms += ms_since(t);
        self.set_progress(|p| p.phase = SyncPhase::Finishing);
        refused.map_or(Ok(()), Err)
    }

    fn checkpoint(&self, point: FailPoint, cancel: &CancellationToken) -> Result<(), SyncError> {
        if self.fail.fires(point) {
            return Err(SyncError::Killed(point));
        }
        if cancel.is_cancelled() {
            return Err(SyncError::Cancelled);
        }
        Ok(())
    }

    /// Pushes every pending entry in batches, up to `push_window` of them on the wire at once
    /// (ADR 0047): the server parses and checks a batch while it merges the one before, and merges
    /// a device's batches in the order of their numbers. Meanwhile the phone records the last
    /// answer and claims the next batch, so its work hides behind the server's.
    async fn push_all(
        &self,
        token: &str,
        cancel: &CancellationToken,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let counts = self.store(|a| a.sync_counts()).await?;
        self.set_progress(|p| {
            p.phase = SyncPhase::Pushing;
            p.records_to_push = counts.pending_records;
        });
        let mut on_wire = VecDeque::new();
        let pushed = self.push_batches(token, cancel, report, &mut on_wire).await;
        if matches!(pushed, Err(SyncError::Killed(_))) {
            // A simulated crash: what was sent still reaches the server, and its answer is lost
            // (the phone died with the request on the wire). Any other stop drops the requests.
            for mut batch in on_wire {
                let _ = batch.answer().await;
            }
        }
        pushed
    }

    /// [`SyncClient::push_all`]'s batches; `on_wire` holds those sent and not answered yet
    /// (dropping one stops its request, see [`OnWire`]).
    async fn push_batches(
        &self,
        token: &str,
        cancel: &CancellationToken,
        report: &mut SyncReport,
        on_wire: &mut VecDeque<OnWire>,
    ) -> Result<(), SyncError> {
        let mut batch_size = self.config.push_batch.max(1);
        let mut window = self.config.push_window.max(1) as usize;
        let claimed = self.store(move |a| a.claim_push_batch(batch_size)).await?;
        let mut next = self.outgoing(claimed).await?;
        // An answer not recorded yet: it commits together with the next claim.
        let mut answered: Option<(Vec<PushItem>, PushResponse)> = None;
        // A second batch goes out only once the server has answered one in this sync, so that it
        // knows where this device's numbers stand and holds a batch that overtakes another.
        let mut server_knows_device = false;
        loop {
            let room = on_wire.is_empty() || (server_knows_device && on_wire.len() < window);
            if room && !next.items.is_empty() {
                match self.checkpoint(FailPoint::AfterClaim, cancel) {
                    Ok(()) => {}
                    // A simulated crash records nothing more.
                    Err(e @ SyncError::Killed(_)) => return Err(e),
                    Err(e) => {
                        on_wire.clear();
                        self.unclaim().await?;
                        self.record_answer(answered.take(), report).await?;
                        return Err(e);
                    }
                }
                let overtakes = !on_wire.is_empty();
                on_wire.push_back(self.send_batch(token, cancel, &mut next, overtakes));
                let claimed = match answered.take() {
                    None => self.store(move |a| a.claim_push_batch(batch_size)).await?,
                    Some((items, response)) => {
                        let n = items.len() as u64;
                        let (applied, claimed) = self
                            .store(move |a| {
                                a.apply_push_results_and_claim(&items, &response, batch_size)
                            })
                            .await?;
                        self.note_answer(report, applied, n);
                        self.checkpoint_killed_only(FailPoint::AfterPushApplied)?;
                        claimed
                    }
                };
                next = self.outgoing(claimed).await?;
                continue;
            }
            let Some(mut batch) = on_wire.pop_front() else {
                break;
            };
            match batch.answer().await? {
                Ok(response) => {
                    self.checkpoint_killed_only(FailPoint::AfterPushAnswered)?;
                    server_knows_device = true;
                    let earlier = answered.replace((std::mem::take(&mut batch.items), response));
                    self.record_answer(earlier, report).await?;
                }
                Err(failure) => {
                    // Not sent, or sent without an answer: these entries and those after them go
                    // again under the same numbers, which the server deduplicates.
                    on_wire.clear();
                    self.unclaim().await?;
                    self.record_answer(answered.take(), report).await?;
                    let again = match &failure {
                        // It overtook the batch before it and the server could not wait for
                        // that one (another server instance, or a slow link): one at a time now.
                        Failure::Status(_, e)
                            if e.code == ErrorCode::SequenceGap && batch.overtakes =>
                        {
                            window = 1;
                            true
                        }
                        Failure::Status(_, e)
                            if matches!(
                                e.code,
                                ErrorCode::BatchTooLarge | ErrorCode::BodyTooLarge
                            ) && batch_size > 1 =>
                        {
                            batch_size /= 2;
                            true
                        }
                        _ => false,
                    };
                    if !again {
                        return Err(failure.into());
                    }
                    let claimed = self.store(move |a| a.claim_push_batch(batch_size)).await?;
                    next = self.outgoing(claimed).await?;
                }
            }
        }
        self.record_answer(answered, report).await?;
        self.checkpoint(FailPoint::AfterPushApplied, cancel)
    }

    /// Starts sending a claimed batch; its answer is awaited through the returned [`OnWire`].
    fn send_batch(
        &self,
        token: &str,
        cancel: &CancellationToken,
        batch: &mut Outgoing,
        overtakes: bool,
    ) -> OnWire {
        let transport = self.transport.clone();
        let token = token.to_owned();
        let cancel = cancel.clone();
        let body = std::mem::take(&mut batch.body);
        let answer = tokio::spawn(async move {
            let call = Call {
                method: Method::POST,
                path: "/v1/sync/push",
                query: &[],
                token: Some(&token),
                body: Body::GzippedJson(body),
            };
            transport.send_json::<PushResponse>(&call, &cancel).await
        });
        OnWire {
            items: std::mem::take(&mut batch.items),
            overtakes,
            answer,
        }
    }

    /// A claimed batch and its request body, built and compressed off the async threads.
    async fn outgoing(&self, items: Vec<PushItem>) -> Result<Outgoing, SyncError> {
        if items.is_empty() {
            return Ok(Outgoing::default());
        }
        let device = self.device.clone();
        let level = self.config.gzip_level;
        tokio::task::spawn_blocking(move || {
            let body = gzip(push_body(&device, &items).as_bytes(), level)?;
            Ok(Outgoing { items, body })
        })
        .await
        .map_err(|e| SyncError::Task(e.to_string()))?
    }

    async fn record_answer(
        &self,
        answered: Option<(Vec<PushItem>, PushResponse)>,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let Some((items, response)) = answered else {
            return Ok(());
        };
        let n = items.len() as u64;
        let applied = self
            .store(move |a| a.apply_push_results(&items, &response))
            .await?;
        self.note_answer(report, applied, n);
        Ok(())
    }

    fn note_answer(&self, report: &mut SyncReport, applied: PushApplied, records: u64) {
        report.pushed += applied;
        report.push_batches += 1;
        self.set_progress(|p| p.records_pushed += records);
    }

    /// Every claimed batch goes back to pending (under the same numbers).
    async fn unclaim(&self) -> Result<(), SyncError> {
        self.store(|a| a.requeue_in_flight()).await.map(drop)
    }

    /// Like [`SyncClient::checkpoint`] but never cancels: used where work is done that must be
    /// recorded before stopping (a server answer in hand).
    fn checkpoint_killed_only(&self, point: FailPoint) -> Result<(), SyncError> {
        if self.fail.fires(point) {
            return Err(SyncError::Killed(point));
        }
        Ok(())
    }

    async fn upload_photos(
        &self,
        token: &str,
        cancel: &CancellationToken,
        report: &mut SyncReport,
        failed: &mut HashSet<Sha256Hex>,
    ) -> Result<(), SyncError> {
        let mut photos = self.store(|a| a.photos_to_upload()).await?;
        photos.retain(|p| !failed.contains(&p.sha256));
        if photos.is_empty() {
            return Ok(());
        }
        let total_bytes: u64 = photos.iter().map(|p| p.size_bytes).sum();
        self.set_progress(|p| {
            p.phase = SyncPhase::UploadingPhotos;
            p.photos_to_upload += photos.len() as u64;
            p.photo_bytes_to_upload += total_bytes;
        });
        for photo in photos {
            if cancel.is_cancelled() {
                return Err(SyncError::Cancelled);
            }
            match self.upload_photo(token, &photo, cancel).await {
                Ok(sent) => {
                    report.photos_uploaded += 1;
                    report.photo_bytes_uploaded += sent;
                    let sha = photo.sha256.clone();
                    self.store(move |a| a.mark_photo_stored(&sha)).await?;
                    self.set_progress(|p| p.photos_uploaded += 1);
                }
                // One photo the server will not take does not hold up the others.
                Err(e @ (SyncError::Refused { .. } | SyncError::PhotoFile { .. })) => {
                    let reason = match e {
                        SyncError::Refused { error, .. } => error.to_string(),
                        SyncError::PhotoFile { message, .. } => message,
                        other => other.to_string(),
                    };
                    report
                        .photo_failures
                        .push(format!("photo {}: {reason}", photo.sha256));
                    let sha = photo.sha256.clone();
                    self.store(move |a| a.note_photo_failure(&sha, &reason))
                        .await?;
                    failed.insert(photo.sha256);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Uploads one photo from where the server's copy ends, in chunks. Returns the bytes sent.
    async fn upload_photo(
        &self,
        token: &str,
        photo: &PhotoRef,
        cancel: &CancellationToken,
    ) -> Result<u64, SyncError> {
        let status_path = format!("/v1/photos/{}/status", photo.sha256);
        let put_path = format!("/v1/photos/{}", photo.sha256);
        let status_call = Call {
            method: Method::GET,
            path: &status_path,
            query: &[],
            token: Some(token),
            body: Body::Empty,
        };
        let mut status: PhotoStatus = self.transport.send_json(&status_call, cancel).await?;
        if status.complete {
            return Ok(0);
        }
        let path = self.archive.photo_path(&photo.sha256);
        let bytes = tokio::task::spawn_blocking(move || std::fs::read(path))
            .await
            .map_err(|e| SyncError::Task(e.to_string()))?
            .map_err(|e| SyncError::PhotoFile {
                sha256: photo.sha256.to_string(),
                message: format!("cannot be read: {e}"),
            })?;
        if crate::domain::Sha256Hex::of_bytes(&bytes) != photo.sha256 {
            return Err(SyncError::PhotoFile {
                sha256: photo.sha256.to_string(),
                message: "the file no longer matches its hash (damaged)".into(),
            });
        }
        let chunk = usize::try_from(self.config.photo_chunk_bytes.max(1)).unwrap_or(usize::MAX);
        let mut sent = 0u64;
        let mut resyncs = 0;
        while !status.complete {
            let offset = usize::try_from(status.received_bytes).unwrap_or(usize::MAX);
            if offset >= bytes.len() {
                return Err(SyncError::Protocol(format!(
                    "the server holds {offset} bytes of a {} byte photo but not all of it",
                    bytes.len()
                )));
            }
            let end = offset.saturating_add(chunk).min(bytes.len());
            let part = bytes[offset..end].to_vec();
            let n = part.len() as u64;
            let query = [("offset", offset.to_string())];
            let put = Call {
                method: Method::PUT,
                path: &put_path,
                query: &query,
                token: Some(token),
                body: Body::Raw(part),
            };
            match self.transport.send_json::<PhotoStatus>(&put, cancel).await {
                Ok(s) => {
                    let grew = s.received_bytes.saturating_sub(status.received_bytes);
                    sent += n;
                    self.set_progress(|p| p.photo_bytes_uploaded += grew);
                    status = s;
                    if !status.complete {
                        self.checkpoint(FailPoint::AfterPhotoChunk, cancel)?;
                    }
                }
                // The server's copy ends elsewhere (a transfer cut short after some bytes
                // arrived): ask where, and continue from there.
                Err(Failure::Status(_, e))
                    if e.code == ErrorCode::OffsetMismatch && resyncs < 3 =>
                {
                    resyncs += 1;
                    status = self.transport.send_json(&status_call, cancel).await?;
                }
                Err(f) => return Err(f.into()),
            }
        }
        Ok(sent)
    }

    async fn pull_all(
        &self,
        token: &str,
        cancel: &CancellationToken,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        self.set_progress(|p| p.phase = SyncPhase::Pulling);
        let mut expected = self.store(|a| a.sync_state()).await?.pull_cursor;
        // Pages are asked for ahead of the one being applied, as their headers name them
        // (ADR 0045, ADR 0046).
        let mut pages = self.page_pipeline(token, expected.clone(), cancel);
        loop {
            // The body decides: a page asked for under another cursor (the header was missing,
            // or a retried answer moved on) is dropped, and the pages are asked for again from
            // the applied page's cursor.
            let fetch = match pages.next().await {
                Some(f) if f.is_after(expected.as_ref()) => f,
                _ => {
                    pages = self.page_pipeline(token, expected.clone(), cancel);
                    pages.next().await.ok_or_else(|| {
                        SyncError::Task("the pull stopped before its first page".into())
                    })?
                }
            };
            let page = fetch.finish().await?;
            self.checkpoint_killed_only(FailPoint::AfterPullFetched)?;
            let more = page.has_more;
            let n = page.changes.len() as u64;
            let next = page.next_cursor.clone();
            report.pulled += self.store(move |a| a.apply_pull_page(&page)).await?;
            report.pull_pages += 1;
            self.set_progress(|p| {
                p.pages_pulled += 1;
                p.changes_pulled += n;
                p.more_to_pull = more;
            });
            self.checkpoint(FailPoint::AfterPullPageApplied, cancel)?;
            if !more {
                return Ok(());
            }
            expected = Some(next);
        }
    }

    fn page_pipeline(
        &self,
        token: &str,
        after: Option<Cursor>,
        cancel: &CancellationToken,
    ) -> PagePipeline {
        PagePipeline::start(&self.transport, self.config.pull_page, token, after, cancel)
    }

    fn set_progress(&self, f: impl FnOnce(&mut SyncProgress)) {
        let now = {
            let mut p = lock(&self.progress);
            f(&mut p);
            *p
        };
        // Called outside the progress lock, so the observer may read `status()`.
        let observer = lock(&self.progress_observer).clone();
        if let Some(o) = observer {
            (o.0)(&now);
        }
    }

    async fn store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Archive) -> StoreResult<T> + Send + 'static,
    ) -> Result<T, SyncError> {
        let archive = self.archive.clone();
        tokio::task::spawn_blocking(move || f(&archive))
            .await
            .map_err(|e| SyncError::Task(e.to_string()))?
            .map_err(SyncError::Store)
    }
}

/// A batch claimed for the push, with its request body (gzipped JSON).
#[derive(Default)]
struct Outgoing {
    items: Vec<PushItem>,
    body: Vec<u8>,
}

/// A batch whose request is on its way. Dropped unanswered, its request is stopped: the entries
/// go again under the same numbers (the server answers "duplicate" for any it had stored).
struct OnWire {
    items: Vec<PushItem>,
    /// Sent while the batch before it was still unanswered.
    overtakes: bool,
    answer: JoinHandle<Result<PushResponse, Failure>>,
}

impl OnWire {
    async fn answer(&mut self) -> Result<Result<PushResponse, Failure>, SyncError> {
        (&mut self.answer)
            .await
            .map_err(|e| SyncError::Task(e.to_string()))
    }
}

impl Drop for OnWire {
    fn drop(&mut self) {
        self.answer.abort();
    }
}

/// The push request's JSON, built around the queued payloads as they are (they are the exact
/// JSON of the record, so decoding and re-encoding them would only cost time).
pub(crate) fn push_body(device: &DeviceId, items: &[PushItem]) -> String {
    let payload_len: usize = items.iter().map(|i| i.payload_json.len() + 64).sum();
    let mut s = String::with_capacity(payload_len + 64);
    s.push_str(r#"{"device_id":"#);
    // Device ids are ASCII letters, digits and `._:-`: nothing to escape.
    s.push('"');
    s.push_str(device.as_str());
    s.push_str(r#"","records":["#);
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            s.push(',');
        }
        s.push_str(r#"{"seq":"#);
        s.push_str(&item.push_seq.to_string());
        s.push_str(r#","record":{"kind":""#);
        s.push_str(item.kind.as_str());
        s.push_str(r#"","payload":"#);
        s.push_str(&item.payload_json);
        s.push_str("}}");
    }
    s.push_str("]}");
    s
}
