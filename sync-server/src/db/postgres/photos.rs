use deadpool_postgres::Client;
use gridwalk_core::Sha256Hex;
use gridwalk_core::protocol::{DeviceId, Scope};

use crate::db::DbError;
use crate::db::codec::{scope_sql, seq_i, seq_u};

pub async fn declared_size(
    c: &Client,
    sha: &Sha256Hex,
    username: &str,
) -> Result<Option<u64>, DbError> {
    let r = c
        .query_one(
            "SELECT min(rp.size_bytes) FROM record_photos rp
             JOIN records r ON r.record_id = rp.record_id
             WHERE rp.sha256 = $1 AND r.username = $2",
            &[&sha.as_str(), &username],
        )
        .await?;
    let v: Option<i64> = r.try_get(0)?;
    Ok(v.map(seq_u))
}

pub async fn visible(c: &Client, sha: &Sha256Hex, scope: &Scope) -> Result<bool, DbError> {
    let (pred, scope_val) = scope_sql(scope, "b.", "$2::text");
    let r = c
        .query_one(
            &format!(
                "SELECT EXISTS (SELECT 1 FROM record_photos rp
                     JOIN records r ON r.record_id = rp.record_id
                     JOIN buildings b ON b.code = r.building_code
                     WHERE rp.sha256 = $1 AND {pred})"
            ),
            &[&sha.as_str(), &scope_val],
        )
        .await?;
    Ok(r.try_get(0)?)
}

pub async fn stored(c: &Client, sha: &Sha256Hex) -> Result<bool, DbError> {
    let r = c
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM photos WHERE sha256 = $1)",
            &[&sha.as_str()],
        )
        .await?;
    Ok(r.try_get(0)?)
}

pub async fn mark_stored(c: &Client, sha: &Sha256Hex, size: u64) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO photos (sha256, size_bytes, stored_at) VALUES ($1, $2, now())
         ON CONFLICT (sha256) DO NOTHING",
        &[&sha.as_str(), &seq_i(size)],
    )
    .await?;
    Ok(())
}

pub async fn missing_for_device(c: &Client, device: &DeviceId) -> Result<Vec<Sha256Hex>, DbError> {
    let rows = c
        .query(
            "SELECT DISTINCT rp.sha256 FROM records r
             JOIN record_photos rp ON rp.record_id = r.record_id
             LEFT JOIN photos p ON p.sha256 = rp.sha256
             WHERE r.device_id = $1 AND p.sha256 IS NULL
             ORDER BY rp.sha256",
            &[&device.as_str()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let s: String = r.try_get(0)?;
            Sha256Hex::parse(&s).map_err(|e| DbError::Corrupt(e.to_string()))
        })
        .collect()
}
