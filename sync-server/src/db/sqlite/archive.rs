use std::collections::HashMap;

use gridwalk_core::protocol::TombstoneReason;
use gridwalk_core::{Building, BuildingCode, Grid};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::allocate_seqs;
use crate::db::codec::{building_json, parse_building, seq_i, seq_u};
use crate::db::import_plan::{Exit, Place, plan_import};
use crate::db::{DbError, ImportSummary, StoredBuilding};

pub fn upsert_grids(c: &mut Connection, grids: &[Grid]) -> Result<u64, DbError> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut st = tx.prepare(
            "INSERT INTO grids (id, community, street, data) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET community = excluded.community,
                 street = excluded.street, data = excluded.data",
        )?;
        for g in grids {
            let data =
                serde_json::to_string(g).map_err(|e| DbError::Corrupt(format!("grid: {e}")))?;
            st.execute(params![
                g.id.as_str(),
                g.community.as_str(),
                g.street.as_str(),
                data
            ])?;
        }
    }
    tx.commit()?;
    Ok(grids.len() as u64)
}

pub(crate) fn load_building(
    tx: &Connection,
    code: &BuildingCode,
) -> Result<Option<StoredBuilding>, DbError> {
    let row = tx
        .query_row(
            "SELECT data, removed, seq FROM buildings WHERE code = ?1",
            [code.as_str()],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, bool>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            },
        )
        .optional()?;
    row.map(|(data, removed, seq)| {
        Ok(StoredBuilding {
            building: parse_building(&data)?,
            removed,
            seq: seq_u(seq),
        })
    })
    .transpose()
}

/// Writes a building's new state under `seq`.
pub(crate) fn write_building(
    tx: &Transaction<'_>,
    b: &Building,
    removed: bool,
    seq: u64,
) -> Result<(), DbError> {
    let mut st = tx.prepare_cached(
        "INSERT INTO buildings (code, grid, community, street, removed, seq, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (code) DO UPDATE SET grid = excluded.grid, community = excluded.community,
             street = excluded.street, removed = excluded.removed, seq = excluded.seq,
             data = excluded.data",
    )?;
    st.execute(params![
        b.code.as_str(),
        b.grid.as_str(),
        b.community.as_str(),
        b.street.as_str(),
        removed,
        seq_i(seq),
        building_json(b)?
    ])?;
    Ok(())
}

pub(crate) fn write_exit(tx: &Transaction<'_>, e: &Exit, seq: u64) -> Result<(), DbError> {
    let mut st = tx.prepare_cached(
        "INSERT INTO building_exits (seq, code, reason, old_grid, old_community, old_street,
             new_grid, new_community, new_street)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    let new = e.new.as_ref();
    st.execute(params![
        seq_i(seq),
        e.code.as_str(),
        e.reason.as_str(),
        e.old.grid.as_str(),
        e.old.community.as_str(),
        e.old.street.as_str(),
        new.map(|p| p.grid.as_str()),
        new.map(|p| p.community.as_str()),
        new.map(|p| p.street.as_str()),
    ])?;
    Ok(())
}

pub fn import_buildings(
    c: &mut Connection,
    buildings: Vec<Building>,
    dry_run: bool,
) -> Result<ImportSummary, DbError> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut existing = HashMap::new();
    for b in &buildings {
        if let Some(sb) = load_building(&tx, &b.code)? {
            existing.insert(b.code.clone(), sb);
        }
    }
    let plan = plan_import(&existing, buildings, dry_run);
    if dry_run || plan.writes.is_empty() {
        return Ok(plan.summary);
    }
    let first = allocate_seqs(&tx, plan.writes.len())?;
    for (i, w) in plan.writes.iter().enumerate() {
        let seq = first + i as u64;
        write_building(&tx, &w.building, false, seq)?;
        if let Some(exit) = &w.exit {
            write_exit(&tx, exit, seq)?;
        }
    }
    tx.commit()?;
    Ok(plan.summary)
}

pub fn remove_building(c: &mut Connection, code: &BuildingCode) -> Result<bool, DbError> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(sb) = load_building(&tx, code)? else {
        return Ok(false);
    };
    if sb.removed {
        return Ok(false);
    }
    let seq = allocate_seqs(&tx, 1)?;
    write_building(&tx, &sb.building, true, seq)?;
    let exit = Exit {
        code: code.clone(),
        old: Place::of(&sb.building),
        new: None,
        reason: TombstoneReason::Removed,
    };
    write_exit(&tx, &exit, seq)?;
    tx.commit()?;
    Ok(true)
}

pub fn building(
    c: &mut Connection,
    code: &BuildingCode,
) -> Result<Option<StoredBuilding>, DbError> {
    load_building(c, code)
}

pub fn count_buildings(c: &mut Connection) -> Result<u64, DbError> {
    let n: i64 = c.query_row(
        "SELECT count(*) FROM buildings WHERE removed = 0",
        [],
        |r| r.get(0),
    )?;
    Ok(seq_u(n))
}
