//! The HAR 1.2 document model (serde), plus the `_hookrelay` fields that make it lossless.
//!
//! Fields a foreign HAR file may leave out default on import, so only what a capture cannot do
//! without (method, url, status) is required there.

use crate::model::CaptureKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::{DeliveryError, EventId};

pub(super) const HTTP_VERSION: &str = "HTTP/1.1";

/// The document as exported. Import walks the JSON instead, to name the entry that is wrong.
#[derive(Serialize)]
pub(super) struct Har {
    pub(super) log: Log,
}

#[derive(Serialize)]
pub(super) struct Log {
    pub(super) version: String,
    pub(super) creator: Creator,
    /// Always empty: captures belong to no page. Some viewers expect the list.
    pub(super) pages: Vec<Value>,
    pub(super) entries: Vec<Entry>,
}

#[derive(Serialize)]
pub(super) struct Creator {
    pub(super) name: String,
    pub(super) version: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Entry {
    #[serde(default)]
    pub(super) started_date_time: String,
    #[serde(default)]
    pub(super) time: f64,
    pub(super) request: Request,
    pub(super) response: Response,
    #[serde(default)]
    pub(super) cache: serde_json::Map<String, Value>,
    #[serde(default)]
    pub(super) timings: Option<Timings>,
    #[serde(
        rename = "_hookrelay",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) hookrelay: Option<Extra>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Request {
    pub(super) method: String,
    pub(super) url: String,
    #[serde(default)]
    pub(super) http_version: String,
    #[serde(default)]
    pub(super) cookies: Vec<Value>,
    #[serde(default)]
    pub(super) headers: Vec<HarHeader>,
    #[serde(default)]
    pub(super) query_string: Vec<NameValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) post_data: Option<PostData>,
    #[serde(default)]
    pub(super) headers_size: i64,
    #[serde(default)]
    pub(super) body_size: i64,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Response {
    /// A number for foreign files' sake (some write -1); ours is a `u16` or 0 when there was none.
    pub(super) status: i64,
    #[serde(default)]
    pub(super) status_text: String,
    #[serde(default)]
    pub(super) http_version: String,
    #[serde(default)]
    pub(super) cookies: Vec<Value>,
    #[serde(default)]
    pub(super) headers: Vec<HarHeader>,
    #[serde(default)]
    pub(super) content: Content,
    #[serde(rename = "redirectURL", default)]
    pub(super) redirect_url: String,
    #[serde(default)]
    pub(super) headers_size: i64,
    #[serde(default)]
    pub(super) body_size: i64,
}

#[derive(Serialize, Deserialize)]
pub(super) struct HarHeader {
    pub(super) name: String,
    pub(super) value: String,
    /// The exact value, when it is not UTF-8 (`value` then holds a lossy rendering).
    #[serde(
        rename = "_hookrelayBase64",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) base64: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct NameValue {
    pub(super) name: String,
    pub(super) value: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PostData {
    #[serde(default)]
    pub(super) mime_type: String,
    #[serde(default)]
    pub(super) text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) encoding: Option<String>,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Content {
    #[serde(default)]
    pub(super) size: i64,
    #[serde(default)]
    pub(super) mime_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) encoding: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct Timings {
    pub(super) send: f64,
    pub(super) wait: f64,
    pub(super) receive: f64,
}

/// What HAR cannot carry.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Extra {
    pub(super) id: EventId,
    pub(super) seq: Option<u64>,
    pub(super) source: String,
    pub(super) kind: CaptureKind,
    pub(super) received_at_ms: u64,
    pub(super) delivered_at_ms: Option<u64>,
    pub(super) answered_at_ms: Option<u64>,
    pub(super) path: String,
    pub(super) query: Option<String>,
    pub(super) target_url: String,
    pub(super) duplicate: bool,
    pub(super) replay_of: Option<EventId>,
    /// `None` while pending.
    pub(super) outcome: Option<ExtraOutcome>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ExtraOutcome {
    pub(super) duration_us: u64,
    /// Whether `response` holds the local service's answer (else it is a status-0 placeholder).
    pub(super) has_response: bool,
    pub(super) error: Option<DeliveryError>,
}
