//! Webhook ingress: `ANY /h/{source}[/suffix][?query]` — verification, store, ack or proxy.

use crate::error::{json_error, RelayError};
use crate::state::RelayState;
use crate::store::NewEvent;
use crate::{limits, metrics, proxy};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use shared::okta::{self, VERIFICATION_HEADER};
use shared::{Blob, DeliveryOutcome, Event, EventId, Header, HttpRequest, Mode, RelayMessage};
use std::net::SocketAddr;
use std::sync::Arc;

/// Response headers that describe the agent's hop, not the answer.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
];

/// Handles every request under `/h/`.
pub async fn handle(State(state): State<Arc<RelayState>>, req: Request) -> Response {
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| proxy::client_ip(c.0.ip(), req.headers(), &state.config.trusted_proxies));
    let mut label = metrics::UNKNOWN_SOURCE.to_string();
    let resp = match receive(&state, req, &mut label).await {
        Ok(resp) => resp,
        Err(err) => {
            tracing::debug!(%err, source = %label, client = ?client, "webhook refused");
            err.into_response()
        }
    };
    state.metrics.record_request(&label, resp.status().as_u16());
    resp
}

async fn receive(
    state: &Arc<RelayState>,
    req: Request,
    label: &mut String,
) -> Result<Response, RelayError> {
    let received_at_ms = crate::clock::now_ms();
    let (parts, body) = req.into_parts();
    let raw_path = parts.uri.path();
    let rest = raw_path.strip_prefix("/h/").unwrap_or("");
    let (source, suffix) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let info = state
        .source_info(source)
        .await
        .ok_or_else(|| RelayError::UnknownSource(source.to_string()))?;
    source.clone_into(label);
    let settings = &info.settings;
    if let Some(auth) = &settings.sender_auth {
        limits::check_sender(auth, &parts.headers)?;
    }
    let hub = state.hub.source(source);

    if let Some(limit) = state.config.rate_limit {
        hub.admit(limit).map_err(|wait| {
            RelayError::RateLimited(source.to_string(), limits::retry_after_secs(wait))
        })?;
    }

    if parts.method == axum::http::Method::GET {
        if let Some(challenge) = parts.headers.get(VERIFICATION_HEADER) {
            let challenge = String::from_utf8_lossy(challenge.as_bytes()).into_owned();
            tracing::info!(source, "answered an Okta verification challenge");
            let body = okta::verification_response(&challenge);
            hub.notify(RelayMessage::Verification {
                source: source.to_string(),
                at_ms: received_at_ms,
                challenge,
            });
            return Ok((
                StatusCode::OK,
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response());
        }
    }

    if let Some(max) = state.config.max_queued_events {
        check_backlog(state, source, max)?;
    }
    let limit = state.config.max_body_bytes;
    let read_timeout = state.config.body_read_timeout;
    let declared = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    let body = tokio::time::timeout(read_timeout, read_body(body, limit, declared))
        .await
        .map_err(|_| RelayError::ReadTimeout(read_timeout.as_millis() as u64))??;
    let request = HttpRequest {
        method: parts.method.as_str().to_string(),
        path: suffix.to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| Header(n.as_str().to_string(), Blob::from(v.as_bytes())))
            .collect(),
        body: Blob(body),
    };
    let keys = okta::dedup_keys(request.body.as_bytes());
    // Whether the sender waits for the local answer is the source's setting, or in auto mode
    // the body's: Okta blocks a user's flow on an inline hook until it gets the answer.
    let proxied = match settings.mode {
        Mode::Auto => keys.is_inline_hook(),
        Mode::Ack => false,
        Mode::Proxy => true,
    };
    let id = EventId::new();
    let event = NewEvent {
        event: Event {
            seq: 0,
            id,
            received_at_ms,
            duplicate: false,
            proxied,
            request,
        },
        okta_event_id: keys.event_id,
        okta_uuids: keys.uuids,
        needs_disk: !proxied,
    };
    if !proxied {
        append(state, source, event).await?;
        return Ok(StatusCode::OK.into_response());
    }
    // With a shared store the agents may be connected to other instances.
    let peers = state.store.peers();
    if hub.agents() == 0
        && peers
            .as_ref()
            .is_none_or(|p| p.agents_elsewhere(source) == 0)
    {
        return Err(RelayError::NoAgent(source.to_string()));
    }
    let deadline = settings.proxy_deadline(state.config.proxy_deadline);
    let waiter = hub.wait_for(id);
    let remote = peers.map(|p| p.await_answer(id));
    append(state, source, event).await?;
    match crate::peers::first_answer(waiter, remote, deadline).await {
        Some(DeliveryOutcome::Answered { response, .. }) => Ok(proxied_answer(response)),
        Some(DeliveryOutcome::Failed { error, .. }) => {
            Err(RelayError::LocalFailed(error.to_string()))
        }
        None => Err(RelayError::AgentTimeout(deadline.as_millis() as u64)),
    }
}

async fn append(state: &RelayState, source: &str, event: NewEvent) -> Result<(), RelayError> {
    state.store.append(source, event).await.map_err(|err| {
        tracing::error!(%err, source, "event not stored; answering 503");
        RelayError::StoreUnavailable
    })?;
    state.metrics.record_stored(source);
    Ok(())
}

/// 503 when `max` events or more wait for an agent's acknowledgement (delivered events kept
/// for retention do not count, or a busy source would lock itself out).
fn check_backlog(state: &RelayState, source: &str, max: u64) -> Result<(), RelayError> {
    let queued = state
        .backlog
        .queued(state.store.as_ref(), source, max)
        .map_err(|err| {
            tracing::error!(%err, source, "reading the backlog failed; answering 503");
            RelayError::StoreUnavailable
        })?;
    if queued >= max {
        return Err(RelayError::Backlog(source.to_string(), max));
    }
    Ok(())
}

fn proxied_answer(resp: shared::HttpResponse) -> Response {
    let status = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut builder = Response::builder().status(status);
    for h in &resp.headers {
        if HOP_BY_HOP.contains(&h.name().to_ascii_lowercase().as_str()) {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(h.name().as_bytes()),
            HeaderValue::from_bytes(h.value()),
        ) {
            builder = builder.header(name, value);
        }
    }
    builder
        .body(Body::from(resp.body.0))
        .unwrap_or_else(|e| json_error(StatusCode::BAD_GATEWAY, &format!("bad local answer: {e}")))
}

/// The whole body, at most `limit` bytes. A body that arrives in one piece is kept as it is;
/// one in many pieces is gathered into a single buffer sized from `Content-Length`, so a large
/// body is held once, not once in pieces and again joined.
async fn read_body(
    body: Body,
    limit: usize,
    declared: Option<usize>,
) -> Result<bytes::Bytes, RelayError> {
    use http_body_util::BodyExt;
    // Refused before a byte of it is read; the connection's lingering close drains the rest.
    if declared.is_some_and(|n| n > limit) {
        return Err(RelayError::BodyTooLarge(limit));
    }
    let mut body = http_body_util::Limited::new(body, limit);
    let mut first: Option<bytes::Bytes> = None;
    let mut joined: Option<bytes::BytesMut> = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            if is_length_limit(e.as_ref()) {
                RelayError::BodyTooLarge(limit)
            } else {
                RelayError::BadBody(e.to_string())
            }
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        match (&mut joined, first.take()) {
            (Some(buf), _) => buf.extend_from_slice(&data),
            (None, None) => first = Some(data),
            (None, Some(head)) => {
                let size = declared
                    .unwrap_or(0)
                    .min(limit)
                    .max(head.len() + data.len());
                let mut buf = bytes::BytesMut::with_capacity(size);
                buf.extend_from_slice(&head);
                buf.extend_from_slice(&data);
                joined = Some(buf);
            }
        }
    }
    Ok(match joined {
        Some(buf) => buf.freeze(),
        None => first.unwrap_or_default(),
    })
}

fn is_length_limit(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(err);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}
