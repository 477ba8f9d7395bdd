//! Applying one pull page: buildings (with the server's rating explanations), tombstones, review outcomes, the server's catalog and policy
//! versions, the photos it lacks and the next cursor — in ONE transaction, so a page is either
//! applied with its cursor or not at all, and pulling it again after a crash is harmless.

use std::collections::HashSet;

use rusqlite::Transaction;
use serde::{Deserialize, Serialize};

use crate::protocol::{Change, PullResponse, ReviewOutcome};

use super::Archive;
use super::buildings::{building_upsert, is_bulk_load, upsert_building_row};
use super::codec::{record_id_text, time_text};
use super::error::StoreResult;
use super::{prune, ratings, schema, sync_photos};

/// A page of at least this many buildings, and at least a quarter of the buildings held after it,
/// is loaded with the list indexes dropped, to be built once after the pull. Measured in release: 5,000 buildings
/// into an empty phone take ~88 ms into live indexes, ~31 ms without them (plus the rebuild).
const BULK_PAGE_MIN_ROWS: usize = 1_000;

/// What applying a page did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullApplied {
    pub buildings: u64,
    /// Buildings dropped by tombstones (or by a reset) that the phone held.
    pub removed: u64,
    pub reviews: u64,
    /// The server restarted the phone's view (scope changed): every building held was dropped first.
    pub reset: bool,
    /// Records about dropped buildings that the server has in full, removed from the phone.
    pub pruned_records: u64,
}

impl std::ops::AddAssign for PullApplied {
    fn add_assign(&mut self, o: Self) {
        self.buildings += o.buildings;
        self.removed += o.removed;
        self.reviews += o.reviews;
        self.reset |= o.reset;
        self.pruned_records += o.pruned_records;
    }
}

impl Archive {
    pub fn apply_pull_page(&self, page: &PullResponse) -> StoreResult<PullApplied> {
        for change in &page.changes {
            if let Change::Building { building, .. } = change {
                building.location.validate()?;
                if let Some(s) = &building.scores {
                    s.validate()?;
                }
            }
        }
        let now = time_text(self.clock.now());
        let incoming = page
            .changes
            .iter()
            .filter(|c| matches!(c, Change::Building { .. }))
            .count();
        // The server can send the page again: its commit does not wait for the disk.
        let (applied, photo_files) = self.write_unflushed(|tx| {
            let mut applied = PullApplied {
                reset: page.reset,
                ..PullApplied::default()
            };
            if page.reset {
                tx.execute(
                    "INSERT INTO departed_buildings (code, departed_at) \
                     SELECT code, ?1 FROM buildings WHERE true ON CONFLICT (code) DO NOTHING",
                    [&now],
                )?;
                applied.removed += tx.execute("DELETE FROM buildings", [])? as u64;
            }
            let existing: i64 = tx.query_row("SELECT count(*) FROM buildings", [], |r| r.get(0))?;
            // A bootstrap page into an (almost) empty phone: index once at the end, not per row.
            let bulk = is_bulk_load(
                incoming,
                usize::try_from(existing).unwrap_or(0),
                BULK_PAGE_MIN_ROWS,
            );
            if bulk {
                schema::drop_list_indexes(tx)?;
            }
            let watching_departed: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM departed_buildings)",
                [],
                |r| r.get(0),
            )?;
            let mut upsert = building_upsert(tx)?;
            let mut grid = tx.prepare_cached(
                "INSERT INTO grids (id, name, boundary_json, community, street, worker) \
                 VALUES (?1, ?1, '[]', ?2, ?3, NULL) ON CONFLICT (id) DO NOTHING",
            )?;
            let mut grids_seen: HashSet<&str> = HashSet::new();
            for change in &page.changes {
                match change {
                    Change::Building { building, rating } => {
                        // The pull carries buildings, not grids: a building of a grid the phone
                        // has not seen gets a minimal grid row (no boundary) so it can be stored.
                        if grids_seen.insert(building.grid.as_str()) {
                            grid.execute((
                                building.grid.as_str(),
                                building.community.as_str(),
                                building.street.as_str(),
                            ))?;
                        }
                        upsert_building_row(&mut upsert, building)?;
                        if watching_departed {
                            prune::mark_returned(tx, &building.code)?;
                        }
                        if let Some(entry) = rating {
                            ratings::record_server_rating(tx, entry)?;
                        }
                        applied.buildings += 1;
                    }
                    Change::Tombstone { code, .. } => {
                        prune::mark_departed(tx, &[code], &now)?;
                        applied.removed +=
                            tx.prepare_cached("DELETE FROM buildings WHERE code = ?1")?
                                .execute([code.as_str()])? as u64;
                    }
                    Change::Review { outcome } => {
                        upsert_review(tx, outcome, &now)?;
                        applied.reviews += 1;
                    }
                }
            }
            drop((upsert, grid));
            // A bootstrap spans pages: the indexes dropped by its first page are built once, after
            // its last, by `Archive::ensure_list_indexes` — the sync client's upkeep after the sync,
            // or the next open of the archive (killed). Lists answer meanwhile, by scanning (ADR 0046).
            tx.execute(
                "UPDATE sync_state SET pull_cursor = ?1, server_catalog_version = ?2, \
                 server_policy_version = ?3 WHERE singleton = 1",
                (
                    page.next_cursor.as_str(),
                    page.catalog_version,
                    page.policy_version,
                ),
            )?;
            sync_photos::replace_missing(tx, &page.missing_photos, &now)?;
            let pruned = prune::prune_synced_out_of_scope(tx)?;
            applied.pruned_records = pruned.records;
            Ok((applied, pruned.photo_files))
        })?;
        self.remove_photo_files(&photo_files);
        Ok(applied)
    }
}

fn upsert_review(tx: &Transaction<'_>, o: &ReviewOutcome, now: &str) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO review_outcomes (record_id, decision, comment, reviewer, reviewed_at, \
         received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (record_id) DO UPDATE SET decision = excluded.decision, \
         comment = excluded.comment, reviewer = excluded.reviewer, \
         reviewed_at = excluded.reviewed_at, received_at = excluded.received_at",
    )?
    .execute((
        record_id_text(o.record),
        o.decision.as_str(),
        &o.comment,
        o.reviewer.as_str(),
        time_text(o.reviewed_at),
        now,
    ))?;
    Ok(())
}
