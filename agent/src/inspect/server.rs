//! Binding the inspector (4040, or the next free port) and serving its router until shutdown.

use super::live::Hub;
use super::{api, assets, security};
use crate::capture::CaptureStore;
use crate::deliver::Deliverer;
use crate::events::AgentEvent;
use crate::target::Target;
use anyhow::Context;
use axum::routing::{get, post};
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Where the inspector listens unless told otherwise (ngrok's habit, which users know).
pub const DEFAULT_ADDR: &str = "127.0.0.1:4040";

/// Ports tried after a taken default one.
const NEXT_FREE_TRIES: u16 = 20;

/// What the inspector serves and where replays go.
#[derive(Clone)]
pub struct InspectorOptions {
    /// The capture store it shows.
    pub store: CaptureStore,
    /// Sends replays.
    pub deliverer: Deliverer,
    /// Where replays go; `None`: each capture's own original target.
    pub target: Option<Target>,
    /// The live stream of new rows.
    pub hub: Hub,
    /// Replays are reported here (so the TUI, the compact output and the live list see them).
    pub events: mpsc::Sender<AgentEvent>,
}

/// A running inspector.
pub struct Inspector {
    /// `http://127.0.0.1:4040`, no trailing slash.
    pub url: String,
    /// The bound address.
    pub addr: SocketAddr,
    /// Ends when the server has stopped.
    pub join: tokio::task::JoinHandle<()>,
}

/// Shared by every handler.
pub(super) struct AppState {
    pub opts: InspectorOptions,
    /// The per-run secret state-changing requests carry (see `security`).
    pub token: String,
    /// The bound port: the only one a `Host` header may name.
    pub port: u16,
    pub loopback: bool,
    /// Ends the live streams, so a graceful shutdown does not wait for open pages.
    pub shutdown: CancellationToken,
}

/// Binds `addr`; when `next_free` and its port is taken, tries the following ports.
pub async fn bind(addr: SocketAddr, next_free: bool) -> anyhow::Result<TcpListener> {
    let tries = if next_free && addr.port() != 0 {
        NEXT_FREE_TRIES
    } else {
        1
    };
    let mut last = None;
    for step in 0..tries {
        let Some(port) = addr.port().checked_add(step) else {
            break;
        };
        match TcpListener::bind(SocketAddr::new(addr.ip(), port)).await {
            Ok(l) => return Ok(l),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => last = Some(e),
            Err(e) => return Err(e).with_context(|| format!("binding the inspector on {addr}")),
        }
    }
    let err = last
        .map(anyhow::Error::from)
        .unwrap_or_else(|| anyhow::anyhow!("no port"));
    Err(err).with_context(|| {
        format!("binding the inspector on {addr}: taken (choose another with --inspect ADDR)")
    })
}

/// Serves the inspector on `listener` until `shutdown`.
pub fn serve(
    listener: TcpListener,
    opts: InspectorOptions,
    shutdown: CancellationToken,
) -> anyhow::Result<Inspector> {
    let addr = listener
        .local_addr()
        .context("reading the inspector's address")?;
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "the inspector listens beyond loopback: anyone who can reach it sees every captured webhook");
    }
    let state = Arc::new(AppState {
        opts,
        token: security::new_token(),
        port: addr.port(),
        loopback: addr.ip().is_loopback(),
        shutdown: shutdown.clone(),
    });
    let app = router(state);
    let join = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "the inspector stopped");
        }
    });
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        match addr {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        }
    };
    Ok(Inspector {
        url: format!("http://{host}:{}", addr.port()),
        addr,
        join,
    })
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(assets::index))
        .route("/events/{id}", get(assets::index))
        .route("/compare/{a}/{b}", get(assets::index))
        .route("/assets/{name}", get(assets::file))
        .route("/api/session", get(api::session))
        .route("/api/events", get(api::list))
        .route("/api/events/{id}", get(api::detail))
        .route("/api/events/{id}/body/{part}", get(api::body))
        .route("/api/events/{id}/replay", post(api::replay))
        .route("/api/export", get(api::export))
        .route("/api/stream", get(super::live::stream))
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::guard,
        ))
        .with_state(state)
}
