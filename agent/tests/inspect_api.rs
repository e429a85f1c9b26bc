//! The inspector's JSON API over a real socket: list, pagination, filters, detail, replay,
//! edited replay, bad input and the live stream. Over 400 lines: one test per endpoint and
//! case, kept together so the API's coverage reads in one place.

mod inspect_support;

use agent::events::AgentEvent;
use agent::target::Target;
use inspect_support::*;
use serde_json::{json, Value};

fn ids(v: &Value) -> Vec<String> {
    v["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test]
async fn list_is_newest_first_and_pages_with_a_cursor() {
    within(async {
        let captures: Vec<_> = (0..7)
            .map(|i| {
                okta_event(
                    1_000 + i,
                    "user.lifecycle.create",
                    &format!("User {i}"),
                    200,
                )
            })
            .collect();
        let r = start(&captures, None).await;
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                None => "/api/events?limit=3".to_string(),
                Some(c) => format!("/api/events?limit=3&before={c}"),
            };
            let page = get(&r, &path).await;
            assert_eq!(page.status, 200);
            assert_eq!(page.header("content-type"), Some("application/json"));
            let v = page.json();
            seen.extend(ids(&v));
            match v["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        let newest_first: Vec<String> = captures.iter().rev().map(|c| c.id.to_string()).collect();
        assert_eq!(seen, newest_first);
        let first = get(&r, "/api/events?limit=1").await.json();
        let row = &first["events"][0];
        assert_eq!(row["summary"], "user.lifecycle.create · User 6");
        assert_eq!(
            row["source"],
            captures[6].source.as_str(),
            "each row names its source"
        );
        assert_eq!(row["status_class"], "2xx");
        assert_eq!(row["duration_ms"], 2.0);
    })
    .await
}

#[tokio::test]
async fn filters_by_status_class_event_type_and_search() {
    within(async {
        let a = okta_event(1, "user.lifecycle.create", "Ada Lovelace", 200);
        let b = okta_event(2, "user.lifecycle.deactivate", "Bob Marley", 500);
        let c = okta_event(3, "user.session.start", "Cy Twombly", 404);
        let mut d = capture(
            4,
            "/other/path",
            "plain text mentioning user.lifecycle.create".into(),
            201,
        );
        d.request.headers.clear();
        let r = start(&[a.clone(), b.clone(), c.clone(), d.clone()], None).await;
        let q = |path: &'static str| {
            let r = &r;
            async move { ids(&get(r, path).await.json()) }
        };
        assert_eq!(q("/api/events?status=5xx").await, vec![b.id.to_string()]);
        assert_eq!(
            q("/api/events?status=4xx,5xx").await,
            vec![c.id.to_string(), b.id.to_string()]
        );
        // The type filter checks the Okta JSON, not just the text: `d` only mentions it.
        assert_eq!(
            q("/api/events?type=user.lifecycle.create").await,
            vec![a.id.to_string()]
        );
        assert_eq!(
            q("/api/events?q=bob%20marley").await,
            vec![b.id.to_string()]
        );
        assert_eq!(q("/api/events?q=other/pa").await, vec![d.id.to_string()]);
        assert_eq!(q("/api/events?q=404").await, vec![c.id.to_string()]);
        assert_eq!(
            q("/api/events?q=session.start").await,
            vec![c.id.to_string()]
        );
        assert_eq!(
            q("/api/events?q=Lovelace&status=5xx").await,
            Vec::<String>::new()
        );
        let bad = get(&r, "/api/events?status=7xx").await;
        assert_eq!(bad.status, 400);
        assert_eq!(bad.json()["field"], "status");
    })
    .await
}

#[tokio::test]
async fn detail_keeps_header_order_and_duplicates_and_unknown_ids_are_404_json() {
    within(async {
        let mut c = okta_event(10, "user.lifecycle.create", "Ada Lovelace", 200);
        c.request.query = Some("a=1&a=2".into());
        let mut bin = capture(11, "/bin", vec![0u8, 159, 146, 150].into(), 200);
        bin.request.headers.clear();
        let r = start(&[c.clone(), bin.clone()], None).await;
        let v = get(&r, &format!("/api/events/{}", c.id)).await.json();
        assert_eq!(v["id"], c.id.to_string());
        assert_eq!(v["path"], "/hook?a=1&a=2");
        assert_eq!(
            v["request"]["headers"],
            json!([
                ["content-type", "application/json"],
                ["x-dup", "one"],
                ["authorization", "Basic abc"],
                ["x-dup", "two"]
            ])
        );
        assert_eq!(v["request"]["body"]["kind"], "json");
        assert!(v["request"]["body"]["data"]
            .as_str()
            .expect("text")
            .contains("Ada Lovelace"));
        assert_eq!(v["response"]["status"], 200);
        assert_eq!(v["okta"]["target_names"], json!(["Ada Lovelace"]));
        assert!(v["curl"]
            .as_str()
            .expect("curl")
            .starts_with("curl -X 'POST'"));
        let b = get(&r, &format!("/api/events/{}", bin.id)).await.json();
        assert_eq!(b["request"]["body"]["kind"], "binary");
        assert_eq!(b["request"]["body"]["data"]["b64"], "AJ+Slg==");
        let raw = get(&r, &format!("/api/events/{}/body/request", bin.id)).await;
        assert_eq!(&raw.body[..], &[0u8, 159, 146, 150]);
        assert_eq!(raw.header("content-type"), Some("application/octet-stream"));

        for path in [
            format!("/api/events/{}", shared::EventId::new()),
            "/api/events/not-an-id".to_string(),
            format!("/api/events/{}/replay", shared::EventId::new()),
        ] {
            let method_post = path.ends_with("replay");
            let a = if method_post {
                post(&r, &path, b"").await
            } else {
                get(&r, &path).await
            };
            assert_eq!(a.status, 404, "{path}");
            assert!(a.json()["error"]
                .as_str()
                .expect("error")
                .contains("no capture"));
        }
    })
    .await
}

#[tokio::test]
async fn replay_sends_the_request_again_and_links_the_new_capture() {
    within(async {
        let (port, mut seen) = spawn_target().await;
        let c = okta_event(20, "user.lifecycle.create", "Ada Lovelace", 200);
        let target = Target::parse(&port.to_string(), "/okta-webhooks-endpoint").expect("target");
        let r = start(std::slice::from_ref(&c), Some(target)).await;
        let a = post(&r, &format!("/api/events/{}/replay", c.id), b"").await;
        assert_eq!(a.status, 201, "{:?}", String::from_utf8_lossy(&a.body));
        let v = a.json();
        assert_eq!(v["replay_of"], c.id.to_string());
        assert_eq!(v["status"], 201);
        assert_eq!(
            a.header("location"),
            Some(format!("/api/events/{}", v["id"].as_str().expect("id")).as_str())
        );
        let got = seen.recv().await.expect("delivered");
        assert_eq!(got.method, "POST");
        assert_eq!(got.uri, "/okta-webhooks-endpoint/hook");
        assert_eq!(&got.body[..], c.request.body.as_bytes());
        let dups: Vec<_> = got
            .headers
            .iter()
            .filter(|(n, _)| n == "x-dup")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(dups, ["one", "two"]);
        // The original lists its replay; the new capture is stored and first in the list.
        let orig = get(&r, &format!("/api/events/{}", c.id)).await.json();
        assert_eq!(orig["replays"], json!([v["id"]]));
        let list = get(&r, "/api/events").await.json();
        assert_eq!(list["events"][0]["id"], v["id"]);
        assert_eq!(list["events"][0]["kind"], "replay");
    })
    .await
}

#[tokio::test]
async fn edited_replay_sends_the_edit_and_bad_edits_send_nothing() {
    within(async {
        let (port, mut seen) = spawn_target().await;
        let c = okta_event(30, "user.lifecycle.create", "Ada Lovelace", 200);
        let target = Target::parse(&port.to_string(), "/base").expect("target");
        let r = start(std::slice::from_ref(&c), Some(target)).await;
        let url = format!("/api/events/{}/replay", c.id);
        for (edit, field) in [
            (json!({"method": "GE T"}), "method"),
            (json!({"headers": [["ok", "1"], ["bad name", "x"]]}), "headers[1].name"),
            (json!({"headers": [["x", "a\r\nb"]]}), "headers[0].value"),
            (json!({"path": "no-slash"}), "path"),
            (json!({"nonsense": 1}), "body"),
        ] {
            let a = post(&r, &url, edit.to_string().as_bytes()).await;
            assert_eq!(a.status, 400, "{edit}");
            assert_eq!(a.json()["field"], field, "{edit}");
        }
        assert_eq!(r.store.count().expect("count"), 1, "a refused edit records nothing");
        let edit = json!({
            "method": "PUT",
            "path": "/edited",
            "query": "x=1",
            "headers": [["content-type", "application/json"], ["x-edited", "yes"], ["x-edited", "twice"]],
            "body": "{\"edited\":\"Grace Hopper\"}",
        });
        let a = post(&r, &url, edit.to_string().as_bytes()).await;
        assert_eq!(a.status, 201);
        // The first request the target ever saw is the valid edit: the refused ones sent nothing.
        let got = seen.recv().await.expect("delivered");
        assert_eq!(got.method, "PUT");
        assert_eq!(got.uri, "/base/edited?x=1");
        assert_eq!(&got.body[..], b"{\"edited\":\"Grace Hopper\"}");
        let edited: Vec<_> = got.headers.iter().filter(|(n, _)| n == "x-edited").map(|(_, v)| v.as_str()).collect();
        assert_eq!(edited, ["yes", "twice"]);
        let v = a.json();
        assert_eq!(v["replay_of"], c.id.to_string());
        assert_eq!(v["request"]["method"], "PUT");
        assert_eq!(v["request"]["body"]["data"], "{\"edited\":\"Grace Hopper\"}");
    })
    .await
}

#[tokio::test]
async fn a_replay_to_a_target_that_is_down_is_recorded_as_failed_with_the_reason() {
    within(async {
        let port = dead_port().await;
        let c = okta_event(40, "user.lifecycle.create", "Ada Lovelace", 200);
        let target = Target::parse(&port.to_string(), "/x").expect("target");
        let r = start(std::slice::from_ref(&c), Some(target)).await;
        let a = post(&r, &format!("/api/events/{}/replay", c.id), b"").await;
        assert_eq!(a.status, 201);
        let v = a.json();
        assert_eq!(v["status_class"], "failed");
        assert!(
            v["error"]
                .as_str()
                .expect("error")
                .contains("connection refused"),
            "{v}"
        );
        let stored = get(
            &r,
            &format!("/api/events/{}", v["id"].as_str().expect("id")),
        )
        .await
        .json();
        assert_eq!(stored["status_class"], "failed");
        assert_eq!(stored["error"], v["error"]);
    })
    .await
}

/// Opens the live stream and reads it, in the background, until `marker` went by.
async fn open_stream(r: &Running, marker: &'static str) -> tokio::task::JoinHandle<String> {
    let port = r.inspector.addr.port();
    let host = r.host();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let reader = tokio::spawn(async move {
        read_stream_until(
            port,
            &host,
            "/api/stream",
            |s| s.contains(marker),
            Some(ready_tx),
        )
        .await
    });
    ready_rx.await.expect("stream open");
    reader
}

#[tokio::test]
async fn the_live_stream_sends_new_rows() {
    within(async {
        let r = start(&[], None).await;
        let reader = open_stream(&r, "Live Person").await;
        let c = okta_event(50, "user.lifecycle.create", "Live Person", 200);
        r.events
            .send(AgentEvent::Captured(Box::new(c.clone())))
            .await
            .expect("send");
        let text = reader.await.expect("reader");
        assert!(text.contains("content-type: text/event-stream"), "{text}");
        let data = text
            .lines()
            .find(|l| l.starts_with("data: ") && l.contains("Live Person"))
            .expect("row line");
        let row: Value = serde_json::from_str(&data["data: ".len()..]).expect("row JSON");
        assert_eq!(row["id"], c.id.to_string());
        assert_eq!(row["summary"], "user.lifecycle.create · Live Person");
    })
    .await
}

/// The rows in a stream's text, in the order they came.
fn stream_rows(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter(|v| v.get("id").is_some())
        .collect()
}

/// The status classes of the rows `rows` carried for `c`, in order.
fn classes_of(rows: &[Value], c: &agent::model::Capture) -> Vec<String> {
    rows.iter()
        .filter(|v| v["id"] == c.id.to_string())
        .map(|v| v["status_class"].as_str().expect("class").to_string())
        .collect()
}

#[tokio::test]
async fn the_live_stream_completes_pending_rows() {
    within(async {
        let r = start(&[], None).await;
        let whole = open_stream(&r, "Sentinel").await;
        let first = open_stream(&r, "Slow Person").await;
        let mut slow = okta_event(60, "user.lifecycle.create", "Slow Person", 200);
        let outcome = slow.outcome.take().expect("outcome");
        r.events
            .send(AgentEvent::Captured(Box::new(slow.clone())))
            .await
            .expect("send");
        // The page shows it pending as soon as it is captured...
        let rows = stream_rows(&first.await.expect("reader"));
        assert_eq!(classes_of(&rows, &slow), ["pending"]);
        r.events
            .send(AgentEvent::Notice("between".into()))
            .await
            .expect("send");
        // ...and completes it when the outcome comes.
        r.events
            .send(AgentEvent::Delivered {
                id: slow.id,
                delivered_at_ms: 61,
                answered_at_ms: 63,
                outcome,
            })
            .await
            .expect("send");
        let sentinel = okta_event(70, "user.lifecycle.create", "Sentinel", 200);
        r.events
            .send(AgentEvent::Captured(Box::new(sentinel.clone())))
            .await
            .expect("send");
        let rows = stream_rows(&whole.await.expect("reader"));
        assert_eq!(classes_of(&rows, &slow), ["pending", "2xx"]);
        assert_eq!(classes_of(&rows, &sentinel), ["2xx"]);
    })
    .await
}

#[tokio::test]
async fn under_load_the_live_stream_sends_the_newest_rows_and_asks_for_a_reload() {
    within(async {
        let r = start(&[], None).await;
        let reader = open_stream(&r, "Newest Person").await;
        let burst: Vec<_> = (0..300)
            .map(|n| okta_event(100 + n, "user.lifecycle.create", "Burst Person", 200))
            .collect();
        for c in &burst {
            r.events
                .send(AgentEvent::Captured(Box::new(c.clone())))
                .await
                .expect("send");
        }
        let newest = okta_event(500, "user.lifecycle.create", "Newest Person", 200);
        r.events
            .send(AgentEvent::Captured(Box::new(newest.clone())))
            .await
            .expect("send");
        let text = reader.await.expect("reader");
        let rows = stream_rows(&text);
        // Gathered: far fewer rows than captures, the newest among them, and a reload for
        // the rest.
        assert!(rows.len() < burst.len() / 2, "{} rows", rows.len());
        assert_eq!(classes_of(&rows, &newest), ["2xx"]);
        assert!(text.contains("event: resync"), "{text}");
    })
    .await
}

#[tokio::test]
async fn search_finds_text_in_large_and_binary_bodies() {
    within(async {
        let mut big = "x".repeat(70 * 1024);
        big.push_str("NeedleInALargeBody");
        let large = capture(1, "/large", big.into(), 200);
        let mut bytes = vec![0u8, 0xff, 0x00];
        bytes.extend_from_slice(b"needle-after-a-nul");
        let binary = capture(2, "/binary", bytes.into(), 200);
        let r = start(&[large.clone(), binary.clone()], None).await;
        let found = ids(&get(&r, "/api/events?q=needleinalargebody").await.json());
        assert_eq!(found, vec![large.id.to_string()]);
        let found = ids(&get(&r, "/api/events?q=NEEDLE-AFTER").await.json());
        assert_eq!(found, vec![binary.id.to_string()]);
        let detail = get(&r, &format!("/api/events/{}", large.id)).await.json();
        assert_eq!(
            detail["request"]["body"]["size"],
            70 * 1024 + "NeedleInALargeBody".len()
        );
    })
    .await
}
