//! `agent verify`: play Okta's one-time verification against a URL.

use super::support::*;
use super::RelayCli;
use crate::deliver::DeliverOptions;
use crate::okta_kit::{verify_with, VerifyReport, VERIFY_TIMEOUT};
use std::path::PathBuf;

/// Play Okta's one-time verification against the source's URL (or any URL).
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// URL to verify (default: the source's public URL).
    url: Option<String>,
    #[command(flatten)]
    relay: RelayCli,
}

/// Runs `agent verify`.
pub(crate) async fn run(data: &Option<PathBuf>, args: VerifyArgs) -> anyhow::Result<()> {
    let VerifyArgs { url, relay } = args;
    init_logs();
    let url = url.unwrap_or_else(|| source_url(&relay, data));
    let auth = auth_of(&relay)?;
    let report = verify(
        &url,
        auth.as_ref().map(|(n, v)| (n.as_str(), v.as_str())),
        relay.insecure,
    )
    .await;
    let verdict = if report.passed { "PASS" } else { "FAIL" };
    println!(
        "{verdict} {url}: {} ({} attempt(s), {} ms)",
        report.reason, report.attempts, report.elapsed_ms
    );
    if !report.passed {
        anyhow::bail!("verification failed: {}", report.reason);
    }
    Ok(())
}

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
