//! Several sources on one agent connection: `agent listen --source okta,github` (or `'*'`)
//! delivers both sources' events over one link, each tagged with its source, each source in
//! its own order and from its own cursor, and a source whose local service is down holds only
//! its own events.

use agent::events::{AgentEvent, ConnState};
use agent::listen::ListenOptions;
use agent::model::Capture;
use hookrelay_tests::process::AgentProcess;
use hookrelay_tests::*;
use shared::{Mode, SourceList};
use std::collections::HashSet;
use std::sync::Arc;
use tokio::process::Command;

/// A relay with ack-mode sources `okta` and `github`, a recording target and options for an
/// agent listening on `sources` with a token scoped to `scope`.
async fn setup(scope: &str, sources: &str) -> (TestRelay, TestTarget, ListenOptions) {
    let relay = spawn_relay(test_config()).await;
    for source in ["okta", "github"] {
        relay.set_mode(source, Mode::Ack);
    }
    let token = relay.token(scope);
    let target = spawn_target(Reply::default()).await;
    let mut options = agent_options(&relay.url, &token, &target.url());
    options.sources = SourceList::parse(sources).expect("sources");
    (relay, target, options)
}

/// Waits until the relay welcomed the agent on each of `sources`.
async fn welcomed(agent: &mut TestAgent, sources: &[&str]) {
    let mut left: HashSet<&str> = sources.iter().copied().collect();
    while !left.is_empty() {
        if let AgentEvent::Welcome { source, .. } = agent
            .wait_for(|e| matches!(e, AgentEvent::Welcome { .. }))
            .await
        {
            left.remove(source.as_str());
        }
    }
}

async fn post(relay: &TestRelay, source: &str, body: &str) {
    let answer = client::post_json(&relay.hook_url(source), body.to_string())
        .await
        .expect("send");
    assert_eq!(answer.status, 200, "{}", answer.text());
}

/// The next `n` bodies the target receives.
async fn bodies(target: &mut TestTarget, n: usize) -> Vec<String> {
    let mut got = Vec::new();
    while got.len() < n {
        got.push(target.next().await.text());
    }
    got
}

/// The bodies of `all` that start with `prefix`, in the order they came.
fn only(all: &[String], prefix: &str) -> Vec<String> {
    all.iter()
        .filter(|b| b.starts_with(prefix))
        .cloned()
        .collect()
}

/// Waits until the agent recorded a finished capture for each of `n` events.
async fn captures(agent: &mut TestAgent, n: usize) -> Vec<Capture> {
    loop {
        let done: Vec<Capture> = agent
            .store
            .all()
            .expect("captures")
            .into_iter()
            .filter(|c| c.outcome.is_some())
            .collect();
        if done.len() >= n {
            return done;
        }
        agent
            .wait_for(|e| matches!(e, AgentEvent::Captured(_) | AgentEvent::Delivered { .. }))
            .await;
    }
}

#[tokio::test]
async fn two_sources_share_one_connection_each_event_tagged_and_in_its_own_order() {
    with_timeout(async {
        let (relay, mut target, options) = setup("okta,github", "okta,github").await;
        let mut agent = spawn_agent(options);
        welcomed(&mut agent, &["okta", "github"]).await;
        for i in 1..=3 {
            post(&relay, "okta", &format!("okta-{i}")).await;
            post(&relay, "github", &format!("github-{i}")).await;
        }
        let got = bodies(&mut target, 6).await;
        assert_eq!(only(&got, "okta"), ["okta-1", "okta-2", "okta-3"]);
        assert_eq!(only(&got, "github"), ["github-1", "github-2", "github-3"]);
        for c in captures(&mut agent, 6).await {
            let body = String::from_utf8_lossy(c.request.body.as_bytes()).into_owned();
            assert!(body.starts_with(&c.source), "{body} tagged {}", c.source);
            let line = agent::output::tagged_line(&c);
            assert!(line.contains(&format!("[{}]", c.source)), "{line}");
        }
        assert_eq!(
            relay.handle.state.hub.agent_counts(),
            [("github".to_string(), 1), ("okta".to_string(), 1)],
            "one connection counts once on each source"
        );
    })
    .await;
}

#[tokio::test]
async fn a_restarted_agent_resumes_each_source_from_its_own_cursor() {
    with_timeout(async {
        let (relay, mut target, options) = setup("okta,github", "okta,github").await;
        let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
        let mut agent = spawn_agent_in(dir.clone(), options.clone());
        welcomed(&mut agent, &["okta", "github"]).await;
        post(&relay, "okta", "okta-1").await;
        post(&relay, "github", "github-1").await;
        post(&relay, "github", "github-2").await;
        bodies(&mut target, 3).await;
        captures(&mut agent, 3).await;
        agent.stop().await;

        // The history names each event's source too.
        let out = Command::new(bin_path("agent"))
            .arg("--data")
            .arg(dir.path())
            .arg("events")
            .output()
            .await
            .expect("agent events");
        let lines = String::from_utf8_lossy(&out.stdout);
        assert_eq!(lines.matches("[okta]").count(), 1, "{lines}");
        assert_eq!(lines.matches("[github]").count(), 2, "{lines}");

        // While the agent is away each source logs more, a different number each.
        post(&relay, "okta", "okta-2").await;
        post(&relay, "okta", "okta-3").await;
        post(&relay, "github", "github-3").await;
        let mut agent = spawn_agent_in(dir, options);
        welcomed(&mut agent, &["okta", "github"]).await;
        let got = bodies(&mut target, 3).await;
        assert_eq!(only(&got, "okta"), ["okta-2", "okta-3"], "{got:?}");
        assert_eq!(only(&got, "github"), ["github-3"], "{got:?}");
        // Nothing came twice: the next request each source's service sees is its next event.
        post(&relay, "github", "github-4").await;
        assert_eq!(target.next().await.text(), "github-4");
        post(&relay, "okta", "okta-4").await;
        assert_eq!(target.next().await.text(), "okta-4");
    })
    .await;
}

#[tokio::test]
async fn a_token_scoped_to_one_source_asking_for_two_is_refused_naming_the_other() {
    with_timeout(async {
        let (_relay, _target, options) = setup("okta", "okta,github").await;
        let mut agent = spawn_agent(options);
        let ev = agent
            .wait_for(|e| matches!(e, AgentEvent::State(ConnState::Failed { .. })))
            .await;
        let AgentEvent::State(ConnState::Failed { reason }) = ev else {
            unreachable!("waited for a failure")
        };
        assert!(reason.contains("4003"), "{reason}");
        assert!(reason.contains("\"github\""), "{reason}");
        let result = agent.join.await.expect("join");
        assert!(result.is_err(), "listen ends with the refusal");
    })
    .await;
}

#[tokio::test]
async fn star_listens_on_every_source_the_token_may_use() {
    with_timeout(async {
        let (relay, mut target, options) = setup("*", "*").await;
        relay.set_mode("stripe", Mode::Ack);
        let mut agent = spawn_agent(options);
        welcomed(&mut agent, &["okta", "github", "stripe"]).await;
        for source in ["okta", "github", "stripe"] {
            post(&relay, source, &format!("{source}-1")).await;
        }
        let mut got = bodies(&mut target, 3).await;
        got.sort();
        assert_eq!(got, ["github-1", "okta-1", "stripe-1"]);

        // A token scoped to two sources: `*` means those two, not every source.
        let token = relay.token("okta,github");
        let mut options = agent_options(&relay.url, &token, &target.url());
        options.sources = SourceList::All;
        let mut scoped = spawn_agent(options);
        welcomed(&mut scoped, &["okta", "github"]).await;
        assert_eq!(
            relay.handle.state.hub.agent_counts(),
            [
                ("github".to_string(), 2),
                ("okta".to_string(), 2),
                ("stripe".to_string(), 1)
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_source_whose_service_is_down_does_not_hold_up_the_other() {
    with_timeout(async {
        let (relay, mut target, mut options) = setup("okta,github", "okta,github").await;
        let mut github = spawn_target(Reply::default()).await;
        let route = format!("source:github={}", github.url());
        options.routes = vec![agent::rules::Route::parse(&route, &options.target).expect("route")];
        github.stop().await;
        let mut agent = spawn_agent(options);
        welcomed(&mut agent, &["okta", "github"]).await;
        post(&relay, "github", "github-1").await;
        agent
            .wait_for(|e| matches!(e, AgentEvent::LocalDown { source, .. } if source == "github"))
            .await;
        post(&relay, "github", "github-2").await;
        for i in 1..=5 {
            post(&relay, "okta", &format!("okta-{i}")).await;
        }
        let got = bodies(&mut target, 5).await;
        assert_eq!(got, ["okta-1", "okta-2", "okta-3", "okta-4", "okta-5"]);
        github.start_again().await;
        assert_eq!(bodies(&mut github, 2).await, ["github-1", "github-2"]);
        agent
            .wait_for(|e| matches!(e, AgentEvent::LocalBack { source, .. } if source == "github"))
            .await;
    })
    .await;
}

/// `agent listen 1337 ARGS…` with a fresh data directory, to completion.
async fn agent_listen(args: &[&str]) -> std::process::Output {
    let data = tempfile::tempdir().expect("tempdir");
    Command::new(bin_path("agent"))
        .env("HOOKRELAY_AGENT_CONFIG", data.path().join("agent.json"))
        .env_remove("HOOKRELAY_SOURCE")
        .arg("--data")
        .arg(data.path())
        .args([
            "listen",
            "1337",
            "--output",
            "compact",
            "--embedded-port",
            "0",
        ])
        .args(args)
        .output()
        .await
        .expect("run agent")
}

#[tokio::test]
async fn bad_source_lists_fail_before_connecting_naming_the_argument() {
    with_timeout(async {
        for bad in ["", "okta,,x", "okta,", "a/b", "okta,*"] {
            let out = agent_listen(&["--source", bad]).await;
            assert!(!out.status.success(), "{bad:?} was accepted");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("--source"), "{bad:?}: {err}");
            assert!(
                !err.contains("embedded relay on"),
                "{bad:?}: refused before starting anything: {err}"
            );
        }
    })
    .await;
}

/// `agent listen PORT --source SOURCES --output json` on an embedded relay, once the relay
/// welcomed it on `expect`.
async fn embedded_agent(port: &str, sources: &str, expect: &[&str]) -> AgentProcess {
    let data = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(bin_path("agent"));
    cmd.env("HOOKRELAY_AGENT_CONFIG", data.path().join("agent.json"))
        .env_remove("HOOKRELAY_SOURCE")
        .arg("--data")
        .arg(data.path())
        .args(["listen", port, "--output", "json", "--embedded-port", "0"])
        .args(["--source", sources]);
    let mut agent = AgentProcess::start(cmd, data).await;
    let mut welcomes = HashSet::new();
    while welcomes.len() < expect.len() {
        let v = agent.next_json(|v| v["type"] == "welcome").await;
        welcomes.insert(v["source"].as_str().expect("source").to_string());
    }
    let expected: HashSet<String> = expect.iter().map(|s| s.to_string()).collect();
    assert_eq!(welcomes, expected);
    agent
}

/// Posts `source` to its source and checks the target and the agent's JSON line.
async fn delivers_tagged(agent: &mut AgentProcess, source: &str, target: &mut TestTarget) {
    let url = format!("{}/h/{source}", agent.relay_url);
    let answer = client::post_json(&url, source.to_string())
        .await
        .expect("post");
    assert_eq!(answer.status, 200, "{source}: {}", answer.text());
    assert_eq!(target.next().await.text(), source);
    let event = agent.next_json(|v| v["type"] == "event").await;
    assert_eq!(event["source"], source, "{event}");
}

#[tokio::test]
async fn the_embedded_relay_creates_every_listed_source_and_lines_name_theirs() {
    with_timeout(async {
        let mut target = spawn_target(Reply::default()).await;
        let port = target.addr.port().to_string();
        let mut agent = embedded_agent(&port, "okta,github", &["okta", "github"]).await;
        for source in ["okta", "github"] {
            delivers_tagged(&mut agent, source, &mut target).await;
        }
        let _ = agent.child.kill().await;
    })
    .await;
}

#[tokio::test]
async fn star_on_the_embedded_relay_means_the_sources_it_has() {
    with_timeout(async {
        let mut target = spawn_target(Reply::default()).await;
        let port = target.addr.port().to_string();
        let mut agent = embedded_agent(&port, "*", &["okta"]).await;
        delivers_tagged(&mut agent, "okta", &mut target).await;
        let _ = agent.child.kill().await;
    })
    .await;
}
