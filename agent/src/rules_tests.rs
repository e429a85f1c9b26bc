//! Route and filter parsing and matching.

use super::*;
use shared::{Blob, Header};

fn okta(types: &[&str]) -> HttpRequest {
    let events: Vec<_> = types
        .iter()
        .map(|t| serde_json::json!({"eventType": t, "outcome": {"result": "SUCCESS"}}))
        .collect();
    let body = serde_json::json!({"eventType": "com.okta.event_hook", "data": {"events": events}});
    HttpRequest {
        method: "POST".into(),
        path: String::new(),
        query: None,
        headers: vec![Header::new("x-team", "blue")],
        body: Blob::from(body.to_string().into_bytes()),
    }
}

fn default_target() -> Target {
    Target::parse("1337", "/okta").expect("target")
}

#[test]
fn globs() {
    assert!(glob_match("user.lifecycle.*", "user.lifecycle.create"));
    assert!(glob_match("*", ""));
    assert!(glob_match("a*c*e", "abcde"));
    assert!(!glob_match("a*c*e", "abcd"));
    assert!(!glob_match("user.*", "group.user_membership.add"));
    assert!(glob_match(
        "group.user_membership.add",
        "group.user_membership.add"
    ));
}

#[test]
fn route_targets_are_paths_ports_or_urls() {
    let d = default_target();
    let url = |s: &str| Route::parse(s, &d).expect(s).target.url();
    assert_eq!(url("user.*=/users"), "http://127.0.0.1:1337/users");
    assert_eq!(url("user.*=4000/groups"), "http://127.0.0.1:4000/groups");
    assert_eq!(url("user.*=4000"), "http://127.0.0.1:4000/okta");
    assert_eq!(
        url("/github/*=http://[::1]:5000/gh"),
        "http://[::1]:5000/gh"
    );
}

#[test]
fn first_matching_route_wins_and_a_mixed_batch_needs_every_type_to_match() {
    let d = default_target();
    let routes: Vec<Route> = ["user.lifecycle.*=/users", "group.*=/groups", "*=/all"]
        .iter()
        .map(|s| Route::parse(s, &d).expect(s))
        .collect();
    let spec = |req: &HttpRequest| route_for(&routes, "okta", req).map(|r| r.spec.as_str());
    assert_eq!(
        spec(&okta(&["user.lifecycle.create"])),
        Some("user.lifecycle.*=/users")
    );
    assert_eq!(
        spec(&okta(&["group.user_membership.add"])),
        Some("group.*=/groups")
    );
    assert_eq!(
        spec(&okta(&[
            "user.lifecycle.create",
            "group.user_membership.add"
        ])),
        Some("*=/all")
    );
    let mut github = okta(&[]);
    github.body = Blob::from(b"{}".to_vec());
    github.path = "/github/push".into();
    let path_route = [Route::parse("/github/*=5000", &d).expect("path route")];
    assert!(route_for(&path_route, "okta", &github).is_some());
    assert!(route_for(&path_route, "okta", &okta(&["user.lifecycle.create"])).is_none());
}

#[test]
fn inline_routes_name_the_hook() {
    let d = default_target();
    let r = Route::parse("inline:registration=/register", &d).expect("inline");
    let mut req = okta(&[]);
    req.body = Blob::from(br#"{"eventType":"com.okta.user.pre-registration","data":{}}"#.to_vec());
    assert!(route_for(std::slice::from_ref(&r), "okta", &req).is_some());
    assert!(route_for(&[r], "okta", &okta(&["user.lifecycle.create"])).is_none());
}

#[test]
fn source_routes_send_each_source_to_its_own_service() {
    let d = default_target();
    let r = Route::parse("source:github=4000/gh", &d).expect("source route");
    assert_eq!(r.target.url(), "http://127.0.0.1:4000/gh");
    let req = okta(&["user.lifecycle.create"]);
    assert!(route_for(std::slice::from_ref(&r), "github", &req).is_some());
    assert!(route_for(&[r], "okta", &req).is_none());
}

#[test]
fn bad_routes_name_the_argument() {
    let d = default_target();
    for bad in [
        "source:=/x",
        "source:a/b=/x",
        "user.*",
        "=/x",
        "user.*=",
        "inline:nope=/x",
        "user lifecycle=/x",
        "x=ftp://h",
    ] {
        let err = format!("{:#}", Route::parse(bad, &d).expect_err(bad));
        assert!(err.contains("--route"), "{bad}: {err}");
    }
}

#[test]
fn filters_over_type_path_header_and_body() {
    let req = okta(&["user.lifecycle.create", "group.user_membership.add"]);
    let passes = |s: &str| Filter::parse(s).expect(s).passes(&req);
    assert!(passes("type=group.*"), "any type of a batch");
    assert!(!passes("type=app.*"));
    assert!(passes("type!=app.*"));
    assert!(passes("path="));
    assert!(passes("header.X-Team=blue"));
    assert!(!passes("header.x-team=red"));
    assert!(passes("body.data.events.outcome.result=SUCCESS"));
    assert!(!passes("body.data.events.outcome.result=FAILURE"));
    assert!(!passes("body.nope=*"));
}

#[test]
fn bad_filters_name_the_argument() {
    for bad in ["type", "kind=x", "header.=x", "body.=x"] {
        let err = format!("{:#}", Filter::parse(bad).expect_err(bad));
        assert!(err.contains("--filter"), "{bad}: {err}");
    }
}
