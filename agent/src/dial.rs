//! Opening the websocket to the relay over a read-buffered TCP stream.
//!
//! tungstenite sizes each `read` by what its own buffer can take, which can be exactly one
//! frame's remaining length (whenever a received message still holds the buffer), so a batch
//! of events could cost one system call per event. A 64 KiB buffer under it turns a batch into
//! one read, however tungstenite sizes its reads.

use anyhow::Context;
use tokio::io::BufReader;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

/// Bytes read from the relay's socket at once.
const READ_BUFFER: usize = 64 * 1024;

/// The agent's websocket to the relay.
pub type RelaySocket = WebSocketStream<MaybeTlsStream<BufReader<TcpStream>>>;

/// Connects to `url` (`ws://` or `wss://`) and performs the websocket handshake.
pub async fn dial(
    url: &str,
    config: WebSocketConfig,
    connector: Connector,
) -> anyhow::Result<RelaySocket> {
    let request = url
        .into_client_request()
        .with_context(|| format!("bad relay URL {url}"))?;
    let uri = request.uri();
    let host = uri
        .host()
        .with_context(|| format!("no host in relay URL {url}"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("wss") {
            443
        } else {
            80
        });
    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .with_context(|| format!("connecting to relay at {url}"))?;
    // Acks are small and latency matters more than packet count.
    tcp.set_nodelay(true).context("setting TCP_NODELAY")?;
    let stream = BufReader::with_capacity(READ_BUFFER, tcp);
    let (ws, _) = tokio_tungstenite::client_async_tls_with_config(
        request,
        stream,
        Some(config),
        Some(connector),
    )
    .await
    .with_context(|| format!("connecting to relay at {url}"))?;
    Ok(ws)
}
