//! Review queue, decisions and assessment input on SQLite.

use gridwalk_core::policy::SupervisionPolicy;
use gridwalk_core::protocol::{ReviewItem, ReviewOutcome};
use gridwalk_core::{Grid, GridId};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};

use super::{allocate_seqs, ms};
use crate::db::DbError;
use crate::db::assessment::{GridRecords, push_payload};
use crate::db::codec::{parse_building, scope_sql, seq_i};
use crate::db::review::{
    DecideParams, DecideResult, ITEM_FROM, ITEM_SELECT, IndexStep, ItemColumns, NEXT_REPORT_SQL,
    PlacedItem, ReviewQueueParams, index_range, judge_presence, state_of, state_sql,
};
use crate::review::rules::{Verdict, judge};

/// Indexes every record merged since the last run, one transaction per step.
pub fn index(c: &mut Connection, policy: &SupervisionPolicy) -> Result<u64, DbError> {
    let mut total = 0u64;
    loop {
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let step = index_step(&tx, policy)?;
        tx.commit()?;
        total += step.indexed as u64;
        if !step.more {
            return Ok(total);
        }
    }
}

struct Source {
    record: String,
    seq: i64,
    kind: String,
    building: String,
    worker: String,
    device: String,
    received_at: i64,
    fix: Option<String>,
    corrects: Option<String>,
    location: Option<String>,
}

/// Indexes the records of the next sequence range inside `tx` and moves the watermark past it.
/// Every writer holds the one writer connection, so every number up to `last_seq` is committed.
fn index_step(tx: &Transaction<'_>, policy: &SupervisionPolicy) -> Result<IndexStep, DbError> {
    let (watermark, last): (i64, i64) = tx.query_row(
        "SELECT (SELECT indexed_seq FROM review_index_state WHERE id = 1),
                (SELECT last_seq FROM sync_state WHERE id = 1)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let next: Option<i64> = tx.query_row(
        &NEXT_REPORT_SQL.replace("{w}", "?1").replace("{l}", "?2"),
        [watermark, last],
        |r| r.get(0),
    )?;
    let Some((from, upto)) = index_range(next, last) else {
        if watermark < last {
            tx.execute(
                "UPDATE review_index_state SET indexed_seq = ?1 WHERE id = 1",
                [last],
            )?;
        }
        return Ok(IndexStep {
            indexed: 0,
            more: false,
        });
    };
    let sources: Vec<Source> = {
        let mut st = tx.prepare_cached(
            "SELECT r.record_id, r.server_seq, r.kind, r.building_code, r.username, r.device_id,
                    r.received_at, json_extract(r.payload, '$.fix'),
                    json_extract(r.payload, '$.corrects'), json_extract(b.data, '$.location')
             FROM records r LEFT JOIN buildings b ON b.code = r.building_code
             WHERE r.server_seq > ?1 AND r.server_seq <= ?2 AND r.kind IN ('inspection', 'event')
             ORDER BY r.server_seq",
        )?;
        st.query_map(params![from, upto], |r| {
            Ok(Source {
                record: r.get(0)?,
                seq: r.get(1)?,
                kind: r.get(2)?,
                building: r.get(3)?,
                worker: r.get(4)?,
                device: r.get(5)?,
                received_at: r.get(6)?,
                fix: r.get(7)?,
                corrects: r.get(8)?,
                location: r.get(9)?,
            })
        })?
        .collect::<Result<_, _>>()?
    };
    let mut original =
        tx.prepare_cached("SELECT original FROM review_items WHERE record_id = ?1")?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO review_items (record_id, server_seq, kind, building_code, username, device_id,
             received_at, off_site, distance_m, accuracy_m, radius_m, corrects, original)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    for s in &sources {
        let j = judge_presence(s.fix.as_deref(), s.location.as_deref(), policy);
        // Records are indexed in server order, so the report a correction names is already
        // indexed when it was merged first; one never seen is its own chain's start.
        let root = match &s.corrects {
            Some(c) => original
                .query_row([c], |r| r.get::<_, String>(0))
                .optional()?
                .unwrap_or_else(|| c.clone()),
            None => s.record.clone(),
        };
        insert.execute(params![
            s.record,
            s.seq,
            s.kind,
            s.building,
            s.worker,
            s.device,
            s.received_at,
            j.off_site,
            j.distance_m,
            j.accuracy_m,
            j.radius_m,
            s.corrects,
            root
        ])?;
    }
    tx.execute(
        "UPDATE review_index_state SET indexed_seq = ?1 WHERE id = 1",
        [upto],
    )?;
    Ok(IndexStep {
        indexed: sources.len(),
        more: upto < last,
    })
}

fn time(i: usize, v: i64) -> rusqlite::Result<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp_millis(v).ok_or(rusqlite::Error::IntegralValueOutOfRange(i, v))
}

fn item_columns(r: &Row<'_>) -> rusqlite::Result<ItemColumns> {
    Ok(ItemColumns {
        record: r.get(0)?,
        kind: r.get(1)?,
        building: r.get(2)?,
        grid: r.get(3)?,
        worker: r.get(4)?,
        device: r.get(5)?,
        seq: r.get(6)?,
        received_at: time(7, r.get(7)?)?,
        off_site: r.get(8)?,
        distance_m: r.get(9)?,
        accuracy_m: r.get(10)?,
        radius_m: r.get(11)?,
        corrects: r.get(12)?,
        original: r.get(13)?,
        corrected_by: r.get(14)?,
        decision: r.get(15)?,
        comment: r.get(16)?,
        reviewer: r.get(17)?,
        reviewed_at: r
            .get::<_, Option<i64>>(18)?
            .map(|v| time(18, v))
            .transpose()?,
        community: r.get(19)?,
        street: r.get(20)?,
    })
}

pub fn queue(
    c: &mut Connection,
    p: &ReviewQueueParams,
) -> Result<(Vec<ReviewItem>, bool), DbError> {
    let (scope_pred, scope_val) = scope_sql(&p.scope, "b.", "?2");
    let state = p
        .state
        .map(|s| format!(" AND {}", state_sql(s)))
        .unwrap_or_default();
    let mut st = c.prepare(&format!(
        "SELECT {ITEM_SELECT} FROM {ITEM_FROM}
         WHERE i.server_seq > ?1 AND {scope_pred}
           AND (?3 IS NULL OR i.kind = ?3)
           AND (?4 IS NULL OR b.grid = ?4)
           AND (?5 IS NULL OR i.username = ?5)
           AND (?6 IS NULL OR i.off_site = ?6){state}
         ORDER BY i.server_seq LIMIT ?7"
    ))?;
    let rows = st.query_map(
        params![
            seq_i(p.after_seq),
            scope_val,
            p.kind.map(|k| k.as_str()),
            p.grid.as_ref().map(GridId::as_str),
            p.worker.as_ref().map(|w| w.as_str()),
            p.off_site,
            i64::from(p.limit) + 1
        ],
        item_columns,
    )?;
    let mut items = Vec::new();
    for row in rows {
        items.push(row?.into_placed()?.item);
    }
    let more = items.len() > p.limit as usize;
    items.truncate(p.limit as usize);
    Ok((items, more))
}

fn load_item(tx: &Transaction<'_>, id: &str) -> Result<Option<PlacedItem>, DbError> {
    let row = tx
        .query_row(
            &format!("SELECT {ITEM_SELECT} FROM {ITEM_FROM} WHERE i.record_id = ?1"),
            [id],
            item_columns,
        )
        .optional()?;
    row.map(ItemColumns::into_placed).transpose()
}

pub fn decide(c: &mut Connection, p: &DecideParams) -> Result<DecideResult, DbError> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // A record merged a moment ago is indexed here, in the same transaction as the decision.
    while index_step(&tx, &p.policy)?.more {}
    let id = p.record.to_string();
    let Some(placed) = load_item(&tx, &id)? else {
        // Not an indexed report: unknown, or a building correction (checked against the scope
        // first, so that nothing is said about records outside it).
        let place = tx
            .query_row(
                "SELECT b.grid, b.community, b.street FROM records r
                 JOIN buildings b ON b.code = r.building_code WHERE r.record_id = ?1",
                [&id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()?;
        return Ok(match place {
            None => DecideResult::UnknownRecord,
            Some((g, c, s)) if in_scope(&p.scope, &g, &c, &s) => DecideResult::NotReviewable,
            Some(_) => DecideResult::OutOfScope,
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
            let seq = allocate_seqs(&tx, 1)?;
            tx.execute(
                "INSERT INTO review_outcomes (seq, record_id, username, decision, comment,
                     reviewer, reviewed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    seq_i(seq),
                    id,
                    item.worker.as_str(),
                    p.decision.as_str(),
                    p.comment,
                    p.reviewer.as_str(),
                    ms(p.at)
                ],
            )?;
            tx.commit()?;
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

fn in_scope(scope: &gridwalk_core::protocol::Scope, g: &str, c: &str, s: &str) -> bool {
    scope.contains_place(
        &GridId(g.to_owned()),
        &gridwalk_core::CommunityId(c.to_owned()),
        &gridwalk_core::StreetId(s.to_owned()),
    )
}

pub fn grid_records(c: &mut Connection, grid: &GridId) -> Result<Option<GridRecords>, DbError> {
    // One read transaction: the buildings and their records come from the same snapshot.
    let tx = c.transaction_with_behavior(TransactionBehavior::Deferred)?;
    let Some(data) = tx
        .query_row(
            "SELECT data FROM grids WHERE id = ?1",
            [grid.as_str()],
            |r| r.get::<_, String>(0),
        )
        .optional()?
    else {
        return Ok(None);
    };
    let grid_file: Grid =
        serde_json::from_str(&data).map_err(|e| DbError::Corrupt(format!("grid: {e}")))?;
    let mut buildings = Vec::new();
    {
        let mut st =
            tx.prepare("SELECT data FROM buildings WHERE grid = ?1 AND removed = 0 ORDER BY code")?;
        for row in st.query_map([grid.as_str()], |r| r.get::<_, String>(0))? {
            buildings.push(parse_building(&row?)?);
        }
    }
    let (mut inspections, mut events) = (Vec::new(), Vec::new());
    {
        let mut st = tx.prepare(
            "SELECT r.kind, r.payload FROM records r
             JOIN buildings b ON b.code = r.building_code
             WHERE b.grid = ?1 AND b.removed = 0 AND r.kind IN ('inspection', 'event')
             ORDER BY r.server_seq",
        )?;
        let rows = st.query_map([grid.as_str()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        for row in rows {
            let (kind, payload) = row?;
            push_payload(&kind, &payload, &mut inspections, &mut events)?;
        }
    }
    Ok(Some(GridRecords {
        grid: grid_file,
        buildings,
        inspections,
        events,
    }))
}
