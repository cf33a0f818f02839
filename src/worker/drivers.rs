//! Deploy drivers. `inventory` only records the new state (the database write is done by the
//! caller). `webhook` POSTs a JSON payload to the region's URL, signed with HMAC-SHA256 of the
//! body using the region's secret (`X-Releasedesk-Signature: sha256=<hex>`); a 2xx answer is
//! success; each attempt has the region's timeout; failures are retried with backoff up to the
//! region's attempt limit. The secret is never logged.
//!
//! Where a webhook may go: every address the URL's host resolves to is checked before the
//! connection (`CheckedResolver`), and the connection goes only to those checked addresses, so
//! a name cannot pass the check and then resolve elsewhere (DNS rebinding). Internal addresses
//! are refused unless the operator allows them (`domain::webhook`); a refusal fails the
//! component at once, without retrying. Proxy settings from the environment are not used, so
//! the address checked is the address connected to.
//!
//! What a call reports (`Report`): a short message any member may read ("HTTP 500 (after 3
//! attempts)", "timed out", "connection refused", "refused: …"), and apart from it the
//! receiver's answer body, which only workspace admins see: a receiver's reply can hold what
//! it should not (an internal service's token, a stack trace).

use crate::domain::RegionTaskId;
use std::io::Read;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use crate::db::models::regions::{Config, Region};
use crate::domain::{Driver, PrivateDestinations, Refusal, check_address};

/// What the webhook receives.
#[derive(Debug, Serialize)]
pub struct Payload<'a> {
    /// The same for every attempt and every retry after a crash of one change (execution, step,
    /// component), so a receiver can drop a repeat: calls are at least once, never lost.
    pub delivery: String,
    /// `deploy` or `rollback`.
    pub action: &'a str,
    pub task_id: RegionTaskId,
    pub task: &'a str,
    pub region: &'a str,
    pub component: &'a str,
    /// `false` when a rollback removes the component from the region.
    pub present: bool,
    pub config: Option<&'a Config>,
}

/// The hex HMAC-SHA256 of `body` with `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// How much of a receiver's answer is kept (characters), and read (bytes).
pub const RESPONSE_BODY_CHARS: usize = 200;
const RESPONSE_BODY_READ_BYTES: u64 = 4096;

fn shorten(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

/// What applying a payload came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Short, for every member: "HTTP 200", "timed out", "recorded api 1.2.0", "refused: …".
    pub message: String,
    /// The receiver's answer (trimmed, at most `RESPONSE_BODY_CHARS`), for workspace admins
    /// only; `None` when there was none.
    pub response_body: Option<String>,
}

impl From<String> for Report {
    fn from(message: String) -> Self {
        Report {
            message,
            response_body: None,
        }
    }
}

/// Applies a payload through the region's driver: `Ok(report)` or `Err(report)`. `private`
/// says whether a webhook may go to internal addresses.
pub fn apply(
    region: &Region,
    payload: &Payload<'_>,
    private: PrivateDestinations,
) -> Result<Report, Report> {
    match region.driver() {
        Driver::Inventory => Ok(Report::from(match payload.config {
            Some(c) if payload.present => format!("recorded {} {}", c.artifact, c.version),
            _ => "recorded removal".to_owned(),
        })),
        Driver::Webhook => post(region, payload, private),
    }
}

/// ureq's resolver, then the destination rule on every address it returned: one internal
/// address refuses the call (a name resolving to a public and a private address could be
/// connected to either). ureq connects only to the addresses returned here.
#[derive(Debug)]
struct CheckedResolver {
    private: PrivateDestinations,
}

impl Resolver for CheckedResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let addrs = DefaultResolver::default().resolve(uri, config, timeout)?;
        for addr in &addrs {
            check_address(addr.ip(), self.private).map_err(|refusal| {
                ureq::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    refusal,
                ))
            })?;
        }
        Ok(addrs)
    }
}

/// An agent for webhooks (regions' and notification hooks'): connects only to resolved
/// addresses the destination rule allows, follows no redirect, uses no proxy, answers every
/// status (never an error for a 4xx or 5xx), and gives up after `timeout`.
pub(crate) fn checked_agent(timeout: Duration, private: PrivateDestinations) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        // A redirect would turn the signed POST into a GET elsewhere: the configured URL only.
        .max_redirects(0)
        // Through a proxy, the proxy would resolve the name, past the destination check.
        .proxy(None)
        .build();
    ureq::Agent::with_parts(
        config,
        DefaultConnector::default(),
        CheckedResolver { private },
    )
}

/// The destination refusal inside a ureq error, if that is what it is.
pub(crate) fn refusal(e: &ureq::Error) -> Option<&Refusal> {
    match e {
        ureq::Error::Io(io) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<Refusal>()),
        _ => None,
    }
}

/// A short reason for a failed request: what a member needs to know, no more.
pub(crate) fn reason(e: &ureq::Error) -> String {
    use std::io::ErrorKind;
    match e {
        ureq::Error::Timeout(_) => "timed out".to_owned(),
        ureq::Error::HostNotFound => "host not found".to_owned(),
        ureq::Error::Io(io) => match io.kind() {
            ErrorKind::ConnectionRefused => "connection refused".to_owned(),
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => {
                "connection reset".to_owned()
            }
            ErrorKind::TimedOut => "timed out".to_owned(),
            ErrorKind::NetworkUnreachable | ErrorKind::HostUnreachable => "unreachable".to_owned(),
            ErrorKind::UnexpectedEof => "connection closed".to_owned(),
            _ => format!("request failed: {}", shorten(&io.to_string(), 120)),
        },
        other => format!("request failed: {}", shorten(&other.to_string(), 120)),
    }
}

/// "(after 3 attempts)", for the message of a failed call.
fn after(made: i32) -> String {
    if made == 1 {
        "(after 1 attempt)".to_owned()
    } else {
        format!("(after {made} attempts)")
    }
}

fn post(
    region: &Region,
    payload: &Payload<'_>,
    private: PrivateDestinations,
) -> Result<Report, Report> {
    let body = serde_json::to_vec(payload).map_err(|e| Report::from(e.to_string()))?;
    let signature = format!("sha256={}", sign(&region.webhook_secret, &body));
    let agent = checked_agent(
        Duration::from_millis(region.timeout_ms.max(100) as u64),
        private,
    );
    let attempts = region.max_attempts.clamp(1, 10);
    let mut last = Report::from(String::new());
    let mut made = 0;
    for attempt in 1..=attempts {
        made = attempt;
        let sent = agent
            .post(&region.webhook_url)
            .header("Content-Type", "application/json")
            .header("X-Releasedesk-Signature", &signature)
            .header("X-Releasedesk-Delivery", &payload.delivery)
            .header("X-Releasedesk-Attempt", &attempt.to_string())
            .send(&body[..]);
        match sent {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                let mut answer = Vec::new();
                let _ = resp
                    .body_mut()
                    .as_reader()
                    .take(RESPONSE_BODY_READ_BYTES)
                    .read_to_end(&mut answer);
                let answer = shorten(&String::from_utf8_lossy(&answer), RESPONSE_BODY_CHARS);
                let report = Report {
                    message: format!("HTTP {status}"),
                    response_body: (!answer.is_empty()).then_some(answer),
                };
                if (200..300).contains(&status) {
                    return Ok(report);
                }
                last = report;
                // A 4xx other than 408/429 will not improve by retrying.
                if (400..500).contains(&status) && status != 408 && status != 429 {
                    break;
                }
            }
            Err(e) => {
                // A refused destination stays refused: no retry.
                if let Some(refused) = refusal(&e) {
                    return Err(Report::from(format!("refused: {refused}")));
                }
                last = Report::from(reason(&e));
            }
        }
        if attempt < attempts {
            std::thread::sleep(Duration::from_millis(100 * 2u64.pow(attempt as u32 - 1)));
        }
    }
    last.message = format!("{} {}", last.message, after(made));
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::sign;

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
