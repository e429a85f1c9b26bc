//! `--okta-retry`: a 5xx (or an answer over 3 s) is delivered once more, as Okta redelivers,
//! and shown as a retry; a good answer is delivered once.

use hookrelay_tests::*;

#[tokio::test]
async fn a_5xx_is_delivered_once_more_and_marked_as_a_retry() {
    with_timeout(async {
        let reply = Reply {
            status: 503,
            ..Reply::default()
        };
        let mut h = Harness::ack()
            .reply(reply)
            .agent(|o| o.okta_retry = true)
            .start()
            .await;
        h.post_ok("{\"n\":1}").await;
        assert_eq!(h.target.next().await.text(), "{\"n\":1}");
        assert_eq!(h.target.next().await.text(), "{\"n\":1}", "the retry");
        let first = h.wait_for_capture(|c| c.replay_of.is_none()).await;
        let retry = h.wait_for_capture(|c| c.replay_of.is_some()).await;
        assert_eq!(retry.replay_of, Some(first.id));
        assert!(retry.duplicate, "shown as Okta's redelivery");
        assert!(agent::output::compact_line(&retry).contains("[duplicate] [replay]"));
        assert_eq!(
            h.wait_for_outcome().await.status(),
            Some(503),
            "the retry's answer"
        );
    })
    .await;
}

#[tokio::test]
async fn a_good_answer_is_delivered_once() {
    with_timeout(async {
        let mut h = Harness::ack().agent(|o| o.okta_retry = true).start().await;
        h.post_ok("{\"n\":1}").await;
        assert_eq!(h.target.next().await.text(), "{\"n\":1}");
        h.assert_delivers("{\"n\":2}").await;
    })
    .await;
}
