//! Nothing acknowledged is lost: agent restarts, relay restarts (kill -9), stalled networks.

use agent::events::{AgentEvent, ConnState};
use hookrelay_tests::process::RelayProcess;
use hookrelay_tests::proxy::spawn_stall_proxy;
use hookrelay_tests::*;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Receives `n` requests and returns their bodies as numbers.
async fn receive_numbers(target: &mut TestTarget, n: usize) -> Vec<u64> {
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        let r = target.next().await;
        got.push(
            std::str::from_utf8(&r.body)
                .expect("utf8")
                .parse()
                .expect("number body"),
        );
    }
    got
}

#[tokio::test]
async fn events_sent_while_the_agent_is_stopped_arrive_in_order_once() {
    with_timeout(async {
        let mut h = Harness::builder().start().await;
        h.post("0").await;
        assert_eq!(receive_numbers(&mut h.target, 1).await, vec![0]);
        h.wait_for_outcome().await;
        h.stop_agent().await;

        for i in 1..=500u64 {
            h.post_ok(i.to_string()).await;
        }
        h.start_agent();
        let welcome = h
            .wait_for(|e| matches!(e, AgentEvent::Welcome { .. }))
            .await;
        assert!(
            matches!(welcome, AgentEvent::Welcome { backlog: 500, .. }),
            "{welcome:?}"
        );
        let got = receive_numbers(&mut h.target, 500).await;
        assert_eq!(got, (1..=500).collect::<Vec<_>>());
        // Nothing more arrives: one more event is the very next thing the target sees.
        h.post("501").await;
        assert_eq!(receive_numbers(&mut h.target, 1).await, vec![501]);
        // History survives the restart. The agent reports a capture once it is stored.
        h.wait_for_capture(|c| c.request.body.as_bytes() == b"501")
            .await;
        let history = h.agent().store.recent(1000).expect("recent");
        assert!(history.len() >= 501, "{}", history.len());
    })
    .await;
}

#[tokio::test]
async fn a_silently_stalled_network_is_detected_and_nothing_is_lost() {
    with_timeout(async {
        let mut h = Harness::builder().no_agent().start().await;
        let proxy = spawn_stall_proxy(h.relay.handle.addr).await;
        h.options.link.relay_url = format!("http://{}", proxy.addr);
        h.connect_agent().await;

        proxy.stall(true);
        let stalled_at = Instant::now();
        for i in 0..20u64 {
            h.post(i.to_string()).await;
        }
        let ev = h
            .wait_for(|e| matches!(e, AgentEvent::State(ConnState::Reconnecting { .. })))
            .await;
        let detected = stalled_at.elapsed();
        // Heartbeat timeout is 1 s in these tests; allow scheduling slack, not a second window.
        assert!(
            detected < Duration::from_millis(2500),
            "detected after {detected:?}: {ev:?}"
        );
        proxy.stall(false);
        h.agent().connected().await;
        let got = receive_numbers(&mut h.target, 20).await;
        assert_eq!(got, (0..20).collect::<Vec<_>>());
    })
    .await;
}

async fn start_relay_process(data: &std::path::Path, sync: &str) -> RelayProcess {
    let mut relay = RelayProcess::start(|c| {
        c.args(["serve", "--listen", "127.0.0.1:0", "--heartbeat-ms", "200"])
            .args(["--sync", sync, "--data"])
            .arg(data);
    })
    .await;
    relay.drain();
    relay
}

#[tokio::test]
async fn kill_9_the_relay_mid_stream_loses_no_acknowledged_event() {
    kill_9_mid_stream("normal").await;
}

#[tokio::test]
async fn kill_9_mid_stream_with_sync_full_loses_nothing_either() {
    kill_9_mid_stream("full").await;
}

/// kill -9 of the relay binary while a sender posts a stream, with the given `--sync`.
async fn kill_9_mid_stream(sync: &str) {
    with_timeout(async {
        let data = tempfile::tempdir().expect("tempdir");
        let out = std::process::Command::new(bin_path("relay"))
            .args(["token", "create", "--source", "okta", "--data"])
            .arg(data.path())
            .output()
            .expect("token create");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let token = String::from_utf8(out.stdout)
            .expect("utf8")
            .trim()
            .to_string();

        let mut first = start_relay_process(data.path(), sync).await;
        let proxy = spawn_stall_proxy(first.addr).await;
        let base = format!("http://{}", proxy.addr);
        let mut target = spawn_target(Reply::default()).await;
        let mut agent = spawn_agent(agent_options(&base, &token, &target.url()));
        agent.connected().await;

        const TOTAL: u64 = 1200;
        let hook = format!("{base}/h/okta");
        let (acked_tx, mut acked_rx) = tokio::sync::mpsc::unbounded_channel();
        let sender = tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(40);
            for i in 0..TOTAL {
                if Instant::now() > deadline {
                    break;
                }
                if let Ok(a) = client::post_json(&hook, i.to_string()).await {
                    if a.status == 200 {
                        let _ = acked_tx.send(i);
                    }
                }
            }
        });
        // Kill -9 once a third of the stream was acknowledged, mid-flight.
        let mut acked = HashSet::new();
        while acked.len() < (TOTAL / 3) as usize {
            acked.insert(acked_rx.recv().await.expect("sender stopped early"));
        }
        first.child.start_kill().expect("kill -9");
        let _ = first.child.wait().await;
        let second = start_relay_process(data.path(), sync).await;
        proxy.set_upstream(second.addr);
        sender.await.expect("sender");
        while let Ok(i) = acked_rx.try_recv() {
            acked.insert(i);
        }
        assert!(
            acked.len() as u64 > TOTAL / 2,
            "too few events acknowledged: {}",
            acked.len()
        );

        // Every acknowledged event arrives; nothing twice; in order.
        let mut seen = Vec::new();
        let mut missing: HashSet<u64> = acked.clone();
        while !missing.is_empty() {
            let r = target.next().await;
            let n: u64 = std::str::from_utf8(&r.body)
                .expect("utf8")
                .parse()
                .expect("num");
            missing.remove(&n);
            seen.push(n);
        }
        let unique: HashSet<_> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "an event was delivered twice");
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "out of order");
        drop(second);
    })
    .await;
}
