//! Replays a captured request (as captured, or edited) to the local service and records it.

use crate::capture::CaptureStore;
use crate::deliver::Deliverer;
use crate::events::AgentEvent;
use crate::model::{now_ms, Capture, CaptureKind};
use crate::target::Target;
use anyhow::Context;
use shared::{EventId, HttpRequest};
use tokio::sync::mpsc;

/// Sends `original`'s request — or `edited` in its place — to `target` again, records the new
/// exchange as a `Replay` capture linked to the original, and reports it on `events` if given.
pub async fn replay(
    store: &CaptureStore,
    deliverer: &Deliverer,
    target: &Target,
    original: &Capture,
    edited: Option<HttpRequest>,
    events: Option<&mpsc::Sender<AgentEvent>>,
) -> anyhow::Result<Capture> {
    let request = edited.unwrap_or_else(|| original.request.clone());
    let started = now_ms();
    let mut capture = Capture {
        target_url: target.url_for(&request),
        event: shared::Event {
            seq: 0,
            id: EventId::new(),
            received_at_ms: started,
            duplicate: false,
            proxied: false,
            request,
        },
        source: original.source.clone(),
        kind: CaptureKind::Replay,
        delivered_at_ms: Some(started),
        answered_at_ms: None,
        outcome: None,
        replay_of: Some(original.id),
    };
    store
        .insert(&capture)
        .context("recording the replay in the capture store")?;
    if let Some(tx) = events {
        let _ = tx
            .send(AgentEvent::Captured(Box::new(capture.clone())))
            .await;
    }
    let outcome = deliverer
        .deliver(&capture.target_url, &capture.request)
        .await;
    let answered = now_ms();
    store
        .record_outcome(capture.id, started, answered, &outcome)
        .context("recording the replay's outcome")?;
    if let Some(tx) = events {
        let _ = tx
            .send(AgentEvent::Delivered {
                id: capture.id,
                delivered_at_ms: started,
                answered_at_ms: answered,
                outcome: outcome.clone(),
            })
            .await;
    }
    capture.answered_at_ms = Some(answered);
    capture.outcome = Some(outcome);
    Ok(capture)
}
