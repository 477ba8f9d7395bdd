//! The append-only audit log on SQLite (triggers refuse UPDATE and DELETE).

use gridwalk_core::protocol::{AuditEntry, Role};
use rusqlite::{Connection, params};

use super::{from_ms, ms};
use crate::db::DbError;
use crate::db::audit::{AuditFilter, NewAuditEntry};
use crate::db::codec::{parse_device, parse_role, parse_scope};

pub fn append(c: &Connection, e: &NewAuditEntry) -> Result<(), DbError> {
    c.prepare_cached(
        "INSERT INTO audit_log (at, username, device_id, role, scope_level, scope_id, action,
             target, personal_data, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        ms(e.at),
        e.user,
        e.device.as_ref().map(|d| d.as_str()),
        e.role.map(Role::as_str),
        e.scope.as_ref().map(|s| s.level()),
        e.scope.as_ref().and_then(|s| s.id()),
        e.action,
        e.target,
        e.personal_data,
        e.status
    ])?;
    Ok(())
}

type Raw = (
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    bool,
    u16,
);

pub fn page(c: &mut Connection, f: &AuditFilter) -> Result<(Vec<AuditEntry>, bool), DbError> {
    let mut st = c.prepare_cached(
        "SELECT id, at, username, device_id, role, scope_level, scope_id, action, target,
                personal_data, status
         FROM audit_log
         WHERE id > ?1
           AND (?2 IS NULL OR username = ?2)
           AND (?3 IS NULL OR at >= ?3)
           AND (?4 IS NULL OR at < ?4)
           AND (?5 IS NULL OR action = ?5)
           AND (?6 IS NULL OR personal_data = ?6)
         ORDER BY id LIMIT ?7",
    )?;
    let rows = st.query_map(
        params![
            f.after_id,
            f.user,
            f.from.map(ms),
            f.to.map(ms),
            f.action,
            f.personal,
            i64::from(f.limit) + 1
        ],
        |r| -> rusqlite::Result<Raw> {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
                r.get(10)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (id, at, user, device, role, level, scope_id, action, target, personal, status) = row?;
        out.push(AuditEntry {
            id,
            at: from_ms(at)?,
            user,
            device: device.as_deref().map(parse_device).transpose()?,
            role: role.as_deref().map(parse_role).transpose()?,
            scope: level
                .as_deref()
                .map(|l| parse_scope(l, scope_id.as_deref()))
                .transpose()?,
            action,
            target,
            personal_data: personal,
            status,
        });
    }
    let more = out.len() > f.limit as usize;
    out.truncate(f.limit as usize);
    Ok((out, more))
}
