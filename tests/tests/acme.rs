//! ACME end to end against Debian's `pebble`: a certificate issued over TLS-ALPN-01 on the
//! relay's own listener, then a webhook delivered over it (https → agent over wss → target).

use hookrelay_tests::*;
use rustls::pki_types::{pem::PemObject, CertificateDer, ServerName};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PEBBLE: &str = "/usr/bin/pebble";

/// Whether pebble is installed; in CI its absence is a failure, elsewhere a skip.
fn pebble_available() -> bool {
    if Path::new(PEBBLE).exists() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{PEBBLE} is missing: run .ci/install-deps.sh (apt-get install -y pebble)");
    }
    eprintln!("skipping: {PEBBLE} is not installed (apt-get install -y pebble)");
    false
}

async fn free_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    l.local_addr().expect("addr").port()
}

fn client_config(roots: &[CertificateDer<'static>]) -> Arc<rustls::ClientConfig> {
    let mut store = rustls::RootCertStore::empty();
    for r in roots {
        store.add(r.clone()).expect("add root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(store)
            .with_no_client_auth(),
    )
}

/// One HTTPS/1.1 request to `localhost:port`, verified against `roots`; the raw answer.
async fn https(
    port: u16,
    roots: &[CertificateDer<'static>],
    request: &str,
) -> anyhow::Result<String> {
    let connector = tokio_rustls::TlsConnector::from(client_config(roots));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let mut tls = connector
        .connect(ServerName::try_from("localhost")?, tcp)
        .await?;
    tls.write_all(request.as_bytes()).await?;
    let mut buf = Vec::new();
    match tls.read_to_end(&mut buf).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(e) => return Err(e.into()),
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn body_of(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

#[tokio::test]
async fn certificate_from_pebble_then_a_webhook_over_it() {
    if !pebble_available() {
        return;
    }
    with_timeout(async {
        let dir = tempfile::tempdir().expect("tempdir");
        // Pebble's own HTTPS (its API) needs a certificate; the ACME client trusts it.
        let api = rcgen::generate_simple_self_signed(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ])
        .expect("rcgen");
        let api_cert = dir.path().join("pebble-api.pem");
        let api_key = dir.path().join("pebble-api.key");
        std::fs::write(&api_cert, api.cert.pem()).expect("write");
        std::fs::write(&api_key, api.signing_key.serialize_pem()).expect("write");
        let api_root = api.cert.der().clone();

        // The relay: TLS with the ACME resolver, no certificate yet.
        let resolver = Arc::new(relay::acme::AcmeResolver::default());
        let mut h = Harness::builder().relay(|c| c.tls = Some(resolver.clone())).no_agent().start().await;
        let relay_port = h.relay.handle.addr.port();

        let (api_port, mgmt_port) = (free_port().await, free_port().await);
        let pebble_config = serde_json::json!({
            "pebble": {
                "listenAddress": format!("127.0.0.1:{api_port}"),
                "managementListenAddress": format!("127.0.0.1:{mgmt_port}"),
                "certificate": api_cert,
                "privateKey": api_key,
                "httpPort": free_port().await,
                "tlsPort": relay_port,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": false
            }
        });
        let config_path = dir.path().join("pebble.json");
        std::fs::write(&config_path, pebble_config.to_string()).expect("write config");
        let mut pebble = tokio::process::Command::new(PEBBLE)
            .arg("-config")
            .arg(&config_path)
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start pebble");
        // Wait until pebble answers on its API port.
        while tokio::net::TcpStream::connect(("127.0.0.1", api_port))
            .await
            .is_err()
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let opts = relay::acme::AcmeOptions {
            domain: "localhost".into(),
            email: "admin@example.com".into(),
            directory: format!("https://localhost:{api_port}/dir"),
            cache_dir: dir.path().join("acme"),
            directory_root: Some(api_cert.clone()),
        };
        relay::acme::obtain(&opts, &resolver)
            .await
            .expect("certificate issued by pebble");
        assert!(resolver.has_certificate());

        // Pebble's issuing root, from its management API.
        let roots_answer = https(
            mgmt_port,
            std::slice::from_ref(&api_root),
            "GET /roots/0 HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n",
        )
        .await
        .expect("fetch pebble root");
        let root = CertificateDer::from_pem_slice(body_of(&roots_answer).as_bytes())
            .expect("pebble root PEM");

        h.options.link.relay_url = format!("https://localhost:{relay_port}");
        h.options.link.insecure = true;
        h.connect_agent().await;
        let body = "issued by pebble";
        let request = format!(
            "POST /h/okta HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let answer = https(relay_port, &[root], &request)
            .await
            .expect("webhook over the issued certificate");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert_eq!(h.target.next().await.body.as_ref(), body.as_bytes());

        // The certificate is cached for the next start.
        let fresh = relay::acme::AcmeResolver::default();
        assert!(relay::acme::load_cached(&opts, &fresh).is_some());
        assert!(fresh.has_certificate());
        let _ = pebble.kill().await;
    })
    .await;
}
