//! The hookrelay relay: receives webhooks at `/h/{source}`, answers Okta's verification,
//! stores every event durably and pushes it to connected agents over `/agent/connect`.

pub mod acme;
pub mod admin;
pub mod admin_cli;
pub mod backlog;
pub mod clock;
pub mod config;
pub mod error;
pub mod hub;
pub mod ingress;
pub mod limits;
pub mod linger;
pub mod metrics;
pub mod peers;
pub mod proxy;
pub mod serve;
pub mod session;
pub mod state;
pub mod store;
pub mod tls;
pub mod token_scope;
pub mod tokens;
mod upkeep;
pub mod ws;

pub use clock::now_ms;
pub use config::Config;
pub use state::RelayState;

use axum::routing::{any, get};
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use store::Store;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The relay's routes.
pub fn app(state: Arc<RelayState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics::handler))
        .route("/agent/connect", get(session::connect))
        .route("/h/{*rest}", any(ingress::handle))
        .route("/h/", any(ingress::handle))
        .fallback(|| async {
            error::json_error(
                axum::http::StatusCode::NOT_FOUND,
                "not found: webhooks go to /h/{source}",
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::header_limits,
        ))
        .with_state(state)
}

/// A running relay.
pub struct RelayHandle {
    /// Shared state (for tests and the embedding agent).
    pub state: Arc<RelayState>,
    /// The bound address.
    pub addr: SocketAddr,
    /// Finishes when the relay has shut down.
    pub join: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Starts the relay on `listener` in the background; it stops when `shutdown` is cancelled.
pub fn spawn(
    listener: TcpListener,
    store: Arc<dyn Store>,
    config: Config,
    shutdown: CancellationToken,
) -> anyhow::Result<RelayHandle> {
    let addr = listener.local_addr()?;
    let public_base = config
        .public_url
        .clone()
        .unwrap_or_else(|| {
            let scheme = if config.tls.is_some() {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{addr}")
        })
        .trim_end_matches('/')
        .to_string();
    let state = Arc::new(RelayState::new(config, store, shutdown, public_base));
    let acceptor = state.config.tls.clone().map(tls::acceptor).transpose()?;
    let join = tokio::spawn(serve(listener, state.clone(), acceptor));
    Ok(RelayHandle { state, addr, join })
}

async fn serve(
    listener: TcpListener,
    state: Arc<RelayState>,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
) -> anyhow::Result<()> {
    let shutdown = state.shutdown.clone();
    tokio::spawn(upkeep::run(state.clone()));
    let router = app(state.clone());
    let cfg = &state.config;
    let opts = serve::ServeOptions {
        tls: acceptor,
        header_read_timeout: cfg.header_read_timeout,
        max_headers: cfg.max_headers.saturating_mul(2).max(100),
        max_buf_size: cfg.max_header_bytes.saturating_mul(2).max(64 * 1024),
        drain_timeout: cfg.body_read_timeout.max(cfg.proxy_deadline) + Duration::from_secs(1),
    };
    serve::serve(listener, router, opts, shutdown).await;
    state.tracker.close();
    // Sessions see the cancelled token and close with "going away"; don't wait forever.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), state.tracker.wait()).await;
    Ok(())
}
