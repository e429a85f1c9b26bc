//! Relay configuration, separate from argument parsing so tests can build it directly.

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
        }
    }
}
