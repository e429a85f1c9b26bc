//! Killing one relay instance (`kill -9`, real processes on one PostgreSQL database) while a
//! sender posts across the instances: every event that got a `2xx` is delivered to every
//! agent, none twice, and the killed instance's agent resumes on another within 5 s.

use agent::events::{AgentEvent, ConnState};
use hookrelay_tests::postgres;
use hookrelay_tests::process::RelayProcess;
use hookrelay_tests::*;
use relay::store::Store;
use std::collections::HashSet;
use std::time::{Duration, Instant};

async fn instance(url: &shared::Secret) -> RelayProcess {
    let url = url.expose().to_string();
    let mut p = RelayProcess::start(move |c| {
        c.args(["serve", "--listen", "127.0.0.1:0", "--rate-limit", "0"])
            .args(["--heartbeat-ms", "200"])
            .env("HOOKRELAY_DATABASE_URL", url);
    })
    .await;
    p.drain();
    p
}

/// Receives until every number of `want` arrived; fails on a repeat.
async fn receive_all(target: &mut TestTarget, want: &HashSet<u64>) {
    let mut seen = HashSet::new();
    while !want.is_subset(&seen) {
        let n: u64 = target.next().await.text().parse().expect("number body");
        assert!(seen.insert(n), "{n} delivered twice to one agent");
    }
}

#[tokio::test]
async fn killing_one_instance_under_load_loses_nothing_acknowledged() {
    with_timeout(async {
        let url = postgres::database().await;
        let admin = postgres::open_store(&url);
        let settings = relay::store::SourceSettings {
            mode: shared::Mode::Ack,
            ..Default::default()
        };
        admin.set_settings("okta", &settings).expect("settings");
        let token = relay::tokens::create(admin.as_ref(), "okta", "t")
            .expect("token")
            .1;
        let mut p1 = instance(&url).await;
        let p2 = instance(&url).await;

        // Agent 1 knows both instances and starts on the one that will die.
        let mut t1 = spawn_target(Reply::default()).await;
        let both = format!("{},{}", p1.url(), p2.url());
        let mut a1 = spawn_agent(agent_options(&both, &token, &t1.url()));
        a1.connected().await;
        let mut t2 = spawn_target(Reply::default()).await;
        let mut a2 = spawn_agent(agent_options(&p2.url(), &token, &t2.url()));
        a2.connected().await;

        let hooks = [
            format!("{}/h/okta", p1.url()),
            format!("{}/h/okta", p2.url()),
        ];
        let (killed_tx, killed_rx) = tokio::sync::oneshot::channel();
        let sender = tokio::spawn(async move {
            let mut acked = HashSet::new();
            let mut killed_tx = Some(killed_tx);
            for i in 0..1200u64 {
                if i == 400 {
                    if let Some(tx) = killed_tx.take() {
                        let _ = tx.send(());
                    }
                }
                // As a load balancer does: an instance that fails gets the request's retry
                // sent to the other one.
                for hook in [&hooks[i as usize % 2], &hooks[(i as usize + 1) % 2]] {
                    match client::post_json(hook, i.to_string()).await {
                        Ok(answer) if (200..300).contains(&answer.status) => {
                            acked.insert(i);
                            break;
                        }
                        _ => continue,
                    }
                }
            }
            acked
        });
        killed_rx.await.expect("sender reached the kill point");
        p1.child.start_kill().expect("kill -9 instance 1");
        let killed_at = Instant::now();
        a1.wait_for(|e| matches!(e, AgentEvent::State(ConnState::Connected { .. })))
            .await;
        let resumed = killed_at.elapsed();
        assert!(
            resumed < Duration::from_secs(5),
            "resumed after {resumed:?}"
        );

        let acked = sender.await.expect("sender");
        assert!(
            acked.len() >= 1000,
            "only {} of 1200 acknowledged",
            acked.len()
        );
        receive_all(&mut t1, &acked).await;
        receive_all(&mut t2, &acked).await;
        let _ = p1.child.wait().await;
    })
    .await;
}
