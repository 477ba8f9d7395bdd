//! The rater, the overdue sweep's marking step and the rating history on PostgreSQL.
//!
//! Concurrency (READ COMMITTED): the rater claims queue rows with `DELETE … FOR UPDATE SKIP
//! LOCKED`, so two raters never rate one building at once and a queue row that a push or the
//! sweep is re-queuing (they lock it with a no-op `ON CONFLICT DO UPDATE`) is left for the next
//! drain; it then locks the claimed buildings (as a correction's push does) and reads their
//! records and event states after the claim, so everything committed before the claim is rated
//! and anything committed after it finds its queue row free to insert again.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::{Client, Transaction};
use gridwalk_core::protocol::RatingEntry;
use gridwalk_core::{Building, BuildingCode, Event, Inspection, Stars};

use super::allocate_seqs;
use super::archive::{load_buildings, write_buildings};
use crate::db::DbError;
use crate::db::codec::{parse_code, seq_u};
use crate::db::rating_codec::{entry_json, parse_entry, parse_payload, with_status};
use crate::rater::{RateInput, RateReport, Rules, rerate};
use crate::sweep;

/// Migration 4 (see the SQLite engine's): the key's text sorts in byte order (`COLLATE "C"`),
/// as on SQLite and the phone.
pub(super) const V4: &str = r#"
CREATE TABLE rating_history (
    id BIGSERIAL PRIMARY KEY,
    building_code TEXT NOT NULL,
    rated_at TIMESTAMPTZ NOT NULL,
    rated_on DATE NOT NULL,
    stars_before SMALLINT,
    stars_after SMALLINT,
    policy_version INTEGER NOT NULL,
    entry JSONB NOT NULL
);
CREATE INDEX rating_history_building ON rating_history (building_code, id);

ALTER TABLE buildings ADD COLUMN risk_key TEXT COLLATE "C" GENERATED ALWAYS AS (
    coalesce(data->>'stars', '0') || '|'
    || coalesce(data->>'next_due_on', '0000-00-00') || '|'
    || lpad((4294967295 - (data->>'open_hazards')::bigint)::text, 10, '0') || '|'
    || code
) STORED;
ALTER TABLE buildings ADD COLUMN blacklisted BOOLEAN GENERATED ALWAYS AS (
    coalesce((data->>'blacklisted')::boolean, FALSE)
) STORED;
CREATE INDEX buildings_risk ON buildings (risk_key) WHERE NOT removed;
CREATE INDEX buildings_grid_risk ON buildings (grid, risk_key) WHERE NOT removed;
CREATE INDEX buildings_community_risk ON buildings (community, risk_key) WHERE NOT removed;
CREATE INDEX buildings_street_risk ON buildings (street, risk_key) WHERE NOT removed;
CREATE INDEX buildings_blacklisted_risk ON buildings (risk_key) WHERE NOT removed AND blacklisted;
ANALYZE buildings;
"#;

pub async fn rate_queued(
    c: &mut Client,
    rules: &Arc<Rules>,
    today: NaiveDate,
    limit: usize,
) -> Result<RateReport, DbError> {
    let tx = c.transaction().await?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = tx
        .query(
            "DELETE FROM rating_queue WHERE building_code IN (
                 SELECT building_code FROM rating_queue ORDER BY queued_at, building_code
                 LIMIT $1 FOR UPDATE SKIP LOCKED)
             RETURNING building_code",
            &[&limit],
        )
        .await?;
    let mut codes: Vec<String> = rows
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    codes.sort();
    let mut report = RateReport {
        taken: codes.len() as u64,
        ..RateReport::default()
    };
    if codes.is_empty() {
        tx.commit().await?;
        return Ok(report);
    }
    let refs: Vec<&str> = codes.iter().map(String::as_str).collect();
    let stored = load_buildings(&tx, &refs).await?;
    let mut inputs: HashMap<BuildingCode, RateInput> = stored
        .into_iter()
        .filter(|(_, sb)| !sb.removed)
        .map(|(code, stored)| {
            (
                code,
                RateInput {
                    stored,
                    inspections: Vec::new(),
                    events: Vec::new(),
                    previous: None,
                },
            )
        })
        .collect();
    load_records(&tx, &refs, &mut inputs).await?;
    let rows = tx
        .query(
            "SELECT DISTINCT ON (building_code) building_code, entry::text FROM rating_history
             WHERE building_code = ANY($1) ORDER BY building_code, id DESC",
            &[&refs],
        )
        .await?;
    for r in &rows {
        let code = parse_code(&r.try_get::<_, String>(0)?)?;
        if let Some(input) = inputs.get_mut(&code) {
            input.previous = Some(parse_entry(&r.try_get::<_, String>(1)?)?);
        }
    }

    let at = Utc::now();
    let mut buildings: Vec<Building> = Vec::new();
    let mut entries: Vec<RatingEntry> = Vec::new();
    for code in &codes {
        let Some(input) = inputs.get(&parse_code(code)?) else {
            continue;
        };
        report.rated += 1;
        let out = rerate(input, rules, today, at);
        buildings.extend(out.building);
        entries.extend(out.entry);
    }
    if !buildings.is_empty() {
        let first = allocate_seqs(&tx, buildings.len()).await?;
        let refs: Vec<&Building> = buildings.iter().collect();
        write_buildings(&tx, &refs, first).await?;
    }
    append_history(&tx, &entries).await?;
    report.changed = buildings.len() as u64;
    report.history = entries.len() as u64;
    tx.commit().await?;
    Ok(report)
}

async fn load_records(
    tx: &Transaction<'_>,
    codes: &[&str],
    inputs: &mut HashMap<BuildingCode, RateInput>,
) -> Result<(), DbError> {
    let rows = tx
        .query(
            "SELECT r.building_code, r.kind, r.payload::text, s.status FROM records r
             LEFT JOIN event_states s ON s.event_id = r.record_id
             WHERE r.building_code = ANY($1) AND r.kind IN ('inspection', 'event')
             ORDER BY r.server_seq",
            &[&codes],
        )
        .await?;
    for r in &rows {
        let code = parse_code(&r.try_get::<_, String>(0)?)?;
        let Some(input) = inputs.get_mut(&code) else {
            continue;
        };
        let kind: String = r.try_get(1)?;
        let payload: String = r.try_get(2)?;
        let status: Option<String> = r.try_get(3)?;
        if kind == "inspection" {
            input
                .inspections
                .push(parse_payload::<Inspection>(&payload)?);
        } else {
            input.events.push(with_status(
                parse_payload::<Event>(&payload)?,
                status.as_deref(),
            )?);
        }
    }
    Ok(())
}

async fn append_history(tx: &Transaction<'_>, entries: &[RatingEntry]) -> Result<(), DbError> {
    if entries.is_empty() {
        return Ok(());
    }
    let codes: Vec<&str> = entries.iter().map(|e| e.rating.building.as_str()).collect();
    let at: Vec<DateTime<Utc>> = entries.iter().map(|e| e.rated_at).collect();
    let on: Vec<NaiveDate> = entries.iter().map(|e| e.rating.rated_on).collect();
    let stars = |s: Option<Stars>| s.map(|s| i16::from(s.get()));
    let before: Vec<Option<i16>> = entries
        .iter()
        .map(|e| stars(e.rating.previous_stars))
        .collect();
    let after: Vec<Option<i16>> = entries.iter().map(|e| stars(e.rating.stars)).collect();
    let policy: Vec<i32> = entries
        .iter()
        .map(|e| i32::try_from(e.rating.policy_version).unwrap_or(i32::MAX))
        .collect();
    let json: Vec<String> = entries.iter().map(entry_json).collect::<Result<_, _>>()?;
    tx.execute(
        "INSERT INTO rating_history (building_code, rated_at, rated_on, stars_before,
             stars_after, policy_version, entry)
         SELECT c, a, o, b, s, p, e::jsonb
         FROM UNNEST($1::text[], $2::timestamptz[], $3::date[], $4::int2[], $5::int2[],
             $6::int4[], $7::text[]) WITH ORDINALITY AS t (c, a, o, b, s, p, e, n)
         ORDER BY n",
        &[&codes, &at, &on, &before, &after, &policy, &json],
    )
    .await?;
    Ok(())
}

pub async fn rating_history(c: &Client, code: &BuildingCode) -> Result<Vec<RatingEntry>, DbError> {
    let rows = c
        .query(
            "SELECT entry::text FROM rating_history WHERE building_code = $1 ORDER BY id",
            &[&code.as_str()],
        )
        .await?;
    rows.iter()
        .map(|r| parse_entry(&r.try_get::<_, String>(0)?))
        .collect()
}

pub async fn queued_ratings(c: &Client) -> Result<u64, DbError> {
    let n: i64 = c
        .query_one("SELECT count(*) FROM rating_queue", &[])
        .await?
        .try_get(0)?;
    Ok(seq_u(n))
}

pub async fn mark_overdue_events(
    c: &mut Client,
    today: NaiveDate,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<u64, DbError> {
    let tx = c.transaction().await?;
    let open = sweep::overdue_from();
    let kinds = sweep::OVERDUE_KINDS.to_vec();
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let overdue = gridwalk_core::EventStatus::Overdue.as_str();
    // The queue rows are locked (no-op update) so a rater cannot claim them before this commits.
    let n: i64 = tx
        .query_one(
            "WITH due AS (
                 SELECT event_id FROM event_states
                 WHERE status = ANY($1) AND kind = ANY($2) AND deadline < $3
                 ORDER BY deadline, event_id LIMIT $4 FOR UPDATE SKIP LOCKED),
             marked AS (
                 UPDATE event_states e SET status = $5, updated_at = $6
                 FROM due WHERE e.event_id = due.event_id
                 RETURNING e.building_code),
             queued AS (
                 INSERT INTO rating_queue (building_code, queued_at)
                 SELECT DISTINCT building_code, $6::timestamptz FROM marked
                 ON CONFLICT (building_code) DO UPDATE SET queued_at = rating_queue.queued_at)
             SELECT count(*) FROM marked",
            &[&open, &kinds, &today, &limit, &overdue, &now],
        )
        .await?
        .try_get(0)?;
    tx.commit().await?;
    Ok(seq_u(n))
}
