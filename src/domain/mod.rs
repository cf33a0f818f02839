//! Domain types: roles and what they allow, workspace settings, validated names. Form values
//! become these types at the edge (`Username::parse`), so the inside never sees raw strings.

/// A closed set of values stored as text: `as_str` (the stored value), `label` (for people),
/// `parse`, and `ALL`.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal : $label:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $text),+ } }
            pub fn label(self) -> &'static str { match self { $($name::$variant => $label),+ } }
            pub fn parse(s: &str) -> Option<Self> { Self::ALL.iter().copied().find(|v| v.as_str() == s) }
        }
    };
}

pub mod limits;
mod names;
mod region;
mod release;
mod role;
mod settings;
mod text;
mod webhook;

pub use names::{
    DisplayName, FieldError, Username, WorkspaceName, WorkspaceSlug, validate_new_password,
};
pub use region::{
    Driver, Operation, RegionTaskStatus, StepKind, StepStatus, format_cpu, format_memory,
    parse_cpu, parse_env, parse_memory, validate_component_name, validate_region_name,
};
pub use release::{
    PackageStatus, ReleaseStatus, ScriptPath, ScriptType, StartupStatus, TaskStatus,
    validate_schedule,
};
pub use role::{Permission, Role, WorkspaceAccess};
pub use settings::{ApprovalPolicy, Quorum, WorkspaceMode};
pub use text::{Comment, Description, PackageName};
pub use webhook::{
    Internal, PrivateDestinations, Refusal, UrlProblem, check_address, check_url, internal,
};

/// `1 task`, `2 tasks`: a count with its noun, never "task(s)".
pub fn count(n: impl Into<i64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}
