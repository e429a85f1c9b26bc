//! The local service restarts (nodemon, `cargo watch`, a debugger): acknowledged events wait,
//! unacknowledged, and arrive in order once it is back — across an agent restart too.

use agent::events::AgentEvent;
use agent::hold::OnDown;
use hookrelay_tests::*;
use shared::{DeliveryError, Mode};
use std::time::{Duration, Instant};

/// An Okta registration inline hook, as Okta posts it.
const REGISTRATION: &str = r#"{"eventType":"com.okta.user.pre-registration","eventTypeVersion":"1.0","cloudEventVersion":"0.1","source":"https://dev-1.okta.com/api/v1/inlineHooks/cal1","eventId":"GOsk2G_ERyKmZdn1MQe5cg","eventTime":"2026-12-03T10:00:00.000Z","contentType":"application/json","data":{"userProfile":{"email":"jane@example.com"}}}"#;

/// Waits for the agent to report the local service down with at least `n` events waiting.
async fn wait_until_waiting(h: &mut Harness, n: usize) {
    h.wait_for(|e| matches!(e, AgentEvent::LocalDown { waiting, .. } if *waiting >= n))
        .await;
}

/// The next `n` bodies the target receives, within `budget`.
async fn next_bodies(h: &mut Harness, n: usize, budget: Duration) -> Vec<String> {
    let mut got = Vec::new();
    tokio::time::timeout(budget, async {
        while got.len() < n {
            got.push(h.target.next().await.text());
        }
    })
    .await
    .unwrap_or_else(|_| panic!("only {} of {n} arrived in {budget:?}: {got:?}", got.len()));
    got
}

#[tokio::test]
async fn events_sent_while_the_service_is_down_arrive_in_order_once_it_is_back() {
    with_timeout(async {
        let mut h = Harness::ack().start().await;
        h.target.stop().await;
        let sent: Vec<String> = (1..=20).map(|i| format!("{{\"n\":{i}}}")).collect();
        for body in &sent {
            h.post_ok(body.clone()).await;
        }
        wait_until_waiting(&mut h, 20).await;
        // Held events are not acknowledged: the relay still counts them as undelivered.
        assert!(h.target.received.try_recv().is_err());
        h.target.start_again().await;
        let back = Instant::now();
        let got = next_bodies(&mut h, 20, Duration::from_secs(5)).await;
        assert_eq!(got, sent, "in order, each once");
        let back_event = h
            .wait_for(|e| matches!(e, AgentEvent::LocalBack { .. }))
            .await;
        assert!(matches!(back_event, AgentEvent::LocalBack { .. }));
        assert!(back.elapsed() < Duration::from_secs(5));
        // Nothing is delivered twice: the next request the service sees is the next event.
        h.assert_delivers("{\"n\":21}").await;
    })
    .await;
}

#[tokio::test]
async fn an_agent_restarted_while_the_service_is_down_still_delivers_the_held_events() {
    with_timeout(async {
        let mut h = Harness::ack().start().await;
        h.target.stop().await;
        let sent: Vec<String> = (1..=5).map(|i| format!("{{\"held\":{i}}}")).collect();
        for body in &sent {
            h.post_ok(body.clone()).await;
        }
        wait_until_waiting(&mut h, 5).await;
        h.restart_agent().await;
        // The relay resends what was never acknowledged; the new agent holds it too.
        wait_until_waiting(&mut h, 5).await;
        h.target.start_again().await;
        let got = next_bodies(&mut h, 5, Duration::from_secs(5)).await;
        assert_eq!(got, sent);
        h.assert_delivers("{\"after\":1}").await;
    })
    .await;
}

#[tokio::test]
async fn on_down_fail_records_the_refusal_and_moves_on() {
    with_timeout(async {
        let mut h = Harness::ack()
            .agent(|o| o.on_down = OnDown::Fail)
            .start()
            .await;
        h.target.stop().await;
        h.post_ok("{\"lost\":1}").await;
        let outcome = h.wait_for_outcome().await;
        assert!(
            matches!(outcome.error(), Some(DeliveryError::Refused(_))),
            "{outcome:?}"
        );
        h.target.start_again().await;
        // The refused event was acknowledged and is not delivered again.
        h.assert_delivers("{\"next\":1}").await;
    })
    .await;
}

#[tokio::test]
async fn proxied_events_fail_at_once_while_acknowledged_ones_are_held() {
    with_timeout(async {
        let mut h = Harness::builder().mode(Mode::Auto).start().await;
        h.target.stop().await;
        h.post_ok("{\"plain\":1}").await;
        wait_until_waiting(&mut h, 1).await;
        // An Okta inline hook is proxied in auto mode: its sender gets 502 now, not a hold.
        let answer = h.post(REGISTRATION).await;
        assert_eq!(answer.status, 502, "{}", answer.text());
        h.target.start_again().await;
        let got = next_bodies(&mut h, 1, Duration::from_secs(5)).await;
        assert_eq!(got, vec!["{\"plain\":1}".to_string()]);
    })
    .await;
}
