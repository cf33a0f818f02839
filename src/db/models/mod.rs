//! Row types and the queries that hold the rules, one module per table (or closely tied group).
//! Each function takes `&mut DbConn` and either returns `QueryResult<T>` (plain reads) or
//! `Result<T, AppError>` when it enforces a rule inside its own write transaction.

pub mod attention;
pub mod audit;
pub mod bundle;
pub mod deliveries;
pub mod freezes;
pub mod hooks;
pub mod idempotency;
pub mod insights;
pub mod jobs;
pub mod login_failures;
pub mod notifications;
pub mod outcomes;
pub mod package_changes;
pub mod preferences;
pub mod production;
pub mod region_release;
pub mod regions;
pub mod releases;
pub mod scripts;
pub mod secrets;
pub mod sessions;
pub mod stopped;
pub mod tokens;
pub mod users;
pub mod workspaces;

/// Whether a diesel error is a unique-constraint violation (a duplicate name, a double insert).
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}
