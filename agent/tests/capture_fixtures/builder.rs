//! The one way agent tests build a [`Capture`] or a [`DeliveryOutcome`]: plain defaults, and a
//! method for each field a test cares about.
//!
//! Shared by the integration tests (`mod builder` in `capture_fixtures`) and the crate's unit
//! tests (`crate::capture_builder`, the same file through `#[path]`), so it names the capture
//! types through `super::model`, which both parents provide.

// Each test binary uses a different part of it.
#![allow(dead_code)]

use super::model::{Capture, CaptureKind};
use shared::{Blob, DeliveryError, DeliveryOutcome, EventId, Header, HttpRequest, HttpResponse};

/// Where the agent delivers by default (`agent listen 1337`).
pub const DEFAULT_TARGET: &str = "http://127.0.0.1:1337/okta-webhooks-endpoint";

/// A local answer that took `duration_us`.
pub fn answer(status: u16, body: impl Into<Blob>, duration_us: u64) -> DeliveryOutcome {
    DeliveryOutcome::answered(
        HttpResponse {
            status,
            headers: Vec::new(),
            body: body.into(),
        },
        duration_us,
    )
}

/// A delivery that failed after `duration_us`.
pub fn failure(error: DeliveryError, duration_us: u64) -> DeliveryOutcome {
    DeliveryOutcome::failed(error, duration_us)
}

/// Builds a [`Capture`].
#[derive(Clone, Debug)]
pub struct CaptureBuilder(Capture);

impl From<Capture> for CaptureBuilder {
    /// Changes an existing capture.
    fn from(c: Capture) -> Self {
        CaptureBuilder(c)
    }
}

impl CaptureBuilder {
    /// A capture of `kind`: a fresh id, no sequence, source `okta`, received at 0, a `POST` with
    /// no path, query, headers or body for [`DEFAULT_TARGET`], not delivered.
    pub fn new(kind: CaptureKind) -> Self {
        CaptureBuilder(Capture {
            event: shared::Event {
                seq: 0,
                id: EventId::new(),
                received_at_ms: 0,
                duplicate: false,
                proxied: false,
                request: HttpRequest {
                    method: "POST".into(),
                    path: String::new(),
                    query: None,
                    headers: Vec::new(),
                    body: Blob::default(),
                },
            },
            source: "okta".into(),
            kind,
            delivered_at_ms: None,
            answered_at_ms: None,
            target_url: DEFAULT_TARGET.into(),
            outcome: None,
            replay_of: None,
        })
    }

    /// A relay event with sequence `seq`; otherwise as [`CaptureBuilder::new`].
    pub fn event(seq: u64) -> Self {
        Self::new(CaptureKind::Event).seq(seq)
    }

    /// A replay of capture `of`.
    pub fn replay_of(of: EventId) -> Self {
        let mut b = Self::new(CaptureKind::Replay);
        b.0.replay_of = Some(of);
        b
    }

    /// An Okta verification `GET` carrying `challenge`, answered by the relay (no target).
    pub fn verification(seq: u64, challenge: &str) -> Self {
        Self::new(CaptureKind::Verification)
            .seq(seq)
            .method("GET")
            .header("x-okta-verification-challenge", challenge)
            .target("")
    }

    /// The id.
    pub fn id(mut self, id: EventId) -> Self {
        self.0.id = id;
        self
    }

    /// The relay's sequence number.
    pub fn seq(mut self, seq: u64) -> Self {
        self.0.seq = seq;
        self
    }

    /// The source.
    pub fn source(mut self, source: &str) -> Self {
        self.0.source = source.into();
        self
    }

    /// What produced it.
    pub fn kind(mut self, kind: CaptureKind) -> Self {
        self.0.kind = kind;
        self
    }

    /// When the relay received it.
    pub fn received_at(mut self, ms: u64) -> Self {
        self.0.received_at_ms = ms;
        self
    }

    /// When delivery started.
    pub fn delivered_at(mut self, ms: u64) -> Self {
        self.0.delivered_at_ms = Some(ms);
        self
    }

    /// When the outcome was recorded.
    pub fn answered_at(mut self, ms: u64) -> Self {
        self.0.answered_at_ms = Some(ms);
        self
    }

    /// The request method.
    pub fn method(mut self, method: &str) -> Self {
        self.0.request.method = method.into();
        self
    }

    /// A `POST` to `path` (the suffix after `/h/{source}`).
    pub fn post(self, path: &str) -> Self {
        self.method("POST").path(path)
    }

    /// The request path (the suffix after `/h/{source}`).
    pub fn path(mut self, path: &str) -> Self {
        self.0.request.path = path.into();
        self
    }

    /// The query string, without `?`.
    pub fn query(mut self, query: &str) -> Self {
        self.0.request.query = Some(query.into());
        self
    }

    /// Appends a request header (order and duplicates kept).
    pub fn header(mut self, name: &str, value: impl Into<Blob>) -> Self {
        self.0.request.headers.push(Header::new(name, value));
        self
    }

    /// The request body.
    pub fn body(mut self, body: impl Into<Blob>) -> Self {
        self.0.request.body = body.into();
        self
    }

    /// A JSON request body with its `content-type`.
    pub fn json(self, body: &str) -> Self {
        self.header("content-type", "application/json").body(body)
    }

    /// The URL it is delivered to.
    pub fn target(mut self, url: &str) -> Self {
        self.0.target_url = url.into();
        self
    }

    /// What happened.
    pub fn outcome(mut self, outcome: DeliveryOutcome) -> Self {
        self.0.outcome = Some(outcome);
        self
    }

    /// The local service answered `status` with `body` after `duration_us`.
    pub fn answered(self, status: u16, body: impl Into<Blob>, duration_us: u64) -> Self {
        self.outcome(answer(status, body, duration_us))
    }

    /// Appends a header to the answer given by [`CaptureBuilder::answered`].
    pub fn response_header(mut self, name: &str, value: impl Into<Blob>) -> Self {
        let response = self
            .0
            .outcome
            .as_mut()
            .and_then(|o| match o {
                DeliveryOutcome::Answered { response, .. } => Some(response),
                DeliveryOutcome::Failed { .. } => None,
            })
            .expect("response_header needs an answer: call answered first");
        response.headers.push(Header::new(name, value));
        self
    }

    /// The delivery failed with `error` after `duration_us`.
    pub fn failed(self, error: DeliveryError, duration_us: u64) -> Self {
        self.outcome(failure(error, duration_us))
    }

    /// Marks it as an Okta redelivery.
    pub fn duplicate(mut self) -> Self {
        self.0.duplicate = true;
        self
    }

    /// The capture.
    pub fn build(self) -> Capture {
        self.0
    }
}
