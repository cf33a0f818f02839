//! Who calls the API: the user a bearer token stands for (`Caller`), and `Writer`, a caller
//! whose token may change things. The API reads no cookie and no session, so a browser cannot
//! be made to call it with someone's rights: that is why its routes need no CSRF token
//! (`auth::csrf` skips `/api/`). The token acts as its user and nothing more; every rule is
//! the data layer's, as for the pages. Each token has a request budget (`RateLimiter`).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::problem::ApiError;
use crate::auth::extract::state;
use crate::db::models::tokens::{self, ApiToken};
use crate::db::models::users::User;
use crate::domain::{TokenId, TokenScope};
use crate::error::AppError;
use crate::state::{with_conn, with_read_conn};

/// The user a valid bearer token stands for, and the token.
pub struct Caller {
    pub user: User,
    pub token: ApiToken,
}

/// A caller whose token has the `write` scope: handlers that change state take this, so a
/// read-only token is refused (403) before anything is read.
pub struct Writer(pub Caller);

/// The token of `Authorization: Bearer …`, if the header is there and says so.
fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = state(req);
        let secret = bearer(req);
        let limiter = req.app_data::<web::Data<RateLimiter>>().cloned();
        let client_ip = req
            .peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_else(|| "unknown".into());
        Box::pin(async move {
            let state = state?;
            let secret = secret.ok_or(AppError::Unauthenticated)?;
            let ip = client_ip.clone();
            let (user, token, due) = with_read_conn(&state, move |conn| {
                Ok(tokens::authenticate(conn, &secret, &ip)?)
            })
            .await?
            .ok_or(AppError::Unauthenticated)?;
            if let Some(limiter) = limiter
                && let Err(wait) = limiter.admit(token.id, Instant::now())
            {
                return Err(ApiError::RateLimited(wait.as_secs().max(1)));
            }
            if due {
                let (t, name) = (token.clone(), user.username.clone());
                if let Err(e) = with_conn(&state, move |conn| {
                    tokens::record_use(conn, &t, &name, &client_ip)
                })
                .await
                {
                    tracing::warn!(error = %e, "could not record a token's use");
                }
            }
            Ok(Caller { user, token })
        })
    }
}

impl FromRequest for Writer {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = Caller::from_request(req, payload);
        Box::pin(async move {
            let caller = caller.await?;
            if caller.token.scope != TokenScope::Write {
                return Err(AppError::forbidden(
                    "This token is read-only: create one with the write scope to change things.",
                )
                .into());
            }
            Ok(Writer(caller))
        })
    }
}

/// Requests one token may hold open with `?wait=` at once: each re-reads its item every
/// `packages::WAIT_POLL`, so their number is bounded; one more is refused with 429.
pub const MAX_WAITS_PER_TOKEN: usize = 5;

/// The `?wait=` requests open on this instance, per token.
#[derive(Default)]
pub struct Waits {
    open: Mutex<HashMap<TokenId, usize>>,
}

/// One open wait; dropping it (the request answered or gone) frees the slot.
pub struct WaitSlot {
    waits: web::Data<Waits>,
    token: TokenId,
}

impl Waits {
    /// A slot for `token`, or 429 when it holds `MAX_WAITS_PER_TOKEN` already.
    pub fn take(waits: &web::Data<Waits>, token: TokenId) -> Result<WaitSlot, ApiError> {
        let mut open = waits.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(token).or_insert(0);
        if *n >= MAX_WAITS_PER_TOKEN {
            return Err(ApiError::RateLimited(1));
        }
        *n += 1;
        Ok(WaitSlot {
            waits: waits.clone(),
            token,
        })
    }
}

impl Drop for WaitSlot {
    fn drop(&mut self) {
        let mut open = self.waits.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.token) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.token);
            }
        }
    }
}

/// A token bucket per token: `per_minute` requests a minute on average, in bursts of up to a
/// fifth of that. Per instance: behind several instances a token gets each one's budget.
/// Buckets untouched for ten minutes are dropped, so memory follows the tokens in use.
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<TokenId, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute: per_minute.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn burst(&self) -> f64 {
        f64::from(self.per_minute.div_ceil(5).max(1))
    }

    /// Takes one request from `token`'s bucket, or says how long until one is there.
    pub fn admit(&self, token: TokenId, now: Instant) -> Result<(), Duration> {
        let rate = f64::from(self.per_minute) / 60.0;
        let burst = self.burst();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 1024 {
            buckets.retain(|_, b| now.duration_since(b.at) < Duration::from_secs(600));
        }
        let bucket = buckets.entry(token).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                ((1.0 - bucket.tokens) / rate).ceil(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_bounded_per_token_and_freed() {
        let waits = web::Data::new(Waits::default());
        let slots: Vec<_> = (0..MAX_WAITS_PER_TOKEN)
            .map(|_| Waits::take(&waits, TokenId(1)).unwrap())
            .collect();
        assert!(Waits::take(&waits, TokenId(1)).is_err());
        assert!(Waits::take(&waits, TokenId(2)).is_ok());
        drop(slots);
        assert!(Waits::take(&waits, TokenId(1)).is_ok());
        assert!(waits.open.lock().unwrap().get(&TokenId(1)).is_none());
    }

    #[test]
    fn a_burst_then_the_rate() {
        let limiter = RateLimiter::new(60);
        let t0 = Instant::now();
        let token = TokenId(1);
        for _ in 0..12 {
            assert!(limiter.admit(token, t0).is_ok());
        }
        let wait = limiter.admit(token, t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(1));
        // Another token has its own bucket.
        assert!(limiter.admit(TokenId(2), t0).is_ok());
        // One a second comes back.
        assert!(limiter.admit(token, t0 + Duration::from_secs(1)).is_ok());
        assert!(limiter.admit(token, t0 + Duration::from_secs(1)).is_err());
    }
}
