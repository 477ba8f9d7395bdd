//! The sync outbox: every field record written on the phone is queued here in the same transaction
//! as the record itself, with a per-device sequence number that only grows (AUTOINCREMENT: never
//! reused). An edit queues a NEW entry rather than touching an older one, so an upload of the old
//! version that is in flight can never swallow the edit.
//!
//! Each entry also gets its push number (`push_seq`, what the server sees) when it is queued: the
//! server takes a device's numbers only as `last + 1, last + 2, …`. An edit made before the older
//! version was ever handed to a push replaces that version: the new entry takes its number and the
//! old one is marked acked with `superseded_by`, so no number is wasted and only the newest goes.
//!
//! States: pending → in_flight → acked | rejected; in_flight → pending again when an upload fails.
//! Only outcomes of their own are written to an entry (rejected; acked when replaced, or answered
//! out of order). The rest is read from three watermarks in `sync_state`, so that a push writes
//! one row per batch rather than every entry twice (ADR 0043):
//! - `answered`: every entry numbered at or below it has been answered → acked unless refused;
//! - `claimed`: entries above `answered` and at or below it are in flight;
//! - `sent`: the highest number ever handed to a push. Never lowered: the server may hold any
//!   number at or below it, so those entries are never replaced by an edit.

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
    /// The number the server sees; `None` for a version replaced before it was sent.
    pub push_seq: Option<u64>,
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

/// An entry's state as the worker sees it, from its own outcome and the push watermarks (entry
/// alias `o`, sync state alias `s`).
const STATE_OF_ENTRY: &str = "CASE WHEN o.state != 'pending' THEN o.state \
     WHEN o.push_seq <= s.answered_push_seq THEN 'acked' \
     WHEN o.push_seq <= s.claimed_push_seq THEN 'in_flight' ELSE 'pending' END";

/// An entry (alias `o`) the server has not answered: waiting or in flight.
pub(crate) const UNANSWERED: &str = "(o.state = 'pending' \
     AND o.push_seq > (SELECT answered_push_seq FROM sync_state WHERE singleton = 1))";

/// An entry with its payload (kept apart so that an outcome rewrites a small row) and the
/// watermarks its state is read from.
const ENTRY_FROM: &str = "outbox o JOIN outbox_payloads p ON p.seq = o.seq \
     CROSS JOIN sync_state s";

fn entry_columns() -> String {
    format!(
        "o.seq, o.record_id, o.record_kind, p.payload_json, {STATE_OF_ENTRY}, \
         o.reject_code, o.reject_message, o.push_seq, o.queued_at"
    )
}

/// Queues a new record's first version for upload inside the caller's transaction, with the next
/// push number.
pub(crate) fn enqueue(
    tx: &Transaction<'_>,
    record_id: RecordId,
    kind: RecordKind,
    payload_json: &str,
    now: DateTime<Utc>,
) -> StoreResult<OutboxSeq> {
    let push_seq: i64 = tx
        .prepare_cached(
            "UPDATE sync_state SET last_push_seq = last_push_seq + 1 WHERE singleton = 1 \
             RETURNING last_push_seq",
        )?
        .query_row([], |r| r.get(0))?;
    insert_entry(tx, record_id, kind, payload_json, Some(push_seq), now)
}

/// Queues an edited version inside the caller's transaction. The record's version that was never
/// handed to a push (at most one: each edit replaces it) is replaced: marked acked with
/// `superseded_by`, its push number moves to the new entry. Versions that may be on the server
/// stay, and the edit gets a new number: the server requires every number to arrive.
pub(crate) fn enqueue_edit(
    tx: &Transaction<'_>,
    record_id: RecordId,
    kind: RecordKind,
    payload_json: &str,
    now: DateTime<Utc>,
) -> StoreResult<OutboxSeq> {
    let id = record_id_text(record_id);
    let unsent: Option<(OutboxSeq, i64)> = tx
        .prepare_cached(
            "SELECT seq, push_seq FROM outbox WHERE record_id = ?1 AND state = 'pending' \
             AND push_seq > (SELECT sent_push_seq FROM sync_state WHERE singleton = 1) \
             ORDER BY seq DESC LIMIT 1",
        )?
        .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((old, push_seq)) = unsent else {
        return enqueue(tx, record_id, kind, payload_json, now);
    };
    // The number is unique: the old entry gives it up before the new one takes it.
    let seq = insert_entry(tx, record_id, kind, payload_json, None, now)?;
    tx.prepare_cached(
        "UPDATE outbox SET state = 'acked', superseded_by = ?2, push_seq = NULL, \
         state_changed_at = ?3 WHERE seq = ?1",
    )?
    .execute((old, seq, time_text(now)))?;
    tx.prepare_cached("UPDATE outbox SET push_seq = ?2 WHERE seq = ?1")?
        .execute((seq, push_seq))?;
    Ok(seq)
}

fn insert_entry(
    tx: &Transaction<'_>,
    record_id: RecordId,
    kind: RecordKind,
    payload_json: &str,
    push_seq: Option<i64>,
    now: DateTime<Utc>,
) -> StoreResult<OutboxSeq> {
    let now = time_text(now);
    tx.prepare_cached(
        "INSERT INTO outbox (record_id, record_kind, state, queued_at, state_changed_at, \
         push_seq) VALUES (?1, ?2, 'pending', ?3, ?3, ?4)",
    )?
    .execute((record_id_text(record_id), kind.as_str(), &now, push_seq))?;
    let seq = tx.last_insert_rowid();
    tx.prepare_cached("INSERT INTO outbox_payloads (seq, payload_json) VALUES (?1, ?2)")?
        .execute((seq, payload_json))?;
    Ok(seq)
}

impl Archive {
    /// The entries waiting to be pushed (not in flight), in push order.
    pub fn pending_outbox(&self, limit: u32) -> StoreResult<Vec<OutboxEntry>> {
        self.read(|conn| {
            query_entries(
                conn,
                &format!(
                    "SELECT {} FROM {ENTRY_FROM} WHERE o.state = 'pending' \
                     AND o.push_seq > s.claimed_push_seq ORDER BY o.push_seq LIMIT ?1",
                    entry_columns()
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
                    "SELECT {} FROM {ENTRY_FROM} WHERE o.record_id = ?1 ORDER BY o.seq",
                    entry_columns()
                ),
                [record_id_text(id)],
            )
        })
    }

    /// Every in-flight entry back to pending, under the same numbers: at start-up (a push cut short
    /// by the app being killed) and when a push fails or is cancelled. Returns how many.
    pub fn requeue_in_flight(&self) -> StoreResult<usize> {
        self.write(|tx| {
            let n: i64 = tx.query_row(
                "SELECT count(*) FROM outbox o, sync_state s WHERE o.state = 'pending' \
                 AND o.push_seq > s.answered_push_seq AND o.push_seq <= s.claimed_push_seq",
                [],
                |r| r.get(0),
            )?;
            tx.execute(
                "UPDATE sync_state SET claimed_push_seq = answered_push_seq \
                 WHERE singleton = 1 AND claimed_push_seq != answered_push_seq",
                [],
            )?;
            Ok(usize::try_from(n).unwrap_or(0))
        })
    }

    pub fn outbox_counts(&self) -> StoreResult<OutboxCounts> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {STATE_OF_ENTRY} AS st, count(*) FROM outbox o CROSS JOIN sync_state s \
                 GROUP BY st"
            ))?;
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
        push_seq: row.get::<_, Option<i64>>(7)?.map(i64::unsigned_abs),
        queued_at: parse_time(&row.get::<_, String>(8)?)?,
    })
}
