use std::collections::BTreeSet;

use gridwalk_core::protocol::{DeviceId, PushRecord, PushResponse, RejectCode};
use gridwalk_core::{CommunityId, GridId, Sha256Hex, StreetId};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::archive::{load_building, write_building};
use super::{allocate_seqs, ms};
use crate::db::audit::NewAuditEntry;
use crate::db::codec::{parse_device, seq_i, seq_u};
use crate::db::import_plan::Place;
use crate::db::{DbError, NewRecord, PushCtx, PushError};
use crate::sync::effects::MergeEffects;
use crate::sync::plan::{
    BuildingState, Snapshot, check_batch_order, corrected_buildings, named_buildings, plan_push,
};
use crate::sync::validate::{Checked, Rejection};

pub fn push(
    c: &mut Connection,
    ctx: &PushCtx,
    records: &[PushRecord],
    checks: &[Checked],
    audit: Option<&NewAuditEntry>,
) -> Result<PushResponse, PushError> {
    check_batch_order(records)?;
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let snap = snapshot(&tx, ctx, records)?;
    let before = snap.device_last_seq;
    let plan = plan_push(ctx, records, checks, snap)?;

    let now = ms(ctx.now);
    let n = plan.records.len() + plan.building_updates.len();
    if n > 0 {
        let first = allocate_seqs(&tx, n)?;
        insert_records(&tx, &plan.records, first, now)?;
        let after_records = first + plan.records.len() as u64;
        for (i, b) in plan.building_updates.iter().enumerate() {
            write_building(&tx, b, false, after_records + i as u64)?;
        }
    }
    write_effects(&tx, &plan.effects, now)?;
    {
        let mut st = tx.prepare_cached(
            "INSERT INTO rejections (device_id, record_id, device_seq, code, message, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for r in &plan.rejections {
            st.execute(params![
                ctx.device.as_str(),
                r.id.to_string(),
                seq_i(r.device_seq),
                r.code.as_str(),
                r.message,
                now
            ])?;
        }
        let mut st = tx.prepare_cached(
            "INSERT INTO conflicts (record_id, building_code, field, seen, proposed, current,
                 created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for k in &plan.conflicts {
            st.execute(params![
                k.record.to_string(),
                k.building.as_str(),
                k.field.as_str(),
                k.seen.to_string(),
                k.proposed.to_string(),
                k.current.to_string(),
                now
            ])?;
        }
    }
    if plan.device_last_seq != before {
        tx.execute(
            "INSERT INTO devices (device_id, last_seq, username, updated_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (device_id) DO UPDATE SET last_seq = excluded.last_seq,
                 username = excluded.username, updated_at = excluded.updated_at",
            params![
                ctx.device.as_str(),
                seq_i(plan.device_last_seq),
                ctx.username,
                now
            ],
        )?;
    }
    let missing = missing_photos(&tx, &plan.photos)?;
    if let Some(e) = audit {
        super::audit::append(&tx, e)?;
    }
    tx.commit()?;
    Ok(PushResponse {
        results: plan.results,
        missing_photos: missing,
        device_last_seq: plan.device_last_seq,
    })
}

fn snapshot(
    tx: &Transaction<'_>,
    ctx: &PushCtx,
    records: &[PushRecord],
) -> Result<Snapshot, DbError> {
    let mut snap = Snapshot {
        device_last_seq: tx
            .query_row(
                "SELECT last_seq FROM devices WHERE device_id = ?1",
                [ctx.device.as_str()],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .map_or(0, seq_u),
        ..Snapshot::default()
    };
    let mut accepted = tx.prepare_cached("SELECT device_id FROM records WHERE record_id = ?1")?;
    let mut rejected = tx.prepare_cached(
        "SELECT code, message FROM rejections WHERE device_id = ?1 AND record_id = ?2",
    )?;
    // Most devices have had nothing refused: then one read answers for the whole batch.
    let any_rejected: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM rejections WHERE device_id = ?1)")?
        .query_row([ctx.device.as_str()], |r| r.get(0))?;
    for pr in records {
        let id = pr.record.id();
        let key = id.to_string();
        if let Some(dev) = accepted
            .query_row([&key], |r| r.get::<_, String>(0))
            .optional()?
        {
            snap.accepted.insert(id, parse_device(&dev)?);
        }
        if !any_rejected {
            continue;
        }
        if let Some((code, message)) = rejected
            .query_row(params![ctx.device.as_str(), key], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .optional()?
        {
            snap.rejected
                .insert(id, Rejection::new(RejectCode::parse(&code), message));
        }
    }
    let corrected = corrected_buildings(records);
    let mut place = tx
        .prepare_cached("SELECT grid, community, street, removed FROM buildings WHERE code = ?1")?;
    for code in named_buildings(records) {
        let row = place
            .query_row([code.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, bool>(3)?,
                ))
            })
            .optional()?;
        let Some((grid, community, street, removed)) = row else {
            continue;
        };
        let file = if corrected.contains(&code) {
            load_building(tx, code)?.map(|sb| sb.building)
        } else {
            None
        };
        snap.buildings.insert(
            code.clone(),
            BuildingState {
                place: Place {
                    grid: GridId(grid),
                    community: CommunityId(community),
                    street: StreetId(street),
                },
                removed,
                file,
            },
        );
    }
    Ok(snap)
}

/// Inserts accepted records and their photo references; record `i` gets server sequence
/// `first + i`.
fn insert_records(
    tx: &Transaction<'_>,
    rows: &[NewRecord],
    first: u64,
    now: i64,
) -> Result<(), DbError> {
    let mut rec = tx.prepare_cached(
        "INSERT INTO records (record_id, device_id, device_seq, username, kind, building_code,
             payload, conflict, server_seq, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    let mut photo = tx.prepare_cached(
        "INSERT OR IGNORE INTO record_photos (record_id, sha256, size_bytes) VALUES (?1, ?2, ?3)",
    )?;
    for (i, r) in rows.iter().enumerate() {
        let id = r.id.to_string();
        rec.execute(params![
            id,
            r.device.as_str(),
            seq_i(r.device_seq),
            r.username,
            r.kind,
            r.building.as_str(),
            r.payload,
            r.conflict,
            seq_i(first + i as u64),
            now
        ])?;
        for p in &r.photos {
            photo.execute(params![id, p.sha256.as_str(), seq_i(p.size_bytes)])?;
        }
    }
    Ok(())
}

/// Queues the follow-up work of the accepted records (see [`MergeEffects`]).
fn write_effects(tx: &Transaction<'_>, fx: &MergeEffects, now: i64) -> Result<(), DbError> {
    let mut queue = tx.prepare_cached(
        "INSERT INTO rating_queue (building_code, queued_at) VALUES (?1, ?2)
         ON CONFLICT (building_code) DO NOTHING",
    )?;
    for code in &fx.rate {
        queue.execute(params![code.as_str(), now])?;
    }
    let mut event = tx.prepare_cached(
        "INSERT INTO event_states (event_id, building_code, kind, category, status, deadline,
             reported_at, updated_at, department)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for e in &fx.events {
        event.execute(params![
            e.event.to_string(),
            e.building.as_str(),
            e.kind,
            e.category.as_str(),
            e.status.as_str(),
            e.deadline.map(|d| d.to_string()),
            ms(e.reported_at),
            now,
            e.dispatch.department().map(|d| d.as_str())
        ])?;
    }
    super::events::queue_notices(tx, &fx.notices, now)
}

fn missing_photos(
    tx: &Transaction<'_>,
    photos: &BTreeSet<Sha256Hex>,
) -> Result<Vec<Sha256Hex>, DbError> {
    let mut st = tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM photos WHERE sha256 = ?1)")?;
    let mut out = Vec::new();
    for sha in photos {
        let stored: bool = st.query_row([sha.as_str()], |r| r.get(0))?;
        if !stored {
            out.push(sha.clone());
        }
    }
    Ok(out)
}

pub fn device_record_counts(c: &mut Connection, device: &DeviceId) -> Result<(u64, u64), DbError> {
    let accepted: i64 = c.query_row(
        "SELECT count(*) FROM records WHERE device_id = ?1",
        [device.as_str()],
        |r| r.get(0),
    )?;
    let rejected: i64 = c.query_row(
        "SELECT count(*) FROM rejections WHERE device_id = ?1",
        [device.as_str()],
        |r| r.get(0),
    )?;
    Ok((seq_u(accepted), seq_u(rejected)))
}

pub fn raw_insert(c: &mut Connection, rows: &[NewRecord]) -> Result<u64, DbError> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let first = allocate_seqs(&tx, rows.len())?;
    insert_records(&tx, rows, first, ms(chrono::Utc::now()))?;
    tx.commit()?;
    Ok(rows.len() as u64)
}
