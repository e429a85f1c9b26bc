//! Deterministic fuzzing, bounded in time: the protocol decoder and the Okta summariser never
//! panic on random or mutated input, and valid frames round-trip.

use shared::{
    AgentMessage, Blob, DeliveryOutcome, EventId, Header, Hello, HttpRequest, HttpResponse, Mode,
    RelayMessage,
};
use std::time::{Duration, Instant};

/// Wall-clock budget per target (the whole file stays well under 10 s).
const BUDGET: Duration = Duration::from_secs(3);
const LIMIT: usize = 1 << 20;
const OKTA_HOOK: &str = include_str!("../../tests/fixtures/okta-event-hook.json");

/// xorshift64*: reproducible, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "null",
    "true",
    "-1",
    "1e999",
    "18446744073709551616",
    "\"type\"",
    "\"hello\"",
    "\"ack\"",
    "\"event\"",
    "\"welcome\"",
    "\\u0000",
    "\\ud800",
    "{\"b64\":\"!!\"}",
    "\"seq\":",
    "\"id\":\"not-a-uuid\"",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    "\u{feff}",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let len = v.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(len + 1);
                v.insert(i, rng.next() as u8);
            }
            2 if len > 0 => {
                let a = rng.below(len);
                let b = (a + rng.below(16)).min(len);
                v.drain(a..b);
            }
            3 => v.truncate(rng.below(len + 1)),
            4 => {
                let i = rng.below(len + 1);
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                v.splice(i..i, t.iter().copied());
            }
            5 if len > 0 => {
                let a = rng.below(len);
                let b = (a + rng.below(64)).min(len);
                let chunk = v[a..b].to_vec();
                let i = rng.below(v.len() + 1);
                v.splice(i..i, chunk);
            }
            _ => {
                let n = rng.below(32);
                v = (0..n).map(|_| rng.next() as u8).collect();
            }
        }
    }
    v
}

fn request() -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        path: "/x".into(),
        query: Some("a=1".into()),
        headers: vec![Header(
            "content-type".into(),
            Blob::from(&b"application/json"[..]),
        )],
        body: Blob::from(&[0u8, 159, 146, 150, b'{'][..]),
    }
}

fn agent_seeds() -> Vec<AgentMessage> {
    vec![
        AgentMessage::Hello(Hello {
            version: shared::PROTOCOL_VERSION,
            token: "hr_x".into(),
            sources: vec!["okta".into()],
            agent_id: "agent".into(),
            cursors: [("okta".to_string(), 7)].into_iter().collect(),
            since: None,
            window: 64,
        }),
        AgentMessage::Ack {
            source: "okta".into(),
            seq: 3,
            id: EventId::new(),
            outcome: DeliveryOutcome::answered(
                HttpResponse {
                    status: 200,
                    headers: vec![Header("x".into(), Blob::from(&b"y"[..]))],
                    body: Blob::from(&b"ok"[..]),
                },
                12,
            ),
        },
    ]
}

fn relay_seeds() -> Vec<RelayMessage> {
    vec![
        RelayMessage::Welcome {
            source: "okta".into(),
            mode: Mode::Ack,
            public_url: "https://r/h/okta".into(),
            head_seq: 9,
            backlog: 2,
            resume_from: 8,
        },
        RelayMessage::Event(shared::Event {
            seq: 1,
            id: EventId::new(),
            received_at_ms: 1,
            duplicate: false,
            proxied: false,
            request: request(),
        }),
        RelayMessage::Notice {
            message: "hi".into(),
        },
        RelayMessage::Verification {
            source: "okta".into(),
            at_ms: 5,
            challenge: "c".into(),
        },
    ]
}

fn fuzz_decoder<T>(seeds: &[T], salt: u64) -> usize
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let frames: Vec<String> = seeds.iter().map(shared::encode).collect();
    for (seed, frame) in seeds.iter().zip(&frames) {
        let back: T = shared::decode(frame, LIMIT).expect("a valid frame decodes");
        assert_eq!(&back, seed, "round trip of {frame}");
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ salt);
    let start = Instant::now();
    let mut runs = 0;
    while start.elapsed() < BUDGET {
        for _ in 0..256 {
            let seed = frames[rng.below(frames.len())].as_bytes();
            let bytes = mutate(&mut rng, seed);
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(msg) = shared::decode::<T>(&text, LIMIT) {
                // Whatever decodes re-encodes and decodes to the same value.
                let again: T = shared::decode(&shared::encode(&msg), LIMIT).expect("re-decode");
                assert_eq!(again, msg);
            }
            runs += 1;
        }
    }
    runs
}

#[test]
fn agent_message_decoder_never_panics() {
    let runs = fuzz_decoder(&agent_seeds(), 1);
    assert!(runs > 1000, "only {runs} inputs tried");
}

#[test]
fn relay_message_decoder_never_panics() {
    let runs = fuzz_decoder(&relay_seeds(), 2);
    assert!(runs > 1000, "only {runs} inputs tried");
}

#[test]
fn oversized_frames_are_refused_before_parsing() {
    let big = "x".repeat(2048);
    assert!(shared::decode::<AgentMessage>(&big, 1024).is_err());
}

#[test]
fn okta_summariser_never_panics() {
    assert!(
        shared::okta::summarize(OKTA_HOOK.as_bytes()).is_some(),
        "the fixture is an Okta hook"
    );
    let mut rng = Rng(0xdead_beef);
    let start = Instant::now();
    let mut runs = 0;
    while start.elapsed() < BUDGET {
        for _ in 0..64 {
            let bytes = mutate(&mut rng, OKTA_HOOK.as_bytes());
            let _ = shared::okta::summarize(&bytes);
            let _ = shared::okta::dedup_keys(&bytes);
            let _ = shared::okta::check_inline_response(&bytes);
            runs += 1;
        }
    }
    assert!(runs > 100, "only {runs} inputs tried");
}
