//! Background upkeep: retention and closing the sessions of revoked tokens.

use crate::clock::now_ms;
use crate::state::RelayState;
use std::sync::Arc;

/// Background upkeep: retention and closing sessions of revoked tokens.
pub(crate) async fn run(state: Arc<RelayState>) {
    let mut prune = tokio::time::interval(state.config.prune_interval);
    let mut tokens = tokio::time::interval(state.config.token_check_interval);
    let mut presence = tokio::time::interval(std::time::Duration::from_secs(1));
    let revoked = state
        .store
        .peers()
        .map_or_else(Default::default, |p| p.revocations());
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = presence.tick() => {
                state.publish_agents();
                state.tell_store_health();
            }
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
            _ = tokens.tick() => close_revoked(&state),
            // Another instance (or `relay token revoke`) revoked a token: check right away.
            _ = revoked.notified() => close_revoked(&state),
        }
    }
}

/// Closes the sessions of tokens no longer in the store.
fn close_revoked(state: &RelayState) {
    let live = state.hub.live_token_ids();
    if live.iter().all(|t| t == "memory") {
        return;
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
