//! Domain types: roles and what they allow, workspace settings, validated names. Form values
//! become these types at the edge (`Username::parse`), so the inside never sees raw strings.

/// A closed set of values stored as text: `as_str` (the stored value), `label` (for people),
/// `parse`, and `ALL`. The type is also a diesel `Text` value ([`text_sql!`]), so rows and
/// filters hold the enum itself.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal : $label:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $text),+ } }
            pub fn label(self) -> &'static str { match self { $($name::$variant => $label),+ } }
            pub fn parse(s: &str) -> Option<Self> { Self::ALL.iter().copied().find(|v| v.as_str() == s) }
        }

        $crate::domain::text_sql!($name);
    };
}
pub(crate) use text_enum;

/// Stores a type with `as_str`/`parse` as `Text` on every backend the crate speaks (SQLite,
/// PostgreSQL, and the `MultiConnection` over both), by way of `str` and `String`. A stored
/// value the type does not know is a deserialization error naming it, never a default: the
/// CHECK constraints keep such values out, so one means the schema and the code disagree.
/// The type must derive `diesel::AsExpression` and `diesel::FromSqlRow` with
/// `#[diesel(sql_type = diesel::sql_types::Text)]`.
macro_rules! text_sql {
    ($name:ident) => {
        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                use diesel::deserialize::FromSql;
                let s: String = FromSql::<diesel::sql_types::Text, DB>::from_sql(bytes)?;
                $name::parse(&s).ok_or_else(|| {
                    format!(
                        concat!("unknown ", stringify!($name), " {:?} in the database"),
                        s
                    )
                    .into()
                })
            }
        }
    };
}
pub(crate) use text_sql;

mod email;
mod freeze;
mod ids;
pub mod limits;
mod names;
mod region;
mod release;
mod role;
mod settings;
mod text;
pub mod token;
mod webhook;

pub use email::{DIGEST_CATCH_UP_HOURS, DigestHour, EmailAddress, MAX_EMAIL_LEN, masked_address};
pub use freeze::{
    FreezeScope, MAX_WINDOW_MINUTES, Span, When, check_schedule, local_instant, parse_time_zone,
    show as show_instant, time_zone_names,
};
pub use ids::{PackageId, RegionTaskId, StepId, TaskId, TokenId, UserId, WorkspaceId};
pub use names::{
    DisplayName, FieldError, Username, WorkspaceName, WorkspaceSlug, validate_new_password,
};
pub use region::{
    Driver, ExecutionKind, ExecutionStatus, Operation, RegionTaskStatus, ResultStatus, StepKind,
    StepStatus, format_cpu, format_memory, parse_cpu, parse_env, parse_memory,
    validate_component_name, validate_region_name,
};
pub use release::{
    PackageStatus, ReleaseStatus, ScriptPath, ScriptType, StartupStatus, TaskStatus,
    validate_schedule,
};
pub use role::{Permission, Role, WorkspaceAccess};
pub use settings::{ApprovalPolicy, Quorum, WorkspaceMode};
pub use text::{Comment, Description, PackageName};
pub use token::{TokenName, TokenScope};
pub use webhook::{
    Internal, PrivateDestinations, Refusal, UrlProblem, check_address, check_url, internal,
};

/// `1 task`, `2 tasks`: a count with its noun, never "task(s)".
pub fn count(n: impl Into<i64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}
