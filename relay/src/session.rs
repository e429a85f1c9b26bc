//! One agent's websocket: hello, token and version checks, then events out and acks in.

use crate::store::Store;
use crate::ws::{self, Socket};
use crate::RelayState;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use shared::frame::{self, Frame};
use shared::protocol::close;
use shared::{AgentMessage, Hello, RelayMessage, Since, PROTOCOL_VERSION};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;

/// How often an advanced cursor is written to the store. Acks in between are safe to lose:
/// the agent's hello carries its own last acked sequence and it drops repeats by id.
const CURSOR_FLUSH: Duration = Duration::from_millis(250);

/// Bytes of queued frames written to the socket at once.
const WRITE_BUFFER: usize = 32 * 1024;

/// Most bytes of event frames sent and not yet acknowledged (one event is always allowed,
/// whatever its size). The window counts events; this bounds what an agent holds in memory
/// when the events are large: a backlog of 10 MB bodies goes out one at a time, not 256.
const MAX_IN_FLIGHT_BYTES: usize = 4 * 1024 * 1024;

/// `GET /agent/connect`: upgrades to a websocket session.
pub async fn connect(State(state): State<Arc<RelayState>>, req: Request) -> Response {
    let max = state.config.max_frame_bytes;
    // Small buffers keep idle agents cheap; frames larger than them still pass. Frames queued
    // together (a batch of events) go out in one write up to the write buffer's size.
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(Some(max))
        .max_frame_size(Some(max));
    ws::upgrade(req, config, move |socket| async move {
        let tracker = state.tracker.clone();
        tracker.track_future(run(state, socket)).await
    })
}

/// Why a session ends, as a close frame.
struct Closing(u16, String);

impl Closing {
    fn new(code: u16, reason: impl Into<String>) -> Self {
        Closing(code, reason.into())
    }
}

async fn run(state: Arc<RelayState>, socket: Socket) {
    let (mut sink, mut stream) = socket.split();
    let hello = match tokio::time::timeout(state.config.hello_timeout, stream.next()).await {
        Ok(Some(Ok(Message::Text(text)))) => {
            match frame::decode_agent_text(&text, state.config.max_frame_bytes) {
                Ok(AgentMessage::Hello(h)) => h,
                Ok(_) => {
                    return close_with(&mut sink, Closing::new(close::BAD_FRAME, "expected hello"))
                        .await
                }
                Err(e) => {
                    return close_with(&mut sink, Closing::new(close::BAD_FRAME, e.to_string()))
                        .await
                }
            }
        }
        Ok(Some(Ok(_))) => {
            return close_with(
                &mut sink,
                Closing::new(close::BAD_FRAME, "expected a text hello"),
            )
            .await
        }
        _ => return,
    };
    let source = hello.source.clone();
    let span = tracing::info_span!("session", %source, agent = %hello.agent_id);
    let _enter = span.enter();
    let closing = match serve(&state, hello, &mut sink, &mut stream).await {
        Ok(()) => return,
        Err(c) => c,
    };
    tracing::info!(code = closing.0, reason = %closing.1, "closing agent session");
    close_with(&mut sink, closing).await;
    // Wait briefly for the agent's close reply so it reads our code before the socket goes.
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(msg)) = stream.next().await {
            if matches!(msg, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

type Sink = SplitSink<Socket, Message>;

async fn close_with(sink: &mut Sink, closing: Closing) {
    let frame = CloseFrame {
        code: CloseCode::from(closing.0),
        reason: closing.1.into(),
    };
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        sink.send(Message::Close(Some(frame))),
    )
    .await;
}

fn to_message(frame: Frame) -> Message {
    match frame {
        Frame::Text(t) => Message::Text(t.into()),
        Frame::Binary(b) => Message::Binary(b.into()),
    }
}

fn send_failed(e: tokio_tungstenite::tungstenite::Error) -> Closing {
    Closing::new(close::GOING_AWAY, format!("send failed: {e}"))
}

async fn send(sink: &mut Sink, msg: &RelayMessage) -> Result<(), Closing> {
    sink.send(to_message(frame::encode_relay(msg)))
        .await
        .map_err(send_failed)
}

fn store_err(e: crate::store::StoreError) -> Closing {
    tracing::error!(%e, "store failed during a session");
    Closing::new(close::RELAY_ERROR, "relay store error")
}

async fn serve(
    state: &Arc<RelayState>,
    hello: Hello,
    sink: &mut Sink,
    stream: &mut futures_util::stream::SplitStream<Socket>,
) -> Result<(), Closing> {
    if hello.version != PROTOCOL_VERSION {
        return Err(Closing::new(
            close::VERSION_MISMATCH,
            format!(
                "agent speaks protocol {} but this relay speaks {PROTOCOL_VERSION}",
                hello.version
            ),
        ));
    }
    let token = state
        .authenticate(&hello.token)
        .await
        .map_err(store_err)?
        .ok_or_else(|| Closing::new(close::UNAUTHORIZED, "invalid token"))?;
    let store: &dyn Store = state.store.as_ref();
    if store.source(&hello.source).map_err(store_err)?.is_none() && token.source != hello.source {
        return Err(Closing::new(
            close::UNKNOWN_SOURCE,
            format!("unknown source {:?}", hello.source),
        ));
    }
    if token.source != hello.source {
        return Err(Closing::new(
            close::FORBIDDEN_SOURCE,
            format!("this token may only listen on source {:?}", token.source),
        ));
    }
    let source = hello.source.as_str();
    store.ensure_source(source).map_err(store_err)?;
    let hub = state
        .hub
        .source(source, hello.mode, state.config.proxy_deadline);
    let deadline = hello.proxy_deadline_ms.map(Duration::from_millis);
    let max_agents = state.config.max_agents_per_source;
    let _agent = hub
        .try_join(hello.mode, deadline, max_agents)
        .ok_or_else(|| {
            Closing::new(
                close::TOO_MANY_AGENTS,
                format!(
                    "source {source:?} already has {max_agents} agent(s) connected (the limit)"
                ),
            )
        })?;
    store.set_mode(source, hello.mode).map_err(store_err)?;
    let session = state.hub.register_session(&token.id, &state.shutdown);
    let mut notices = hub.subscribe();
    let mut head_rx = store.watch_head(source).map_err(store_err)?;
    let head = *head_rx.borrow_and_update();

    let known = store.cursor(&hello.agent_id, source).map_err(store_err)?;
    let oldest = store.oldest_seq(source).map_err(store_err)?;
    let mut notices_first = Vec::new();
    let mut next = match (hello.last_acked_seq, known) {
        // The agent's own record is the newest (the relay writes cursors every 250 ms), as long
        // as this log has come that far.
        (Some(n), Some(_)) if n <= head => n + 1,
        // The agent acknowledged events past this log's end: the relay lost its newest events
        // (a power cut under --sync normal, a restored backup). Its own record of the agent
        // is all that holds for this log.
        (Some(n), Some(c)) => {
            let from = c.min(head) + 1;
            notices_first.push(format!(
                "this relay's log ends at sequence {head} but this agent had acknowledged up to \
                 {n}; the relay lost recent data, so delivery resumes from its own record, {from}"
            ));
            from
        }
        // This relay never saw this agent, so its acknowledged sequence belongs to another
        // log (the relay was reset or replaced at the same address): skipping up to it would
        // lose what this log holds, so the agent gets everything retained.
        (Some(n), None) => {
            let from = oldest;
            notices_first.push(format!(
                "this relay has no record of this agent (its last acknowledged sequence, {n}, \
                 belongs to another relay's log); delivering this relay's retained events from \
                 sequence {from}"
            ));
            store
                .set_cursor(&hello.agent_id, source, from - 1)
                .map_err(store_err)?;
            from
        }
        (None, Some(c)) => c + 1,
        (None, None) => {
            let start = match hello.since.unwrap_or(Since::Now) {
                Since::Now => head + 1,
                Since::Seq(s) => s.max(1),
                Since::AgoMs(ms) => store
                    .first_seq_since(source, crate::now_ms().saturating_sub(ms))
                    .map_err(store_err)?,
            };
            // Remember where a new agent starts, so events that arrive before its first ack
            // are still sent after a reconnect.
            store
                .set_cursor(&hello.agent_id, source, start - 1)
                .map_err(store_err)?;
            start
        }
    };
    for message in notices_first {
        tracing::warn!(%message, "agent cursor does not match this relay's log");
        send(sink, &RelayMessage::Notice { message }).await?;
    }
    if next < oldest {
        let lost = oldest - next;
        send(
            sink,
            &RelayMessage::Notice {
                message: format!(
                    "{lost} event(s) were removed by retention before this agent received them"
                ),
            },
        )
        .await?;
        next = oldest;
    }
    send(
        sink,
        &RelayMessage::Welcome {
            source: source.to_string(),
            mode: hello.mode,
            public_url: state.public_source_url(source),
            head_seq: head,
            backlog: (head + 1).saturating_sub(next),
            resume_from: next,
        },
    )
    .await?;
    tracing::info!(resume_from = next, head, "agent connected");

    let window = hello.window.clamp(1, state.config.max_window) as usize;
    let mut in_flight = shared::inflight::InFlight::default();
    // Frame sizes of the events in flight, by sequence, and their sum.
    let mut in_flight_sizes: std::collections::HashMap<u64, usize> = Default::default();
    let mut in_flight_bytes = 0usize;
    let mut acked: Option<u64> = None;
    let mut flushed: Option<u64> = None;
    let mut last_flush = Instant::now();
    let mut last_seen = Instant::now();
    let mut heartbeat = tokio::time::interval(state.config.heartbeat_interval);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut head = head;
    let limit = state.config.max_frame_bytes;

    let result = loop {
        // Fill the window from the log; the whole batch goes out in as few writes as it fits.
        let mut queued = false;
        'fill: while in_flight.len() < window && next <= head {
            let batch = store
                .read_after(source, next - 1, window - in_flight.len())
                .map_err(store_err)?;
            if batch.is_empty() {
                break;
            }
            for ev in batch {
                if in_flight_bytes >= MAX_IN_FLIGHT_BYTES && !in_flight.is_empty() {
                    break 'fill;
                }
                next = ev.seq + 1;
                in_flight.sent(ev.seq);
                let frame = ev.frame();
                in_flight_bytes += frame.len();
                in_flight_sizes.insert(ev.seq, frame.len());
                for message in ws::binary_messages(frame) {
                    sink.feed(message).await.map_err(send_failed)?;
                }
                queued = true;
            }
        }
        if queued {
            sink.flush().await.map_err(send_failed)?;
        }
        if acked != flushed && last_flush.elapsed() >= CURSOR_FLUSH {
            if let Some(seq) = acked {
                store
                    .set_cursor(&hello.agent_id, source, seq)
                    .map_err(store_err)?;
            }
            flushed = acked;
            last_flush = Instant::now();
        }
        tokio::select! {
            frame = stream.next() => {
                last_seen = Instant::now();
                let decoded = match frame {
                    Some(Ok(Message::Binary(bytes))) => frame::decode_agent_binary(bytes, limit),
                    Some(Ok(Message::Text(text))) => frame::decode_agent_text(&text, limit),
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                    Some(Ok(Message::Close(_))) | None => break Ok(()),
                    Some(Err(e)) => {
                        let msg = e.to_string();
                        let code = if msg.contains("too long") || msg.contains("too big") {
                            close::TOO_BIG
                        } else {
                            close::BAD_FRAME
                        };
                        break Err(Closing::new(code, msg));
                    }
                };
                match decoded {
                    Ok(AgentMessage::Ack { seq, id, outcome }) => {
                        if let Some(size) = in_flight_sizes.remove(&seq) {
                            in_flight_bytes -= size;
                        }
                        if let Some(through) = in_flight.done(seq) {
                            acked = Some(acked.map_or(through, |a| a.max(through)));
                        }
                        hub.complete(id, outcome);
                    }
                    Ok(AgentMessage::Hello(_)) => {
                        break Err(Closing::new(close::BAD_FRAME, "hello sent twice"));
                    }
                    Err(e) => break Err(Closing::new(close::BAD_FRAME, e.to_string())),
                }
            }
            changed = head_rx.changed() => {
                if changed.is_err() {
                    break Err(Closing::new(close::GOING_AWAY, "relay store closed"));
                }
                head = *head_rx.borrow_and_update();
            }
            notice = notices.recv() => {
                if let Ok(msg) = notice {
                    send(sink, &msg).await?;
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
            _ = tokio::time::sleep(CURSOR_FLUSH), if acked != flushed => {}
            _ = session.revoked.cancelled() => {
                break Err(if state.shutdown.is_cancelled() {
                    Closing::new(close::GOING_AWAY, "relay shutting down")
                } else {
                    Closing::new(close::TOKEN_REVOKED, "the token was revoked")
                });
            }
        }
    };
    if let Some(seq) = acked {
        if acked != flushed {
            let _ = store.set_cursor(&hello.agent_id, source, seq);
        }
    }
    result
}
