//! The live list: listener events fanned out to every open page as server-sent events.
//!
//! [`tee`] sits between the listener and its output (TUI or lines) and copies stored captures
//! and outcomes to the [`Hub`], gathered into rows by [`RowBatch`]. With no page open it only
//! forwards: no JSON is built.

use super::batch::RowBatch;
use super::json;
use super::server::AppState;
use crate::capture::CaptureStore;
use crate::events::AgentEvent;
use crate::model::Capture;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::Stream;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};
use tokio::time::{Duration, Instant};

/// Messages a slow page may fall behind by before it is told to reload its list.
const BACKLOG: usize = 1024;
/// How often rows are sent to the pages at most: well within the 100 ms a new event may take
/// to appear.
const SEND_EVERY: Duration = Duration::from_millis(50);
/// Most rows one send carries (a screenful); the rest the page loads by reloading its list.
const ROWS_PER_SEND: usize = 25;

/// One message to every page: an SSE event name and its JSON.
#[derive(Clone, Debug)]
pub struct Message {
    /// `row` (a new or completed row) or `resync` (rows were left out: reload the list).
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

/// Forwards `rx` to the returned receiver, publishing rows to `hub` on the way.
///
/// Rows go out at most every [`SEND_EVERY`]: the first after a quiet spell at once, the rest
/// gathered (a capture and its outcome become one row) and sent together, the newest
/// [`ROWS_PER_SEND`] of them. When a send leaves rows out the pages are told to reload their
/// list, so under load the delivery path pays for a bounded number of rows a second.
pub fn tee(
    mut rx: mpsc::Receiver<AgentEvent>,
    hub: Hub,
    store: CaptureStore,
) -> mpsc::Receiver<AgentEvent> {
    let (out_tx, out_rx) = mpsc::channel(rx.max_capacity());
    tokio::spawn(async move {
        let mut batch = RowBatch::default();
        let mut last_send = Instant::now() - SEND_EVERY;
        loop {
            let due = last_send + SEND_EVERY;
            tokio::select! {
                biased;
                _ = tokio::time::sleep_until(due), if !batch.is_empty() => {
                    send_rows(&hub, &mut batch);
                    last_send = Instant::now();
                }
                ev = rx.recv() => {
                    let Some(ev) = ev else { break };
                    if hub.watchers() > 0 {
                        batch.note(&ev, &store);
                    } else {
                        batch.clear();
                    }
                    // The output may have gone (shutting down); keep the hub fed until the
                    // listener stops.
                    let _ = out_tx.send(ev).await;
                    if !batch.is_empty() && rx.is_empty() && Instant::now() >= due {
                        send_rows(&hub, &mut batch);
                        last_send = Instant::now();
                    }
                }
            }
        }
    });
    out_rx
}

fn send_rows(hub: &Hub, batch: &mut RowBatch) {
    let taken = batch.take(ROWS_PER_SEND);
    for c in &taken.rows {
        hub.publish_row(c);
    }
    if taken.skipped > 0 {
        let _ = hub.tx.send(Message {
            event: "resync",
            data: Arc::from("{}"),
        });
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
