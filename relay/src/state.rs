//! What request handlers and sessions share: configuration, the store, live per-source state,
//! and the one place a source's settings are read.

use crate::config::Config;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::store::{SourceInfo, SourceSettings, Store, StoreResult, TokenInfo};
use crate::tokens;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long source settings read by ingress are reused before being read again.
pub const SOURCE_CACHE_TTL: Duration = Duration::from_millis(500);

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
    pub metrics: Metrics,
    /// What each source holds unacknowledged, for `--max-queued-events`.
    pub backlog: crate::backlog::Backlog,
    /// Recently read source settings.
    source_cache: Mutex<std::collections::HashMap<String, (std::time::Instant, Arc<SourceInfo>)>>,
    /// Tokens that live only in memory (the agent's embedded relay).
    memory_tokens: Mutex<Vec<(Vec<u8>, TokenInfo)>>,
    /// The shared store's database was unreachable at the last check.
    store_down: std::sync::atomic::AtomicBool,
}

impl RelayState {
    /// The state of a relay that has not served anything yet.
    pub fn new(
        config: Config,
        store: Arc<dyn Store>,
        shutdown: CancellationToken,
        public_base: String,
    ) -> Self {
        RelayState {
            config,
            store,
            hub: Hub::default(),
            shutdown,
            tracker: TaskTracker::new(),
            public_base,
            metrics: Metrics::default(),
            backlog: Default::default(),
            source_cache: Mutex::default(),
            memory_tokens: Mutex::default(),
            store_down: std::sync::atomic::AtomicBool::new(false),
        }
    }

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
                // The store is unreachable: the settings last read still hold (the sender
                // then gets the store's 503, not a 404 for a source that exists).
                tracing::error!(%err, "reading source settings failed");
                let cache = self.source_cache.lock().unwrap_or_else(|p| p.into_inner());
                cache.get(name).map(|(_, info)| info.clone())
            }
        }
    }

    /// Tells the other instances on a shared store how many agents this one has per source
    /// (on every join and leave, and every second as a heartbeat).
    pub fn publish_agents(&self) {
        if let Some(peers) = self.store.peers() {
            peers.publish_agents(self.hub.agent_counts());
        }
    }

    /// Tells every connected agent when the shared store's database becomes unreachable or
    /// reachable again (checked every second); their sessions stay open either way.
    pub fn tell_store_health(&self) {
        let Some(peers) = self.store.peers() else {
            return;
        };
        use std::sync::atomic::Ordering;
        let down = !peers.store_reachable();
        if self.store_down.swap(down, Ordering::Relaxed) == down {
            return;
        }
        let message = if down {
            "the relay's database is unreachable: new webhooks are refused with 503 until it is \
             back; this session stays open"
        } else {
            "the relay's database is reachable again"
        };
        tracing::warn!(message);
        for (source, agents) in self.hub.agent_counts() {
            if agents > 0 {
                self.hub
                    .source(&source)
                    .notify(shared::RelayMessage::Notice {
                        message: message.to_string(),
                    });
            }
        }
    }

    /// Changes a source's settings from inside this process (the embedded relay's start-up):
    /// written to the store, and in force for the next request, not after the cache expires.
    pub fn set_settings(&self, name: &str, settings: &SourceSettings) -> StoreResult<()> {
        self.store.set_settings(name, settings)?;
        self.source_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        Ok(())
    }

    /// Adds a token kept only in memory for `source` (created if needed); returns its secret.
    pub fn add_memory_token(&self, source: &str) -> StoreResult<String> {
        // The scope may name several sources (or `*`): each named one exists from now on.
        for name in crate::token_scope::TokenScope::stored(source).names() {
            self.store.ensure_source(name)?;
        }
        let secret = format!("hr_mem_{}", uuid::Uuid::new_v4().simple());
        let info = TokenInfo {
            id: "memory".into(),
            name: "embedded".into(),
            source: source.to_string(),
            created_ms: crate::clock::now_ms(),
            last_used_ms: None,
        };
        self.memory_tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((tokens::hash_secret(&secret), info));
        Ok(secret)
    }
}
