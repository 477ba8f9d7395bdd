//! Dispatch and notices on PostgreSQL: department queues, status moves (the event row locked),
//! the outbound notice queue (claims with `FOR UPDATE SKIP LOCKED` and a lease, results guarded
//! by the attempt number) and the notice deadline step.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::{Client, Transaction};
use gridwalk_core::protocol::{DepartmentQueuePage, NoticeView};
use gridwalk_core::{Building, DepartmentId, EventStatus, RecordId};
use tokio_postgres::Row;

use crate::db::DbError;
use crate::db::codec::{parse_building, scope_sql};
use crate::db::dispatch::{
    ClaimedNotice, DepartmentQuery, EventMover, EventRow, INTERRUPTED, MoveOutcome, NoticeClaim,
    NoticeFinish, NoticeQuery, NoticeResult, NoticeRow, NoticeSubject, OverdueNotices,
    addressee_columns, addressee_for, decide_move, open_statuses, recipient_str,
    statuses_moving_to,
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
    deadline DATE NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_until TIMESTAMPTZ,
    last_error TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    delivered_at TIMESTAMPTZ,
    overdue_at TIMESTAMPTZ,
    UNIQUE (event_id, recipient)
);
CREATE INDEX notices_due ON notices (state, next_attempt_at);
CREATE INDEX notices_lease ON notices (state, lease_until);
CREATE INDEX notices_building ON notices (building_code);
CREATE INDEX notices_deadline_open ON notices (deadline) WHERE overdue_at IS NULL;
"#;

const EVENT_SELECT: &str = "SELECT e.event_id, e.building_code, e.category, e.department,
        e.status, e.deadline, e.reported_at, e.updated_at, r.payload::text, b.grid, b.community,
        b.street
    FROM event_states e
    JOIN records r ON r.record_id = e.event_id
    JOIN buildings b ON b.code = e.building_code";

const NOTICE_COLUMNS: &str = "n.id, n.event_id, n.building_code, n.recipient, n.addressee,
    n.contact_name, n.contact_phone, n.deadline, n.state, n.attempts, n.last_error, n.created_at,
    n.delivered_at, n.overdue_at";

fn event_row(r: &Row) -> Result<EventRow, DbError> {
    Ok(EventRow {
        id: r.try_get(0)?,
        building: r.try_get(1)?,
        category: r.try_get(2)?,
        department: r.try_get(3)?,
        status: r.try_get(4)?,
        deadline: r.try_get(5)?,
        reported_at: r.try_get(6)?,
        updated_at: r.try_get(7)?,
        payload: r.try_get(8)?,
        grid: r.try_get(9)?,
        community: r.try_get(10)?,
        street: r.try_get(11)?,
    })
}

fn notice_row(r: &Row) -> Result<NoticeRow, DbError> {
    Ok(NoticeRow {
        id: r.try_get(0)?,
        event: r.try_get(1)?,
        building: r.try_get(2)?,
        recipient: r.try_get(3)?,
        addressee: r.try_get(4)?,
        contact_name: r.try_get(5)?,
        contact_phone: r.try_get(6)?,
        deadline: r.try_get(7)?,
        state: r.try_get(8)?,
        attempts: i64::from(r.try_get::<_, i32>(9)?),
        last_error: r.try_get(10)?,
        created_at: r.try_get(11)?,
        delivered_at: r.try_get(12)?,
        overdue_at: r.try_get(13)?,
    })
}

/// Queues the notices of a push's accepted events, addressed from the building files, inside
/// the push transaction.
pub(super) async fn queue_notices(
    tx: &Transaction<'_>,
    notices: &[NoticeIntake],
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    if notices.is_empty() {
        return Ok(());
    }
    let mut codes: Vec<&str> = notices.iter().map(|n| n.building.as_str()).collect();
    codes.sort_unstable();
    codes.dedup();
    let mut files: HashMap<String, Building> = HashMap::new();
    for r in tx
        .query(
            "SELECT code, data::text FROM buildings WHERE code = ANY($1)",
            &[&codes],
        )
        .await?
    {
        let code: String = r.try_get(0)?;
        files.insert(code, parse_building(&r.try_get::<_, String>(1)?)?);
    }
    let mut ids = Vec::with_capacity(notices.len());
    let mut events = Vec::with_capacity(notices.len());
    let mut buildings = Vec::with_capacity(notices.len());
    let mut recipients = Vec::with_capacity(notices.len());
    let mut kinds = Vec::with_capacity(notices.len());
    let mut names: Vec<Option<String>> = Vec::with_capacity(notices.len());
    let mut phones: Vec<Option<String>> = Vec::with_capacity(notices.len());
    let mut deadlines = Vec::with_capacity(notices.len());
    for n in notices {
        // The push accepted the event, so its building exists; no file means no one to address.
        let file = files.get(n.building.as_str()).ok_or_else(|| {
            DbError::Corrupt(format!(
                "building {} of an accepted event is missing",
                n.building
            ))
        })?;
        let addressee = addressee_for(n.recipient, file);
        let (kind, name, phone) = addressee_columns(&addressee);
        ids.push(RecordId::new().to_string());
        events.push(n.event.to_string());
        buildings.push(n.building.as_str());
        recipients.push(recipient_str(n.recipient));
        kinds.push(kind);
        names.push(name.map(str::to_owned));
        phones.push(phone.map(str::to_owned));
        deadlines.push(n.deadline);
    }
    tx.execute(
        "INSERT INTO notices (id, event_id, building_code, recipient, addressee, contact_name,
             contact_phone, deadline, state, attempts, next_attempt_at, created_at)
         SELECT i, e, b, r, a, cn, cp, d, 'pending', 0, $9, $9
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
             $7::text[], $8::date[]) AS t (i, e, b, r, a, cn, cp, d)
         ON CONFLICT (event_id, recipient) DO NOTHING",
        &[
            &ids,
            &events,
            &buildings,
            &recipients,
            &kinds,
            &names,
            &phones,
            &deadlines,
            &now,
        ],
    )
    .await?;
    Ok(())
}

async fn queue_rating(
    tx: &Transaction<'_>,
    codes: &[String],
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    if codes.is_empty() {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO rating_queue (building_code, queued_at)
         SELECT c, $2 FROM UNNEST($1::text[]) AS t (c)
         ON CONFLICT (building_code) DO NOTHING",
        &[&codes, &now],
    )
    .await?;
    Ok(())
}

pub async fn set_user_department(
    c: &Client,
    username: &str,
    department: &DepartmentId,
) -> Result<bool, DbError> {
    let n = c
        .execute(
            "INSERT INTO department_members (username, department)
             SELECT username, $2 FROM users WHERE username = $1
             ON CONFLICT (username) DO UPDATE SET department = excluded.department",
            &[&username, &department.as_str()],
        )
        .await?;
    Ok(n > 0)
}

pub async fn user_department(c: &Client, username: &str) -> Result<Option<DepartmentId>, DbError> {
    let row = c
        .query_opt(
            "SELECT department FROM department_members WHERE username = $1",
            &[&username],
        )
        .await?;
    row.map(|r| Ok(DepartmentId(r.try_get(0)?))).transpose()
}

pub async fn department_events(
    c: &Client,
    q: &DepartmentQuery,
) -> Result<DepartmentQueuePage, DbError> {
    let (pred, scope_val) = scope_sql(&q.scope, "b.", "$2::text");
    let status = q.status.map(EventStatus::as_str);
    let after = q.after.map(|a| a.to_string());
    let fetch = i64::from(q.limit) + 1;
    let rows = c
        .query(
            &format!(
                "{EVENT_SELECT}
                 WHERE e.department = $1 AND {pred}
                   AND ($3::text IS NULL OR e.status = $3)
                   AND ($4::text IS NULL OR e.event_id > $4)
                 ORDER BY e.event_id LIMIT $5"
            ),
            &[&q.department.as_str(), &scope_val, &status, &after, &fetch],
        )
        .await?;
    let mut events = Vec::with_capacity(rows.len());
    for r in &rows {
        events.push(event_row(r)?.view()?);
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

async fn load_event(
    tx: &Transaction<'_>,
    id: &str,
    lock: bool,
) -> Result<Option<EventRow>, DbError> {
    let lock = if lock { " FOR UPDATE OF e" } else { "" };
    tx.query_opt(
        &format!("{EVENT_SELECT} WHERE e.event_id = $1{lock}"),
        &[&id],
    )
    .await?
    .map(|r| event_row(&r))
    .transpose()
}

pub async fn move_event(
    c: &mut Client,
    event: RecordId,
    to: EventStatus,
    mover: &EventMover,
    now: DateTime<Utc>,
) -> Result<MoveOutcome, DbError> {
    let tx = c.transaction().await?;
    let id = event.to_string();
    // The row lock orders concurrent moves: the second sees the first's result.
    let row = load_event(&tx, &id, true).await?;
    let status = match decide_move(row.as_ref(), mover, to) {
        Ok(s) => s,
        Err(refusal) => return Ok(refusal.into()),
    };
    let code = row.map(|r| r.building).unwrap_or_default();
    tx.execute(
        "UPDATE event_states SET status = $2, updated_at = $3 WHERE event_id = $1",
        &[&id, &status.as_str(), &now],
    )
    .await?;
    if !status.is_open() {
        // Nothing left to rectify: a notice not yet sent would demand what is done.
        tx.execute(
            "UPDATE notices SET state = 'cancelled' WHERE event_id = $1 AND state = 'pending'",
            &[&id],
        )
        .await?;
    }
    queue_rating(&tx, &[code], now).await?;
    let moved = load_event(&tx, &id, false)
        .await?
        .ok_or_else(|| DbError::Corrupt(format!("event {id} vanished")))?
        .view()?;
    tx.commit().await?;
    Ok(MoveOutcome::Moved(moved))
}

pub async fn notices(c: &Client, q: &NoticeQuery) -> Result<Vec<NoticeView>, DbError> {
    let (pred, scope_val) = scope_sql(&q.scope, "b.", "$2::text");
    let (subject, value) = match &q.subject {
        NoticeSubject::Event(id) => ("n.event_id = $1", id.to_string()),
        NoticeSubject::Building(code) => ("n.building_code = $1", code.to_string()),
    };
    let dept = q.department.as_ref().map(DepartmentId::as_str);
    let rows = c
        .query(
            &format!(
                "SELECT {NOTICE_COLUMNS} FROM notices n
                 JOIN event_states e ON e.event_id = n.event_id
                 JOIN buildings b ON b.code = n.building_code
                 WHERE {subject} AND {pred} AND ($3::text IS NULL OR e.department = $3)
                 ORDER BY n.created_at, n.event_id, n.recipient"
            ),
            &[&value, &scope_val, &dept],
        )
        .await?;
    rows.iter().map(|r| notice_row(r)?.view()).collect()
}

pub async fn claim_notices(c: &mut Client, k: &NoticeClaim) -> Result<Vec<ClaimedNotice>, DbError> {
    let tx = c.transaction().await?;
    tx.execute(
        "UPDATE notices SET state = 'cancelled', lease_until = NULL
         WHERE (state = 'pending' OR (state = 'sending' AND lease_until <= $1))
           AND event_id IN (SELECT event_id FROM event_states
                            WHERE status IN ('rectified', 'closed'))",
        &[&k.now],
    )
    .await?;
    let max = i32::try_from(k.max_attempts).unwrap_or(i32::MAX);
    tx.execute(
        "UPDATE notices SET state = 'failed', lease_until = NULL, last_error = $3
         WHERE state = 'sending' AND lease_until <= $1 AND attempts >= $2",
        &[&k.now, &max, &INTERRUPTED],
    )
    .await?;
    let limit = i64::from(k.limit);
    // SKIP LOCKED: two servers' workers claim disjoint notices instead of waiting on each other.
    let rows = tx
        .query(
            &format!(
                "SELECT {NOTICE_COLUMNS}, r.payload::text, b.data::text FROM notices n
                 JOIN records r ON r.record_id = n.event_id
                 JOIN buildings b ON b.code = n.building_code
                 WHERE (n.state = 'pending' AND n.next_attempt_at <= $1)
                    OR (n.state = 'sending' AND n.lease_until <= $1)
                 ORDER BY n.next_attempt_at, n.id LIMIT $2
                 FOR UPDATE OF n SKIP LOCKED"
            ),
            &[&k.now, &limit],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    let mut ids = Vec::with_capacity(rows.len());
    for r in &rows {
        let payload: String = r.try_get(14)?;
        let data: String = r.try_get(15)?;
        let row = notice_row(r)?;
        let attempt = u32::try_from(row.attempts + 1).unwrap_or(u32::MAX);
        ids.push(row.id.clone());
        out.push(ClaimedNotice {
            attempt,
            message: row.message(&payload, &data, attempt)?,
        });
    }
    if !ids.is_empty() {
        tx.execute(
            "UPDATE notices SET state = 'sending', attempts = attempts + 1, lease_until = $2
             WHERE id = ANY($1)",
            &[&ids, &k.lease_until],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(out)
}

pub async fn finish_notice(c: &mut Client, f: &NoticeFinish) -> Result<bool, DbError> {
    let tx = c.transaction().await?;
    let id = f.notice.to_string();
    let attempt = i32::try_from(f.attempt).unwrap_or(i32::MAX);
    let guard = "WHERE id = $1 AND state = 'sending' AND attempts = $2";
    let changed = match &f.result {
        NoticeResult::Delivered => {
            tx.execute(
                &format!(
                    "UPDATE notices SET state = 'delivered', delivered_at = $3, lease_until = NULL,
                         last_error = NULL {guard}"
                ),
                &[&id, &attempt, &f.now],
            )
            .await?
        }
        NoticeResult::Retry { error, at } => {
            tx.execute(
                &format!(
                    "UPDATE notices SET state = 'pending', next_attempt_at = $3,
                         lease_until = NULL, last_error = $4 {guard}"
                ),
                &[&id, &attempt, at, error],
            )
            .await?
        }
        NoticeResult::Failed { error } => {
            tx.execute(
                &format!(
                    "UPDATE notices SET state = 'failed', lease_until = NULL, last_error = $3
                     {guard}"
                ),
                &[&id, &attempt, error],
            )
            .await?
        }
    };
    if changed == 0 {
        return Ok(false);
    }
    if f.result == NoticeResult::Delivered {
        // The first delivered notice makes the event `noticed` (送达); later ones change nothing.
        let from = statuses_moving_to(EventStatus::Noticed);
        let codes: Vec<String> = tx
            .query(
                "UPDATE event_states SET status = 'noticed', updated_at = $2
                 WHERE event_id = (SELECT event_id FROM notices WHERE id = $1)
                   AND status = ANY($3)
                 RETURNING building_code",
                &[&id, &f.now, &from],
            )
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        queue_rating(&tx, &codes, f.now).await?;
    }
    tx.commit().await?;
    Ok(true)
}

pub async fn mark_overdue_notices(
    c: &mut Client,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<OverdueNotices, DbError> {
    let tx = c.transaction().await?;
    let open = open_statuses();
    let notices = tx
        .execute(
            "UPDATE notices SET overdue_at = $1
             WHERE overdue_at IS NULL AND state <> 'cancelled' AND deadline < $2
               AND event_id IN (SELECT event_id FROM event_states WHERE status = ANY($3))",
            &[&now, &today, &open],
        )
        .await?;
    let from = statuses_moving_to(EventStatus::Overdue);
    let codes: Vec<String> = tx
        .query(
            "UPDATE event_states e SET status = 'overdue', updated_at = $1
             WHERE e.status = ANY($2)
               AND EXISTS (SELECT 1 FROM notices n
                           WHERE n.event_id = e.event_id AND n.overdue_at IS NOT NULL)
             RETURNING e.building_code",
            &[&now, &from],
        )
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    queue_rating(&tx, &codes, now).await?;
    tx.commit().await?;
    Ok(OverdueNotices {
        notices,
        events: codes.len() as u64,
    })
}
