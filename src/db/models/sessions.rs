//! Server-side record of signed-in browser sessions. The encrypted cookie carries the row's id;
//! a request is honoured only while the row exists (and the user's epoch matches), so signing
//! out ends that session even for a copy of its cookie.
//!
//! A user holds at most `MAX_PER_USER` live sessions: signing in once more ends the oldest. The
//! Account page lists them by `SessionHandle` (never by id: the id is what the cookie carries)
//! and ends any of them, always only among the asking user's own.

use crate::domain::UserId;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::audit::{self, AuditEntry};
use super::users::User;
use crate::db::schema::{user_sessions, users};
use crate::db::{DbConn, now, write_tx};
use crate::error::AppError;

/// How long a session lives (the cookie's lifetime too).
pub const SESSION_HOURS: i64 = 12;

/// Live sessions one user may hold; the oldest end first.
pub const MAX_PER_USER: usize = 20;

/// "Last seen" is written at most this often per session, so a busy page costs no writes.
pub const LAST_SEEN_EVERY_SECS: i64 = 60;

/// User agents are stored cut to this many characters.
pub const USER_AGENT_MAX: usize = 256;

/// Where a new session comes from, as the sign-in request says.
pub struct NewSession<'a> {
    pub user_id: UserId,
    pub user_agent: &'a str,
    pub client_ip: &'a str,
}

/// Names a session on the Account page and in its forms without revealing its id (which would
/// let anyone who sees the page, or a log of its URLs, replay the cookie's content): the first
/// 16 bytes of SHA-256 of the id, in hex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionHandle(String);

impl SessionHandle {
    const HEX_LEN: usize = 32;

    fn of(session_id: &str) -> SessionHandle {
        let digest = Sha256::new()
            .chain_update(b"releasedesk session handle\0")
            .chain_update(session_id.as_bytes())
            .finalize();
        SessionHandle(hex::encode(&digest[..Self::HEX_LEN / 2]))
    }

    /// `Some` for what `of` makes: 32 lowercase hex digits.
    pub fn parse(raw: &str) -> Option<SessionHandle> {
        (raw.len() == Self::HEX_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| SessionHandle(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One live session as its owner sees it on the Account page.
#[derive(Clone, Debug)]
pub struct LiveSession {
    pub handle: SessionHandle,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub user_agent: String,
    pub client_ip: String,
    /// The session of the request that asked.
    pub is_current: bool,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = user_sessions)]
struct SessionRow {
    id: String,
    created_at: NaiveDateTime,
    last_seen_at: NaiveDateTime,
    user_agent: String,
    client_ip: String,
}

fn expired_before() -> NaiveDateTime {
    now() - Duration::hours(SESSION_HOURS)
}

/// Records a new session for the user with a fresh random id, ends the user's oldest sessions
/// beyond `MAX_PER_USER - 1` so the new one fits, and forgets expired ones. One write
/// transaction: on PostgreSQL the user's row is locked, so concurrent sign-ins of one user take
/// turns and cannot both fit under the cap; SQLite's write transaction already takes turns.
pub fn start(conn: &mut DbConn, new: NewSession<'_>) -> Result<String, AppError> {
    let bytes: [u8; 32] = rand::random();
    let id = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
    let user_agent: String = new
        .user_agent
        .chars()
        .filter(|c| !c.is_control())
        .take(USER_AGENT_MAX)
        .collect();
    write_tx(conn, |conn| {
        if let DbConn::Postgres(_) = conn {
            diesel::sql_query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
                .bind::<diesel::sql_types::BigInt, _>(new.user_id)
                .execute(conn)?;
        }
        let ts = now();
        diesel::delete(user_sessions::table.filter(user_sessions::created_at.lt(expired_before())))
            .execute(conn)?;
        let over_the_cap: Vec<String> = user_sessions::table
            .filter(user_sessions::user_id.eq(new.user_id))
            .order((user_sessions::created_at.desc(), user_sessions::id))
            .select(user_sessions::id)
            .offset(MAX_PER_USER as i64 - 1)
            .load(conn)?;
        if !over_the_cap.is_empty() {
            diesel::delete(
                user_sessions::table
                    .filter(user_sessions::user_id.eq(new.user_id))
                    .filter(user_sessions::id.eq_any(&over_the_cap)),
            )
            .execute(conn)?;
            tracing::info!(
                user_id = new.user_id.get(),
                ended = over_the_cap.len(),
                "oldest sessions ended: over the limit per user"
            );
        }
        diesel::insert_into(user_sessions::table)
            .values((
                user_sessions::id.eq(&id),
                user_sessions::user_id.eq(new.user_id),
                user_sessions::created_at.eq(ts),
                user_sessions::last_seen_at.eq(ts),
                user_sessions::user_agent.eq(&user_agent),
                user_sessions::client_ip.eq(new.client_ip),
            ))
            .execute(conn)?;
        Ok(id)
    })
}

/// The user of session `id` while that session is live (its row exists, belongs to `user_id`
/// and has not expired), with when the session was last seen, in one statement: every request
/// asks this.
pub fn live_user(
    conn: &mut DbConn,
    id: &str,
    user_id: UserId,
) -> QueryResult<Option<(User, NaiveDateTime)>> {
    user_sessions::table
        .inner_join(users::table)
        .filter(user_sessions::id.eq(id))
        .filter(user_sessions::user_id.eq(user_id))
        .filter(user_sessions::created_at.gt(expired_before()))
        .select((User::as_select(), user_sessions::last_seen_at))
        .first(conn)
        .optional()
}

/// Whether a session last seen at `last_seen_at` is due a `touch`.
pub fn needs_touch(last_seen_at: NaiveDateTime) -> bool {
    now() - last_seen_at >= Duration::seconds(LAST_SEEN_EVERY_SECS)
}

/// Marks session `id` as seen now, unless it was within the last minute (guarded in the
/// statement, so concurrent requests write it once).
pub fn touch(conn: &mut DbConn, id: &str) -> QueryResult<()> {
    let ts = now();
    diesel::update(
        user_sessions::table
            .filter(user_sessions::id.eq(id))
            .filter(user_sessions::last_seen_at.le(ts - Duration::seconds(LAST_SEEN_EVERY_SECS))),
    )
    .set(user_sessions::last_seen_at.eq(ts))
    .execute(conn)?;
    Ok(())
}

/// The user's live sessions, newest first; `current_id` is the asking request's session.
pub fn list_live(
    conn: &mut DbConn,
    user_id: UserId,
    current_id: &str,
) -> QueryResult<Vec<LiveSession>> {
    let rows: Vec<SessionRow> = user_sessions::table
        .filter(user_sessions::user_id.eq(user_id))
        .filter(user_sessions::created_at.gt(expired_before()))
        .order((user_sessions::created_at.desc(), user_sessions::id))
        .select(SessionRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| LiveSession {
            handle: SessionHandle::of(&row.id),
            is_current: row.id == current_id,
            created_at: row.created_at,
            last_seen_at: row.last_seen_at,
            user_agent: row.user_agent,
            client_ip: row.client_ip,
        })
        .collect())
}

/// What `end_own` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The session of the request that asked: the caller signs the browser out.
    Current,
    Other,
}

/// Ends one of `user`'s own live sessions, named by its handle, and records it in the audit log
/// (when and where it began; never its id). `NotFound` when the handle names no live session of
/// this user, whoever else's it may be.
pub fn end_own(
    conn: &mut DbConn,
    user: &User,
    handle: &SessionHandle,
    current_id: &str,
) -> Result<Ended, AppError> {
    write_tx(conn, |conn| {
        let rows: Vec<SessionRow> = user_sessions::table
            .filter(user_sessions::user_id.eq(user.id))
            .filter(user_sessions::created_at.gt(expired_before()))
            .select(SessionRow::as_select())
            .load(conn)?;
        let row = rows
            .into_iter()
            .find(|row| SessionHandle::of(&row.id) == *handle)
            .ok_or(AppError::NotFound)?;
        let deleted = diesel::delete(
            user_sessions::table
                .filter(user_sessions::id.eq(&row.id))
                .filter(user_sessions::user_id.eq(user.id)),
        )
        .execute(conn)?;
        if deleted == 0 {
            return Err(AppError::NotFound);
        }
        let ended = if row.id == current_id {
            Ended::Current
        } else {
            Ended::Other
        };
        let address = if row.client_ip.is_empty() {
            "an unrecorded address"
        } else {
            &row.client_ip
        };
        let comment = format!(
            "{} signed in {} from {address}",
            match ended {
                Ended::Current => "this session,",
                Ended::Other => "another session,",
            },
            row.created_at.format("%Y-%m-%d %H:%M UTC"),
        );
        audit::record(
            conn,
            AuditEntry {
                workspace_id: None,
                actor_id: Some(user.id),
                action: "session.ended",
                target_type: "user",
                target_id: Some(user.id.get()),
                target_label: &user.username,
                comment: &comment,
            },
        )?;
        Ok(ended)
    })
}

/// Signing out: the row goes, so a copy of the cookie is worthless too.
pub fn end(conn: &mut DbConn, id: &str) -> QueryResult<()> {
    diesel::delete(user_sessions::table.filter(user_sessions::id.eq(id))).execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_names_a_session_without_revealing_its_id() {
        let handle = SessionHandle::of("some-session-id");
        assert_eq!(handle.as_str().len(), 32);
        assert!(!handle.as_str().contains("some-session-id"));
        assert_eq!(SessionHandle::parse(handle.as_str()), Some(handle.clone()));
        assert_ne!(SessionHandle::of("another-session-id"), handle);
    }

    #[test]
    fn only_handles_parse() {
        for bad in [
            "",
            "1",
            "0123456789abcdef0123456789abcde",
            "0123456789abcdef0123456789abcdef0",
            "0123456789ABCDEF0123456789ABCDEF",
            "0123456789abcdef0123456789abcdeg",
        ] {
            assert_eq!(SessionHandle::parse(bad), None, "{bad:?}");
        }
    }
}
