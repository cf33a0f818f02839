//! Deploy drivers. `inventory` only records the new state (the database write is done by the
//! caller). `webhook` POSTs a JSON payload to the region's URL, signed with HMAC-SHA256 of the
//! body using the region's secret (`X-Releasedesk-Signature: sha256=<hex>`); a 2xx answer is
//! success; each attempt has the region's timeout; failures are retried with backoff up to the
//! region's attempt limit. The secret is never logged.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::db::models::regions::{Config, Region};
use crate::domain::{Driver, PrivateDestinations};

/// What the webhook receives.
#[derive(Debug, Serialize)]
pub struct Payload<'a> {
    /// The same for every attempt and every retry after a crash of one change (execution, step,
    /// component), so a receiver can drop a repeat: calls are at least once, never lost.
    pub delivery: String,
    /// `deploy` or `rollback`.
    pub action: &'a str,
    pub task_id: i64,
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

fn shorten(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

/// Applies a payload through the region's driver: `Ok(message)` or `Err(reason)`.
pub fn apply(
    region: &Region,
    payload: &Payload<'_>,
    _private: PrivateDestinations,
) -> Result<String, String> {
    match region.driver() {
        Driver::Inventory => Ok(match payload.config {
            Some(c) if payload.present => format!("recorded {} {}", c.artifact, c.version),
            _ => "recorded removal".to_owned(),
        }),
        Driver::Webhook => post(region, payload),
    }
}

fn post(region: &Region, payload: &Payload<'_>) -> Result<String, String> {
    let body = serde_json::to_vec(payload).map_err(|e| e.to_string())?;
    let signature = format!("sha256={}", sign(&region.webhook_secret, &body));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_millis(
            region.timeout_ms.max(100) as u64
        )))
        .http_status_as_error(false)
        // A redirect would turn the signed POST into a GET elsewhere: the configured URL only.
        .max_redirects(0)
        .build()
        .into();
    let attempts = region.max_attempts.clamp(1, 10);
    let mut last = String::new();
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
                let text = resp.body_mut().read_to_string().unwrap_or_default();
                let message = format!("HTTP {status}: {}", shorten(&text, 200));
                if (200..300).contains(&status) {
                    return Ok(message);
                }
                last = message;
                // A 4xx other than 408/429 will not improve by retrying.
                if (400..500).contains(&status) && status != 408 && status != 429 {
                    break;
                }
            }
            Err(e) => last = format!("request failed: {}", shorten(&e.to_string(), 200)),
        }
        if attempt < attempts {
            std::thread::sleep(Duration::from_millis(100 * 2u64.pow(attempt as u32 - 1)));
        }
    }
    Err(format!("{last} (after {made} attempt(s))"))
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
