//! The append-only audit log on PostgreSQL (a trigger refuses UPDATE, DELETE and TRUNCATE).

use deadpool_postgres::{Client, GenericClient};
use gridwalk_core::protocol::{AuditEntry, Role};

use crate::db::DbError;
use crate::db::audit::{AuditFilter, NewAuditEntry};
use crate::db::codec::{parse_device, parse_role, parse_scope};

pub async fn append(c: &impl GenericClient, e: &NewAuditEntry) -> Result<(), DbError> {
    let st = c
        .prepare_cached(
            "INSERT INTO audit_log (at, username, device_id, role, scope_level, scope_id, action,
                 target, personal_data, status)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .await?;
    c.execute(
        &st,
        &[
            &e.at,
            &e.user,
            &e.device.as_ref().map(|d| d.as_str()),
            &e.role.map(Role::as_str),
            &e.scope.as_ref().map(|s| s.level()),
            &e.scope.as_ref().and_then(|s| s.id()),
            &e.action,
            &e.target,
            &e.personal_data,
            &i32::from(e.status),
        ],
    )
    .await?;
    Ok(())
}

pub async fn page(c: &Client, f: &AuditFilter) -> Result<(Vec<AuditEntry>, bool), DbError> {
    let rows = c
        .query(
            "SELECT id, at, username, device_id, role, scope_level, scope_id, action, target,
                    personal_data, status
             FROM audit_log
             WHERE id > $1
               AND ($2::text IS NULL OR username = $2::text)
               AND ($3::timestamptz IS NULL OR at >= $3::timestamptz)
               AND ($4::timestamptz IS NULL OR at < $4::timestamptz)
               AND ($5::text IS NULL OR action = $5::text)
               AND ($6::bool IS NULL OR personal_data = $6::bool)
             ORDER BY id LIMIT $7",
            &[
                &f.after_id,
                &f.user,
                &f.from,
                &f.to,
                &f.action,
                &f.personal,
                &(i64::from(f.limit) + 1),
            ],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let device: Option<String> = r.try_get(3)?;
        let role: Option<String> = r.try_get(4)?;
        let level: Option<String> = r.try_get(5)?;
        let scope_id: Option<String> = r.try_get(6)?;
        let status: i32 = r.try_get(10)?;
        out.push(AuditEntry {
            id: r.try_get(0)?,
            at: r.try_get(1)?,
            user: r.try_get(2)?,
            device: device.as_deref().map(parse_device).transpose()?,
            role: role.as_deref().map(parse_role).transpose()?,
            scope: level
                .as_deref()
                .map(|l| parse_scope(l, scope_id.as_deref()))
                .transpose()?,
            action: r.try_get(7)?,
            target: r.try_get(8)?,
            personal_data: r.try_get(9)?,
            status: u16::try_from(status)
                .map_err(|_| DbError::Corrupt(format!("audit status {status}")))?,
        });
    }
    let more = out.len() > f.limit as usize;
    out.truncate(f.limit as usize);
    Ok((out, more))
}
