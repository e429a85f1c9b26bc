//! Routes send each event type to its own local target; filters keep events from the local
//! service, acknowledged and shown as filtered.

use agent::okta_kit::{event_hook_body, TriggerOptions};
use agent::rules::{Filter, Route};
use hookrelay_tests::*;

fn okta_event(types: &[&str]) -> String {
    event_hook_body(types, &TriggerOptions::default()).to_string()
}

fn event_types(r: &Recorded) -> Vec<String> {
    shared::okta::summarize(&r.body)
        .expect("an Okta body")
        .event_types
}

#[tokio::test]
async fn each_event_type_goes_to_its_route_and_the_rest_to_the_default_target() {
    with_timeout(async {
        let mut users = spawn_target(Reply::default()).await;
        let users_url = format!("{}/users", users.url());
        let mut h = Harness::ack()
            .agent(move |o| {
                o.routes = vec![
                    Route::parse(&format!("user.lifecycle.*={users_url}"), &o.target)
                        .expect("route"),
                    Route::parse("group.*=/groups", &o.target).expect("route"),
                ]
            })
            .start()
            .await;
        h.post_ok(okta_event(&["user.lifecycle.create"])).await;
        let got = users.next().await;
        assert_eq!(got.uri, "/users");
        assert_eq!(event_types(&got), vec!["user.lifecycle.create"]);

        h.post_ok(okta_event(&["group.user_membership.add"])).await;
        let got = h.target.next().await;
        assert_eq!(got.uri, "/groups", "a path on the listen target");

        // A batch whose types do not all match a route goes to the default target.
        h.post_ok(okta_event(&[
            "user.lifecycle.create",
            "app.user_membership.add",
        ]))
        .await;
        let got = h.target.next().await;
        assert_eq!(got.uri, "/okta-webhooks-endpoint");
        assert!(users.received.try_recv().is_err());
    })
    .await;
}

#[tokio::test]
async fn a_route_target_that_is_down_is_held_like_the_default_target() {
    with_timeout(async {
        let mut users = spawn_target(Reply::default()).await;
        let users_url = users.url();
        let mut h = Harness::ack()
            .agent(move |o| {
                o.routes =
                    vec![Route::parse(&format!("user.*={users_url}"), &o.target).expect("route")]
            })
            .start()
            .await;
        users.stop().await;
        h.post_ok(okta_event(&["user.lifecycle.create"])).await;
        h.wait_for(|e| matches!(e, agent::events::AgentEvent::LocalDown { .. }))
            .await;
        users.start_again().await;
        let got = users.next().await;
        assert_eq!(event_types(&got), vec!["user.lifecycle.create"]);
    })
    .await;
}

#[tokio::test]
async fn filtered_events_are_acknowledged_shown_as_filtered_and_not_delivered() {
    with_timeout(async {
        let mut h = Harness::ack()
            .agent(|o| o.filters = vec![Filter::parse("type=user.*").expect("filter")])
            .start()
            .await;
        h.post_ok(okta_event(&["group.user_membership.add"])).await;
        let outcome = h.wait_for_outcome().await;
        let error = outcome.error().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains(agent::delivery::FILTERED_PREFIX), "{error}");
        // The next event that passes is the first the local service sees.
        let passing = okta_event(&["user.lifecycle.create"]);
        h.post_ok(passing.clone()).await;
        assert_eq!(h.target.next().await.text(), passing);
        assert!(h.target.received.try_recv().is_err());
    })
    .await;
}

#[tokio::test]
async fn bad_route_or_filter_syntax_fails_before_connecting_naming_the_argument() {
    with_timeout(async {
        let data = tempfile::tempdir().expect("tempdir");
        for (flag, value) in [("--route", "user.lifecycle.*"), ("--filter", "kind=x")] {
            let out = tokio::process::Command::new(bin_path("agent"))
                .env("HOOKRELAY_AGENT_CONFIG", data.path().join("agent.json"))
                .arg("--data")
                .arg(data.path())
                .args([
                    "listen",
                    "1337",
                    "--output",
                    "compact",
                    "--embedded-port",
                    "0",
                ])
                .args([flag, value])
                .output()
                .await
                .expect("run agent");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{flag} {value}: {stderr}");
            assert!(stderr.contains(flag) && stderr.contains(value), "{stderr}");
            assert!(
                !stderr.contains("embedded relay on"),
                "failed before starting: {stderr}"
            );
        }
    })
    .await;
}
