use chrono::{DateTime, Utc};
use deadpool_postgres::Client;
use gridwalk_core::protocol::DeviceId;

use crate::db::codec::{parse_device, parse_role, parse_scope, seq_u};
use crate::db::{DbError, NewSession, NewUser, SessionRow, UserRow};

pub async fn add_user(c: &Client, u: &NewUser) -> Result<(), DbError> {
    let n = c
        .execute(
            "INSERT INTO users (username, password_hash, role, scope_level, scope_id, created_at)
             VALUES ($1, $2, $3, $4, $5, now())
             ON CONFLICT (username) DO NOTHING",
            &[
                &u.username,
                &u.password_hash,
                &u.role.as_str(),
                &u.scope.level(),
                &u.scope.id(),
            ],
        )
        .await?;
    if n == 0 {
        return Err(DbError::UserExists(u.username.clone()));
    }
    Ok(())
}

pub async fn user(c: &Client, username: &str) -> Result<Option<UserRow>, DbError> {
    let Some(r) = c
        .query_opt(
            "SELECT username, password_hash, role, scope_level, scope_id, disabled
             FROM users WHERE username = $1",
            &[&username],
        )
        .await?
    else {
        return Ok(None);
    };
    let role: String = r.try_get(2)?;
    let level: String = r.try_get(3)?;
    let id: Option<String> = r.try_get(4)?;
    Ok(Some(UserRow {
        username: r.try_get(0)?,
        password_hash: r.try_get(1)?,
        role: parse_role(&role)?,
        scope: parse_scope(&level, id.as_deref())?,
        disabled: r.try_get(5)?,
    }))
}

pub async fn create_session(c: &Client, s: &NewSession) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO sessions (token_hash, username, device_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &s.token_hash,
            &s.username,
            &s.device.as_str(),
            &s.created_at,
            &s.expires_at,
        ],
    )
    .await?;
    Ok(())
}

pub async fn session(c: &Client, token_hash: &str) -> Result<Option<SessionRow>, DbError> {
    let Some(r) = c
        .query_opt(
            "SELECT s.username, s.device_id, s.expires_at, s.revoked_at,
                    u.role, u.scope_level, u.scope_id, u.disabled
             FROM sessions s JOIN users u ON u.username = s.username
             WHERE s.token_hash = $1",
            &[&token_hash],
        )
        .await?
    else {
        return Ok(None);
    };
    let device: String = r.try_get(1)?;
    let role: String = r.try_get(4)?;
    let level: String = r.try_get(5)?;
    let id: Option<String> = r.try_get(6)?;
    Ok(Some(SessionRow {
        username: r.try_get(0)?,
        device: parse_device(&device)?,
        expires_at: r.try_get(2)?,
        revoked_at: r.try_get(3)?,
        role: parse_role(&role)?,
        scope: parse_scope(&level, id.as_deref())?,
        user_disabled: r.try_get(7)?,
    }))
}

pub async fn revoke_session(
    c: &Client,
    token_hash: &str,
    at: DateTime<Utc>,
) -> Result<bool, DbError> {
    let n = c
        .execute(
            "UPDATE sessions SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL",
            &[&token_hash, &at],
        )
        .await?;
    Ok(n > 0)
}

pub async fn revoke_user_sessions(
    c: &Client,
    username: &str,
    at: DateTime<Utc>,
) -> Result<u64, DbError> {
    Ok(c.execute(
        "UPDATE sessions SET revoked_at = $2 WHERE username = $1 AND revoked_at IS NULL",
        &[&username, &at],
    )
    .await?)
}

pub async fn device_last_seq(c: &Client, device: &DeviceId) -> Result<u64, DbError> {
    let r = c
        .query_opt(
            "SELECT last_seq FROM devices WHERE device_id = $1",
            &[&device.as_str()],
        )
        .await?;
    match r {
        Some(r) => Ok(seq_u(r.try_get(0)?)),
        None => Ok(0),
    }
}
