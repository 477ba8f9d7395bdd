//! The outbox side of a push: choosing and numbering a batch, and applying the server's per-record
//! answers — each in one transaction.
//!
//! Numbering: the server takes new records only as `last + 1, last + 2, …` per device and refuses a
//! batch with a gap, so every entry gets its push number (`push_seq`) the first time it is handed to
//! a push and keeps it for every resend until the server has answered it. An entry replaced by a
//! newer version of its record before it was ever numbered is never sent (it is marked acked with
//! `superseded_by`): the newer version carries the record.

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::domain::{BuildingCode, RecordId};
use crate::protocol::{PushResponse, RecordOutcome};

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
    /// number yet, and marks the batch in flight — one transaction. Entries replaced by a newer
    /// version before they were ever sent are skipped for good.
    pub fn claim_push_batch(&self, limit: u32) -> StoreResult<Vec<PushItem>> {
        let now = time_text(self.clock.now());
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE outbox SET state = 'acked', state_changed_at = ?1, \
                 superseded_by = (SELECT max(n.seq) FROM outbox n WHERE n.record_id = outbox.record_id) \
                 WHERE state = 'pending' AND push_seq IS NULL AND EXISTS \
                 (SELECT 1 FROM outbox n WHERE n.record_id = outbox.record_id AND n.seq > outbox.seq)",
            )?
            .execute([&now])?;

            let mut items = Vec::new();
            {
                let mut stmt = tx.prepare_cached(
                    "SELECT o.seq, o.push_seq, o.record_id, o.record_kind, o.payload_json, \
                     EXISTS (SELECT 1 FROM outbox e WHERE e.record_id = o.record_id \
                             AND e.seq < o.seq AND e.push_seq IS NOT NULL) \
                     FROM outbox o WHERE o.state = 'pending' ORDER BY o.seq LIMIT ?1",
                )?;
                let mut rows = stmt.query([i64::from(limit)])?;
                while let Some(r) = rows.next()? {
                    items.push((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Option<i64>>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, bool>(5)?,
                    ));
                }
            }
            let mut last: i64 = tx.query_row(
                "SELECT last_push_seq FROM sync_state WHERE singleton = 1",
                [],
                |r| r.get(0),
            )?;
            let mut number = tx.prepare_cached(
                "UPDATE outbox SET push_seq = ?2, state = 'in_flight', state_changed_at = ?3, \
                 attempts = attempts + 1 WHERE seq = ?1",
            )?;
            let mut out = Vec::with_capacity(items.len());
            for (seq, push_seq, record_id, kind, payload_json, later_version) in items {
                let push_seq = match push_seq {
                    Some(p) => p,
                    None => {
                        last += 1;
                        last
                    }
                };
                number.execute((seq, push_seq, &now))?;
                out.push(PushItem {
                    outbox_seq: seq,
                    push_seq: push_seq.unsigned_abs(),
                    record_id: parse_record_id(&record_id)?,
                    kind: RecordKind::parse(&kind)?,
                    payload_json,
                    later_version,
                });
            }
            drop(number);
            tx.execute(
                "UPDATE sync_state SET last_push_seq = max(last_push_seq, ?1) WHERE singleton = 1",
                [last],
            )?;
            // Numbers were handed out in outbox order, but entries numbered by an earlier,
            // interrupted push keep theirs: send in push order.
            out.sort_by_key(|i| i.push_seq);
            Ok(out)
        })
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
        let now = self.clock.now();
        let now_text = time_text(now);
        let (applied, pruned_photos) = self.write(|tx| {
            let mut applied = PushApplied::default();
            let mut set = tx.prepare_cached(
                "UPDATE outbox SET state = ?2, reject_code = ?3, reject_message = ?4, \
                 state_changed_at = ?5 WHERE seq = ?1 AND state = 'in_flight'",
            )?;
            let mut acked_ids = Vec::new();
            for item in items {
                let result = response.results.iter().find(|r| r.seq == item.push_seq);
                let Some(result) = result else {
                    set.execute((
                        item.outbox_seq,
                        "pending",
                        None::<&str>,
                        None::<&str>,
                        &now_text,
                    ))?;
                    applied.unanswered += 1;
                    continue;
                };
                if result.id != item.record_id {
                    return Err(StoreError::PushAnswerMismatch {
                        push_seq: item.push_seq,
                    });
                }
                let (state, code, message): (&str, Option<String>, Option<String>) =
                    match &result.outcome {
                        RecordOutcome::Accepted { .. } => {
                            applied.accepted += 1;
                            ("acked", None, None)
                        }
                        RecordOutcome::Duplicate if item.later_version => {
                            applied.rejected += 1;
                            (
                                "rejected",
                                Some(EDIT_NOT_ACCEPTED.to_owned()),
                                Some(
                                    "the server already had an earlier version of this record and \
                                     kept it; this edit is only on the phone"
                                        .to_owned(),
                                ),
                            )
                        }
                        RecordOutcome::Duplicate => {
                            applied.duplicate += 1;
                            ("acked", None, None)
                        }
                        RecordOutcome::Rejected { code, message } => {
                            applied.rejected += 1;
                            (
                                "rejected",
                                Some(code.as_str().to_owned()),
                                Some(message.clone()),
                            )
                        }
                    };
                set.execute((item.outbox_seq, state, code, message, &now_text))?;
                if state == "acked" {
                    acked_ids.push(item.record_id);
                }
            }
            drop(set);
            sync_photos::note_server_photos(tx, &acked_ids, &response.missing_photos, &now_text)?;
            let pruned = prune::prune_synced_out_of_scope(tx)?;
            applied.pruned_records = pruned.records;
            Ok((applied, pruned.photo_files))
        })?;
        self.remove_photo_files(&pruned_photos);
        Ok(applied)
    }

    /// Records the server refused, newest first: one per record (its latest refused version),
    /// leaving out records whose later version was accepted.
    pub fn rejected_records(&self) -> StoreResult<Vec<RejectedRecord>> {
        self.read(rejected_records)
    }
}

pub(crate) fn rejected_records(conn: &Connection) -> StoreResult<Vec<RejectedRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT o.seq, o.record_id, o.record_kind, o.reject_code, o.reject_message, \
         o.state_changed_at, json_extract(o.payload_json, '$.building') FROM outbox o \
         WHERE o.state = 'rejected' AND o.seq = (SELECT max(n.seq) FROM outbox n \
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
