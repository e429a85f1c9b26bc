//! `relay source set`: a source's mode, proxy deadline and retention are the operator's
//! settings, kept in the store and shown by `relay source list`; a bad value is refused with a
//! clear error and changes nothing.

use std::process::{Command, Output};

fn relay(args: &[&str], data: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_relay"))
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .expect("run relay")
}

fn listed(data: &std::path::Path) -> serde_json::Value {
    let out = relay(&["source", "list", "--json"], data);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn a_new_source_is_auto_and_settings_are_kept_and_listed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = relay(&["token", "create", "--source", "okta"], dir.path());
    assert!(out.status.success());
    let list = listed(dir.path());
    assert_eq!(list[0]["mode"], "auto", "{list}");
    assert_eq!(list[0]["proxy_deadline_ms"], serde_json::Value::Null);

    let out = relay(
        &[
            "source",
            "set",
            "okta",
            "--mode",
            "proxy",
            "--proxy-deadline-ms",
            "1500",
            "--retention-days",
            "2",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = listed(dir.path());
    assert_eq!(list[0]["mode"], "proxy");
    assert_eq!(list[0]["proxy_deadline_ms"], 1500);
    assert_eq!(list[0]["retention_days"], 2);

    // Changing one setting keeps the others.
    let out = relay(&["source", "set", "okta", "--mode", "ack"], dir.path());
    assert!(out.status.success());
    let list = listed(dir.path());
    assert_eq!(list[0]["mode"], "ack");
    assert_eq!(list[0]["proxy_deadline_ms"], 1500);

    let table = relay(&["source", "list"], dir.path());
    let table = String::from_utf8(table.stdout).expect("utf8");
    assert!(table.contains("MODE") && table.contains("ack"), "{table}");
    assert!(table.contains("1500ms"), "{table}");
}

#[test]
fn bad_modes_and_deadlines_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = relay(&["source", "set", "okta", "--mode", "proxy"], dir.path());
    assert!(out.status.success());
    for (args, says) in [
        (&["--mode", "fast"][..], "fast"),
        (&["--proxy-deadline-ms", "99"][..], "between 100 and 30000"),
        (
            &["--proxy-deadline-ms", "30001"][..],
            "between 100 and 30000",
        ),
        (
            &["--mode", "ack", "--proxy-deadline-ms", "5"][..],
            "between 100 and 30000",
        ),
    ] {
        let mut all = vec!["source", "set", "okta"];
        all.extend_from_slice(args);
        let out = relay(&all, dir.path());
        assert!(!out.status.success(), "{args:?} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    let list = listed(dir.path());
    assert_eq!(list[0]["mode"], "proxy", "nothing changed: {list}");
    assert_eq!(list[0]["proxy_deadline_ms"], serde_json::Value::Null);
}

#[test]
fn a_store_from_a_newer_relay_is_refused_naming_the_versions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = relay(&["source", "set", "okta"], dir.path());
    assert!(out.status.success());
    let conn = rusqlite::Connection::open(dir.path().join("relay.sqlite3")).expect("open");
    conn.pragma_update(None, "user_version", 99).expect("bump");
    drop(conn);
    let out = relay(&["source", "list"], dir.path());
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("schema version 99") && stderr.contains("upgrade the relay"),
        "{stderr}"
    );
}
