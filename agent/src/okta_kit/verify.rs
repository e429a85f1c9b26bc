//! Plays Okta's one-time event hook verification against a URL and says whether Okta would pass it.

use super::event_hook::DEFAULT_HOOK_ID;
use super::fake;
use super::okta_headers;
use crate::deliver::{DeliverOptions, Deliverer};
use shared::okta::{check_verification_response, VERIFICATION_HEADER};
use shared::{Blob, DeliveryError, DeliveryOutcome, Header, HttpRequest};
use std::time::{Duration, Instant};

/// How long Okta waits for each verification try.
pub const VERIFY_TIMEOUT: Duration = Duration::from_secs(3);

/// How many tries Okta makes: the first and one retry after a timeout or error.
const TRIES: u32 = 2;

/// The verdict of [`verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Okta would mark the hook verified.
    pub passed: bool,
    /// What happened, readable: the answer on success, why Okta would reject it otherwise.
    pub reason: String,
    /// Requests sent (1 or 2).
    pub attempts: u32,
    /// Time for all attempts, in milliseconds.
    pub elapsed_ms: u64,
    /// The random challenge that was sent.
    pub challenge: String,
}

/// Sends Okta's verification GET to `url` exactly as Okta does: a random
/// `x-okta-verification-challenge`, the auth header `(name, value)` when given, 3 s per try and
/// one retry after a timeout, connection error or 5xx. Passes only on `200`,
/// `application/json` and exactly `{"verification": challenge}`.
pub async fn verify(url: &str, auth: Option<(&str, &str)>) -> VerifyReport {
    let opts = DeliverOptions {
        timeout: VERIFY_TIMEOUT,
        insecure: false,
    };
    verify_with(url, auth, &opts).await
}

/// [`verify`] with another per-try timeout or certificate checking turned off.
pub async fn verify_with(
    url: &str,
    auth: Option<(&str, &str)>,
    opts: &DeliverOptions,
) -> VerifyReport {
    let start = Instant::now();
    let challenge = fake::token(48);
    let deliverer = Deliverer::new(opts);
    let req = verification_request(&challenge, auth);
    let mut reasons: Vec<String> = Vec::new();
    let mut attempts = 0;
    let mut passed = false;
    while attempts < TRIES {
        attempts += 1;
        let outcome = deliverer.deliver(url, &req).await;
        let (verdict, retry) = judge(&challenge, &outcome);
        match verdict {
            Ok(ok) => {
                passed = true;
                reasons.push(ok);
                break;
            }
            Err(why) => reasons.push(why),
        }
        if !retry {
            break;
        }
    }
    let reason = if passed {
        match reasons.as_slice() {
            [ok] => ok.clone(),
            [first, .., ok] => format!("{ok} (on the retry; first try: {first})"),
            [] => String::new(),
        }
    } else {
        explain(&reasons)
    };
    let reason = if url.starts_with("http://") {
        format!("{reason}. Note: Okta itself only calls https:// URLs")
    } else {
        reason
    };
    VerifyReport {
        passed,
        reason,
        attempts,
        elapsed_ms: start.elapsed().as_millis() as u64,
        challenge,
    }
}

/// The GET Okta sends: challenge header, Okta's usual headers and the configured auth header.
fn verification_request(challenge: &str, auth: Option<(&str, &str)>) -> HttpRequest {
    let mut headers: Vec<Header> = okta_headers(DEFAULT_HOOK_ID, auth)
        .into_iter()
        .filter(|h| !h.name().eq_ignore_ascii_case("content-type"))
        .collect();
    headers.push(Header::new(VERIFICATION_HEADER, challenge));
    HttpRequest {
        method: "GET".into(),
        path: String::new(),
        query: None,
        headers,
        body: Blob::default(),
    }
}

/// Whether one answer passes, and if not whether Okta would try again.
fn judge(challenge: &str, outcome: &DeliveryOutcome) -> (Result<String, String>, bool) {
    let ms = outcome.duration_us() / 1000;
    let Some(resp) = outcome.response() else {
        let retry = !matches!(outcome.error(), Some(DeliveryError::InvalidRequest(_)));
        let why = match outcome.error() {
            Some(DeliveryError::Timeout(t)) => {
                format!("no answer within {t} ms (Okta waits 3 s)")
            }
            Some(e) => e.to_string(),
            None => "no answer".into(),
        };
        return (Err(why), retry);
    };
    let content_type = resp.header("content-type");
    match check_verification_response(challenge, resp.status, content_type, resp.body.as_bytes()) {
        Ok(()) => (
            Ok(format!(
                "answered {} {} {} in {ms} ms",
                resp.status,
                content_type.unwrap_or_default(),
                String::from_utf8_lossy(resp.body.as_bytes())
            )),
            false,
        ),
        Err(why) => (Err(why), resp.status >= 500),
    }
}

fn explain(reasons: &[String]) -> String {
    match reasons {
        [] => "nothing was sent".into(),
        [one] => one.clone(),
        [first, rest @ ..] if rest.iter().all(|r| r == first) => {
            format!("{first} (on both tries)")
        }
        all => all
            .iter()
            .enumerate()
            .map(|(i, r)| format!("try {}: {r}", i + 1))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::get;
    use axum::Router;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    use tokio::net::TcpListener;

    const LIMIT: Duration = Duration::from_secs(20);

    async fn serve(app: Router) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/okta-webhooks-endpoint")
    }

    fn challenge_of(h: &HeaderMap) -> String {
        h.get(VERIFICATION_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    fn json_reply(body: Vec<u8>) -> ([(&'static str, &'static str); 1], Vec<u8>) {
        ([("content-type", "application/json")], body)
    }

    #[tokio::test]
    async fn passes_against_a_correct_endpoint_with_auth() {
        let app = Router::new().route(
            "/okta-webhooks-endpoint",
            get(|h: HeaderMap| async move {
                let authed =
                    h.get("authorization").and_then(|v| v.to_str().ok()) == Some("Basic c2VjcmV0");
                let ua_ok = h
                    .get("user-agent")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|ua| ua.starts_with("Okta Hook Service"));
                if !authed || !ua_ok {
                    return (StatusCode::UNAUTHORIZED, json_reply(Vec::new()));
                }
                let body = shared::okta::verification_response(&challenge_of(&h));
                (StatusCode::OK, json_reply(body))
            }),
        );
        let url = serve(app).await;
        let report = tokio::time::timeout(
            LIMIT,
            verify(&url, Some(("authorization", "Basic c2VjcmV0"))),
        )
        .await
        .expect("in time");
        assert!(report.passed, "{report:?}");
        assert_eq!(report.attempts, 1);
        assert_eq!(report.challenge.len(), 48);
        assert!(
            report.reason.contains(&report.challenge),
            "{}",
            report.reason
        );

        let unauth = tokio::time::timeout(LIMIT, verify(&url, None))
            .await
            .expect("in time");
        assert!(!unauth.passed);
        assert!(unauth.reason.contains("status 401"), "{}", unauth.reason);
        assert_eq!(unauth.attempts, 1, "a 4xx is not retried");
    }

    #[tokio::test]
    async fn fails_readably_on_the_wrong_challenge() {
        let app = Router::new().route(
            "/okta-webhooks-endpoint",
            get(|| async { json_reply(br#"{"verification":"not-it"}"#.to_vec()) }),
        );
        let url = serve(app).await;
        let report = tokio::time::timeout(LIMIT, verify(&url, None))
            .await
            .expect("in time");
        assert!(!report.passed);
        assert!(
            report.reason.contains("wrong challenge"),
            "{}",
            report.reason
        );
        assert!(report.reason.contains("not-it"), "{}", report.reason);
        assert_eq!(report.attempts, 1);
    }

    #[tokio::test]
    async fn retries_once_on_500() {
        let hits = Arc::new(AtomicU32::new(0));
        let counter = hits.clone();
        let app = Router::new().route(
            "/okta-webhooks-endpoint",
            get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }
            }),
        );
        let url = serve(app).await;
        let report = tokio::time::timeout(LIMIT, verify(&url, None))
            .await
            .expect("in time");
        assert!(!report.passed);
        assert_eq!(report.attempts, 2);
        assert_eq!(hits.load(Ordering::SeqCst), 2);
        assert!(report.reason.contains("status 500"), "{}", report.reason);
        assert!(report.reason.contains("both tries"), "{}", report.reason);
    }

    #[tokio::test]
    async fn passes_when_the_retry_succeeds() {
        let hits = Arc::new(AtomicU32::new(0));
        let counter = hits.clone();
        let app = Router::new().route(
            "/okta-webhooks-endpoint",
            get(move |h: HeaderMap| {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n == 0 {
                        (StatusCode::SERVICE_UNAVAILABLE, json_reply(Vec::new()))
                    } else {
                        let body = shared::okta::verification_response(&challenge_of(&h));
                        (StatusCode::OK, json_reply(body))
                    }
                }
            }),
        );
        let url = serve(app).await;
        let report = tokio::time::timeout(LIMIT, verify(&url, None))
            .await
            .expect("in time");
        assert!(report.passed, "{report:?}");
        assert_eq!(report.attempts, 2);
        assert!(report.reason.contains("retry"), "{}", report.reason);
    }

    #[tokio::test]
    async fn fails_when_nothing_listens() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let url = format!("http://{addr}/okta-webhooks-endpoint");
        let report = tokio::time::timeout(LIMIT, verify(&url, None))
            .await
            .expect("in time");
        assert!(!report.passed);
        assert_eq!(report.attempts, 2);
        assert!(report.reason.contains("refused"), "{}", report.reason);
        assert!(report.reason.contains("https://"), "{}", report.reason);
    }

    #[tokio::test]
    async fn a_silent_endpoint_times_out_twice() {
        let app = Router::new().route(
            "/okta-webhooks-endpoint",
            get(std::future::pending::<&'static str>),
        );
        let url = serve(app).await;
        let opts = DeliverOptions {
            timeout: Duration::from_millis(200),
            insecure: false,
        };
        let report = tokio::time::timeout(LIMIT, verify_with(&url, None, &opts))
            .await
            .expect("in time");
        assert!(!report.passed);
        assert_eq!(report.attempts, 2);
        assert!(
            report.reason.contains("no answer within 200 ms"),
            "{}",
            report.reason
        );
        assert!(report.elapsed_ms >= 400, "{}", report.elapsed_ms);
    }

    #[tokio::test]
    async fn a_bad_url_is_not_retried() {
        let report = tokio::time::timeout(LIMIT, verify("not a url", None))
            .await
            .expect("in time");
        assert!(!report.passed);
        assert_eq!(report.attempts, 1);
        assert!(
            report.reason.contains("invalid request"),
            "{}",
            report.reason
        );
    }
}
