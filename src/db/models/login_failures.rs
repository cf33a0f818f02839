//! Sign-in throttling, kept in the database so every instance behind a load balancer counts
//! the same failures. A window of `WINDOW_MINUTES`; at most `MAX_PER_USERNAME` failures for one
//! username and `MAX_PER_ADDRESS` for one client address inside it.

use chrono::{Duration, NaiveDateTime};
use diesel::dsl::{count_star, min};
use diesel::prelude::*;

use crate::db::schema::login_failures;
use crate::db::{DbConn, now};

pub const WINDOW_MINUTES: i64 = 15;
pub const MAX_PER_USERNAME: i64 = 5;
pub const MAX_PER_ADDRESS: i64 = 30;

/// `Some(seconds)` to wait when the username or the address is locked out now.
pub fn retry_after(conn: &mut DbConn, username: &str, client_ip: &str) -> QueryResult<Option<u64>> {
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

pub fn record_failure(conn: &mut DbConn, username: &str, client_ip: &str) -> QueryResult<()> {
    let now = now();
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::username.eq(username),
            login_failures::client_ip.eq(client_ip),
            login_failures::failed_at.eq(now),
        ))
        .execute(conn)?;
    // Keep the table small: nothing older than a day matters.
    diesel::delete(
        login_failures::table.filter(login_failures::failed_at.lt(now - Duration::days(1))),
    )
    .execute(conn)?;
    Ok(())
}

/// A successful sign-in forgives that username's failures.
pub fn clear(conn: &mut DbConn, username: &str) -> QueryResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::username.eq(username)))
        .execute(conn)?;
    Ok(())
}
