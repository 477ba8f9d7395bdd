//! The building archive: buildings (一楼一档) and grids, bulk-loaded from sync and read by the app.

use rusqlite::{CachedStatement, Connection, Row, Statement, Transaction, params};

use crate::domain::{
    Building, BuildingCode, CategoryScores, CommunityId, Contact, GeoPoint, Grid, GridId, Stars,
    StreetId, WorkerId,
};

use super::codec::{
    date_text, from_json, parse_code, parse_date, parse_time, parse_usage, sql_to_u32, time_text,
    to_json, usage_text,
};
use super::error::{StoreError, StoreResult};
use super::{Archive, schema};

pub(crate) const BUILDING_COLUMNS: &str = "code, address, lat, lon, street, community, grid, \
     floors, units, usage, owner_json, manager_json, building_head_json, stars, \
     score_safety_livability, score_management, score_honesty_credit, score_civility_hygiene, \
     open_hazards, blacklisted, last_inspected_at, next_due_on";

const UPSERT_BUILDING: &str = "INSERT INTO buildings (code, address, lat, lon, street, community, \
     grid, floors, units, usage, owner_json, manager_json, building_head_json, stars, \
     score_safety_livability, score_management, score_honesty_credit, score_civility_hygiene, \
     open_hazards, blacklisted, last_inspected_at, next_due_on) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, \
     ?20, ?21, ?22) \
     ON CONFLICT (code) DO UPDATE SET address = excluded.address, lat = excluded.lat, \
     lon = excluded.lon, street = excluded.street, community = excluded.community, \
     grid = excluded.grid, floors = excluded.floors, units = excluded.units, \
     usage = excluded.usage, owner_json = excluded.owner_json, \
     manager_json = excluded.manager_json, building_head_json = excluded.building_head_json, \
     stars = excluded.stars, score_safety_livability = excluded.score_safety_livability, \
     score_management = excluded.score_management, \
     score_honesty_credit = excluded.score_honesty_credit, \
     score_civility_hygiene = excluded.score_civility_hygiene, \
     open_hazards = excluded.open_hazards, blacklisted = excluded.blacklisted, \
     last_inspected_at = excluded.last_inspected_at, next_due_on = excluded.next_due_on \
     WHERE (address, lat, lon, street, community, grid, floors, units, usage, owner_json, \
     manager_json, building_head_json, stars, score_safety_livability, score_management, \
     score_honesty_credit, score_civility_hygiene, open_hazards, blacklisted, last_inspected_at, \
     next_due_on) IS NOT (excluded.address, excluded.lat, excluded.lon, excluded.street, \
     excluded.community, excluded.grid, excluded.floors, excluded.units, excluded.usage, \
     excluded.owner_json, excluded.manager_json, excluded.building_head_json, excluded.stars, \
     excluded.score_safety_livability, excluded.score_management, excluded.score_honesty_credit, \
     excluded.score_civility_hygiene, excluded.open_hazards, excluded.blacklisted, \
     excluded.last_inspected_at, excluded.next_due_on)";

/// A load at least this large, and at least a quarter of the resulting table, runs with the list
/// indexes dropped and rebuilt in the same transaction. Measured in release on the dev machine:
/// 175,700 buildings take ~15 s into live indexes, ~4 s with the rebuild.
const BULK_LOAD_MIN_ROWS: usize = 10_000;

const UPSERT_GRID: &str = "INSERT INTO grids (id, name, boundary_json, community, street, worker) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, boundary_json = excluded.boundary_json, \
     community = excluded.community, street = excluded.street, worker = excluded.worker";

impl Archive {
    /// Inserts or replaces buildings, all in one transaction with one prepared statement (the first
    /// load of a district is 175,700 rows); rows that did not change are not rewritten. Every
    /// building's grid must already be in the archive.
    pub fn upsert_buildings(&self, buildings: &[Building]) -> StoreResult<()> {
        for b in buildings {
            b.location.validate()?;
            if let Some(s) = &b.scores {
                s.validate()?;
            }
        }
        self.write(|tx| {
            let existing: i64 = tx.query_row("SELECT count(*) FROM buildings", [], |r| r.get(0))?;
            let existing = usize::try_from(existing).unwrap_or(0);
            let bulk = is_bulk_load(buildings.len(), existing, BULK_LOAD_MIN_ROWS);
            if bulk {
                schema::drop_list_indexes(tx)?;
            }
            let mut stmt = tx.prepare_cached(UPSERT_BUILDING)?;
            for b in buildings {
                upsert_building_row(&mut stmt, b)?;
            }
            drop(stmt);
            if bulk {
                tx.execute_batch(schema::LIST_INDEXES)?;
            }
            Ok(())
        })
    }

    /// Inserts or replaces grids in one transaction.
    pub fn upsert_grids(&self, grids: &[Grid]) -> StoreResult<()> {
        for g in grids {
            for p in &g.boundary {
                p.validate()?;
            }
        }
        self.write(|tx| {
            let mut stmt = tx.prepare_cached(UPSERT_GRID)?;
            for g in grids {
                stmt.execute(params![
                    g.id.as_str(),
                    g.name,
                    to_json(&g.boundary)?,
                    g.community.as_str(),
                    g.street.as_str(),
                    g.worker.as_ref().map(WorkerId::as_str),
                ])?;
            }
            Ok(())
        })
    }

    /// Removes buildings that left the phone's scope; returns how many were in the archive.
    /// Field records and rating history about them stay (they may not be synced yet); records are
    /// removed by a later sync once the server has them in full.
    pub fn remove_buildings(&self, codes: &[BuildingCode]) -> StoreResult<usize> {
        let now = time_text(self.clock.now());
        self.write(|tx| {
            super::prune::mark_departed(tx, &codes.iter().collect::<Vec<_>>(), &now)?;
            let mut stmt = tx.prepare_cached("DELETE FROM buildings WHERE code = ?1")?;
            let mut removed = 0;
            for c in codes {
                removed += stmt.execute([c.as_str()])?;
            }
            Ok(removed)
        })
    }

    /// Removes grids; a grid that still has buildings is refused ([`StoreError::GridInUse`]) and
    /// nothing is removed.
    pub fn remove_grids(&self, ids: &[GridId]) -> StoreResult<usize> {
        self.write(|tx| {
            let mut stmt = tx.prepare_cached("DELETE FROM grids WHERE id = ?1")?;
            let mut removed = 0;
            for id in ids {
                removed += match stmt.execute([id.as_str()]) {
                    Err(e) if is_foreign_key_violation(&e) => {
                        return Err(StoreError::GridInUse(id.clone()));
                    }
                    other => other?,
                };
            }
            Ok(removed)
        })
    }

    pub fn building(&self, code: &BuildingCode) -> StoreResult<Option<Building>> {
        self.read(|conn| {
            let sql = format!("SELECT {BUILDING_COLUMNS} FROM buildings WHERE code = ?1");
            query_buildings(conn, &sql, [code.as_str()]).map(|mut v| v.pop())
        })
    }

    /// A grid's buildings, by code.
    pub fn buildings_in_grid(&self, grid: &GridId) -> StoreResult<Vec<Building>> {
        self.read(|conn| {
            let sql =
                format!("SELECT {BUILDING_COLUMNS} FROM buildings WHERE grid = ?1 ORDER BY code");
            query_buildings(conn, &sql, [grid.as_str()])
        })
    }

    pub fn building_count(&self) -> StoreResult<u64> {
        self.read(|conn| {
            let n: i64 = conn.query_row("SELECT count(*) FROM buildings", [], |r| r.get(0))?;
            Ok(n.unsigned_abs())
        })
    }

    pub fn grid(&self, id: &GridId) -> StoreResult<Option<Grid>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, name, boundary_json, community, street, worker FROM grids WHERE id = ?1",
            )?;
            let mut rows = stmt.query([id.as_str()])?;
            match rows.next()? {
                None => Ok(None),
                Some(row) => {
                    let boundary: String = row.get(2)?;
                    Ok(Some(Grid {
                        id: GridId(row.get(0)?),
                        name: row.get(1)?,
                        boundary: from_json::<Vec<GeoPoint>>("grid boundary", &boundary)?,
                        community: CommunityId(row.get(3)?),
                        street: StreetId(row.get(4)?),
                        worker: row.get::<_, Option<String>>(5)?.map(WorkerId),
                    }))
                }
            }
        })
    }
}

/// The statement [`upsert_building_row`] runs.
pub(crate) fn building_upsert<'t>(tx: &'t Transaction<'_>) -> StoreResult<CachedStatement<'t>> {
    Ok(tx.prepare_cached(UPSERT_BUILDING)?)
}

/// Whether a load of `rows` buildings into a table of `existing` is done with the list indexes
/// dropped and rebuilt afterwards.
pub(crate) fn is_bulk_load(rows: usize, existing: usize, min_rows: usize) -> bool {
    rows >= min_rows && rows * 4 >= existing + rows
}

/// Inserts or replaces one building (its grid must be held) with a statement from
/// [`building_upsert`].
pub(crate) fn upsert_building_row(stmt: &mut Statement<'_>, b: &Building) -> StoreResult<()> {
    let scores = b.scores.as_ref();
    let manager = b.manager.as_ref().map(to_json).transpose()?;
    let head = b.building_head.as_ref().map(to_json).transpose()?;
    let res = stmt.execute(params![
        b.code.as_str(),
        b.address,
        b.location.lat,
        b.location.lon,
        b.street.as_str(),
        b.community.as_str(),
        b.grid.as_str(),
        b.floors,
        b.units,
        usage_text(b.usage),
        to_json(&b.owner)?,
        manager,
        head,
        b.stars.map(Stars::get),
        scores.map(|s| s.safety_livability),
        scores.map(|s| s.management),
        scores.map(|s| s.honesty_credit),
        scores.map(|s| s.civility_hygiene),
        b.open_hazards,
        b.blacklisted,
        b.last_inspected_at.map(time_text),
        b.next_due_on.map(date_text),
    ]);
    match res {
        Err(e) if is_foreign_key_violation(&e) => Err(StoreError::UnknownGrid {
            building: b.code.clone(),
            grid: b.grid.clone(),
        }),
        other => other.map(|_| ()).map_err(StoreError::from),
    }
}

pub(crate) fn is_foreign_key_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
}

fn query_buildings(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> StoreResult<Vec<Building>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(building_from_row(row)?);
    }
    Ok(out)
}

/// Decodes a row selected with [`BUILDING_COLUMNS`].
fn building_from_row(row: &Row<'_>) -> StoreResult<Building> {
    let code: String = row.get(0)?;
    let owner: String = row.get(10)?;
    let manager: Option<String> = row.get(11)?;
    let head: Option<String> = row.get(12)?;
    let stars: Option<u8> = row.get(13)?;
    let scores = match (
        row.get::<_, Option<f64>>(14)?,
        row.get::<_, Option<f64>>(15)?,
        row.get::<_, Option<f64>>(16)?,
        row.get::<_, Option<f64>>(17)?,
    ) {
        (Some(a), Some(b), Some(c), Some(d)) => Some(CategoryScores {
            safety_livability: a,
            management: b,
            honesty_credit: c,
            civility_hygiene: d,
        }),
        _ => None,
    };
    let usage: String = row.get(9)?;
    Ok(Building {
        code: parse_code(&code)?,
        address: row.get(1)?,
        location: GeoPoint {
            lat: row.get(2)?,
            lon: row.get(3)?,
        },
        street: StreetId(row.get(4)?),
        community: CommunityId(row.get(5)?),
        grid: GridId(row.get(6)?),
        floors: row.get(7)?,
        units: row.get(8)?,
        usage: parse_usage(&usage)?,
        owner: from_json::<Contact>("owner contact", &owner)?,
        manager: manager
            .map(|m| from_json::<Contact>("manager contact", &m))
            .transpose()?,
        building_head: head
            .map(|h| from_json::<Contact>("building head contact", &h))
            .transpose()?,
        stars: stars
            .map(Stars::new)
            .transpose()
            .map_err(|_| StoreError::corrupt("stored stars out of range"))?,
        scores,
        open_hazards: sql_to_u32(row.get(18)?, "open hazard count")?,
        blacklisted: row.get(19)?,
        last_inspected_at: row
            .get::<_, Option<String>>(20)?
            .map(|t| parse_time(&t))
            .transpose()?,
        next_due_on: row
            .get::<_, Option<String>>(21)?
            .map(|d| parse_date(&d))
            .transpose()?,
    })
}
