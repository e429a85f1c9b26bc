//! An agent that comes back to a relay which was reset or replaced at the same address (a new
//! data directory, a restored backup) gets that relay's events, though its own last
//! acknowledged sequence is higher: sequences of another log never make it skip any.

use hookrelay_tests::*;

#[tokio::test]
async fn a_reset_relay_delivers_its_log_to_an_agent_with_a_higher_cursor() {
    with_timeout(async {
        // The agent keys its cursor by relay address; both relays stand for the same one.
        let mut h = Harness::builder()
            .agent(|o| o.relay_key = "https://relay.example.test".into())
            .start()
            .await;
        for i in 0..3 {
            h.post(format!("old {i}")).await;
            assert_eq!(h.target.next().await.body, format!("old {i}").as_bytes());
        }
        // Stopping waits for the agent's recorder, so its cursor (2 or 3) is stored.
        h.stop_agent().await;

        // A new relay (empty data directory) takes events while the agent is away.
        h.replace_relay(test_config()).await;
        for i in 0..5 {
            h.post_ok(format!("new {i}")).await;
        }
        h.start_agent();
        let text = h.wait_for_notice().await;
        assert!(text.contains("no record of this agent"), "{text}");
        for i in 0..5 {
            assert_eq!(
                h.target.next().await.body,
                format!("new {i}").as_bytes(),
                "every event of the new relay arrives, in order"
            );
        }
    })
    .await;
}
