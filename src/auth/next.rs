//! Where to send someone after sign-in: `SafeNext`, the one parser of every `next` the server
//! reads (the `/login` query and form) or writes (the sign-in redirect of a signed-out page
//! request, `middleware::htmx_errors`). A `next` is followed only when it is a path on this
//! site; anything else is dropped and the user lands on `/workspaces`.
//!
//! Browsers are lenient with a `Location`: they drop tabs and newlines, read `\` as `/`, and take
//! `//host` as another site. So the rule is a whitelist, not a list of known tricks: printable
//! ASCII only (no whitespace, no control characters, nothing a header cannot carry), no `\`
//! anywhere, one leading `/` not followed by another `/`, and the same again for the path once
//! its percent-escapes are decoded (so a later decoding step cannot turn it into one either).

use std::fmt;

/// Where a sign-in lands when there is no usable `next`.
pub const DEFAULT_NEXT: &str = crate::paths::workspaces();

/// Longer `next` values are dropped: no page of the site has an address this long, and a page
/// that echoes it must stay small.
pub const MAX_NEXT_LEN: usize = 2_048;

/// A same-origin path (with an optional query) that is safe to put in a `Location` header and to
/// follow after sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SafeNext(String);

impl SafeNext {
    /// `Some` only for a local path: see the module doc for the rule.
    pub fn parse(raw: &str) -> Option<SafeNext> {
        if raw.is_empty() || raw.len() > MAX_NEXT_LEN {
            return None;
        }
        // Visible ASCII only: this also refuses every kind of Unicode space and every byte a
        // header value cannot hold.
        if !raw.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') {
            return None;
        }
        let path = raw.split(['?', '#']).next().unwrap_or_default();
        if !is_local_path(path.as_bytes()) {
            return None;
        }
        let decoded = percent_decode(path.as_bytes());
        if !is_local_path(&decoded)
            || decoded
                .iter()
                .any(|b| b.is_ascii_control() || b.is_ascii_whitespace() || *b == b'\\')
        {
            return None;
        }
        // Coming back to the sign-in page would only ask again.
        if path == crate::paths::login() {
            return None;
        }
        Some(SafeNext(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `/workspaces`: where a sign-in lands without a usable `next`.
impl Default for SafeNext {
    fn default() -> Self {
        SafeNext(DEFAULT_NEXT.to_owned())
    }
}

impl fmt::Display for SafeNext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Starts with exactly one `/`: not empty, not scheme-relative (`//host`), no scheme.
fn is_local_path(path: &[u8]) -> bool {
    matches!(path, [b'/', rest @ ..] if !matches!(rest.first(), Some(b'/' | b'\\')))
}

/// `%XX` decoded; a `%` not followed by two hex digits stays as it is.
fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%'
            && let Some(hex) = input.get(i + 1..i + 3)
            && let Ok(text) = std::str::from_utf8(hex)
            && let Ok(byte) = u8::from_str_radix(text, 16)
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_are_kept() {
        for ok in [
            "/workspaces",
            "/workspaces/demo",
            "/workspaces/demo/scripts?q=a+b&page=2",
            "/workspaces/demo/scripts?q=a%20b",
            "/workspaces/demo/audit?since=2026-12-01T10:00",
            "/account",
            "/",
            "/login-help",
            "/workspaces/demo#section",
        ] {
            assert_eq!(SafeNext::parse(ok).as_ref().map(SafeNext::as_str), Some(ok));
        }
    }

    #[test]
    fn hostile_values_are_dropped() {
        let long = format!("/{}", "a".repeat(MAX_NEXT_LEN));
        for bad in [
            "",
            "/\t/evil.example",
            "/%09/evil.example",
            "\t/evil.example",
            "/\r\nSet-Cookie: x=1",
            "/%0d%0aSet-Cookie:x=1",
            "/\n",
            "/%0a",
            "/\0",
            "/%00",
            "/ /evil.example",
            "/evil example",
            " /workspaces",
            "/workspaces ",
            "//evil.example",
            "//evil.example/path",
            "///evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "\\/evil.example",
            "/workspaces\\..\\x",
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "/%5Cevil.example",
            "/%5cevil.example",
            "http://evil.example",
            "https://evil.example/workspaces",
            "HTTP://evil.example",
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "evil.example",
            "workspaces",
            "?next=/x",
            "#/x",
            "/\u{a0}/evil.example",
            "/\u{2028}/evil.example",
            "/\u{3000}evil.example",
            "/\u{feff}/evil.example",
            "/\u{202e}/evil.example",
            "/ワークスペース",
            "/login",
            "/login?next=/workspaces",
            &long,
        ] {
            assert_eq!(SafeNext::parse(bad), None, "{bad:?} must be dropped");
        }
    }

    #[test]
    fn the_longest_allowed_value_is_kept() {
        let at_limit = format!("/{}", "a".repeat(MAX_NEXT_LEN - 1));
        assert!(SafeNext::parse(&at_limit).is_some());
    }

    #[test]
    fn anything_unsafe_falls_back_to_the_workspaces() {
        let land = |raw: &str| SafeNext::parse(raw).unwrap_or_default().to_string();
        assert_eq!(land("/%09/evil.example"), "/workspaces");
        assert_eq!(land("/workspaces/demo"), "/workspaces/demo");
    }

    #[test]
    fn every_kept_value_is_a_valid_header_value() {
        for ok in ["/a?b=c&d=%22e%22", "/x!$&'()*+,;=:@-._~"] {
            let next = SafeNext::parse(ok).expect("kept");
            assert!(actix_web::http::header::HeaderValue::from_str(next.as_str()).is_ok());
        }
    }
}
