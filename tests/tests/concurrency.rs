//! How many deliveries run at once: proxy mode delivers concurrently (each sender waits for
//! its own answer), ack mode one at a time in order unless `--concurrency` says otherwise.

use hookrelay_tests::*;
use std::time::Duration;

/// How long the target holds each request. Concurrent deliveries all reach it well within
/// this; one-at-a-time deliveries arrive a full delay apart.
const HOLD: Duration = Duration::from_secs(3);

fn slow() -> Reply {
    Reply {
        delay: HOLD,
        ..Reply::default()
    }
}

/// Waits for `n` requests at the target, all within `within` of the first.
async fn arrive_together(target: &mut TestTarget, n: usize, within: Duration) -> Vec<String> {
    let mut bodies = vec![target.next().await.text()];
    let rest = tokio::time::timeout(within, async {
        while bodies.len() < n {
            bodies.push(target.next().await.text());
        }
    })
    .await;
    assert!(
        rest.is_ok(),
        "only {} of {n} requests reached the target within {within:?} of the first",
        bodies.len()
    );
    bodies
}

#[tokio::test]
async fn proxy_mode_delivers_waiting_senders_concurrently() {
    with_timeout(async {
        let mut h = Harness::proxy().reply(slow()).start().await;
        let senders: Vec<_> = (0..4)
            .map(|i| {
                let url = h.hook_url();
                tokio::spawn(async move { client::post_json(&url, i.to_string()).await })
            })
            .collect();
        let mut got = arrive_together(&mut h.target, 4, HOLD / 2).await;
        got.sort();
        assert_eq!(got, ["0", "1", "2", "3"]);
        for s in senders {
            let answer = s.await.expect("sender").expect("answer");
            assert_eq!(answer.status, 200);
        }
    })
    .await;
}

#[tokio::test]
async fn ack_mode_with_concurrency_delivers_several_at_once() {
    with_timeout(async {
        let mut h = Harness::ack()
            .reply(slow())
            .agent(|o| o.concurrency = Some(3))
            .start()
            .await;
        for i in 0..3 {
            h.post_ok(i.to_string()).await;
        }
        let mut got = arrive_together(&mut h.target, 3, HOLD / 2).await;
        got.sort();
        assert_eq!(got, ["0", "1", "2"]);
    })
    .await;
}

#[tokio::test]
async fn ack_mode_delivers_one_at_a_time_in_order_by_default() {
    with_timeout(async {
        let hold = Duration::from_millis(300);
        let reply = Reply {
            delay: hold,
            ..Reply::default()
        };
        let mut h = Harness::ack().reply(reply).start().await;
        for i in 0..3 {
            h.post(i.to_string()).await;
        }
        let first = h.target.next().await;
        assert_eq!(first.text(), "0");
        // The next one is not sent before the first was answered.
        let early = tokio::time::timeout(hold / 2, h.target.next()).await;
        assert!(
            early.is_err(),
            "a second delivery started while the first was running"
        );
        assert_eq!(h.target.next().await.text(), "1");
        assert_eq!(h.target.next().await.text(), "2");
    })
    .await;
}
