//! `agent listen`: keep the relay link up and deliver every event to the local service, once,
//! in order, recording each exchange.

use crate::capture::CaptureStore;
use crate::connection::{run_link, Inbound, LinkOptions};
use crate::deliver::{DeliverOptions, Deliverer};
use crate::events::AgentEvent;
use crate::model::{now_ms, Capture, CaptureKind};
use crate::target::Target;
use shared::{
    AgentMessage, Blob, DeliveryError, DeliveryOutcome, EventId, Header, Hello, HttpRequest,
    HttpResponse, Mode, RelayMessage, Since, PROTOCOL_VERSION,
};
use std::collections::{HashSet, VecDeque};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Event ids remembered in memory to drop resent events without a store lookup.
const SEEN_CAPACITY: usize = 100_000;

/// Everything `listen` needs.
#[derive(Clone, Debug)]
pub struct ListenOptions {
    /// The link to the relay.
    pub link: LinkOptions,
    /// Agent token.
    pub token: String,
    /// Source to listen on.
    pub source: String,
    /// How the relay answers senders.
    pub mode: Mode,
    /// Where events go.
    pub target: Target,
    /// Delivery behaviour.
    pub deliver: DeliverOptions,
    /// In-flight window.
    pub window: u32,
    /// Where a new agent starts.
    pub since: Option<Since>,
    /// Skip delivering Okta redeliveries.
    pub drop_duplicates: bool,
    /// Proxy-mode deadline to ask the relay for.
    pub proxy_deadline_ms: Option<u64>,
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
            public_url: format!(
                "{}/h/{}",
                opts.link.relay_url.trim_end_matches('/'),
                opts.source
            ),
            target: opts.target.url(),
            source: opts.source.clone(),
            mode: opts.mode,
        })
        .await;
    let window = opts.window.max(1);
    let (inbound_tx, inbound_rx) = mpsc::channel(window as usize);
    let (ack_tx, mut ack_rx) = mpsc::channel(window as usize * 2);
    let worker = tokio::spawn(deliver_loop(
        opts.clone(),
        store.clone(),
        inbound_rx,
        ack_tx,
        events.clone(),
    ));
    let pruner = tokio::spawn(prune_history(store.clone()));
    let hello_store = store.clone();
    let make_hello = || Hello {
        version: PROTOCOL_VERSION,
        token: opts.token.clone(),
        source: opts.source.clone(),
        mode: opts.mode,
        agent_id: agent_id.clone(),
        last_acked_seq: hello_store
            .cursor(&opts.cursor_key, &opts.source)
            .unwrap_or_else(|e| {
                tracing::warn!(error = %format!("{e:#}"), "reading the cursor failed");
                None
            }),
        since: opts.since,
        window,
        proxy_deadline_ms: opts.proxy_deadline_ms,
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
    pruner.abort();
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

async fn deliver_loop(
    opts: ListenOptions,
    store: CaptureStore,
    mut inbound: mpsc::Receiver<Inbound>,
    acks: mpsc::Sender<AgentMessage>,
    events: mpsc::Sender<AgentEvent>,
) {
    let deliverer = Deliverer::new(&opts.deliver);
    let mut seen: HashSet<EventId> = HashSet::new();
    let mut seen_order: VecDeque<EventId> = VecDeque::new();
    while let Some(msg) = inbound.recv().await {
        match msg {
            Inbound::Verification { at_ms, challenge } => {
                let capture = verification_capture(&opts, at_ms, challenge);
                if let Err(e) = store.insert(&capture) {
                    tracing::warn!(error = %format!("{e:#}"), "recording a verification failed");
                }
                let _ = events.send(AgentEvent::Captured(Box::new(capture))).await;
            }
            Inbound::Event(RelayMessage::Event {
                seq,
                id,
                received_at_ms,
                duplicate,
                request,
            }) => {
                let outcome = if seen.contains(&id) || store.is_delivered(id).unwrap_or(false) {
                    // Resent after a reconnect: already delivered, only the ack was lost.
                    save_cursor(&store, &opts, seq);
                    store
                        .get(id)
                        .ok()
                        .flatten()
                        .and_then(|c| c.outcome)
                        .unwrap_or_else(|| skipped("already delivered"))
                } else {
                    // Records the outcome and the cursor together.
                    let outcome = deliver_one(
                        &opts,
                        &store,
                        &deliverer,
                        &events,
                        seq,
                        id,
                        received_at_ms,
                        duplicate,
                        request,
                    )
                    .await;
                    if seen_order.len() >= SEEN_CAPACITY {
                        if let Some(old) = seen_order.pop_front() {
                            seen.remove(&old);
                        }
                    }
                    seen.insert(id);
                    seen_order.push_back(id);
                    outcome
                };
                let outcome = match opts.mode {
                    Mode::Proxy => outcome,
                    // Nobody waits for the body in ack mode: keep the ack small.
                    Mode::Ack => DeliveryOutcome {
                        response: outcome.response.map(|r| HttpResponse {
                            status: r.status,
                            headers: Vec::new(),
                            body: Blob::default(),
                        }),
                        ..outcome
                    },
                };
                if acks
                    .send(AgentMessage::Ack { seq, id, outcome })
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Inbound::Event(_) => {}
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn deliver_one(
    opts: &ListenOptions,
    store: &CaptureStore,
    deliverer: &Deliverer,
    events: &mpsc::Sender<AgentEvent>,
    seq: u64,
    id: EventId,
    received_at_ms: u64,
    duplicate: bool,
    request: HttpRequest,
) -> DeliveryOutcome {
    let delivered_at = now_ms();
    let capture = Capture {
        id,
        seq: Some(seq),
        source: opts.source.clone(),
        kind: CaptureKind::Event,
        received_at_ms,
        delivered_at_ms: Some(delivered_at),
        answered_at_ms: None,
        target_url: opts.target.url_for(&request),
        request,
        outcome: None,
        duplicate,
        replay_of: None,
    };
    if let Err(e) = store.insert(&capture) {
        tracing::warn!(error = %format!("{e:#}"), "recording an event failed");
    }
    let url = capture.target_url.clone();
    let request = capture.request.clone();
    let _ = events.send(AgentEvent::Captured(Box::new(capture))).await;
    let outcome = if duplicate && opts.drop_duplicates {
        skipped("Okta redelivery dropped (--drop-duplicates)")
    } else {
        deliverer.deliver(&url, &request).await
    };
    let answered = now_ms();
    let cursor = (opts.cursor_key.as_str(), opts.source.as_str(), seq);
    if let Err(e) = store.record_delivery(id, delivered_at, answered, &outcome, cursor) {
        tracing::warn!(error = %format!("{e:#}"), "recording an outcome failed");
        save_cursor(store, opts, seq);
    }
    let _ = events
        .send(AgentEvent::Delivered {
            id,
            delivered_at_ms: delivered_at,
            answered_at_ms: answered,
            outcome: outcome.clone(),
        })
        .await;
    outcome
}

fn save_cursor(store: &CaptureStore, opts: &ListenOptions, seq: u64) {
    if let Err(e) = store.set_cursor(&opts.cursor_key, &opts.source, seq) {
        tracing::warn!(error = %format!("{e:#}"), "saving the cursor failed");
    }
}

fn skipped(why: &str) -> DeliveryOutcome {
    DeliveryOutcome {
        response: None,
        error: Some(DeliveryError::Skipped(why.to_string())),
        duration_us: 0,
    }
}

fn verification_capture(opts: &ListenOptions, at_ms: u64, challenge: String) -> Capture {
    Capture {
        id: EventId::new(),
        seq: None,
        source: opts.source.clone(),
        kind: CaptureKind::Verification,
        received_at_ms: at_ms,
        delivered_at_ms: None,
        answered_at_ms: Some(at_ms),
        target_url: String::new(),
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
        outcome: Some(DeliveryOutcome {
            response: Some(HttpResponse {
                status: 200,
                headers: vec![Header::new("content-type", "application/json")],
                body: serde_json::json!({ "verification": challenge })
                    .to_string()
                    .into(),
            }),
            error: None,
            duration_us: 0,
        }),
        duplicate: false,
        replay_of: None,
    }
}
