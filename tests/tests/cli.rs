//! The real `agent` binary: the zero-configuration default, trigger, verify, history, replay.

use hookrelay_tests::process::AgentProcess;
use hookrelay_tests::*;
use tokio::process::Command;

/// `agent --data DIR listen TARGET --output json` with an embedded relay on a free port, once
/// its link is up.
async fn start_agent(data: &std::path::Path, target: &str, extra: &[&str]) -> AgentProcess {
    let mut cmd = Command::new(bin_path("agent"));
    cmd.env("HOOKRELAY_AGENT_CONFIG", data.join("agent.json"))
        .arg("--data")
        .arg(data)
        .args(["listen", target, "--output", "json", "--embedded-port", "0"])
        .args(extra);
    let mut agent = AgentProcess::start(cmd, ()).await;
    // Wait for the link to come up before sending anything.
    agent
        .next_json(|v| v["type"] == "state" && v["state"] == "connected")
        .await;
    agent
}

/// The agent's next JSON line of `"type": "event"`.
async fn next_event(agent: &mut AgentProcess) -> serde_json::Value {
    agent.next_json(|v| v["type"] == "event").await
}

async fn agent_cmd(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(bin_path("agent"))
        .env("HOOKRELAY_AGENT_CONFIG", data.join("agent.json"))
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .await
        .expect("run agent")
}

#[tokio::test]
async fn embedded_relay_curl_round_trip_through_the_real_binary() {
    with_timeout(async {
        let data = tempfile::tempdir().expect("tempdir");
        let mut target = spawn_target(Reply::default()).await;
        let port = target.addr.port().to_string();
        let mut agent = start_agent(data.path(), &port, &[]).await;
        let answer = client::post_json(&format!("{}/h/okta/x?y=1", agent.relay_url), "{\"a\":1}")
            .await
            .expect("post");
        assert_eq!(answer.status, 200);
        let got = target.next().await;
        assert_eq!(got.uri, "/okta-webhooks-endpoint/x?y=1");
        assert_eq!(got.body.as_ref(), b"{\"a\":1}");
        let line = next_event(&mut agent).await;
        assert_eq!(line["status"], 200);
        assert_eq!(line["method"], "POST");
        assert_eq!(line["path"], "/x?y=1");
        assert!(
            line["seq"].as_u64().is_some() && line["id"].is_string(),
            "{line}"
        );
        let _ = agent.child.kill().await;
    })
    .await;
}

#[tokio::test]
async fn trigger_verify_history_and_replay_survive_a_restart() {
    with_timeout(async {
        let data = tempfile::tempdir().expect("tempdir");
        let mut target = spawn_target(Reply::default()).await;
        let port = target.addr.port().to_string();
        let mut agent = start_agent(data.path(), &port, &[]).await;

        // trigger finds the running embedded relay by itself.
        let out = agent_cmd(data.path(), &["trigger", "user.lifecycle.deactivate"]).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = target.next().await;
        let summary = shared::okta::summarize(&got.body).expect("an Okta body");
        assert_eq!(summary.event_types, vec!["user.lifecycle.deactivate"]);
        assert!(got
            .header_values("user-agent")
            .iter()
            .any(|v| v.starts_with(b"Okta Hook Service v1.0.0 - ")));
        let line = next_event(&mut agent).await;
        let id = line["id"].as_str().expect("id").to_string();

        let out = agent_cmd(data.path(), &["verify"]).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("PASS"));

        // Restart the agent: history is still there and replay works on the old event.
        let _ = agent.child.kill().await;
        let _ = agent.child.wait().await;
        let out = agent_cmd(data.path(), &["events", "--json"]).await;
        let history = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(history.contains(&id), "{history}");
        let mut agent = start_agent(data.path(), &port, &[]).await;
        let out = agent_cmd(data.path(), &["replay", &id[..8]]).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let replayed = target.next().await;
        assert_eq!(replayed.body, got.body, "replay is byte for byte");
        assert_eq!(replayed.uri, got.uri);

        // Edit and replay: the editor's change is what the target receives.
        let out = Command::new(bin_path("agent"))
            .env("HOOKRELAY_AGENT_CONFIG", data.path().join("agent.json"))
            .env_remove("VISUAL")
            .env(
                "EDITOR",
                "sed -i s/user.lifecycle.deactivate/user.lifecycle.suspend/g",
            )
            .arg("--data")
            .arg(data.path())
            .args(["replay", &id, "--edit"])
            .output()
            .await
            .expect("run agent");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let edited = target.next().await;
        let summary = shared::okta::summarize(&edited.body).expect("still an Okta body");
        assert_eq!(summary.event_types, vec!["user.lifecycle.suspend"]);
        let _ = agent.child.kill().await;
    })
    .await;
}

#[tokio::test]
async fn verify_fails_with_a_reason_against_a_wrong_answer() {
    with_timeout(async {
        let data = tempfile::tempdir().expect("tempdir");
        let target = spawn_target(Reply {
            headers: vec![("content-type".into(), "application/json".into())],
            body: bytes::Bytes::from_static(br#"{"verification":"not-the-challenge"}"#),
            ..Reply::default()
        })
        .await;
        let out = agent_cmd(data.path(), &["verify", &target.url()]).await;
        assert!(!out.status.success());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.starts_with("FAIL"), "{stdout}");
        assert!(
            stdout.contains("not-the-challenge"),
            "the reason names what came back: {stdout}"
        );
    })
    .await;
}

#[tokio::test]
async fn inline_hook_in_proxy_mode_returns_the_local_commands_unchanged() {
    with_timeout(async {
        let data = tempfile::tempdir().expect("tempdir");
        let reply = br#"{"commands":[{"type":"com.okta.access.patch","value":[{"op":"add","path":"/claims/extClaim","value":"x"}]}]}"#;
        let target = spawn_target(Reply {
            headers: vec![("content-type".into(), "application/json".into())],
            body: bytes::Bytes::from_static(reply),
            ..Reply::default()
        })
        .await;
        let port = target.addr.port().to_string();
        let mut agent = start_agent(data.path(), &port, &["--mode", "proxy"]).await;
        let answer = client::post_json(
            &format!("{}/h/okta", agent.relay_url),
            serde_json::to_vec(&agent::okta_kit::inline_hook_body(agent::okta_kit::InlineKind::Token))
                .expect("json"),
        )
        .await
        .expect("post");
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body.as_ref(), &reply[..], "reply passed through unchanged");
        let out = agent_cmd(data.path(), &["trigger", "--inline", "token"]).await;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("com.okta.access.patch"));
        let _ = agent.child.kill().await;
    })
    .await;
}

#[tokio::test]
async fn a_wrong_token_exits_non_zero_with_the_reason() {
    with_timeout(async {
        let relay = spawn_relay(test_config()).await;
        relay.token("okta");
        let data = tempfile::tempdir().expect("tempdir");
        let out = Command::new(bin_path("agent"))
            .env("HOOKRELAY_AGENT_CONFIG", data.path().join("agent.json"))
            .arg("--data")
            .arg(data.path())
            .args([
                "listen", "1337", "--output", "compact", "--relay", &relay.url, "--token", "hr_bad",
            ])
            .output()
            .await
            .expect("run agent");
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("invalid token") && err.contains("4001"),
            "{err}"
        );
    })
    .await;
}

#[tokio::test]
async fn inline_hooks_get_the_local_answer_with_no_setting_at_all() {
    with_timeout(async {
        let data = tempfile::tempdir().expect("tempdir");
        let reply =
            br#"{"commands":[{"type":"com.okta.action.update","value":{"registration":"ALLOW"}}]}"#;
        let mut target = spawn_target(Reply {
            headers: vec![("content-type".into(), "application/json".into())],
            body: bytes::Bytes::from_static(reply),
            ..Reply::default()
        })
        .await;
        let port = target.addr.port().to_string();
        let mut agent = start_agent(data.path(), &port, &[]).await;
        let url = format!("{}/h/okta", agent.relay_url);
        let inline = agent::okta_kit::inline_hook_body(agent::okta_kit::InlineKind::Registration);
        let answer = client::post_json(&url, serde_json::to_vec(&inline).expect("json"))
            .await
            .expect("post");
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.body.as_ref(),
            &reply[..],
            "the local answer, not an empty 200"
        );
        target.next().await;
        // An event hook on the same source is acknowledged with an empty body.
        let answer = client::post_json(
            &url,
            r#"{"eventType":"com.okta.event_hook","data":{"events":[]}}"#,
        )
        .await
        .expect("post");
        assert_eq!((answer.status, answer.body.len()), (200, 0));
        let _ = agent.child.kill().await;
    })
    .await;
}

#[tokio::test]
async fn mode_flags_against_a_relay_of_your_own_are_refused_pointing_to_relay_source_set() {
    with_timeout(async {
        let relay = spawn_relay(test_config()).await;
        let token = relay.token("okta");
        let data = tempfile::tempdir().expect("tempdir");
        for flag in [&["--mode", "proxy"][..], &["--proxy-deadline-ms", "1000"]] {
            let mut args = vec![
                "listen", "1337", "--output", "compact", "--relay", &relay.url,
            ];
            args.extend(["--token", token.as_str()]);
            args.extend_from_slice(flag);
            let out = agent_cmd(data.path(), &args).await;
            assert!(!out.status.success(), "{flag:?} was accepted");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains(flag[0]) && err.contains("relay source set okta"),
                "{err}"
            );
            assert!(!err.contains(token.as_str()), "the token leaked: {err}");
        }
    })
    .await;
}
