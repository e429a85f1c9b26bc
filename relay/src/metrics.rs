//! `GET /metrics`: Prometheus text exposition, written by hand (no metrics crate).

use crate::state::RelayState;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Label used for requests to sources that do not exist (keeps label cardinality bounded).
pub const UNKNOWN_SOURCE: &str = "_unknown";

/// Counters updated by ingress.
#[derive(Default)]
pub struct Metrics {
    /// By source, then status. Nested so that counting looks a source up without allocating.
    requests: Mutex<BTreeMap<String, BTreeMap<u16, u64>>>,
    stored: Mutex<BTreeMap<String, u64>>,
}

impl Metrics {
    /// Counts one webhook request answered with `status`.
    pub fn record_request(&self, source: &str, status: u16) {
        let mut map = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let by_status = match map.get_mut(source) {
            Some(by_status) => by_status,
            None => map.entry(source.to_string()).or_default(),
        };
        *by_status.entry(status).or_default() += 1;
    }

    /// Counts one stored event.
    pub fn record_stored(&self, source: &str) {
        let mut map = self.stored.lock().unwrap_or_else(|p| p.into_inner());
        match map.get_mut(source) {
            Some(n) => *n += 1,
            None => {
                map.insert(source.to_string(), 1);
            }
        }
    }

    /// Requests counted for `source` with `status` (for tests).
    pub fn requests(&self, source: &str, status: u16) -> u64 {
        let map = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        map.get(source)
            .and_then(|by_status| by_status.get(&status))
            .copied()
            .unwrap_or(0)
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn help(out: &mut String, name: &str, kind: &str, text: &str) {
    let _ = writeln!(out, "# HELP {name} {text}\n# TYPE {name} {kind}");
}

/// Renders every metric.
pub fn render(state: &RelayState) -> String {
    let mut out = String::new();
    help(
        &mut out,
        "hookrelay_requests_total",
        "counter",
        "Webhook requests by source and status.",
    );
    {
        let map = state
            .metrics
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for (source, by_status) in map.iter() {
            let s = escape(source);
            for (status, n) in by_status {
                let _ = writeln!(
                    out,
                    "hookrelay_requests_total{{source=\"{s}\",status=\"{status}\"}} {n}"
                );
            }
        }
    }
    help(
        &mut out,
        "hookrelay_events_stored_total",
        "counter",
        "Events stored since the relay started.",
    );
    {
        let map = state
            .metrics
            .stored
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for (source, n) in map.iter() {
            let s = escape(source);
            let _ = writeln!(out, "hookrelay_events_stored_total{{source=\"{s}\"}} {n}");
        }
    }
    let store = state.store.as_ref();
    let sources = store.sources().unwrap_or_default();
    let agents: BTreeMap<String, usize> = state.hub.agent_counts().into_iter().collect();
    let mut retained = String::new();
    let mut lag_events = String::new();
    let mut lag_secs = String::new();
    let mut connected = String::new();
    let now = crate::clock::now_ms();
    for src in &sources {
        let s = escape(&src.name);
        // A source keeps a contiguous run of sequences: counting them would read every event.
        let count = match (store.watch_head(&src.name), store.oldest_seq(&src.name)) {
            (Ok(head), Ok(oldest)) => (*head.borrow() + 1).saturating_sub(oldest),
            _ => 0,
        };
        let _ = writeln!(
            retained,
            "hookrelay_events_retained{{source=\"{s}\"}} {count}"
        );
        let n = agents.get(&src.name).copied().unwrap_or(0);
        let _ = writeln!(
            connected,
            "hookrelay_agents_connected{{source=\"{s}\"}} {n}"
        );
        let head = store
            .watch_head(&src.name)
            .map(|w| *w.borrow())
            .unwrap_or(0);
        let acked = store.max_cursor(&src.name).ok().flatten().unwrap_or(0);
        let behind = head.saturating_sub(acked);
        let _ = writeln!(
            lag_events,
            "hookrelay_delivery_lag_events{{source=\"{s}\"}} {behind}"
        );
        let age = if behind == 0 {
            0.0
        } else {
            store
                .read_after(&src.name, acked, 1)
                .ok()
                .and_then(|v| v.first().map(|e| now.saturating_sub(e.received_at_ms)))
                .unwrap_or(0) as f64
                / 1000.0
        };
        let _ = writeln!(
            lag_secs,
            "hookrelay_delivery_lag_seconds{{source=\"{s}\"}} {age}"
        );
    }
    help(
        &mut out,
        "hookrelay_events_retained",
        "gauge",
        "Events currently in the source's log.",
    );
    out.push_str(&retained);
    help(
        &mut out,
        "hookrelay_delivery_lag_events",
        "gauge",
        "Events newer than the furthest agent acknowledgement.",
    );
    out.push_str(&lag_events);
    help(
        &mut out,
        "hookrelay_delivery_lag_seconds",
        "gauge",
        "Age of the oldest event no agent has acknowledged.",
    );
    out.push_str(&lag_secs);
    help(
        &mut out,
        "hookrelay_agents_connected",
        "gauge",
        "Agents connected per source.",
    );
    out.push_str(&connected);
    help(
        &mut out,
        "hookrelay_store_bytes",
        "gauge",
        "Size of the relay's store on disk.",
    );
    let size = store.size_bytes().unwrap_or(0);
    let _ = writeln!(out, "hookrelay_store_bytes {size}");
    out
}

/// `GET /metrics`, answered only to peers in `metrics_allow` (404 to everyone else).
pub async fn handler(
    State(state): State<Arc<RelayState>>,
    req: axum::extract::Request,
) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>();
    let allowed = peer.is_some_and(|ConnectInfo(addr)| {
        state
            .config
            .metrics_allow
            .iter()
            .any(|c| c.contains(addr.ip()))
    });
    if !allowed {
        return crate::error::json_error(StatusCode::NOT_FOUND, "not found");
    }
    let state2 = state.clone();
    match tokio::task::spawn_blocking(move || render(&state2)).await {
        Ok(body) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response(),
        Err(err) => crate::error::json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("rendering metrics failed: {err}"),
        ),
    }
}
