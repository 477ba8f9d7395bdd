//! The rater, the overdue sweep's marking step and the rating history on SQLite.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use gridwalk_core::protocol::RatingEntry;
use gridwalk_core::rating::Rating;
use gridwalk_core::{BuildingCode, EventStatus, Stars};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::archive::{load_building, write_building};
use super::{allocate_seqs, ms};
use crate::db::DbError;
use crate::db::codec::parse_code;
use crate::db::rating_codec::{entry_json, parse_entry, parse_payload, with_status};
use crate::rater::{RateInput, RateReport, Rules, rerate};
use crate::sweep;

/// Migration 4: the rating history, and the officer lists' risk key and blacklist flag as
/// generated columns of the building file (layout: `gridwalk_core::store::risk`), indexed alone
/// and after each place column, on live buildings only.
pub(super) const V4: &str = r#"
CREATE TABLE rating_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    building_code TEXT NOT NULL,
    rated_at INTEGER NOT NULL,
    rated_on TEXT NOT NULL,
    stars_before INTEGER,
    stars_after INTEGER,
    policy_version INTEGER NOT NULL,
    entry TEXT NOT NULL
);
CREATE INDEX rating_history_building ON rating_history (building_code, id);

ALTER TABLE buildings ADD COLUMN risk_key TEXT GENERATED ALWAYS AS (
    printf('%d|%s|%010d|%s',
        coalesce(json_extract(data, '$.stars'), 0),
        coalesce(json_extract(data, '$.next_due_on'), '0000-00-00'),
        4294967295 - json_extract(data, '$.open_hazards'),
        code)
) VIRTUAL;
ALTER TABLE buildings ADD COLUMN blacklisted INTEGER GENERATED ALWAYS AS (
    coalesce(json_extract(data, '$.blacklisted'), 0)
) VIRTUAL;
CREATE INDEX buildings_risk ON buildings (risk_key) WHERE removed = 0;
CREATE INDEX buildings_grid_risk ON buildings (grid, risk_key) WHERE removed = 0;
CREATE INDEX buildings_community_risk ON buildings (community, risk_key) WHERE removed = 0;
CREATE INDEX buildings_street_risk ON buildings (street, risk_key) WHERE removed = 0;
CREATE INDEX buildings_blacklisted_risk ON buildings (risk_key)
    WHERE removed = 0 AND blacklisted = 1;
"#;

/// Rates up to `limit` queued buildings, oldest queued first, in one transaction.
pub fn rate_queued(
    c: &mut Connection,
    rules: &Arc<Rules>,
    today: NaiveDate,
    limit: usize,
) -> Result<RateReport, DbError> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let codes: Vec<String> = {
        let mut st = tx.prepare_cached(
            "SELECT building_code FROM rating_queue ORDER BY queued_at, building_code LIMIT ?1",
        )?;
        let rows = st.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let at = Utc::now();
    let mut report = RateReport {
        taken: codes.len() as u64,
        ..RateReport::default()
    };
    let mut buildings = Vec::new();
    let mut entries = Vec::new();
    {
        let mut dequeue = tx.prepare_cached("DELETE FROM rating_queue WHERE building_code = ?1")?;
        for code in &codes {
            dequeue.execute([code])?;
            let code = parse_code(code)?;
            let Some(input) = load_input(&tx, &code)? else {
                continue;
            };
            report.rated += 1;
            let out = rerate(&input, rules, today, at);
            buildings.extend(out.building);
            entries.extend(out.entry);
        }
    }
    if !buildings.is_empty() {
        let first = allocate_seqs(&tx, buildings.len())?;
        for (i, b) in buildings.iter().enumerate() {
            write_building(&tx, b, false, first + i as u64)?;
        }
    }
    for e in &entries {
        append_history(&tx, e)?;
    }
    report.changed = buildings.len() as u64;
    report.history = entries.len() as u64;
    tx.commit()?;
    Ok(report)
}

/// Everything rating `code` reads; `None` when the building is unknown or removed.
fn load_input(tx: &Transaction<'_>, code: &BuildingCode) -> Result<Option<RateInput>, DbError> {
    let Some(stored) = load_building(tx, code)?.filter(|sb| !sb.removed) else {
        return Ok(None);
    };
    let mut inspections = Vec::new();
    let mut events = Vec::new();
    let mut st = tx.prepare_cached(
        "SELECT r.kind, r.payload, s.status FROM records r
         LEFT JOIN event_states s ON s.event_id = r.record_id
         WHERE r.building_code = ?1 AND r.kind IN ('inspection', 'event')
         ORDER BY r.server_seq",
    )?;
    let mut rows = st.query([code.as_str()])?;
    while let Some(row) = rows.next()? {
        let kind: String = row.get(0)?;
        let payload: String = row.get(1)?;
        let status: Option<String> = row.get(2)?;
        if kind == "inspection" {
            inspections.push(parse_payload(&payload)?);
        } else {
            events.push(with_status(parse_payload(&payload)?, status.as_deref())?);
        }
    }
    let previous = tx
        .prepare_cached(
            "SELECT entry FROM rating_history WHERE building_code = ?1 ORDER BY id DESC LIMIT 1",
        )?
        .query_row([code.as_str()], |r| r.get::<_, String>(0))
        .optional()?
        .map(|e| parse_entry(&e))
        .transpose()?;
    Ok(Some(RateInput {
        stored,
        inspections,
        events,
        previous,
    }))
}

fn append_history(tx: &Transaction<'_>, e: &RatingEntry) -> Result<(), DbError> {
    let r: &Rating = &e.rating;
    tx.prepare_cached(
        "INSERT INTO rating_history (building_code, rated_at, rated_on, stars_before,
             stars_after, policy_version, entry)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        r.building.as_str(),
        ms(e.rated_at),
        r.rated_on.to_string(),
        r.previous_stars.map(Stars::get),
        r.stars.map(Stars::get),
        r.policy_version,
        entry_json(e)?
    ])?;
    Ok(())
}

/// A building's rating history, oldest first.
pub fn rating_history(
    c: &mut Connection,
    code: &BuildingCode,
) -> Result<Vec<RatingEntry>, DbError> {
    let mut st =
        c.prepare_cached("SELECT entry FROM rating_history WHERE building_code = ?1 ORDER BY id")?;
    let rows = st.query_map([code.as_str()], |r| r.get::<_, String>(0))?;
    rows.map(|r| parse_entry(&r?)).collect()
}

pub fn queued_ratings(c: &mut Connection) -> Result<u64, DbError> {
    let n: i64 = c.query_row("SELECT count(*) FROM rating_queue", [], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Step 1 of the overdue sweep: up to `limit` open hazards and micro-events whose deadline is
/// before `today` become overdue, their buildings queued for rating, in one transaction.
pub fn mark_overdue_events(
    c: &mut Connection,
    today: NaiveDate,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<u64, DbError> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let open = sweep::overdue_from_sql();
    let codes: Vec<String> = {
        let mut st = tx.prepare_cached(&format!(
            "UPDATE event_states SET status = '{overdue}', updated_at = ?1
             WHERE event_id IN (
                 SELECT event_id FROM event_states
                 WHERE status IN ({open}) AND kind IN ({kinds}) AND deadline < ?2
                 ORDER BY deadline, event_id LIMIT ?3)
             RETURNING building_code",
            overdue = EventStatus::Overdue.as_str(),
            kinds = sweep::OVERDUE_KINDS_SQL,
        ))?;
        let rows = st.query_map(
            params![
                ms(now),
                today.to_string(),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            |r| r.get(0),
        )?;
        rows.collect::<Result<_, _>>()?
    };
    {
        let mut queue = tx.prepare_cached(
            "INSERT INTO rating_queue (building_code, queued_at) VALUES (?1, ?2)
             ON CONFLICT (building_code) DO NOTHING",
        )?;
        for code in &codes {
            queue.execute(params![code, ms(now)])?;
        }
    }
    tx.commit()?;
    Ok(codes.len() as u64)
}
