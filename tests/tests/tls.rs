//! TLS end to end with generated certificates: webhook over https → agent over wss → target,
//! and a certificate swapped by SIGHUP without a restart.

use hookrelay_tests::process::RelayProcess;
use hookrelay_tests::*;
use rustls::pki_types::{CertificateDer, ServerName};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Generated {
    cert_pem: String,
    key_pem: String,
    der: CertificateDer<'static>,
}

fn generate() -> Generated {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("rcgen");
    Generated {
        cert_pem: ck.cert.pem(),
        key_pem: ck.signing_key.serialize_pem(),
        der: ck.cert.der().clone(),
    }
}

fn client_config(roots: &[CertificateDer<'static>]) -> Arc<rustls::ClientConfig> {
    let mut store = rustls::RootCertStore::empty();
    for r in roots {
        store.add(r.clone()).expect("add root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(store)
        .with_no_client_auth();
    Arc::new(config)
}

/// One HTTPS request over a verified connection to `localhost` at `addr`; returns the raw
/// response and the certificate the server presented.
async fn https_request(
    addr: std::net::SocketAddr,
    roots: &[CertificateDer<'static>],
    request: &str,
) -> anyhow::Result<(String, CertificateDer<'static>)> {
    let connector = tokio_rustls::TlsConnector::from(client_config(roots));
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost")?;
    let mut tls = connector.connect(name, tcp).await?;
    let cert = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first().cloned())
        .ok_or_else(|| anyhow::anyhow!("no peer certificate"))?;
    tls.write_all(request.as_bytes()).await?;
    let mut buf = Vec::new();
    tls.read_to_end(&mut buf).await.or_else(|e| {
        // Some servers end TLS without close_notify; what was read still counts.
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Ok(0)
        } else {
            Err(e)
        }
    })?;
    Ok((String::from_utf8_lossy(&buf).into_owned(), cert))
}

fn post(body: &str) -> String {
    format!(
        "POST /h/okta HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn webhook_over_https_reaches_the_target_through_an_agent_over_wss() {
    with_timeout(async {
        let g = generate();
        let key = relay::tls::certified_key_from_pem(g.cert_pem.as_bytes(), g.key_pem.as_bytes())
            .expect("load key");
        let mut h = Harness::builder()
            .relay(|c| c.tls = Some(Arc::new(relay::tls::CertResolver::new(key))))
            .no_agent()
            .start()
            .await;
        let addr = h.relay.handle.addr;
        assert!(h.relay.handle.state.public_base.starts_with("https://"));
        h.options.link.relay_url = format!("https://localhost:{}", addr.port());
        // The agent trusts no private root; `insecure` accepts the self-signed certificate.
        h.options.link.insecure = true;
        h.connect_agent().await;

        let (answer, served) = https_request(addr, std::slice::from_ref(&g.der), &post("over tls"))
            .await
            .expect("https request");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert_eq!(served, g.der);
        assert_eq!(h.target.next().await.body.as_ref(), b"over tls");

        // Plain HTTP on a TLS port fails cleanly and the relay keeps serving.
        let plain = client::post_json(&format!("http://{addr}/h/okta"), "plain").await;
        assert!(plain.is_err() || plain.is_ok_and(|a| a.status != 200));
        let (answer, _) = https_request(addr, std::slice::from_ref(&g.der), &post("again"))
            .await
            .expect("https request");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert_eq!(h.target.next().await.body.as_ref(), b"again");
    })
    .await;
}

#[tokio::test]
async fn sighup_reloads_the_certificate_files() {
    with_timeout(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let a = generate();
        std::fs::write(&cert, &a.cert_pem).expect("write cert");
        std::fs::write(&key, &a.key_pem).expect("write key");
        let mut relay = RelayProcess::start(|c| {
            c.args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
                .arg(&cert)
                .arg("--tls-key")
                .arg(&key)
                .arg("--data")
                .arg(dir.path().join("data"));
        })
        .await;
        let addr = relay.addr;
        let mut lines = relay.stderr.take().expect("stderr");
        let (reload_tx, mut reload_rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("TLS certificate reloaded") || line.contains("TLS reload failed") {
                    let _ = reload_tx.send(line);
                }
            }
        });
        let roots = {
            let b = generate();
            std::fs::write(&cert, &b.cert_pem).expect("write cert");
            std::fs::write(&key, &b.key_pem).expect("write key");
            vec![a.der.clone(), b.der.clone()]
        };
        let health = "GET /healthz HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n";
        let (answer, served) = https_request(addr, &roots, health).await.expect("https");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert_eq!(served, roots[0], "the original certificate until SIGHUP");

        relay.signal("HUP");
        let line = reload_rx.recv().await.expect("reload log line");
        assert!(line.contains("reloaded"), "{line}");
        let (answer, served) = https_request(addr, &roots, health).await.expect("https");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert_eq!(served, roots[1], "the new certificate after SIGHUP");

        // A broken file keeps the current certificate.
        std::fs::write(&cert, "garbage").expect("write cert");
        relay.signal("HUP");
        let line = reload_rx.recv().await.expect("reload log line");
        assert!(line.contains("failed"), "{line}");
        let (_, served) = https_request(addr, &roots, health).await.expect("https");
        assert_eq!(served, roots[1]);
        let _ = tokio::time::timeout(Duration::from_secs(1), relay.child.kill()).await;
    })
    .await;
}
