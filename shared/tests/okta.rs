//! Okta helpers: summaries of every body shape, dedup keys, verification and inline reply checks.

use serde_json::{json, Value};
use shared::okta::{
    check_inline_response, check_verification_response, dedup_keys, summarize,
    verification_response, DedupKeys, Summary, VERIFICATION_HEADER,
};

fn event(ty: &str, uuid: &str, target: Option<(&str, &str)>) -> Value {
    let mut e = json!({
        "uuid": uuid,
        "published": "2020-11-16T18:15:12.862Z",
        "eventType": ty,
        "version": "0",
        "actor": {"id": "00u1", "type": "User", "alternateId": "admin@example.com", "displayName": "Admin Name"},
    });
    if let Some((t, name)) = target {
        e["target"] = json!([{"id": "00u2", "type": t, "alternateId": "x", "displayName": name}]);
    }
    e
}

fn envelope(events: Vec<Value>) -> Value {
    json!({
        "eventType": "com.okta.event_hook",
        "eventTypeVersion": "1.0",
        "cloudEventsVersion": "0.1",
        "source": "https://dev-1.okta.com/api/v1/eventHooks/who1",
        "eventId": "85b60edb-4263-4e13-993b-818e26201052",
        "eventTime": "2023-03-28T17:03:37.093Z",
        "contentType": "application/json",
        "data": {"events": events},
    })
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("serialise")
}

#[test]
fn verification_header_is_lower_case() {
    assert_eq!(VERIFICATION_HEADER, "x-okta-verification-challenge");
}

#[test]
fn summarises_the_guide_deactivation() {
    let body = envelope(vec![event(
        "user.lifecycle.deactivate",
        "ab62c0bc-2837-11eb-9823-9fb8f750c5a9",
        Some(("User", "John Doe")),
    )]);
    let s = summarize(&bytes(&body)).expect("okta body");
    assert!(!s.is_inline());
    assert_eq!(s.one_line(), "user.lifecycle.deactivate · John Doe");
    assert_eq!(
        s.event_id.as_deref(),
        Some("85b60edb-4263-4e13-993b-818e26201052")
    );
    assert_eq!(s.uuids, vec!["ab62c0bc-2837-11eb-9823-9fb8f750c5a9"]);
}

#[test]
fn summarises_a_batch() {
    let body = envelope(vec![
        event("user.session.start", "u1", Some(("User", "A"))),
        event("user.session.start", "u2", Some(("User", "B"))),
        event("user.session.start", "u3", Some(("User", "A"))),
    ]);
    let s = summarize(&bytes(&body)).expect("okta body");
    assert_eq!(s.one_line(), "user.session.start +2 · A, B");
    assert_eq!(s.uuids, vec!["u1", "u2", "u3"]);
}

#[test]
fn big_batch_keeps_three_names() {
    let events = (0..50)
        .map(|i| {
            event(
                "user.session.start",
                &format!("u{i}"),
                Some(("User", &format!("N{i}"))),
            )
        })
        .collect();
    let s = summarize(&bytes(&envelope(events))).expect("okta body");
    assert_eq!(s.one_line(), "user.session.start +49 · N0, N1, N2");
    assert_eq!(s.uuids.len(), 50);
}

#[test]
fn prefers_the_user_target_then_first_target_then_actor() {
    let mut e = event("user.session.start", "u1", None);
    e["target"] = json!([
        {"type": "AuthenticatorEnrollment", "displayName": "Password"},
        {"type": "User", "displayName": "Jane Roe"},
    ]);
    let s = summarize(&bytes(&envelope(vec![e]))).expect("okta body");
    assert_eq!(s.target_names, vec!["Jane Roe"]);

    let e = event(
        "group.lifecycle.create",
        "u1",
        Some(("UserGroup", "Engineering")),
    );
    let s = summarize(&bytes(&envelope(vec![e]))).expect("okta body");
    assert_eq!(s.target_names, vec!["Engineering"]);

    let e = event("system.api_token.create", "u1", None);
    let s = summarize(&bytes(&envelope(vec![e]))).expect("okta body");
    assert_eq!(s.one_line(), "system.api_token.create · Admin Name");
}

#[test]
fn tolerates_old_and_odd_envelopes() {
    let mut body = envelope(vec![event("user.lifecycle.create", "u1", None)]);
    let obj = body.as_object_mut().expect("object");
    let id = obj.remove("eventId").expect("eventId");
    obj.insert("eventID".into(), id);
    obj.insert("eventTypeVersion".into(), json!(1.0));
    obj.remove("cloudEventsVersion");
    let s = summarize(&bytes(&body)).expect("okta body");
    assert_eq!(
        s.event_id.as_deref(),
        Some("85b60edb-4263-4e13-993b-818e26201052")
    );
    assert_eq!(s.event_types, vec!["user.lifecycle.create"]);

    let s = summarize(&bytes(&envelope(vec![]))).expect("empty batch");
    assert_eq!(s.one_line(), "com.okta.event_hook");
    assert!(s.uuids.is_empty());

    let no_data = json!({"eventType": "com.okta.event_hook", "eventId": 42});
    let s = summarize(&bytes(&no_data)).expect("no data");
    assert_eq!(s.event_id.as_deref(), Some("42"));

    let weird = json!({"eventType": "com.okta.event_hook", "data": {"events": [1, "x", null, {"target": 5}]}});
    let s = summarize(&bytes(&weird)).expect("weird events");
    assert!(s.event_types.is_empty() && s.target_names.is_empty());
}

#[test]
fn summarises_a_bare_log_event() {
    let e = event(
        "user.lifecycle.deactivate",
        "u1",
        Some(("User", "John Doe")),
    );
    let s = summarize(&bytes(&e)).expect("bare LogEvent");
    assert_eq!(s.one_line(), "user.lifecycle.deactivate · John Doe");
    assert_eq!(s.uuids, vec!["u1"]);
    assert!(!s.is_inline());
    assert_eq!(s.hook_type, None);
}

#[test]
fn rejects_what_is_not_an_okta_hook() {
    for body in [
        &b""[..],
        b"not json",
        b"[1,2,3]",
        b"\"str\"",
        b"{}",
        b"{\"hello\":1}",
        b"\xff\xfe\x00",
    ] {
        assert_eq!(summarize(body), None, "{body:?}");
    }
}

#[test]
fn summarises_inline_hooks() {
    let body = json!({
        "eventType": "com.okta.oauth2.tokens.transform",
        "eventTypeVersion": "1.0",
        "cloudEventVersion": 0.1,
        "eventId": "e1",
        "data": {"context": {"user": {"profile": {"login": "john.doe@example.com"}}}},
    });
    let s = summarize(&bytes(&body)).expect("inline body");
    assert!(s.is_inline());
    assert_eq!(
        s.one_line(),
        "com.okta.oauth2.tokens.transform · john.doe@example.com"
    );

    let body = json!({"eventType": "com.okta.user.pre-registration", "data": {"userProfile": {"login": "a@b.c"}}});
    let s = summarize(&bytes(&body)).expect("inline body");
    assert_eq!(s.one_line(), "com.okta.user.pre-registration · a@b.c");
}

#[test]
fn one_line_of_an_empty_summary_is_empty() {
    assert_eq!(Summary::default().one_line(), "");
    assert!(!Summary::default().is_inline());
}

#[test]
fn dedup_keys_cover_both_spellings() {
    let body = envelope(vec![
        event("user.session.start", "u1", None),
        event("user.session.end", "u2", None),
    ]);
    assert_eq!(
        dedup_keys(&bytes(&body)),
        DedupKeys {
            hook_type: Some("com.okta.event_hook".into()),
            event_id: Some("85b60edb-4263-4e13-993b-818e26201052".into()),
            uuids: vec!["u1".into(), "u2".into()],
        }
    );
    let old = json!({"eventID": "old", "data": {"events": [{"uuid": "x"}]}});
    assert_eq!(dedup_keys(&bytes(&old)).event_id.as_deref(), Some("old"));
    assert_eq!(dedup_keys(b"garbage"), DedupKeys::default());
    assert_eq!(dedup_keys(b"[]"), DedupKeys::default());
}

#[test]
fn verification_response_is_exact_and_escaped() {
    assert_eq!(verification_response("abc"), br#"{"verification":"abc"}"#);
    let tricky = "a\"b\\c\n\u{1}é";
    let body = verification_response(tricky);
    let v: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(v["verification"], tricky);
    assert_eq!(
        check_verification_response(tricky, 200, Some("application/json"), &body),
        Ok(())
    );
}

#[test]
fn verification_check_explains_each_failure() {
    let ok = verification_response("c1");
    let json = Some("application/json; charset=utf-8");
    assert_eq!(check_verification_response("c1", 200, json, &ok), Ok(()));
    let cases: Vec<(u16, Option<&str>, &[u8], &str)> = vec![
        (500, json, &ok, "status 500"),
        (204, json, b"", "status 204"),
        (200, None, &ok, "no content-type"),
        (200, Some("text/plain"), &ok, "text/plain"),
        (200, json, b"c1", "not JSON"),
        (200, json, b"[]", "not a JSON object"),
        (200, json, br#"{"verification":"c2"}"#, "wrong challenge"),
        (200, json, br#"{"verification":1}"#, "not a string"),
        (200, json, br#"{"challenge":"c1"}"#, "no \"verification\""),
        (
            200,
            json,
            br#"{"verification":"c1","x":1}"#,
            "unexpected keys",
        ),
    ];
    for (status, ct, body, want) in cases {
        let err = check_verification_response("c1", status, ct, body).expect_err(want);
        assert!(err.contains(want), "{err:?} should mention {want:?}");
    }
}

#[test]
fn inline_reply_of_the_right_shape_has_no_warnings() {
    let good = json!({
        "commands": [
            {"type": "com.okta.identity.patch", "value": [{"op": "add", "path": "/claims/x", "value": "y"}]},
            {"type": "com.okta.action.update", "value": {"registration": "ALLOW"}},
        ],
        "error": {"errorSummary": "nope", "errorCauses": []},
        "debugContext": {"why": "test"},
    });
    assert_eq!(check_inline_response(&bytes(&good)), Vec::<String>::new());
    assert!(check_inline_response(b"").is_empty());
    assert!(check_inline_response(b"  \n").is_empty());
}

#[test]
fn inline_reply_warnings_are_readable() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"ok".to_vec(), "not JSON"),
        (b"[]".to_vec(), "needs an object"),
        (b"{}".to_vec(), "Okta will change nothing"),
        (br#"{"commands":{}}"#.to_vec(), "not an array"),
        (br#"{"commands":[1]}"#.to_vec(), "commands[0] is a number"),
        (br#"{"commands":[{"value":1}]}"#.to_vec(), "has no \"type\""),
        (br#"{"commands":[{"type":"x","value":1}]}"#.to_vec(), "not a command type"),
        (br#"{"commands":[{"type":"com.okta.action.update"}]}"#.to_vec(), "has no \"value\""),
        (br#"{"commands":[{"type":"com.okta.access.patch","value":{}}]}"#.to_vec(), "patch operations"),
        (br#"{"commands":[{"type":"com.okta.access.patch","value":[{"op":"move","path":"/a"}]}]}"#.to_vec(), "\"move\""),
        (br#"{"commands":[],"extra":1}"#.to_vec(), "unknown top-level key \"extra\""),
        (br#"{"error":"bad"}"#.to_vec(), "\"error\" is a string"),
        (br#"{"commands":[],"debugContext":[]}"#.to_vec(), "\"debugContext\" is an array"),
    ];
    for (body, want) in cases {
        let w = check_inline_response(&body);
        assert!(
            w.iter().any(|x| x.contains(want)),
            "{:?}: {w:?} should mention {want:?}",
            String::from_utf8_lossy(&body)
        );
    }
}

#[test]
fn inline_reply_over_256_kb_warns() {
    let big = json!({"commands": [], "debugContext": {"pad": "x".repeat(300 * 1024)}});
    let w = check_inline_response(&bytes(&big));
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("256 KB"));
}

#[test]
fn deep_and_huge_input_does_not_panic() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(summarize(deep.as_bytes()), None);
    let deep_obj = format!(
        r#"{{"eventType":"com.okta.event_hook","data":{}{}}}"#,
        r#"{"a":"#.repeat(5_000),
        "}".repeat(5_000)
    );
    assert_eq!(summarize(deep_obj.as_bytes()), None);
    assert!(!check_inline_response(deep.as_bytes()).is_empty());
    assert_eq!(dedup_keys(deep.as_bytes()), DedupKeys::default());
}

/// A tiny deterministic RNG so the fuzz-ish loop needs no crate and always tests the same inputs.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_and_mutated_bytes_never_panic() {
    let seed = bytes(&envelope(vec![
        event("user.session.start", "u1", Some(("User", "A"))),
        event("group.user_membership.add", "u2", Some(("UserGroup", "B"))),
    ]));
    let alphabet = b"{}[]\",:0123456789.eE-+truefalsnul \\/u\xff\x00";
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut parsed = 0;
    for _ in 0..3_000 {
        let mut body = seed.clone();
        for _ in 0..=rng.below(8) {
            let at = rng.below(body.len().max(1));
            match rng.below(4) {
                0 if !body.is_empty() => {
                    body.remove(at);
                }
                1 => body.insert(at.min(body.len()), alphabet[rng.below(alphabet.len())]),
                2 if !body.is_empty() => body[at] = alphabet[rng.below(alphabet.len())],
                _ => body.truncate(at),
            }
        }
        if let Some(s) = summarize(&body) {
            parsed += 1;
            let _ = s.one_line();
        }
        let _ = dedup_keys(&body);
        let _ = check_inline_response(&body);
        let _ = check_verification_response("c", 200, Some("application/json"), &body);
    }
    for _ in 0..2_000 {
        let len = rng.below(64);
        let body: Vec<u8> = (0..len)
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect();
        let _ = summarize(&body).map(|s| s.one_line());
        let _ = dedup_keys(&body);
        let _ = check_inline_response(&body);
    }
    // Some mutations must leave the JSON intact, or the loop only ever tested the error path.
    assert!(parsed > 50, "only {parsed} mutated bodies parsed");
}

#[test]
fn sign_in_events_are_about_the_actor_not_the_credential() {
    let body = br#"{"eventType":"com.okta.event_hook","eventId":"e","data":{"events":[{"eventType":"user.session.start","actor":{"type":"User","displayName":"Admin Name"},"target":[{"type":"AuthenticatorEnrollment","displayName":"Password"},{"type":"AppInstance","displayName":"Okta Admin Console"}]}]}}"#;
    let s = shared::okta::summarize(body).expect("summary");
    assert_eq!(s.one_line(), "user.session.start · Admin Name");
}
