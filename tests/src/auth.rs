//! Helpers for sender authentication and raw agent handshakes, shared by the security,
//! operations, faults and flow-control tests.

use crate::{client, TestRelay};
use futures_util::{SinkExt, StreamExt};
use relay::store::SenderAuth;
use tokio_tungstenite::tungstenite::Message;

/// The sender secret the tests configure (Okta's "Authentication secret").
pub const SECRET: &str = "okta-shared-s3cret-value";

/// Requires `Authorization: value` from `source`'s senders (or nothing with `None`).
pub fn require(relay: &TestRelay, source: &str, value: Option<&str>) {
    let auth = value.map(|v| SenderAuth {
        name: "Authorization".into(),
        value: v.into(),
    });
    relay.configure(source, |s| s.sender_auth = auth);
}

/// POSTs `body` as JSON with an optional `authorization` header.
pub async fn post_auth(url: &str, auth: Option<&str>, body: &str) -> client::Answer {
    let mut headers: Vec<(&str, &[u8])> = vec![("content-type", b"application/json")];
    if let Some(a) = auth {
        headers.push(("authorization", a.as_bytes()));
    }
    client::send("POST", url, &headers, body.to_string())
        .await
        .expect("send")
}

/// A raw agent websocket.
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The hello a raw agent `agent_id` sends for source `okta` (this protocol version, ack mode,
/// window 1), as JSON a test may change before sending.
pub fn hello_value(token: &str, agent_id: &str) -> serde_json::Value {
    serde_json::json!({
        "type": "hello",
        "version": shared::PROTOCOL_VERSION,
        "token": token,
        "sources": ["okta"],
        "agent_id": agent_id,
        "window": 1,
    })
}

/// [`hello_value`] as text.
pub fn hello(token: &str, agent_id: &str) -> String {
    hello_value(token, agent_id).to_string()
}

/// Opens a raw websocket to the relay's agent endpoint.
pub async fn connect_ws(relay_url: &str) -> Ws {
    let url = agent::connection::connect_url(relay_url);
    tokio_tungstenite::connect_async(&url)
        .await
        .expect("connect")
        .0
}

/// Opens a raw websocket and sends `hello`.
pub async fn connect_with_hello(relay_url: &str, hello: &str) -> Ws {
    let mut ws = connect_ws(relay_url).await;
    ws.send(Message::Text(hello.to_string().into()))
        .await
        .expect("send hello");
    ws
}

/// Reads until the relay closes the websocket; the close code it sent, if any.
pub async fn close_code(ws: &mut Ws) -> Option<u16> {
    // A read error ends the stream, so skipping errors cannot loop.
    while let Some(msg) = ws.next().await {
        if let Ok(Message::Close(frame)) = msg {
            return frame.map(|f| u16::from(f.code));
        }
    }
    None
}

/// Opens a raw websocket, sends `hello`, returns the close code the relay sent.
pub async fn close_code_for(relay_url: &str, hello: &str) -> Option<u16> {
    close_code(&mut connect_with_hello(relay_url, hello).await).await
}
