//! The Okta kit's payloads for every published event type: parseable, summarisable, complete.

use agent::okta_kit::{
    build_trigger_request, event_hook_body, event_types, okta_headers, target_types,
    TriggerOptions, DEFAULT_HOOK_ID,
};
use serde_json::Value;
use std::collections::HashSet;

const ENVELOPE: &[&str] = &[
    "eventType",
    "eventTypeVersion",
    "cloudEventsVersion",
    "source",
    "eventId",
    "eventTime",
    "contentType",
];

const LOG_EVENT: &[&str] = &[
    "uuid",
    "published",
    "eventType",
    "version",
    "displayMessage",
    "severity",
    "actor",
    "client",
    "outcome",
    "target",
    "transaction",
    "debugContext",
    "legacyEventType",
    "authenticationContext",
    "securityContext",
    "request",
];

fn is_okta_time(s: &str) -> bool {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
        && s.ends_with('Z')
        && s.len() == "2023-03-28T17:03:37.093Z".len()
}

#[test]
fn every_event_type_makes_a_complete_summarisable_payload() {
    let opts = TriggerOptions::default();
    let mut event_ids = HashSet::new();
    let mut uuids = HashSet::new();
    for ty in event_types() {
        let body = event_hook_body(&[ty], &opts);
        let bytes = serde_json::to_vec(&body).expect("serialise");
        let v: Value = serde_json::from_slice(&bytes).expect("parse");

        for key in ENVELOPE {
            assert!(v[key].is_string(), "{ty}: envelope {key}");
        }
        assert_eq!(v["eventType"], "com.okta.event_hook");
        assert_eq!(v["eventTypeVersion"], "1.0");
        assert_eq!(v["cloudEventsVersion"], "0.1");
        assert_eq!(v["contentType"], "application/json");
        assert_eq!(
            v["source"],
            format!("https://{}/api/v1/eventHooks/{}", opts.org, opts.hook_id)
        );
        assert!(
            is_okta_time(v["eventTime"].as_str().unwrap_or_default()),
            "{ty}: eventTime"
        );

        let events = v["data"]["events"].as_array().expect("data.events");
        assert_eq!(events.len(), 1, "{ty}");
        let e = &events[0];
        for key in LOG_EVENT {
            assert!(e.get(*key).is_some(), "{ty}: event {key}");
        }
        assert!(
            is_okta_time(e["published"].as_str().unwrap_or_default()),
            "{ty}: published"
        );
        assert!(
            e["displayMessage"].as_str().is_some_and(|m| !m.is_empty()),
            "{ty}"
        );
        for key in [
            "userAgent",
            "zone",
            "device",
            "ipAddress",
            "geographicalContext",
        ] {
            assert!(e["client"].get(key).is_some(), "{ty}: client.{key}");
        }
        assert!(
            e["request"]["ipChain"][0]["ip"].is_string(),
            "{ty}: ipChain"
        );
        assert!(
            e["debugContext"]["debugData"]["requestId"].is_string(),
            "{ty}"
        );

        let targets = e["target"].as_array().expect("target[]");
        let got: Vec<&str> = targets.iter().filter_map(|t| t["type"].as_str()).collect();
        assert_eq!(got, target_types(ty), "{ty}: target types");
        for t in targets {
            for key in ["id", "type", "alternateId", "displayName"] {
                assert!(t[key].is_string(), "{ty}: target.{key}");
            }
        }

        let s = shared::okta::summarize(&bytes).expect("summarisable");
        assert_eq!(s.event_types, vec![ty.to_string()]);
        assert!(!s.is_inline());
        assert!(!s.target_names.is_empty(), "{ty}: {}", s.one_line());
        assert!(s.one_line().starts_with(ty), "{}", s.one_line());

        let id = s.event_id.clone().expect("eventId");
        assert!(
            uuid::Uuid::parse_str(&id).is_ok(),
            "{ty}: eventId is a UUID"
        );
        assert!(event_ids.insert(id), "{ty}: eventId reused");
        for u in s.uuids {
            assert!(uuids.insert(u), "{ty}: uuid reused");
        }
    }
    assert_eq!(event_ids.len(), 264);
}

#[test]
fn a_batch_summarises_as_okta_would_show_it() {
    let opts = TriggerOptions {
        user: Some("John Doe".into()),
        ..TriggerOptions::default()
    };
    let body = event_hook_body(
        &[
            "user.session.start",
            "user.session.start",
            "user.session.end",
        ],
        &opts,
    );
    let req = build_trigger_request(&body, okta_headers(DEFAULT_HOOK_ID, None));
    let s = shared::okta::summarize(req.body.as_bytes()).expect("summary");
    assert_eq!(s.one_line(), "user.session.start +2 · John Doe");
    assert_eq!(s.uuids.len(), 3);
    let keys = shared::okta::dedup_keys(req.body.as_bytes());
    assert_eq!(keys.uuids, s.uuids);
    assert_eq!(keys.event_id, s.event_id);
}

#[test]
fn the_guide_example_reads_like_the_guide() {
    let opts = TriggerOptions {
        user: Some("John Doe".into()),
        ..TriggerOptions::default()
    };
    let body = event_hook_body(&["user.lifecycle.deactivate"], &opts);
    let e = &body["data"]["events"][0];
    assert_eq!(e["target"][0]["displayName"], "John Doe");
    assert_eq!(e["target"][0]["alternateId"], "john.doe@example.com");
    assert_eq!(e["displayMessage"], "Deactivate Okta User");
    assert_eq!(e["legacyEventType"], "core.user.config.user_deactivated");
    let bytes = serde_json::to_vec(&body).expect("serialise");
    let s = shared::okta::summarize(&bytes).expect("summary");
    assert_eq!(s.one_line(), "user.lifecycle.deactivate · John Doe");
}

#[test]
fn names_vary_between_calls() {
    let opts = TriggerOptions::default();
    let names: HashSet<String> = (0..40)
        .map(|_| {
            let b = event_hook_body(&["user.lifecycle.create"], &opts);
            b["data"]["events"][0]["target"][0]["displayName"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert!(names.len() > 5, "{names:?}");
}
