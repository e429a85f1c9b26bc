//! Captures as the inspector's JSON: a list row, the full exchange, and error bodies.

use crate::model::{Capture, CaptureKind};
use crate::output::inline_check;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use shared::exchange::Headers;
use shared::Blob;

/// Bodies bigger than this are left out of the detail JSON; the page loads them on demand
/// from `/api/events/{id}/body/{request|response}`.
pub const INLINE_BODY_LIMIT: usize = 256 * 1024;

/// A JSON answer.
pub fn reply(status: StatusCode, value: &Value) -> Response {
    let mut resp = (status, value.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// `{"error": message}` with `status`.
pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
    reply(status, &json!({ "error": message.into() }))
}

/// `{"error": message, "field": field}` with 400: which part of an edited request is wrong.
pub fn bad_field(field: &str, message: impl Into<String>) -> Response {
    reply(
        StatusCode::BAD_REQUEST,
        &json!({ "error": message.into(), "field": field }),
    )
}

/// `2xx` .. `5xx`, `failed`, `pending` or `verified` (answered by the relay).
pub fn status_class(c: &Capture) -> &'static str {
    if c.kind == CaptureKind::Verification {
        return "verified";
    }
    match (&c.outcome, c.status()) {
        (None, _) => "pending",
        (Some(_), None) => "failed",
        (Some(_), Some(s)) => match s / 100 {
            1 => "1xx",
            2 => "2xx",
            3 => "3xx",
            4 => "4xx",
            _ => "5xx",
        },
    }
}

/// One row of the list: what the page needs to draw it, nothing large.
pub fn row(c: &Capture) -> Value {
    let summary = shared::okta::summarize(c.request.body.as_bytes());
    let path = c.request.path_and_query();
    json!({
        "id": c.id,
        "kind": c.kind,
        "source": c.source,
        "received_at_ms": c.received_at_ms,
        "method": c.request.method,
        "path": if path.is_empty() { "/".to_string() } else { path },
        "status": c.status(),
        "status_class": status_class(c),
        "error": c.outcome.as_ref().and_then(|o| o.error()).map(|e| e.to_string()),
        "duration_ms": c.outcome.as_ref().map(|o| o.duration_us() as f64 / 1000.0),
        "summary": summary.as_ref().map(|s| s.one_line()),
        "event_types": summary.as_ref().map(|s| s.event_types.clone()).unwrap_or_default(),
        "hook_type": summary.as_ref().and_then(|s| s.hook_type.clone()),
        "duplicate": c.duplicate,
        "replay_of": c.replay_of,
        // Only an inline hook has a budget; skip parsing the body again for everything else.
        "inline": summary.as_ref().filter(|s| s.is_inline()).and_then(|_| inline_check(c)).map(|i| json!({
            "budget_used_ms": i.used_ms,
            "budget_pct": i.budget_pct,
            "warnings": i.warnings,
        })),
    })
}

/// The full exchange: the row plus headers, bodies, timings, Okta checks and replays.
pub fn detail(c: &Capture, replays: &[shared::EventId]) -> Value {
    let mut v = row(c);
    let summary = shared::okta::summarize(c.request.body.as_bytes());
    let extra = json!({
        "source": c.source,
        "seq": c.seq,
        "target_url": c.target_url,
        "timings": {
            "received_at_ms": c.received_at_ms,
            "delivered_at_ms": c.delivered_at_ms,
            "answered_at_ms": c.answered_at_ms,
            "duration_us": c.outcome.as_ref().map(|o| o.duration_us()),
        },
        "request": {
            "method": c.request.method,
            "path": c.request.path,
            "query": c.request.query,
            "headers": headers(&c.request.headers),
            "body": body(&c.request.body),
        },
        "response": c.outcome.as_ref().and_then(|o| o.response()).map(|r| json!({
            "status": r.status,
            "headers": headers(&r.headers),
            "body": body(&r.body),
        })),
        "okta": summary.map(|s| json!({
            "hook_type": s.hook_type,
            "event_id": s.event_id,
            "event_types": s.event_types,
            "target_names": s.target_names,
            "uuids": s.uuids,
            "inline": s.is_inline(),
        })),
        "replays": replays,
        "curl": crate::tui::curl::command(c),
    });
    if let (Some(obj), Value::Object(more)) = (v.as_object_mut(), extra) {
        obj.extend(more);
    }
    v
}

/// Headers in order, duplicates kept: `[[name, value], ...]` (a non-UTF-8 value as `{"b64"}`).
fn headers(h: &Headers) -> Value {
    serde_json::to_value(h).unwrap_or(Value::Null)
}

/// `{size, encoding: text|base64, content_type_hint: json|text|binary, data?}`; `data` is left
/// out (with `truncated: true`) above [`INLINE_BODY_LIMIT`].
fn body(b: &Blob) -> Value {
    let bytes = b.as_bytes();
    let text = b.as_str();
    let kind = match text {
        None => "binary",
        Some(t)
            if serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok() && !t.trim().is_empty() =>
        {
            "json"
        }
        Some(_) => "text",
    };
    if bytes.len() > INLINE_BODY_LIMIT {
        return json!({ "size": bytes.len(), "kind": kind, "truncated": true });
    }
    let data = match text {
        Some(t) => json!(t),
        None => {
            use base64::Engine;
            json!({ "b64": base64::engine::general_purpose::STANDARD.encode(bytes) })
        }
    };
    json!({ "size": bytes.len(), "kind": kind, "truncated": false, "data": data })
}
