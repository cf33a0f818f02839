//! Server-side record of signed-in browser sessions. The encrypted cookie carries the row's id;
//! a request is honoured only while the row exists (and the user's epoch matches), so signing
//! out ends that session even for a copy of its cookie.

use chrono::Duration;
use diesel::prelude::*;

use super::users::User;
use crate::db::schema::{user_sessions, users};
use crate::db::{DbConn, now};

/// How long a session lives (the cookie's lifetime too).
pub const SESSION_HOURS: i64 = 12;

/// Records a new session for `user_id` with a fresh random id, and forgets expired ones.
pub fn start(conn: &mut DbConn, user_id: i64) -> QueryResult<String> {
    let bytes: [u8; 32] = rand::random();
    let id = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
    let ts = now();
    diesel::delete(
        user_sessions::table
            .filter(user_sessions::created_at.lt(ts - Duration::hours(SESSION_HOURS))),
    )
    .execute(conn)?;
    diesel::insert_into(user_sessions::table)
        .values((
            user_sessions::id.eq(&id),
            user_sessions::user_id.eq(user_id),
            user_sessions::created_at.eq(ts),
        ))
        .execute(conn)?;
    Ok(id)
}

/// The user of session `id` while that session is live (its row exists, belongs to `user_id`
/// and has not expired), in one statement: every request asks this.
pub fn live_user(conn: &mut DbConn, id: &str, user_id: i64) -> QueryResult<Option<User>> {
    let since = now() - Duration::hours(SESSION_HOURS);
    user_sessions::table
        .inner_join(users::table)
        .filter(user_sessions::id.eq(id))
        .filter(user_sessions::user_id.eq(user_id))
        .filter(user_sessions::created_at.gt(since))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn end(conn: &mut DbConn, id: &str) -> QueryResult<()> {
    diesel::delete(user_sessions::table.filter(user_sessions::id.eq(id))).execute(conn)?;
    Ok(())
}
