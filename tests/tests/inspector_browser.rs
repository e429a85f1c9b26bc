//! The web inspector in a real browser: relay, the `agent` binary (listen, with the
//! inspector) and a recording target; Debian's chromium, driven by Playwright, opens the page,
//! sees an Okta event arrive live, finds its target's name, edits and replays it; the target
//! then receives the edited body. Also checks that a `<script>` body is shown and never run.
//!
//! `HOOKRELAY_SCREENSHOTS=docs` rewrites docs/inspector-list.png and docs/inspector-event.png.

use agent::model::Capture;
use hookrelay_tests::browser::{
    require_browser, run_named_script, run_script, spawn_inspected_agent,
};
use hookrelay_tests::*;

const SAMPLE: &str = "fixtures/event-hook.user.session.start.json";
const MARKER: &str = "Edited In The Browser";

#[tokio::test]
async fn inspector_shows_events_live_and_replays_an_edit() {
    let chromium = require_browser();
    // The browser's steps have their own 30 s timeouts; this bounds the whole run.
    tokio::time::timeout(std::time::Duration::from_secs(180), async {
        let relay = spawn_relay(test_config()).await;
        let token = relay.token("okta");
        let mut target = spawn_target(Reply::default()).await;
        let mut agent = spawn_inspected_agent(&relay.url, &token, &target.url()).await;
        let sample_path = hookrelay_tests::browser::browser_dir().join(SAMPLE);
        let sample = std::fs::read(&sample_path).expect("read the Okta sample");
        let name = shared::okta::summarize(&sample)
            .and_then(|s| s.target_names.first().cloned())
            .expect("the sample names a target");
        let shots = std::env::var("HOOKRELAY_SCREENSHOTS")
            .ok()
            .map(|d| {
                let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("..")
                    .join(d);
                p.to_string_lossy().into_owned()
            })
            .unwrap_or_default();
        let output = run_script(&[
            ("INSPECTOR_URL", agent.inspector_url.clone()),
            ("HOOK_URL", relay.hook_url("okta")),
            ("SAMPLE", sample_path.to_string_lossy().into_owned()),
            ("TARGET_NAME", name.clone()),
            ("EDIT_MARKER", MARKER.to_string()),
            ("CHROMIUM", chromium.to_string_lossy().into_owned()),
            ("SHOTS_DIR", shots),
        ])
        .await;
        eprintln!("{output}");

        // The target got the hostile event, the sample byte for byte, then the edited replay
        // (with screenshots on, a few more events come in between).
        let mut received = Vec::new();
        let replay = loop {
            let r = target.next().await;
            if r.text().contains(MARKER) {
                break r;
            }
            received.push(r);
        };
        assert!(received[0].text().contains("<script>"));
        assert_eq!(&received[1].body[..], &sample[..]);
        assert_eq!(replay.method, "POST");
        let body: serde_json::Value =
            serde_json::from_slice(&replay.body).expect("the edited body is JSON");
        let text = replay.text();
        assert!(
            text.contains(MARKER) && !text.contains(&format!("\"{name}\"")),
            "{text}"
        );
        assert_eq!(body["data"]["events"][0]["eventType"], "user.session.start");

        // Every JSON line links to the event's page in the inspector.
        let link_prefix = format!("{}/events/", agent.inspector_url);
        let mut linked = 0;
        while linked < 3 {
            let line = agent
                .stdout
                .next_line()
                .await
                .expect("read agent stdout")
                .expect("agent exited");
            let v: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
            if v["type"] == "event" {
                let link = v["link"].as_str().expect("link");
                assert_eq!(
                    link,
                    format!("{link_prefix}{}", v["id"].as_str().expect("id"))
                );
                linked += 1;
            }
        }
        let _ = agent.child.kill().await;
        relay.stop().await;
    })
    .await
    .expect("test timed out");
}

/// `agent inspect` serves yesterday's history without listening.
/// A failed capture of `source` at `path`, as yesterday's history holds it.
fn history_capture(source: &str, path: &str, received_at_ms: u64) -> Capture {
    Capture {
        event: shared::Event {
            seq: 1,
            id: shared::EventId::new(),
            received_at_ms,
            duplicate: false,
            proxied: false,
            request: shared::HttpRequest {
                method: "POST".into(),
                path: path.into(),
                query: None,
                headers: vec![],
                body: "{}".into(),
            },
        },
        source: source.into(),
        kind: agent::model::CaptureKind::Event,
        delivered_at_ms: None,
        answered_at_ms: None,
        target_url: format!("http://127.0.0.1:9/x{path}"),
        outcome: Some(shared::DeliveryOutcome::failed(
            shared::DeliveryError::Refused("down".into()),
            5,
        )),
        replay_of: None,
    }
}

/// `agent inspect` over a capture store holding `captures`: the process and its URL.
async fn inspect_history(
    dir: &tempfile::TempDir,
    captures: &[Capture],
) -> (tokio::process::Child, String) {
    let store =
        agent::capture::CaptureStore::open(&dir.path().join("captures.sqlite3")).expect("store");
    for c in captures {
        store.insert(c).expect("insert");
    }
    drop(store);
    let mut child = tokio::process::Command::new(bin_path("agent"))
        .arg("--data")
        .arg(dir.path())
        .args(["inspect", "--addr", "127.0.0.1:0"])
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start agent inspect");
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
    let url = loop {
        let line = lines
            .next_line()
            .await
            .expect("read")
            .expect("agent exited early");
        if let Some(rest) = line.split("inspector on ").nth(1) {
            break rest.split_whitespace().next().expect("url").to_string();
        }
    };
    (child, url)
}

#[tokio::test]
async fn agent_inspect_serves_the_history_without_listening() {
    with_timeout(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let c = history_capture("okta", "/yesterday", 1_700_000_000_000);
        let (mut child, url) = inspect_history(&dir, std::slice::from_ref(&c)).await;
        let host = url.trim_start_matches("http://").to_string();
        let stream = tokio::net::TcpStream::connect(&host)
            .await
            .expect("connect");
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .expect("handshake");
        tokio::spawn(conn);
        let req = http::Request::get("/api/events")
            .header("host", &host)
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .expect("request");
        let resp = sender.send_request(req).await.expect("send");
        assert_eq!(resp.status(), 200);
        use http_body_util::BodyExt;
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["events"][0]["id"], c.id.to_string());
        assert_eq!(v["events"][0]["path"], "/yesterday");
        assert_eq!(v["events"][0]["status_class"], "failed");
        let _ = child.kill().await;
    })
    .await
}

#[tokio::test]
async fn the_list_names_each_events_source_when_there_are_several() {
    let chromium = require_browser();
    tokio::time::timeout(std::time::Duration::from_secs(120), async {
        let dir = tempfile::tempdir().expect("tempdir");
        let captures = [
            history_capture("okta", "/a", 1_700_000_000_000),
            history_capture("github", "/push", 1_700_000_001_000),
        ];
        let (mut child, url) = inspect_history(&dir, &captures).await;
        let output = run_named_script(
            "sources.mjs",
            &[
                ("INSPECTOR_URL", url),
                ("SOURCES", "github,okta".to_string()),
                ("CHROMIUM", chromium.to_string_lossy().into_owned()),
            ],
        )
        .await;
        eprintln!("{output}");
        let _ = child.kill().await;
    })
    .await
    .expect("the browser test finished in time");
}
