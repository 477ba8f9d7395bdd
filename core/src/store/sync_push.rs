//! The outbox side of a push: choosing and numbering a batch, and applying the server's per-record
//! answers — each in one transaction.
//!
//! Numbering: the server takes new records only as `last + 1, last + 2, …` per device and refuses a
//! batch with a gap, so every entry has its push number (`push_seq`) from the moment it is queued
//! and keeps it for every resend until the server has answered it (see [`super::outbox`]).
//!
//! Neither claiming nor answering writes the entries: a claim moves the `claimed` and `sent`
//! watermarks, an answer moves `answered` past the answered entries and writes only refusals (and
//! acknowledgements that arrive after an entry still waiting). One row per batch instead of two
//! rewrites per entry, which was a third of a 10,000-record push's work (ADR 0043).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction};
use serde::{Deserialize, Serialize};

use crate::domain::{BuildingCode, RecordId, Sha256Hex};
use crate::protocol::{PushResponse, RecordOutcome, RecordResult};

use super::Archive;
use super::codec::{parse_code, parse_record_id, parse_time, time_text, u64_to_sql};
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
    /// Chooses the next batch (in push order, at most `limit`) and marks it in flight — one
    /// transaction.
    pub fn claim_push_batch(&self, limit: u32) -> StoreResult<Vec<PushItem>> {
        self.write(|tx| claim(tx, limit))
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
            Ok((applied, pruned_photos, claim(tx, limit)?))
        })?;
        self.remove_photo_files(&pruned_photos);
        Ok((applied, next))
    }

    /// Applies the server's answer to a batch from [`Archive::claim_push_batch`], in one
    /// transaction: accepted and duplicate → acked; rejected → rejected with the server's code and
    /// message; entries the answer does not mention → pending again once no later batch is in
    /// flight (they go out under the same numbers). Photos the server says it
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

/// The push watermarks, see [`super::outbox`].
struct Watermarks {
    claimed: i64,
    answered: i64,
}

fn watermarks(tx: &Transaction<'_>) -> StoreResult<Watermarks> {
    Ok(tx
        .prepare_cached(
            "SELECT claimed_push_seq, answered_push_seq FROM sync_state WHERE singleton = 1",
        )?
        .query_row([], |r| {
            Ok(Watermarks {
                claimed: r.get(0)?,
                answered: r.get(1)?,
            })
        })?)
}

/// See [`Archive::claim_push_batch`].
fn claim(tx: &Transaction<'_>, limit: u32) -> StoreResult<Vec<PushItem>> {
    let claimed = watermarks(tx)?.claimed;
    let mut out = Vec::new();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT o.seq, o.push_seq, o.record_id, o.record_kind, p.payload_json, \
             EXISTS (SELECT 1 FROM outbox e WHERE e.record_id = o.record_id \
                     AND e.seq < o.seq AND e.push_seq IS NOT NULL) \
             FROM outbox o JOIN outbox_payloads p ON p.seq = o.seq \
             WHERE o.push_seq > ?1 AND o.state = 'pending' ORDER BY o.push_seq LIMIT ?2",
        )?;
        let mut rows = stmt.query((claimed, i64::from(limit)))?;
        while let Some(r) = rows.next()? {
            out.push(PushItem {
                outbox_seq: r.get(0)?,
                push_seq: r.get::<_, i64>(1)?.unsigned_abs(),
                record_id: parse_record_id(&r.get::<_, String>(2)?)?,
                kind: RecordKind::parse(&r.get::<_, String>(3)?)?,
                payload_json: r.get(4)?,
                later_version: r.get(5)?,
            });
        }
    }
    if let Some(last) = out.last() {
        tx.prepare_cached(
            "UPDATE sync_state SET claimed_push_seq = ?1, \
             sent_push_seq = max(sent_push_seq, ?1) WHERE singleton = 1",
        )?
        .execute([u64_to_sql(last.push_seq)])?;
    }
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
    let mut refused: Vec<(&PushItem, String, String)> = Vec::new();
    for item in items {
        let Some(result) = results.get(&item.push_seq) else {
            applied.unanswered += 1;
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
    let mut reject = tx.prepare_cached(
        "UPDATE outbox SET state = 'rejected', reject_code = ?2, reject_message = ?3, \
         state_changed_at = ?4 WHERE seq = ?1 AND state = 'pending'",
    )?;
    for (item, code, message) in &refused {
        reject.execute((item.outbox_seq, code, message, now_text))?;
    }
    drop(reject);
    if let Some(batch_last) = items.iter().map(|i| u64_to_sql(i.push_seq)).max() {
        let acked_numbers: HashSet<u64> = acked.iter().map(|i| i.push_seq).collect();
        advance_answered(tx, &acked_numbers, batch_last, now_text)?;
    }
    let acked_records: Vec<(RecordId, RecordKind)> =
        acked.iter().map(|i| (i.record_id, i.kind)).collect();
    sync_photos::note_server_photos(tx, &acked_records, &response.missing_photos, now_text)?;
    let pruned = prune::prune_synced_out_of_scope(tx)?;
    applied.pruned_records = pruned.records;
    Ok((applied, pruned.photo_files))
}

/// Moves `answered` over the acknowledged entries up to the first entry still waiting; an
/// acknowledgement beyond that entry is written on its own entry. When no later batch is in flight,
/// `claimed` comes back to `answered`, so whatever is still waiting is claimed again.
fn advance_answered(
    tx: &Transaction<'_>,
    acked: &HashSet<u64>,
    batch_last: i64,
    now_text: &str,
) -> StoreResult<()> {
    let marks = watermarks(tx)?;
    if batch_last <= marks.answered {
        return Ok(()); // an answer recorded before
    }
    let mut answered = marks.answered;
    let mut waiting = false;
    let mut acked_late: Vec<OutboxSeq> = Vec::new();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT seq, push_seq FROM outbox WHERE push_seq > ?1 AND push_seq <= ?2 \
             AND state = 'pending' ORDER BY push_seq",
        )?;
        let mut rows = stmt.query((marks.answered, batch_last))?;
        while let Some(r) = rows.next()? {
            let (seq, number): (OutboxSeq, i64) = (r.get(0)?, r.get(1)?);
            match (acked.contains(&number.unsigned_abs()), waiting) {
                (true, false) => answered = number,
                (true, true) => acked_late.push(seq),
                (false, _) => waiting = true,
            }
        }
    }
    if !waiting {
        // Every entry up to the batch's last number is answered (refused ones are written).
        answered = batch_last;
    }
    if !acked_late.is_empty() {
        let seqs = format!(
            "[{}]",
            acked_late
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        );
        tx.prepare_cached(
            "UPDATE outbox SET state = 'acked', state_changed_at = ?2 \
             WHERE seq IN (SELECT value FROM json_each(?1)) AND state = 'pending'",
        )?
        .execute((seqs, now_text))?;
    }
    let claimed = if marks.claimed > batch_last {
        marks.claimed
    } else {
        answered
    };
    tx.prepare_cached(
        "UPDATE sync_state SET answered_push_seq = ?1, claimed_push_seq = ?2 WHERE singleton = 1",
    )?
    .execute((answered, claimed))?;
    Ok(())
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
