//! One agent's websocket: the hello, then [`handshake`] (version, token, source, where delivery
//! resumes), then the session loop in [`pump`] (events out, acks in, cursor, heartbeats).

mod handshake;
mod lane;
mod pump;

use crate::state::RelayState;
use crate::ws::{self, Socket};
use axum::extract::{Request, State};
use axum::response::Response;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use shared::frame;
use shared::protocol::close;
use shared::{AgentMessage, Hello, RelayMessage};
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;

/// Bytes of queued frames written to the socket at once.
const WRITE_BUFFER: usize = 32 * 1024;

type Sink = SplitSink<Socket, Message>;
type Stream = SplitStream<Socket>;

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
pub(crate) struct Closing(u16, String);

impl Closing {
    fn new(code: u16, reason: impl Into<String>) -> Self {
        Closing(code, reason.into())
    }
}

async fn run(state: Arc<RelayState>, socket: Socket) {
    let (mut sink, mut stream) = socket.split();
    let hello = match read_hello(&state, &mut stream).await {
        Ok(Some(hello)) => hello,
        Ok(None) => return,
        Err(closing) => return close_with(&mut sink, closing).await,
    };
    let sources = hello.sources.join(",");
    let span = tracing::info_span!("session", source = %sources, agent = %hello.agent_id);
    let _enter = span.enter();
    let served = serve(&state, &hello, &mut sink, &mut stream).await;
    // The agent is no longer counted here: other instances on the store learn it now.
    state.publish_agents();
    let closing = match served {
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

/// The agent's first frame, which must be a text hello; `None` when it never came.
async fn read_hello(state: &RelayState, stream: &mut Stream) -> Result<Option<Hello>, Closing> {
    match tokio::time::timeout(state.config.hello_timeout, stream.next()).await {
        Ok(Some(Ok(Message::Text(text)))) => {
            match frame::decode_agent_text(&text, state.config.max_frame_bytes) {
                Ok(AgentMessage::Hello(h)) => Ok(Some(h)),
                Ok(_) => Err(Closing::new(close::BAD_FRAME, "expected hello")),
                Err(e) => Err(Closing::new(close::BAD_FRAME, e.to_string())),
            }
        }
        Ok(Some(Ok(_))) => Err(Closing::new(close::BAD_FRAME, "expected a text hello")),
        _ => Ok(None),
    }
}

/// Joins the agent, welcomes it on each source, and runs its session.
async fn serve(
    state: &Arc<RelayState>,
    hello: &Hello,
    sink: &mut Sink,
    stream: &mut Stream,
) -> Result<(), Closing> {
    let joined = handshake::join(state, hello).await?;
    let session = state
        .hub
        .register_session(&joined.token_id, &state.shutdown);
    state.publish_agents();
    for (lane, notices) in joined.lanes.iter().zip(joined.notices) {
        for message in notices {
            tracing::warn!(source = %lane.source, %message, "agent cursor does not match this relay's log");
            let message = if joined.lanes.len() > 1 {
                format!("source {}: {message}", lane.source)
            } else {
                message
            };
            send(sink, &RelayMessage::Notice { message }).await?;
        }
        send(
            sink,
            &RelayMessage::Welcome {
                source: lane.source.clone(),
                mode: lane.info.settings.mode,
                public_url: state.public_source_url(&lane.source),
                head_seq: lane.head,
                backlog: (lane.head + 1).saturating_sub(lane.next),
                resume_from: lane.next,
            },
        )
        .await?;
        tracing::info!(
            source = %lane.source,
            resume_from = lane.next,
            head = lane.head,
            "agent connected"
        );
    }
    pump::Pump {
        state,
        agent_id: &hello.agent_id,
        lanes: joined.lanes,
        revoked: session.revoked.clone(),
    }
    .run(sink, stream)
    .await
}

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

fn send_failed(e: tokio_tungstenite::tungstenite::Error) -> Closing {
    Closing::new(close::GOING_AWAY, format!("send failed: {e}"))
}

async fn send(sink: &mut Sink, msg: &RelayMessage) -> Result<(), Closing> {
    sink.send(ws::message(frame::encode_relay(msg)))
        .await
        .map_err(send_failed)
}

fn store_err(e: crate::store::StoreError) -> Closing {
    tracing::error!(%e, "store failed during a session");
    Closing::new(close::RELAY_ERROR, "relay store error")
}
