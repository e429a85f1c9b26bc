//! HAR 1.2 for captures: standard fields for browsers' devtools, `_hookrelay` fields for the rest.
//!
//! Spec: <http://www.softwareishard.com/blog/har-12-spec/>. What HAR cannot say — ids, relay
//! sequence, kind, exact timestamps, raw query, non-UTF-8 header values, the delivery error — goes
//! into custom fields (HAR reserves names starting with `_`), so our own files import losslessly.
//! HAR files from elsewhere import best-effort from the standard fields alone.

use crate::model::{now_ms, Capture, CaptureKind};
use anyhow::{anyhow, bail, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;
use shared::{Blob, DeliveryError, DeliveryOutcome, EventId, Header, HttpRequest, HttpResponse};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::har_model::{
    Content, Creator, Entry, Extra, ExtraOutcome, Har, HarHeader, Log, NameValue, PostData,
    Request, Response, Timings, HTTP_VERSION,
};
use super::query::parse_query;

/// The HAR document for `captures`, in their order.
pub(super) fn to_har(captures: &[Capture]) -> anyhow::Result<Vec<u8>> {
    let entries = captures
        .iter()
        .map(|c| to_entry(c).with_context(|| format!("exporting capture {}", c.id)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let har = Har {
        log: Log {
            version: "1.2".into(),
            pages: vec![],
            creator: Creator {
                name: "hookrelay".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            entries,
        },
    };
    let mut out = serde_json::to_vec_pretty(&har).context("writing HAR")?;
    out.push(b'\n');
    Ok(out)
}

fn to_entry(c: &Capture) -> anyhow::Result<Entry> {
    let started =
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(c.received_at_ms) * 1_000_000)
            .context("received_at_ms is out of range")?
            .format(&Rfc3339)
            .context("formatting startedDateTime")?;
    let wait_ms = c
        .outcome
        .as_ref()
        .map_or(0.0, |o| o.duration_us() as f64 / 1000.0);
    let req = &c.request;
    let post_data = (!req.body.is_empty()).then(|| {
        let (text, encoding) = encode_body(&req.body);
        PostData {
            mime_type: content_type(&req.headers),
            text,
            encoding,
        }
    });
    let request = Request {
        method: req.method.clone(),
        url: if c.target_url.is_empty() {
            format!(
                "http://hookrelay.invalid/h/{}{}",
                c.source,
                req.path_and_query()
            )
        } else {
            c.target_url.clone()
        },
        http_version: HTTP_VERSION.into(),
        cookies: vec![],
        headers: to_har_headers(&req.headers),
        query_string: req
            .query
            .as_deref()
            .map(parse_query)
            .unwrap_or_default()
            .into_iter()
            .map(|(name, value)| NameValue { name, value })
            .collect(),
        post_data,
        headers_size: -1,
        body_size: req.body.len() as i64,
    };
    let answer = c.outcome.as_ref().and_then(|o| o.response());
    let response = match answer {
        Some(r) => {
            let (text, encoding) = encode_body(&r.body);
            Response {
                status: i64::from(r.status),
                status_text: http::StatusCode::from_u16(r.status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("")
                    .into(),
                http_version: HTTP_VERSION.into(),
                cookies: vec![],
                headers: to_har_headers(&r.headers),
                content: Content {
                    size: r.body.len() as i64,
                    mime_type: content_type(&r.headers),
                    text: Some(text),
                    encoding,
                },
                redirect_url: String::new(),
                headers_size: -1,
                body_size: r.body.len() as i64,
            }
        }
        None => Response {
            status: 0,
            status_text: c
                .outcome
                .as_ref()
                .and_then(|o| o.error())
                .map(|e| e.to_string())
                .unwrap_or_default(),
            http_version: HTTP_VERSION.into(),
            cookies: vec![],
            headers: vec![],
            content: Content {
                size: 0,
                mime_type: String::new(),
                text: None,
                encoding: None,
            },
            redirect_url: String::new(),
            headers_size: -1,
            body_size: 0,
        },
    };
    Ok(Entry {
        started_date_time: started,
        time: wait_ms,
        request,
        response,
        cache: serde_json::Map::new(),
        timings: Some(Timings {
            send: 0.0,
            wait: wait_ms,
            receive: 0.0,
        }),
        hookrelay: Some(Extra {
            id: c.id,
            seq: c.seq(),
            source: c.source.clone(),
            kind: c.kind,
            received_at_ms: c.received_at_ms,
            delivered_at_ms: c.delivered_at_ms,
            answered_at_ms: c.answered_at_ms,
            path: req.path.clone(),
            query: req.query.clone(),
            target_url: c.target_url.clone(),
            duplicate: c.duplicate,
            replay_of: c.replay_of,
            outcome: c.outcome.as_ref().map(|o| ExtraOutcome {
                duration_us: o.duration_us(),
                has_response: o.response().is_some(),
                error: o.error().cloned(),
            }),
        }),
    })
}

/// The captures in a HAR document.
pub(super) fn from_har(doc: Value) -> anyhow::Result<Vec<Capture>> {
    let Some(log) = doc.get("log").and_then(Value::as_object) else {
        bail!("not a HAR file: no \"log\" object");
    };
    let Some(entries) = log.get("entries").and_then(Value::as_array) else {
        bail!("not a HAR file: \"log.entries\" is not an array");
    };
    entries
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let entry = Entry::deserialize(v).with_context(|| format!("HAR entry {i}"))?;
            from_entry(entry).with_context(|| format!("HAR entry {i}"))
        })
        .collect()
}

fn from_entry(e: Entry) -> anyhow::Result<Capture> {
    let request_headers = from_har_headers(e.request.headers)?;
    let body = match e.request.post_data {
        Some(p) => decode_body(p.text, p.encoding.as_deref()).context("request.postData")?,
        None => Blob::default(),
    };
    let response_headers = from_har_headers(e.response.headers)?;
    let response_body = match e.response.content.text {
        Some(text) => {
            decode_body(text, e.response.content.encoding.as_deref()).context("response.content")?
        }
        None => Blob::default(),
    };
    // Status 0 (or anything that is no status code) means there was no answer.
    let response = u16::try_from(e.response.status)
        .ok()
        .filter(|s| *s > 0)
        .map(|status| HttpResponse {
            status,
            headers: response_headers,
            body: response_body,
        });
    let Some(x) = e.hookrelay else {
        return Ok(foreign(
            e.started_date_time,
            e.time,
            e.request.method,
            e.request.url,
            request_headers,
            body,
            response,
        ));
    };
    let outcome = match x.outcome {
        None => None,
        Some(o) => Some(match (o.has_response, response) {
            (true, Some(r)) => DeliveryOutcome::answered(r, o.duration_us),
            (true, None) => bail!("response.status {} is not a status code", e.response.status),
            (false, _) => DeliveryOutcome::failed(
                o.error
                    .unwrap_or_else(|| DeliveryError::Other("no answer recorded".into())),
                o.duration_us,
            ),
        }),
    };
    Ok(Capture {
        event: shared::Event {
            seq: x.seq.unwrap_or(0),
            id: x.id,
            received_at_ms: x.received_at_ms,
            duplicate: x.duplicate,
            proxied: false,
            request: HttpRequest {
                method: e.request.method,
                path: x.path,
                query: x.query,
                headers: request_headers,
                body,
            },
        },
        source: x.source,
        kind: x.kind,
        delivered_at_ms: x.delivered_at_ms,
        answered_at_ms: x.answered_at_ms,
        target_url: x.target_url,
        outcome,
        replay_of: x.replay_of,
    })
}

/// A capture from another tool's HAR entry, from the standard fields alone.
fn foreign(
    started: String,
    time_ms: f64,
    method: String,
    url: String,
    headers: Vec<Header>,
    body: Blob,
    response: Option<HttpResponse>,
) -> Capture {
    let received_at_ms = OffsetDateTime::parse(&started, &Rfc3339)
        .ok()
        .and_then(|t| u64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok())
        .unwrap_or_else(now_ms);
    let after_authority = url.split_once("://").map_or(url.as_str(), |(_, rest)| {
        rest.find('/').map_or("", |i| &rest[i..])
    });
    let without_fragment = after_authority.split('#').next().unwrap_or("");
    let (path, query) = match without_fragment.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (without_fragment.to_owned(), None),
    };
    let duration_us = if time_ms.is_finite() && time_ms > 0.0 {
        (time_ms * 1000.0) as u64
    } else {
        0
    };
    let outcome = match response {
        Some(response) => DeliveryOutcome::answered(response, duration_us),
        None => DeliveryOutcome::failed(
            DeliveryError::Other("no response in the HAR file".into()),
            duration_us,
        ),
    };
    Capture {
        event: shared::Event {
            seq: 0,
            id: EventId::new(),
            received_at_ms,
            duplicate: false,
            proxied: false,
            request: HttpRequest {
                method,
                path,
                query,
                headers,
                body,
            },
        },
        source: String::new(),
        kind: CaptureKind::Imported,
        delivered_at_ms: None,
        answered_at_ms: None,
        target_url: url,
        outcome: Some(outcome),
        replay_of: None,
    }
}

fn to_har_headers(headers: &[Header]) -> Vec<HarHeader> {
    headers
        .iter()
        .map(|h| HarHeader {
            name: h.0.clone(),
            value: h.1.to_string_lossy(),
            base64: h.1.as_str().is_none().then(|| STANDARD.encode(h.value())),
        })
        .collect()
}

fn from_har_headers(headers: Vec<HarHeader>) -> anyhow::Result<Vec<Header>> {
    headers
        .into_iter()
        .map(|h| {
            let value = match h.base64 {
                Some(b64) => Blob::from(
                    STANDARD
                        .decode(b64.as_bytes())
                        .with_context(|| format!("header {}: invalid base64", h.name))?,
                ),
                None => Blob::from(h.value),
            };
            Ok(Header(h.name, value))
        })
        .collect()
}

/// HAR text for a body: the text itself when UTF-8, else base64 with `encoding: "base64"`.
fn encode_body(body: &Blob) -> (String, Option<String>) {
    match body.as_str() {
        Some(text) => (text.to_owned(), None),
        None => (STANDARD.encode(body.as_bytes()), Some("base64".into())),
    }
}

fn decode_body(text: String, encoding: Option<&str>) -> anyhow::Result<Blob> {
    match encoding {
        None | Some("") => Ok(Blob::from(text)),
        Some(e) if e.eq_ignore_ascii_case("base64") => Ok(Blob::from(
            STANDARD
                .decode(text.as_bytes())
                .context("invalid base64 text")?,
        )),
        Some(other) => Err(anyhow!("unsupported encoding {other:?}")),
    }
}

fn content_type(headers: &[Header]) -> String {
    shared::exchange::header_str(headers, "content-type")
        .unwrap_or("")
        .to_owned()
}
