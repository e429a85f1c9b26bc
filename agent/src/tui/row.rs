//! `Row`: the small summary of one capture that the event list keeps (never the bodies: with
//! 100,000 rows even a short body prefix would blow the memory budget; the `/` filter asks the
//! capture store for body matches instead, see [`super::ring::RowRing::set_body_matches`]).

use crate::model::{Capture, CaptureKind};
use shared::{DeliveryOutcome, EventId};

/// One line of the event list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The capture's id.
    pub id: EventId,
    /// What produced it.
    pub kind: CaptureKind,
    /// The source it came to (shown when the agent listens on several).
    pub source: String,
    /// When the relay received it (ms since the Unix epoch).
    pub received_at_ms: u64,
    /// HTTP method.
    pub method: String,
    /// Path suffix and query.
    pub path: String,
    /// The Okta one-line summary, `verification ✓`, or `None`.
    pub summary: Option<String>,
    /// An Okta inline hook: Okta waits at most 3 s for the answer.
    pub inline: bool,
    /// The local service's status code.
    pub status: Option<u16>,
    /// Round trip to the local service, in microseconds.
    pub duration_us: Option<u64>,
    /// Why delivery failed, short.
    pub error: Option<String>,
    /// Okta redelivered an event already seen.
    pub duplicate: bool,
    /// For replays: the original capture.
    pub replay_of: Option<EventId>,
    /// Still waiting for the local service.
    pub pending: bool,
}

impl Row {
    /// Summarises a capture.
    pub fn from_capture(c: &Capture) -> Row {
        let body = c.request.body.as_bytes();
        let okta = shared::okta::summarize(body);
        let summary = if c.kind == CaptureKind::Verification {
            Some("verification ✓".to_string())
        } else {
            okta.as_ref().map(|s| s.one_line())
        };
        let mut row = Row {
            id: c.id,
            kind: c.kind,
            source: c.source.clone(),
            received_at_ms: c.received_at_ms,
            method: c.request.method.clone(),
            path: c.request.path_and_query(),
            summary,
            inline: okta.as_ref().is_some_and(|s| s.is_inline()),
            status: None,
            duration_us: None,
            error: None,
            duplicate: c.duplicate,
            replay_of: c.replay_of,
            pending: c.is_pending(),
        };
        if let Some(o) = &c.outcome {
            row.apply_outcome(o);
        }
        row
    }

    /// Records the local service's answer (or the failure).
    pub fn apply_outcome(&mut self, o: &DeliveryOutcome) {
        self.status = o.status();
        self.duration_us = Some(o.duration_us());
        self.error = o.error().map(|e| e.to_string());
        self.pending = false;
    }

    /// True when a `--filter` kept the event from the local service (shown greyed).
    pub fn filtered(&self) -> bool {
        self.error
            .as_deref()
            .is_some_and(|e| e.contains(crate::delivery::FILTERED_PREFIX))
    }

    /// True when a delivery failed without any answer.
    pub fn failed(&self) -> bool {
        !self.pending && self.status.is_none() && self.error.is_some()
    }

    /// Case-insensitive match of a lower-case `needle` against path, method, summary, status
    /// and error (bodies are matched by the capture store, not here).
    pub fn matches(&self, needle: &str) -> bool {
        if needle.is_empty() {
            return true;
        }
        let digits = needle.len() <= 3 && needle.bytes().all(|b| b.is_ascii_digit());
        if digits && self.status.is_some_and(|s| s.to_string().contains(needle)) {
            return true;
        }
        [
            self.path.as_str(),
            self.method.as_str(),
            self.summary.as_deref().unwrap_or(""),
            self.error.as_deref().unwrap_or(""),
        ]
        .iter()
        .any(|hay| contains_ignore_case(hay.as_bytes(), needle))
    }
}

/// `hay` (text or any bytes) contains the lower-case `needle`, ignoring ASCII case in `hay`.
pub fn contains_ignore_case(hay: &[u8], needle: &str) -> bool {
    let (h, n) = (hay, needle.as_bytes());
    let Some((&first, rest)) = n.split_first() else {
        return true;
    };
    if n.len() > h.len() {
        return false;
    }
    let upper = first.to_ascii_uppercase();
    (0..=h.len() - n.len()).any(|i| {
        (h[i] == first || h[i] == upper)
            && h[i + 1..i + n.len()]
                .iter()
                .zip(rest)
                .all(|(a, b)| a.to_ascii_lowercase() == *b)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_ignores_ascii_case() {
        assert!(contains_ignore_case(b"User.Lifecycle", "lifecycle"));
        assert!(!contains_ignore_case(b"abc", "abcd"));
        assert!(contains_ignore_case(b"x", ""));
        assert!(contains_ignore_case(&[0xff, b'A', b'b', 0], "ab"));
    }
}
