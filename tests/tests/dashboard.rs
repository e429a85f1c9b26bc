//! The real dashboard loop (on a TestBackend) fed by a real relay and agent: `r` replays the
//! selected event to the local target byte for byte.

use agent::deliver::Deliverer;
use agent::tui::{run, TuiContext};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use hookrelay_tests::*;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tokio::sync::mpsc;

fn key(c: char) -> std::io::Result<Event> {
    Ok(Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::NONE,
    )))
}

#[tokio::test]
async fn r_in_the_dashboard_replays_the_event_byte_for_byte() {
    with_timeout(async {
        let mut h = Harness::builder().no_agent().start().await;
        let opts = h.options.clone();
        let dir = tempfile::tempdir().expect("tempdir");
        let store = agent::capture::CaptureStore::open(&dir.path().join("captures.sqlite3"))
            .expect("store");
        // The listener reports to a tap that passes every event on to the dashboard and says
        // when an outcome went by, so the test presses keys only once the row is there.
        let (events_tx, mut tapped) = mpsc::channel(1024);
        let (ui_tx, events_rx) = mpsc::channel(1024);
        let (delivered_tx, mut delivered) = mpsc::unbounded_channel();
        let tap_tx = ui_tx.clone();
        tokio::spawn(async move {
            while let Some(ev) = tapped.recv().await {
                let outcome = matches!(ev, agent::events::AgentEvent::Delivered { .. });
                if tap_tx.send(ev).await.is_err() {
                    break;
                }
                if outcome {
                    let _ = delivered_tx.send(());
                }
            }
        });
        let (key_tx, mut key_rx) = mpsc::channel::<std::io::Result<Event>>(16);
        let input = futures_util::stream::poll_fn(move |cx| key_rx.poll_recv(cx));
        let shutdown = tokio_util::sync::CancellationToken::new();
        let ctx = TuiContext {
            store: store.clone(),
            deliverer: Deliverer::new(&opts.deliver),
            target: opts.target.clone(),
            source: "okta".into(),
        };
        let listener = tokio::spawn(agent::listen::listen(
            opts,
            store.clone(),
            events_tx,
            shutdown.clone(),
        ));
        let ui_shutdown = shutdown.clone();
        let ui = tokio::spawn(async move {
            let mut terminal = Terminal::new(TestBackend::new(140, 30)).expect("terminal");
            run(&mut terminal, ctx, events_rx, ui_tx, input, ui_shutdown)
                .await
                .map(|()| terminal)
        });

        let body: Vec<u8> = br#"{"eventType":"com.okta.event_hook","eventId":"e1","data":{"events":[{"eventType":"user.lifecycle.deactivate","target":[{"type":"User","displayName":"John Doe"}]}]}}"#.to_vec();
        client::send(
            "POST",
            &format!("{}/sub?q=1", h.hook_url()),
            &[("content-type", b"application/json"), ("x-dup", b"1"), ("x-dup", b"2")],
            body.clone(),
        )
        .await
        .expect("send");
        let first = h.target.next().await;
        // The row and its outcome reached the dashboard's channel; the loop applies network
        // events before keys, so `r` acts on it.
        delivered.recv().await.expect("the outcome was reported");
        key_tx.send(key('r')).await.expect("press r");
        let replayed = h.target.next().await;
        assert_eq!(replayed.method, first.method);
        assert_eq!(replayed.uri, "/okta-webhooks-endpoint/sub?q=1");
        assert_eq!(replayed.body.as_ref(), body.as_slice());
        assert_eq!(replayed.header_values("x-dup"), vec![&b"1"[..], &b"2"[..]]);
        assert_eq!(replayed.headers, first.headers, "same headers, same order");

        // The replay is recorded and linked to the original.
        let history = store.recent(10).expect("recent");
        let original = history.iter().find(|c| c.replay_of.is_none()).expect("original");
        let copy = history.iter().find(|c| c.replay_of.is_some()).expect("replay recorded");
        assert_eq!(copy.replay_of, Some(original.id));

        key_tx.send(key('q')).await.expect("press q");
        let terminal = ui.await.expect("ui task").expect("ui loop");
        let screen = terminal.backend().to_string();
        assert!(screen.contains("user.lifecycle.deactivate · John Doe"), "{screen}");
        assert!(screen.contains('↻'), "a replay row is shown:\n{screen}");
        shutdown.cancel();
        let _ = listener.await;
    })
    .await;
}
