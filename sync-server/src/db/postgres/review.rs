//! Review queue, decisions and assessment input on PostgreSQL.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Client, Transaction};
use gridwalk_core::policy::SupervisionPolicy;
use gridwalk_core::protocol::{ReviewItem, ReviewOutcome};
use gridwalk_core::{Grid, GridId};
use tokio_postgres::{IsolationLevel, Row};

use super::allocate_seqs;
use crate::db::DbError;
use crate::db::assessment::{GridRecords, push_payload};
use crate::db::codec::{parse_building, scope_sql, seq_i};
use crate::db::review::{
    DecideParams, DecideResult, ITEM_FROM, ITEM_SELECT, IndexStep, ItemColumns, NEXT_REPORT_SQL,
    PlacedItem, ReviewQueueParams, index_range, judge_presence, state_of, state_sql,
};
use crate::review::rules::{Verdict, judge};

/// Advisory lock key serializing the indexer (and decisions, which index first).
const INDEX_LOCK: i64 = 0x6777_7265_7669_6577; // "gwreview"

/// Indexes every record merged since the last run, one transaction per step.
pub async fn index(c: &mut Client, policy: &SupervisionPolicy) -> Result<u64, DbError> {
    let mut total = 0u64;
    loop {
        let tx = c.transaction().await?;
        let step = index_step(&tx, policy).await?;
        tx.commit().await?;
        total += step.indexed as u64;
        if !step.more {
            return Ok(total);
        }
    }
}

/// Indexes the records of the next sequence range inside `tx`, under the indexer's advisory lock
/// (held to the end of `tx`), and moves the watermark past it. The range ends at the last
/// *committed* change number: writers keep the counter row locked until they commit, so every
/// number up to the committed value is visible.
async fn index_step(
    tx: &Transaction<'_>,
    policy: &SupervisionPolicy,
) -> Result<IndexStep, DbError> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&INDEX_LOCK])
        .await?;
    let row = tx
        .query_one(
            "SELECT (SELECT indexed_seq FROM review_index_state WHERE id = 1),
                    (SELECT last_seq FROM sync_state WHERE id = 1)",
            &[],
        )
        .await?;
    let (watermark, last): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    let next: Option<i64> = tx
        .query_one(
            &NEXT_REPORT_SQL.replace("{w}", "$1").replace("{l}", "$2"),
            &[&watermark, &last],
        )
        .await?
        .try_get(0)?;
    let Some((from, upto)) = index_range(next, last) else {
        if watermark < last {
            tx.execute(
                "UPDATE review_index_state SET indexed_seq = $1 WHERE id = 1",
                &[&last],
            )
            .await?;
        }
        return Ok(IndexStep {
            indexed: 0,
            more: false,
        });
    };
    let rows = tx
        .query(
            "SELECT r.record_id, r.server_seq, r.kind, r.building_code, r.username, r.device_id,
                    r.received_at, (r.payload->'fix')::text, r.payload->>'corrects',
                    (b.data->'location')::text
             FROM records r LEFT JOIN buildings b ON b.code = r.building_code
             WHERE r.server_seq > $1 AND r.server_seq <= $2
               AND r.kind IN ('inspection', 'event')
             ORDER BY r.server_seq",
            &[&from, &upto],
        )
        .await?;
    tx.execute(
        "UPDATE review_index_state SET indexed_seq = $1 WHERE id = 1",
        &[&upto],
    )
    .await?;
    let step = IndexStep {
        indexed: rows.len(),
        more: upto < last,
    };
    if rows.is_empty() {
        return Ok(step);
    }
    let n = rows.len();
    let mut ids = Vec::with_capacity(n);
    let mut seqs = Vec::with_capacity(n);
    let mut kinds = Vec::with_capacity(n);
    let mut buildings = Vec::with_capacity(n);
    let mut workers = Vec::with_capacity(n);
    let mut devices = Vec::with_capacity(n);
    let mut received = Vec::with_capacity(n);
    let mut off = Vec::with_capacity(n);
    let mut distance = Vec::with_capacity(n);
    let mut accuracy = Vec::with_capacity(n);
    let mut radius = Vec::with_capacity(n);
    let mut corrects: Vec<Option<String>> = Vec::with_capacity(n);
    for r in &rows {
        let fix: Option<String> = r.try_get(7)?;
        let location: Option<String> = r.try_get(9)?;
        let j = judge_presence(fix.as_deref(), location.as_deref(), policy);
        ids.push(r.try_get::<_, String>(0)?);
        seqs.push(r.try_get::<_, i64>(1)?);
        kinds.push(r.try_get::<_, String>(2)?);
        buildings.push(r.try_get::<_, String>(3)?);
        workers.push(r.try_get::<_, String>(4)?);
        devices.push(r.try_get::<_, String>(5)?);
        received.push(r.try_get::<_, DateTime<Utc>>(6)?);
        corrects.push(r.try_get(8)?);
        off.push(j.off_site);
        distance.push(j.distance_m);
        accuracy.push(j.accuracy_m);
        radius.push(j.radius_m);
    }
    // The chain's first report: named reports indexed earlier are looked up, those in this chunk
    // are resolved in server order, one never seen starts its own chain.
    let named: Vec<&str> = corrects.iter().flatten().map(String::as_str).collect();
    let mut roots: HashMap<String, String> = HashMap::new();
    for r in tx
        .query(
            "SELECT record_id, original FROM review_items WHERE record_id = ANY($1)",
            &[&named],
        )
        .await?
    {
        roots.insert(r.try_get(0)?, r.try_get(1)?);
    }
    let mut originals = Vec::with_capacity(n);
    for (id, c) in ids.iter().zip(&corrects) {
        let root = match c {
            Some(c) => roots.get(c).cloned().unwrap_or_else(|| c.clone()),
            None => id.clone(),
        };
        roots.insert(id.clone(), root.clone());
        originals.push(root);
    }
    tx.execute(
        "INSERT INTO review_items (record_id, server_seq, kind, building_code, username,
             device_id, received_at, off_site, distance_m, accuracy_m, radius_m, corrects,
             original)
         SELECT * FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[],
             $6::text[], $7::timestamptz[], $8::bool[], $9::float8[], $10::float8[],
             $11::float8[], $12::text[], $13::text[])",
        &[
            &ids, &seqs, &kinds, &buildings, &workers, &devices, &received, &off, &distance,
            &accuracy, &radius, &corrects, &originals,
        ],
    )
    .await?;
    Ok(step)
}

fn item_columns(r: &Row) -> Result<ItemColumns, DbError> {
    Ok(ItemColumns {
        record: r.try_get(0)?,
        kind: r.try_get(1)?,
        building: r.try_get(2)?,
        grid: r.try_get(3)?,
        worker: r.try_get(4)?,
        device: r.try_get(5)?,
        seq: r.try_get(6)?,
        received_at: r.try_get(7)?,
        off_site: r.try_get(8)?,
        distance_m: r.try_get(9)?,
        accuracy_m: r.try_get(10)?,
        radius_m: r.try_get(11)?,
        corrects: r.try_get(12)?,
        original: r.try_get(13)?,
        corrected_by: r.try_get(14)?,
        decision: r.try_get(15)?,
        comment: r.try_get(16)?,
        reviewer: r.try_get(17)?,
        reviewed_at: r.try_get(18)?,
        community: r.try_get(19)?,
        street: r.try_get(20)?,
    })
}

pub async fn queue(c: &Client, p: &ReviewQueueParams) -> Result<(Vec<ReviewItem>, bool), DbError> {
    let (scope_pred, scope_val) = scope_sql(&p.scope, "b.", "$2::text");
    let state = p
        .state
        .map(|s| format!(" AND {}", state_sql(s)))
        .unwrap_or_default();
    let rows = c
        .query(
            &format!(
                "SELECT {ITEM_SELECT} FROM {ITEM_FROM}
                 WHERE i.server_seq > $1 AND {scope_pred}
                   AND ($3::text IS NULL OR i.kind = $3::text)
                   AND ($4::text IS NULL OR b.grid = $4::text)
                   AND ($5::text IS NULL OR i.username = $5::text)
                   AND ($6::bool IS NULL OR i.off_site = $6::bool){state}
                 ORDER BY i.server_seq LIMIT $7"
            ),
            &[
                &seq_i(p.after_seq),
                &scope_val,
                &p.kind.map(|k| k.as_str()),
                &p.grid.as_ref().map(GridId::as_str),
                &p.worker.as_ref().map(|w| w.as_str()),
                &p.off_site,
                &(i64::from(p.limit) + 1),
            ],
        )
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        items.push(item_columns(r)?.into_placed()?.item);
    }
    let more = items.len() > p.limit as usize;
    items.truncate(p.limit as usize);
    Ok((items, more))
}

async fn load_item(tx: &Transaction<'_>, id: &str) -> Result<Option<PlacedItem>, DbError> {
    let row = tx
        .query_opt(
            &format!("SELECT {ITEM_SELECT} FROM {ITEM_FROM} WHERE i.record_id = $1"),
            &[&id],
        )
        .await?;
    row.as_ref()
        .map(|r| item_columns(r)?.into_placed())
        .transpose()
}

pub async fn decide(c: &mut Client, p: &DecideParams) -> Result<DecideResult, DbError> {
    let tx = c.transaction().await?;
    // Indexing first takes the indexer's lock, which also serializes decisions: a concurrent
    // decision on the same report waits, then sees this one.
    while index_step(&tx, &p.policy).await?.more {}
    let id = p.record.to_string();
    let Some(placed) = load_item(&tx, &id).await? else {
        let place = tx
            .query_opt(
                "SELECT b.grid, b.community, b.street FROM records r
                 JOIN buildings b ON b.code = r.building_code WHERE r.record_id = $1",
                &[&id],
            )
            .await?;
        return Ok(match place {
            None => DecideResult::UnknownRecord,
            Some(r) => {
                let in_scope = p.scope.contains_place(
                    &GridId(r.try_get(0)?),
                    &gridwalk_core::CommunityId(r.try_get(1)?),
                    &gridwalk_core::StreetId(r.try_get(2)?),
                );
                if in_scope {
                    DecideResult::NotReviewable
                } else {
                    DecideResult::OutOfScope
                }
            }
        });
    };
    if !placed.in_scope(&p.scope) {
        return Ok(DecideResult::OutOfScope);
    }
    let mut item = placed.item;
    match judge(item.state, item.decision.as_ref(), p.decision, &p.comment) {
        Err(refusal) => Ok(DecideResult::Refused(refusal)),
        Ok(Verdict::Unchanged) => Ok(DecideResult::Decided {
            item: Box::new(item),
            recorded: false,
        }),
        Ok(Verdict::Record) => {
            let seq = allocate_seqs(&tx, 1).await?;
            tx.execute(
                "INSERT INTO review_outcomes (seq, record_id, username, decision, comment,
                     reviewer, reviewed_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &seq_i(seq),
                    &id,
                    &item.worker.as_str(),
                    &p.decision.as_str(),
                    &p.comment,
                    &p.reviewer.as_str(),
                    &p.at,
                ],
            )
            .await?;
            tx.commit().await?;
            item.state = state_of(Some(p.decision), item.corrected_by.is_some());
            item.decision = Some(ReviewOutcome {
                record: p.record,
                decision: p.decision,
                comment: p.comment.clone(),
                reviewer: p.reviewer.clone(),
                reviewed_at: p.at,
            });
            Ok(DecideResult::Decided {
                item: Box::new(item),
                recorded: true,
            })
        }
    }
}

pub async fn grid_records(c: &mut Client, grid: &GridId) -> Result<Option<GridRecords>, DbError> {
    let tx = c
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let Some(row) = tx
        .query_opt(
            "SELECT data::text FROM grids WHERE id = $1",
            &[&grid.as_str()],
        )
        .await?
    else {
        return Ok(None);
    };
    let data: String = row.try_get(0)?;
    let grid_file: Grid =
        serde_json::from_str(&data).map_err(|e| DbError::Corrupt(format!("grid: {e}")))?;
    let mut buildings = Vec::new();
    for r in tx
        .query(
            "SELECT data::text FROM buildings WHERE grid = $1 AND NOT removed ORDER BY code",
            &[&grid.as_str()],
        )
        .await?
    {
        buildings.push(parse_building(&r.try_get::<_, String>(0)?)?);
    }
    let (mut inspections, mut events) = (Vec::new(), Vec::new());
    for r in tx
        .query(
            "SELECT r.kind, r.payload::text FROM records r
             JOIN buildings b ON b.code = r.building_code
             WHERE b.grid = $1 AND NOT b.removed AND r.kind IN ('inspection', 'event')
             ORDER BY r.server_seq",
            &[&grid.as_str()],
        )
        .await?
    {
        let kind: String = r.try_get(0)?;
        let payload: String = r.try_get(1)?;
        push_payload(&kind, &payload, &mut inspections, &mut events)?;
    }
    tx.commit().await?;
    Ok(Some(GridRecords {
        grid: grid_file,
        buildings,
        inspections,
        events,
    }))
}
