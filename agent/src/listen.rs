//! `agent listen`: keep the relay link up and deliver every event to the local service, once,
//! recording each exchange. Acknowledged events are delivered in sequence order, `concurrency`
//! at a time (1 by default); proxied events — a sender waits for each answer — are delivered at
//! once beside them. The cursor only moves over events that are all done.

use crate::capture::{CaptureStore, Record};
use crate::connection::{run_link, Inbound, LinkOptions};
use crate::deliver::{DeliverOptions, Deliverer};
use crate::events::AgentEvent;
use crate::model::{now_ms, Capture, CaptureKind};
use crate::recorder::Recorder;
use crate::target::Target;
use futures_util::stream::{FuturesUnordered, StreamExt};
use shared::inflight::InFlight;
use shared::{
    AgentMessage, Blob, DeliveryError, DeliveryOutcome, Event, EventId, Header, Hello, HttpRequest,
    HttpResponse, Secret, Since, PROTOCOL_VERSION,
};
use std::collections::{HashSet, VecDeque};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Event ids remembered in memory to drop resent events without a store lookup.
const SEEN_CAPACITY: usize = 100_000;

/// A delivery still running after this long is shown (and stored) as pending.
const PENDING_AFTER: std::time::Duration = std::time::Duration::from_millis(50);

/// Proxied deliveries in flight at once (at least; `--concurrency` may raise it): each waiting
/// sender gets its answer as soon as the local service gives it. Acknowledged events go one at
/// a time by default, in the order the relay received them.
pub const DEFAULT_PROXY_CONCURRENCY: usize = 16;

/// Everything `listen` needs.
#[derive(Clone, Debug)]
pub struct ListenOptions {
    /// The link to the relay.
    pub link: LinkOptions,
    /// Agent token.
    pub token: Secret,
    /// Source to listen on.
    pub source: String,
    /// Where events go.
    pub target: Target,
    /// Delivery behaviour.
    pub deliver: DeliverOptions,
    /// In-flight window.
    pub window: u32,
    /// Acknowledged events delivered at once; 1 (the default, `None`) delivers them one at a
    /// time in sequence order.
    pub concurrency: Option<usize>,
    /// Where a new agent starts.
    pub since: Option<Since>,
    /// Skip delivering Okta redeliveries.
    pub drop_duplicates: bool,
    /// Key under which the last acked sequence is remembered (relay identity).
    pub cursor_key: String,
}

/// Runs until `shutdown` or until the relay refuses the agent for good (an error).
pub async fn listen(
    opts: ListenOptions,
    store: CaptureStore,
    events: mpsc::Sender<AgentEvent>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let agent_id = store.agent_id()?;
    let _ = events
        .send(AgentEvent::Started {
            target: opts.target.url(),
            source: opts.source.clone(),
        })
        .await;
    let window = opts.window.max(1);
    let (inbound_tx, inbound_rx) = mpsc::channel(window as usize);
    let (ack_tx, mut ack_rx) = mpsc::channel(window as usize * 2);
    let (recorder, recorder_thread) = Recorder::start(store.clone(), events.clone())?;
    let worker = tokio::spawn(deliver_loop(
        opts.clone(),
        store.clone(),
        recorder,
        inbound_rx,
        ack_tx,
    ));
    let pruner = tokio::spawn(prune_history(store.clone()));
    let hello_store = store.clone();
    let make_hello = || Hello {
        version: PROTOCOL_VERSION,
        token: opts.token.clone(),
        source: opts.source.clone(),
        agent_id: agent_id.clone(),
        last_acked_seq: hello_store
            .cursor(&opts.cursor_key, &opts.source)
            .unwrap_or_else(|e| {
                tracing::warn!(error = %format!("{e:#}"), "reading the cursor failed");
                None
            }),
        since: opts.since,
        window,
    };
    let result = run_link(
        opts.link.clone(),
        make_hello,
        inbound_tx,
        &mut ack_rx,
        events,
        shutdown,
    )
    .await;
    worker.abort();
    let _ = worker.await;
    pruner.abort();
    // Everything delivered so far is stored before `listen` returns.
    recorder_thread.finish().await;
    result.map_err(anyhow::Error::from)
}

/// Captures kept locally; older ones are pruned in the background.
pub const HISTORY_LIMIT: usize = 100_000;

async fn prune_history(store: CaptureStore) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        every.tick().await;
        let store = store.clone();
        match tokio::task::spawn_blocking(move || store.prune(HISTORY_LIMIT)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(removed = n, "pruned old captures"),
            Ok(Err(e)) => tracing::warn!(error = %format!("{e:#}"), "pruning captures failed"),
            Err(_) => return,
        }
    }
}

/// Event ids already delivered, so an event resent after a reconnect is not delivered twice.
struct Seen {
    ids: HashSet<EventId>,
    order: VecDeque<EventId>,
}

impl Seen {
    /// Starts with what the store says was delivered past the saved cursor (events that
    /// finished out of order before a restart).
    fn load(store: &CaptureStore, opts: &ListenOptions) -> Seen {
        let mut seen = Seen {
            ids: HashSet::new(),
            order: VecDeque::new(),
        };
        let cursor = store
            .cursor(&opts.cursor_key, &opts.source)
            .ok()
            .flatten()
            .unwrap_or(0);
        match store.delivered_after(&opts.source, cursor, SEEN_CAPACITY) {
            Ok(ids) => ids.into_iter().rev().for_each(|id| seen.insert(id)),
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "reading delivered events failed"),
        }
        seen
    }

    fn contains(&self, id: &EventId) -> bool {
        self.ids.contains(id)
    }

    fn insert(&mut self, id: EventId) {
        if !self.ids.insert(id) {
            return;
        }
        if self.order.len() >= SEEN_CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
        self.order.push_back(id);
    }
}

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
}

async fn deliver_loop(
    opts: ListenOptions,
    store: CaptureStore,
    recorder: Recorder,
    mut inbound: mpsc::Receiver<Inbound>,
    acks: mpsc::Sender<AgentMessage>,
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
    let mut seen = Seen::load(&store, &opts);
    let mut in_flight = InFlight::default();
    let mut inbound_open = true;
    loop {
        // Start what there is room for; the relay's window bounds what waits.
        while lanes.ordered.len() < lanes.ordered_limit {
            let Some(ev) = lanes.ordered_waiting.pop_front() else {
                break;
            };
            lanes
                .ordered
                .push(deliver_one(&opts, &recorder, &deliverer, ev));
        }
        while lanes.proxied.len() < lanes.proxied_limit {
            let Some(ev) = lanes.proxied_waiting.pop_front() else {
                break;
            };
            lanes
                .proxied
                .push(deliver_one(&opts, &recorder, &deliverer, ev));
        }
        if !inbound_open && lanes.is_idle() {
            break;
        }
        let (seq, id, proxied, outcome) = tokio::select! {
            msg = inbound.recv(), if inbound_open => {
                let ev = match msg {
                    None => {
                        inbound_open = false;
                        continue;
                    }
                    Some(Inbound::Verification { at_ms, challenge }) => {
                        let capture = verification_capture(&opts, at_ms, challenge);
                        recorder.record(Record::Capture(Box::new(capture))).await;
                        continue;
                    }
                    Some(Inbound::Event(ev)) => ev,
                };
                in_flight.sent(ev.seq);
                if !seen.contains(&ev.id) {
                    seen.insert(ev.id);
                    if ev.proxied {
                        lanes.proxied_waiting.push_back(ev);
                    } else {
                        lanes.ordered_waiting.push_back(ev);
                    }
                    continue;
                }
                // Resent after a reconnect: already delivered, only the ack was lost.
                let outcome = store
                    .get(ev.id)
                    .ok()
                    .flatten()
                    .and_then(|c| c.outcome)
                    .unwrap_or_else(|| skipped("already delivered"));
                (ev.seq, ev.id, ev.proxied, outcome)
            }
            Some(done) = lanes.ordered.next() => done,
            Some(done) = lanes.proxied.next() => done,
        };
        if let Some(through) = in_flight.done(seq) {
            recorder
                .record(Record::Cursor {
                    relay: opts.cursor_key.clone(),
                    source: opts.source.clone(),
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
            .send(AgentMessage::Ack { seq, id, outcome })
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Delivers an event and records the exchange; returns what the ack needs. A quick delivery is
/// recorded once, complete; one still running after [`PENDING_AFTER`] is recorded (and shown)
/// as pending first, then completed.
async fn deliver_one(
    opts: &ListenOptions,
    recorder: &Recorder,
    deliverer: &Deliverer,
    ev: Event,
) -> (u64, EventId, bool, DeliveryOutcome) {
    let delivered_at = now_ms();
    let (seq, id, proxied) = (ev.seq, ev.id, ev.proxied);
    let mut capture = Capture {
        target_url: opts.target.url_for(&ev.request),
        event: ev,
        source: opts.source.clone(),
        kind: CaptureKind::Event,
        delivered_at_ms: Some(delivered_at),
        answered_at_ms: None,
        outcome: None,
        replay_of: None,
    };
    let mut shown_pending = false;
    let outcome = if capture.duplicate && opts.drop_duplicates {
        skipped("Okta redelivery dropped (--drop-duplicates)")
    } else {
        let sending = deliverer.deliver(&capture.target_url, &capture.request);
        tokio::pin!(sending);
        tokio::select! {
            outcome = &mut sending => outcome,
            _ = tokio::time::sleep(PENDING_AFTER) => {
                recorder.record(Record::Capture(Box::new(capture.clone()))).await;
                shown_pending = true;
                sending.await
            }
        }
    };
    let answered = now_ms();
    let record = if shown_pending {
        Record::Outcome {
            id,
            delivered_at_ms: delivered_at,
            answered_at_ms: answered,
            outcome: outcome.clone(),
        }
    } else {
        capture.answered_at_ms = Some(answered);
        capture.outcome = Some(outcome.clone());
        Record::Capture(Box::new(capture))
    };
    recorder.record(record).await;
    (seq, id, proxied, outcome)
}

fn skipped(why: &str) -> DeliveryOutcome {
    DeliveryOutcome::failed(DeliveryError::Skipped(why.to_string()), 0)
}

fn verification_capture(opts: &ListenOptions, at_ms: u64, challenge: String) -> Capture {
    Capture {
        event: shared::Event {
            seq: 0,
            id: EventId::new(),
            received_at_ms: at_ms,
            duplicate: false,
            proxied: false,
            request: HttpRequest {
                method: "GET".into(),
                path: String::new(),
                query: None,
                headers: vec![Header::new(
                    shared::okta::VERIFICATION_HEADER,
                    challenge.clone(),
                )],
                body: Blob::default(),
            },
        },
        source: opts.source.clone(),
        kind: CaptureKind::Verification,
        delivered_at_ms: None,
        answered_at_ms: Some(at_ms),
        target_url: String::new(),
        outcome: Some(DeliveryOutcome::answered(
            HttpResponse {
                status: 200,
                headers: vec![Header::new("content-type", "application/json")],
                body: shared::okta::verification_response(&challenge).into(),
            },
            0,
        )),
        replay_of: None,
    }
}
