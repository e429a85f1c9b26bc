//! A request refused before it is read (`431`, `413`) reaches a sender that writes the whole
//! request before reading as that answer, not as a connection reset.

use relay::store::EmbeddedStore;
use relay::store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

const BUDGET: Duration = Duration::from_secs(30);

async fn with_timeout<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(BUDGET, fut)
        .await
        .expect("test timed out")
}

/// A relay on 127.0.0.1:0 with source `okta`; it stops when the guard drops.
struct Relay {
    addr: SocketAddr,
    _stop: tokio_util::sync::DropGuard,
    _dir: tempfile::TempDir,
}

async fn spawn_relay(config: relay::Config) -> Relay {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open_dir(dir.path()).expect("open store");
    store.ensure_source("okta").expect("source");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let shutdown = CancellationToken::new();
    let handle = relay::spawn(listener, Arc::new(store), config, shutdown.clone()).expect("spawn");
    Relay {
        addr: handle.addr,
        _stop: shutdown.drop_guard(),
        _dir: dir,
    }
}

/// Writes all of `request` before reading anything, then reads the answer to the end.
async fn send_whole_then_read(addr: SocketAddr, request: &[u8]) -> (String, String) {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    // A small send buffer keeps the sender still writing when the relay answers, as a sender
    // across a real network is; on loopback the kernel would otherwise buffer megabytes.
    socket.set_send_buffer_size(16 * 1024).expect("send buffer");
    let mut stream = socket.connect(addr).await.expect("connect");
    stream
        .write_all(request)
        .await
        .expect("the relay read the whole request (no reset while sending)");
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .expect("the answer arrives (no reset after sending)");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    (head.to_string(), body.to_string())
}

fn head_with(extra: &str) -> Vec<u8> {
    format!("POST /h/okta HTTP/1.1\r\nhost: relay\r\ncontent-type: application/json\r\n{extra}\r\n")
        .into_bytes()
}

fn assert_json_error(head: &str, body: &str, status: &str, words: &str) {
    let status_line = head.lines().next().unwrap_or_default();
    assert!(
        status_line.starts_with(&format!("HTTP/1.1 {status} ")),
        "{head}"
    );
    let json: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
    let message = json["error"].as_str().expect("an error message");
    assert!(message.contains(words), "{message}");
}

#[tokio::test]
async fn header_over_the_limit_is_answered_431_with_json() {
    with_timeout(async {
        let relay = spawn_relay(relay::Config::default()).await;
        // Over the 64 KiB limit, within hyper's read buffer: the relay's own 431.
        let big = "a".repeat(100 * 1024);
        let body = vec![b'x'; 512 * 1024];
        let mut request = head_with(&format!(
            "x-big: {big}\r\ncontent-length: {}\r\n",
            body.len()
        ));
        request.extend_from_slice(&body);
        let (head, body) = send_whole_then_read(relay.addr, &request).await;
        assert_json_error(&head, &body, "431", "headers exceed");
    })
    .await;
}

#[tokio::test]
async fn a_200_kb_header_is_answered_431() {
    with_timeout(async {
        let relay = spawn_relay(relay::Config::default()).await;
        // Beyond hyper's read buffer (twice the limit): hyper's own 431, which has no body.
        let big = "a".repeat(200 * 1024);
        let body = vec![b'x'; 512 * 1024];
        let mut request = head_with(&format!(
            "x-big: {big}\r\ncontent-length: {}\r\n",
            body.len()
        ));
        request.extend_from_slice(&body);
        let (head, _) = send_whole_then_read(relay.addr, &request).await;
        assert!(head.starts_with("HTTP/1.1 431 "), "{head}");
    })
    .await;
}

#[tokio::test]
async fn body_declared_over_the_limit_is_answered_413_with_json() {
    with_timeout(async {
        let config = relay::Config {
            max_body_bytes: 64 * 1024,
            ..relay::Config::default()
        };
        let relay = spawn_relay(config).await;
        let body = vec![b'x'; 512 * 1024];
        let mut request = head_with(&format!("content-length: {}\r\n", body.len()));
        request.extend_from_slice(&body);
        let (head, body) = send_whole_then_read(relay.addr, &request).await;
        assert_json_error(&head, &body, "413", "limit");
    })
    .await;
}

#[tokio::test]
async fn chunked_body_growing_past_the_limit_is_answered_413_with_json() {
    with_timeout(async {
        let config = relay::Config {
            max_body_bytes: 64 * 1024,
            ..relay::Config::default()
        };
        let relay = spawn_relay(config).await;
        let mut request = head_with("transfer-encoding: chunked\r\n");
        let chunk = vec![b'x'; 16 * 1024];
        for _ in 0..32 {
            request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            request.extend_from_slice(&chunk);
            request.extend_from_slice(b"\r\n");
        }
        request.extend_from_slice(b"0\r\n\r\n");
        let (head, body) = send_whole_then_read(relay.addr, &request).await;
        assert_json_error(&head, &body, "413", "limit");
    })
    .await;
}

#[tokio::test]
async fn a_request_within_the_limits_keeps_its_connection() {
    with_timeout(async {
        let relay = spawn_relay(relay::Config::default()).await;
        let mut stream = TcpStream::connect(relay.addr).await.expect("connect");
        let request = head_with("content-length: 2\r\n");
        for _ in 0..2 {
            stream.write_all(&request).await.expect("write head");
            stream.write_all(b"{}").await.expect("write body");
            let mut answer = vec![0; 1024];
            let n = stream.read(&mut answer).await.expect("read");
            let text = String::from_utf8_lossy(&answer[..n]);
            assert!(text.starts_with("HTTP/1.1 200 "), "{text}");
        }
    })
    .await;
}
