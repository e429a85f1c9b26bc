//! Errors a webhook sender can see, mapped to status codes with a short JSON body.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// What went wrong with one webhook request.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// No such source.
    #[error("unknown source {0:?}")]
    UnknownSource(String),
    /// The body is over the limit.
    #[error("body exceeds the limit of {0} bytes")]
    BodyTooLarge(usize),
    /// The body could not be read.
    #[error("could not read the request body: {0}")]
    BadBody(String),
    /// A sender waits for the local answer (proxy mode, or an inline hook in auto mode) and no
    /// agent is connected to give it.
    #[error(
        "no agent is connected to source {0:?}, so nobody can answer this request; start `agent listen` for this source"
    )]
    NoAgent(String),
    /// Proxy mode, the agent did not answer in time.
    #[error("the agent did not answer within {0} ms")]
    AgentTimeout(u64),
    /// Proxy mode, the local service could not be reached.
    #[error("the local service failed: {0}")]
    LocalFailed(String),
    /// The event could not be stored; nothing was accepted.
    #[error("the event could not be stored; try again")]
    StoreUnavailable,
    /// The sender did not present the source's required header.
    #[error("sender authentication failed: missing or wrong authentication header")]
    Unauthorized,
    /// Too many headers or header bytes.
    #[error("request headers too large: {0}")]
    HeadersTooLarge(String),
    /// The body did not arrive in time.
    #[error("the request body was not received within {0} ms")]
    ReadTimeout(u64),
    /// The source's rate limit is exhausted; retry after this many seconds.
    #[error("rate limit of source {0:?} exceeded; retry after {1} s")]
    RateLimited(String, u64),
    /// Too many undelivered events are queued for the source.
    #[error("source {0:?} has more than {1} events queued; retry later")]
    Backlog(String, u64),
}

impl RelayError {
    fn status(&self) -> StatusCode {
        match self {
            RelayError::UnknownSource(_) => StatusCode::NOT_FOUND,
            RelayError::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            RelayError::BadBody(_) => StatusCode::BAD_REQUEST,
            RelayError::NoAgent(_) | RelayError::LocalFailed(_) => StatusCode::BAD_GATEWAY,
            RelayError::AgentTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            RelayError::StoreUnavailable | RelayError::Backlog(..) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            RelayError::Unauthorized => StatusCode::UNAUTHORIZED,
            RelayError::HeadersTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            RelayError::ReadTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            RelayError::RateLimited(..) => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            RelayError::RateLimited(_, secs) => Some(*secs),
            RelayError::Backlog(..) => Some(BACKLOG_RETRY_AFTER_SECS),
            RelayError::StoreUnavailable => Some(STORE_RETRY_AFTER_SECS),
            _ => None,
        }
    }
}

/// `Retry-After` sent with a store-unavailable `503`: the store reconnects within a second
/// once its database is back.
pub const STORE_RETRY_AFTER_SECS: u64 = 1;

/// `Retry-After` sent with a full-queue `503`.
pub const BACKLOG_RETRY_AFTER_SECS: u64 = 30;

impl IntoResponse for RelayError {
    fn into_response(self) -> Response {
        let mut resp = json_error(self.status(), &self.to_string());
        if let Some(secs) = self.retry_after() {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        if matches!(self, RelayError::ReadTimeout(_)) {
            resp.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        resp
    }
}

/// A `{"error": message}` response.
pub fn json_error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "error": message }).to_string();
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}
