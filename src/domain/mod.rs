//! Domain types: roles and what they allow, workspace settings, validated names. Form values
//! become these types at the edge (`Username::parse`), so the inside never sees raw strings.

mod names;
mod role;
mod settings;

pub use names::{
    DisplayName, FieldError, Username, WorkspaceName, WorkspaceSlug, validate_new_password,
};
pub use role::{Permission, Role, WorkspaceAccess};
pub use settings::{ApprovalPolicy, Quorum, WorkspaceMode};
