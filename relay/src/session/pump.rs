//! A joined agent's session loop: each lane's events out within its share of the window, acks
//! in, cursors flushed, notices and heartbeats, and the reasons a session ends.

use super::lane::{Lane, CURSOR_FLUSH};
use super::{send, send_failed, store_err, Closing, Sink, Stream};
use crate::state::RelayState;
use crate::store::Store;
use crate::ws;
use bytes::Bytes;
use futures_util::stream::{BoxStream, SelectAll};
use futures_util::{SinkExt, StreamExt};
use shared::frame;
use shared::protocol::close;
use shared::{AgentMessage, RelayMessage};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// How often a failed log read is retried while the agent stays connected.
const READ_RETRY: Duration = Duration::from_millis(500);

/// What the loop needs from the handshake.
pub(super) struct Pump<'a> {
    pub state: &'a Arc<RelayState>,
    pub agent_id: &'a str,
    /// One per source, in the order the welcomes went out.
    pub lanes: Vec<Lane>,
    /// Cancelled when the token is revoked or the relay shuts down.
    pub revoked: CancellationToken,
}

/// Something a lane's log or hub says while the loop waits.
enum Wake {
    /// The lane's log has a new head.
    Head(usize, u64),
    /// A log's head watch ended: the store is closing.
    StoreClosed,
    /// A notice or verification for the lane's source.
    Notice(usize, RelayMessage),
}

/// The loop's own state beside the lanes.
struct Run {
    /// Reading the log failed (the store is unreachable): the agent was told, and the read
    /// is retried every [`READ_RETRY`] instead of ending the session.
    read_failed: bool,
    /// The lane of the last event sent: a [`RelayMessage::Lane`] frame goes before a run of
    /// another lane's events.
    current: Option<usize>,
    /// The lane the next fill starts with, turning so that no lane always goes first.
    turn: usize,
}

impl Pump<'_> {
    /// Runs until the agent leaves (`Ok`) or the session must close (`Err`).
    pub(super) async fn run(mut self, sink: &mut Sink, stream: &mut Stream) -> Result<(), Closing> {
        let state = self.state;
        let store: &dyn Store = state.store.as_ref();
        let mut wakes = self.wakes(store)?;
        let mut run = Run {
            read_failed: false,
            current: None,
            turn: 0,
        };
        let mut last_seen = Instant::now();
        let mut heartbeat = tokio::time::interval(state.config.heartbeat_interval);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let peers = store.peers();
        let several = self.lanes.len() > 1;

        let result = loop {
            if let Err(closing) = self.fill(sink, &mut run).await {
                break Err(closing);
            }
            if let Err(closing) = self.flush_cursors(false) {
                break Err(closing);
            }
            let dirty = self.lanes.iter().any(|l| l.cursor.dirty());
            tokio::select! {
                frame = stream.next() => {
                    last_seen = Instant::now();
                    match decode(frame, state.config.max_frame_bytes) {
                        Incoming::Ack { source, seq, id, outcome } => {
                            // An ack naming no source belongs to the session's only one.
                            let only = self.lanes.len() == 1 && source.is_empty();
                            let Some(lane) = self.lanes.iter_mut().find(|l| only || l.source == source) else {
                                tracing::warn!(%source, seq, "ignoring an ack for a source this session does not serve");
                                continue;
                            };
                            // Its sender may wait at another instance on the same store.
                            if let (Some(outcome), Some(peers)) = (lane.acked(seq, id, outcome), peers.as_ref()) {
                                peers.forward_answer(id, &outcome);
                            }
                        }
                        Incoming::Ignore => continue,
                        Incoming::Gone => break Ok(()),
                        Incoming::Close(closing) => break Err(closing),
                    }
                }
                Some(wake) = wakes.next() => match wake {
                    Wake::Head(i, head) => self.lanes[i].head = head,
                    Wake::StoreClosed => break Err(Closing::new(close::GOING_AWAY, "relay store closed")),
                    Wake::Notice(i, msg) => {
                        let msg = match msg {
                            RelayMessage::Notice { message } if several => RelayMessage::Notice {
                                message: format!("source {}: {message}", self.lanes[i].source),
                            },
                            other => other,
                        };
                        if let Err(closing) = send(sink, &msg).await {
                            break Err(closing);
                        }
                    }
                },
                _ = heartbeat.tick() => {
                    if last_seen.elapsed() > state.config.heartbeat_timeout {
                        break Err(Closing::new(close::GOING_AWAY, "no heartbeat from the agent"));
                    }
                    if sink.send(Message::Ping(Bytes::new())).await.is_err() {
                        break Ok(());
                    }
                }
                _ = tokio::time::sleep(CURSOR_FLUSH), if dirty => {}
                _ = tokio::time::sleep(READ_RETRY), if run.read_failed => {}
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
        let _ = self.flush_cursors(true);
        result
    }

    /// Every lane's head watch and notices, merged into one stream the loop waits on. Each
    /// lane's head is read once more here: an event appended since the handshake counts.
    fn wakes(&mut self, store: &dyn Store) -> Result<SelectAll<BoxStream<'static, Wake>>, Closing> {
        let mut wakes = SelectAll::new();
        for (i, lane) in self.lanes.iter_mut().enumerate() {
            let mut head_rx = store.watch_head(&lane.source).map_err(store_err)?;
            lane.head = *head_rx.borrow_and_update();
            let heads = futures_util::stream::unfold(Some(head_rx), move |rx| async move {
                let mut rx = rx?;
                match rx.changed().await {
                    Ok(()) => {
                        let head = *rx.borrow_and_update();
                        Some((Wake::Head(i, head), Some(rx)))
                    }
                    Err(_) => Some((Wake::StoreClosed, None)),
                }
            });
            let notices =
                futures_util::stream::unfold(lane.hub.subscribe(), move |mut rx| async move {
                    loop {
                        match rx.recv().await {
                            Ok(msg) => return Some((Wake::Notice(i, msg), rx)),
                            Err(broadcast::error::RecvError::Lagged(_)) => continue,
                            Err(broadcast::error::RecvError::Closed) => return None,
                        }
                    }
                });
            wakes.push(heads.boxed());
            wakes.push(notices.boxed());
        }
        Ok(wakes)
    }

    fn flush_cursors(&mut self, force: bool) -> Result<(), Closing> {
        let store: &dyn Store = self.state.store.as_ref();
        let mut result = Ok(());
        for lane in &mut self.lanes {
            // Every lane is flushed even when one fails (a forced flush keeps what it can).
            if let Err(closing) = lane.flush(store, self.agent_id, force) {
                result = result.and(Err(closing));
            }
        }
        result
    }

    /// Keeps the session when the log cannot be read (a shared store's database is down):
    /// the agent is told once, and the loop retries.
    async fn read_failed(
        sink: &mut Sink,
        run: &mut Run,
        err: crate::store::StoreError,
    ) -> Result<(), Closing> {
        if !run.read_failed {
            tracing::error!(%err, "reading the log failed; retrying");
            run.read_failed = true;
            let message = "the relay's store is unavailable: new webhooks are refused with 503 \
                           and delivery resumes when it is back"
                .into();
            send(sink, &RelayMessage::Notice { message }).await?;
        }
        Ok(())
    }

    /// Fills every lane's share of the window from its log, starting with a different lane
    /// each time; the whole batch goes out in as few writes as it fits.
    async fn fill(&mut self, sink: &mut Sink, run: &mut Run) -> Result<(), Closing> {
        let count = self.lanes.len();
        let mut queued = false;
        for k in 0..count {
            let i = (run.turn + k) % count;
            queued |= self.fill_lane(i, sink, run).await?;
        }
        run.turn = (run.turn + 1) % count.max(1);
        if queued {
            sink.flush().await.map_err(send_failed)?;
        }
        Ok(())
    }

    /// Queues lane `i`'s unsent events up to its room; true when it queued any.
    async fn fill_lane(
        &mut self,
        i: usize,
        sink: &mut Sink,
        run: &mut Run,
    ) -> Result<bool, Closing> {
        let store: &dyn Store = self.state.store.as_ref();
        let mut queued = false;
        'fill: while self.lanes[i].room() > 0 && self.lanes[i].has_unsent() {
            let lane = &self.lanes[i];
            let batch = match store.read_after(&lane.source, lane.next - 1, lane.room()) {
                Ok(batch) => batch,
                Err(err) => {
                    Self::read_failed(sink, run, err).await?;
                    return Ok(queued);
                }
            };
            if run.read_failed {
                run.read_failed = false;
                let message = "the relay's store is reachable again; delivery resumes".into();
                send(sink, &RelayMessage::Notice { message }).await?;
            }
            if batch.is_empty() {
                break;
            }
            for ev in batch {
                let lane = &mut self.lanes[i];
                if lane.full_of_bytes() {
                    break 'fill;
                }
                if run.current != Some(i) {
                    let switch = RelayMessage::Lane {
                        source: lane.source.clone(),
                    };
                    sink.feed(ws::message(frame::encode_relay(&switch)))
                        .await
                        .map_err(send_failed)?;
                    run.current = Some(i);
                }
                lane.next = ev.seq + 1;
                let frame = ev.frame();
                lane.in_flight.sent(ev.seq, frame.len(), ev.proxied);
                for message in ws::binary_messages(frame) {
                    sink.feed(message).await.map_err(send_failed)?;
                }
                queued = true;
            }
        }
        Ok(queued)
    }
}

/// What one read from the agent's socket means for the loop.
enum Incoming {
    Ack {
        source: String,
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
        Ok(AgentMessage::Ack {
            source,
            seq,
            id,
            outcome,
        }) => Incoming::Ack {
            source,
            seq,
            id,
            outcome,
        },
        Ok(AgentMessage::Hello(_)) => {
            Incoming::Close(Closing::new(close::BAD_FRAME, "hello sent twice"))
        }
        Err(e) => Incoming::Close(Closing::new(close::BAD_FRAME, e.to_string())),
    }
}
