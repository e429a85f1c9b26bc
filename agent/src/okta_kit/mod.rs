//! Okta developer kit: realistic event and inline hook requests, and Okta's verification handshake.
//!
//! `agent trigger` builds a body with [`event_hook_body`] or [`inline_hook_body_with`], headers
//! with [`okta_headers`] or [`inline_headers`], and turns both into a request with
//! [`build_trigger_request`]; `agent verify` calls [`verify`].

mod event_hook;
mod fake;
mod inline;
mod inline_data;
mod targets;
mod verify;

pub use event_hook::{event_hook_body, TriggerOptions, DEFAULT_HOOK_ID, DEFAULT_ORG};
pub use inline::{inline_hook_body, inline_hook_body_with, InlineKind, UnknownInlineKind};
pub use targets::target_types;
pub use verify::{verify, verify_with, VerifyReport, VERIFY_TIMEOUT};

use serde_json::Value;
use shared::{Blob, Header, HttpRequest};

/// The event types Okta publishes as eligible for event hooks, one a line.
const EVENT_TYPES: &str = include_str!("event-types.txt");

/// Every event type Okta lets an event hook subscribe to (264 of them), in alphabetical order.
pub fn event_types() -> Vec<&'static str> {
    EVENT_TYPES
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

/// True when `ty` is one of [`event_types`].
pub fn is_event_type(ty: &str) -> bool {
    event_types().contains(&ty)
}

/// The event types matching `query`: the type itself when it is one, otherwise every type
/// containing it (case-insensitive), e.g. `user.lifecycle` or `deactivate`.
pub fn find_event_types(query: &str) -> Vec<&'static str> {
    let all = event_types();
    if let Some(exact) = all.iter().find(|t| **t == query) {
        return vec![*exact];
    }
    let q = query.to_ascii_lowercase();
    all.into_iter()
        .filter(|t| t.to_ascii_lowercase().contains(&q))
        .collect()
}

/// The headers Okta sends with every hook request: `accept` and `content-type`
/// `application/json`, `user-agent: Okta Hook Service v1.0.0 - {hook_id}`, and the configured
/// auth header `(name, value)` verbatim when there is one.
pub fn okta_headers(hook_id: &str, auth: Option<(&str, &str)>) -> Vec<Header> {
    let mut headers = vec![
        Header::new("accept", "application/json"),
        Header::new("content-type", "application/json"),
        Header::new(
            "user-agent",
            format!("Okta Hook Service v1.0.0 - {hook_id}"),
        ),
    ];
    if let Some((name, value)) = auth {
        headers.push(Header::new(name.to_ascii_lowercase(), value));
    }
    headers
}

/// [`okta_headers`] plus the `x-okta-request-id` real inline hook requests carry.
pub fn inline_headers(hook_id: &str, auth: Option<(&str, &str)>) -> Vec<Header> {
    let mut headers = okta_headers(hook_id, auth);
    headers.push(Header::new("x-okta-request-id", fake::token(27)));
    headers
}

/// A `POST` carrying `body` as compact JSON, ready for `Deliverer::deliver` or the capture store.
pub fn build_trigger_request(body: &Value, headers: Vec<Header>) -> HttpRequest {
    let bytes = serde_json::to_vec(body).expect("a serde_json::Value always serialises");
    HttpRequest {
        method: "POST".into(),
        path: String::new(),
        query: None,
        headers,
        body: Blob::from(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_264_event_types_are_embedded() {
        let types = event_types();
        assert_eq!(types.len(), 264);
        assert!(types.contains(&"user.lifecycle.deactivate"));
        assert!(types.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
        assert!(is_event_type("user.session.start"));
        assert!(!is_event_type("user.session"));
    }

    #[test]
    fn finds_event_types_by_part() {
        assert_eq!(
            find_event_types("user.session.start"),
            ["user.session.start"]
        );
        let lifecycle = find_event_types("USER.LIFECYCLE");
        assert!(lifecycle.len() >= 6 && lifecycle.iter().all(|t| t.starts_with("user.lifecycle")));
        assert!(find_event_types("no-such-thing").is_empty());
    }

    #[test]
    fn headers_look_like_okta() {
        let h = okta_headers("who123", Some(("Authorization", "Basic YWRtaW46c2VjcmV0")));
        let get = |n: &str| shared::exchange::header_str(&h, n).map(str::to_string);
        assert_eq!(get("accept").as_deref(), Some("application/json"));
        assert_eq!(get("content-type").as_deref(), Some("application/json"));
        assert_eq!(
            get("user-agent").as_deref(),
            Some("Okta Hook Service v1.0.0 - who123")
        );
        assert_eq!(
            get("authorization").as_deref(),
            Some("Basic YWRtaW46c2VjcmV0")
        );
        assert_eq!(okta_headers("x", None).len(), 3);

        let i = inline_headers("who123", None);
        let id = shared::exchange::header_str(&i, "x-okta-request-id").expect("request id");
        assert_eq!(id.len(), 27);
    }

    #[test]
    fn trigger_request_is_a_json_post() {
        let body = event_hook_body(&["user.lifecycle.create"], &TriggerOptions::default());
        let req = build_trigger_request(&body, okta_headers(DEFAULT_HOOK_ID, None));
        assert_eq!(req.method, "POST");
        assert_eq!(req.path, "");
        assert_eq!(req.header("content-type"), Some("application/json"));
        let back: Value = serde_json::from_slice(req.body.as_bytes()).expect("json body");
        assert_eq!(back, body);
    }
}
