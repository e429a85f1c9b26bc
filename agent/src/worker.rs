//! The delivery worker of one source: two lanes (acknowledged events in order, proxied events at once), the
//! hold while the local service is down, acks, the cursor, and a graceful drain on shutdown.

use crate::capture::{CaptureStore, Record};
use crate::connection::Inbound;
use crate::deliver::Deliverer;
use crate::delivery::{deliver_one, skipped, Done};
use crate::events::AgentEvent;
use crate::hold::Hold;
use crate::listen::{verification_capture, ListenOptions, DEFAULT_PROXY_CONCURRENCY};
use crate::recorder::Recorder;
use crate::seen::Seen;
use futures_util::stream::{FuturesUnordered, StreamExt};
use shared::inflight::InFlight;
use shared::{AgentMessage, Event, EventId};
use std::collections::{HashSet, VecDeque};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long a drain waits for deliveries in flight before giving up on them (they are then
/// neither recorded nor acked, so the relay resends them): the agent exits within 2 s.
pub const DRAIN_GRACE: Duration = Duration::from_millis(1500);

/// The two lanes deliveries run in: acknowledged events in order (`ordered_limit` at once),
/// proxied events at once (`proxied_limit`), each with the events waiting for room.
struct Lanes<F> {
    ordered: FuturesUnordered<F>,
    ordered_waiting: VecDeque<Event>,
    ordered_limit: usize,
    proxied: FuturesUnordered<F>,
    proxied_waiting: VecDeque<Event>,
    proxied_limit: usize,
}

impl<F: std::future::Future> Lanes<F> {
    fn is_idle(&self) -> bool {
        self.ordered.is_empty() && self.proxied.is_empty()
    }

    /// Acknowledged events not yet delivered: queued or running.
    fn ordered_count(&self) -> usize {
        self.ordered_waiting.len() + self.ordered.len()
    }

    /// Puts a held event back in sequence order (with concurrency > 1 later ones may be queued).
    fn requeue(&mut self, ev: Event) {
        let at = self
            .ordered_waiting
            .iter()
            .position(|w| w.seq > ev.seq)
            .unwrap_or(self.ordered_waiting.len());
        self.ordered_waiting.insert(at, ev);
    }
}

/// Delivers until `inbound` closes, or until `drain`: then it takes nothing new, finishes the
/// deliveries in flight (up to [`DRAIN_GRACE`]), records and acks them, and returns — dropping
/// `acks`, which tells the link to send what is left and close.
#[allow(clippy::too_many_arguments)] // the worker's inputs, each a different piece
pub(crate) async fn deliver_loop(
    opts: ListenOptions,
    source: String,
    store: CaptureStore,
    recorder: Recorder,
    mut inbound: mpsc::Receiver<Inbound>,
    acks: mpsc::Sender<AgentMessage>,
    events: mpsc::Sender<AgentEvent>,
    drain: CancellationToken,
) {
    let deliverer = Deliverer::new(&opts.deliver);
    let ordered_limit = opts.concurrency.unwrap_or(1).max(1);
    let mut lanes = Lanes {
        ordered: FuturesUnordered::new(),
        ordered_waiting: VecDeque::new(),
        ordered_limit,
        proxied: FuturesUnordered::new(),
        proxied_waiting: VecDeque::new(),
        proxied_limit: DEFAULT_PROXY_CONCURRENCY.max(ordered_limit),
    };
    let cursor_key = opts.cursor_key(&source);
    let mut seen = Seen::load(&store, &cursor_key, &source);
    // Queued, held or running: a resend of one of these is dropped, the queued copy is acked.
    let mut pending: HashSet<EventId> = HashSet::new();
    let mut in_flight = InFlight::default();
    let mut hold = Hold::default();
    let mut inbound_open = true;
    let mut drain_until: Option<Instant> = None;
    loop {
        // Start what there is room for; the relay's window bounds what waits.
        while drain_until.is_none()
            && lanes.ordered.len() < lanes.ordered_limit
            && !lanes.ordered_waiting.is_empty()
            && hold.take_start(lanes.ordered.len())
        {
            let ev = lanes
                .ordered_waiting
                .pop_front()
                .expect("checked non-empty");
            lanes
                .ordered
                .push(deliver_one(&opts, &source, &recorder, &deliverer, ev));
        }
        while drain_until.is_none() && lanes.proxied.len() < lanes.proxied_limit {
            let Some(ev) = lanes.proxied_waiting.pop_front() else {
                break;
            };
            lanes
                .proxied
                .push(deliver_one(&opts, &source, &recorder, &deliverer, ev));
        }
        if (drain_until.is_some() || !inbound_open) && lanes.is_idle() {
            break;
        }
        let done = tokio::select! {
            msg = inbound.recv(), if inbound_open => {
                let ev = match msg {
                    None => {
                        inbound_open = false;
                        continue;
                    }
                    Some(Inbound::Verification { at_ms, challenge, .. }) => {
                        let capture = verification_capture(&source, at_ms, challenge);
                        recorder.record(Record::Capture(Box::new(capture))).await;
                        continue;
                    }
                    Some(Inbound::Event { event, .. }) => event,
                };
                // Draining: left unacked, the relay resends it to the next agent.
                if drain_until.is_some() || pending.contains(&ev.id) {
                    continue;
                }
                in_flight.sent(ev.seq);
                if !seen.delivered(&store, ev.id, ev.seq) {
                    seen.insert(ev.id, ev.seq);
                    pending.insert(ev.id);
                    if ev.proxied {
                        lanes.proxied_waiting.push_back(ev);
                    } else {
                        lanes.ordered_waiting.push_back(ev);
                    }
                    continue;
                }
                // Resent after a reconnect or restart: already delivered, only the ack was lost.
                let outcome = store
                    .get(ev.id)
                    .ok()
                    .flatten()
                    .and_then(|c| c.outcome)
                    .unwrap_or_else(|| skipped("already delivered"));
                Done::Finished { seq: ev.seq, id: ev.id, proxied: ev.proxied, outcome }
            }
            Some(done) = lanes.ordered.next() => done,
            Some(done) = lanes.proxied.next() => done,
            _ = hold.due(), if drain_until.is_none() => {
                hold.fire();
                continue;
            }
            _ = drain.cancelled(), if drain_until.is_none() => {
                drain_until = Some(Instant::now() + DRAIN_GRACE);
                continue;
            }
            _ = sleep_until_or_never(drain_until) => {
                tracing::warn!(running = lanes.ordered.len() + lanes.proxied.len(),
                    "stopping with deliveries still running; the relay resends them");
                break;
            }
        };
        let (seq, id, proxied, outcome) = match done {
            Done::Held { ev, reason } => {
                let delay = hold.refused();
                lanes.requeue(*ev);
                let _ = events
                    .send(AgentEvent::LocalDown {
                        source: source.clone(),
                        waiting: lanes.ordered_count(),
                        next_in_ms: delay.as_millis() as u64,
                        reason,
                    })
                    .await;
                continue;
            }
            Done::Finished {
                seq,
                id,
                proxied,
                outcome,
            } => (seq, id, proxied, outcome),
        };
        pending.remove(&id);
        if outcome.response().is_some() && hold.answered() {
            let _ = events
                .send(AgentEvent::LocalBack {
                    source: source.clone(),
                    waiting: lanes.ordered_count(),
                })
                .await;
        }
        if let Some(through) = in_flight.done(seq) {
            recorder
                .record(Record::Cursor {
                    relay: cursor_key.clone(),
                    source: source.clone(),
                    seq: through,
                })
                .await;
        }
        // Nobody waits for the answer of an acknowledged event: keep its ack small.
        let outcome = if proxied {
            outcome
        } else {
            outcome.status_only()
        };
        if acks
            .send(AgentMessage::Ack {
                source: source.clone(),
                seq,
                id,
                outcome,
            })
            .await
            .is_err()
        {
            return;
        }
    }
}

async fn sleep_until_or_never(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
