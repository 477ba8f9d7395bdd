use chrono::{DateTime, Utc};
use gridwalk_core::protocol::DeviceId;
use rusqlite::{Connection, OptionalExtension, params};

use super::{from_ms, ms};
use crate::db::codec::{parse_device, parse_role, parse_scope, seq_u};
use crate::db::{DbError, NewSession, NewUser, SessionRow, UserRow};

pub fn add_user(c: &mut Connection, u: &NewUser) -> Result<(), DbError> {
    let res = c.execute(
        "INSERT INTO users (username, password_hash, role, scope_level, scope_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            u.username,
            u.password_hash,
            u.role.as_str(),
            u.scope.level(),
            u.scope.id(),
            ms(Utc::now())
        ],
    );
    match res {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(DbError::UserExists(u.username.clone()))
        }
        Err(e) => Err(e.into()),
    }
}

pub fn user(c: &mut Connection, username: &str) -> Result<Option<UserRow>, DbError> {
    let row = c
        .query_row(
            "SELECT username, password_hash, role, scope_level, scope_id, disabled
             FROM users WHERE username = ?1",
            [username],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, bool>(5)?,
                ))
            },
        )
        .optional()?;
    row.map(|(username, password_hash, role, level, id, disabled)| {
        Ok(UserRow {
            username,
            password_hash,
            role: parse_role(&role)?,
            scope: parse_scope(&level, id.as_deref())?,
            disabled,
        })
    })
    .transpose()
}

pub fn create_session(c: &mut Connection, s: &NewSession) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO sessions (token_hash, username, device_id, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            s.token_hash,
            s.username,
            s.device.as_str(),
            ms(s.created_at),
            ms(s.expires_at)
        ],
    )?;
    Ok(())
}

pub fn session(c: &mut Connection, token_hash: &str) -> Result<Option<SessionRow>, DbError> {
    let row = c
        .query_row(
            "SELECT s.username, s.device_id, s.expires_at, s.revoked_at,
                    u.role, u.scope_level, u.scope_id, u.disabled
             FROM sessions s JOIN users u ON u.username = s.username
             WHERE s.token_hash = ?1",
            [token_hash],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, bool>(7)?,
                ))
            },
        )
        .optional()?;
    row.map(
        |(username, device, expires, revoked, role, level, id, disabled)| {
            Ok(SessionRow {
                username,
                device: parse_device(&device)?,
                expires_at: from_ms(expires)?,
                revoked_at: revoked.map(from_ms).transpose()?,
                role: parse_role(&role)?,
                scope: parse_scope(&level, id.as_deref())?,
                user_disabled: disabled,
            })
        },
    )
    .transpose()
}

pub fn revoke_session(
    c: &mut Connection,
    token_hash: &str,
    at: DateTime<Utc>,
) -> Result<bool, DbError> {
    let n = c.execute(
        "UPDATE sessions SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL",
        params![token_hash, ms(at)],
    )?;
    Ok(n > 0)
}

pub fn revoke_user_sessions(
    c: &mut Connection,
    username: &str,
    at: DateTime<Utc>,
) -> Result<u64, DbError> {
    let n = c.execute(
        "UPDATE sessions SET revoked_at = ?2 WHERE username = ?1 AND revoked_at IS NULL",
        params![username, ms(at)],
    )?;
    Ok(n as u64)
}

pub fn device_last_seq(c: &mut Connection, device: &DeviceId) -> Result<u64, DbError> {
    let v: Option<i64> = c
        .query_row(
            "SELECT last_seq FROM devices WHERE device_id = ?1",
            [device.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(v.map_or(0, seq_u))
}
