//! The live list: listener events fanned out to every open page as server-sent events.
//!
//! [`tee`] sits between the listener and its output (TUI or lines) and copies each stored
//! capture and outcome to the [`Hub`]. With no page open it only forwards: no JSON is built.

use super::json;
use super::server::AppState;
use crate::capture::CaptureStore;
use crate::events::AgentEvent;
use crate::model::Capture;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::Stream;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// Messages a slow page may fall behind by before it is told to reload its list.
const BACKLOG: usize = 1024;
/// Pending captures remembered to complete their row when the outcome comes.
const PENDING_LIMIT: usize = 4096;

/// One message to every page: an SSE event name and its JSON.
#[derive(Clone, Debug)]
pub struct Message {
    /// `row` (a new or completed row).
    pub event: &'static str,
    /// The row JSON.
    pub data: Arc<str>,
}

/// Where live rows are published. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Hub {
    tx: broadcast::Sender<Message>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            tx: broadcast::channel(BACKLOG).0,
        }
    }
}

impl Hub {
    /// Subscribes to every row published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Message> {
        self.tx.subscribe()
    }

    /// Pages listening right now.
    pub fn watchers(&self) -> usize {
        self.tx.receiver_count()
    }

    fn publish_row(&self, c: &Capture) {
        let data: Arc<str> = json::row(c).to_string().into();
        let _ = self.tx.send(Message { event: "row", data });
    }
}

/// Forwards `rx` to the returned receiver, publishing rows to `hub` on the way. Outcomes of
/// captures first shown as pending are completed from memory, or from `store` when the page
/// opened after the capture.
pub fn tee(
    mut rx: mpsc::Receiver<AgentEvent>,
    hub: Hub,
    store: CaptureStore,
) -> mpsc::Receiver<AgentEvent> {
    let (out_tx, out_rx) = mpsc::channel(rx.max_capacity());
    tokio::spawn(async move {
        let mut pending: HashMap<shared::EventId, Capture> = HashMap::new();
        let mut next = rx.recv().await;
        while let Some(ev) = next.take() {
            let mut after = None;
            if hub.watchers() > 0 {
                // The recorder reports a capture stored complete as `Captured` then `Delivered`
                // back to back: publish it as one row, not a pending row and its completion.
                let merged = match &ev {
                    AgentEvent::Captured(c) if c.is_pending() => {
                        after = rx.try_recv().ok();
                        match &after {
                            Some(done @ AgentEvent::Delivered { id, .. }) if *id == c.id => {
                                complete_and_publish(&hub, (**c).clone(), done);
                                true
                            }
                            _ => false,
                        }
                    }
                    _ => false,
                };
                if !merged {
                    publish(&hub, &store, &mut pending, &ev);
                }
                if merged {
                    // Both go on to the output; the lookahead is used up.
                    let _ = out_tx.send(ev).await;
                    if let Some(done) = after.take() {
                        let _ = out_tx.send(done).await;
                    }
                    next = rx.recv().await;
                    continue;
                }
            } else {
                pending.clear();
            }
            // The output may have gone (shutting down); keep the hub fed until the listener stops.
            let _ = out_tx.send(ev).await;
            // An event read ahead but not merged is handled like any other.
            next = match after {
                Some(e) => Some(e),
                None => rx.recv().await,
            };
        }
    });
    out_rx
}

/// Publishes `c` completed with the outcome in `delivered` (an [`AgentEvent::Delivered`]).
fn complete_and_publish(hub: &Hub, mut c: Capture, delivered: &AgentEvent) {
    if let AgentEvent::Delivered {
        delivered_at_ms,
        answered_at_ms,
        outcome,
        ..
    } = delivered
    {
        c.delivered_at_ms = Some(*delivered_at_ms);
        c.answered_at_ms = Some(*answered_at_ms);
        c.outcome = Some(outcome.clone());
        hub.publish_row(&c);
    }
}

fn publish(
    hub: &Hub,
    store: &CaptureStore,
    pending: &mut HashMap<shared::EventId, Capture>,
    ev: &AgentEvent,
) {
    match ev {
        AgentEvent::Captured(c) => {
            if c.is_pending() {
                if pending.len() >= PENDING_LIMIT {
                    pending.clear();
                }
                pending.insert(c.id, (**c).clone());
            }
            hub.publish_row(c);
        }
        AgentEvent::Delivered { id, .. } => {
            let c = pending.remove(id).or_else(|| store.get(*id).ok().flatten());
            if let Some(c) = c {
                complete_and_publish(hub, c, ev);
            }
        }
        _ => {}
    }
}

/// `GET /api/stream`: `row` events as captures arrive and complete; `resync` when this page
/// fell too far behind (it reloads its list).
pub(super) async fn stream(
    State(state): State<Arc<AppState>>,
) -> Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>> {
    let rx = state.opts.hub.subscribe();
    let events = futures_util::stream::unfold(rx, |mut rx| async move {
        let ev = match rx.recv().await {
            Ok(m) => Event::default().event(m.event).data(&*m.data),
            Err(broadcast::error::RecvError::Lagged(_)) => {
                Event::default().event("resync").data("{}")
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(ev), rx))
    });
    // A comment first, so the page knows at once that the stream is open.
    let hello =
        futures_util::stream::once(async { Ok(Event::default().event("ready").data("{}")) });
    use futures_util::StreamExt;
    let stop = state.shutdown.clone().cancelled_owned();
    Sse::new(hello.chain(events).take_until(stop))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
