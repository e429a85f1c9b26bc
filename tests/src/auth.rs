//! Helpers for sender authentication and raw agent handshakes, shared by the security and
//! operations tests.

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
    relay
        .handle
        .state
        .store
        .set_sender_auth(source, auth.as_ref())
        .expect("set sender auth");
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

/// Opens a raw websocket, sends `hello`, returns the close code the relay sent.
pub async fn close_code_for(relay_url: &str, hello: &str) -> Option<u16> {
    let url = agent::connection::connect_url(relay_url);
    let (mut ws, _) = tokio_tungstenite::connect_async(&url)
        .await
        .expect("connect");
    ws.send(Message::Text(hello.to_string().into()))
        .await
        .expect("send hello");
    while let Some(Ok(msg)) = ws.next().await {
        if let Message::Close(frame) = msg {
            return frame.map(|f| u16::from(f.code));
        }
    }
    None
}
