//! Live per-source state shared by ingress and sessions: connected agents, proxy waiters,
//! notices, the rate bucket, and the sessions a token revocation must close. Only live state:
//! a source's settings (mode, deadline, …) belong to the store.

use shared::{DeliveryOutcome, EventId, RelayMessage};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, oneshot};
use tokio_util::sync::CancellationToken;

use crate::limits::{RateLimit, TokenBucket};

/// Live state of one source.
pub struct SourceHub {
    agents: AtomicUsize,
    waiters: Mutex<HashMap<EventId, oneshot::Sender<DeliveryOutcome>>>,
    notices: broadcast::Sender<RelayMessage>,
    bucket: Mutex<TokenBucket>,
}

impl SourceHub {
    fn new() -> Self {
        SourceHub {
            agents: AtomicUsize::new(0),
            waiters: Mutex::default(),
            notices: broadcast::channel(64).0,
            bucket: Mutex::default(),
        }
    }

    /// Connected agents.
    pub fn agents(&self) -> usize {
        self.agents.load(Ordering::Relaxed)
    }

    /// Registers a connected agent, unless `max` agents are already connected; dropping the
    /// guard unregisters it.
    pub fn try_join(self: &Arc<Self>, max: usize) -> Option<AgentGuard> {
        self.agents
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()?;
        Some(AgentGuard(self.clone()))
    }

    /// Takes one request from the source's rate limit, or says how long to wait.
    pub fn admit(&self, limit: RateLimit) -> Result<(), Duration> {
        self.bucket
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(limit, std::time::Instant::now())
    }

    /// Waits for the first agent's outcome for `id` (proxy mode). Register before appending so
    /// a fast agent cannot answer before anyone listens.
    pub fn wait_for(self: &Arc<Self>, id: EventId) -> Waiter {
        let (tx, rx) = oneshot::channel();
        self.lock_waiters().insert(id, tx);
        Waiter {
            hub: self.clone(),
            id,
            rx,
        }
    }

    /// Hands an agent's outcome to the waiting sender, if any; gives it back when no sender
    /// of this instance waits for it (it may wait at another instance: [`crate::peers`]).
    pub fn complete(&self, id: EventId, outcome: DeliveryOutcome) -> Option<DeliveryOutcome> {
        match self.lock_waiters().remove(&id) {
            Some(tx) => tx.send(outcome).err(),
            None => Some(outcome),
        }
    }

    /// Tells every connected agent of this source something.
    pub fn notify(&self, msg: RelayMessage) {
        let _ = self.notices.send(msg);
    }

    /// Receives notices.
    pub fn subscribe(&self) -> broadcast::Receiver<RelayMessage> {
        self.notices.subscribe()
    }

    fn lock_waiters(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<EventId, oneshot::Sender<DeliveryOutcome>>> {
        self.waiters.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Unregisters an agent when dropped.
pub struct AgentGuard(Arc<SourceHub>);

impl Drop for AgentGuard {
    fn drop(&mut self) {
        self.0.agents.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A proxy-mode sender waiting for the agent's outcome; removes itself when dropped.
pub struct Waiter {
    hub: Arc<SourceHub>,
    id: EventId,
    rx: oneshot::Receiver<DeliveryOutcome>,
}

impl Waiter {
    /// The outcome, or `None` past `deadline`.
    pub async fn wait(mut self, deadline: Duration) -> Option<DeliveryOutcome> {
        tokio::time::timeout(deadline, &mut self.rx)
            .await
            .ok()
            .and_then(Result::ok)
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        self.hub.lock_waiters().remove(&self.id);
    }
}

/// All sources' live state plus the registry of live sessions by token.
#[derive(Default)]
pub struct Hub {
    sources: Mutex<HashMap<String, Arc<SourceHub>>>,
    sessions: Mutex<HashMap<u64, (String, CancellationToken)>>,
    next_session: AtomicU64,
}

impl Hub {
    /// The live state of `source`, created if new.
    pub fn source(&self, name: &str) -> Arc<SourceHub> {
        let mut map = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(hub) = map.get(name) {
            return hub.clone();
        }
        map.entry(name.to_string())
            .or_insert_with(|| Arc::new(SourceHub::new()))
            .clone()
    }

    /// Connected agents per source.
    pub fn agent_counts(&self) -> Vec<(String, usize)> {
        let map = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<_> = map.iter().map(|(k, s)| (k.clone(), s.agents())).collect();
        v.sort();
        v
    }

    /// Registers a live session for `token_id`; returns its id and the token that cancels it.
    pub fn register_session(&self, token_id: &str, parent: &CancellationToken) -> SessionGuard<'_> {
        let id = self.next_session.fetch_add(1, Ordering::Relaxed);
        let cancel = parent.child_token();
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, (token_id.to_string(), cancel.clone()));
        SessionGuard {
            hub: self,
            id,
            revoked: cancel,
        }
    }

    /// Token ids of live sessions.
    pub fn live_token_ids(&self) -> Vec<String> {
        let map = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<String> = map.values().map(|(t, _)| t.clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// Closes every live session of `token_id`.
    pub fn revoke(&self, token_id: &str) {
        let map = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        for (t, cancel) in map.values() {
            if t == token_id {
                cancel.cancel();
            }
        }
    }
}

/// Unregisters a session when dropped; `revoked` fires when its token is revoked.
pub struct SessionGuard<'a> {
    hub: &'a Hub,
    id: u64,
    /// Cancelled on revocation (or relay shutdown).
    pub revoked: CancellationToken,
}

impl Drop for SessionGuard<'_> {
    fn drop(&mut self) {
        self.hub
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
    }
}
