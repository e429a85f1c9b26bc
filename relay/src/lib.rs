//! The hookrelay relay: receives webhooks at `/h/{source}`, answers Okta's verification,
//! stores every event durably and pushes it to connected agents over `/agent/connect`.

pub mod acme;
pub mod admin;
pub mod admin_cli;
pub mod config;
pub mod error;
pub mod hub;
pub mod ingress;
pub mod limits;
pub mod linger;
pub mod metrics;
pub mod proxy;
pub mod serve;
pub mod session;
pub mod store;
pub mod tls;
pub mod tokens;
pub mod ws;

pub use config::Config;

use axum::routing::{any, get};
use axum::Router;
use hub::Hub;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::{SourceInfo, Store, StoreResult, TokenInfo};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long source settings read by ingress are reused before being read again.
pub const SOURCE_CACHE_TTL: Duration = Duration::from_millis(500);

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Everything request handlers and sessions share.
pub struct RelayState {
    /// Configuration.
    pub config: Config,
    /// The durable store.
    pub store: Arc<dyn Store>,
    /// Live per-source state.
    pub hub: Hub,
    /// Cancelled when the relay shuts down.
    pub shutdown: CancellationToken,
    /// Tracks websocket sessions so shutdown can wait for them.
    pub tracker: TaskTracker,
    /// Base URL for public webhook URLs.
    pub public_base: String,
    /// Request counters for `/metrics`.
    pub metrics: metrics::Metrics,
    /// Recently read source settings.
    source_cache: Mutex<std::collections::HashMap<String, (std::time::Instant, Arc<SourceInfo>)>>,
    /// Tokens that live only in memory (the agent's embedded relay).
    memory_tokens: Mutex<Vec<(Vec<u8>, TokenInfo)>>,
}

impl RelayState {
    /// `{public_base}/h/{source}`.
    pub fn public_source_url(&self, source: &str) -> String {
        format!("{}/h/{source}", self.public_base)
    }

    /// The token behind `secret`, from memory or the store.
    pub async fn authenticate(&self, secret: &str) -> StoreResult<Option<TokenInfo>> {
        let hash = tokens::hash_secret(secret);
        {
            let mem = self.memory_tokens.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((_, info)) = mem.iter().find(|(h, _)| tokens::constant_time_eq(h, &hash)) {
                return Ok(Some(info.clone()));
            }
        }
        self.store.token_by_hash(&hash)
    }

    /// A source's settings, if it exists. Existing sources are cached for up to
    /// [`SOURCE_CACHE_TTL`], so `relay source set` takes effect within a second.
    pub async fn source_info(&self, name: &str) -> Option<Arc<SourceInfo>> {
        let now = std::time::Instant::now();
        {
            let cache = self.source_cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, info)) = cache.get(name) {
                if now.duration_since(*at) < SOURCE_CACHE_TTL {
                    return Some(info.clone());
                }
            }
        }
        match self.store.source(name) {
            Ok(Some(info)) => {
                let info = Arc::new(info);
                let mut cache = self.source_cache.lock().unwrap_or_else(|p| p.into_inner());
                if cache.len() >= 10_000 {
                    cache.clear();
                }
                cache.insert(name.to_string(), (now, info.clone()));
                Some(info)
            }
            Ok(None) => None,
            Err(err) => {
                tracing::error!(%err, "reading source settings failed");
                None
            }
        }
    }

    /// Adds a token kept only in memory for `source` (created if needed); returns its secret.
    pub fn add_memory_token(&self, source: &str) -> StoreResult<String> {
        self.store.ensure_source(source)?;
        let secret = format!("hr_mem_{}", uuid::Uuid::new_v4().simple());
        let info = TokenInfo {
            id: "memory".into(),
            name: "embedded".into(),
            source: source.to_string(),
            created_ms: now_ms(),
            last_used_ms: None,
        };
        self.memory_tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((tokens::hash_secret(&secret), info));
        Ok(secret)
    }
}

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
    let state = Arc::new(RelayState {
        config,
        store,
        hub: Hub::default(),
        shutdown: shutdown.clone(),
        tracker: TaskTracker::new(),
        public_base,
        metrics: metrics::Metrics::default(),
        source_cache: Mutex::default(),
        memory_tokens: Mutex::default(),
    });
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
    tokio::spawn(maintain(state.clone()));
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

/// Background upkeep: retention and closing sessions of revoked tokens.
async fn maintain(state: Arc<RelayState>) {
    let mut prune = tokio::time::interval(state.config.prune_interval);
    let mut tokens = tokio::time::interval(state.config.token_check_interval);
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = prune.tick() => {
                let store = state.store.clone();
                let retention = state.config.retention;
                let report = tokio::task::spawn_blocking(move || store.prune(now_ms(), retention)).await;
                match report {
                    Ok(Ok(r)) => {
                        for (source, n) in r.removed {
                            tracing::warn!(%source, removed = n, "retention removed old events");
                        }
                    }
                    Ok(Err(err)) => tracing::error!(%err, "pruning failed"),
                    Err(err) => tracing::error!(%err, "pruning task failed"),
                }
            }
            _ = tokens.tick() => {
                let live = state.hub.live_token_ids();
                if live.iter().all(|t| t == "memory") {
                    continue;
                }
                match state.store.tokens() {
                    Ok(existing) => {
                        for id in live.iter().filter(|t| *t != "memory") {
                            if !existing.iter().any(|t| &t.id == id) {
                                tracing::info!(token = %id, "token revoked; closing its sessions");
                                state.hub.revoke(id);
                            }
                        }
                    }
                    Err(err) => tracing::error!(%err, "checking tokens failed"),
                }
            }
        }
    }
}
