//! Export to HAR / JSON / NDJSON and import back: lossless round trips, HAR 1.2 validity, bad input.

mod capture_fixtures;

use agent::export::{export, import, ExportFormat};
use agent::model::CaptureKind;
use capture_fixtures as fx;
use serde_json::Value;

const FORMATS: [ExportFormat; 3] = [ExportFormat::Har, ExportFormat::Json, ExportFormat::Ndjson];

#[test]
fn every_format_round_trips_losslessly() {
    let captures = fx::all();
    for format in FORMATS {
        let bytes = export(&captures, format).expect("export");
        let back = import(&bytes).unwrap_or_else(|e| panic!("import {format}: {e:#}"));
        assert_eq!(back, captures, "{format}");
    }
}

#[test]
fn empty_sets_round_trip() {
    for format in FORMATS {
        let bytes = export(&[], format).expect("export");
        assert_eq!(import(&bytes).expect("import"), vec![], "{format}");
    }
}

#[test]
fn formats_parse_by_name() {
    assert_eq!(
        "har".parse::<ExportFormat>().expect("har"),
        ExportFormat::Har
    );
    assert_eq!(
        "JSON".parse::<ExportFormat>().expect("json"),
        ExportFormat::Json
    );
    assert_eq!(
        "ndjson".parse::<ExportFormat>().expect("ndjson"),
        ExportFormat::Ndjson
    );
    let err = "xml"
        .parse::<ExportFormat>()
        .expect_err("unknown")
        .to_string();
    assert!(err.contains("har, json or ndjson"), "{err}");
    assert_eq!(ExportFormat::Har.to_string(), "har");
}

#[test]
fn ndjson_is_one_capture_per_line() {
    let bytes = export(&fx::all(), ExportFormat::Ndjson).expect("export");
    let text = String::from_utf8(bytes).expect("utf-8");
    assert_eq!(text.lines().count(), 4);
    for line in text.lines() {
        serde_json::from_str::<Value>(line).expect("each line is JSON");
    }
    // A single line that is not HAR still imports.
    let first = text.lines().next().expect("a line");
    assert_eq!(
        import(first.as_bytes()).expect("import"),
        vec![fx::delivered()]
    );
}

fn need(problems: &mut Vec<String>, v: &Value, path: &str, field: &str, ok: fn(&Value) -> bool) {
    match v.get(field) {
        Some(x) if ok(x) => {}
        Some(x) => problems.push(format!("{path}.{field} has the wrong type: {x}")),
        None => problems.push(format!("{path}.{field} is missing")),
    }
}

/// Checks the fields and types HAR 1.2 requires; returns every problem found.
fn har_problems(doc: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let s = Value::is_string as fn(&Value) -> bool;
    let n = Value::is_number as fn(&Value) -> bool;
    let a = Value::is_array as fn(&Value) -> bool;
    let o = Value::is_object as fn(&Value) -> bool;
    need(&mut problems, doc, "", "log", o);
    let log = &doc["log"];
    need(&mut problems, log, "log", "version", s);
    need(&mut problems, log, "log", "creator", o);
    need(&mut problems, &log["creator"], "log.creator", "name", s);
    need(&mut problems, &log["creator"], "log.creator", "version", s);
    need(&mut problems, log, "log", "entries", a);
    for (i, e) in log["entries"].as_array().into_iter().flatten().enumerate() {
        let p = format!("entries[{i}]");
        for (f, t) in [
            ("startedDateTime", s),
            ("time", n),
            ("request", o),
            ("response", o),
        ] {
            need(&mut problems, e, &p, f, t);
        }
        need(&mut problems, e, &p, "cache", o);
        need(&mut problems, e, &p, "timings", o);
        for f in ["send", "wait", "receive"] {
            need(&mut problems, &e["timings"], &format!("{p}.timings"), f, n);
        }
        let started = e["startedDateTime"].as_str().unwrap_or("");
        if time::OffsetDateTime::parse(started, &time::format_description::well_known::Rfc3339)
            .is_err()
        {
            problems.push(format!("{p}.startedDateTime is not ISO 8601: {started}"));
        }
        let rq = &e["request"];
        let rp = format!("{p}.request");
        for (f, t) in [
            ("method", s),
            ("url", s),
            ("httpVersion", s),
            ("cookies", a),
        ] {
            need(&mut problems, rq, &rp, f, t);
        }
        for (f, t) in [
            ("headers", a),
            ("queryString", a),
            ("headersSize", n),
            ("bodySize", n),
        ] {
            need(&mut problems, rq, &rp, f, t);
        }
        if let Some(post) = rq.get("postData") {
            need(
                &mut problems,
                post,
                &format!("{rp}.postData"),
                "mimeType",
                s,
            );
            need(&mut problems, post, &format!("{rp}.postData"), "text", s);
        }
        let rs = &e["response"];
        let sp = format!("{p}.response");
        for (f, t) in [
            ("status", n),
            ("statusText", s),
            ("httpVersion", s),
            ("cookies", a),
        ] {
            need(&mut problems, rs, &sp, f, t);
        }
        for (f, t) in [("headers", a), ("content", o), ("redirectURL", s)] {
            need(&mut problems, rs, &sp, f, t);
        }
        need(&mut problems, rs, &sp, "headersSize", n);
        need(&mut problems, rs, &sp, "bodySize", n);
        need(
            &mut problems,
            &rs["content"],
            &format!("{sp}.content"),
            "size",
            n,
        );
        need(
            &mut problems,
            &rs["content"],
            &format!("{sp}.content"),
            "mimeType",
            s,
        );
        for list in [&rq["headers"], &rq["queryString"], &rs["headers"]] {
            for (j, h) in list.as_array().into_iter().flatten().enumerate() {
                need(
                    &mut problems,
                    h,
                    &format!("{p} header/param {j}"),
                    "name",
                    s,
                );
                need(
                    &mut problems,
                    h,
                    &format!("{p} header/param {j}"),
                    "value",
                    s,
                );
            }
        }
        for (k, _) in e.as_object().into_iter().flatten() {
            let standard = [
                "startedDateTime",
                "time",
                "request",
                "response",
                "cache",
                "timings",
            ];
            if !standard.contains(&k.as_str())
                && !k.starts_with('_')
                && k != "pageref"
                && k != "serverIPAddress"
                && k != "connection"
                && k != "comment"
            {
                problems.push(format!("{p}.{k} is not a HAR field and has no leading _"));
            }
        }
    }
    problems
}

#[test]
fn har_has_every_required_field() {
    let bytes = export(&fx::all(), ExportFormat::Har).expect("export");
    let doc: Value = serde_json::from_slice(&bytes).expect("valid JSON");
    assert_eq!(har_problems(&doc), Vec::<String>::new());
    assert_eq!(doc["log"]["version"], "1.2");
    assert_eq!(doc["log"]["creator"]["name"], "hookrelay");
    assert_eq!(doc["log"]["pages"], Value::Array(vec![]));
    // The validator itself can fail.
    let mut broken = doc.clone();
    broken["log"]["entries"][0]["request"]
        .as_object_mut()
        .expect("object")
        .remove("url");
    assert_eq!(
        har_problems(&broken),
        vec!["entries[0].request.url is missing".to_string()]
    );
}

#[test]
fn har_standard_fields_say_what_happened() {
    let bytes = export(&fx::all(), ExportFormat::Har).expect("export");
    let doc: Value = serde_json::from_slice(&bytes).expect("valid JSON");
    let e = &doc["log"]["entries"];
    let delivered = &e[0];
    assert_eq!(delivered["startedDateTime"], "2025-11-24T16:00:00.123Z");
    assert_eq!(delivered["request"]["url"], fx::delivered().target_url);
    assert_eq!(delivered["request"]["method"], "POST");
    assert_eq!(delivered["request"]["postData"]["encoding"], "base64");
    assert_eq!(
        delivered["request"]["postData"]["mimeType"],
        "application/octet-stream"
    );
    assert_eq!(delivered["request"]["bodySize"], 512);
    let names: Vec<&str> = delivered["request"]["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .map(|h| h["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["content-type", "x-dup", "x-raw", "x-dup", "X-Case"]);
    assert_eq!(
        delivered["request"]["headers"][2]["_hookrelayBase64"],
        "//5hgA=="
    );
    let query: Vec<(&str, &str)> = delivered["request"]["queryString"]
        .as_array()
        .expect("query")
        .iter()
        .map(|q| {
            (
                q["name"].as_str().expect("name"),
                q["value"].as_str().expect("value"),
            )
        })
        .collect();
    assert_eq!(query, [("a", "1"), ("b", "x y"), ("a", "2"), ("flag", "")]);
    assert_eq!(delivered["response"]["status"], 200);
    assert_eq!(delivered["response"]["statusText"], "OK");
    assert_eq!(delivered["response"]["content"]["encoding"], "base64");
    assert_eq!(delivered["time"], 20.345);
    assert_eq!(delivered["_hookrelay"]["seq"], 41);

    let failed = &e[1];
    assert_eq!(failed["response"]["status"], 0);
    assert_eq!(
        failed["request"]["postData"]["text"],
        fx::failed().request.body.as_str().expect("text")
    );
    assert!(failed["request"]["postData"].get("encoding").is_none());
    assert_eq!(failed["_hookrelay"]["outcome"]["error"]["kind"], "refused");

    let pending = &e[2];
    assert_eq!(pending["response"]["status"], 0);
    assert!(pending["request"].get("postData").is_none());
    assert_eq!(pending["_hookrelay"]["outcome"], Value::Null);
}

#[test]
fn foreign_har_imports_from_standard_fields() {
    let har = r#"{"log":{"version":"1.2","creator":{"name":"Chrome","version":"1"},"entries":[
      {"startedDateTime":"2024-01-02T03:04:05.678Z","time":12.5,
       "request":{"method":"POST","url":"https://example.com/hook/x?a=1#frag","httpVersion":"HTTP/1.1",
         "cookies":[],"headers":[{"name":"Content-Type","value":"text/plain"}],"queryString":[],
         "postData":{"mimeType":"text/plain","text":"aGk=","encoding":"base64"},"headersSize":-1,"bodySize":2},
       "response":{"status":201,"statusText":"Created","httpVersion":"HTTP/1.1","cookies":[],
         "headers":[],"content":{"size":2,"mimeType":"text/plain","text":"ok"},"redirectURL":"",
         "headersSize":-1,"bodySize":2},
       "cache":{},"timings":{"send":0,"wait":12.5,"receive":0}}]}}"#;
    let got = import(har.as_bytes()).expect("import");
    assert_eq!(got.len(), 1);
    let c = &got[0];
    assert_eq!(c.kind, CaptureKind::Imported);
    assert_eq!(c.received_at_ms, 1_704_164_645_678);
    assert_eq!(c.request.path, "/hook/x");
    assert_eq!(c.request.query.as_deref(), Some("a=1"));
    assert_eq!(c.request.body.as_bytes(), b"hi");
    assert_eq!(c.status(), Some(201));
    assert_eq!(c.outcome.as_ref().expect("outcome").duration_us(), 12_500);
    assert_eq!(c.target_url, "https://example.com/hook/x?a=1#frag");

    // A sparse entry without an answer still imports, as a failed delivery.
    let sparse = r#"{"log":{"entries":[{"request":{"method":"GET","url":"http://h"},
        "response":{"status":-1}}]}}"#;
    let got = import(sparse.as_bytes()).expect("import sparse");
    assert_eq!(got[0].request.path, "");
    assert_eq!(got[0].status(), None);
    assert!(got[0].outcome.as_ref().expect("outcome").error().is_some());
}

#[test]
fn own_har_with_a_response_but_no_status_is_an_error() {
    let bytes = export(&[fx::delivered()], ExportFormat::Har).expect("export");
    let mut doc: Value = serde_json::from_slice(&bytes).expect("json");
    doc["log"]["entries"][0]["response"]["status"] = 0.into();
    let msg = format!(
        "{:#}",
        import(doc.to_string().as_bytes()).expect_err("no status")
    );
    assert!(
        msg.contains("HAR entry 0") && msg.contains("not a status code"),
        "{msg}"
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    let cases: [(&[u8], &str); 10] = [
        (b"hello", "not a capture file"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"[1, 2]", "JSON array of captures"),
        (b"[{\"id\": 3}", "JSON array of captures"),
        (b"{\"log\": 3}", "no \"log\" object"),
        (b"{\"log\": {\"entries\": {}}}", "not an array"),
        (b"{\"log\": {\"entries\": [{\"time\": 1}]}}", "HAR entry 0"),
        (b"{\"a\": 1}\n", "NDJSON line 1"),
        (b"{\"a\": 1", "NDJSON line 1"),
        (b"42", "not a capture file"),
    ];
    for (input, want) in cases {
        let err = import(input).expect_err("bad input");
        let msg = format!("{err:#}");
        assert!(
            msg.contains(want),
            "{:?}: {msg}",
            String::from_utf8_lossy(input)
        );
    }
    // Broken base64 inside an otherwise valid HAR names the field.
    let bytes = export(&[fx::delivered()], ExportFormat::Har).expect("export");
    let mut doc: Value = serde_json::from_slice(&bytes).expect("json");
    doc["log"]["entries"][0]["request"]["postData"]["text"] = "!!".into();
    let msg = format!(
        "{:#}",
        import(doc.to_string().as_bytes()).expect_err("bad base64")
    );
    assert!(msg.contains("postData"), "{msg}");
    // A bad line among good ones names its line number.
    let mut nd = export(&fx::all(), ExportFormat::Ndjson).expect("export");
    nd.extend_from_slice(b"{\"id\": \"nope\"}\n");
    let msg = format!("{:#}", import(&nd).expect_err("bad line"));
    assert!(msg.contains("NDJSON line 5"), "{msg}");
}
