//! What each role may do. Scope (which buildings) is checked where the data is touched; this
//! module decides which endpoints a role may use at all.

use gridwalk_core::protocol::Role;
use gridwalk_core::{Catalog, DepartmentId};

/// An action an endpoint performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Upload field records and their photos (grid workers).
    Push,
    /// Pull changes for one's scope.
    Pull,
    /// Read building files and photos within one's scope.
    ReadArchive,
    /// See field-correction conflicts awaiting review.
    ReviewConflicts,
    /// Administer accounts and tokens.
    ManageAccounts,
    /// Decide on synced reports (approve / send back) and read the review queue.
    Review,
    /// Read worker and grid assessments.
    Assess,
    /// Query the audit log.
    ReadAudit,
    /// Work a department's queue: list its events, move them along (department users, admins).
    HandleEvents,
    /// See notices about buildings in scope and their delivery.
    ReadNotices,
    /// See the contacts notices are addressed to (personal data): those who act on notices.
    ReadNoticeContacts,
    /// Read the officer's lists (low-star, overdue, …) over one's scope.
    ReadLists,
    /// Read owners', managers' and building heads' contacts in lists (personal data).
    ReadContacts,
}

impl Action {
    pub fn describe(self) -> &'static str {
        match self {
            Action::Push => "push field records",
            Action::Pull => "pull changes",
            Action::ReadArchive => "read the archive",
            Action::ReviewConflicts => "review conflicts",
            Action::ManageAccounts => "manage accounts",
            Action::Review => "review reports",
            Action::Assess => "read assessments",
            Action::ReadAudit => "read the audit log",
            Action::HandleEvents => "handle dispatched events",
            Action::ReadNotices => "read notices",
            Action::ReadNoticeContacts => "read notice contacts",
            Action::ReadLists => "read the officer's lists",
            Action::ReadContacts => "read owners' and managers' contacts",
        }
    }
}

pub fn allowed(role: Role, action: Action) -> bool {
    match action {
        Action::Push => role == Role::Worker,
        Action::Pull | Action::ReadArchive => true,
        Action::ReviewConflicts => matches!(role, Role::Supervisor | Role::Admin),
        Action::ManageAccounts => role == Role::Admin,
        Action::Review | Action::Assess => matches!(role, Role::Supervisor | Role::Admin),
        Action::ReadAudit => role == Role::Admin,
        Action::HandleEvents | Action::ReadNoticeContacts => {
            matches!(role, Role::Department | Role::Admin)
        }
        Action::ReadNotices => true,
        Action::ReadLists => matches!(role, Role::Officer | Role::Supervisor | Role::Admin),
        // Enforcement reaches owners; supervisors review workers, not owners.
        Action::ReadContacts => matches!(role, Role::Officer | Role::Admin),
    }
}

/// The department a new account joins: required for the department role (and a department of
/// the shipped catalog), refused for every other role.
pub fn department_for_role(
    role: Role,
    department: Option<String>,
) -> Result<Option<DepartmentId>, String> {
    match (role, department) {
        (Role::Department, Some(d)) => {
            let d = DepartmentId(d);
            let known = Catalog::default_catalog()
                .map_err(|e| e.to_string())?
                .departments
                .iter()
                .any(|x| x.id == d);
            if known {
                Ok(Some(d))
            } else {
                Err(format!(
                    "unknown department '{d}': see the catalog's departments"
                ))
            }
        }
        (Role::Department, None) => Err("a department account needs --department".into()),
        (_, Some(_)) => Err("--department is only for the department role".into()),
        (_, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_workers_push_and_only_admins_manage() {
        for role in Role::ALL {
            assert_eq!(allowed(role, Action::Push), role == Role::Worker);
            assert_eq!(allowed(role, Action::ManageAccounts), role == Role::Admin);
            assert!(allowed(role, Action::Pull));
        }
        assert!(allowed(Role::Supervisor, Action::ReviewConflicts));
        assert!(!allowed(Role::Officer, Action::ReviewConflicts));
        for role in Role::ALL {
            let office = matches!(role, Role::Supervisor | Role::Admin);
            assert_eq!(allowed(role, Action::Review), office);
            assert_eq!(allowed(role, Action::Assess), office);
            assert_eq!(allowed(role, Action::ReadAudit), role == Role::Admin);
        }
    }

    #[test]
    fn departments_handle_events_and_see_notice_contacts() {
        for role in Role::ALL {
            let acts = matches!(role, Role::Department | Role::Admin);
            assert_eq!(allowed(role, Action::HandleEvents), acts, "{role:?}");
            assert_eq!(allowed(role, Action::ReadNoticeContacts), acts, "{role:?}");
            assert!(allowed(role, Action::ReadNotices));
        }
        assert!(!allowed(Role::Department, Action::Push));
        assert_eq!(
            department_for_role(Role::Department, Some("fire".into())),
            Ok(Some(DepartmentId::from("fire")))
        );
        assert!(department_for_role(Role::Department, Some("mars".into())).is_err());
        assert!(department_for_role(Role::Department, None).is_err());
        assert!(department_for_role(Role::Worker, Some("fire".into())).is_err());
        assert_eq!(department_for_role(Role::Worker, None), Ok(None));
        assert!(!allowed(Role::Worker, Action::ReadLists));
        assert!(
            allowed(Role::Officer, Action::ReadLists)
                && allowed(Role::Supervisor, Action::ReadLists)
        );
        assert!(allowed(Role::Officer, Action::ReadContacts));
        assert!(!allowed(Role::Supervisor, Action::ReadContacts));
    }
}
