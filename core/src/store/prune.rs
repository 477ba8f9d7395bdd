//! Removing what left the worker's scope without losing anything.
//!
//! A building that leaves the phone (tombstone, scope reset) is deleted at once and noted in
//! `departed_buildings`; the records about it stay until the server has them in full: every version of the record acknowledged (none
//! pending, in flight or refused) and every photo it refers to on the server. Only then are the
//! record, its acknowledged outbox entries and its photos (when no other record uses them) removed.

use rusqlite::Transaction;

use crate::domain::{BuildingCode, Sha256Hex};

use super::error::{StoreError, StoreResult};
use super::outbox::UNANSWERED;

#[derive(Debug, Default)]
pub(crate) struct Pruned {
    pub records: u64,
    /// Photos whose rows were deleted; their files go after the commit.
    pub photo_files: Vec<Sha256Hex>,
}

/// The condition for a record (table alias `r`, id column `r.id`, photo link table `links` with
/// record column `link_col`) to be removable.
fn removable(links: &str, link_col: &str) -> String {
    format!(
        "r.building_code IN (SELECT code FROM departed_buildings) \
         AND r.building_code NOT IN (SELECT code FROM buildings) \
         AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.record_id = r.id \
             AND (o.state = 'rejected' OR {UNANSWERED})) \
         AND NOT EXISTS (SELECT 1 FROM {links} l LEFT JOIN photo_uploads u \
             ON u.sha256 = l.photo_sha256 \
             WHERE l.{link_col} = r.id AND (u.state IS NULL OR u.state != 'stored'))"
    )
}

/// Notes that buildings left the phone (their rows are deleted by the caller).
pub(crate) fn mark_departed(
    tx: &Transaction<'_>,
    codes: &[&BuildingCode],
    now: &str,
) -> StoreResult<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO departed_buildings (code, departed_at) VALUES (?1, ?2) \
         ON CONFLICT (code) DO NOTHING",
    )?;
    for c in codes {
        stmt.execute((c.as_str(), now))?;
    }
    Ok(())
}

/// A building is back on the phone: its records are no longer candidates for removal.
pub(crate) fn mark_returned(tx: &Transaction<'_>, code: &BuildingCode) -> StoreResult<()> {
    tx.prepare_cached("DELETE FROM departed_buildings WHERE code = ?1")?
        .execute([code.as_str()])?;
    Ok(())
}

pub(crate) fn prune_synced_out_of_scope(tx: &Transaction<'_>) -> StoreResult<Pruned> {
    let mut pruned = Pruned::default();
    let any: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM departed_buildings)",
        [],
        |r| r.get(0),
    )?;
    if !any {
        return Ok(pruned);
    }
    for (table, links, link_col) in [
        ("inspections", "inspection_photos", "inspection_id"),
        ("events", "event_photos", "event_id"),
    ] {
        let cond = removable(links, link_col);
        for dependent in ["outbox", "review_outcomes"] {
            tx.execute(
                &format!(
                    "DELETE FROM {dependent} WHERE record_id IN \
                     (SELECT r.id FROM {table} r WHERE {cond})"
                ),
                [],
            )?;
        }
        // Photo links go with the record (ON DELETE CASCADE).
        let n = tx.execute(
            &format!("DELETE FROM {table} WHERE id IN (SELECT r.id FROM {table} r WHERE {cond})"),
            [],
        )?;
        pruned.records += n as u64;
    }
    if pruned.records == 0 {
        return Ok(pruned);
    }
    // A departed building with no record left needs no more watching.
    tx.execute(
        "DELETE FROM departed_buildings WHERE code NOT IN (SELECT building_code FROM inspections) \
         AND code NOT IN (SELECT building_code FROM events)",
        [],
    )?;
    let orphan = "state = 'stored' \
         AND sha256 NOT IN (SELECT photo_sha256 FROM inspection_photos) \
         AND sha256 NOT IN (SELECT photo_sha256 FROM event_photos)";
    let mut stmt = tx.prepare(&format!("SELECT sha256 FROM photo_uploads WHERE {orphan}"))?;
    let shas = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    drop(stmt);
    for sha in shas {
        tx.execute("DELETE FROM photo_uploads WHERE sha256 = ?1", [&sha])?;
        tx.execute("DELETE FROM photos WHERE sha256 = ?1", [&sha])?;
        pruned.photo_files.push(
            Sha256Hex::parse(&sha)
                .map_err(|_| StoreError::corrupt("a stored photo hash is malformed"))?,
        );
    }
    Ok(pruned)
}
