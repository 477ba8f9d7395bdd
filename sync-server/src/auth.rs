//! Accounts: argon2id password hashes, bearer tokens bound to a device, expiry and revocation.
//!
//! Tokens are 32 random bytes; only their SHA-256 is stored, so a copy of the database does not
//! hand out working tokens.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Duration, Utc};
use gridwalk_core::protocol::{DeviceId, LoginRequest, LoginResponse, Role, Scope, UserInfo};
use sha2::{Digest, Sha256};

use crate::config::PasswordHashParams;
use crate::db::{Database, DbError, NewSession, NewUser};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown user, wrong password or disabled account: one answer for all three.
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("missing bearer token (send `Authorization: Bearer <token>`)")]
    MissingToken,
    #[error("the bearer token is not recognised; log in again")]
    UnknownToken,
    #[error("the token expired at {0}; log in again")]
    Expired(DateTime<Utc>),
    #[error("the token has been revoked; log in again")]
    Revoked,
    #[error("username must be 1 to 64 characters of letters, digits, '.', '_' or '-'")]
    BadUsername,
    #[error("password must be at least {0} characters")]
    WeakPassword(usize),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

pub const MIN_PASSWORD_LEN: usize = 8;

/// Who is calling, established from a bearer token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub username: String,
    pub role: Role,
    pub scope: Scope,
    /// The device the token was issued to.
    pub device: DeviceId,
    pub token_hash: String,
}

/// Hashes and verifies passwords. Verification of unknown users runs against a dummy hash so
/// that "no such user" takes as long as "wrong password".
#[derive(Debug)]
pub struct Passwords {
    params: Params,
    dummy: String,
}

impl Passwords {
    pub fn new(p: &PasswordHashParams) -> Result<Self, AuthError> {
        let params = Params::new(p.memory_kib, p.iterations, p.parallelism, None)
            .map_err(|e| AuthError::Hash(e.to_string()))?;
        let mut me = Self {
            params,
            dummy: String::new(),
        };
        me.dummy = me.hash("not a real password")?;
        Ok(me)
    }

    fn argon(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// A PHC string (`$argon2id$v=19$m=…`). CPU-heavy: call from a blocking thread.
    pub fn hash(&self, password: &str) -> Result<String, AuthError> {
        let mut salt = [0u8; 16];
        rand::fill(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| AuthError::Hash(e.to_string()))?;
        Ok(self
            .argon()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| AuthError::Hash(e.to_string()))?
            .to_string())
    }

    /// Whether `password` matches `phc` (or, with `None`, burns the same time and says no).
    pub fn verify(&self, password: &str, phc: Option<&str>) -> bool {
        let target = phc.unwrap_or(&self.dummy);
        let Ok(parsed) = PasswordHash::new(target) else {
            return false;
        };
        let ok = self
            .argon()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        ok && phc.is_some()
    }
}

pub fn valid_username(u: &str) -> bool {
    !u.is_empty()
        && u.len() <= 64
        && u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A fresh bearer token: 32 random bytes, hex, with a recognisable prefix.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let mut s = String::from("gwt_");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AuthError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// Creates an account (the admin command).
pub async fn add_user<D: Database>(
    db: &D,
    passwords: Arc<Passwords>,
    username: &str,
    password: String,
    role: Role,
    scope: Scope,
) -> Result<(), AuthError> {
    if !valid_username(username) {
        return Err(AuthError::BadUsername);
    }
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(AuthError::WeakPassword(MIN_PASSWORD_LEN));
    }
    let password_hash = blocking(move || passwords.hash(&password)).await??;
    db.add_user(NewUser {
        username: username.to_owned(),
        password_hash,
        role,
        scope,
    })
    .await?;
    Ok(())
}

/// Checks the password and issues a token bound to the request's device.
pub async fn login<D: Database>(
    db: &D,
    passwords: Arc<Passwords>,
    req: LoginRequest,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<LoginResponse, AuthError> {
    let user = db.user(&req.username).await?;
    let phc = user.as_ref().map(|u| u.password_hash.clone());
    let password = req.password;
    let ok = blocking(move || passwords.verify(&password, phc.as_deref())).await?;
    let user = match user {
        Some(u) if ok && !u.disabled => u,
        _ => return Err(AuthError::InvalidCredentials),
    };
    let token = new_token();
    let expires_at = now + ttl;
    db.create_session(NewSession {
        token_hash: token_hash(&token),
        username: user.username.clone(),
        device: req.device_id.clone(),
        created_at: now,
        expires_at,
    })
    .await?;
    let device_last_seq = db.device_last_seq(&req.device_id).await?;
    Ok(LoginResponse {
        token,
        expires_at,
        user: UserInfo {
            username: user.username,
            role: user.role,
            scope: user.scope,
        },
        device_last_seq,
    })
}

/// Resolves a bearer token to its caller, with the user's current role and scope.
pub async fn authenticate<D: Database>(
    db: &D,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Caller, AuthError> {
    let hash = token_hash(token);
    let s = db.session(&hash).await?.ok_or(AuthError::UnknownToken)?;
    if s.revoked_at.is_some() || s.user_disabled {
        return Err(AuthError::Revoked);
    }
    if s.expires_at <= now {
        return Err(AuthError::Expired(s.expires_at));
    }
    Ok(Caller {
        username: s.username,
        role: s.role,
        scope: s.scope,
        device: s.device,
        token_hash: hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_tokens_are_unique() {
        let p = Passwords::new(&PasswordHashParams {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        })
        .expect("params");
        let h = p.hash("correct horse").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(p.verify("correct horse", Some(&h)));
        assert!(!p.verify("wrong horse", Some(&h)));
        assert!(
            !p.verify("not a real password", None),
            "dummy never matches"
        );
        assert_ne!(new_token(), new_token());
        assert_eq!(token_hash("x").len(), 64);
        assert!(valid_username("w-S01C01G001"));
        assert!(!valid_username("a b"));
        assert!(!valid_username(""));
    }
}
