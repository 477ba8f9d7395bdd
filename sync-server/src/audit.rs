//! The audit log (审计): every write request, and every read that returns personal data, leaves
//! one append-only row with the account, device, time, scope, action and target (ids only).
//!
//! Writes are logged by the HTTP middleware (`http/audit.rs`) after the handler answered, with the
//! answer's status — except a push, whose row is appended inside the push's own transaction so it
//! commits exactly when the records do (ADR 0041). Reads of personal data are logged by the handler that returns it, through
//! [`personal_read`], *before* the data is sent: if the row cannot be written the read fails.
//!
//! Personal data here means the contacts of owners, managers and building heads (building files,
//! corrections of those fields), assessments of named workers, and the audit trail itself.

use chrono::Utc;
use gridwalk_core::protocol::{BuildingField, ConflictView, DeviceId, Role, Scope};

use crate::auth::Caller;
use crate::db::audit::NewAuditEntry;
use crate::db::{Database, DbError};

/// Who acted: the account behind a token, or the one that just logged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub username: String,
    pub device: DeviceId,
    pub role: Role,
    pub scope: Scope,
}

impl From<&Caller> for Actor {
    fn from(c: &Caller) -> Self {
        Actor {
            username: c.username.clone(),
            device: c.device.clone(),
            role: c.role,
            scope: c.scope.clone(),
        }
    }
}

/// The row for a request by `actor` (or by nobody known).
pub fn entry(
    actor: Option<&Actor>,
    action: impl Into<String>,
    target: impl Into<String>,
    personal_data: bool,
    status: u16,
) -> NewAuditEntry {
    NewAuditEntry {
        at: Utc::now(),
        user: actor.map(|a| a.username.clone()),
        device: actor.map(|a| a.device.clone()),
        role: actor.map(|a| a.role),
        scope: actor.map(|a| a.scope.clone()),
        action: action.into(),
        target: target.into(),
        personal_data,
        status,
    }
}

/// The row for an administrator's command-line action (`gridwalk-server user add`, …): no account
/// or device, status 0.
pub fn cli_entry(command: &str, target: impl Into<String>) -> NewAuditEntry {
    entry(None, format!("CLI {command}"), target, false, 0)
}

/// Logs that `caller` is being answered with personal data. `action` is the route
/// (`GET /v1/buildings/{code}`), `target` what was read, by ids.
pub async fn personal_read<D: Database>(
    db: &D,
    caller: &Caller,
    action: &str,
    target: impl Into<String>,
) -> Result<(), DbError> {
    db.append_audit(entry(Some(&Actor::from(caller)), action, target, true, 200))
        .await
}

/// Whether a field of a building holds a person's contact.
pub fn is_contact(field: BuildingField) -> bool {
    matches!(
        field,
        BuildingField::Owner | BuildingField::Manager | BuildingField::BuildingHead
    )
}

/// The conflicts that carry contacts, by id (for the audit target); empty when none does.
pub fn contact_conflicts(conflicts: &[ConflictView]) -> Vec<i64> {
    conflicts
        .iter()
        .filter(|k| is_contact(k.field))
        .map(|k| k.id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_are_the_people_fields() {
        let people: Vec<BuildingField> = BuildingField::ALL
            .into_iter()
            .filter(|f| is_contact(*f))
            .collect();
        assert_eq!(
            people,
            vec![
                BuildingField::Owner,
                BuildingField::Manager,
                BuildingField::BuildingHead
            ]
        );
    }
}
