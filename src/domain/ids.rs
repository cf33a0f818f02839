//! Row ids as types: one per table whose id crosses modules, so a package id handed where a
//! task id belongs is a compile error, not a query for the wrong row. Each is an `i64` stored as
//! `BigInt` on every backend (SQLite, PostgreSQL and `DbConn` over both): rows load into it,
//! DSL filters compare a column with it (`release_packages::id.eq(package_id)`), and
//! `sql_query(..).bind::<BigInt, _>(id)` binds it. It prints as its number (URLs, templates),
//! parses from one (`FromStr`, path segments) and is a plain number in serde (forms, paths).
//!
//! `.get()` gives the number back, for the few places that need arithmetic or a raw-SQL id list.

/// Declares id newtypes: `pub struct $name(pub i64)` with the derives and diesel `BigInt`
/// conversions described in the module doc.
macro_rules! id_types {
    ($($(#[$doc:meta])* $name:ident;)+) => {$(
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize, diesel::AsExpression, diesel::FromSqlRow,
        )]
        #[serde(transparent)]
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        pub struct $name(pub i64);

        impl $name {
            /// The number itself.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::BigInt, DB> for $name
        where
            DB: diesel::backend::Backend,
            i64: diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                <i64 as diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>>::to_sql(
                    &self.0, out,
                )
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::BigInt, DB> for $name
        where
            DB: diesel::backend::Backend,
            i64: diesel::deserialize::FromSql<diesel::sql_types::BigInt, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                <i64 as diesel::deserialize::FromSql<diesel::sql_types::BigInt, DB>>::from_sql(
                    bytes,
                )
                .map($name)
            }
        }
    )+};
}

id_types! {
    /// A workspace (`workspaces.id`).
    WorkspaceId;
    /// A user account (`users.id`); also an actor, applicant, reviewer or decider.
    UserId;
    /// A release package of Task Release (`release_packages.id`).
    PackageId;
    /// A release task of Task Release (`release_tasks.id`).
    TaskId;
    /// A task of Region Release (`region_tasks.id`).
    RegionTaskId;
    /// A step of a region task (`region_task_steps.id`).
    StepId;
    /// A personal access token of the API (`api_tokens.id`).
    TokenId;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_prints_and_parses_as_its_number() {
        assert_eq!(PackageId(42).to_string(), "42");
        assert_eq!("42".parse::<PackageId>(), Ok(PackageId(42)));
        assert!("4x".parse::<PackageId>().is_err());
        assert_eq!(serde_json::to_string(&TaskId(7)).unwrap(), "7");
        assert_eq!(serde_json::from_str::<TaskId>("7").unwrap(), TaskId(7));
    }
}
