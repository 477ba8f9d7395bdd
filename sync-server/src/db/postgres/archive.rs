use std::collections::HashMap;

use deadpool_postgres::{Client, Transaction};
use gridwalk_core::protocol::TombstoneReason;
use gridwalk_core::{Building, BuildingCode, Grid};
use tokio_postgres::Row;

use super::allocate_seqs;
use crate::db::codec::{building_json, parse_building, parse_code, seq_i, seq_u};
use crate::db::import_plan::{Exit, Place, plan_import};
use crate::db::{DbError, ImportSummary, StoredBuilding};

/// Rows per `UNNEST` statement: large enough to amortize round trips, small enough to keep each
/// statement's parameter arrays modest.
const CHUNK: usize = 5_000;

pub async fn upsert_grids(c: &mut Client, grids: &[Grid]) -> Result<u64, DbError> {
    let tx = c.transaction().await?;
    for g in grids {
        let data = serde_json::to_string(g).map_err(|e| DbError::Corrupt(format!("grid: {e}")))?;
        tx.execute(
            "INSERT INTO grids (id, community, street, data) VALUES ($1, $2, $3, $4::text::jsonb)
             ON CONFLICT (id) DO UPDATE SET community = excluded.community,
                 street = excluded.street, data = excluded.data",
            &[
                &g.id.as_str(),
                &g.community.as_str(),
                &g.street.as_str(),
                &data,
            ],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(grids.len() as u64)
}

fn stored(r: &Row) -> Result<(BuildingCode, StoredBuilding), DbError> {
    let code: String = r.try_get(0)?;
    let data: String = r.try_get(1)?;
    Ok((
        parse_code(&code)?,
        StoredBuilding {
            building: parse_building(&data)?,
            removed: r.try_get(2)?,
            seq: seq_u(r.try_get(3)?),
        },
    ))
}

/// The stored buildings among `codes`, locked against concurrent writers until the transaction
/// ends (in code order, so two writers locking overlapping sets cannot deadlock).
pub(crate) async fn load_buildings(
    tx: &Transaction<'_>,
    codes: &[&str],
) -> Result<HashMap<BuildingCode, StoredBuilding>, DbError> {
    let mut out = HashMap::with_capacity(codes.len());
    for chunk in codes.chunks(CHUNK) {
        let rows = tx
            .query(
                "SELECT code, data::text, removed, seq FROM buildings WHERE code = ANY($1)
                 ORDER BY code FOR UPDATE",
                &[&chunk],
            )
            .await?;
        for r in &rows {
            let (code, sb) = stored(r)?;
            out.insert(code, sb);
        }
    }
    Ok(out)
}

/// Writes buildings' new states; building `i` gets sequence `first + i`.
pub(crate) async fn write_buildings(
    tx: &Transaction<'_>,
    buildings: &[&Building],
    first: u64,
) -> Result<(), DbError> {
    for (n, chunk) in buildings.chunks(CHUNK).enumerate() {
        let base = first + (n * CHUNK) as u64;
        let mut codes = Vec::with_capacity(chunk.len());
        let mut grids = Vec::with_capacity(chunk.len());
        let mut communities = Vec::with_capacity(chunk.len());
        let mut streets = Vec::with_capacity(chunk.len());
        let mut seqs = Vec::with_capacity(chunk.len());
        let mut data = Vec::with_capacity(chunk.len());
        for (i, b) in chunk.iter().enumerate() {
            codes.push(b.code.as_str());
            grids.push(b.grid.as_str());
            communities.push(b.community.as_str());
            streets.push(b.street.as_str());
            seqs.push(seq_i(base + i as u64));
            data.push(building_json(b)?);
        }
        tx.execute(
            "INSERT INTO buildings (code, grid, community, street, removed, seq, data)
             SELECT c, g, cm, st, FALSE, s, d::jsonb
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[])
                  AS t (c, g, cm, st, s, d)
             ON CONFLICT (code) DO UPDATE SET grid = excluded.grid,
                 community = excluded.community, street = excluded.street, removed = FALSE,
                 seq = excluded.seq, data = excluded.data",
            &[&codes, &grids, &communities, &streets, &seqs, &data],
        )
        .await?;
    }
    Ok(())
}

pub(crate) async fn write_exits(
    tx: &Transaction<'_>,
    exits: &[(&Exit, u64)],
) -> Result<(), DbError> {
    for chunk in exits.chunks(CHUNK) {
        let seqs: Vec<i64> = chunk.iter().map(|(_, s)| seq_i(*s)).collect();
        let codes: Vec<&str> = chunk.iter().map(|(e, _)| e.code.as_str()).collect();
        let reasons: Vec<&str> = chunk.iter().map(|(e, _)| e.reason.as_str()).collect();
        let og: Vec<&str> = chunk.iter().map(|(e, _)| e.old.grid.as_str()).collect();
        let oc: Vec<&str> = chunk
            .iter()
            .map(|(e, _)| e.old.community.as_str())
            .collect();
        let os: Vec<&str> = chunk.iter().map(|(e, _)| e.old.street.as_str()).collect();
        let ng: Vec<Option<&str>> = chunk
            .iter()
            .map(|(e, _)| e.new.as_ref().map(|p| p.grid.as_str()))
            .collect();
        let nc: Vec<Option<&str>> = chunk
            .iter()
            .map(|(e, _)| e.new.as_ref().map(|p| p.community.as_str()))
            .collect();
        let ns: Vec<Option<&str>> = chunk
            .iter()
            .map(|(e, _)| e.new.as_ref().map(|p| p.street.as_str()))
            .collect();
        tx.execute(
            "INSERT INTO building_exits (seq, code, reason, old_grid, old_community, old_street,
                 new_grid, new_community, new_street)
             SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[],
                 $6::text[], $7::text[], $8::text[], $9::text[])",
            &[&seqs, &codes, &reasons, &og, &oc, &os, &ng, &nc, &ns],
        )
        .await?;
    }
    Ok(())
}

pub async fn import_buildings(
    c: &mut Client,
    buildings: Vec<Building>,
    dry_run: bool,
) -> Result<ImportSummary, DbError> {
    let tx = c.transaction().await?;
    let codes: Vec<&str> = buildings.iter().map(|b| b.code.as_str()).collect();
    let existing = load_buildings(&tx, &codes).await?;
    drop(codes);
    let plan = plan_import(&existing, buildings, dry_run);
    if dry_run || plan.writes.is_empty() {
        tx.rollback().await?;
        return Ok(plan.summary);
    }
    let first = allocate_seqs(&tx, plan.writes.len()).await?;
    let states: Vec<&Building> = plan.writes.iter().map(|w| &w.building).collect();
    write_buildings(&tx, &states, first).await?;
    let exits: Vec<(&Exit, u64)> = plan
        .writes
        .iter()
        .enumerate()
        .filter_map(|(i, w)| w.exit.as_ref().map(|e| (e, first + i as u64)))
        .collect();
    write_exits(&tx, &exits).await?;
    tx.commit().await?;
    // A large import changes the table's make-up at once: fresh statistics keep the planner on the
    // indexes (without them a fresh district's list pages were sorted from a bitmap scan).
    if states.len() >= ANALYZE_AFTER_ROWS {
        c.batch_execute("ANALYZE buildings").await?;
    }
    Ok(plan.summary)
}

/// Imports writing at least this many buildings refresh the table's statistics.
const ANALYZE_AFTER_ROWS: usize = 10_000;

pub async fn remove_building(c: &mut Client, code: &BuildingCode) -> Result<bool, DbError> {
    let tx = c.transaction().await?;
    let existing = load_buildings(&tx, &[code.as_str()]).await?;
    let Some(sb) = existing.get(code).filter(|sb| !sb.removed) else {
        return Ok(false);
    };
    let seq = allocate_seqs(&tx, 1).await?;
    tx.execute(
        "UPDATE buildings SET removed = TRUE, seq = $2 WHERE code = $1",
        &[&code.as_str(), &seq_i(seq)],
    )
    .await?;
    let exit = Exit {
        code: code.clone(),
        old: Place::of(&sb.building),
        new: None,
        reason: TombstoneReason::Removed,
    };
    write_exits(&tx, &[(&exit, seq)]).await?;
    tx.commit().await?;
    Ok(true)
}

pub async fn building(c: &Client, code: &BuildingCode) -> Result<Option<StoredBuilding>, DbError> {
    let row = c
        .query_opt(
            "SELECT code, data::text, removed, seq FROM buildings WHERE code = $1",
            &[&code.as_str()],
        )
        .await?;
    row.map(|r| stored(&r).map(|(_, sb)| sb)).transpose()
}

pub async fn count_buildings(c: &Client) -> Result<u64, DbError> {
    let n: i64 = c
        .query_one("SELECT count(*) FROM buildings WHERE NOT removed", &[])
        .await?
        .try_get(0)?;
    Ok(seq_u(n))
}
