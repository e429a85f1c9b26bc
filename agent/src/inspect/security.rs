//! Keeping other web pages out of the inspector: it can send requests to the developer's
//! services, so a page the developer happens to visit must not be able to drive it.
//!
//! - DNS rebinding: a hostile name resolving to 127.0.0.1 makes the browser send that name as
//!   `Host`. Only `localhost` and IP literals on our own port are accepted.
//! - CSRF: a cross-site form or `fetch` can send a POST but can neither read our page (no CORS
//!   headers) nor set a custom header without a preflight we never grant. So a POST needs the
//!   per-run token from the page in `x-hookrelay-token` and an `Origin` that is our own.
//! - Responses forbid framing and cross-origin embedding, and the page's CSP allows only our
//!   own script, so even a body that slipped into HTML could not run.

use super::json::error;
use super::server::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use rand::RngCore;
use std::net::IpAddr;
use std::sync::Arc;

/// The header a state-changing request carries the per-run token in.
pub const TOKEN_HEADER: &str = "x-hookrelay-token";

/// A fresh per-run secret (128 random bits, hex).
pub(super) fn new_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks every request, then adds the protective response headers.
pub(super) async fn guard(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let headers = req.headers();
    let Some(host) = allowed_host(&state, headers) else {
        return error(
            StatusCode::MISDIRECTED_REQUEST,
            "this inspector answers only to localhost or an IP address on its own port (Host header refused)",
        );
    };
    if req.method() != Method::GET && req.method() != Method::HEAD {
        if let Err(why) = check_state_change(&state, headers, &host) {
            return error(StatusCode::FORBIDDEN, why);
        }
    }
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The request's `Host` when it names us, lower-cased.
fn allowed_host(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let host = headers
        .get(header::HOST)?
        .to_str()
        .ok()?
        .to_ascii_lowercase();
    let (name, port) = split_host(&host)?;
    if port != state.port {
        return None;
    }
    let ok = match name.parse::<IpAddr>() {
        // A literal address cannot be rebound; off loopback it is how the inspector is reached.
        Ok(ip) => !state.loopback || ip.is_loopback(),
        Err(_) => name == "localhost",
    };
    ok.then_some(host)
}

/// `name:port` or `[v6]:port`; a Host without a port is refused (we never run on 80).
fn split_host(host: &str) -> Option<(&str, u16)> {
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        (ip, after.strip_prefix(':')?)
    } else {
        host.rsplit_once(':')?
    };
    Some((name, port.parse().ok()?))
}

fn check_state_change(
    state: &AppState,
    headers: &HeaderMap,
    host: &str,
) -> Result<(), &'static str> {
    let token = headers
        .get(TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or("missing x-hookrelay-token header (the page sends it; scripts read it from GET /api/session)")?;
    if !constant_time_eq(token.as_bytes(), state.token.as_bytes()) {
        return Err("wrong x-hookrelay-token");
    }
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .ok_or("missing Origin header")?;
    if !origin.eq_ignore_ascii_case(&format!("http://{host}")) {
        return Err("Origin is not this inspector");
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The page's Content-Security-Policy: our own script and style only, no inline script.
pub(super) const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_split() {
        assert_eq!(split_host("127.0.0.1:4040"), Some(("127.0.0.1", 4040)));
        assert_eq!(split_host("[::1]:4040"), Some(("::1", 4040)));
        assert_eq!(split_host("localhost"), None);
        assert_eq!(split_host("[::1]"), None);
    }

    #[test]
    fn tokens_compare() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert_eq!(new_token().len(), 32);
    }
}
