//! A webhook sender: plain HTTP/1.1 requests with exact control over headers and body.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// What the sender got back.
#[derive(Debug)]
pub struct Answer {
    /// Status.
    pub status: u16,
    /// Headers (lower-case names).
    pub headers: Vec<(String, Vec<u8>)>,
    /// Body.
    pub body: Bytes,
}

impl Answer {
    /// First value of a header as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request; `headers` keep their order and duplicates.
pub async fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &[u8])],
    body: impl Into<Bytes>,
) -> anyhow::Result<Answer> {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = http::Request::builder().method(method).uri(url);
    for (n, v) in headers {
        req = req.header(*n, http::HeaderValue::from_bytes(v)?);
    }
    let resp = client.request(req.body(Full::new(body.into()))?).await?;
    let (parts, body) = resp.into_parts();
    Ok(Answer {
        status: parts.status.as_u16(),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
            .collect(),
        body: body.collect().await?.to_bytes(),
    })
}

/// A `GET` without headers.
pub async fn get(url: &str) -> Answer {
    send("GET", url, &[], "").await.expect("send")
}

/// The `GET` with which Okta verifies an endpoint, carrying `challenge`.
pub async fn challenge(url: &str, challenge: &[u8]) -> Answer {
    send(
        "GET",
        url,
        &[("x-okta-verification-challenge", challenge)],
        "",
    )
    .await
    .expect("send")
}

/// `POST` with a JSON content type.
pub async fn post_json(url: &str, body: impl Into<Bytes>) -> anyhow::Result<Answer> {
    send("POST", url, &[("content-type", b"application/json")], body).await
}
