//! A recording local service: remembers every request byte for byte and answers as told.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// One request as the target saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// Method.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// Headers in order (names lower-case), values as bytes.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Body.
    pub body: Bytes,
}

impl Recorded {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// All values of a header.
    pub fn header_values(&self, name: &str) -> Vec<&[u8]> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
            .collect()
    }
}

/// How the target answers.
#[derive(Clone, Debug)]
pub struct Reply {
    /// Status.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Bytes,
    /// Delay before answering.
    pub delay: Duration,
}

impl Default for Reply {
    fn default() -> Self {
        Reply {
            status: 200,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: Bytes::from_static(b"ok"),
            delay: Duration::ZERO,
        }
    }
}

/// A running target.
pub struct TestTarget {
    /// Its address (kept across [`TestTarget::stop`] and [`TestTarget::start_again`]).
    pub addr: SocketAddr,
    /// Every request, in arrival order.
    pub received: mpsc::UnboundedReceiver<Recorded>,
    /// Change the answer while running.
    pub reply: Arc<Mutex<Reply>>,
    tx: mpsc::UnboundedSender<Recorded>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl TestTarget {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next request it receives.
    pub async fn next(&mut self) -> Recorded {
        self.received.recv().await.expect("target stopped")
    }

    /// Stops listening and closes every open connection, as a restarting service does: the
    /// port refuses connections until [`TestTarget::start_again`].
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
            let _ = server.await;
        }
    }

    /// Listens again on the same port, recording into the same [`TestTarget::received`].
    pub async fn start_again(&mut self) {
        self.stop().await;
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .expect("rebind the target's port");
        self.server = Some(tokio::spawn(serve(
            listener,
            self.tx.clone(),
            self.reply.clone(),
        )));
    }
}

/// Starts a target on 127.0.0.1:0.
pub async fn spawn_target(reply: Reply) -> TestTarget {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind target");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::unbounded_channel();
    let reply = Arc::new(Mutex::new(reply));
    let server = tokio::spawn(serve(listener, tx.clone(), reply.clone()));
    TestTarget {
        addr,
        received: rx,
        reply,
        tx,
        server: Some(server),
    }
}

/// Accepts until aborted; the connections live in a `JoinSet`, so aborting this task closes
/// them too (a stopped service keeps no keep-alive connection open).
async fn serve(
    listener: tokio::net::TcpListener,
    tx: mpsc::UnboundedSender<Recorded>,
    shared_reply: Arc<Mutex<Reply>>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => return,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let tx = tx.clone();
        let reply = shared_reply.clone();
        connections.spawn(async move {
            let svc = service_fn(move |req: hyper::Request<Incoming>| {
                let tx = tx.clone();
                let reply = reply.lock().expect("reply lock").clone();
                async move {
                    let (parts, body) = req.into_parts();
                    let body = body
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    let _ = tx.send(Recorded {
                        method: parts.method.to_string(),
                        uri: parts.uri.to_string(),
                        headers: parts
                            .headers
                            .iter()
                            .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
                            .collect(),
                        body,
                    });
                    if !reply.delay.is_zero() {
                        tokio::time::sleep(reply.delay).await;
                    }
                    let mut resp = hyper::Response::builder().status(reply.status);
                    for (n, v) in &reply.headers {
                        resp = resp.header(n, v);
                    }
                    Ok::<_, std::convert::Infallible>(
                        resp.body(Full::new(reply.body.clone())).expect("response"),
                    )
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}
