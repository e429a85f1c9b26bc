//! The agents' websocket: the HTTP upgrade, done here rather than by axum's extractor so that
//! sessions own a tungstenite stream and can split a large frame into fragments (axum's socket
//! sends every message whole, and tungstenite keeps a write buffer as large as the largest
//! message it ever sent); and the sending side of that, shared with the agent.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hyper_util::rt::TokioIo;
use std::future::Future;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// A server-side agent connection.
pub type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Binary messages larger than this go out as fragments of this size.
pub const FRAGMENT_BYTES: usize = 256 * 1024;

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

/// The messages that carry one binary message: itself when small, else fragments of
/// [`FRAGMENT_BYTES`] (slices of `bytes`, not copies).
pub fn binary_messages(bytes: Bytes) -> impl Iterator<Item = Message> {
    let len = bytes.len();
    let whole = (len <= FRAGMENT_BYTES).then(|| Message::Binary(bytes.clone()));
    let parts = (len > FRAGMENT_BYTES)
        .then(|| {
            (0..len).step_by(FRAGMENT_BYTES).map(move |at| {
                let end = (at + FRAGMENT_BYTES).min(len);
                let opcode = if at == 0 {
                    OpCode::Data(Data::Binary)
                } else {
                    OpCode::Data(Data::Continue)
                };
                Message::Frame(Frame::message(bytes.slice(at..end), opcode, end == len))
            })
        })
        .into_iter()
        .flatten();
    whole.into_iter().chain(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_messages_go_whole_and_large_ones_in_fragments() {
        let small: Vec<Message> = binary_messages(Bytes::from_static(b"abc")).collect();
        assert_eq!(small, vec![Message::Binary(Bytes::from_static(b"abc"))]);
        let big = Bytes::from(vec![7u8; FRAGMENT_BYTES * 2 + 1]);
        let parts: Vec<Message> = binary_messages(big.clone()).collect();
        assert_eq!(parts.len(), 3);
        let mut joined = Vec::new();
        for (i, m) in parts.iter().enumerate() {
            let Message::Frame(f) = m else {
                panic!("a fragment")
            };
            let want = if i == 0 {
                OpCode::Data(Data::Binary)
            } else {
                OpCode::Data(Data::Continue)
            };
            assert_eq!(f.header().opcode, want);
            assert_eq!(f.header().is_final, i == 2);
            joined.extend_from_slice(f.payload());
        }
        assert_eq!(joined, big);
    }
}
