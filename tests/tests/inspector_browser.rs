//! The web inspector in a real browser: relay, the `agent` binary (listen, with the
//! inspector) and a recording target; Debian's chromium, driven by Playwright, opens the page,
//! sees an Okta event arrive live, finds its target's name, edits and replays it; the target
//! then receives the edited body. Also checks that a `<script>` body is shown and never run.
//!
//! `HOOKRELAY_SCREENSHOTS=docs` rewrites docs/inspector-list.png and docs/inspector-event.png.

use hookrelay_tests::browser::{require_browser, run_script, spawn_inspected_agent};
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
