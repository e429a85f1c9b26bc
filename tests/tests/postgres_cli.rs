//! `relay … --database-url`: a wrong URL is a clear error naming the host, never the password;
//! `relay token create` against the database is seen by a running instance.

use hookrelay_tests::postgres::{self, spawn_pg_relay};
use hookrelay_tests::*;

#[tokio::test]
async fn a_wrong_database_url_names_the_host_never_the_password_and_exits_non_zero() {
    with_timeout(async {
        let dead = closed_port_url().await;
        let port = dead.rsplit(':').next().expect("port");
        let url = format!("postgres://relay:pa55-w0rd-xyz@127.0.0.1:{port}/hooks");
        let out = tokio::process::Command::new(bin_path("relay"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("HOOKRELAY_DATABASE_URL", &url)
            .output()
            .await
            .expect("run relay");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
        assert!(
            !stderr.contains("pa55-w0rd-xyz"),
            "the password leaked: {stderr}"
        );
        let help = tokio::process::Command::new(bin_path("relay"))
            .args(["serve", "--help"])
            .env("HOOKRELAY_DATABASE_URL", &url)
            .output()
            .await
            .expect("run relay --help");
        let help = String::from_utf8_lossy(&help.stdout);
        assert!(help.contains("--database-url"), "{help}");
        assert!(
            !help.contains("pa55-w0rd-xyz"),
            "the password is in --help: {help}"
        );
    })
    .await;
}

#[tokio::test]
async fn token_create_on_the_database_is_seen_by_a_running_instance() {
    with_timeout(async {
        let url = postgres::database().await;
        let relay = spawn_pg_relay(&url, test_config()).await;
        let out = tokio::process::Command::new(bin_path("relay"))
            .args(["token", "create", "--source", "okta", "--name", "cli"])
            .env("HOOKRELAY_DATABASE_URL", url.expose())
            .output()
            .await
            .expect("run relay token create");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let secret = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let found = relay
            .handle
            .state
            .authenticate(&secret)
            .await
            .expect("lookup")
            .expect("the instance knows the new token");
        assert_eq!(found.name, "cli");
        assert!(relay
            .handle
            .state
            .store
            .source("okta")
            .expect("source")
            .is_some());
    })
    .await;
}
