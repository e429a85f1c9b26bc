//! `agent verify`: play Okta's one-time verification against a URL.

use crate::deliver::DeliverOptions;
use crate::okta_kit::{verify_with, VerifyReport, VERIFY_TIMEOUT};

/// Plays the handshake exactly as Okta does (3 s budget, one retry).
pub async fn verify(url: &str, auth: Option<(&str, &str)>, insecure: bool) -> VerifyReport {
    verify_with(
        url,
        auth,
        &DeliverOptions {
            timeout: VERIFY_TIMEOUT,
            insecure,
        },
    )
    .await
}
