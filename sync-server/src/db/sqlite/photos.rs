use gridwalk_core::Sha256Hex;
use gridwalk_core::protocol::{DeviceId, Scope};
use rusqlite::{Connection, named_params, params};

use super::ms;
use crate::db::DbError;
use crate::db::codec::{scope_sql, seq_i, seq_u};

pub fn declared_size(
    c: &mut Connection,
    sha: &Sha256Hex,
    username: &str,
) -> Result<Option<u64>, DbError> {
    let v: Option<i64> = c.query_row(
        "SELECT min(rp.size_bytes) FROM record_photos rp
         JOIN records r ON r.record_id = rp.record_id
         WHERE rp.sha256 = ?1 AND r.username = ?2",
        params![sha.as_str(), username],
        |r| r.get(0),
    )?;
    Ok(v.map(seq_u))
}

pub fn visible(c: &mut Connection, sha: &Sha256Hex, scope: &Scope) -> Result<bool, DbError> {
    let (pred, scope_val) = scope_sql(scope, "b.", ":scope");
    let v: bool = c.query_row(
        &format!(
            "SELECT EXISTS (SELECT 1 FROM record_photos rp
                 JOIN records r ON r.record_id = rp.record_id
                 JOIN buildings b ON b.code = r.building_code
                 WHERE rp.sha256 = :sha AND {pred})"
        ),
        named_params! {":sha": sha.as_str(), ":scope": scope_val},
        |r| r.get(0),
    )?;
    Ok(v)
}

pub fn stored(c: &mut Connection, sha: &Sha256Hex) -> Result<bool, DbError> {
    let v: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM photos WHERE sha256 = ?1)",
        [sha.as_str()],
        |r| r.get(0),
    )?;
    Ok(v)
}

pub fn mark_stored(c: &mut Connection, sha: &Sha256Hex, size: u64) -> Result<(), DbError> {
    c.execute(
        "INSERT OR IGNORE INTO photos (sha256, size_bytes, stored_at) VALUES (?1, ?2, ?3)",
        params![sha.as_str(), seq_i(size), ms(chrono::Utc::now())],
    )?;
    Ok(())
}

pub fn missing_for_device(
    c: &mut Connection,
    device: &DeviceId,
) -> Result<Vec<Sha256Hex>, DbError> {
    let mut st = c.prepare(
        "SELECT DISTINCT rp.sha256 FROM records r
         JOIN record_photos rp ON rp.record_id = r.record_id
         LEFT JOIN photos p ON p.sha256 = rp.sha256
         WHERE r.device_id = ?1 AND p.sha256 IS NULL
         ORDER BY rp.sha256",
    )?;
    let rows = st.query_map([device.as_str()], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for sha in rows {
        out.push(Sha256Hex::parse(&sha?).map_err(|e| DbError::Corrupt(e.to_string()))?);
    }
    Ok(out)
}
