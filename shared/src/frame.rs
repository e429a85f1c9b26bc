//! Websocket frames ⇄ messages. Messages that carry a body (events and acks) travel as binary
//! frames: a small JSON head followed by the body's raw bytes, so a body crosses the link
//! untouched — no escaping, no base64, and the receiver slices it out of the frame without a
//! copy. Every other message is a JSON text frame ([`crate::codec`]).
//!
//! Binary layout: `kind: u8` ([`EVENT`] or [`ACK`]), `head_len: u32` big-endian, `head_len`
//! bytes of JSON head, then the body to the end of the frame.

use crate::codec::{decode, encode, ProtocolError};
use crate::event::Event;
use crate::exchange::{DeliveryError, DeliveryOutcome, EventId, Header, HttpRequest, HttpResponse};
use crate::protocol::{AgentMessage, RelayMessage};
use crate::Blob;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Kind byte of a [`RelayMessage::Event`] binary frame.
pub const EVENT: u8 = 1;
/// Kind byte of an [`AgentMessage::Ack`] binary frame.
pub const ACK: u8 = 2;

const PREFIX: usize = 5;

/// One encoded frame, for either side's websocket type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A JSON text frame.
    Text(String),
    /// A binary frame (head + body).
    Binary(Vec<u8>),
}

/// An [`Event`] on the wire without its body: the event's own fields, borrowed.
#[derive(Serialize, Deserialize)]
struct EventHead<'a> {
    seq: u64,
    id: EventId,
    received_at_ms: u64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    duplicate: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    proxied: bool,
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(borrow, default)]
    path: Cow<'a, str>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    query: Option<Cow<'a, str>>,
    #[serde(default)]
    headers: Cow<'a, [Header]>,
}

#[derive(Serialize, Deserialize)]
struct AckHead<'a> {
    /// Empty in an ack that only carries an answer between relay instances.
    #[serde(borrow, default, skip_serializing_if = "str::is_empty")]
    source: Cow<'a, str>,
    seq: u64,
    id: EventId,
    duration_us: u64,
    /// Present exactly when the local service answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "<[Header]>::is_empty")]
    headers: Cow<'a, [Header]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<DeliveryError>,
}

/// Encodes a relay message: events as binary frames, the rest as JSON text.
pub fn encode_relay(msg: &RelayMessage) -> Frame {
    match msg {
        RelayMessage::Event(event) => Frame::Binary(encode_event(event)),
        other => Frame::Text(encode(other)),
    }
}

/// Encodes an agent message: acks as binary frames, the rest as JSON text.
pub fn encode_agent(msg: &AgentMessage) -> Frame {
    match msg {
        AgentMessage::Ack {
            source,
            seq,
            id,
            outcome,
        } => Frame::Binary(encode_source_ack(source, *seq, *id, outcome)),
        other => Frame::Text(encode(other)),
    }
}

/// The binary frame of one event.
pub fn encode_event(event: &Event) -> Vec<u8> {
    let mut out = Vec::with_capacity(PREFIX + 512 + event.request.body.len());
    encode_event_into(&mut out, event);
    out
}

/// Appends the binary frame of one event to `out` (e.g. a log record being built).
pub fn encode_event_into(out: &mut Vec<u8>, event: &Event) {
    let request = &event.request;
    let head = EventHead {
        seq: event.seq,
        id: event.id,
        received_at_ms: event.received_at_ms,
        duplicate: event.duplicate,
        proxied: event.proxied,
        method: Cow::Borrowed(&request.method),
        path: Cow::Borrowed(&request.path),
        query: request.query.as_deref().map(Cow::Borrowed),
        headers: Cow::Borrowed(&request.headers),
    };
    write_with_body(out, EVENT, &head, request.body.as_bytes());
}

/// The binary frame of an ack without a source: an answer handed from one relay instance to
/// another, where only the outcome counts.
pub fn encode_ack(seq: u64, id: EventId, outcome: &DeliveryOutcome) -> Vec<u8> {
    encode_source_ack("", seq, id, outcome)
}

/// The binary frame of one ack of an event of `source`.
pub fn encode_source_ack(
    source: &str,
    seq: u64,
    id: EventId,
    outcome: &DeliveryOutcome,
) -> Vec<u8> {
    let response = outcome.response();
    let head = AckHead {
        source: Cow::Borrowed(source),
        seq,
        id,
        duration_us: outcome.duration_us(),
        status: response.map(|r| r.status),
        headers: Cow::Borrowed(response.map_or(&[][..], |r| &r.headers)),
        error: outcome.error().cloned(),
    };
    with_body(ACK, &head, response.map_or(&[][..], |r| r.body.as_bytes()))
}

fn with_body<T: Serialize>(kind: u8, head: &T, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(PREFIX + 512 + body.len());
    write_with_body(&mut out, kind, head, body);
    out
}

fn write_with_body<T: Serialize>(out: &mut Vec<u8>, kind: u8, head: &T, body: &[u8]) {
    let start = out.len();
    out.push(kind);
    out.extend_from_slice(&[0; 4]);
    serde_json::to_writer(&mut *out, head).expect("frame heads always serialize");
    let head_len = u32::try_from(out.len() - start - PREFIX).expect("a head is far below 4 GiB");
    out[start + 1..start + PREFIX].copy_from_slice(&head_len.to_be_bytes());
    out.extend_from_slice(body);
}

/// Splits a binary frame into its kind, JSON head and body (a zero-copy slice of `frame`).
fn split(frame: &Bytes, limit: usize) -> Result<(u8, &[u8], Bytes), ProtocolError> {
    if frame.len() > limit {
        return Err(ProtocolError::TooLarge {
            size: frame.len(),
            limit,
        });
    }
    let bad = |why: &str| ProtocolError::BadBinary(why.to_string());
    if frame.len() < PREFIX {
        return Err(bad("shorter than its 5-byte prefix"));
    }
    let head_len = u32::from_be_bytes(frame[1..PREFIX].try_into().expect("4 bytes")) as usize;
    let body_at = PREFIX
        .checked_add(head_len)
        .filter(|end| *end <= frame.len())
        .ok_or_else(|| bad("head length runs past the end of the frame"))?;
    Ok((frame[0], &frame[PREFIX..body_at], frame.slice(body_at..)))
}

/// Decodes a binary frame from the relay (an event).
pub fn decode_relay_binary(frame: Bytes, limit: usize) -> Result<RelayMessage, ProtocolError> {
    let (kind, head, body) = split(&frame, limit)?;
    if kind != EVENT {
        return Err(ProtocolError::BadBinary(format!(
            "unknown binary frame kind {kind} from the relay"
        )));
    }
    let head: EventHead<'_> = serde_json::from_slice(head)?;
    Ok(RelayMessage::Event(Event {
        seq: head.seq,
        id: head.id,
        received_at_ms: head.received_at_ms,
        duplicate: head.duplicate,
        proxied: head.proxied,
        request: HttpRequest {
            method: head.method.into_owned(),
            path: head.path.into_owned(),
            query: head.query.map(Cow::into_owned),
            headers: head.headers.into_owned(),
            body: Blob(body),
        },
    }))
}

/// Decodes a binary frame from an agent (an ack).
pub fn decode_agent_binary(frame: Bytes, limit: usize) -> Result<AgentMessage, ProtocolError> {
    let (kind, head, body) = split(&frame, limit)?;
    if kind != ACK {
        return Err(ProtocolError::BadBinary(format!(
            "unknown binary frame kind {kind} from an agent"
        )));
    }
    let head: AckHead<'_> = serde_json::from_slice(head)?;
    let outcome = match (head.status, head.error) {
        (Some(status), _) => DeliveryOutcome::answered(
            HttpResponse {
                status,
                headers: head.headers.into_owned(),
                body: Blob(body),
            },
            head.duration_us,
        ),
        (None, Some(error)) => DeliveryOutcome::failed(error, head.duration_us),
        (None, None) => {
            return Err(ProtocolError::BadBinary(
                "an ack carries either a status or an error".into(),
            ))
        }
    };
    Ok(AgentMessage::Ack {
        source: head.source.into_owned(),
        seq: head.seq,
        id: head.id,
        outcome,
    })
}

/// Decodes a text frame from the relay.
pub fn decode_relay_text(frame: &str, limit: usize) -> Result<RelayMessage, ProtocolError> {
    decode(frame, limit)
}

/// Decodes a text frame from an agent.
pub fn decode_agent_text(frame: &str, limit: usize) -> Result<AgentMessage, ProtocolError> {
    decode(frame, limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: &[u8]) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            path: "/x".into(),
            query: Some("a=1".into()),
            headers: vec![
                Header::new("x-dup", "1"),
                Header::new("x-dup", "2"),
                Header("x-bin".into(), Blob::from(&b"\xff\x00"[..])),
            ],
            body: Blob::from(body),
        }
    }

    #[test]
    fn an_event_round_trips_with_its_body_untouched() {
        for body in [&b""[..], b"{\"a\":\"\\\"quoted\\\"\"}", &[0, 255, 10, 13]] {
            let msg = RelayMessage::Event(Event {
                seq: 7,
                id: EventId::new(),
                received_at_ms: 1,
                duplicate: true,
                proxied: true,
                request: request(body),
            });
            let Frame::Binary(bytes) = encode_relay(&msg) else {
                panic!("events are binary")
            };
            assert!(bytes.ends_with(body));
            let back = decode_relay_binary(Bytes::from(bytes), usize::MAX).expect("decode");
            assert_eq!(back, msg);
        }
    }

    #[test]
    fn an_ack_round_trips_with_and_without_a_response() {
        let answered = DeliveryOutcome::answered(
            HttpResponse {
                status: 204,
                headers: vec![Header::new("x", "y")],
                body: Blob::from(&b"\x00raw"[..]),
            },
            9,
        );
        let empty_answer = DeliveryOutcome::answered(
            HttpResponse {
                status: 200,
                headers: Vec::new(),
                body: Blob::default(),
            },
            3,
        );
        let failed = DeliveryOutcome::failed(DeliveryError::Timeout(30), 30_000);
        for outcome in [answered, empty_answer, failed] {
            let msg = AgentMessage::Ack {
                source: "okta".into(),
                seq: 3,
                id: EventId::new(),
                outcome,
            };
            let Frame::Binary(bytes) = encode_agent(&msg) else {
                panic!("acks are binary")
            };
            let back = decode_agent_binary(Bytes::from(bytes), usize::MAX).expect("decode");
            assert_eq!(back, msg);
        }
    }

    #[test]
    fn bad_binary_frames_are_errors_not_panics() {
        let event = encode_event(&Event {
            seq: 1,
            id: EventId::new(),
            received_at_ms: 1,
            duplicate: false,
            proxied: false,
            request: request(b"body"),
        });
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![EVENT, 0, 0],
            vec![EVENT, 0xff, 0xff, 0xff, 0xff, b'{'],
            vec![EVENT, 0, 0, 0, 2, b'{', b'}'],
            vec![9, 0, 0, 0, 0],
            event[..event.len() / 2].to_vec(),
        ];
        for case in cases {
            assert!(
                decode_relay_binary(Bytes::from(case.clone()), usize::MAX).is_err(),
                "{case:?}"
            );
            assert!(decode_agent_binary(Bytes::from(case), usize::MAX).is_err());
        }
        let too_big = decode_relay_binary(Bytes::from(event), 10);
        assert!(matches!(too_big, Err(ProtocolError::TooLarge { .. })));
    }
}
