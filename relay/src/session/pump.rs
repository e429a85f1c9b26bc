//! A joined agent's session loop: events out within the window, acks in, the cursor flushed,
//! notices and heartbeats, and the reasons a session ends.

use super::{send, send_failed, store_err, Closing, Sink, Stream};
use crate::state::RelayState;
use crate::store::Store;
use crate::ws;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use shared::frame;
use shared::inflight::InFlight;
use shared::protocol::close;
use shared::{AgentMessage, Hello};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// How often an advanced cursor is written to the store. Acks in between are safe to lose:
/// the agent's hello carries its own last acked sequence and it drops repeats by id.
const CURSOR_FLUSH: Duration = Duration::from_millis(250);

/// Most bytes of event frames sent and not yet acknowledged (one event is always allowed,
/// whatever its size). The window counts events; this bounds what an agent holds in memory
/// when the events are large: a backlog of 10 MB bodies goes out one at a time, not 256.
const MAX_IN_FLIGHT_BYTES: usize = 4 * 1024 * 1024;

/// What the loop needs from the handshake.
pub(super) struct Pump<'a> {
    pub state: &'a Arc<RelayState>,
    pub hello: &'a Hello,
    /// The first sequence to send.
    pub next: u64,
    /// Notices for this source's agents.
    pub notices: broadcast::Receiver<shared::RelayMessage>,
    /// Cancelled when the token is revoked or the relay shuts down.
    pub revoked: CancellationToken,
    /// Reading the log failed (the store is unreachable): the agent was told, and the read
    /// is retried every [`READ_RETRY`] instead of ending the session.
    pub read_failed: bool,
}

/// How often a failed log read is retried while the agent stays connected.
const READ_RETRY: Duration = Duration::from_millis(500);

/// Events sent and not yet acknowledged: their sequences, and their frames' sizes.
#[derive(Default)]
struct Window {
    seqs: InFlight,
    /// Frame size, and whether a sender waits for the answer, per sequence in flight.
    sizes: HashMap<u64, (usize, bool)>,
    bytes: usize,
}

impl Window {
    fn sent(&mut self, seq: u64, size: usize, proxied: bool) {
        self.seqs.sent(seq);
        self.sizes.insert(seq, (size, proxied));
        self.bytes += size;
    }

    /// Whether the event in flight at `seq` has a sender waiting for its answer.
    fn proxied(&self, seq: u64) -> bool {
        self.sizes.get(&seq).is_some_and(|(_, p)| *p)
    }

    /// Marks `seq` acknowledged; returns the sequence all events up to which are.
    fn acked(&mut self, seq: u64) -> Option<u64> {
        if let Some((size, _)) = self.sizes.remove(&seq) {
            self.bytes -= size;
        }
        self.seqs.done(seq)
    }

    fn has_room(&self, window: usize) -> bool {
        self.seqs.len() < window
    }

    fn full_of_bytes(&self) -> bool {
        self.bytes >= MAX_IN_FLIGHT_BYTES && !self.seqs.is_empty()
    }
}

/// The agent's acknowledged cursor, written to the store at most every [`CURSOR_FLUSH`].
struct Cursor {
    acked: Option<u64>,
    flushed: Option<u64>,
    last_flush: Instant,
}

impl Cursor {
    fn advance(&mut self, through: u64) {
        self.acked = Some(self.acked.map_or(through, |a| a.max(through)));
    }

    fn dirty(&self) -> bool {
        self.acked != self.flushed
    }

    fn flush(&mut self, store: &dyn Store, hello: &Hello, force: bool) -> Result<(), Closing> {
        if !self.dirty() || !(force || self.last_flush.elapsed() >= CURSOR_FLUSH) {
            return Ok(());
        }
        if let Some(seq) = self.acked {
            store
                .set_cursor(&hello.agent_id, &hello.source, seq)
                .map_err(store_err)?;
        }
        self.flushed = self.acked;
        self.last_flush = Instant::now();
        Ok(())
    }
}

impl Pump<'_> {
    /// Runs until the agent leaves (`Ok`) or the session must close (`Err`).
    pub(super) async fn run(mut self, sink: &mut Sink, stream: &mut Stream) -> Result<(), Closing> {
        let state = self.state;
        let store: &dyn Store = state.store.as_ref();
        let source = self.hello.source.as_str();
        let mut head_rx = store.watch_head(source).map_err(store_err)?;
        let mut head = *head_rx.borrow_and_update();
        let window = self.hello.window.clamp(1, state.config.max_window) as usize;
        let mut in_flight = Window::default();
        let mut cursor = Cursor {
            acked: None,
            flushed: None,
            last_flush: Instant::now(),
        };
        let mut last_seen = Instant::now();
        let mut heartbeat = tokio::time::interval(state.config.heartbeat_interval);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let hub = state.hub.source(source);
        let peers = store.peers();

        let result = loop {
            if let Err(closing) = self.fill(sink, &mut in_flight, window, head).await {
                break Err(closing);
            }
            if let Err(closing) = cursor.flush(store, self.hello, false) {
                break Err(closing);
            }
            tokio::select! {
                frame = stream.next() => {
                    last_seen = Instant::now();
                    match decode(frame, state.config.max_frame_bytes) {
                        Incoming::Ack { seq, id, outcome } => {
                            let proxied = in_flight.proxied(seq);
                            if let Some(through) = in_flight.acked(seq) {
                                cursor.advance(through);
                            }
                            let unclaimed = hub.complete(id, outcome);
                            // Its sender may wait at another instance on the same store.
                            if let (true, Some(outcome), Some(peers)) =
                                (proxied, unclaimed, peers.as_ref())
                            {
                                peers.forward_answer(id, &outcome);
                            }
                        }
                        Incoming::Ignore => continue,
                        Incoming::Gone => break Ok(()),
                        Incoming::Close(closing) => break Err(closing),
                    }
                }
                changed = head_rx.changed() => {
                    if changed.is_err() {
                        break Err(Closing::new(close::GOING_AWAY, "relay store closed"));
                    }
                    head = *head_rx.borrow_and_update();
                }
                notice = self.notices.recv() => {
                    if let Ok(msg) = notice {
                        if let Err(closing) = send(sink, &msg).await {
                            break Err(closing);
                        }
                    }
                }
                _ = heartbeat.tick() => {
                    if last_seen.elapsed() > state.config.heartbeat_timeout {
                        break Err(Closing::new(close::GOING_AWAY, "no heartbeat from the agent"));
                    }
                    if sink.send(Message::Ping(Bytes::new())).await.is_err() {
                        break Ok(());
                    }
                }
                _ = tokio::time::sleep(CURSOR_FLUSH), if cursor.dirty() => {}
                _ = tokio::time::sleep(READ_RETRY), if self.read_failed => {}
                _ = self.revoked.cancelled() => {
                    break Err(if state.shutdown.is_cancelled() {
                        Closing::new(close::GOING_AWAY, "relay shutting down")
                    } else {
                        Closing::new(close::TOKEN_REVOKED, "the token was revoked")
                    });
                }
            }
        };
        // The last acknowledgements are kept whatever ended the session.
        let _ = cursor.flush(store, self.hello, true);
        result
    }

    /// Keeps the session when the log cannot be read (a shared store's database is down):
    /// the agent is told once, and the loop retries.
    async fn read_failed(
        &mut self,
        sink: &mut Sink,
        err: crate::store::StoreError,
    ) -> Result<(), Closing> {
        if !self.read_failed {
            tracing::error!(%err, "reading the log failed; retrying");
            self.read_failed = true;
            let message = "the relay's store is unavailable: new webhooks are refused with 503 \
                           and delivery resumes when it is back"
                .into();
            send(sink, &shared::RelayMessage::Notice { message }).await?;
        }
        Ok(())
    }

    /// Fills the window from the log; the whole batch goes out in as few writes as it fits.
    async fn fill(
        &mut self,
        sink: &mut Sink,
        in_flight: &mut Window,
        window: usize,
        head: u64,
    ) -> Result<(), Closing> {
        let store: &dyn Store = self.state.store.as_ref();
        let source = self.hello.source.as_str();
        let mut queued = false;
        'fill: while in_flight.has_room(window) && self.next <= head {
            let room = window - in_flight.seqs.len();
            let batch = match store.read_after(source, self.next - 1, room) {
                Ok(batch) => batch,
                Err(err) => return self.read_failed(sink, err).await,
            };
            if self.read_failed {
                self.read_failed = false;
                let message = "the relay's store is reachable again; delivery resumes".into();
                send(sink, &shared::RelayMessage::Notice { message }).await?;
            }
            if batch.is_empty() {
                break;
            }
            for ev in batch {
                if in_flight.full_of_bytes() {
                    break 'fill;
                }
                self.next = ev.seq + 1;
                let frame = ev.frame();
                in_flight.sent(ev.seq, frame.len(), ev.proxied);
                for message in ws::binary_messages(frame) {
                    sink.feed(message).await.map_err(send_failed)?;
                }
                queued = true;
            }
        }
        if queued {
            sink.flush().await.map_err(send_failed)?;
        }
        Ok(())
    }
}

/// What one read from the agent's socket means for the loop.
enum Incoming {
    Ack {
        seq: u64,
        id: shared::EventId,
        outcome: shared::DeliveryOutcome,
    },
    /// Pings, pongs and raw frames: nothing to do.
    Ignore,
    /// The agent closed the socket or it ended.
    Gone,
    /// The agent broke the protocol.
    Close(Closing),
}

fn decode(
    frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    limit: usize,
) -> Incoming {
    let decoded = match frame {
        Some(Ok(Message::Binary(bytes))) => frame::decode_agent_binary(bytes, limit),
        Some(Ok(Message::Text(text))) => frame::decode_agent_text(&text, limit),
        Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {
            return Incoming::Ignore
        }
        Some(Ok(Message::Close(_))) | None => return Incoming::Gone,
        Some(Err(e)) => {
            let msg = e.to_string();
            let code = if msg.contains("too long") || msg.contains("too big") {
                close::TOO_BIG
            } else {
                close::BAD_FRAME
            };
            return Incoming::Close(Closing::new(code, msg));
        }
    };
    match decoded {
        Ok(AgentMessage::Ack { seq, id, outcome }) => Incoming::Ack { seq, id, outcome },
        Ok(AgentMessage::Hello(_)) => {
            Incoming::Close(Closing::new(close::BAD_FRAME, "hello sent twice"))
        }
        Err(e) => Incoming::Close(Closing::new(close::BAD_FRAME, e.to_string())),
    }
}
