//! Dispatch and notices on SQLite: department queues, status moves, the outbound notice queue
//! (claims with a lease, results guarded by the attempt number) and the notice deadline step.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use gridwalk_core::protocol::{DepartmentQueuePage, NoticeView};
use gridwalk_core::{Building, BuildingCode, DepartmentId, EventStatus, RecordId};
use rusqlite::{
    Connection, OptionalExtension, Row, Transaction, TransactionBehavior, named_params,
};

use super::archive::load_building;
use super::{from_ms, ms};
use crate::db::DbError;
use crate::db::codec::scope_sql;
use crate::db::dispatch::{
    ClaimedNotice, DepartmentQuery, EventMover, EventRow, INTERRUPTED, MoveOutcome, NoticeClaim,
    NoticeFinish, NoticeQuery, NoticeResult, NoticeRow, NoticeSubject, OverdueNotices,
    addressee_columns, addressee_for, decide_move, open_statuses, parse_deadline, recipient_str,
    sql_list, statuses_moving_to,
};
use crate::sync::effects::NoticeIntake;

/// Migration 5: the department of each event, department accounts, the outbound notice queue.
pub const V5: &str = r#"
ALTER TABLE event_states ADD COLUMN department TEXT;
CREATE INDEX event_states_department ON event_states (department, status, event_id);

-- The handling department (处置部门) of each account with the department role.
CREATE TABLE department_members (
    username TEXT PRIMARY KEY REFERENCES users (username),
    department TEXT NOT NULL
);

-- Notices (告知书), one per recipient of an event's notice, and their delivery.
CREATE TABLE notices (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL REFERENCES event_states (event_id),
    building_code TEXT NOT NULL,
    recipient TEXT NOT NULL,
    addressee TEXT NOT NULL,
    contact_name TEXT,
    contact_phone TEXT,
    deadline TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    delivered_at INTEGER,
    overdue_at INTEGER,
    UNIQUE (event_id, recipient)
);
CREATE INDEX notices_due ON notices (state, next_attempt_at);
CREATE INDEX notices_lease ON notices (state, lease_until);
CREATE INDEX notices_building ON notices (building_code);
CREATE INDEX notices_deadline_open ON notices (deadline) WHERE overdue_at IS NULL;
"#;

const EVENT_SELECT: &str = "SELECT e.event_id, e.building_code, e.category, e.department,
        e.status, e.deadline, e.reported_at, e.updated_at, r.payload, b.grid, b.community,
        b.street
    FROM event_states e
    JOIN records r ON r.record_id = e.event_id
    JOIN buildings b ON b.code = e.building_code";

const NOTICE_COLUMNS: &str = "n.id, n.event_id, n.building_code, n.recipient, n.addressee,
    n.contact_name, n.contact_phone, n.deadline, n.state, n.attempts, n.last_error, n.created_at,
    n.delivered_at, n.overdue_at";

fn event_row(r: &Row<'_>) -> rusqlite::Result<(EventRow, Option<String>)> {
    Ok((
        EventRow {
            id: r.get(0)?,
            building: r.get(1)?,
            category: r.get(2)?,
            department: r.get(3)?,
            status: r.get(4)?,
            deadline: None,
            reported_at: DateTime::<Utc>::MIN_UTC,
            updated_at: DateTime::<Utc>::MIN_UTC,
            payload: r.get(8)?,
            grid: r.get(9)?,
            community: r.get(10)?,
            street: r.get(11)?,
        },
        r.get(5)?,
    ))
}

/// Reads the row's times and date (they need fallible conversions `query_map` cannot return).
fn finish_event_row(
    (mut row, deadline): (EventRow, Option<String>),
    reported: i64,
    updated: i64,
) -> Result<EventRow, DbError> {
    row.deadline = deadline.as_deref().map(parse_deadline).transpose()?;
    row.reported_at = from_ms(reported)?;
    row.updated_at = from_ms(updated)?;
    Ok(row)
}

fn load_event(c: &Connection, id: &str) -> Result<Option<EventRow>, DbError> {
    let row = c
        .query_row(
            &format!("{EVENT_SELECT} WHERE e.event_id = ?1"),
            [id],
            |r| Ok((event_row(r)?, r.get::<_, i64>(6)?, r.get::<_, i64>(7)?)),
        )
        .optional()?;
    row.map(|(row, rep, upd)| finish_event_row(row, rep, upd))
        .transpose()
}

struct RawNotice {
    row: NoticeRow,
    deadline: String,
    created_at: i64,
    delivered_at: Option<i64>,
    overdue_at: Option<i64>,
}

fn notice_row(r: &Row<'_>) -> rusqlite::Result<RawNotice> {
    Ok(RawNotice {
        row: NoticeRow {
            id: r.get(0)?,
            event: r.get(1)?,
            building: r.get(2)?,
            recipient: r.get(3)?,
            addressee: r.get(4)?,
            contact_name: r.get(5)?,
            contact_phone: r.get(6)?,
            deadline: NaiveDate::MIN,
            state: r.get(8)?,
            attempts: r.get(9)?,
            last_error: r.get(10)?,
            created_at: DateTime::<Utc>::MIN_UTC,
            delivered_at: None,
            overdue_at: None,
        },
        deadline: r.get(7)?,
        created_at: r.get(11)?,
        delivered_at: r.get(12)?,
        overdue_at: r.get(13)?,
    })
}

impl RawNotice {
    fn finish(mut self) -> Result<NoticeRow, DbError> {
        self.row.deadline = parse_deadline(&self.deadline)?;
        self.row.created_at = from_ms(self.created_at)?;
        self.row.delivered_at = self.delivered_at.map(from_ms).transpose()?;
        self.row.overdue_at = self.overdue_at.map(from_ms).transpose()?;
        Ok(self.row)
    }
}

/// Queues the notices of a push's accepted events, addressed from the building files, inside
/// the push transaction.
pub(super) fn queue_notices(
    tx: &Transaction<'_>,
    notices: &[NoticeIntake],
    now: i64,
) -> Result<(), DbError> {
    if notices.is_empty() {
        return Ok(());
    }
    let mut files: HashMap<&BuildingCode, Option<Building>> = HashMap::new();
    let mut st = tx.prepare_cached(
        "INSERT INTO notices (id, event_id, building_code, recipient, addressee, contact_name,
             contact_phone, deadline, state, attempts, next_attempt_at, created_at)
         VALUES (:id, :event, :code, :recipient, :addressee, :name, :phone, :deadline,
             'pending', 0, :now, :now)
         ON CONFLICT (event_id, recipient) DO NOTHING",
    )?;
    for n in notices {
        if !files.contains_key(&n.building) {
            let file = load_building(tx, &n.building)?.map(|sb| sb.building);
            files.insert(&n.building, file);
        }
        // The push accepted the event, so its building exists; no file means no one to address.
        let Some(Some(file)) = files.get(&n.building) else {
            return Err(DbError::Corrupt(format!(
                "building {} of an accepted event is missing",
                n.building
            )));
        };
        let addressee = addressee_for(n.recipient, file);
        let (kind, name, phone) = addressee_columns(&addressee);
        st.execute(named_params! {
            ":id": RecordId::new().to_string(),
            ":event": n.event.to_string(),
            ":code": n.building.as_str(),
            ":recipient": recipient_str(n.recipient),
            ":addressee": kind,
            ":name": name,
            ":phone": phone,
            ":deadline": n.deadline.to_string(),
            ":now": now,
        })?;
    }
    Ok(())
}

fn queue_rating(tx: &Transaction<'_>, code: &str, now: i64) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO rating_queue (building_code, queued_at) VALUES (?1, ?2)
         ON CONFLICT (building_code) DO NOTHING",
        rusqlite::params![code, now],
    )?;
    Ok(())
}

pub fn set_user_department(
    c: &mut Connection,
    username: &str,
    department: &DepartmentId,
) -> Result<bool, DbError> {
    let n = c.execute(
        "INSERT INTO department_members (username, department)
         SELECT username, ?2 FROM users WHERE username = ?1
         ON CONFLICT (username) DO UPDATE SET department = excluded.department",
        rusqlite::params![username, department.as_str()],
    )?;
    Ok(n > 0)
}

pub fn user_department(
    c: &mut Connection,
    username: &str,
) -> Result<Option<DepartmentId>, DbError> {
    Ok(c.query_row(
        "SELECT department FROM department_members WHERE username = ?1",
        [username],
        |r| r.get::<_, String>(0),
    )
    .optional()?
    .map(DepartmentId))
}

pub fn department_events(
    c: &mut Connection,
    q: &DepartmentQuery,
) -> Result<DepartmentQueuePage, DbError> {
    let (pred, scope_val) = scope_sql(&q.scope, "b.", ":scope");
    let mut st = c.prepare_cached(&format!(
        "{EVENT_SELECT}
         WHERE e.department = :dept AND {pred}
           AND (:status IS NULL OR e.status = :status)
           AND (:after IS NULL OR e.event_id > :after)
         ORDER BY e.event_id LIMIT :limit"
    ))?;
    let rows = st.query_map(
        named_params! {
            ":dept": q.department.as_str(),
            ":scope": scope_val,
            ":status": q.status.map(EventStatus::as_str),
            ":after": q.after.map(|a| a.to_string()),
            ":limit": i64::from(q.limit) + 1,
        },
        |r| Ok((event_row(r)?, r.get::<_, i64>(6)?, r.get::<_, i64>(7)?)),
    )?;
    let mut events = Vec::new();
    for row in rows {
        let (row, rep, upd) = row?;
        events.push(finish_event_row(row, rep, upd)?.view()?);
    }
    let more = events.len() > q.limit as usize;
    events.truncate(q.limit as usize);
    let next_after = if more {
        events.last().map(|e| e.id)
    } else {
        None
    };
    Ok(DepartmentQueuePage { events, next_after })
}

pub fn move_event(
    c: &mut Connection,
    event: RecordId,
    to: EventStatus,
    mover: &EventMover,
    now: DateTime<Utc>,
) -> Result<MoveOutcome, DbError> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let id = event.to_string();
    let row = load_event(&tx, &id)?;
    let status = match decide_move(row.as_ref(), mover, to) {
        Ok(s) => s,
        Err(refusal) => return Ok(refusal.into()),
    };
    let code = row.map(|r| r.building).unwrap_or_default();
    tx.execute(
        "UPDATE event_states SET status = ?2, updated_at = ?3 WHERE event_id = ?1",
        rusqlite::params![id, status.as_str(), ms(now)],
    )?;
    if !status.is_open() {
        // Nothing left to rectify: a notice not yet sent would demand what is done.
        tx.execute(
            "UPDATE notices SET state = 'cancelled' WHERE event_id = ?1 AND state = 'pending'",
            [&id],
        )?;
    }
    queue_rating(&tx, &code, ms(now))?;
    let moved = load_event(&tx, &id)?
        .ok_or_else(|| DbError::Corrupt(format!("event {id} vanished")))?
        .view()?;
    tx.commit()?;
    Ok(MoveOutcome::Moved(moved))
}

pub fn notices(c: &mut Connection, q: &NoticeQuery) -> Result<Vec<NoticeView>, DbError> {
    let (pred, scope_val) = scope_sql(&q.scope, "b.", ":scope");
    let (subject, value) = match &q.subject {
        NoticeSubject::Event(id) => ("n.event_id = :subject", id.to_string()),
        NoticeSubject::Building(code) => ("n.building_code = :subject", code.to_string()),
    };
    let mut st = c.prepare_cached(&format!(
        "SELECT {NOTICE_COLUMNS} FROM notices n
         JOIN event_states e ON e.event_id = n.event_id
         JOIN buildings b ON b.code = n.building_code
         WHERE {subject} AND {pred} AND (:dept IS NULL OR e.department = :dept)
         ORDER BY n.created_at, n.event_id, n.recipient"
    ))?;
    let rows = st.query_map(
        named_params! {
            ":subject": value,
            ":scope": scope_val,
            ":dept": q.department.as_ref().map(DepartmentId::as_str),
        },
        notice_row,
    )?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r?.finish()?.view()?);
    }
    Ok(out)
}

pub fn claim_notices(c: &mut Connection, k: &NoticeClaim) -> Result<Vec<ClaimedNotice>, DbError> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = ms(k.now);
    tx.execute(
        "UPDATE notices SET state = 'cancelled', lease_until = NULL
         WHERE (state = 'pending' OR (state = 'sending' AND lease_until <= :now))
           AND event_id IN (SELECT event_id FROM event_states
                            WHERE status IN ('rectified', 'closed'))",
        named_params! {":now": now},
    )?;
    tx.execute(
        "UPDATE notices SET state = 'failed', lease_until = NULL, last_error = :why
         WHERE state = 'sending' AND lease_until <= :now AND attempts >= :max",
        named_params! {":now": now, ":why": INTERRUPTED, ":max": i64::from(k.max_attempts)},
    )?;
    let claimed = {
        let mut st = tx.prepare_cached(&format!(
            "SELECT {NOTICE_COLUMNS}, r.payload, b.data FROM notices n
             JOIN records r ON r.record_id = n.event_id
             JOIN buildings b ON b.code = n.building_code
             WHERE (n.state = 'pending' AND n.next_attempt_at <= :now)
                OR (n.state = 'sending' AND n.lease_until <= :now)
             ORDER BY n.next_attempt_at, n.id LIMIT :limit"
        ))?;
        let rows = st.query_map(
            named_params! {":now": now, ":limit": i64::from(k.limit)},
            |r| {
                Ok((
                    notice_row(r)?,
                    r.get::<_, String>(14)?,
                    r.get::<_, String>(15)?,
                ))
            },
        )?;
        rows.collect::<Result<Vec<_>, _>>()?
    };
    let mut out = Vec::with_capacity(claimed.len());
    {
        let mut take = tx.prepare_cached(
            "UPDATE notices SET state = 'sending', attempts = attempts + 1, lease_until = ?2
             WHERE id = ?1",
        )?;
        for (raw, payload, data) in claimed {
            let row = raw.finish()?;
            take.execute(rusqlite::params![row.id, ms(k.lease_until)])?;
            let attempt = u32::try_from(row.attempts + 1).unwrap_or(u32::MAX);
            out.push(ClaimedNotice {
                attempt,
                message: row.message(&payload, &data, attempt)?,
            });
        }
    }
    tx.commit()?;
    Ok(out)
}

pub fn finish_notice(c: &mut Connection, f: &NoticeFinish) -> Result<bool, DbError> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = ms(f.now);
    let id = f.notice.to_string();
    let guard = "WHERE id = :id AND state = 'sending' AND attempts = :attempt";
    let attempt = i64::from(f.attempt);
    let changed = match &f.result {
        NoticeResult::Delivered => tx.execute(
            &format!(
                "UPDATE notices SET state = 'delivered', delivered_at = :now, lease_until = NULL,
                     last_error = NULL {guard}"
            ),
            named_params! {":id": id, ":attempt": attempt, ":now": now},
        )?,
        NoticeResult::Retry { error, at } => tx.execute(
            &format!(
                "UPDATE notices SET state = 'pending', next_attempt_at = :at, lease_until = NULL,
                     last_error = :error {guard}"
            ),
            named_params! {":id": id, ":attempt": attempt, ":at": ms(*at), ":error": error},
        )?,
        NoticeResult::Failed { error } => tx.execute(
            &format!(
                "UPDATE notices SET state = 'failed', lease_until = NULL, last_error = :error
                 {guard}"
            ),
            named_params! {":id": id, ":attempt": attempt, ":error": error},
        )?,
    };
    if changed == 0 {
        return Ok(false);
    }
    if f.result == NoticeResult::Delivered {
        // The first delivered notice makes the event `noticed` (送达); later ones change nothing.
        let code: Option<String> = tx
            .query_row(
                &format!(
                    "UPDATE event_states SET status = 'noticed', updated_at = ?2
                     WHERE event_id = (SELECT event_id FROM notices WHERE id = ?1)
                       AND status IN ({})
                     RETURNING building_code",
                    sql_list(&statuses_moving_to(EventStatus::Noticed))
                ),
                rusqlite::params![id, now],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(code) = code {
            queue_rating(&tx, &code, now)?;
        }
    }
    tx.commit()?;
    Ok(true)
}

pub fn mark_overdue_notices(
    c: &mut Connection,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<OverdueNotices, DbError> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = ms(now);
    let notices = tx.execute(
        &format!(
            "UPDATE notices SET overdue_at = :now
             WHERE overdue_at IS NULL AND state <> 'cancelled' AND deadline < :today
               AND event_id IN (SELECT event_id FROM event_states WHERE status IN ({}))",
            sql_list(&open_statuses())
        ),
        named_params! {":now": now, ":today": today.to_string()},
    )?;
    let codes: Vec<String> = {
        let mut st = tx.prepare_cached(&format!(
            "UPDATE event_states SET status = 'overdue', updated_at = ?1
             WHERE status IN ({})
               AND EXISTS (SELECT 1 FROM notices n
                           WHERE n.event_id = event_states.event_id AND n.overdue_at IS NOT NULL)
             RETURNING building_code",
            sql_list(&statuses_moving_to(EventStatus::Overdue))
        ))?;
        st.query_map([now], |r| r.get(0))?
            .collect::<Result<_, _>>()?
    };
    for code in &codes {
        queue_rating(&tx, code, now)?;
    }
    tx.commit()?;
    Ok(OverdueNotices {
        notices: notices as u64,
        events: codes.len() as u64,
    })
}
