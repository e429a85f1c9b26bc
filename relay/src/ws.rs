//! The agents' websocket on the relay's side: the HTTP upgrade, done here rather than by axum's
//! extractor so that sessions own a tungstenite stream and can send a large frame in fragments
//! (axum's socket sends every message whole); and the thin adapter from `shared`'s frames and
//! fragments to tungstenite messages.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hyper_util::rt::TokioIo;
use shared::fragment::Fragment;
use std::future::Future;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame as WsFrame;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// A server-side agent connection.
pub type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Answers a websocket upgrade request with `101 Switching Protocols` and runs `session` on
/// the connection once hyper hands it over; anything else gets a clear `4xx`.
pub fn upgrade<F, Fut>(mut req: Request, config: WebSocketConfig, session: F) -> Response
where
    F: FnOnce(Socket) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let headers = req.headers();
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    if !has_token(header::CONNECTION, "upgrade") || !has_token(header::UPGRADE, "websocket") {
        return refuse(
            StatusCode::BAD_REQUEST,
            "agents connect here with a websocket upgrade (Connection: upgrade, Upgrade: websocket)",
        );
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        let mut resp = refuse(
            StatusCode::UPGRADE_REQUIRED,
            "unsupported websocket version: 13 is required",
        );
        resp.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return resp;
    }
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
        return refuse(StatusCode::BAD_REQUEST, "Sec-WebSocket-Key is missing");
    };
    let accept = derive_accept_key(key.as_bytes());
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let io = TokioIo::new(upgraded);
                let socket = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
                session(socket).await;
            }
            Err(err) => tracing::debug!(%err, "websocket upgrade failed"),
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(Body::empty())
        .unwrap_or_else(|e| refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))
}

fn refuse(status: StatusCode, message: &str) -> Response {
    crate::error::json_error(status, message).into_response()
}

/// A text or binary frame as a websocket message.
pub fn message(frame: shared::Frame) -> Message {
    match frame {
        shared::Frame::Text(t) => Message::Text(t.into()),
        shared::Frame::Binary(b) => Message::Binary(b.into()),
    }
}

/// The messages that carry one binary frame: itself when small, else its fragments.
pub fn binary_messages(frame: Bytes) -> impl Iterator<Item = Message> {
    shared::fragment::fragments(frame).map(|part| match part {
        Fragment::Whole(bytes) => Message::Binary(bytes),
        Fragment::Piece { bytes, first, last } => {
            let opcode = if first {
                OpCode::Data(Data::Binary)
            } else {
                OpCode::Data(Data::Continue)
            };
            Message::Frame(WsFrame::message(bytes, opcode, last))
        }
    })
}
