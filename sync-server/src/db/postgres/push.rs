use deadpool_postgres::{Client, Transaction};
use gridwalk_core::protocol::{DeviceId, PushRecord, PushResponse, RejectCode};
use std::collections::{BTreeSet, HashSet};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use chrono::{DateTime, NaiveDate, Utc};

use gridwalk_core::{Building, CommunityId, GridId, Sha256Hex, StreetId};

use super::allocate_seqs;
use super::archive::{load_buildings, write_buildings};
use crate::db::audit::NewAuditEntry;
use crate::db::codec::{parse_code, parse_device, parse_record_id, seq_i, seq_u};
use crate::db::import_plan::Place;
use crate::db::{DbError, NewRecord, PushCtx, PushError};
use crate::sync::effects::MergeEffects;
use crate::sync::plan::{
    BuildingState, Snapshot, check_batch_order, corrected_buildings, named_buildings, plan_push,
};
use crate::sync::validate::{Checked, Rejection};

pub async fn push(
    c: &mut Client,
    ctx: &PushCtx,
    records: &[PushRecord],
    checks: &[Checked],
    audit: Option<&NewAuditEntry>,
) -> Result<PushResponse, PushError> {
    check_batch_order(records)?;
    let tx = c.transaction().await?;
    let snap = snapshot(&tx, ctx, records).await?;
    let before = snap.device_last_seq;
    let plan = plan_push(ctx, records, checks, snap)?;

    let n = plan.records.len() + plan.building_updates.len();
    if n > 0 {
        let first = allocate_seqs(&tx, n).await?;
        insert_records(&tx, &plan.records, first, ctx.now).await?;
        let updates: Vec<&Building> = plan.building_updates.iter().collect();
        write_buildings(&tx, &updates, first + plan.records.len() as u64).await?;
    }
    // The writes below are independent of each other: polled together, tokio-postgres pipelines
    // them on the connection instead of waiting for each round trip in turn.
    let rejections = async {
        if plan.rejections.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = plan.rejections.iter().map(|r| r.id.to_string()).collect();
        let seqs: Vec<i64> = plan
            .rejections
            .iter()
            .map(|r| seq_i(r.device_seq))
            .collect();
        let codes: Vec<&str> = plan.rejections.iter().map(|r| r.code.as_str()).collect();
        let messages: Vec<&str> = plan.rejections.iter().map(|r| r.message.as_str()).collect();
        execute_cached(
            &tx,
            "INSERT INTO rejections (device_id, record_id, device_seq, code, message, received_at)
             SELECT $1, r, s, c, m, $6
             FROM UNNEST($2::text[], $3::int8[], $4::text[], $5::text[]) AS t (r, s, c, m)",
            &[
                &ctx.device.as_str(),
                &ids,
                &seqs,
                &codes,
                &messages,
                &ctx.now,
            ],
        )
        .await?;
        Ok::<(), DbError>(())
    };
    let conflicts = async {
        for k in &plan.conflicts {
            execute_cached(
                &tx,
                "INSERT INTO conflicts (record_id, building_code, field, seen, proposed, current,
                     created_at)
                 VALUES ($1, $2, $3, $4::text::jsonb, $5::text::jsonb, $6::text::jsonb, $7)",
                &[
                    &k.record.to_string(),
                    &k.building.as_str(),
                    &k.field.as_str(),
                    &k.seen.to_string(),
                    &k.proposed.to_string(),
                    &k.current.to_string(),
                    &ctx.now,
                ],
            )
            .await?;
        }
        Ok::<(), DbError>(())
    };
    let device_seq = async {
        if plan.device_last_seq != before {
            execute_cached(
                &tx,
                "UPDATE devices SET last_seq = $2, username = $3, updated_at = $4
                 WHERE device_id = $1",
                &[
                    &ctx.device.as_str(),
                    &seq_i(plan.device_last_seq),
                    &ctx.username,
                    &ctx.now,
                ],
            )
            .await?;
        }
        Ok::<(), DbError>(())
    };
    let audited = async {
        match audit {
            Some(e) => super::audit::append(&tx, e).await,
            None => Ok(()),
        }
    };
    let ((), (), (), (), (), missing) = tokio::try_join!(
        write_effects(&tx, &plan.effects, ctx.now),
        rejections,
        conflicts,
        device_seq,
        audited,
        missing_photos(&tx, &plan.photos),
    )?;
    tx.commit().await?;
    Ok(PushResponse {
        results: plan.results,
        missing_photos: missing,
        device_last_seq: plan.device_last_seq,
    })
}

/// Queues the follow-up work of the accepted records (see [`MergeEffects`]).
async fn write_effects(
    tx: &Transaction<'_>,
    fx: &MergeEffects,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    if !fx.rate.is_empty() {
        // A queued row is locked by the no-op update: the rater skips it until this push
        // commits, so it never drops the row having read the records without this push's.
        let codes: Vec<&str> = fx.rate.iter().map(|c| c.as_str()).collect();
        execute_cached(
            tx,
            "INSERT INTO rating_queue (building_code, queued_at)
             SELECT c, $2 FROM UNNEST($1::text[]) AS t (c)
             ON CONFLICT (building_code) DO UPDATE SET queued_at = rating_queue.queued_at",
            &[&codes, &now],
        )
        .await?;
    }
    if !fx.events.is_empty() {
        let ids: Vec<String> = fx.events.iter().map(|e| e.event.to_string()).collect();
        let codes: Vec<&str> = fx.events.iter().map(|e| e.building.as_str()).collect();
        let kinds: Vec<&str> = fx.events.iter().map(|e| e.kind).collect();
        let cats: Vec<&str> = fx.events.iter().map(|e| e.category.as_str()).collect();
        let statuses: Vec<&str> = fx.events.iter().map(|e| e.status.as_str()).collect();
        let deadlines: Vec<Option<NaiveDate>> = fx.events.iter().map(|e| e.deadline).collect();
        let reported: Vec<DateTime<Utc>> = fx.events.iter().map(|e| e.reported_at).collect();
        let depts: Vec<Option<&str>> = fx
            .events
            .iter()
            .map(|e| e.dispatch.department().map(|d| d.as_str()))
            .collect();
        execute_cached(
            tx,
            "INSERT INTO event_states (event_id, building_code, kind, category, status, deadline,
                 reported_at, updated_at, department)
             SELECT i, c, k, g, s, d, r, $8, dp
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::date[],
                 $7::timestamptz[], $9::text[]) AS t (i, c, k, g, s, d, r, dp)",
            &[
                &ids, &codes, &kinds, &cats, &statuses, &deadlines, &reported, &now, &depts,
            ],
        )
        .await?;
    }
    super::events::queue_notices(tx, &fx.notices, now).await
}

async fn snapshot(
    tx: &Transaction<'_>,
    ctx: &PushCtx,
    records: &[PushRecord],
) -> Result<Snapshot, DbError> {
    // The device row is the per-device lock: concurrent pushes from one device run one at a time.
    execute_cached(
        tx,
        "INSERT INTO devices (device_id, last_seq, username, updated_at) VALUES ($1, 0, $2, $3)
         ON CONFLICT (device_id) DO NOTHING",
        &[&ctx.device.as_str(), &ctx.username, &ctx.now],
    )
    .await?;
    let last: i64 = query_one_cached(
        tx,
        "SELECT last_seq FROM devices WHERE device_id = $1 FOR UPDATE",
        &[&ctx.device.as_str()],
    )
    .await?
    .try_get(0)?;
    let mut snap = Snapshot {
        device_last_seq: seq_u(last),
        ..Snapshot::default()
    };
    let ids: Vec<String> = records.iter().map(|r| r.record.id().to_string()).collect();
    let device = ctx.device.as_str();
    let codes: Vec<&str> = named_buildings(records)
        .iter()
        .map(|c| c.as_str())
        .collect();
    // Corrected buildings are read in full and locked: a concurrent push correcting the same
    // building waits, then sees this one's result, so conflicts are decided in commit order.
    let corrected: Vec<&str> = corrected_buildings(records)
        .iter()
        .map(|c| c.as_str())
        .collect();
    // Parameters bound here: the joined queries borrow them.
    let by_id: [&(dyn ToSql + Sync); 1] = [&ids];
    let by_device_id: [&(dyn ToSql + Sync); 2] = [&device, &ids];
    let by_code: [&(dyn ToSql + Sync); 1] = [&codes];
    // Four independent reads under the device lock, pipelined (one wait, not four).
    let (accepted, rejected, places, files) = tokio::try_join!(
        query_cached(
            tx,
            "SELECT record_id, device_id FROM records WHERE record_id = ANY($1)",
            &by_id,
        ),
        query_cached(
            tx,
            "SELECT record_id, code, message FROM rejections
                 WHERE device_id = $1 AND record_id = ANY($2)",
            &by_device_id,
        ),
        query_cached(
            tx,
            "SELECT code, grid, community, street, removed FROM buildings WHERE code = ANY($1)",
            &by_code,
        ),
        load_buildings(tx, &corrected),
    )?;
    for r in accepted {
        let id: String = r.try_get(0)?;
        let dev: String = r.try_get(1)?;
        snap.accepted
            .insert(parse_record_id(&id)?, parse_device(&dev)?);
    }
    for r in rejected {
        let id: String = r.try_get(0)?;
        let code: String = r.try_get(1)?;
        snap.rejected.insert(
            parse_record_id(&id)?,
            Rejection::new(RejectCode::parse(&code), r.try_get::<_, String>(2)?),
        );
    }
    for r in places {
        let code: String = r.try_get(0)?;
        snap.buildings.insert(
            parse_code(&code)?,
            BuildingState {
                place: Place {
                    grid: GridId(r.try_get(1)?),
                    community: CommunityId(r.try_get(2)?),
                    street: StreetId(r.try_get(3)?),
                },
                removed: r.try_get(4)?,
                file: None,
            },
        );
    }
    for (code, sb) in files {
        if let Some(state) = snap.buildings.get_mut(&code) {
            state.place = Place::of(&sb.building);
            state.removed = sb.removed;
            state.file = Some(sb.building);
        }
    }
    Ok(snap)
}

/// Inserts accepted records and their photo references; record `i` gets server sequence
/// `first + i`.
async fn insert_records(
    tx: &Transaction<'_>,
    rows: &[NewRecord],
    first: u64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbError> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = rows.iter().map(|r| r.id.to_string()).collect();
    let devices: Vec<&str> = rows.iter().map(|r| r.device.as_str()).collect();
    let dseqs: Vec<i64> = rows.iter().map(|r| seq_i(r.device_seq)).collect();
    let users: Vec<&str> = rows.iter().map(|r| r.username.as_str()).collect();
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind).collect();
    let codes: Vec<&str> = rows.iter().map(|r| r.building.as_str()).collect();
    let payloads: Vec<&str> = rows.iter().map(|r| r.payload.as_str()).collect();
    let conflicts: Vec<bool> = rows.iter().map(|r| r.conflict).collect();
    let sseqs: Vec<i64> = (0..rows.len()).map(|i| seq_i(first + i as u64)).collect();
    execute_cached(
        tx,
        "INSERT INTO records (record_id, device_id, device_seq, username, kind, building_code,
             payload, conflict, server_seq, received_at)
         SELECT r, d, ds, u, k, b, p::jsonb, c, ss, $10
         FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::text[], $5::text[], $6::text[],
             $7::text[], $8::bool[], $9::int8[]) AS t (r, d, ds, u, k, b, p, c, ss)",
        &[
            &ids, &devices, &dseqs, &users, &kinds, &codes, &payloads, &conflicts, &sseqs, &now,
        ],
    )
    .await?;
    let mut p_ids = Vec::new();
    let mut p_shas = Vec::new();
    let mut p_sizes = Vec::new();
    for (r, id) in rows.iter().zip(&ids) {
        for p in &r.photos {
            p_ids.push(id.as_str());
            p_shas.push(p.sha256.as_str());
            p_sizes.push(seq_i(p.size_bytes));
        }
    }
    if !p_ids.is_empty() {
        execute_cached(
            tx,
            "INSERT INTO record_photos (record_id, sha256, size_bytes)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::int8[])
             ON CONFLICT DO NOTHING",
            &[&p_ids, &p_shas, &p_sizes],
        )
        .await?;
    }
    Ok(())
}

async fn missing_photos(
    tx: &Transaction<'_>,
    photos: &BTreeSet<Sha256Hex>,
) -> Result<Vec<Sha256Hex>, DbError> {
    if photos.is_empty() {
        return Ok(Vec::new());
    }
    let shas: Vec<&str> = photos.iter().map(Sha256Hex::as_str).collect();
    let stored: HashSet<String> = query_cached(
        tx,
        "SELECT sha256 FROM photos WHERE sha256 = ANY($1)",
        &[&shas],
    )
    .await?
    .iter()
    .map(|r| r.try_get(0))
    .collect::<Result<_, _>>()?;
    Ok(photos
        .iter()
        .filter(|s| !stored.contains(s.as_str()))
        .cloned()
        .collect())
}

pub async fn device_record_counts(c: &Client, device: &DeviceId) -> Result<(u64, u64), DbError> {
    let r = c
        .query_one(
            "SELECT (SELECT count(*) FROM records WHERE device_id = $1),
                    (SELECT count(*) FROM rejections WHERE device_id = $1)",
            &[&device.as_str()],
        )
        .await?;
    Ok((seq_u(r.try_get(0)?), seq_u(r.try_get(1)?)))
}

pub async fn raw_insert(c: &mut Client, rows: &[NewRecord]) -> Result<u64, DbError> {
    let tx = c.transaction().await?;
    let first = allocate_seqs(&tx, rows.len()).await?;
    insert_records(&tx, rows, first, chrono::Utc::now()).await?;
    tx.commit().await?;
    Ok(rows.len() as u64)
}

/// `sql` on the push's transaction, prepared once per pooled connection (a push makes a dozen
/// statements; preparing each on every call doubled its round trips).
async fn execute_cached(
    tx: &Transaction<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, DbError> {
    Ok(tx.execute(&tx.prepare_cached(sql).await?, params).await?)
}

/// See [`execute_cached`].
async fn query_cached(
    tx: &Transaction<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, DbError> {
    Ok(tx.query(&tx.prepare_cached(sql).await?, params).await?)
}

/// See [`execute_cached`].
async fn query_one_cached(
    tx: &Transaction<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Row, DbError> {
    Ok(tx.query_one(&tx.prepare_cached(sql).await?, params).await?)
}
