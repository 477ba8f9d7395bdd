//! The audit log's rows as they cross the storage trait (see `crate::audit`).

use chrono::{DateTime, Utc};
use gridwalk_core::protocol::{DeviceId, Role, Scope};

/// One audit row to append. Ids only: never names, phone numbers or record contents.
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub at: DateTime<Utc>,
    pub user: Option<String>,
    pub device: Option<DeviceId>,
    pub role: Option<Role>,
    pub scope: Option<Scope>,
    pub action: String,
    pub target: String,
    pub personal_data: bool,
    pub status: u16,
}

/// A page request of the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub user: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub action: Option<String>,
    pub personal: Option<bool>,
    /// Entries with an id strictly after this one.
    pub after_id: i64,
    pub limit: u32,
}
