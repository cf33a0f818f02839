//! Personal access tokens of the JSON API, as values: the secret's shape, its scope, a token's
//! name and lifetime. A secret is `rd_` and 43 characters of URL-safe base64 (256 random bits);
//! only its SHA-256 is stored (`db::models::tokens`), which is as safe as a slow hash for a
//! secret nobody chose and costs nothing per request.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::FieldError;

/// What every secret starts with, so secret scanners and people recognise one.
pub const SECRET_PREFIX: &str = "rd_";
/// Characters after `SECRET_PREFIX` (32 bytes, base64 without padding).
const SECRET_BODY_LEN: usize = 43;
/// Characters of the secret kept in clear (after `rd_`) so a person can tell tokens apart.
pub const SHOWN_PREFIX_LEN: usize = 6;

/// Days a token lives unless its creator says otherwise.
pub const DEFAULT_DAYS: i64 = 90;
/// The longest a token may live.
pub const MAX_DAYS: i64 = 365;
/// Live tokens one user may hold.
pub const MAX_PER_USER: i64 = 50;
/// Longest token name.
pub const MAX_NAME_CHARS: usize = 60;

super::text_enum! {
    /// What a token may do: `Read` refuses every change, whatever its user's role.
    TokenScope {
        Read = "read": "Read only",
        Write = "write": "Read and write",
    }
}

impl TokenScope {
    /// The scope a form or the command line names.
    pub fn from_field(raw: &str) -> Result<Self, FieldError> {
        Self::parse(raw.trim()).ok_or_else(|| FieldError("Choose a scope: read or write.".into()))
    }
}

/// A token's name, as its owner typed it: trimmed, 1 to `MAX_NAME_CHARS` characters, no
/// control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenName(String);

impl TokenName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(FieldError(
                "Give the token a name that says where it is used (\"deploy pipeline\").".into(),
            ));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(FieldError(format!(
                "A token name has at most {MAX_NAME_CHARS} characters."
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(FieldError(
                "A token name cannot hold control characters.".into(),
            ));
        }
        Ok(TokenName(name.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Days until a token expires: 1 to `MAX_DAYS`; blank means `DEFAULT_DAYS`.
pub fn parse_days(raw: &str) -> Result<i64, FieldError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(DEFAULT_DAYS);
    }
    match raw.parse::<i64>() {
        Ok(d) if (1..=MAX_DAYS).contains(&d) => Ok(d),
        _ => Err(FieldError(format!("A token lives 1 to {MAX_DAYS} days."))),
    }
}

/// A new secret: `rd_` and 43 URL-safe characters.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Whether `s` has a secret's shape (checked before any lookup, so junk costs no query).
pub fn looks_like_secret(s: &str) -> bool {
    s.strip_prefix(SECRET_PREFIX).is_some_and(|body| {
        body.len() == SECRET_BODY_LEN
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// What is stored of a secret: SHA-256, in hex.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The part of a secret shown on lists: `rd_` and its first characters.
pub fn shown_prefix(secret: &str) -> String {
    secret
        .chars()
        .take(SECRET_PREFIX.len() + SHOWN_PREFIX_LEN)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_their_shape_and_differ() {
        let a = new_secret();
        let b = new_secret();
        assert!(looks_like_secret(&a), "{a}");
        assert_ne!(a, b);
        assert_eq!(shown_prefix(&a).len(), 9);
        assert!(!looks_like_secret("rd_short"));
        assert!(!looks_like_secret(&a.replace("rd_", "xx_")));
        assert_eq!(secret_hash(&a).len(), 64);
    }

    #[test]
    fn names_and_days_are_checked() {
        assert!(TokenName::parse("  ").is_err());
        assert!(TokenName::parse(&"x".repeat(61)).is_err());
        assert!(TokenName::parse("ci\u{7}").is_err());
        assert_eq!(TokenName::parse(" deploy ").unwrap().as_str(), "deploy");
        assert_eq!(parse_days("").unwrap(), DEFAULT_DAYS);
        assert_eq!(parse_days("365").unwrap(), 365);
        assert!(parse_days("0").is_err());
        assert!(parse_days("366").is_err());
        assert!(parse_days("ten").is_err());
        assert_eq!(TokenScope::from_field("write").unwrap(), TokenScope::Write);
        assert!(TokenScope::from_field("admin").is_err());
    }
}
