//! `Idempotency-Key` for the API's creating requests: the first answer to a (user, key) is
//! stored in the same transaction as what the request creates, and a retry with the same key
//! gets that answer back instead of creating again. The key's row is inserted first, so a
//! concurrent retry waits for the first (PostgreSQL: the primary key; SQLite: the write lock)
//! and then reads its answer. A request that fails keeps nothing, so it can be retried. Keys
//! are kept for `KEEP_HOURS`.

use chrono::Duration;
use diesel::prelude::*;

use crate::db::schema::idempotency_keys;
use crate::db::{DbConn, now, write_tx};
use crate::domain::UserId;
use crate::error::AppError;

/// How long a key's answer is kept.
pub const KEEP_HOURS: i64 = 24;
/// The longest key accepted.
pub const MAX_KEY_CHARS: usize = 255;

/// An answer to replay: the status and the JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// Runs `create` once per (`user`, `key`): with a key seen before (for the same request,
/// `fingerprint`), returns the stored answer instead; with a key used for another request, a
/// field error. `create` runs inside this transaction, and its answer is stored with it.
pub fn once(
    conn: &mut DbConn,
    user: UserId,
    key: Option<&str>,
    fingerprint: &str,
    create: impl FnOnce(&mut DbConn) -> Result<Answer, AppError>,
) -> Result<Answer, AppError> {
    let Some(key) = key else {
        return create(conn);
    };
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS || key.chars().any(char::is_control) {
        return Err(AppError::field(
            "Idempotency-Key",
            format!("An Idempotency-Key has 1 to {MAX_KEY_CHARS} printable characters."),
        ));
    }
    write_tx(conn, |conn| {
        // The user's expired keys go first: a key can be used again after KEEP_HOURS, and the
        // table holds one day of each user's creating requests at most.
        diesel::delete(
            idempotency_keys::table
                .filter(idempotency_keys::user_id.eq(user))
                .filter(idempotency_keys::created_at.lt(now() - Duration::hours(KEEP_HOURS))),
        )
        .execute(conn)?;
        // `ON CONFLICT DO NOTHING` in SQL: diesel's `MultiConnection` does not offer it, and both
        // backends speak it.
        let claimed = diesel::sql_query(
            "INSERT INTO idempotency_keys (user_id, idem_key, fingerprint, status, body, created_at) \
             VALUES ($1, $2, $3, 0, '', $4) ON CONFLICT DO NOTHING",
        )
        .bind::<diesel::sql_types::BigInt, _>(user)
        .bind::<diesel::sql_types::Text, _>(key)
        .bind::<diesel::sql_types::Text, _>(fingerprint)
        .bind::<diesel::sql_types::Timestamp, _>(now())
        .execute(conn)?;
        if claimed == 0 {
            let (stored_fingerprint, status, body): (String, i32, String) = idempotency_keys::table
                .find((user, key))
                .select((
                    idempotency_keys::fingerprint,
                    idempotency_keys::status,
                    idempotency_keys::body,
                ))
                .first(conn)?;
            if stored_fingerprint != fingerprint {
                return Err(AppError::field(
                    "Idempotency-Key",
                    "This Idempotency-Key was used for a different request; use a new key.",
                ));
            }
            return Ok(Answer {
                status: u16::try_from(status).unwrap_or(200),
                body,
            });
        }
        let answer = create(conn)?;
        diesel::update(idempotency_keys::table.find((user, key)))
            .set((
                idempotency_keys::status.eq(i32::from(answer.status)),
                idempotency_keys::body.eq(&answer.body),
            ))
            .execute(conn)?;
        Ok(answer)
    })
}
