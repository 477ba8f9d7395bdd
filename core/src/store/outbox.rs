//! The sync outbox: every field record written on the phone is queued here in the same transaction
//! as the record itself, with a per-device sequence number that only grows (AUTOINCREMENT: never
//! reused). An edit queues a NEW entry rather than touching an older one, so an upload of the old
//! version that is in flight can never swallow the edit; the server applies entries in `seq` order.
//!
//! States: pending → in_flight → acked | rejected; in_flight → pending again when an upload fails.
//! An edit marks the record's older entries that were never sent as acked (`superseded_by`).

use std::fmt;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, Transaction};
use serde::{Deserialize, Serialize};

use crate::domain::RecordId;

use super::Archive;
use super::capture::FieldRecord;
use super::codec::{from_json, parse_record_id, parse_time, record_id_text, time_text};
use super::error::{StoreError, StoreResult};

/// A per-device outbox sequence number.
pub type OutboxSeq = i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Inspection,
    Event,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Inspection => "inspection",
            RecordKind::Event => "event",
        }
    }

    pub(crate) fn parse(s: &str) -> StoreResult<Self> {
        match s {
            "inspection" => Ok(RecordKind::Inspection),
            "event" => Ok(RecordKind::Event),
            _ => Err(StoreError::corrupt("unknown outbox record kind")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OutboxState {
    Pending,
    InFlight,
    Acked,
    /// The server refused the entry for good (e.g. validation against a newer policy).
    Rejected {
        code: String,
        message: String,
    },
}

impl OutboxState {
    pub fn name(&self) -> OutboxStateName {
        match self {
            OutboxState::Pending => OutboxStateName::Pending,
            OutboxState::InFlight => OutboxStateName::InFlight,
            OutboxState::Acked => OutboxStateName::Acked,
            OutboxState::Rejected { .. } => OutboxStateName::Rejected,
        }
    }
}

/// An outbox state without its details, for errors and counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStateName {
    Pending,
    InFlight,
    Acked,
    Rejected,
}

impl OutboxStateName {
    fn as_str(self) -> &'static str {
        match self {
            OutboxStateName::Pending => "pending",
            OutboxStateName::InFlight => "in_flight",
            OutboxStateName::Acked => "acked",
            OutboxStateName::Rejected => "rejected",
        }
    }

    fn parse(s: &str) -> StoreResult<Self> {
        Ok(match s {
            "pending" => OutboxStateName::Pending,
            "in_flight" => OutboxStateName::InFlight,
            "acked" => OutboxStateName::Acked,
            "rejected" => OutboxStateName::Rejected,
            _ => return Err(StoreError::corrupt("unknown outbox state")),
        })
    }
}

impl fmt::Display for OutboxStateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub seq: OutboxSeq,
    pub record_id: RecordId,
    pub kind: RecordKind,
    /// The record as JSON at the moment it was queued: what to upload.
    pub payload_json: String,
    pub state: OutboxState,
    /// How many times the entry was handed to an upload.
    pub attempts: u32,
    pub queued_at: DateTime<Utc>,
}

impl OutboxEntry {
    /// The queued record, decoded.
    pub fn record(&self) -> StoreResult<FieldRecord> {
        Ok(match self.kind {
            RecordKind::Inspection => {
                FieldRecord::Inspection(from_json("outbox payload", &self.payload_json)?)
            }
            RecordKind::Event => {
                FieldRecord::Event(from_json("outbox payload", &self.payload_json)?)
            }
        })
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxCounts {
    pub pending: u64,
    pub in_flight: u64,
    pub acked: u64,
    pub rejected: u64,
}

const ENTRY_COLUMNS: &str = "o.seq, o.record_id, o.record_kind, p.payload_json, o.state, \
     o.reject_code, o.reject_message, o.attempts, o.queued_at";

/// An outbox entry with its payload (kept apart so that state changes rewrite a small row).
const ENTRY_FROM: &str = "outbox o JOIN outbox_payloads p ON p.seq = o.seq";

/// Queues `payload_json` for upload inside the caller's transaction.
pub(crate) fn enqueue(
    tx: &Transaction<'_>,
    record_id: RecordId,
    kind: RecordKind,
    payload_json: &str,
    now: DateTime<Utc>,
) -> StoreResult<OutboxSeq> {
    let now = time_text(now);
    tx.prepare_cached(
        "INSERT INTO outbox (record_id, record_kind, state, queued_at, state_changed_at) \
         VALUES (?1, ?2, 'pending', ?3, ?3)",
    )?
    .execute((record_id_text(record_id), kind.as_str(), &now))?;
    let seq = tx.last_insert_rowid();
    tx.prepare_cached("INSERT INTO outbox_payloads (seq, payload_json) VALUES (?1, ?2)")?
        .execute((seq, payload_json))?;
    Ok(seq)
}

/// An edit replaces the record's versions that were never handed to a push: they are marked acked
/// with `superseded_by`, and only the newest version goes out. Versions already numbered for a push
/// stay: the server may hold them, and it requires every number to arrive.
pub(crate) fn supersede_unsent(
    tx: &Transaction<'_>,
    record_id: RecordId,
    newest: OutboxSeq,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    tx.prepare_cached(
        "UPDATE outbox SET state = 'acked', superseded_by = ?2, state_changed_at = ?3 \
         WHERE record_id = ?1 AND seq < ?2 AND state = 'pending' AND push_seq IS NULL",
    )?
    .execute((record_id_text(record_id), newest, time_text(now)))?;
    Ok(())
}

impl Archive {
    /// The oldest pending entries, in sequence order.
    pub fn pending_outbox(&self, limit: u32) -> StoreResult<Vec<OutboxEntry>> {
        self.read(|conn| {
            query_entries(
                conn,
                &format!(
                    "SELECT {ENTRY_COLUMNS} FROM {ENTRY_FROM} WHERE o.state = 'pending' \
                     ORDER BY o.seq LIMIT ?1"
                ),
                [i64::from(limit)],
            )
        })
    }

    /// Every entry queued for one record, oldest first.
    pub fn outbox_for_record(&self, id: RecordId) -> StoreResult<Vec<OutboxEntry>> {
        self.read(|conn| {
            query_entries(
                conn,
                &format!(
                    "SELECT {ENTRY_COLUMNS} FROM {ENTRY_FROM} WHERE o.record_id = ?1 \
                     ORDER BY o.seq"
                ),
                [record_id_text(id)],
            )
        })
    }

    /// pending → in_flight, all or nothing; counts an attempt.
    pub fn mark_in_flight(&self, seqs: &[OutboxSeq]) -> StoreResult<()> {
        self.transition(
            seqs,
            &[OutboxStateName::Pending],
            OutboxStateName::InFlight,
            None,
        )
    }

    /// in_flight → acked, all or nothing. Acking an acked entry again is a no-op (a retried upload
    /// can be acknowledged twice).
    pub fn mark_acked(&self, seqs: &[OutboxSeq]) -> StoreResult<()> {
        self.transition(
            seqs,
            &[OutboxStateName::InFlight, OutboxStateName::Acked],
            OutboxStateName::Acked,
            None,
        )
    }

    /// in_flight → rejected with the server's code and message.
    pub fn mark_rejected(&self, seq: OutboxSeq, code: &str, message: &str) -> StoreResult<()> {
        self.transition(
            &[seq],
            &[OutboxStateName::InFlight],
            OutboxStateName::Rejected,
            Some((code, message)),
        )
    }

    /// in_flight → pending: the upload failed (no signal, timeout); try again later.
    pub fn return_to_pending(&self, seqs: &[OutboxSeq]) -> StoreResult<()> {
        self.transition(
            seqs,
            &[OutboxStateName::InFlight],
            OutboxStateName::Pending,
            None,
        )
    }

    /// Every in_flight entry back to pending (call at start-up: an upload cut short by the app being
    /// killed left them in flight). Returns how many.
    pub fn requeue_in_flight(&self) -> StoreResult<usize> {
        let now = time_text(self.clock.now());
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE outbox SET state = 'pending', state_changed_at = ?1 WHERE state = 'in_flight'",
                [now],
            )?)
        })
    }

    pub fn outbox_counts(&self) -> StoreResult<OutboxCounts> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT state, count(*) FROM outbox GROUP BY state")?;
            let mut rows = stmt.query([])?;
            let mut c = OutboxCounts::default();
            while let Some(row) = rows.next()? {
                let n: i64 = row.get(1)?;
                let n = n.unsigned_abs();
                match OutboxStateName::parse(&row.get::<_, String>(0)?)? {
                    OutboxStateName::Pending => c.pending = n,
                    OutboxStateName::InFlight => c.in_flight = n,
                    OutboxStateName::Acked => c.acked = n,
                    OutboxStateName::Rejected => c.rejected = n,
                }
            }
            Ok(c)
        })
    }

    fn transition(
        &self,
        seqs: &[OutboxSeq],
        from: &[OutboxStateName],
        to: OutboxStateName,
        rejection: Option<(&str, &str)>,
    ) -> StoreResult<()> {
        let now = time_text(self.clock.now());
        self.write(|tx| {
            let mut get = tx.prepare_cached("SELECT state FROM outbox WHERE seq = ?1")?;
            let mut set = tx.prepare_cached(
                "UPDATE outbox SET state = ?2, state_changed_at = ?3, reject_code = ?4, \
                 reject_message = ?5, attempts = attempts + ?6 WHERE seq = ?1",
            )?;
            let attempt = i64::from(to == OutboxStateName::InFlight);
            for &seq in seqs {
                let state: Option<String> = get.query_row([seq], |r| r.get(0)).optional()?;
                let state = match state {
                    None => return Err(StoreError::UnknownOutboxEntry(seq)),
                    Some(s) => OutboxStateName::parse(&s)?,
                };
                if !from.contains(&state) {
                    return Err(StoreError::OutboxTransition {
                        seq,
                        from: state,
                        to,
                    });
                }
                if state == to {
                    continue;
                }
                set.execute((
                    seq,
                    to.as_str(),
                    &now,
                    rejection.map(|r| r.0),
                    rejection.map(|r| r.1),
                    attempt,
                ))?;
            }
            Ok(())
        })
    }
}

fn query_entries(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> StoreResult<Vec<OutboxEntry>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(entry_from_row(row)?);
    }
    Ok(out)
}

fn entry_from_row(row: &Row<'_>) -> StoreResult<OutboxEntry> {
    let state = match OutboxStateName::parse(&row.get::<_, String>(4)?)? {
        OutboxStateName::Pending => OutboxState::Pending,
        OutboxStateName::InFlight => OutboxState::InFlight,
        OutboxStateName::Acked => OutboxState::Acked,
        OutboxStateName::Rejected => OutboxState::Rejected {
            code: row.get::<_, Option<String>>(5)?.unwrap_or_default(),
            message: row.get::<_, Option<String>>(6)?.unwrap_or_default(),
        },
    };
    Ok(OutboxEntry {
        seq: row.get(0)?,
        record_id: parse_record_id(&row.get::<_, String>(1)?)?,
        kind: RecordKind::parse(&row.get::<_, String>(2)?)?,
        payload_json: row.get(3)?,
        state,
        attempts: row.get(7)?,
        queued_at: parse_time(&row.get::<_, String>(8)?)?,
    })
}
