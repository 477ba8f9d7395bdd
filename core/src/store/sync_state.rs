//! What the phone remembers about syncing: who is logged in (with the bearer token, kept in the
//! archive so it is encrypted exactly when the archive is), where the last pull stopped, the push
//! numbering, and how the last sync ended. One row, `sync_state`.

use std::fmt;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use crate::protocol::{Cursor, LoginResponse, Role, Scope};

use super::Archive;
use super::codec::{parse_time, time_text};
use super::error::{StoreError, StoreResult};
use super::outbox::UNANSWERED;

/// The account the phone is logged in with.
#[derive(Clone, PartialEq, Eq)]
pub struct SyncSession {
    pub server_url: String,
    pub username: String,
    pub role: Role,
    pub scope: Scope,
    /// Bearer token; never printed by `Debug`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for SyncSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncSession")
            .field("server_url", &self.server_url)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("scope", &self.scope)
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The stored sync state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncState {
    /// The last account that logged in on this phone (kept when its token is dropped, so the app
    /// can offer "log in again as …").
    pub username: Option<String>,
    pub server_url: Option<String>,
    /// Present while the phone holds a token the server has not refused.
    pub session: Option<SyncSession>,
    /// The server refused the token (expired, revoked): the worker must log in again. Nothing
    /// recorded is affected.
    pub login_required: bool,
    /// Where the next pull continues; `None`: from the beginning.
    pub pull_cursor: Option<Cursor>,
    /// The last per-device push number given to an outbox entry.
    pub last_push_seq: u64,
    pub server_catalog_version: Option<u32>,
    pub server_policy_version: Option<u32>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

/// What waits to be synced, for the worker's status line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncCounts {
    /// Records with a version not yet answered by the server (pending or in flight).
    pub pending_records: u64,
    /// Of those, handed to a push that has not been answered yet.
    pub in_flight_records: u64,
    /// Records the server refused (latest version), see [`Archive::rejected_records`].
    pub rejected_records: u64,
    /// Photos not yet known to be on the server.
    pub pending_photos: u64,
}

impl Archive {
    pub fn sync_state(&self) -> StoreResult<SyncState> {
        self.read(read_state)
    }

    pub fn sync_counts(&self) -> StoreResult<SyncCounts> {
        let pending_photos = self.pending_photo_count()?;
        self.read(|conn| {
            let (pending, in_flight): (i64, i64) = conn.query_row(
                "SELECT count(DISTINCT o.record_id), \
                 count(DISTINCT CASE WHEN o.push_seq <= s.claimed_push_seq THEN o.record_id END) \
                 FROM outbox o CROSS JOIN sync_state s \
                 WHERE o.state = 'pending' AND o.push_seq > s.answered_push_seq",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let rejected = super::sync_push::rejected_records(conn)?.len() as u64;
            Ok(SyncCounts {
                pending_records: pending.unsigned_abs(),
                in_flight_records: in_flight.unsigned_abs(),
                rejected_records: rejected,
                pending_photos,
            })
        })
    }

    /// Keeps a successful login. A login to another server, or as another account, starts pulling
    /// from the beginning (the old cursor means nothing there). Refused with
    /// [`StoreError::UnsyncedRecordsOfAnotherWorker`] while records of another worker still wait to
    /// be pushed: they can only be sent under their own account.
    pub fn save_login(&self, server_url: &str, login: &LoginResponse) -> StoreResult<()> {
        self.write(|tx| {
            let others = unsynced_workers_other_than(tx, &login.user.username)?;
            if let Some(worker) = others.into_iter().next() {
                return Err(StoreError::UnsyncedRecordsOfAnotherWorker { worker });
            }
            let (old_url, old_user): (Option<String>, Option<String>) = tx.query_row(
                "SELECT server_url, username FROM sync_state WHERE singleton = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let same_place = old_url.as_deref() == Some(server_url)
                && old_user.as_deref() == Some(login.user.username.as_str());
            make_room_for_server_numbers(tx, login.device_last_seq)?;
            tx.execute(
                "UPDATE sync_state SET server_url = ?1, username = ?2, role = ?3, scope = ?4, \
                 token = ?5, token_expires_at = ?6, login_required = 0, \
                 pull_cursor = CASE WHEN ?7 THEN pull_cursor ELSE NULL END \
                 WHERE singleton = 1",
                rusqlite::params![
                    server_url,
                    login.user.username,
                    login.user.role.as_str(),
                    login.user.scope.to_string(),
                    login.token,
                    time_text(login.expires_at),
                    same_place,
                ],
            )?;
            Ok(())
        })
    }

    /// The server refused the token: drop it and ask for a new login. Everything recorded, the
    /// outbox and the pull cursor stay.
    pub fn require_login(&self, reason: &str) -> StoreResult<()> {
        let now = time_text(self.clock.now());
        self.write(|tx| {
            tx.execute(
                "UPDATE sync_state SET token = NULL, token_expires_at = NULL, login_required = 1, \
                 last_error = ?1, last_error_at = ?2 WHERE singleton = 1",
                (reason, &now),
            )?;
            Ok(())
        })
    }

    /// Forgets the token (the worker logged out); the rest stays.
    pub fn logout(&self) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE sync_state SET token = NULL, token_expires_at = NULL, login_required = 0 \
                 WHERE singleton = 1",
                [],
            )?;
            Ok(())
        })
    }

    /// A sync ran to the end.
    pub fn record_sync_success(&self) -> StoreResult<()> {
        let now = time_text(self.clock.now());
        // Bookkeeping: a power cut that undoes it only shows an older "last synced".
        self.write_unflushed(|tx| {
            tx.execute(
                "UPDATE sync_state SET last_success_at = ?1, last_error = NULL, \
                 last_error_at = NULL WHERE singleton = 1",
                [&now],
            )?;
            Ok(())
        })
    }

    /// A sync stopped early; `message` is what the worker is shown.
    pub fn record_sync_error(&self, message: &str) -> StoreResult<()> {
        let now = time_text(self.clock.now());
        self.write(|tx| {
            tx.execute(
                "UPDATE sync_state SET last_error = ?1, last_error_at = ?2 WHERE singleton = 1",
                (message, &now),
            )?;
            Ok(())
        })
    }
}

pub(crate) fn read_state(conn: &Connection) -> StoreResult<SyncState> {
    let row = conn
        .query_row(
            "SELECT server_url, username, role, scope, token, token_expires_at, login_required, \
             pull_cursor, last_push_seq, server_catalog_version, server_policy_version, \
             last_success_at, last_error, last_error_at FROM sync_state WHERE singleton = 1",
            [],
            |r| {
                Ok((
                    (
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, bool>(6)?,
                    ),
                    (
                        r.get::<_, Option<String>>(7)?,
                        r.get::<_, i64>(8)?,
                        r.get::<_, Option<u32>>(9)?,
                        r.get::<_, Option<u32>>(10)?,
                        r.get::<_, Option<String>>(11)?,
                        r.get::<_, Option<String>>(12)?,
                        r.get::<_, Option<String>>(13)?,
                    ),
                ))
            },
        )
        .optional()?
        .ok_or_else(|| StoreError::corrupt("the sync state row is missing"))?;
    let ((url, user, role, scope, token, expires, login_required), rest) = row;
    let (cursor, last_push_seq, catalog_v, policy_v, success, error, error_at) = rest;
    let session = match (&url, &user, role, scope, token, expires) {
        (Some(url), Some(user), Some(role), Some(scope), Some(token), Some(expires)) => {
            Some(SyncSession {
                server_url: url.clone(),
                username: user.clone(),
                role: Role::parse(&role)
                    .ok_or_else(|| StoreError::corrupt("the stored role is unknown"))?,
                scope: Scope::parse(&scope)
                    .ok_or_else(|| StoreError::corrupt("the stored scope is malformed"))?,
                token,
                expires_at: parse_time(&expires)?,
            })
        }
        _ => None,
    };
    Ok(SyncState {
        username: user,
        server_url: url,
        session,
        login_required,
        pull_cursor: cursor.filter(|c| !c.is_empty()).map(Cursor),
        last_push_seq: last_push_seq.unsigned_abs(),
        server_catalog_version: catalog_v,
        server_policy_version: policy_v,
        last_success_at: success.map(|t| parse_time(&t)).transpose()?,
        last_error: error,
        last_error_at: error_at.map(|t| parse_time(&t)).transpose()?,
    })
}

/// The server holds this device's numbers up to `server_last`, beyond any the phone ever sent (an
/// archive restored from an older copy): the entries never sent are renumbered after them, so no
/// number the server holds is given to another record.
fn make_room_for_server_numbers(tx: &Transaction<'_>, server_last: u64) -> StoreResult<()> {
    let (sent, last): (i64, i64) = tx.query_row(
        "SELECT sent_push_seq, last_push_seq FROM sync_state WHERE singleton = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let exhausted = || StoreError::PushNumbersExhausted { server_last };
    let server_last = i64::try_from(server_last).map_err(|_| exhausted())?;
    if server_last <= sent {
        return Ok(());
    }
    let shift = server_last - sent;
    // Every number the phone has given, moved past the server's, must still be a number.
    last.checked_add(shift).ok_or_else(exhausted)?;
    let unsent: Vec<i64> = tx
        .prepare("SELECT seq FROM outbox WHERE push_seq > ?1 ORDER BY push_seq DESC")?
        .query_map([sent], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    // Highest first: a number never lands on one not yet moved.
    let mut renumber = tx.prepare("UPDATE outbox SET push_seq = push_seq + ?2 WHERE seq = ?1")?;
    for seq in unsent {
        renumber.execute((seq, shift))?;
    }
    tx.execute(
        "UPDATE sync_state SET sent_push_seq = ?1, last_push_seq = last_push_seq + ?2 \
         WHERE singleton = 1",
        (server_last, shift),
    )?;
    Ok(())
}

/// Workers (other than `username`) named by outbox entries that still wait to be pushed.
fn unsynced_workers_other_than(tx: &Transaction<'_>, username: &str) -> StoreResult<Vec<String>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT DISTINCT json_extract(p.payload_json, '$.worker') \
         FROM outbox o JOIN outbox_payloads p ON p.seq = o.seq \
         WHERE {UNANSWERED} \
         AND json_extract(p.payload_json, '$.worker') IS NOT ?1"
    ))?;
    let rows = stmt.query_map([username], |r| r.get::<_, Option<String>>(0))?;
    let mut out = Vec::new();
    for w in rows {
        out.push(w?.unwrap_or_default());
    }
    Ok(out)
}
