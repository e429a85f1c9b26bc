//! SIGTERM on the real `agent` binary right in the middle of a delivery: it finishes, records
//! and acknowledges it before exiting, so a restarted agent never delivers it again.

use hookrelay_tests::*;
use shared::Mode;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// `agent listen PORT --relay URL --output compact`, returned once the relay accepted it.
async fn start_agent(data: &std::path::Path, relay: &TestRelay, token: &str, port: u16) -> Child {
    let mut child = Command::new(bin_path("agent"))
        .env("HOOKRELAY_AGENT_CONFIG", data.join("agent.json"))
        .env("HOOKRELAY_TOKEN", token)
        .arg("--data")
        .arg(data)
        .args(["listen", &port.to_string(), "--output", "compact"])
        .args(["--relay", &relay.url])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn agent");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
    loop {
        let line = stderr
            .next_line()
            .await
            .expect("read stderr")
            .expect("agent exited before connecting");
        if line.starts_with("hookrelay: connected") {
            break;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_line().await {} });
    child
}

fn sigterm(child: &Child) {
    let pid = child.id().expect("pid").to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(status.success());
}

#[tokio::test]
async fn sigterm_mid_delivery_finishes_it_and_a_restart_never_delivers_it_twice() {
    with_timeout(async {
        let relay = spawn_relay(test_config()).await;
        relay.set_mode("okta", Mode::Ack);
        let token = relay.token("okta");
        // The service takes a moment to answer, so SIGTERM lands while the delivery runs.
        let mut target = spawn_target(Reply {
            delay: Duration::from_millis(400),
            ..Reply::default()
        })
        .await;
        let data = tempfile::tempdir().expect("tempdir");
        let mut agent = start_agent(data.path(), &relay, &token, target.addr.port()).await;
        let answer = client::post_json(&relay.hook_url("okta"), "{\"n\":1}")
            .await
            .expect("post");
        assert_eq!(answer.status, 200);
        assert_eq!(target.next().await.text(), "{\"n\":1}");
        sigterm(&agent);
        let stopping = Instant::now();
        let status = agent.wait().await.expect("wait for the agent");
        assert!(status.success(), "{status:?}");
        assert!(
            stopping.elapsed() < Duration::from_secs(2),
            "took {:?}",
            stopping.elapsed()
        );

        let mut agent = start_agent(data.path(), &relay, &token, target.addr.port()).await;
        client::post_json(&relay.hook_url("okta"), "{\"n\":2}")
            .await
            .expect("post");
        // Had the first event been redelivered, the relay would have resent it first.
        assert_eq!(target.next().await.text(), "{\"n\":2}");
        sigterm(&agent);
        let _ = agent.wait().await;
        assert!(
            target.received.try_recv().is_err(),
            "nothing delivered twice"
        );
    })
    .await;
}
