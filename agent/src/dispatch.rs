//! Several sources on one link: the relay's frames go to one delivery worker per source, each
//! started when its source first sends something. Each worker keeps its source's order, hold,
//! cursor and "never twice" set, so a source whose local service is down holds only its own
//! events while the others keep flowing.

use crate::capture::CaptureStore;
use crate::connection::Inbound;
use crate::events::AgentEvent;
use crate::listen::ListenOptions;
use crate::recorder::Recorder;
use crate::worker::deliver_loop;
use shared::AgentMessage;
use std::collections::HashMap;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Hands each frame from `inbound` to its source's worker until `inbound` closes or `drain`;
/// then lets the workers finish (see [`deliver_loop`]) and returns once all of them did, at
/// which point every ack sender is dropped and the link sends what is left and closes.
pub(crate) async fn dispatch(
    opts: ListenOptions,
    store: CaptureStore,
    recorder: Recorder,
    mut inbound: mpsc::Receiver<Inbound>,
    acks: mpsc::Sender<AgentMessage>,
    events: mpsc::Sender<AgentEvent>,
    drain: CancellationToken,
) {
    let capacity = opts.window.max(1) as usize;
    let mut lanes: HashMap<String, mpsc::Sender<Inbound>> = HashMap::new();
    let mut workers = Vec::new();
    loop {
        let msg = tokio::select! {
            msg = inbound.recv() => match msg {
                Some(msg) => msg,
                None => break,
            },
            _ = drain.cancelled() => break,
        };
        let source = msg.source();
        if !opts.sources.contains(source) {
            tracing::warn!(%source, "ignoring a frame for a source this agent did not ask for");
            continue;
        }
        let lane = match lanes.get(source) {
            Some(lane) => lane,
            None => {
                let (tx, rx) = mpsc::channel(capacity);
                workers.push(tokio::spawn(deliver_loop(
                    opts.clone(),
                    source.to_string(),
                    store.clone(),
                    recorder.clone(),
                    rx,
                    acks.clone(),
                    events.clone(),
                    drain.clone(),
                )));
                lanes.entry(source.to_string()).or_insert(tx)
            }
        };
        // A worker always takes what it is sent (the relay's window bounds it), so one
        // source's worker never makes this wait long; a worker that stopped is skipped.
        let _ = lane.send(msg).await;
    }
    drop(lanes);
    drop(acks);
    for worker in workers {
        let _ = worker.await;
    }
}
