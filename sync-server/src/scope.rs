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
        Action::ReadLists => role != Role::Worker,
        // Enforcement reaches owners; supervisors review workers, not owners.
        Action::ReadContacts => matches!(role, Role::Officer | Role::Admin),
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
        assert!(!allowed(Role::Worker, Action::ReadLists));
        assert!(
            allowed(Role::Officer, Action::ReadLists)
                && allowed(Role::Supervisor, Action::ReadLists)
        );
        assert!(allowed(Role::Officer, Action::ReadContacts));
        assert!(!allowed(Role::Supervisor, Action::ReadContacts));
    }
}
