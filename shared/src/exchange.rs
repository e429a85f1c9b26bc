//! The captured exchange: a webhook request as the sender sent it and the local service's answer.

use crate::Blob;
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// Identifies one event (one webhook request) across relay, agent and capture store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(pub Uuid);

impl EventId {
    /// A fresh id (version 7): the time in milliseconds, then 74 random bits from a
    /// thread-local generator (no system call per id). Ids made later sort later, so the
    /// capture store's unique index on ids grows at its right edge instead of rewriting a
    /// random leaf page for every webhook.
    pub fn new() -> Self {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let random: [u8; 10] = rand::random();
        EventId(uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid())
    }
}

impl Default for EventId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for EventId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(EventId)
    }
}

/// One header line: a name (lower-case, as HTTP/1.1 servers normalise it) and its raw value bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header(pub String, pub Blob);

impl Header {
    /// A header from text.
    pub fn new(name: impl Into<String>, value: impl Into<Blob>) -> Self {
        Header(name.into(), value.into())
    }
    /// The header name.
    pub fn name(&self) -> &str {
        &self.0
    }
    /// The raw value.
    pub fn value(&self) -> &[u8] {
        self.1.as_bytes()
    }
}

/// Headers in the order they arrived, duplicates kept.
pub type Headers = Vec<Header>;

/// First value of the header `name` (case-insensitive), as text.
pub fn header_str<'a>(headers: &'a [Header], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.0.eq_ignore_ascii_case(name))
        .and_then(|h| h.1.as_str())
}

/// A webhook request exactly as the sender sent it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// The method, e.g. `POST`.
    pub method: String,
    /// What followed `/h/{source}` in the path: empty or starting with `/`.
    #[serde(default)]
    pub path: String,
    /// The raw query string without `?`, if there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Headers in arrival order.
    #[serde(default)]
    pub headers: Headers,
    /// The body bytes.
    #[serde(default)]
    pub body: Blob,
}

impl HttpRequest {
    /// `path?query` as it is appended to the agent's target path.
    pub fn path_and_query(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{}", self.path, q),
            None => self.path.clone(),
        }
    }

    /// First value of a header, as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        header_str(&self.headers, name)
    }
}

/// The local service's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers in arrival order.
    #[serde(default)]
    pub headers: Headers,
    /// Body bytes.
    #[serde(default)]
    pub body: Blob,
}

impl HttpResponse {
    /// First value of a header, as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        header_str(&self.headers, name)
    }
}

/// Why a delivery to the local service failed. Data to show, never a crash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum DeliveryError {
    /// Nothing listens on the target port.
    #[error("connection refused: {0}")]
    Refused(String),
    /// The local service did not answer in time.
    #[error("timed out after {0} ms")]
    Timeout(u64),
    /// The local service answered something that is not HTTP, or hung up mid-answer.
    #[error("bad response: {0}")]
    BadResponse(String),
    /// TLS to an https target failed.
    #[error("tls: {0}")]
    Tls(String),
    /// The request could not be built (e.g. a method or header the HTTP stack refuses).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The agent skipped delivery on purpose (e.g. `--drop-duplicates`).
    #[error("skipped: {0}")]
    Skipped(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// What happened when the agent delivered one event: the local service answered, or the
/// delivery failed for a reason. Serialised without a tag (an answer has `response`, a failure
/// `error`), so exports keep one readable shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DeliveryOutcome {
    /// The local service answered. In ack mode the agent leaves the headers and body out of the
    /// wire copy, since no sender is waiting for them.
    Answered {
        /// The answer.
        response: HttpResponse,
        /// Time from sending the request to the end of the answer, in microseconds.
        duration_us: u64,
    },
    /// There is no answer.
    Failed {
        /// Why.
        error: DeliveryError,
        /// Time spent before giving up, in microseconds.
        duration_us: u64,
    },
}

impl DeliveryOutcome {
    /// An answer that took `duration_us`.
    pub fn answered(response: HttpResponse, duration_us: u64) -> Self {
        DeliveryOutcome::Answered {
            response,
            duration_us,
        }
    }

    /// A failure after `duration_us`.
    pub fn failed(error: DeliveryError, duration_us: u64) -> Self {
        DeliveryOutcome::Failed { error, duration_us }
    }

    /// The local service's answer, if it gave one.
    pub fn response(&self) -> Option<&HttpResponse> {
        match self {
            DeliveryOutcome::Answered { response, .. } => Some(response),
            DeliveryOutcome::Failed { .. } => None,
        }
    }

    /// Why there is no answer, if there is none.
    pub fn error(&self) -> Option<&DeliveryError> {
        match self {
            DeliveryOutcome::Answered { .. } => None,
            DeliveryOutcome::Failed { error, .. } => Some(error),
        }
    }

    /// The status code, if the local service answered.
    pub fn status(&self) -> Option<u16> {
        self.response().map(|r| r.status)
    }

    /// How long the delivery took, in microseconds.
    pub fn duration_us(&self) -> u64 {
        match self {
            DeliveryOutcome::Answered { duration_us, .. }
            | DeliveryOutcome::Failed { duration_us, .. } => *duration_us,
        }
    }

    /// The same outcome with only the status of the answer: what an ack carries when no sender
    /// waits for the answer.
    pub fn status_only(self) -> Self {
        match self {
            DeliveryOutcome::Answered {
                response,
                duration_us,
            } => DeliveryOutcome::Answered {
                response: HttpResponse {
                    status: response.status,
                    headers: Vec::new(),
                    body: Blob::default(),
                },
                duration_us,
            },
            failed => failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::EventId;

    #[test]
    fn event_ids_are_version_7_and_sort_by_creation_time() {
        let first = EventId::new();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let later: Vec<EventId> = (0..100).map(|_| EventId::new()).collect();
        assert_eq!(first.0.get_version_num(), 7);
        assert!(later.iter().all(|id| *id > first), "{first} sorts first");
        let distinct: std::collections::HashSet<_> = later.iter().collect();
        assert_eq!(distinct.len(), later.len());
    }
}
