//! What relay instances sharing one store tell each other: a proxied sender's answer coming
//! from an agent connected elsewhere, and which instances have agents of a source. Only the
//! PostgreSQL store has peers ([`crate::store::Store::peers`]); with the embedded store one
//! process is the whole relay and every answer is local.

use shared::{DeliveryOutcome, EventId};
use std::time::Duration;
use tokio::sync::oneshot;

/// The other instances on the same store.
pub trait Peers: Send + Sync + 'static {
    /// Hands an agent's answer for `id` to whichever instance has its sender waiting (fire and
    /// forget: a lost answer is the sender's 504, as with a slow agent).
    fn forward_answer(&self, id: EventId, outcome: &DeliveryOutcome);
    /// An answer for `id` forwarded by another instance; stops listening when dropped.
    fn await_answer(&self, id: EventId) -> RemoteAnswer;
    /// Agents connected to `source` through other live instances (refreshed on every change
    /// and at least every second; an instance that stops heartbeating stops counting).
    fn agents_elsewhere(&self, source: &str) -> usize;
    /// This instance's connected agents per source changed (or is still the same: a heartbeat).
    fn publish_agents(&self, counts: Vec<(String, usize)>);
    /// Woken when any instance revokes a token, so this one closes its sessions at once (the
    /// periodic token check stays as the fallback).
    fn revocations(&self) -> std::sync::Arc<tokio::sync::Notify>;
    /// Whether the shared database is reachable right now.
    fn store_reachable(&self) -> bool;
}

/// A pending answer from another instance.
pub struct RemoteAnswer {
    rx: oneshot::Receiver<DeliveryOutcome>,
    /// Unregisters the wait when dropped.
    _guard: Box<dyn Send + Sync>,
}

impl RemoteAnswer {
    /// An answer arriving on `rx`; `guard` is dropped with it.
    pub fn new(rx: oneshot::Receiver<DeliveryOutcome>, guard: Box<dyn Send + Sync>) -> Self {
        RemoteAnswer { rx, _guard: guard }
    }
}

/// The first answer, local or from another instance, or `None` past `deadline`.
pub async fn first_answer(
    local: crate::hub::Waiter,
    remote: Option<RemoteAnswer>,
    deadline: Duration,
) -> Option<DeliveryOutcome> {
    let Some(mut remote) = remote else {
        return local.wait(deadline).await;
    };
    let remote_rx = async {
        match (&mut remote.rx).await {
            Ok(outcome) => Some(outcome),
            // Nobody will forward it: wait for the local answer (or the deadline) alone.
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        outcome = local.wait(deadline) => outcome,
        outcome = remote_rx => outcome,
    }
}
