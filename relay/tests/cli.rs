//! The `relay` binary's token commands against a data directory.

use std::process::Command;

fn relay() -> Command {
    Command::new(env!("CARGO_BIN_EXE_relay"))
}

#[test]
fn token_create_prints_only_the_token_and_list_never_shows_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = relay()
        .args([
            "token", "create", "--source", "okta", "--name", "laptop", "--data",
        ])
        .arg(dir.path())
        .output()
        .expect("run relay");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf8");
    let token = stdout.trim();
    assert_eq!(
        stdout.lines().count(),
        1,
        "only the token on stdout: {stdout:?}"
    );
    assert!(token.starts_with("hr_") && token.len() >= 40, "{token}");

    let out = relay()
        .args(["token", "list", "--json", "--data"])
        .arg(dir.path())
        .output()
        .expect("run relay");
    let listed = String::from_utf8(out.stdout).expect("utf8");
    assert!(
        listed.contains("laptop") && listed.contains("okta"),
        "{listed}"
    );
    assert!(!listed.contains(token), "secret leaked into the listing");

    let list: serde_json::Value = serde_json::from_str(&listed).expect("json");
    let id = list[0]["id"].as_str().expect("id");
    let out = relay()
        .args(["token", "revoke", id, "--data"])
        .arg(dir.path())
        .output()
        .expect("run relay");
    assert!(out.status.success());
    let out = relay()
        .args(["token", "revoke", id, "--data"])
        .arg(dir.path())
        .output()
        .expect("run relay");
    assert!(!out.status.success(), "revoking twice is an error");
}

#[test]
fn bad_source_names_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = relay()
        .args(["token", "create", "--source", "../etc", "--data"])
        .arg(dir.path())
        .output()
        .expect("run relay");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("source names"));
}

#[test]
fn tokens_take_a_scope_of_several_sources_or_star_and_list_shows_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    for scope in ["okta,github", "*"] {
        let out = relay()
            .args(["token", "create", "--source", scope, "--data"])
            .arg(dir.path())
            .output()
            .expect("run relay");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = relay()
        .args(["token", "list", "--data"])
        .arg(dir.path())
        .output()
        .expect("run relay");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("SOURCES"), "{table}");
    assert!(
        table.contains("okta,github") && table.contains(" * "),
        "{table}"
    );
    for bad in ["okta,,x", "okta,", "okta,*", ""] {
        let out = relay()
            .args(["token", "create", "--source", bad, "--data"])
            .arg(dir.path())
            .output()
            .expect("run relay");
        assert!(!out.status.success(), "{bad:?} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--source"), "{bad:?}: {err}");
    }
}

#[test]
fn a_corrupt_store_is_a_clear_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("relay.sqlite3"),
        b"this is not a database, not at all",
    )
    .expect("write");
    let out = relay()
        .args(["token", "list", "--data"])
        .arg(dir.path())
        .output()
        .expect("run relay");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("relay.sqlite3"), "{err}");
}

#[test]
fn a_second_relay_on_the_same_data_directory_is_refused() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut first = relay()
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(first.stderr.take().expect("stderr")).lines();
    loop {
        let line = lines.next().expect("relay exited").expect("read");
        if line.contains("listening on") {
            break;
        }
    }
    let out = relay()
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .output()
        .expect("run relay");
    let _ = first.kill();
    let _ = first.wait();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("in use by another relay") && err.contains("relay.lock"),
        "{err}"
    );
}
