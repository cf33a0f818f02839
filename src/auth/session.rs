//! What the session cookie holds: the signed-in user's id and session epoch, the CSRF token, and
//! a one-shot flash message. The cookie is encrypted and signed (actix-session's
//! `CookieSessionStore`); the epoch makes it revocable server-side.

use crate::domain::UserId;
use actix_session::Session;
use base64::Engine;
use serde::{Deserialize, Serialize};

const SESSION_ID: &str = "sid";
const USER_ID: &str = "uid";
const EPOCH: &str = "epoch";
const CSRF: &str = "csrf";
const FLASH: &str = "flash";

/// The identity stored in a signed-in session.
#[derive(Clone, Debug)]
pub struct SessionIdentity {
    /// The `user_sessions` row that keeps this session alive.
    pub session_id: String,
    pub user_id: UserId,
    pub epoch: i64,
}

pub fn identity(session: &Session) -> Option<SessionIdentity> {
    let session_id = session.get::<String>(SESSION_ID).ok().flatten()?;
    let user_id = session.get::<UserId>(USER_ID).ok().flatten()?;
    let epoch = session.get::<i64>(EPOCH).ok().flatten()?;
    Some(SessionIdentity {
        session_id,
        user_id,
        epoch,
    })
}

fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The session's CSRF token, created on first use (also for signed-out visitors, so the sign-in
/// form is protected too).
pub fn csrf_token(session: &Session) -> String {
    if let Ok(Some(token)) = session.get::<String>(CSRF) {
        return token;
    }
    let token = new_token();
    let _ = session.insert(CSRF, &token);
    token
}

/// The stored token without creating one.
pub fn existing_csrf_token(session: &Session) -> Option<String> {
    session.get::<String>(CSRF).ok().flatten()
}

/// Starts a signed-in session: a renewed session with fresh contents and a fresh CSRF token,
/// so nothing from before sign-in (fixation) carries over.
pub fn sign_in(session: &Session, session_id: &str, user_id: UserId, epoch: i64) {
    // `clear`, not `purge`: a purged session ignores later inserts.
    session.clear();
    session.renew();
    let _ = session.insert(SESSION_ID, session_id);
    let _ = session.insert(USER_ID, user_id);
    let _ = session.insert(EPOCH, epoch);
    let _ = session.insert(CSRF, new_token());
}

pub fn sign_out(session: &Session) {
    session.purge();
}

/// A message shown once on the next page (after a POST-redirect-GET).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlashKind {
    Ok,
    Error,
    Info,
}

impl FlashKind {
    pub fn css(self) -> &'static str {
        match self {
            FlashKind::Ok => "toast-ok",
            FlashKind::Error => "toast-error",
            FlashKind::Info => "toast-info",
        }
    }
}

pub fn flash(session: &Session, kind: FlashKind, text: impl Into<String>) {
    let _ = session.insert(
        FLASH,
        Flash {
            kind,
            text: text.into(),
        },
    );
}

pub fn take_flash(session: &Session) -> Option<Flash> {
    // `remove` marks the session changed even when the key is absent, and a changed session
    // is re-encrypted and sent back as a new cookie: only remove a flash that is there.
    if !session.contains_key(FLASH) {
        return None;
    }
    session.remove_as::<Flash>(FLASH).and_then(Result::ok)
}
