//! Relay configuration, separate from argument parsing so tests can build it directly.

use crate::limits::RateLimit;
use crate::store::Retention;
use std::time::Duration;

/// Everything `relay::run` needs besides the listener and the store.
#[derive(Clone, Debug)]
pub struct Config {
    /// Base URL senders use, e.g. `https://relay.example.com`; defaults to `http://{listen addr}`.
    pub public_url: Option<String>,
    /// Largest webhook body accepted (413 above).
    pub max_body_bytes: usize,
    /// Largest websocket frame accepted from an agent.
    pub max_frame_bytes: usize,
    /// Default proxy-mode deadline when the agent's hello does not set one.
    pub proxy_deadline: Duration,
    /// Interval between websocket pings to agents.
    pub heartbeat_interval: Duration,
    /// An agent silent for this long is considered dead.
    pub heartbeat_timeout: Duration,
    /// Time an agent has to send its hello.
    pub hello_timeout: Duration,
    /// Largest in-flight window an agent may ask for.
    pub max_window: u32,
    /// Retention rules.
    pub retention: Retention,
    /// Interval between retention passes.
    pub prune_interval: Duration,
    /// How often live sessions check that their token still exists.
    pub token_check_interval: Duration,
    /// Most request headers accepted (431 above).
    pub max_headers: usize,
    /// Most request header bytes (names + values) accepted (431 above).
    pub max_header_bytes: usize,
    /// Time a sender has to deliver the request body (408 after).
    pub body_read_timeout: Duration,
    /// Time a client has to send the request line and headers (connection closed after).
    pub header_read_timeout: Duration,
    /// Per-source rate limit (429 with `Retry-After`); `None` for unlimited (the default
    /// for embedded and test relays; `relay serve` sets one).
    pub rate_limit: Option<RateLimit>,
    /// Most agents connected to one source at once (close code 4006 above).
    pub max_agents_per_source: usize,
    /// Most events retained in one source's log before senders get 503 with `Retry-After`;
    /// `None` for unlimited (retention still applies).
    pub max_queued_events: Option<u64>,
    /// Peers whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed.
    pub trusted_proxies: Vec<crate::proxy::Cidr>,
    /// Peers allowed to read `/metrics` (everyone else gets 404); loopback by default.
    pub metrics_allow: Vec<crate::proxy::Cidr>,
    /// Serve HTTPS with this certificate resolver; plain HTTP when `None`.
    pub tls: Option<std::sync::Arc<dyn rustls::server::ResolvesServerCert>>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            public_url: None,
            max_body_bytes: shared::protocol::DEFAULT_MAX_BODY_BYTES,
            max_frame_bytes: shared::protocol::DEFAULT_MAX_FRAME_BYTES,
            proxy_deadline: Duration::from_millis(2500),
            heartbeat_interval: Duration::from_secs(5),
            heartbeat_timeout: Duration::from_secs(15),
            hello_timeout: Duration::from_secs(10),
            max_window: 4096,
            retention: Retention::default(),
            prune_interval: Duration::from_secs(60),
            token_check_interval: Duration::from_millis(500),
            max_headers: 100,
            max_header_bytes: 64 * 1024,
            body_read_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            rate_limit: None,
            max_agents_per_source: 16,
            max_queued_events: None,
            trusted_proxies: Vec::new(),
            metrics_allow: crate::proxy::Cidr::loopback(),
            tls: None,
        }
    }
}
