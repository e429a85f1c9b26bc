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
    /// Proxy mode with no agent connected.
    #[error("no agent is connected to source {0:?}")]
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
}

impl RelayError {
    fn status(&self) -> StatusCode {
        match self {
            RelayError::UnknownSource(_) => StatusCode::NOT_FOUND,
            RelayError::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            RelayError::BadBody(_) => StatusCode::BAD_REQUEST,
            RelayError::NoAgent(_) | RelayError::LocalFailed(_) => StatusCode::BAD_GATEWAY,
            RelayError::AgentTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            RelayError::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for RelayError {
    fn into_response(self) -> Response {
        json_error(self.status(), &self.to_string())
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
