//! Several relay instances on one PostgreSQL database behave as one relay: fan-out to agents
//! on different instances, resume on another instance, proxy answers across instances, "no
//! agent" known everywhere, revocation everywhere, and a database outage under load.

use agent::events::{AgentEvent, ConnState};
use hookrelay_tests::postgres::{self, spawn_pg_relay};
use hookrelay_tests::*;
use shared::Mode;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// `n` instances on a fresh database, source `okta` in `mode`.
async fn instances(n: usize, mode: Mode) -> (shared::Secret, Vec<TestRelay>) {
    let url = postgres::database().await;
    let mut relays = Vec::new();
    for _ in 0..n {
        relays.push(spawn_pg_relay(&url, test_config()).await);
    }
    relays[0].set_mode("okta", mode);
    (url, relays)
}

async fn receive_numbers(target: &mut TestTarget, n: usize) -> Vec<u64> {
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        let r = target.next().await;
        got.push(r.text().parse().expect("number body"));
    }
    got
}

/// Waits until `relay` counts an agent of `okta` on another instance (or none, `want` 0).
async fn wait_elsewhere(relay: &TestRelay, want_some: bool) {
    let peers = relay.handle.state.store.peers().expect("a shared store");
    while (peers.agents_elsewhere("okta") > 0) != want_some {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn webhooks_on_any_instance_reach_every_agent_in_order_once() {
    with_timeout(async {
        let (_url, relays) = instances(3, Mode::Ack).await;
        let token = relays[0].token("okta");
        let mut targets = Vec::new();
        let mut agents = Vec::new();
        for relay in &relays[..2] {
            let target = spawn_target(Reply::default()).await;
            let mut agent = spawn_agent(agent_options(&relay.url, &token, &target.url()));
            agent.connected().await;
            targets.push(target);
            agents.push(agent);
        }
        for i in 0..150u64 {
            let relay = &relays[i as usize % 3];
            let answer = client::post_json(&relay.hook_url("okta"), i.to_string())
                .await
                .expect("post");
            assert_eq!(answer.status, 200, "{}", answer.text());
        }
        for target in &mut targets {
            assert_eq!(
                receive_numbers(target, 150).await,
                (0..150).collect::<Vec<_>>()
            );
        }
        // Nothing twice: the next event is the next thing each target sees.
        client::post_json(&relays[2].hook_url("okta"), "150")
            .await
            .expect("post");
        for target in &mut targets {
            assert_eq!(receive_numbers(target, 1).await, vec![150]);
        }
    })
    .await;
}

#[tokio::test]
async fn an_agent_resumes_on_another_instance_from_its_cursor() {
    with_timeout(async {
        let (_url, relays) = instances(2, Mode::Ack).await;
        let token = relays[0].token("okta");
        let mut target = spawn_target(Reply::default()).await;
        let mut opts = agent_options(&relays[0].url, &token, &target.url());
        opts.relay_key = "shared".into();
        let mut agent = spawn_agent(opts.clone());
        agent.connected().await;
        for i in 0..20u64 {
            client::post_json(&relays[0].hook_url("okta"), i.to_string())
                .await
                .expect("post");
        }
        assert_eq!(
            receive_numbers(&mut target, 20).await,
            (0..20).collect::<Vec<_>>()
        );
        // The agent has recorded the last one before it stops.
        agent
            .wait_for(
                |e| matches!(e, AgentEvent::Captured(c) if c.request.body.as_bytes() == b"19"),
            )
            .await;
        let dir = agent.stop().await;
        for i in 20..40u64 {
            client::post_json(&relays[1].hook_url("okta"), i.to_string())
                .await
                .expect("post");
        }
        opts.link.relay_url = relays[1].url.clone();
        let mut agent = spawn_agent_in(dir, opts);
        agent.connected().await;
        assert_eq!(
            receive_numbers(&mut target, 20).await,
            (20..40).collect::<Vec<_>>()
        );
        agent.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_proxied_answer_comes_back_byte_for_byte_through_another_instance() {
    with_timeout(async {
        let (_url, relays) = instances(2, Mode::Proxy).await;
        let token = relays[0].token("okta");
        // No agent anywhere: 502.
        let none = client::post_json(&relays[0].hook_url("okta"), "{}")
            .await
            .expect("post");
        assert_eq!(none.status, 502, "{}", none.text());
        let body = bytes::Bytes::from_static(b"{\"commands\":[]}\x00\xff\xfe binary tail");
        let mut target = spawn_target(Reply {
            status: 201,
            headers: vec![("x-local".into(), "yes".into())],
            body: body.clone(),
            delay: Duration::ZERO,
        })
        .await;
        let mut agent = spawn_agent(agent_options(&relays[1].url, &token, &target.url()));
        agent.connected().await;
        wait_elsewhere(&relays[0], true).await;
        let answer = client::post_json(&relays[0].hook_url("okta"), "{\"q\":1}")
            .await
            .expect("post");
        assert_eq!(target.next().await.text(), "{\"q\":1}");
        assert_eq!(answer.status, 201, "{}", answer.text());
        assert_eq!(answer.body, body);
        assert_eq!(answer.header("x-local").as_deref(), Some("yes"));
        // The agent leaves: the other instance learns there is no agent anywhere.
        agent.stop().await;
        wait_elsewhere(&relays[0], false).await;
        let gone = client::post_json(&relays[0].hook_url("okta"), "{}")
            .await
            .expect("post");
        assert_eq!(gone.status, 502, "{}", gone.text());
    })
    .await;
}

#[tokio::test]
async fn revoking_a_token_on_one_instance_closes_its_sessions_on_another_within_a_second() {
    with_timeout(async {
        // The periodic token check is far off: only the database's notification can close
        // the session in time.
        let url = postgres::database().await;
        let mut config = test_config();
        config.token_check_interval = Duration::from_secs(60);
        let mut relays = Vec::new();
        for _ in 0..2 {
            relays.push(spawn_pg_relay(&url, config.clone()).await);
        }
        relays[0].set_mode("okta", Mode::Ack);
        let token = relays[0].token("okta");
        let target = spawn_target(Reply::default()).await;
        let mut agent = spawn_agent(agent_options(&relays[1].url, &token, &target.url()));
        agent.connected().await;
        let id = relays[0].handle.state.store.tokens().expect("tokens")[0]
            .id
            .clone();
        let started = Instant::now();
        assert!(relays[0]
            .handle
            .state
            .store
            .revoke_token(&id)
            .expect("revoke"));
        let ev = agent
            .wait_for(|e| matches!(e, AgentEvent::State(ConnState::Failed { .. })))
            .await;
        let elapsed = started.elapsed();
        assert!(format!("{ev:?}").contains("revoked"), "{ev:?}");
        assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
    })
    .await;
}

#[tokio::test]
async fn a_database_outage_under_load_answers_503_and_loses_nothing_acknowledged() {
    with_timeout(async {
        // Its own cluster: stopping it must not disturb the other tests of this process.
        let cluster = std::sync::Arc::new(postgres::Cluster::start());
        let url = cluster.database().await;
        let relay = spawn_pg_relay(&url, test_config()).await;
        relay.set_mode("okta", Mode::Ack);
        let token = relay.token("okta");
        let mut target = spawn_target(Reply::default()).await;
        let mut agent = spawn_agent(agent_options(&relay.url, &token, &target.url()));
        agent.connected().await;

        let hook = relay.hook_url("okta");
        let mut acked = Vec::new();
        let mut refused = 0;
        let mut i = 0u64;
        let post = |i: u64| {
            let hook = hook.clone();
            async move { client::post_json(&hook, i.to_string()).await.expect("post") }
        };
        for _ in 0..100 {
            assert_eq!(post(i).await.status, 200);
            acked.push(i);
            i += 1;
        }
        // Off the runtime: the relay and the agent run on this test's thread.
        let c = cluster.clone();
        tokio::task::spawn_blocking(move || c.stop_server())
            .await
            .expect("stop");
        let outage = Instant::now();
        while outage.elapsed() < Duration::from_secs(5) {
            let answer = post(i).await;
            match answer.status {
                200 => acked.push(i),
                503 => {
                    refused += 1;
                    assert!(
                        answer.header("retry-after").is_some(),
                        "503 without Retry-After"
                    );
                }
                other => panic!("unexpected {other}: {}", answer.text()),
            }
            i += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let c = cluster.clone();
        tokio::task::spawn_blocking(move || c.restart_server())
            .await
            .expect("restart");
        // It recovers by itself: senders get 200 again, without a restart.
        let mut after = 0;
        while after < 100 {
            let answer = post(i).await;
            if answer.status == 200 {
                acked.push(i);
                after += 1;
            } else {
                assert_eq!(answer.status, 503, "{}", answer.text());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            i += 1;
        }
        assert!(refused > 0, "the outage was never seen");
        // The agent was told, and stayed connected (checked below).
        let mut told = false;
        while let Ok(ev) = agent.events.try_recv() {
            told |= matches!(&ev, AgentEvent::Notice(m) if m.contains("unreachable"));
            assert!(
                !matches!(ev, AgentEvent::State(ConnState::Reconnecting { .. })),
                "the agent's session was dropped during the outage: {ev:?}"
            );
        }
        assert!(told, "the agent was not told of the outage");
        // Every acknowledged event is delivered, none twice.
        let want: HashSet<u64> = acked.iter().copied().collect();
        let mut seen = HashSet::new();
        while !want.is_subset(&seen) {
            let n: u64 = target.next().await.text().parse().expect("number");
            assert!(seen.insert(n), "{n} delivered twice");
        }
        // The agent stayed connected through the outage.
        while let Ok(ev) = agent.events.try_recv() {
            assert!(
                !matches!(ev, AgentEvent::State(ConnState::Reconnecting { .. })),
                "the agent's session was dropped during the outage: {ev:?}"
            );
        }
    })
    .await;
}
