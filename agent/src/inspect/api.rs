//! `/api`: the list with filters and cursor pagination, one exchange, its bodies, replay and
//! edit-and-replay, export. The page uses exactly this; scripts may too (README).

use super::edit::{self, EditedRequest};
use super::json::{self, bad_field, error, reply};
use super::security::TOKEN_HEADER;
use super::server::AppState;
use crate::capture::{Filter, StatusClass};
use crate::export::ExportFormat;
use crate::model::Capture;
use crate::target::Target;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use shared::EventId;
use std::sync::Arc;

/// Rows per page unless `limit` says otherwise; and the most a page may ask for.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 500;
/// Most captures one export takes.
const MAX_EXPORT: usize = 10_000;

/// `GET /api/session`: what a script needs to make state-changing calls.
pub(super) async fn session(State(state): State<Arc<AppState>>) -> Response {
    reply(
        StatusCode::OK,
        &json!({
            "token": state.token,
            "token_header": TOKEN_HEADER,
            "target": state.opts.target.as_ref().map(Target::url),
        }),
    )
}

/// The list's query string.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    limit: Option<usize>,
    /// The previous page's `next_cursor`.
    before: Option<String>,
    /// Comma-separated classes: `2xx,4xx,failed,pending`.
    status: Option<String>,
    /// An Okta event type (`user.lifecycle.create`) or hook type (`com.okta.oauth2.tokens.transform`).
    #[serde(rename = "type")]
    event_type: Option<String>,
    /// Free text: path, status code, event type or body text.
    q: Option<String>,
}

/// `GET /api/events`: newest first.
pub(super) async fn list(
    State(state): State<Arc<AppState>>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let q = match q {
        Ok(Query(q)) => q,
        Err(e) => return bad_field("query", e.body_text()),
    };
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let before = match q.before.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match s.parse::<EventId>() {
            Ok(id) => Some(id),
            Err(_) => {
                return bad_field("before", format!("{s:?} is not a cursor from next_cursor"))
            }
        },
    };
    let mut status = Vec::new();
    for part in q.status.as_deref().unwrap_or("").split(',').map(str::trim) {
        if part.is_empty() {
            continue;
        }
        match part.parse::<StatusClass>() {
            Ok(c) => status.push(c),
            Err(e) => return bad_field("status", e),
        }
    }
    let event_type = q
        .event_type
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    let filter = Filter {
        status,
        body_mentions: event_type.clone(),
        search: q.q.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()),
    };
    let store = state.opts.store.clone();
    let found = tokio::task::spawn_blocking(move || {
        store.page_matching(&filter, before, limit, |c| match &event_type {
            None => true,
            Some(t) => has_type(c, t),
        })
    })
    .await;
    match found {
        Ok(Ok((page, more))) => {
            let next = if more {
                page.last().map(|c| c.id)
            } else {
                None
            };
            let rows: Vec<_> = page.iter().map(json::row).collect();
            reply(
                StatusCode::OK,
                &json!({ "events": rows, "next_cursor": next }),
            )
        }
        Ok(Err(e)) => internal(e),
        Err(e) => internal(anyhow::anyhow!("the list task failed: {e}")),
    }
}

fn has_type(c: &Capture, wanted: &str) -> bool {
    shared::okta::summarize(c.request.body.as_bytes()).is_some_and(|s| {
        s.hook_type.as_deref() == Some(wanted) || s.event_types.iter().any(|t| t == wanted)
    })
}

/// `GET /api/events/{id}`: the full exchange.
pub(super) async fn detail(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let c = match find(&state, &id) {
        Ok(c) => c,
        Err(resp) => return *resp,
    };
    match state.opts.store.replays_of(c.id) {
        Ok(replays) => reply(StatusCode::OK, &json::detail(&c, &replays)),
        Err(e) => internal(e),
    }
}

/// `GET /api/events/{id}/body/{request|response}`: the raw bytes, as a download, never as a
/// page (`nosniff`, attachment), so a hostile body cannot become HTML here.
pub(super) async fn body(
    State(state): State<Arc<AppState>>,
    Path((id, part)): Path<(String, String)>,
) -> Response {
    let c = match find(&state, &id) {
        Ok(c) => c,
        Err(resp) => return *resp,
    };
    let bytes = match part.as_str() {
        "request" => c.request.body.0.clone(),
        "response" => match c.outcome.and_then(|o| o.response().cloned()) {
            Some(r) => r.body.0,
            None => return error(StatusCode::NOT_FOUND, "this capture has no response"),
        },
        _ => {
            return error(
                StatusCode::NOT_FOUND,
                "body part must be request or response",
            )
        }
    };
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{id}-{part}.bin\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// `POST /api/events/{id}/replay`: sends the capture again (edited when a body is given) and
/// answers `201` with the new capture, failed or not.
pub(super) async fn replay(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let original = match find(&state, &id) {
        Ok(c) => c,
        Err(resp) => return *resp,
    };
    let edited = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let edit: EditedRequest = match serde_json::from_slice(&body) {
            Ok(e) => e,
            Err(e) => {
                return bad_field("body", format!("the edited request is not valid JSON: {e}"))
            }
        };
        match edit::apply(&original.request, edit) {
            Ok(req) => Some(req),
            Err(e) => return bad_field(&e.field, e.message),
        }
    };
    let target = match &state.opts.target {
        Some(t) => t.clone(),
        None => match original_target(&original) {
            Some(t) => t,
            None => {
                return error(
                    StatusCode::CONFLICT,
                    "this capture has no target URL to replay to (it was never delivered)",
                )
            }
        },
    };
    let done = crate::replay::replay(
        &state.opts.store,
        &state.opts.deliverer,
        &target,
        &original,
        edited,
        Some(&state.opts.events),
    )
    .await;
    match done {
        Ok(c) => {
            let mut resp = reply(StatusCode::CREATED, &json::detail(&c, &[]));
            if let Ok(v) = HeaderValue::from_str(&format!("/api/events/{}", c.id)) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            resp
        }
        Err(e) => internal(e),
    }
}

/// The target a capture went to, minus the sender's own suffix and query.
fn original_target(c: &Capture) -> Option<Target> {
    let url = c.target_url.as_str();
    if url.is_empty() {
        return None;
    }
    let base = url
        .strip_suffix(c.request.path_and_query().as_str())
        .unwrap_or(url);
    Target::parse(base, "").ok()
}

/// The export's query string.
#[derive(Debug, Deserialize)]
pub(super) struct ExportQuery {
    /// `har` (default) or `json`.
    format: Option<String>,
    /// Comma-separated ids; every capture when absent (newest [`MAX_EXPORT`]).
    ids: Option<String>,
}

/// `GET /api/export?format=har|json&ids=a,b`: a file download.
pub(super) async fn export(
    State(state): State<Arc<AppState>>,
    q: Result<Query<ExportQuery>, QueryRejection>,
) -> Response {
    let q = match q {
        Ok(Query(q)) => q,
        Err(e) => return bad_field("query", e.body_text()),
    };
    let format = match q.format.as_deref().unwrap_or("har").parse::<ExportFormat>() {
        Ok(f) => f,
        Err(e) => return bad_field("format", format!("{e:#}")),
    };
    let captures = match q.ids.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(ids) => {
            let mut out = Vec::new();
            for id in ids.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                match find(&state, id) {
                    Ok(c) => out.push(c),
                    Err(resp) => return *resp,
                }
            }
            out
        }
        None => match state.opts.store.recent(MAX_EXPORT) {
            Ok(all) => all,
            Err(e) => return internal(e),
        },
    };
    match crate::export::export(&captures, format) {
        Ok(bytes) => {
            let mut resp = bytes.into_response();
            let h = resp.headers_mut();
            let ct = match format {
                ExportFormat::Ndjson => "application/x-ndjson",
                ExportFormat::Har | ExportFormat::Json => "application/json",
            };
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            let name = format!("attachment; filename=\"hookrelay.{}\"", format.extension());
            if let Ok(v) = HeaderValue::from_str(&name) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            resp
        }
        Err(e) => internal(e),
    }
}

/// Anything else under the inspector: a JSON 404.
pub(super) async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such page or API")
}

/// A capture by id; an unknown or malformed id is a 404.
fn find(state: &AppState, id: &str) -> Result<Capture, Box<Response>> {
    let parsed: EventId = id
        .parse()
        .map_err(|_| Box::new(error(StatusCode::NOT_FOUND, format!("no capture {id:?}"))))?;
    match state.opts.store.get(parsed) {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(Box::new(error(
            StatusCode::NOT_FOUND,
            format!("no capture {id}"),
        ))),
        Err(e) => Err(Box::new(internal(e))),
    }
}

fn internal(e: anyhow::Error) -> Response {
    tracing::warn!(error = %format!("{e:#}"), "an inspector request failed");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error (see the agent's log)",
    )
}
