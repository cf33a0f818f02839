//! Sign-in throttling, kept in the database so every instance behind a load balancer counts
//! the same failures. A window of `WINDOW_MINUTES`; at most `MAX_PER_USERNAME` failures for one
//! username and `MAX_PER_ADDRESS` for one client address inside it.
//!
//! An attempt is counted *before* its password is checked (`begin_attempt`): the count and the
//! new row are one write transaction that holds the table's lock, so concurrent attempts take
//! turns and at most the limit of them ever reach the (slow) password check. The row stays as
//! the failure when the password is wrong; a right password removes it (`clear`, `forgive`).

use chrono::{Duration, NaiveDateTime};
use diesel::dsl::{count_star, min};
use diesel::prelude::*;

use crate::db::schema::login_failures;
use crate::db::{DbConn, now, write_tx};
use crate::error::AppError;

pub const WINDOW_MINUTES: i64 = 15;
pub const MAX_PER_USERNAME: i64 = 5;
pub const MAX_PER_ADDRESS: i64 = 30;

/// An attempt admitted to the password check, already counted as a failure.
#[derive(Clone, Copy, Debug)]
pub struct Attempt {
    id: i64,
}

/// `Some(seconds)` to wait when the username or the address is locked out now. On its own it is
/// only a read: `begin_attempt` asks it inside the transaction that counts the attempt.
fn retry_after(conn: &mut DbConn, username: &str, client_ip: &str) -> QueryResult<Option<u64>> {
    let now = now();
    let since = now - Duration::minutes(WINDOW_MINUTES);
    let by_user: (i64, Option<NaiveDateTime>) = login_failures::table
        .filter(login_failures::username.eq(username))
        .filter(login_failures::failed_at.gt(since))
        .select((count_star(), min(login_failures::failed_at)))
        .first(conn)?;
    let by_ip: (i64, Option<NaiveDateTime>) = login_failures::table
        .filter(login_failures::client_ip.eq(client_ip))
        .filter(login_failures::failed_at.gt(since))
        .select((count_star(), min(login_failures::failed_at)))
        .first(conn)?;
    let wait = |(count, oldest): (i64, Option<NaiveDateTime>), max: i64| -> Option<u64> {
        if count < max {
            return None;
        }
        // The lock lifts when the oldest failure in the window ages out.
        let oldest = oldest?;
        let secs = (oldest + Duration::minutes(WINDOW_MINUTES) - now).num_seconds();
        Some(secs.max(1) as u64)
    };
    Ok(wait(by_user, MAX_PER_USERNAME).max(wait(by_ip, MAX_PER_ADDRESS)))
}

/// Admits one sign-in attempt for `username` from `client_ip`, counting it as a failure until
/// its password proves right, or `Err(seconds to wait)` when either limit is reached (then the
/// password must not be checked at all).
///
/// The check and the count are one write transaction that serialises attempts: SQLite's
/// `BEGIN IMMEDIATE` (`write_tx`) takes the database's write lock before the count is read;
/// PostgreSQL takes this table's `SHARE ROW EXCLUSIVE` lock, which conflicts with itself and with
/// every insert or delete, so no other attempt counts or records until this one commits.
pub fn begin_attempt(
    conn: &mut DbConn,
    username: &str,
    client_ip: &str,
) -> Result<Result<Attempt, u64>, AppError> {
    write_tx(conn, |conn| {
        if let DbConn::Postgres(_) = conn {
            diesel::sql_query("LOCK TABLE login_failures IN SHARE ROW EXCLUSIVE MODE")
                .execute(conn)?;
        }
        if let Some(wait) = retry_after(conn, username, client_ip)? {
            return Ok(Err(wait));
        }
        let now = now();
        // Keep the table small: nothing older than a day matters.
        diesel::delete(
            login_failures::table.filter(login_failures::failed_at.lt(now - Duration::days(1))),
        )
        .execute(conn)?;
        let id = diesel::insert_into(login_failures::table)
            .values((
                login_failures::username.eq(username),
                login_failures::client_ip.eq(client_ip),
                login_failures::failed_at.eq(now),
            ))
            .returning(login_failures::id)
            .get_result::<i64>(conn)?;
        Ok(Ok(Attempt { id }))
    })
}

/// A successful sign-in forgives that username's failures (this attempt's row among them).
pub fn clear(conn: &mut DbConn, username: &str) -> QueryResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::username.eq(username)))
        .execute(conn)?;
    Ok(())
}

/// The password was right but the sign-in was refused for another reason (a deactivated
/// account): this attempt was no guess, so it does not count.
pub fn forgive(conn: &mut DbConn, attempt: Attempt) -> QueryResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::id.eq(attempt.id)))
        .execute(conn)?;
    Ok(())
}
