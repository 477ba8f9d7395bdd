//! The audit log (审计): who wrote what, and who read personal data, as admins query it.
//!
//! Rows hold ids only (usernames, device ids, building codes, record ids, paths), never the
//! personal data itself.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{DeviceId, Role, Scope};

/// `GET /v1/audit?user=&from=&to=&action=&personal=&after=&limit=` (admins), oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Entries at or after this instant (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    /// Entries before this instant (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<DateTime<Utc>>,
    /// An exact action, e.g. `POST /v1/sync/push` or `GET /v1/buildings/{code}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Only reads of personal data (`true`) or only the rest (`false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal: Option<bool>,
    /// `next_after` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// One audit row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// The account, when the request carried a valid token (or logged in).
    pub user: Option<String>,
    pub device: Option<DeviceId>,
    pub role: Option<Role>,
    /// The account's scope when it acted.
    pub scope: Option<Scope>,
    /// The HTTP method and route template, e.g. `POST /v1/review/{record}`, or `CLI user add`.
    pub action: String,
    /// What was touched: the request path with its ids, or a description by ids.
    pub target: String,
    /// The answer carried personal data (building contacts, assessments of named people, the
    /// audit trail itself).
    pub personal_data: bool,
    /// The HTTP status of the answer (0 for a command-line action).
    pub status: u16,
}

/// A page of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub has_more: bool,
    #[serde(default)]
    pub next_after: Option<i64>,
}
