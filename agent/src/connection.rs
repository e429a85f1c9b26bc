//! The websocket link to the relay: hello with the last acked sequence per source, events in
//! (tagged with the source the relay's lane frames name), acks out,
//! heartbeats, and reconnects with exponential backoff and jitter.

use crate::events::{AgentEvent, ConnState};
use crate::model::now_ms;
use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use shared::frame;
use shared::protocol::close;
use shared::{AgentMessage, Event, Hello, RelayMessage};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// How the link behaves.
#[derive(Clone, Debug)]
pub struct LinkOptions {
    /// Relay base URL, `http(s)://host:port` (ws/wss derived), or several separated by
    /// commas: instances of one relay on a shared database, tried in turn when one fails.
    pub relay_url: String,
    /// Interval between pings.
    pub heartbeat_interval: Duration,
    /// Silence after which the relay is considered gone.
    pub heartbeat_timeout: Duration,
    /// First reconnect delay.
    pub backoff_initial: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
    /// Accept any relay certificate.
    pub insecure: bool,
    /// Largest frame accepted from the relay.
    pub max_frame_bytes: usize,
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions {
            relay_url: String::new(),
            heartbeat_interval: Duration::from_secs(5),
            heartbeat_timeout: Duration::from_secs(15),
            backoff_initial: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
            insecure: false,
            max_frame_bytes: shared::protocol::DEFAULT_MAX_FRAME_BYTES,
        }
    }
}

/// A relay frame for the delivery worker of its source.
pub enum Inbound {
    /// An event to deliver.
    Event {
        /// Its source.
        source: String,
        /// The event.
        event: Event,
    },
    /// The relay answered a verification challenge.
    Verification {
        /// The source it came to.
        source: String,
        /// When.
        at_ms: u64,
        /// The challenge.
        challenge: String,
    },
}

impl Inbound {
    /// The source the frame belongs to.
    pub fn source(&self) -> &str {
        match self {
            Inbound::Event { source, .. } | Inbound::Verification { source, .. } => source,
        }
    }
}

/// The relay refused this agent for good.
#[derive(Debug, thiserror::Error)]
#[error("relay closed the connection: {reason} (close code {code})")]
pub struct Refused {
    /// Close code.
    pub code: u16,
    /// Human reason.
    pub reason: String,
}

enum LinkEnd {
    /// Lost; try again. `healthy` when the link got as far as a welcome.
    Lost {
        reason: String,
        healthy: bool,
    },
    Fatal(Refused),
    Shutdown,
}

/// Keeps a link to the relay up until `shutdown` or a fatal refusal. `hello` is rebuilt for
/// every attempt (the last acked sequence moves). Relay frames go to `inbound`; acks come
/// from `acks`.
pub async fn run_link(
    opts: LinkOptions,
    mut make_hello: impl FnMut() -> Hello,
    inbound: mpsc::Sender<Inbound>,
    acks: &mut mpsc::Receiver<AgentMessage>,
    events: mpsc::Sender<AgentEvent>,
    shutdown: CancellationToken,
) -> Result<(), Refused> {
    let mut attempt: u32 = 0;
    let urls = relay_urls(&opts.relay_url);
    let mut current = 0;
    let _ = events.send(AgentEvent::State(ConnState::Connecting)).await;
    loop {
        let url = urls
            .get(current)
            .map_or(opts.relay_url.as_str(), String::as_str);
        let hello = make_hello();
        let end = match connect_once(&opts, url, hello, &inbound, acks, &events, &shutdown).await {
            Ok(end) => end,
            Err(e) => LinkEnd::Lost {
                reason: format!("{e:#}"),
                healthy: false,
            },
        };
        let reason = match end {
            LinkEnd::Shutdown => return Ok(()),
            LinkEnd::Fatal(refused) => {
                let _ = events
                    .send(AgentEvent::State(ConnState::Failed {
                        reason: refused.to_string(),
                    }))
                    .await;
                return Err(refused);
            }
            LinkEnd::Lost { reason, healthy } => {
                if healthy {
                    attempt = 0;
                }
                // The next attempt goes to the next instance (the same one when only one).
                current = (current + 1) % urls.len().max(1);
                reason
            }
        };
        attempt += 1;
        let delay = backoff(&opts, attempt);
        tracing::info!(attempt, delay_ms = delay.as_millis() as u64, %reason, "reconnecting");
        let _ = events
            .send(AgentEvent::State(ConnState::Reconnecting {
                attempt,
                next_in_ms: delay.as_millis() as u64,
                reason,
            }))
            .await;
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.cancelled() => return Ok(()),
        }
    }
}

/// The relay URLs of `--relay URL1,URL2`, in order.
pub fn relay_urls(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_string)
        .collect()
}

/// Exponential backoff with ±20% jitter, capped.
fn backoff(opts: &LinkOptions, attempt: u32) -> Duration {
    let base = opts
        .backoff_initial
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(opts.backoff_max);
    let jitter = rand::rng().random_range(0.8..1.2);
    base.mul_f64(jitter)
}

/// Queues one message; a large ack (a big local answer in proxy mode) goes in fragments.
async fn feed<S>(sink: &mut S, msg: &AgentMessage) -> Result<(), S::Error>
where
    S: futures_util::Sink<Message> + Unpin,
{
    for m in crate::wire::messages(frame::encode_agent(msg)) {
        sink.feed(m).await?;
    }
    Ok(())
}

/// Sends every ack already queued, then a close (best effort: the link is ending).
async fn flush_acks<S>(sink: &mut S, acks: &mut mpsc::Receiver<AgentMessage>)
where
    S: futures_util::Sink<Message> + Unpin,
{
    while let Ok(ack) = acks.try_recv() {
        if feed(sink, &ack).await.is_err() {
            return;
        }
    }
    let _ = sink.flush().await;
    let _ = sink.send(Message::Close(None)).await;
}

/// `http://h/` → `ws://h/agent/connect`.
pub fn connect_url(relay_url: &str) -> String {
    let base = relay_url.trim_end_matches('/');
    let ws = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_string()
    };
    format!("{ws}/agent/connect")
}

async fn connect_once(
    opts: &LinkOptions,
    relay_url: &str,
    hello: Hello,
    inbound: &mpsc::Sender<Inbound>,
    acks: &mut mpsc::Receiver<AgentMessage>,
    events: &mpsc::Sender<AgentEvent>,
    shutdown: &CancellationToken,
) -> anyhow::Result<LinkEnd> {
    let url = connect_url(relay_url);
    let config = WebSocketConfig::default()
        .max_message_size(Some(opts.max_frame_bytes))
        .max_frame_size(Some(opts.max_frame_bytes));
    let tls = crate::tls::client_config(opts.insecure, &[]);
    let connector = tokio_tungstenite::Connector::Rustls(Arc::new(tls));
    let connecting = crate::dial::dial(&url, config, connector);
    let ws = tokio::select! {
        r = tokio::time::timeout(opts.heartbeat_timeout.min(Duration::from_secs(10)), connecting) => {
            r.context("timed out connecting to the relay")??
        }
        _ = shutdown.cancelled() => return Ok(LinkEnd::Shutdown),
    };
    let (mut sink, mut stream) = ws.split();
    feed(&mut sink, &AgentMessage::Hello(hello))
        .await
        .context("sending hello")?;
    sink.flush().await.context("sending hello")?;

    let mut healthy = false;
    // The sources welcomed on this link, and the one the events now arriving belong to.
    let mut welcomed: Vec<String> = Vec::new();
    let mut lane: Option<String> = None;
    let mut last_seen = Instant::now();
    let mut heartbeat = tokio::time::interval(opts.heartbeat_interval);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            frame = stream.next() => {
                last_seen = Instant::now();
                let decoded = match frame {
                    Some(Ok(Message::Binary(bytes))) => frame::decode_relay_binary(crate::wire::detach(bytes), opts.max_frame_bytes),
                    Some(Ok(Message::Text(text))) => frame::decode_relay_text(&text, opts.max_frame_bytes),
                    Some(Ok(Message::Close(frame))) => {
                        let (code, reason) = frame
                            .map(|f| (u16::from(f.code), f.reason.to_string()))
                            .unwrap_or((1005, String::new()));
                        let reason = if reason.is_empty() { close::describe(code).to_string() } else { reason };
                        if close::is_fatal(code) {
                            return Ok(LinkEnd::Fatal(Refused { code, reason }));
                        }
                        return Ok(LinkEnd::Lost { reason: format!("relay closed the link: {reason} ({code})"), healthy });
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Ok(LinkEnd::Lost { reason: e.to_string(), healthy }),
                    None => return Ok(LinkEnd::Lost { reason: "relay closed the connection".into(), healthy }),
                };
                let msg: RelayMessage = match decoded {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::warn!(%e, "ignoring a frame this agent does not understand");
                        continue;
                    }
                };
                match msg {
                    RelayMessage::Welcome { source, backlog, head_seq, public_url, mode, .. } => {
                        tracing::info!(%source, %public_url, backlog, "connected to relay");
                        if !healthy {
                            let _ = events.send(AgentEvent::State(ConnState::Connected { since_ms: now_ms() })).await;
                        }
                        healthy = true;
                        welcomed.push(source.clone());
                        let _ = events.send(AgentEvent::Welcome { source, backlog, head_seq, public_url, mode }).await;
                    }
                    RelayMessage::Lane { source } => lane = Some(source),
                    RelayMessage::Event(event) => {
                        // A relay that names no lane serves the one source it welcomed.
                        let Some(source) = lane.clone().or_else(|| (welcomed.len() == 1).then(|| welcomed[0].clone())) else {
                            tracing::warn!(seq = event.seq, "ignoring an event sent before its source was named");
                            continue;
                        };
                        if inbound.send(Inbound::Event { source, event }).await.is_err() {
                            // The worker has stopped: its last acks still go out.
                            flush_acks(&mut sink, acks).await;
                            return Ok(LinkEnd::Shutdown);
                        }
                    }
                    RelayMessage::Verification { source, at_ms, challenge } => {
                        let _ = inbound.send(Inbound::Verification { source, at_ms, challenge }).await;
                    }
                    RelayMessage::Notice { message } => {
                        let _ = events.send(AgentEvent::Notice(message)).await;
                    }
                }
            }
            ack = acks.recv() => {
                let Some(ack) = ack else {
                    // The worker finished (a graceful stop) and every ack it sent is out.
                    let _ = sink.send(Message::Close(None)).await;
                    return Ok(LinkEnd::Shutdown);
                };
                // Every ack ready now goes out in one write.
                let mut sent = feed(&mut sink, &ack).await;
                while sent.is_ok() {
                    let Ok(more) = acks.try_recv() else { break };
                    sent = feed(&mut sink, &more).await;
                }
                if let Err(e) = sent.and(sink.flush().await) {
                    return Ok(LinkEnd::Lost { reason: format!("sending an ack: {e}"), healthy });
                }
            }
            _ = heartbeat.tick() => {
                if last_seen.elapsed() > opts.heartbeat_timeout {
                    return Ok(LinkEnd::Lost {
                        reason: format!("no heartbeat from the relay for {} ms", last_seen.elapsed().as_millis()),
                        healthy,
                    });
                }
                if let Err(e) = sink.send(Message::Ping(Default::default())).await {
                    return Ok(LinkEnd::Lost { reason: format!("sending a ping: {e}"), healthy });
                }
            }
            _ = shutdown.cancelled() => {
                let _ = sink.send(Message::Close(None)).await;
                return Ok(LinkEnd::Shutdown);
            }
        }
    }
}
