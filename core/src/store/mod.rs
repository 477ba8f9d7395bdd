//! The grid worker's on-device archive (一楼一档 on the phone): the buildings of their scope, the
//! catalog, and everything they record offline, in one SQLite file (optionally SQLCipher-encrypted)
//! with photos in a directory beside it (`<db file>.photos/`, one file per photo named by SHA-256).
//!
//! Connections follow the one-writer / readers pattern (as in mozilla/application-services): one
//! write connection behind a mutex, every write a transaction through [`Archive::write`]; one read
//! connection behind its own mutex, every read a snapshot through [`Archive::read`]. WAL lets reads
//! run while a write is in progress. `synchronous=FULL`: when a recording call returns, the record is
//! on disk — a worker may drop the phone the next second.
//!
//! Long operations can be stopped from another thread with an [`InterruptHandle`]; the interrupted
//! call fails with [`StoreError::Interrupted`] and its transaction is rolled back.

mod buildings;
mod capture;
mod catalog_store;
mod clock;
mod codec;
mod error;
pub mod list;
mod outbox;
mod photos;
mod prune;
mod ratings;
mod reviews;
pub mod risk;
mod schema;
mod sync_photos;
mod sync_pull;
mod sync_push;
mod sync_state;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};
use uuid::Uuid;

use crate::domain::CaptureLimits;

pub use capture::{FieldRecord, TextLimits};
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{StoreError, StoreResult};
pub use list::{BuildingFilter, BuildingSummary, Page, Scope};
pub use outbox::{OutboxCounts, OutboxEntry, OutboxSeq, OutboxState, OutboxStateName, RecordKind};
pub use ratings::RatingRecord;
pub use reviews::ReviewView;
pub use sync_photos::PhotoFailure;
pub use sync_pull::PullApplied;
pub use sync_push::{EDIT_NOT_ACCEPTED, PushApplied, PushItem, RejectedRecord};
pub use sync_state::{SyncCounts, SyncSession, SyncState};

/// How to open an archive.
#[derive(Clone)]
pub struct ArchiveOptions {
    /// SQLCipher key from the host app (Android Keystore / iOS Keychain). `None`: not encrypted.
    /// Needs the `encryption` feature; with the feature off a key is refused.
    pub key: Option<String>,
    pub capture_limits: CaptureLimits,
    pub text_limits: TextLimits,
    /// The archive's "now" for capture checks and bookkeeping.
    pub clock: Arc<dyn Clock>,
}

impl Default for ArchiveOptions {
    fn default() -> Self {
        Self {
            key: None,
            capture_limits: CaptureLimits::default(),
            text_limits: TextLimits::default(),
            clock: Arc::new(SystemClock),
        }
    }
}

impl fmt::Debug for ArchiveOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArchiveOptions")
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .field("capture_limits", &self.capture_limits)
            .field("text_limits", &self.text_limits)
            .field("clock", &self.clock)
            .finish()
    }
}

/// Stops whatever the archive's connections are running right now (a no-op when idle).
/// Cheap to clone and safe to use from any thread.
#[derive(Clone)]
pub struct InterruptHandle {
    handles: Arc<[rusqlite::InterruptHandle; 2]>,
}

impl InterruptHandle {
    pub fn interrupt(&self) {
        for h in self.handles.iter() {
            h.interrupt();
        }
    }
}

impl fmt::Debug for InterruptHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InterruptHandle")
    }
}

/// An open archive. `Send + Sync`: share it behind an `Arc`.
pub struct Archive {
    db_path: PathBuf,
    photos_dir: PathBuf,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    interrupt: InterruptHandle,
    limits: CaptureLimits,
    text_limits: TextLimits,
    clock: Arc<dyn Clock>,
    device_id: Uuid,
}

impl fmt::Debug for Archive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Archive")
            .field("db_path", &self.db_path)
            .field("device_id", &self.device_id)
            .finish_non_exhaustive()
    }
}

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Negative `cache_size` is KiB.
const WRITER_CACHE_KIB: i64 = -16 * 1024;
/// WAL pages after which a commit checkpoints by itself (SQLite's default is 1,000). Checkpoints
/// normally run from [`Archive::checkpoint`], after a sync and off its path; this is the backstop,
/// at 32 MiB of 4 KiB pages, so a bootstrap pull does not stop at each page to copy the last.
const WAL_BACKSTOP_PAGES: i64 = 8 * 1024;

impl Archive {
    /// Opens (creating if needed) the archive at `path`, upgrading its schema to the current version.
    pub fn open(path: impl AsRef<Path>, options: ArchiveOptions) -> StoreResult<Archive> {
        let db_path = path.as_ref().to_path_buf();
        let key = options.key.as_deref();
        check_key_supported(key)?;

        let mut writer = Connection::open(&db_path)?;
        prepare_connection(&writer, key)?;
        let mode: String =
            writer.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::corrupt(format!(
                "journal mode stayed {mode}, WAL is required"
            )));
        }
        writer.pragma_update(None, "synchronous", "FULL")?;
        writer.pragma_update(None, "foreign_keys", "ON")?;
        // 16 MiB of page cache (default 2 MiB) for the writer: bulk loads touch five indexes.
        writer.pragma_update(None, "cache_size", WRITER_CACHE_KIB)?;
        writer.pragma_update(None, "wal_autocheckpoint", WAL_BACKSTOP_PAGES)?;
        schema::migrate(&mut writer)?;
        // A bootstrap pull killed before the sync's upkeep built them leaves the list indexes dropped.
        writer.execute_batch(schema::LIST_INDEXES)?;
        let device_id = ensure_device(&writer, options.clock.now())?;

        let reader = Connection::open(&db_path)?;
        prepare_connection(&reader, key)?;
        // The read connection never writes; make SQLite enforce it.
        reader.pragma_update(None, "query_only", "ON")?;

        let photos_dir = photos_dir_for(&db_path);
        std::fs::create_dir_all(&photos_dir)
            .map_err(|e| StoreError::io("creating the photo directory", e))?;

        let interrupt = InterruptHandle {
            handles: Arc::new([writer.get_interrupt_handle(), reader.get_interrupt_handle()]),
        };
        Ok(Archive {
            db_path,
            photos_dir,
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            interrupt,
            limits: options.capture_limits,
            text_limits: options.text_limits,
            clock: options.clock,
            device_id,
        })
    }

    /// Runs `f` on a read snapshot: everything it reads is from one consistent moment.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = lock(&self.reader);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` in one write transaction, committed only if `f` returns `Ok`; on any error (including
    /// an interrupt or a full disk) nothing `f` wrote stays.
    pub fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> StoreResult<T>) -> StoreResult<T> {
        commit_with(&mut lock(&self.writer), f)
    }

    /// [`Archive::write`] for what a power cut may undo without losing a record: a pull page (the
    /// server sends it again, its cursor goes with it) or the sync's own bookkeeping. Committed to
    /// the log without waiting for the disk (`synchronous=NORMAL`), it is as atomic and crash-safe
    /// as any commit (a killed app keeps it); the next durable commit or checkpoint flushes it,
    /// since the log is flushed whole. Field records never go through here.
    pub(crate) fn write_unflushed<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = lock(&self.writer);
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let out = commit_with(&mut conn, f);
        // Every other write stays durable.
        let restored = conn.pragma_update(None, "synchronous", "FULL");
        let out = out?;
        restored?;
        Ok(out)
    }

    /// Copies what the write-ahead log holds into the database file, as far as readers allow,
    /// without blocking writers (a passive checkpoint). Returns the log's pages and how many of
    /// them are now in the database file.
    pub fn checkpoint(&self) -> StoreResult<(u64, u64)> {
        let conn = lock(&self.reader);
        let (log, done): (i64, i64) =
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(1)?, r.get(2)?))
            })?;
        Ok((log.unsigned_abs(), done.unsigned_abs()))
    }

    pub fn interrupt_handle(&self) -> InterruptHandle {
        self.interrupt.clone()
    }

    /// This phone's identity for sync, generated (UUID v7) when the archive was created.
    pub fn device_id(&self) -> Uuid {
        self.device_id
    }

    pub fn path(&self) -> &Path {
        &self.db_path
    }

    pub fn photos_dir(&self) -> &Path {
        &self.photos_dir
    }

    pub fn capture_limits(&self) -> &CaptureLimits {
        &self.limits
    }

    /// The schema version of the open archive (always the current one after `open`).
    pub fn schema_version(&self) -> StoreResult<i64> {
        self.read(schema::user_version)
    }
}

/// A panic inside a closure unwinds through the `Transaction`, which rolls back; the connection is
/// then clean, so a poisoned lock carries no broken state and is taken over.
fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn photos_dir_for(db_path: &Path) -> PathBuf {
    let mut name = db_path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".photos");
    db_path.with_file_name(name)
}

fn check_key_supported(key: Option<&str>) -> StoreResult<()> {
    match key {
        None => Ok(()),
        Some("") => Err(StoreError::EmptyKey),
        Some(_) if cfg!(feature = "encryption") => Ok(()),
        Some(_) => Err(StoreError::EncryptionUnavailable),
    }
}

/// The key first (SQLCipher requires it before anything touches the file), then a read that fails
/// with NOTADB — mapped to [`StoreError::NotReadable`] — when the key is wrong or missing.
fn commit_with<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Transaction<'_>) -> StoreResult<T>,
) -> StoreResult<T> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let out = f(&tx)?;
    tx.commit()?;
    Ok(out)
}

fn prepare_connection(conn: &Connection, key: Option<&str>) -> StoreResult<()> {
    #[cfg(feature = "encryption")]
    if let Some(key) = key {
        conn.pragma_update(None, "key", key)?;
    }
    #[cfg(not(feature = "encryption"))]
    let _ = key;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })?;
    conn.pragma_update(None, "temp_store", 2)?;
    Ok(())
}

fn ensure_device(conn: &Connection, now: chrono::DateTime<chrono::Utc>) -> StoreResult<Uuid> {
    conn.execute(
        "INSERT INTO device (singleton, id, created_at) VALUES (1, ?1, ?2)
         ON CONFLICT (singleton) DO NOTHING",
        (Uuid::now_v7().to_string(), codec::time_text(now)),
    )?;
    let id: String = conn.query_row("SELECT id FROM device WHERE singleton = 1", [], |r| {
        r.get(0)
    })?;
    Uuid::parse_str(&id).map_err(|_| StoreError::corrupt("the stored device id is not a UUID"))
}
