//! The enforcement officer's building list: filter by jurisdiction and risk, sorted by risk, paged by
//! keyset. The filter types are plain serde data so the server can take the same filter over HTTP.
//!
//! Risk order (most risky first):
//! 1. stars ascending, with **unrated buildings first** — nothing vouches for a building that was
//!    never assessed, so it is treated as riskier than 1★ (exclude them with `include_unrated: false`);
//! 2. next due date ascending (most overdue first), with **no due date first** — never scheduled
//!    means it needs a first visit now;
//! 3. open hazards descending;
//! 4. building code (a total order, so paging never skips or repeats).
//!
//! The order is materialized as `buildings.risk_key` (layout and the filters' key ranges: [`risk`],
//! shared with the district server), indexed after each scope column, so a page is one index range
//! scan of `limit + 1` rows and no sort.
//!
//! [`risk`]: super::risk

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::types::Value;
use serde::{Deserialize, Serialize};

use crate::domain::{BuildingCode, CommunityId, GeoPoint, GridId, Stars, StreetId};

use super::Archive;
use super::codec::{parse_code, parse_date, parse_time, sql_to_u32};
use super::error::{StoreError, StoreResult};
use super::risk::ListCriteria;
use super::schema;

/// Whose buildings: a grid (网格), a community (社区), a street (街道) or the whole district (区).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "level", content = "id", rename_all = "snake_case")]
pub enum Scope {
    Grid(GridId),
    Community(CommunityId),
    Street(StreetId),
    District,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildingFilter {
    pub scope: Scope,
    /// Only buildings with at most this many stars (unrated ones are governed by `include_unrated`).
    pub max_stars: Option<u8>,
    pub include_unrated: bool,
    /// Only buildings whose next visit was due strictly before this date (due that day is not yet
    /// overdue; buildings with no due date are never overdue).
    pub overdue_on: Option<NaiveDate>,
    pub with_open_hazards: bool,
    pub blacklisted_only: bool,
}

impl BuildingFilter {
    /// Every building in the scope, unrated included.
    pub fn all_in(scope: Scope) -> Self {
        Self {
            scope,
            max_stars: None,
            include_unrated: true,
            overdue_on: None,
            with_open_hazards: false,
            blacklisted_only: false,
        }
    }
}

impl From<&BuildingFilter> for ListCriteria {
    fn from(f: &BuildingFilter) -> Self {
        ListCriteria {
            max_stars: f.max_stars,
            include_unrated: f.include_unrated,
            overdue_on: f.overdue_on,
            open_hazards: f.with_open_hazards.then_some(true),
            blacklisted_only: f.blacklisted_only,
            ..ListCriteria::ALL
        }
    }
}

/// A page request: at most `limit` rows after the cursor `after` (from the previous page's result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub limit: u32,
    /// Opaque keyset cursor; `None` for the first page.
    pub after: Option<String>,
}

impl Page {
    pub const MAX_LIMIT: u32 = 1000;

    pub fn first(limit: u32) -> Self {
        Self { limit, after: None }
    }
}

/// One line of the officer's list (no contacts: the list needs no personal data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildingSummary {
    pub code: BuildingCode,
    pub address: String,
    pub location: GeoPoint,
    pub street: StreetId,
    pub community: CommunityId,
    pub grid: GridId,
    pub stars: Option<Stars>,
    pub next_due_on: Option<NaiveDate>,
    pub open_hazards: u32,
    pub blacklisted: bool,
    pub last_inspected_at: Option<DateTime<Utc>>,
}

impl Archive {
    /// Builds the list indexes a bootstrap pull dropped, and says whether it had to. The sync
    /// client calls it after each sync, off the sync's path; opening the archive does too. When the
    /// indexes are there it only reads, so it does not wait for the writer.
    pub fn ensure_list_indexes(&self) -> StoreResult<bool> {
        let present = self.read(|c| {
            for name in schema::LIST_INDEX_NAMES {
                if !index_exists(c, name)? {
                    return Ok(false);
                }
            }
            Ok(true)
        })?;
        if present {
            return Ok(false);
        }
        self.write(|tx| Ok(tx.execute_batch(schema::LIST_INDEXES)?))?;
        Ok(true)
    }

    /// A page of buildings matching `filter`, riskiest first, and the request for the next page
    /// (`None` when this was the last).
    pub fn building_list(
        &self,
        filter: &BuildingFilter,
        page: &Page,
    ) -> StoreResult<(Vec<BuildingSummary>, Option<Page>)> {
        if page.limit == 0 || page.limit > Page::MAX_LIMIT {
            return Err(StoreError::BadPageLimit {
                got: page.limit,
                max: Page::MAX_LIMIT,
            });
        }
        self.read(|conn| {
            // A bootstrap leaves the list indexes dropped until the sync's upkeep or the next open
            // builds them: meanwhile the list answers by scanning (ADR 0046).
            let pinned = index_exists(conn, list_index(filter))?;
            let (sql, params) = list_query(filter, page, pinned);
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
            let mut out = Vec::new();
            let mut last_key = None;
            let mut more = false;
            while let Some(row) = rows.next()? {
                if out.len() == page.limit as usize {
                    more = true;
                    break;
                }
                last_key = Some(row.get::<_, String>(11)?);
                out.push(summary_from_row(row)?);
            }
            let next = match (more, last_key) {
                (true, Some(key)) => Some(Page {
                    limit: page.limit,
                    after: Some(key),
                }),
                _ => None,
            };
            Ok((out, next))
        })
    }
}

fn index_exists(conn: &rusqlite::Connection, name: &str) -> StoreResult<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?1)",
        )?
        .query_row([name], |r| r.get(0))?)
}

/// The list index that serves `filter`.
fn list_index(filter: &BuildingFilter) -> &'static str {
    // A blacklist is short (a few hundred buildings district-wide): for anything wider than a grid,
    // walking the partial blacklist index and checking the scope beats walking the scope's index.
    match (&filter.scope, filter.blacklisted_only) {
        (Scope::Grid(_), _) => "buildings_grid_risk",
        (_, true) => "buildings_blacklisted_risk",
        (Scope::Community(_), _) => "buildings_community_risk",
        (Scope::Street(_), _) => "buildings_street_risk",
        (Scope::District, _) => "buildings_risk",
    }
}

/// The SQL and parameters for one page. With `pin_index`, the index is pinned with INDEXED BY so
/// the plan is an index range scan in risk order whatever the statistics say (a test checks the
/// plan).
pub(crate) fn list_query(
    filter: &BuildingFilter,
    page: &Page,
    pin_index: bool,
) -> (String, Vec<Value>) {
    let mut sql = String::from(
        "SELECT code, address, lat, lon, street, community, grid, stars, next_due_on, \
         open_hazards, blacklisted, risk_key, last_inspected_at FROM buildings ",
    );
    let mut conds: Vec<String> = Vec::new();
    let mut params: Vec<Value> = Vec::new();
    match &filter.scope {
        Scope::Grid(id) => {
            conds.push("grid = ?".to_owned());
            params.push(Value::Text(id.0.clone()));
        }
        Scope::Community(id) => {
            conds.push("community = ?".to_owned());
            params.push(Value::Text(id.0.clone()));
        }
        Scope::Street(id) => {
            conds.push("street = ?".to_owned());
            params.push(Value::Text(id.0.clone()));
        }
        Scope::District => {}
    }
    if pin_index {
        sql.push_str("INDEXED BY ");
        sql.push_str(list_index(filter));
    }
    // Star, due-date and hazard filters are ranges on and parts of the key (layout and shared
    // criteria: `risk`): the key is in the index, so rows that fail are skipped without reading
    // the table.
    let criteria = ListCriteria::from(filter);
    let mut bind = |v: String| {
        params.push(Value::Text(v));
        "?".to_owned()
    };
    let key_conds = criteria.sql_conditions(
        "risk_key",
        "blacklisted = 1",
        page.after.as_deref(),
        &mut bind,
    );
    conds.extend(key_conds);
    if !conds.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conds.join(" AND "));
    }
    sql.push_str(" ORDER BY risk_key LIMIT ?");
    params.push(Value::Integer(i64::from(page.limit) + 1));
    (sql, params)
}

fn summary_from_row(row: &rusqlite::Row<'_>) -> StoreResult<BuildingSummary> {
    let code: String = row.get(0)?;
    Ok(BuildingSummary {
        code: parse_code(&code)?,
        address: row.get(1)?,
        location: GeoPoint {
            lat: row.get(2)?,
            lon: row.get(3)?,
        },
        street: StreetId(row.get(4)?),
        community: CommunityId(row.get(5)?),
        grid: GridId(row.get(6)?),
        stars: row
            .get::<_, Option<u8>>(7)?
            .map(Stars::new)
            .transpose()
            .map_err(|_| StoreError::corrupt("stored stars out of range"))?,
        next_due_on: row
            .get::<_, Option<String>>(8)?
            .map(|d| parse_date(&d))
            .transpose()?,
        open_hazards: sql_to_u32(row.get(9)?, "open hazard count")?,
        blacklisted: row.get(10)?,
        last_inspected_at: row
            .get::<_, Option<String>>(12)?
            .map(|t| parse_time(&t))
            .transpose()?,
    })
}
