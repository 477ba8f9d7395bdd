//! The officer's lists on PostgreSQL (the query: [`crate::db::lists`]).

use deadpool_postgres::Client;
use tokio_postgres::types::ToSql;

use crate::db::DbError;
use crate::db::codec::parse_building;
use crate::db::lists::{Dialect, ListParams, ListRows, list_sql};

pub async fn officer_list(c: &Client, p: &ListParams) -> Result<ListRows, DbError> {
    let q = list_sql(p, Dialect::Postgres);
    let mut params: Vec<&(dyn ToSql + Sync)> =
        q.texts.iter().map(|t| t as &(dyn ToSql + Sync)).collect();
    params.push(&q.fetch);
    let sql = q.sql.replacen("SELECT data,", "SELECT data::text,", 1);
    let rows = c.query(&sql, &params).await?;
    let mut out = ListRows::default();
    let mut last_key = None;
    for r in &rows {
        if out.buildings.len() == p.limit as usize {
            out.next_after = last_key;
            break;
        }
        out.buildings
            .push(parse_building(&r.try_get::<_, String>(0)?)?);
        last_key = Some(r.try_get::<_, String>(1)?);
    }
    Ok(out)
}
