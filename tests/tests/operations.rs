//! Operating the relay: /metrics, graceful shutdown (in-process and on SIGTERM), the
//! `relay source` CLI, `--help` and logs that never show secrets.

use futures_util::StreamExt;
use hookrelay_tests::process::RelayProcess;
use hookrelay_tests::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

use hookrelay_tests::auth::*;

#[tokio::test]
async fn metrics_show_requests_agents_and_store_without_secrets() {
    with_timeout(async {
        let mut h = Harness::builder().start().await;
        require(&h.relay, "okta", Some(SECRET));
        let url = h.hook_url();
        assert_eq!(post_auth(&url, Some(SECRET), "one").await.status, 200);
        assert_eq!(post_auth(&url, None, "no").await.status, 401);
        h.target.next().await;
        let _ = client::post_json(&h.relay.hook_url("nope"), "{}").await;
        let m = client::get(&format!("{}/metrics", h.relay.url)).await;
        assert_eq!(m.status, 200);
        let text = m.text();
        for needle in [
            "hookrelay_requests_total{source=\"okta\",status=\"200\"} 1",
            "hookrelay_requests_total{source=\"okta\",status=\"401\"} 1",
            "hookrelay_requests_total{source=\"_unknown\",status=\"404\"} 1",
            "hookrelay_events_stored_total{source=\"okta\"} 1",
            "hookrelay_agents_connected{source=\"okta\"} 1",
            "hookrelay_delivery_lag_events{source=\"okta\"}",
            "hookrelay_store_bytes ",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        assert!(!text.contains(SECRET));
        assert!(!text.contains(&h.token));
    })
    .await;
}

#[tokio::test]
async fn metrics_are_hidden_from_peers_not_allowed() {
    with_timeout(async {
        let config = relay::Config {
            metrics_allow: vec!["10.0.0.0/8".parse().expect("cidr")],
            ..test_config()
        };
        let relay = spawn_relay(config).await;
        let m = client::get(&format!("{}/metrics", relay.url)).await;
        assert_eq!(m.status, 404);
    })
    .await;
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests_and_closes_sessions_going_away() {
    with_timeout(async {
        let config = relay::Config {
            body_read_timeout: Duration::from_secs(10),
            ..test_config()
        };
        let relay = spawn_relay(config).await;
        let token = relay.token("okta");
        let mut ws = connect_with_hello(&relay.url, &hello(&token, "a")).await;
        // Welcome arrives first.
        let first = ws.next().await.expect("frame").expect("ok");
        assert!(matches!(first, Message::Text(_)), "{first:?}");
        // An in-flight request: headers sent, body still coming.
        let mut slow = relay
            .raw_request(b"POST /h/okta HTTP/1.1\r\nhost: x\r\ncontent-length: 8\r\n\r\nhalf")
            .await;
        // Let the relay start reading the body before shutting down.
        let mut probe = [0u8; 1];
        assert!(
            tokio::time::timeout(Duration::from_millis(200), slow.peek(&mut probe))
                .await
                .is_err(),
            "no answer before the body is complete"
        );
        relay.shutdown.cancel();
        slow.write_all(b"done").await.expect("write rest");
        let mut buf = Vec::new();
        slow.read_to_end(&mut buf).await.expect("read");
        let text = String::from_utf8_lossy(&buf);
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert_eq!(close_code(&mut ws).await, Some(shared::close::GOING_AWAY));
        relay.handle.join.await.expect("join").expect("relay ok");
        let store = relay::store::EmbeddedStore::open_dir(relay.dir.path()).expect("open");
        use relay::store::Store;
        assert_eq!(store.stats("okta").expect("stats").0, 1);
    })
    .await;
}

fn relay_cmd(args: &[&str], data: &std::path::Path) -> std::process::Output {
    std::process::Command::new(bin_path("relay"))
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .expect("run relay")
}

#[test]
fn source_cli_sets_lists_and_never_prints_the_secret() {
    let data = tempfile::tempdir().expect("tempdir");
    let header = format!("Authorization: {SECRET}");
    let out = relay_cmd(
        &["source", "set", "okta", "--require-header", &header],
        data.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(printed.contains("Authorization"), "{printed}");
    assert!(!printed.contains(SECRET), "{printed}");
    let out = relay_cmd(&["source", "list", "--json"], data.path());
    assert!(out.status.success());
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(list[0]["name"], "okta");
    assert_eq!(list[0]["requires_header"], true);
    assert_eq!(list[0]["header_name"], "Authorization");
    let table = relay_cmd(&["source", "list"], data.path());
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    assert!(table.contains("Authorization (required)"), "{table}");
    assert!(!table.contains(SECRET) && !list.to_string().contains(SECRET));
    // Bad input: a clear error, nonzero exit, secret not echoed.
    let out = relay_cmd(
        &[
            "source",
            "set",
            "okta",
            "--require-header",
            "no-colon-secret",
        ],
        data.path(),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("NAME: VALUE"), "{err}");
    let out = relay_cmd(
        &["source", "set", "okta", "--no-require-header"],
        data.path(),
    );
    assert!(out.status.success());
    let out = relay_cmd(&["source", "list", "--json"], data.path());
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(list[0]["requires_header"], false);
}

#[test]
fn help_output_shows_no_environment_values() {
    let out = std::process::Command::new(bin_path("relay"))
        .args(["serve", "--help"])
        .env("HOOKRELAY_PUBLIC_URL", "https://leak.example/SECRETISH")
        .env("HOOKRELAY_DATA", "/leak/SECRETISH")
        .output()
        .expect("help");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("--rate-limit"), "{text}");
    assert!(!text.contains("SECRETISH"), "{text}");
}

#[tokio::test]
async fn secrets_never_appear_in_relay_logs() {
    with_timeout(async {
        let data = tempfile::tempdir().expect("tempdir");
        let header = format!("Authorization: {SECRET}");
        assert!(relay_cmd(
            &["source", "set", "okta", "--require-header", &header],
            data.path()
        )
        .status
        .success());
        let out = relay_cmd(&["token", "create", "--source", "okta"], data.path());
        let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(token.starts_with("hr_"), "{token}");
        let mut relay = RelayProcess::start(|c| {
            c.args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--log-format",
                "json",
                "--data",
            ])
            .arg(data.path())
            .env("RUST_LOG", "trace");
        })
        .await;
        let mut lines = relay.stderr.take().expect("stderr");
        let mut log = std::mem::take(&mut relay.log);
        let base = relay.url();
        let url = format!("{base}/h/okta");
        assert_eq!(post_auth(&url, Some(SECRET), "ok").await.status, 200);
        assert_eq!(
            post_auth(&url, Some("wrong-secret-value"), "no")
                .await
                .status,
            401
        );
        let hello = hello(&token, "a");
        let wrong = hello.replace(&token, &format!("{token}x"));
        assert_eq!(
            close_code_for(&base, &wrong).await,
            Some(shared::close::UNAUTHORIZED)
        );
        let mut ws = connect_with_hello(&base, &hello).await;
        let _ = ws.next().await;
        drop(ws);
        let m = client::get(&format!("{base}/metrics")).await;
        assert!(!m.text().contains(SECRET) && !m.text().contains(&token));
        relay.child.start_kill().expect("kill");
        let _ = relay.child.wait().await;
        while let Ok(Some(line)) = lines.next_line().await {
            log.push_str(&line);
            log.push('\n');
        }
        assert!(log.contains("agent connected"), "{log}");
        assert!(!log.contains(SECRET), "{log}");
        assert!(!log.contains("wrong-secret-value"), "{log}");
        assert!(!log.contains(&token), "{log}");
    })
    .await;
}

#[tokio::test]
async fn sigterm_closes_sessions_going_away_and_exits_cleanly() {
    with_timeout(async {
        let data = tempfile::tempdir().expect("tempdir");
        let out = relay_cmd(&["token", "create", "--source", "okta"], data.path());
        let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let mut relay = RelayProcess::start(|c| {
            c.args(["serve", "--listen", "127.0.0.1:0", "--data"])
                .arg(data.path());
        })
        .await;
        relay.drain();
        let mut ws = connect_with_hello(&relay.url(), &hello(&token, "a")).await;
        let first = ws.next().await.expect("frame").expect("ok");
        assert!(matches!(first, Message::Text(_)), "{first:?}");
        relay.signal("TERM");
        assert_eq!(close_code(&mut ws).await, Some(shared::close::GOING_AWAY));
        drop(ws);
        let exit = relay.child.wait().await.expect("wait");
        assert!(exit.success(), "{exit:?}");
    })
    .await;
}
