//! Instance-wide secrets kept in the database (the session key), created once and shared by
//! every instance that uses the same database.

use diesel::prelude::*;

use crate::db::schema::instance_secrets;
use crate::db::{DbConn, now};

/// Returns the named secret, creating it with `generate()` if absent. Two instances starting at
/// once both try to insert; the loser's unique violation is ignored and it reads the winner's.
pub fn get_or_create(
    conn: &mut DbConn,
    name: &str,
    generate: impl FnOnce() -> String,
) -> QueryResult<String> {
    let existing = instance_secrets::table
        .find(name)
        .select(instance_secrets::value)
        .first::<String>(conn)
        .optional()?;
    if let Some(value) = existing {
        return Ok(value);
    }
    let inserted = diesel::insert_into(instance_secrets::table)
        .values((
            instance_secrets::name.eq(name),
            instance_secrets::value.eq(generate()),
            instance_secrets::created_at.eq(now()),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => {}
        Err(e) if super::is_unique_violation(&e) => {}
        Err(e) => return Err(e),
    }
    instance_secrets::table
        .find(name)
        .select(instance_secrets::value)
        .first(conn)
}
