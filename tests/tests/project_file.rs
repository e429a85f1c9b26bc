//! `hookrelay.toml`: a team's committed target, routes and filters, read from the working
//! directory by the real binary; an unknown key stops it before connecting. (Flags winning over
//! the file is checked in agent/src/cli/project.rs.)

use hookrelay_tests::process::AgentProcess;
use hookrelay_tests::*;
use tokio::process::Command;

fn agent_in(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(bin_path("agent"));
    cmd.current_dir(dir)
        .env("HOOKRELAY_AGENT_CONFIG", dir.join("agent.json"))
        .env_remove("HOOKRELAY_CONFIG")
        .arg("--data")
        .arg(dir.join("data"));
    cmd
}

#[tokio::test]
async fn the_project_file_gives_the_target_and_routes() {
    with_timeout(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut default_target = spawn_target(Reply::default()).await;
        let mut users = spawn_target(Reply::default()).await;
        std::fs::write(
            dir.path().join("hookrelay.toml"),
            format!(
                "target = \"{}\"\npath = \"/default\"\nroutes = [\"user.lifecycle.*={}/users\"]\n",
                default_target.addr.port(),
                users.addr.port()
            ),
        )
        .expect("write config");
        let mut cmd = agent_in(dir.path());
        cmd.args(["listen", "--output", "json", "--embedded-port", "0", "--no-inspect"]);
        let mut agent = AgentProcess::start(cmd, ()).await;
        agent
            .next_json(|v| v["type"] == "state" && v["state"] == "connected")
            .await;
        let relay = agent.relay_url.clone();
        let hook = format!("{relay}/h/okta");
        let deactivate = r#"{"eventType":"com.okta.event_hook","data":{"events":[{"eventType":"user.lifecycle.deactivate"}]}}"#;
        let other = r#"{"eventType":"com.okta.event_hook","data":{"events":[{"eventType":"group.user_membership.add"}]}}"#;
        assert_eq!(client::post_json(&hook, deactivate).await.expect("post").status, 200);
        assert_eq!(client::post_json(&hook, other).await.expect("post").status, 200);
        let routed = users.next().await;
        assert_eq!((routed.uri.as_str(), routed.text()), ("/users", deactivate.to_string()));
        let rest = default_target.next().await;
        assert_eq!((rest.uri.as_str(), rest.text()), ("/default", other.to_string()));
        let _ = agent.child.kill().await;
    })
    .await;
}

#[tokio::test]
async fn an_unknown_key_names_the_key_and_the_file_before_connecting() {
    with_timeout(async {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("hookrelay.toml"),
            "target = \"1337\"\nrouts = []\n",
        )
        .expect("write config");
        let out = agent_in(dir.path())
            .args([
                "listen",
                "--output",
                "compact",
                "--relay",
                "http://127.0.0.1:9",
                "--token",
                "t",
            ])
            .output()
            .await
            .expect("run agent");
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("routs") && err.contains("hookrelay.toml"),
            "{err}"
        );
        assert!(
            !err.contains("connecting"),
            "it stopped before connecting: {err}"
        );
    })
    .await;
}
