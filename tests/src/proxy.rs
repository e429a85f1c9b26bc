//! A TCP proxy that can be told to stall: it keeps both connections open but stops forwarding,
//! like a network that silently drops packets (no FIN, no RST).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running proxy.
pub struct StallProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    stalled: Arc<AtomicBool>,
    upstream: Arc<Mutex<SocketAddr>>,
}

impl StallProxy {
    /// Sends new connections to another upstream (e.g. a restarted relay).
    pub fn set_upstream(&self, addr: SocketAddr) {
        *self.upstream.lock().expect("upstream lock") = addr;
    }

    /// Stops (true) or resumes (false) forwarding on every connection, new ones included.
    pub fn stall(&self, on: bool) {
        self.stalled.store(on, Ordering::SeqCst);
    }
}

/// Starts a proxy on 127.0.0.1:0 forwarding to `upstream`.
pub async fn spawn_stall_proxy(upstream: SocketAddr) -> StallProxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let addr = listener.local_addr().expect("addr");
    let stalled = Arc::new(AtomicBool::new(false));
    let flag = stalled.clone();
    let upstream = Arc::new(Mutex::new(upstream));
    let current = upstream.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let flag = flag.clone();
            let to = *current.lock().expect("upstream lock");
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(to).await else {
                    return;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pump(cr, sw, flag.clone()));
                pump(sr, cw, flag).await;
            });
        }
    });
    StallProxy {
        addr,
        stalled,
        upstream,
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    stalled: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if stalled.load(Ordering::SeqCst) {
            // Swallow bytes while stalled and keep the sockets open: a black hole.
            continue;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
