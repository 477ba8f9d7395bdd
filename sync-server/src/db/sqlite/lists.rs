//! The officer's lists on SQLite (the query: [`crate::db::lists`]).

use rusqlite::Connection;
use rusqlite::types::Value;

use crate::db::DbError;
use crate::db::codec::parse_building;
use crate::db::lists::{Dialect, ListParams, ListRows, list_sql};

pub fn officer_list(c: &mut Connection, p: &ListParams) -> Result<ListRows, DbError> {
    let q = list_sql(p, Dialect::Sqlite);
    let mut params: Vec<Value> = q.texts.into_iter().map(Value::Text).collect();
    params.push(Value::Integer(q.fetch));
    let mut st = c.prepare_cached(&q.sql)?;
    let mut rows = st.query(rusqlite::params_from_iter(params))?;
    let mut out = ListRows::default();
    let mut last_key = None;
    while let Some(row) = rows.next()? {
        if out.buildings.len() == p.limit as usize {
            out.next_after = last_key;
            break;
        }
        out.buildings
            .push(parse_building(&row.get::<_, String>(0)?)?);
        last_key = Some(row.get::<_, String>(1)?);
    }
    Ok(out)
}
