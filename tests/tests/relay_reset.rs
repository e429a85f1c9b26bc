//! An agent that comes back to a relay which was reset or replaced at the same address (a new
//! data directory, a restored backup) gets that relay's events, though its own last
//! acknowledged sequence is higher: sequences of another log never make it skip any.

use agent::events::AgentEvent;
use hookrelay_tests::target::{spawn_target, Reply};
use hookrelay_tests::*;
use shared::Mode;

#[tokio::test]
async fn a_reset_relay_delivers_its_log_to_an_agent_with_a_higher_cursor() {
    with_timeout(async {
        let mut target = spawn_target(Reply::default()).await;
        let first = spawn_relay(test_config()).await;
        let mut opts = agent_options(&first.url, &first.token("okta"), &target.url(), Mode::Ack);
        // The agent keys its cursor by relay address; both relays stand for the same one.
        opts.cursor_key = "https://relay.example.test#okta".into();
        let mut agent = spawn_agent(opts.clone());
        agent.connected().await;
        for i in 0..3 {
            client::post_json(&first.hook_url("okta"), format!("old {i}"))
                .await
                .expect("send");
            assert_eq!(target.next().await.body, format!("old {i}").as_bytes());
        }
        // Stopping waits for the agent's recorder, so its cursor (2 or 3) is stored.
        let dir = agent.stop().await;
        first.stop().await;

        // A new relay (empty data directory) takes events while the agent is away.
        let second = spawn_relay(test_config()).await;
        let token = second.token("okta");
        for i in 0..5 {
            let answer = client::post_json(&second.hook_url("okta"), format!("new {i}"))
                .await
                .expect("send");
            assert_eq!(answer.status, 200);
        }
        opts.link.relay_url = second.url.clone();
        opts.token = token;
        let mut agent = spawn_agent_in(dir, opts);
        let notice = agent.wait_for(|e| matches!(e, AgentEvent::Notice(_))).await;
        let AgentEvent::Notice(text) = notice else {
            unreachable!()
        };
        assert!(text.contains("no record of this agent"), "{text}");
        for i in 0..5 {
            assert_eq!(
                target.next().await.body,
                format!("new {i}").as_bytes(),
                "every event of the new relay arrives, in order"
            );
        }
    })
    .await;
}
