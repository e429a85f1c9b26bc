//! Request limits: header size and count (`431`), per-source token-bucket rate limit (`429`),
//! and sender authentication by a required header (`401`).

use crate::error::RelayError;
use crate::state::RelayState;
use crate::store::SenderAuth;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A per-source rate limit: `per_sec` requests a second on average, bursts up to `burst`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_sec: f64,
    /// Requests allowed at once after a quiet period.
    pub burst: u32,
}

/// A token bucket; starts full.
#[derive(Debug)]
pub struct TokenBucket {
    tokens: f64,
    last: Instant,
}

impl Default for TokenBucket {
    fn default() -> Self {
        TokenBucket {
            tokens: f64::INFINITY,
            last: Instant::now(),
        }
    }
}

impl TokenBucket {
    /// Takes one token at `now`, or says how long until one is available.
    pub fn take(&mut self, limit: RateLimit, now: Instant) -> Result<(), Duration> {
        let burst = f64::from(limit.burst.max(1));
        let rate = limit.per_sec.max(f64::MIN_POSITIVE);
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - self.tokens) / rate;
            Err(Duration::from_secs_f64(wait.min(86_400.0)))
        }
    }
}

/// Seconds for a `Retry-After` header: rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

/// Checks that `headers` carry exactly one `auth.name` header whose value is exactly
/// `auth.value` (constant-time comparison).
pub fn check_sender(auth: &SenderAuth, headers: &HeaderMap) -> Result<(), RelayError> {
    let mut values = headers.get_all(auth.name.as_str()).iter();
    let ok = match (values.next(), values.next()) {
        (Some(v), None) => {
            crate::tokens::constant_time_eq(v.as_bytes(), auth.value.expose().as_bytes())
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(RelayError::Unauthorized)
    }
}

/// Middleware: refuses requests with more headers, or more header bytes, than configured.
pub async fn header_limits(
    State(state): State<Arc<RelayState>>,
    req: Request,
    next: Next,
) -> Response {
    let headers = req.headers();
    let count = headers.len();
    let bytes: usize = headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum();
    let cfg = &state.config;
    if count > cfg.max_headers {
        return RelayError::HeadersTooLarge(format!(
            "{count} headers exceed the limit of {}",
            cfg.max_headers
        ))
        .into_response();
    }
    if bytes > cfg.max_header_bytes {
        return RelayError::HeadersTooLarge(format!(
            "headers exceed the limit of {} bytes",
            cfg.max_header_bytes
        ))
        .into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refuses_then_refills() {
        let limit = RateLimit {
            per_sec: 10.0,
            burst: 3,
        };
        let t0 = Instant::now();
        let mut b = TokenBucket::default();
        for _ in 0..3 {
            assert!(b.take(limit, t0).is_ok());
        }
        let wait = b.take(limit, t0).expect_err("empty");
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(100));
        assert_eq!(retry_after_secs(wait), 1);
        assert!(b.take(limit, t0 + Duration::from_millis(100)).is_ok());
        assert!(b.take(limit, t0 + Duration::from_millis(100)).is_err());
    }

    #[test]
    fn sender_header_must_match_exactly_once() {
        let auth = SenderAuth {
            name: "Authorization".into(),
            value: "s3cret".into(),
        };
        let mut h = HeaderMap::new();
        assert!(check_sender(&auth, &h).is_err());
        h.insert("authorization", "s3cre".parse().expect("value"));
        assert!(check_sender(&auth, &h).is_err());
        h.insert("authorization", "s3cret".parse().expect("value"));
        assert!(check_sender(&auth, &h).is_ok());
        h.append("authorization", "s3cret".parse().expect("value"));
        assert!(check_sender(&auth, &h).is_err());
    }
}
