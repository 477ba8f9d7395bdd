//! The officer's lists over the archive: one SQL shape for both engines. Each engine keeps the
//! core's risk key ([`gridwalk_core::store::risk`]) as a generated column of `buildings`, indexed
//! alone and after each place column, so a page is an index range scan in risk order with the
//! list's criteria tested on the key.

use gridwalk_core::protocol::Scope;
use gridwalk_core::store::risk::ListCriteria;
use gridwalk_core::{Building, CommunityId, GridId, StreetId};

/// One page of a list, in the caller's scope.
#[derive(Debug, Clone)]
pub struct ListParams {
    /// The caller's scope: nothing outside it is ever read.
    pub scope: Scope,
    /// Narrowing filters (within the scope; a place outside it matches nothing).
    pub grid: Option<GridId>,
    pub community: Option<CommunityId>,
    pub street: Option<StreetId>,
    pub criteria: ListCriteria,
    /// The previous page's last key.
    pub after: Option<String>,
    pub limit: u32,
}

/// A page of buildings, riskiest first.
#[derive(Debug, Clone, Default)]
pub struct ListRows {
    pub buildings: Vec<Building>,
    /// The key to continue after; `None` on the last page.
    pub next_after: Option<String>,
}

/// How the two engines spell what differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// A page query: text parameters in placeholder order, then the row limit (`limit + 1`, to see
/// whether another page follows) as the last parameter.
#[derive(Debug, Clone)]
pub(crate) struct ListSql {
    pub sql: String,
    pub texts: Vec<String>,
    pub fetch: i64,
}

pub(crate) fn list_sql(p: &ListParams, dialect: Dialect) -> ListSql {
    let mut texts: Vec<String> = Vec::new();
    let mut bind = |v: String| {
        texts.push(v);
        match dialect {
            Dialect::Sqlite => format!("?{}", texts.len()),
            Dialect::Postgres => format!("${}::text", texts.len()),
        }
    };
    let mut conds = vec![match dialect {
        Dialect::Sqlite => "removed = 0".to_owned(),
        Dialect::Postgres => "NOT removed".to_owned(),
    }];
    let mut places: Vec<(&'static str, &str)> = Vec::new();
    match &p.scope {
        Scope::Grid(g) => places.push(("grid", g.as_str())),
        Scope::Community(c) => places.push(("community", c.as_str())),
        Scope::Street(s) => places.push(("street", s.as_str())),
        Scope::District => {}
    }
    places.extend(p.grid.as_ref().map(|g| ("grid", g.as_str())));
    places.extend(p.community.as_ref().map(|c| ("community", c.as_str())));
    places.extend(p.street.as_ref().map(|s| ("street", s.as_str())));
    for (column, value) in &places {
        conds.push(format!("{column} = {}", bind((*value).to_owned())));
    }
    let blacklisted = match dialect {
        Dialect::Sqlite => "blacklisted = 1",
        Dialect::Postgres => "blacklisted",
    };
    conds.extend(
        p.criteria
            .sql_conditions("risk_key", blacklisted, p.after.as_deref(), &mut bind),
    );
    let limit = match dialect {
        Dialect::Sqlite => format!("?{}", texts.len() + 1),
        Dialect::Postgres => format!("${}::int8", texts.len() + 1),
    };
    // SQLite's planner without statistics may walk a place's sequence index and sort; the
    // narrowest place's risk index is always the right walk (as on the phone).
    let index = match dialect {
        Dialect::Postgres => String::new(),
        Dialect::Sqlite => {
            let narrowest = ["grid", "community", "street"]
                .into_iter()
                .find(|c| places.iter().any(|(column, _)| column == c));
            match (narrowest, p.criteria.blacklisted_only) {
                (Some("grid"), _) => " INDEXED BY buildings_grid_risk".to_owned(),
                // A blacklist is short: walking it beats walking a community's or street's list.
                (_, true) => " INDEXED BY buildings_blacklisted_risk".to_owned(),
                (Some(c), false) => format!(" INDEXED BY buildings_{c}_risk"),
                (None, false) => " INDEXED BY buildings_risk".to_owned(),
            }
        }
    };
    let sql = format!(
        "SELECT data, risk_key FROM buildings{index} WHERE {} ORDER BY risk_key LIMIT {limit}",
        conds.join(" AND ")
    );
    ListSql {
        sql,
        texts,
        fetch: i64::from(p.limit) + 1,
    }
}
