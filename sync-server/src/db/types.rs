//! The rows that cross the storage trait.

use chrono::{DateTime, Utc};
use gridwalk_core::protocol::{BuildingField, Change, DeviceId, RejectCode, Role, Scope};
use gridwalk_core::{Building, BuildingCode, PhotoRef, RecordId};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    /// PHC string (argon2id).
    pub password_hash: String,
    pub role: Role,
    pub scope: Scope,
}

#[derive(Debug, Clone)]
pub struct UserRow {
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub scope: Scope,
    pub disabled: bool,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    /// SHA-256 of the bearer token; the token itself is never stored.
    pub token_hash: String,
    pub username: String,
    pub device: DeviceId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A session joined with its user's current role and scope (a scope change applies at once).
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub username: String,
    pub device: DeviceId,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub role: Role,
    pub scope: Scope,
    pub user_disabled: bool,
}

/// Who pushes.
#[derive(Debug, Clone)]
pub struct PushCtx {
    pub username: String,
    pub scope: Scope,
    pub device: DeviceId,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct PullParams {
    pub username: String,
    pub scope: Scope,
    /// Changes strictly after this sequence number.
    pub after_seq: u64,
    pub limit: u32,
}

#[derive(Debug, Clone)]
pub struct PullPage {
    /// Changes in sequence order, each with its sequence number.
    pub changes: Vec<(u64, Change)>,
    pub has_more: bool,
}

impl PullPage {
    /// The sequence number to continue after.
    pub fn last_seq(&self, after_seq: u64) -> u64 {
        self.changes.last().map_or(after_seq, |(s, _)| *s)
    }
}

/// A pull page whose building files are the stored JSON text, unparsed: the HTTP answer copies
/// them into the response as they are. (Parsing 5,000 files only to write them out again was a
/// fifth of the server's work for a pull.)
#[derive(Debug, Clone)]
pub struct PullPageJson {
    /// Changes in sequence order, each with its sequence number.
    pub changes: Vec<(u64, ChangeJson)>,
    pub has_more: bool,
}

/// One change of a [`PullPageJson`].
#[derive(Debug, Clone)]
pub enum ChangeJson {
    /// A building file as the engine stores it (the JSON of a [`Building`]) and the JSON of its
    /// latest rating entry, if any.
    Building {
        data: String,
        rating: Option<String>,
    },
    Other(Change),
}

impl PullPageJson {
    /// The sequence number to continue after.
    pub fn last_seq(&self, after_seq: u64) -> u64 {
        self.changes.last().map_or(after_seq, |(s, _)| *s)
    }

    /// The typed page: every building file parsed.
    pub fn parse(self) -> Result<PullPage, super::DbError> {
        let changes = self
            .changes
            .into_iter()
            .map(|(seq, c)| {
                Ok((
                    seq,
                    match c {
                        ChangeJson::Building { data, rating } => Change::Building {
                            building: Box::new(super::codec::parse_building(&data)?),
                            rating: rating
                                .map(|e| super::rating_codec::parse_entry(&e).map(Box::new))
                                .transpose()?,
                        },
                        ChangeJson::Other(c) => c,
                    },
                ))
            })
            .collect::<Result<_, super::DbError>>()?;
        Ok(PullPage {
            changes,
            has_more: self.has_more,
        })
    }
}

#[derive(Debug, Clone)]
pub struct StoredBuilding {
    pub building: Building,
    /// Demolished or merged away (the file is kept; it no longer syncs to devices).
    pub removed: bool,
    pub seq: u64,
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub total: u64,
    pub inserted: u64,
    pub updated: u64,
    /// Updated buildings whose grid, community or street changed.
    pub reassigned: u64,
    pub unchanged: u64,
    pub dry_run: bool,
}

/// An accepted record as stored.
#[derive(Debug, Clone)]
pub struct NewRecord {
    pub id: RecordId,
    pub device: DeviceId,
    pub device_seq: u64,
    pub username: String,
    pub kind: &'static str,
    pub building: BuildingCode,
    /// The record's JSON (the payload of its `SyncRecord`).
    pub payload: String,
    pub photos: Vec<PhotoRef>,
    /// A building correction that lost against an earlier one.
    pub conflict: bool,
}

/// A refused record, kept so that resending it gets the same answer.
#[derive(Debug, Clone)]
pub struct NewRejection {
    pub id: RecordId,
    pub device_seq: u64,
    pub code: RejectCode,
    pub message: String,
}

/// A losing field correction, kept for review.
#[derive(Debug, Clone)]
pub struct NewConflict {
    pub record: RecordId,
    pub building: BuildingCode,
    pub field: BuildingField,
    pub seen: Value,
    pub proposed: Value,
    pub current: Value,
}
