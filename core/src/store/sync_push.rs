//! The outbox side of a push: choosing and numbering a batch, and applying the server's per-record
//! answers — each in one transaction.
//!
//! Numbering: the server takes new records only as `last + 1, last + 2, …` per device and refuses a
//! batch with a gap, so every entry gets its push number (`push_seq`) the first time it is handed to
//! a push and keeps it for every resend until the server has answered it. An entry replaced by a
//! newer version of its record before it was ever numbered is never sent (it is marked acked with
//! `superseded_by`): the newer version carries the record.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction};
use serde::{Deserialize, Serialize};

use crate::domain::{BuildingCode, RecordId, Sha256Hex};
use crate::protocol::{PushResponse, RecordOutcome, RecordResult};

use super::Archive;
use super::codec::{parse_code, parse_record_id, parse_time, time_text};
use super::error::{StoreError, StoreResult};
use super::outbox::{OutboxSeq, RecordKind};
use super::{prune, sync_photos};

/// Reject code the phone records itself when the server answered "duplicate" to a newer version of
/// a record it already held: the server keeps records as first received, so the edit did not reach
/// it. The worker sees it like any rejection.
pub const EDIT_NOT_ACCEPTED: &str = "edit_not_accepted";

/// One outbox entry handed to a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushItem {
    pub outbox_seq: OutboxSeq,
    /// The number the server sees.
    pub push_seq: u64,
    pub record_id: RecordId,
    pub kind: RecordKind,
    /// The record's JSON exactly as queued (the `payload` of the wire record).
    pub payload_json: String,
    /// An earlier version of this record was already handed to a push.
    pub later_version: bool,
}

/// What applying a push answer did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushApplied {
    pub accepted: u64,
    pub duplicate: u64,
    pub rejected: u64,
    /// Entries the answer did not mention; back to pending for the next push.
    pub unanswered: u64,
    /// Records about buildings no longer held that the server now has in full, removed from the
    /// phone.
    pub pruned_records: u64,
}

impl std::ops::AddAssign for PushApplied {
    fn add_assign(&mut self, o: Self) {
        self.accepted += o.accepted;
        self.duplicate += o.duplicate;
        self.rejected += o.rejected;
        self.unanswered += o.unanswered;
        self.pruned_records += o.pruned_records;
    }
}

/// A record the server refused, as the worker sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedRecord {
    pub outbox_seq: OutboxSeq,
    pub record_id: RecordId,
    pub kind: RecordKind,
    pub building: Option<BuildingCode>,
    /// The server's stable code (or [`EDIT_NOT_ACCEPTED`]).
    pub code: String,
    /// The server's message, shown as is.
    pub message: String,
    pub rejected_at: DateTime<Utc>,
}

impl Archive {
    /// Chooses the next batch (oldest first, at most `limit`), numbers the entries that have no push
    /// number yet, and marks the batch in flight — one transaction.
    pub fn claim_push_batch(&self, limit: u32) -> StoreResult<Vec<PushItem>> {
        let now = time_text(self.clock.now());
        self.write(|tx| claim(tx, limit, &now))
    }

    /// [`Archive::apply_push_results`] for one batch and [`Archive::claim_push_batch`] for the
    /// next, in one transaction: a push of many batches makes one durable commit per batch on the
    /// phone instead of two. Killed at any point, either both happened or neither did.
    pub fn apply_push_results_and_claim(
        &self,
        items: &[PushItem],
        response: &PushResponse,
        limit: u32,
    ) -> StoreResult<(PushApplied, Vec<PushItem>)> {
        let now = time_text(self.clock.now());
        let (applied, pruned_photos, next) = self.write(|tx| {
            let (applied, pruned_photos) = apply_results(tx, items, response, &now)?;
            Ok((applied, pruned_photos, claim(tx, limit, &now)?))
        })?;
        self.remove_photo_files(&pruned_photos);
        Ok((applied, next))
    }

    /// Applies the server's answer to a batch from [`Archive::claim_push_batch`], in one
    /// transaction: accepted and duplicate → acked; rejected → rejected with the server's code and
    /// message; entries the answer does not mention → pending again. Photos the server says it
    /// lacks are queued for upload; the other photos of acked records are known to be on the
    /// server. Records about buildings no longer held that the server now has in full are removed.
    pub fn apply_push_results(
        &self,
        items: &[PushItem],
        response: &PushResponse,
    ) -> StoreResult<PushApplied> {
        let now = time_text(self.clock.now());
        let (applied, pruned_photos) = self.write(|tx| apply_results(tx, items, response, &now))?;
        self.remove_photo_files(&pruned_photos);
        Ok(applied)
    }

    /// Records the server refused, newest first: one per record (its latest refused version),
    /// leaving out records whose later version was accepted.
    pub fn rejected_records(&self) -> StoreResult<Vec<RejectedRecord>> {
        self.read(rejected_records)
    }
}

/// See [`Archive::claim_push_batch`].
fn claim(tx: &Transaction<'_>, limit: u32, now: &str) -> StoreResult<Vec<PushItem>> {
    let mut out = Vec::new();
    let mut last: i64 = tx.query_row(
        "SELECT last_push_seq FROM sync_state WHERE singleton = 1",
        [],
        |r| r.get(0),
    )?;
    {
        let mut stmt = tx.prepare_cached(
            "SELECT o.seq, o.push_seq, o.record_id, o.record_kind, p.payload_json, \
             EXISTS (SELECT 1 FROM outbox e WHERE e.record_id = o.record_id \
                     AND e.seq < o.seq AND e.push_seq IS NOT NULL) \
             FROM outbox o JOIN outbox_payloads p ON p.seq = o.seq \
             WHERE o.state = 'pending' ORDER BY o.seq LIMIT ?1",
        )?;
        let mut rows = stmt.query([i64::from(limit)])?;
        while let Some(r) = rows.next()? {
            let push_seq = match r.get::<_, Option<i64>>(1)? {
                Some(p) => p,
                None => {
                    last += 1;
                    last
                }
            };
            out.push(PushItem {
                outbox_seq: r.get(0)?,
                push_seq: push_seq.unsigned_abs(),
                record_id: parse_record_id(&r.get::<_, String>(2)?)?,
                kind: RecordKind::parse(&r.get::<_, String>(3)?)?,
                payload_json: r.get(4)?,
                later_version: r.get(5)?,
            });
        }
    }
    if out.is_empty() {
        return Ok(out);
    }
    // One statement for the batch: [[outbox seq, push seq], …].
    let pairs = format!(
        "[{}]",
        out.iter()
            .map(|i| format!("[{},{}]", i.outbox_seq, i.push_seq))
            .collect::<Vec<_>>()
            .join(",")
    );
    tx.prepare_cached(
        "UPDATE outbox SET push_seq = b.value ->> 1, state = 'in_flight', \
         state_changed_at = ?2, attempts = attempts + 1 \
         FROM json_each(?1) b WHERE outbox.seq = b.value ->> 0",
    )?
    .execute((&pairs, &now))?;
    tx.execute(
        "UPDATE sync_state SET last_push_seq = max(last_push_seq, ?1) WHERE singleton = 1",
        [last],
    )?;
    // Numbers were handed out in outbox order, but entries numbered by an earlier,
    // interrupted push keep theirs: send in push order.
    out.sort_by_key(|i| i.push_seq);
    Ok(out)
}

/// See [`Archive::apply_push_results`]; also returns the photo files pruning made unneeded, to be
/// removed once the transaction has committed.
fn apply_results(
    tx: &Transaction<'_>,
    items: &[PushItem],
    response: &PushResponse,
    now_text: &str,
) -> StoreResult<(PushApplied, Vec<Sha256Hex>)> {
    let results: HashMap<u64, &RecordResult> =
        response.results.iter().map(|r| (r.seq, r)).collect();

    let mut applied = PushApplied::default();
    let mut acked: Vec<&PushItem> = Vec::with_capacity(items.len());
    let mut unanswered: Vec<&PushItem> = Vec::new();
    let mut refused: Vec<(&PushItem, String, String)> = Vec::new();
    for item in items {
        let Some(result) = results.get(&item.push_seq) else {
            unanswered.push(item);
            continue;
        };
        if result.id != item.record_id {
            return Err(StoreError::PushAnswerMismatch {
                push_seq: item.push_seq,
            });
        }
        match &result.outcome {
            RecordOutcome::Accepted { .. } => {
                applied.accepted += 1;
                acked.push(item);
            }
            RecordOutcome::Duplicate if item.later_version => {
                applied.rejected += 1;
                refused.push((
                    item,
                    EDIT_NOT_ACCEPTED.to_owned(),
                    "the server already had an earlier version of this record and kept \
                     it; this edit is only on the phone"
                        .to_owned(),
                ));
            }
            RecordOutcome::Duplicate => {
                applied.duplicate += 1;
                acked.push(item);
            }
            RecordOutcome::Rejected { code, message } => {
                applied.rejected += 1;
                refused.push((item, code.as_str().to_owned(), message.clone()));
            }
        }
    }
    applied.unanswered = unanswered.len() as u64;
    let seqs = |v: &[&PushItem]| {
        format!(
            "[{}]",
            v.iter()
                .map(|i| i.outbox_seq.to_string())
                .collect::<Vec<_>>()
                .join(",")
        )
    };
    for (state, set) in [("acked", &acked), ("pending", &unanswered)] {
        if !set.is_empty() {
            tx.prepare_cached(
                "UPDATE outbox SET state = ?2, state_changed_at = ?3 \
                 WHERE seq IN (SELECT value FROM json_each(?1)) AND state = 'in_flight'",
            )?
            .execute((seqs(set), state, &now_text))?;
        }
    }
    let mut reject = tx.prepare_cached(
        "UPDATE outbox SET state = 'rejected', reject_code = ?2, reject_message = ?3, \
         state_changed_at = ?4 WHERE seq = ?1 AND state = 'in_flight'",
    )?;
    for (item, code, message) in &refused {
        reject.execute((item.outbox_seq, code, message, &now_text))?;
    }
    drop(reject);
    let acked_ids: Vec<RecordId> = acked.iter().map(|i| i.record_id).collect();
    sync_photos::note_server_photos(tx, &acked_ids, &response.missing_photos, now_text)?;
    let pruned = prune::prune_synced_out_of_scope(tx)?;
    applied.pruned_records = pruned.records;
    Ok((applied, pruned.photo_files))
}

pub(crate) fn rejected_records(conn: &Connection) -> StoreResult<Vec<RejectedRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT o.seq, o.record_id, o.record_kind, o.reject_code, o.reject_message, \
         o.state_changed_at, json_extract(p.payload_json, '$.building') \
         FROM outbox o JOIN outbox_payloads p ON p.seq = o.seq WHERE o.state = 'rejected' AND o.seq = (SELECT max(n.seq) FROM outbox n \
             WHERE n.record_id = o.record_id AND n.superseded_by IS NULL) \
         ORDER BY o.state_changed_at DESC, o.seq DESC",
    )?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(RejectedRecord {
            outbox_seq: r.get(0)?,
            record_id: parse_record_id(&r.get::<_, String>(1)?)?,
            kind: RecordKind::parse(&r.get::<_, String>(2)?)?,
            code: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            message: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
            rejected_at: parse_time(&r.get::<_, String>(5)?)?,
            building: r
                .get::<_, Option<String>>(6)?
                .map(|c| parse_code(&c))
                .transpose()?,
        });
    }
    Ok(out)
}
