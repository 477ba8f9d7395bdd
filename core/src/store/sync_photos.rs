//! Which photos the server has. The server names the photos it lacks (in every push answer for the
//! batch's records, and in every pull for all of this device's records); those are uploaded. A photo
//! of an acknowledged record the server does not name is on the server. `photo_uploads` keeps this
//! per photo: `missing` (to upload) or `stored`, and for a missing photo why its last upload
//! failed, if it did.

use chrono::{DateTime, Utc};
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};

use crate::domain::{PhotoRef, RecordId, Sha256Hex};

use super::Archive;
use super::codec::{parse_time, record_id_text, time_text};
use super::error::{StoreError, StoreResult};
use super::outbox::{RecordKind, UNANSWERED};

/// A photo the server still lacks whose last upload failed, as the worker sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoFailure {
    pub sha256: Sha256Hex,
    /// Why, in words the worker can act on (the server's message, or "damaged" for a file that
    /// no longer matches its hash).
    pub reason: String,
    pub failed_at: DateTime<Utc>,
}

impl Archive {
    /// Photos the server asked for and the phone holds, in hash order.
    pub fn photos_to_upload(&self) -> StoreResult<Vec<PhotoRef>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT p.sha256, p.size_bytes, p.width, p.height FROM photo_uploads u \
                 JOIN photos p ON p.sha256 = u.sha256 WHERE u.state = 'missing' ORDER BY u.sha256",
            )?;
            let mut rows = stmt.query([])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let sha: String = r.get(0)?;
                out.push(PhotoRef {
                    sha256: Sha256Hex::parse(&sha).map_err(|_| {
                        super::StoreError::corrupt("a stored photo hash is malformed")
                    })?,
                    size_bytes: r.get::<_, i64>(1)?.unsigned_abs(),
                    width: r.get(2)?,
                    height: r.get(3)?,
                });
            }
            Ok(out)
        })
    }

    /// The server confirmed it holds the whole photo.
    pub fn mark_photo_stored(&self, sha256: &Sha256Hex) -> StoreResult<()> {
        let now = time_text(self.clock.now());
        self.write(|tx| {
            tx.execute(
                "INSERT INTO photo_uploads (sha256, state, updated_at) \
                 SELECT sha256, 'stored', ?2 FROM photos WHERE sha256 = ?1 \
                 ON CONFLICT (sha256) DO UPDATE SET state = 'stored', updated_at = ?2, \
                 last_failure = NULL, failed_at = NULL",
                (sha256.as_str(), &now),
            )?;
            Ok(())
        })
    }

    /// Records why uploading a photo the server lacks failed; it stays to upload.
    pub fn note_photo_failure(&self, sha256: &Sha256Hex, reason: &str) -> StoreResult<()> {
        let now = time_text(self.clock.now());
        self.write(|tx| {
            tx.execute(
                "UPDATE photo_uploads SET last_failure = ?2, failed_at = ?3 \
                 WHERE sha256 = ?1 AND state = 'missing'",
                (sha256.as_str(), reason, &now),
            )?;
            Ok(())
        })
    }

    /// Photos the server still lacks whose last upload failed, most recent failure first. (A
    /// photo that has since arrived is `stored`; a reason left on its row is not shown.)
    pub fn photo_failures(&self) -> StoreResult<Vec<PhotoFailure>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT sha256, last_failure, failed_at FROM photo_uploads \
                 WHERE state = 'missing' AND last_failure IS NOT NULL \
                 ORDER BY failed_at DESC, sha256",
            )?;
            let mut rows = stmt.query([])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(PhotoFailure {
                    sha256: Sha256Hex::parse(&r.get::<_, String>(0)?)
                        .map_err(|_| StoreError::corrupt("a stored photo hash is malformed"))?,
                    reason: r.get(1)?,
                    failed_at: parse_time(&r.get::<_, String>(2)?)?,
                });
            }
            Ok(out)
        })
    }

    /// Photos not yet known to be on the server: those it asked for, and those of records still
    /// waiting to be pushed (records refused for good are left out: their photos will not go).
    pub fn pending_photo_count(&self) -> StoreResult<u64> {
        self.read(|conn| {
            let n: i64 = conn.query_row(
                &format!(
                    "SELECT count(*) FROM ( \
                   SELECT sha256 FROM photo_uploads WHERE state = 'missing' \
                   UNION \
                   SELECT l.sha FROM ( \
                     SELECT inspection_id AS rid, photo_sha256 AS sha FROM inspection_photos \
                     UNION ALL SELECT event_id, photo_sha256 FROM event_photos) l \
                   LEFT JOIN photo_uploads u ON u.sha256 = l.sha \
                   WHERE u.sha256 IS NULL AND EXISTS (SELECT 1 FROM outbox o \
                     WHERE o.record_id = l.rid AND {UNANSWERED}))"
                ),
                [],
                |r| r.get(0),
            )?;
            Ok(n.unsigned_abs())
        })
    }

    /// Best effort: a file left behind is only wasted space, and its row is already gone.
    pub(crate) fn remove_photo_files(&self, shas: &[Sha256Hex]) {
        for sha in shas {
            let _ = std::fs::remove_file(self.photo_path(sha));
        }
    }
}

/// After a push answer: `missing` photos are to upload; the other photos of `acked` records are on
/// the server. One indexed lookup per record, in its own kind's link table: the batch's ids
/// through `json_each` built a temporary index of them for each of the two tables.
pub(crate) fn note_server_photos(
    tx: &Transaction<'_>,
    acked: &[(RecordId, RecordKind)],
    missing: &[Sha256Hex],
    now: &str,
) -> StoreResult<()> {
    let stored = |links: &str, record: &str| {
        format!(
            "INSERT INTO photo_uploads (sha256, state, updated_at) \
             SELECT photo_sha256, 'stored', ?2 FROM {links} WHERE {record} = ?1 \
             ON CONFLICT (sha256) DO UPDATE SET state = 'stored', updated_at = ?2"
        )
    };
    let mut of_inspection = tx.prepare_cached(&stored("inspection_photos", "inspection_id"))?;
    let mut of_event = tx.prepare_cached(&stored("event_photos", "event_id"))?;
    for (id, kind) in acked {
        let stmt = match kind {
            RecordKind::Inspection => &mut of_inspection,
            RecordKind::Event => &mut of_event,
        };
        stmt.execute((record_id_text(*id), now))?;
    }
    mark_missing(tx, missing, now)
}

/// After a pull: the server's list is complete for this device, so a photo it no longer names
/// arrived.
pub(crate) fn replace_missing(
    tx: &Transaction<'_>,
    missing: &[Sha256Hex],
    now: &str,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE photo_uploads SET state = 'stored', updated_at = ?1 WHERE state = 'missing'",
        [now],
    )?;
    mark_missing(tx, missing, now)
}

/// Only photos the phone holds can be queued; the server may name others (a record this device
/// sent before the archive was reinstalled), which nothing here can upload.
fn mark_missing(tx: &Transaction<'_>, missing: &[Sha256Hex], now: &str) -> StoreResult<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO photo_uploads (sha256, state, updated_at) \
         SELECT sha256, 'missing', ?2 FROM photos WHERE sha256 = ?1 \
         ON CONFLICT (sha256) DO UPDATE SET state = 'missing', updated_at = ?2",
    )?;
    for sha in missing {
        stmt.execute((sha.as_str(), now))?;
    }
    Ok(())
}
