//! `agent listen`: keep the relay link up and deliver every event of each source to the local
//! service, once, recording each exchange. Acknowledged events are delivered in sequence order, `concurrency`
//! at a time (1 by default); proxied events — a sender waits for each answer — are delivered at
//! once beside them. The cursor only moves over events that are all done.

use crate::capture::CaptureStore;
use crate::connection::{run_link, LinkOptions};
use crate::deliver::DeliverOptions;
use crate::dispatch::dispatch;
use crate::events::AgentEvent;
use crate::hold::OnDown;
use crate::model::{Capture, CaptureKind};
use crate::recorder::Recorder;
use crate::target::Target;
use crate::worker::DRAIN_GRACE;
use shared::{
    Blob, DeliveryOutcome, EventId, Header, Hello, HttpRequest, HttpResponse, Secret, Since,
    PROTOCOL_VERSION,
};
use std::collections::BTreeMap;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

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
    /// Sources to listen on: one, several, or `*`.
    pub sources: shared::SourceList,
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
    /// The relay's identity in the capture store: each source's last acked sequence is kept
    /// under [`ListenOptions::cursor_key`].
    pub relay_key: String,
    /// What acknowledged events do while the local service refuses connections.
    pub on_down: OnDown,
    /// Deliver once more, marked as a retry, when the answer is a 5xx or takes over 3 s.
    pub okta_retry: bool,
    /// `--route`s, first match wins; the rest go to `target`.
    pub routes: Vec<crate::rules::Route>,
    /// `--filter`s: an event failing any is acked, recorded as filtered and not delivered.
    pub filters: Vec<crate::rules::Filter>,
}

impl ListenOptions {
    /// The key `source`'s cursor is kept under: `{relay_key}#{source}`.
    pub fn cursor_key(&self, source: &str) -> String {
        format!("{}#{source}", self.relay_key)
    }

    /// The hello's cursors: the last acked sequence of each source listened on that this
    /// agent remembers one for.
    fn cursors(&self, store: &CaptureStore) -> BTreeMap<String, u64> {
        match store.cursors_of(&self.relay_key) {
            Ok(all) => all
                .into_iter()
                .filter(|(source, _)| self.sources.contains(source))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "reading the cursors failed");
                BTreeMap::new()
            }
        }
    }
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
            target: shown_target(&opts),
            source: opts.sources.to_string(),
        })
        .await;
    let window = opts.window.max(1);
    let (inbound_tx, inbound_rx) = mpsc::channel(window as usize);
    let (ack_tx, mut ack_rx) = mpsc::channel(window as usize * 2);
    let (recorder, recorder_thread) = Recorder::start(store.clone(), events.clone())?;
    let drain = CancellationToken::new();
    let mut worker = tokio::spawn(dispatch(
        opts.clone(),
        store.clone(),
        recorder,
        inbound_rx,
        ack_tx,
        events.clone(),
        drain.clone(),
    ));
    let pruner = tokio::spawn(prune_history(store.clone()));
    let hello_store = store.clone();
    let make_hello = || Hello {
        version: PROTOCOL_VERSION,
        token: opts.token.clone(),
        sources: opts.sources.to_vec(),
        agent_id: agent_id.clone(),
        cursors: opts.cursors(&hello_store),
        since: opts.since,
        window,
    };
    // The link outlives `shutdown` until the worker has finished and acked what was in flight.
    let link_stop = CancellationToken::new();
    let link = run_link(
        opts.link.clone(),
        make_hello,
        inbound_tx,
        &mut ack_rx,
        events,
        link_stop.clone(),
    );
    tokio::pin!(link);
    let mut worker_done = false;
    let result = tokio::select! {
        r = &mut link => r,
        _ = shutdown.cancelled() => {
            drain.cancel();
            let stop_link = async {
                // The worker drops its ack sender when done: the link sends the acks and ends.
                worker_done = tokio::time::timeout(DRAIN_GRACE + std::time::Duration::from_millis(100), &mut worker)
                    .await
                    .is_ok();
                link_stop.cancel();
            };
            let (_, r) = tokio::join!(stop_link, &mut link);
            r
        }
    };
    if !worker_done {
        worker.abort();
        let _ = worker.await;
    }
    pruner.abort();
    // Everything delivered so far is stored before `listen` returns.
    recorder_thread.finish().await;
    result.map_err(anyhow::Error::from)
}

/// The target as outputs show it, with the routes and filters in force.
fn shown_target(opts: &ListenOptions) -> String {
    let mut shown = opts.target.url();
    if !opts.routes.is_empty() {
        let routes: Vec<_> = opts.routes.iter().map(|r| r.spec.as_str()).collect();
        shown.push_str(&format!(" · routes {}", routes.join(", ")));
    }
    if !opts.filters.is_empty() {
        let filters: Vec<_> = opts.filters.iter().map(|f| f.spec.as_str()).collect();
        shown.push_str(&format!(" · filters {}", filters.join(" and ")));
    }
    shown
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

pub(crate) fn verification_capture(source: &str, at_ms: u64, challenge: String) -> Capture {
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
        source: source.to_string(),
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
