//! Delivers one request to the local service and records the answer and timings.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use shared::{Blob, DeliveryError, DeliveryOutcome, Header, HttpRequest, HttpResponse};
use std::error::Error as _;
use std::time::{Duration, Instant};

/// Headers that describe one hop, not the message; never forwarded.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

/// Largest local answer recorded; a bigger one is a failed delivery, not a memory blow-up.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// How deliveries behave.
#[derive(Clone, Debug)]
pub struct DeliverOptions {
    /// Give up on the local service after this long.
    pub timeout: Duration,
    /// Accept any certificate from an https local service.
    pub insecure: bool,
}

impl Default for DeliverOptions {
    fn default() -> Self {
        DeliverOptions {
            timeout: Duration::from_secs(30),
            insecure: false,
        }
    }
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Sends requests to the local service over pooled keep-alive connections.
#[derive(Clone)]
pub struct Deliverer {
    client: HttpsClient,
    timeout: Duration,
}

impl Deliverer {
    /// A deliverer with its own connection pool.
    pub fn new(opts: &DeliverOptions) -> Self {
        let tls = crate::tls::client_config(opts.insecure, &[]);
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(64)
            .build(https);
        Deliverer {
            client,
            timeout: opts.timeout,
        }
    }

    /// Sends `req` (method, headers, body) to `url` and records what happened. Never fails:
    /// a dead, slow or broken local service is an outcome with an error.
    pub async fn deliver(&self, url: &str, req: &HttpRequest) -> DeliveryOutcome {
        let start = Instant::now();
        let result = match build_request(url, req) {
            Ok(request) => match tokio::time::timeout(self.timeout, self.exchange(request)).await {
                Ok(r) => r,
                Err(_) => Err(DeliveryError::Timeout(self.timeout.as_millis() as u64)),
            },
            Err(e) => Err(e),
        };
        let duration_us = start.elapsed().as_micros() as u64;
        match result {
            Ok(response) => DeliveryOutcome::answered(response, duration_us),
            Err(error) => DeliveryOutcome::failed(error, duration_us),
        }
    }

    async fn exchange(
        &self,
        request: http::Request<Full<Bytes>>,
    ) -> Result<HttpResponse, DeliveryError> {
        let response = self.client.request(request).await.map_err(classify)?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| DeliveryError::BadResponse(format!("reading the body: {e}")))?
            .to_bytes();
        Ok(HttpResponse {
            status: parts.status.as_u16(),
            headers: parts
                .headers
                .iter()
                .map(|(n, v)| Header(n.as_str().to_string(), Blob::from(v.as_bytes())))
                .collect(),
            body: Blob(body),
        })
    }
}

/// Builds the outgoing request: same method, headers in order minus hop-by-hop ones, `Host`
/// set to the target, the body untouched.
pub fn build_request(
    url: &str,
    req: &HttpRequest,
) -> Result<http::Request<Full<Bytes>>, DeliveryError> {
    let invalid = |what: String| DeliveryError::InvalidRequest(what);
    let uri: http::Uri = url
        .parse()
        .map_err(|e| invalid(format!("target URL {url:?}: {e}")))?;
    let method = http::Method::from_bytes(req.method.as_bytes())
        .map_err(|_| invalid(format!("method {:?}", req.method)))?;
    let mut builder = http::Request::builder().method(method).uri(uri.clone());
    // Headers listed in `Connection` are hop-by-hop too (RFC 9110 §7.6.1).
    let named_by_connection: Vec<String> = req
        .headers
        .iter()
        .filter(|h| h.name().eq_ignore_ascii_case("connection"))
        .filter_map(|h| h.1.as_str())
        .flat_map(|v| v.split(',').map(|s| s.trim().to_ascii_lowercase()))
        .collect();
    let headers = builder.headers_mut().expect("builder has no error yet");
    if let Some(authority) = uri.authority() {
        let host = http::HeaderValue::from_str(authority.as_str())
            .map_err(|e| invalid(format!("host {authority}: {e}")))?;
        headers.insert(http::header::HOST, host);
    }
    for h in &req.headers {
        let lower = h.name().to_ascii_lowercase();
        if HOP_BY_HOP.contains(&lower.as_str()) || named_by_connection.contains(&lower) {
            continue;
        }
        let name = http::HeaderName::from_bytes(h.name().as_bytes())
            .map_err(|_| invalid(format!("header name {:?}", h.name())))?;
        let value = http::HeaderValue::from_bytes(h.value())
            .map_err(|_| invalid(format!("value of header {:?}", h.name())))?;
        headers.append(name, value);
    }
    builder
        .body(Full::new(req.body.0.clone()))
        .map_err(|e| invalid(e.to_string()))
}

fn classify(err: hyper_util::client::legacy::Error) -> DeliveryError {
    let chain = error_chain(&err);
    let mut source: Option<&(dyn std::error::Error + 'static)> = err.source();
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return DeliveryError::Refused(chain);
            }
        }
        if e.downcast_ref::<rustls::Error>().is_some() {
            return DeliveryError::Tls(chain);
        }
        source = e.source();
    }
    if err.is_connect() {
        DeliveryError::Refused(chain)
    } else {
        DeliveryError::BadResponse(chain)
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        source = e.source();
    }
    out
}
