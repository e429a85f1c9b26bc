//! Every protocol message round-trips, and its JSON shape is pinned by a snapshot.

use shared::frame::{self, Frame};
use shared::protocol::{close, DEFAULT_MAX_FRAME_BYTES};
use shared::{
    decode, encode, AgentMessage, Blob, DeliveryError, DeliveryOutcome, Event, EventId, Header,
    Hello, HttpRequest, HttpResponse, Mode, ProtocolError, RelayMessage, Since, PROTOCOL_VERSION,
};
use uuid::Uuid;

fn id() -> EventId {
    EventId(Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef))
}

fn request() -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        path: "/extra".into(),
        query: Some("x=1&y=2".into()),
        headers: vec![
            Header::new("content-type", "application/json"),
            Header::new("x-dup", "a"),
            Header::new("x-dup", "b"),
            Header("x-latin1".into(), Blob::from(&b"caf\xe9"[..])),
        ],
        body: Blob::from(r#"{"eventType":"com.okta.event_hook"}"#),
    }
}

fn agent_messages() -> Vec<AgentMessage> {
    vec![
        AgentMessage::Hello(Hello {
            version: PROTOCOL_VERSION,
            token: "hr_secret".into(),
            sources: vec!["okta".into(), "github".into()],
            agent_id: "agent-1".into(),
            cursors: [("okta".to_string(), 41)].into_iter().collect(),
            since: Some(Since::AgoMs(60_000)),
            window: 256,
        }),
        AgentMessage::Ack {
            source: "okta".into(),
            seq: 42,
            id: id(),
            outcome: DeliveryOutcome::answered(
                HttpResponse {
                    status: 200,
                    headers: vec![Header::new("content-type", "application/json")],
                    body: Blob::from(&[0u8, 159, 146, 150][..]),
                },
                1234,
            ),
        },
        AgentMessage::Ack {
            source: "github".into(),
            seq: 43,
            id: id(),
            outcome: DeliveryOutcome::failed(
                DeliveryError::Refused("connection refused".into()),
                10,
            ),
        },
    ]
}

fn relay_messages() -> Vec<RelayMessage> {
    vec![
        RelayMessage::Welcome {
            source: "okta".into(),
            mode: Mode::Ack,
            public_url: "https://relay.example.com/h/okta".into(),
            head_seq: 50,
            backlog: 8,
            resume_from: 43,
        },
        RelayMessage::Lane {
            source: "okta".into(),
        },
        RelayMessage::Event(Event {
            seq: 43,
            id: id(),
            received_at_ms: 1_700_000_000_000,
            duplicate: true,
            proxied: true,
            request: request(),
        }),
        RelayMessage::Verification {
            source: "okta".into(),
            at_ms: 1_700_000_000_000,
            challenge: "abc".into(),
        },
        RelayMessage::Notice {
            message: "3 event(s) were removed by retention".into(),
        },
    ]
}

#[test]
fn agent_messages_round_trip() {
    for msg in agent_messages() {
        let back = match frame::encode_agent(&msg) {
            Frame::Text(t) => frame::decode_agent_text(&t, DEFAULT_MAX_FRAME_BYTES),
            Frame::Binary(b) => frame::decode_agent_binary(b.into(), DEFAULT_MAX_FRAME_BYTES),
        };
        assert_eq!(back.expect("decode"), msg);
        // The JSON form of every message still parses (e.g. an ack sent as text).
        let text: AgentMessage = decode(&encode(&msg), DEFAULT_MAX_FRAME_BYTES).expect("text");
        assert_eq!(text, msg);
    }
}

#[test]
fn relay_messages_round_trip() {
    for msg in relay_messages() {
        let back = match frame::encode_relay(&msg) {
            Frame::Text(t) => frame::decode_relay_text(&t, DEFAULT_MAX_FRAME_BYTES),
            Frame::Binary(b) => frame::decode_relay_binary(b.into(), DEFAULT_MAX_FRAME_BYTES),
        };
        assert_eq!(back.expect("decode"), msg);
        let text: RelayMessage = decode(&encode(&msg), DEFAULT_MAX_FRAME_BYTES).expect("text");
        assert_eq!(text, msg);
    }
}

/// A frame as a reviewer reads it: text frames as they are; binary frames as kind, JSON head
/// and the body's bytes escaped.
fn render(frame: Frame) -> String {
    match frame {
        Frame::Text(t) => format!("text {t}"),
        Frame::Binary(b) => {
            let head_len = u32::from_be_bytes(b[1..5].try_into().expect("prefix")) as usize;
            let head = std::str::from_utf8(&b[5..5 + head_len]).expect("utf-8 head");
            let body = b[5 + head_len..].escape_ascii();
            format!("binary kind={} head={head} body=b\"{body}\"", b[0])
        }
    }
}

#[test]
fn wire_format_is_pinned() {
    insta::assert_json_snapshot!("agent_messages", agent_messages());
    insta::assert_json_snapshot!("relay_messages", relay_messages());
    let agent: Vec<String> = agent_messages()
        .iter()
        .map(|m| render(frame::encode_agent(m)))
        .collect();
    insta::assert_snapshot!("agent_frames", agent.join("\n"));
    let relay: Vec<String> = relay_messages()
        .iter()
        .map(|m| render(frame::encode_relay(m)))
        .collect();
    insta::assert_snapshot!("relay_frames", relay.join("\n"));
}

#[test]
fn every_delivery_error_round_trips() {
    for e in [
        DeliveryError::Refused("r".into()),
        DeliveryError::Timeout(3000),
        DeliveryError::BadResponse("b".into()),
        DeliveryError::Tls("t".into()),
        DeliveryError::InvalidRequest("i".into()),
        DeliveryError::Skipped("s".into()),
        DeliveryError::Other("o".into()),
    ] {
        let json = serde_json::to_string(&e).expect("ser");
        assert_eq!(serde_json::from_str::<DeliveryError>(&json).expect("de"), e);
    }
}

#[test]
fn bad_frames_are_errors_not_panics() {
    assert!(matches!(
        decode::<AgentMessage>("not json", 1024),
        Err(ProtocolError::Malformed(_))
    ));
    assert!(matches!(
        decode::<AgentMessage>(r#"{"type":"launch"}"#, 1024),
        Err(ProtocolError::Malformed(_))
    ));
    assert!(matches!(
        decode::<AgentMessage>(&"x".repeat(2048), 1024),
        Err(ProtocolError::TooLarge {
            size: 2048,
            limit: 1024
        })
    ));
}

#[test]
fn fatal_close_codes_stop_the_agent() {
    assert!(close::is_fatal(close::UNAUTHORIZED));
    assert!(close::is_fatal(close::TOKEN_REVOKED));
    assert!(!close::is_fatal(close::GOING_AWAY));
    assert!(!close::is_fatal(close::BAD_FRAME));
}
