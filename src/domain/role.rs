//! Workspace roles and the permission table of DESIGN.md ("Roles and the reviewer rules").

use std::fmt;

/// A per-workspace role, lowest to highest. Stored as its `as_str` text.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum Role {
    Viewer,
    Developer,
    Deployer,
    Admin,
}

/// Something a person may or may not do in a workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// See the workspace's pages.
    View,
    /// Edit scripts, submit versions, create and edit region release tasks.
    Develop,
    /// Release tasks without approval under the `developers` policy; revoke anyone's task;
    /// execute, suspend and roll back region releases.
    Deploy,
    /// Members, roles, reviewer list, workspace settings, import.
    Manage,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Developer, Role::Deployer, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Developer => "developer",
            Role::Deployer => "deployer",
            Role::Admin => "admin",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Viewer => "Viewer",
            Role::Developer => "Developer",
            Role::Deployer => "Deployer",
            Role::Admin => "Admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The role's row of the permission table.
    pub fn allows(self, permission: Permission) -> bool {
        match permission {
            Permission::View => true,
            Permission::Develop => self >= Role::Developer,
            Permission::Deploy => self >= Role::Deployer,
            Permission::Manage => self == Role::Admin,
        }
    }

    /// Deployers and admins may sit on the reviewer list (tenant admins too, whatever their role).
    pub fn may_review(self) -> bool {
        self >= Role::Deployer
    }
}

super::text_sql!(Role);

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What one user may do in one workspace: their membership role (if any) and whether they are
/// a tenant administrator, who may do everything everywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkspaceAccess {
    pub role: Option<Role>,
    pub tenant_admin: bool,
}

impl WorkspaceAccess {
    pub fn can(&self, permission: Permission) -> bool {
        self.tenant_admin || self.role.is_some_and(|r| r.allows(permission))
    }

    /// Whether the person is eligible to be on the reviewer list right now.
    pub fn may_review(&self) -> bool {
        self.tenant_admin || self.role.is_some_and(Role::may_review)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_table_matches_design() {
        let expect = [
            (Role::Viewer, [true, false, false, false]),
            (Role::Developer, [true, true, false, false]),
            (Role::Deployer, [true, true, true, false]),
            (Role::Admin, [true, true, true, true]),
        ];
        let perms = [
            Permission::View,
            Permission::Develop,
            Permission::Deploy,
            Permission::Manage,
        ];
        for (role, row) in expect {
            for (perm, allowed) in perms.iter().zip(row) {
                assert_eq!(role.allows(*perm), allowed, "{role:?} {perm:?}");
            }
        }
        let tenant = WorkspaceAccess {
            role: None,
            tenant_admin: true,
        };
        assert!(tenant.can(Permission::Manage) && tenant.may_review());
        let dev = WorkspaceAccess {
            role: Some(Role::Developer),
            tenant_admin: false,
        };
        assert!(!dev.may_review());
    }

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("owner"), None);
    }
}
