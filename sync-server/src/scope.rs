//! What each role may do. Scope (which buildings) is checked where the data is touched; this
//! module decides which endpoints a role may use at all.

use gridwalk_core::protocol::Role;

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
}
