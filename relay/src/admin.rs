//! `relay source …`: per-source settings, applied to the data directory of a running relay
//! (the relay re-reads a source's settings at least every [`crate::state::SOURCE_CACHE_TTL`], so
//! changes take effect within a second).

use crate::store::{SenderAuth, SourceInfo, Store, PROXY_DEADLINE_RANGE_MS};
use anyhow::{bail, Context};

/// Checks a source name: 1-64 characters of `a-z A-Z 0-9 - _ .`.
pub fn validate_source(name: &str) -> anyhow::Result<()> {
    Ok(shared::sources::validate_name(name)?)
}

/// Parses `NAME: VALUE` (whitespace around the value is trimmed). The error never repeats
/// the value, which is a secret.
pub fn parse_require_header(spec: &str) -> anyhow::Result<SenderAuth> {
    let Some((name, value)) = spec.split_once(':') else {
        bail!("--require-header expects 'NAME: VALUE', e.g. 'Authorization: <secret>'");
    };
    let name = name.trim();
    let value = value.trim();
    axum::http::HeaderName::from_bytes(name.as_bytes())
        .with_context(|| format!("{name:?} is not a valid header name"))?;
    if value.is_empty() {
        bail!("the value of header {name:?} is empty");
    }
    if axum::http::HeaderValue::from_str(value).is_err() {
        bail!("the value of header {name:?} has characters a header cannot carry");
    }
    Ok(SenderAuth {
        name: name.to_string(),
        value: value.into(),
    })
}

/// Checks a proxy deadline given to `relay source set`.
pub fn validate_proxy_deadline(ms: u64) -> anyhow::Result<u64> {
    if !PROXY_DEADLINE_RANGE_MS.contains(&ms) {
        bail!(
            "--proxy-deadline-ms must be between {} and {} (Okta waits 3000 ms for an inline hook)",
            PROXY_DEADLINE_RANGE_MS.start(),
            PROXY_DEADLINE_RANGE_MS.end()
        );
    }
    Ok(ms)
}

/// What `relay source list` shows of a source: never the secret.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SourceView {
    /// Its name.
    pub name: String,
    /// `auto`, `ack` or `proxy`.
    pub mode: String,
    /// The source's own proxy deadline, if it has one (else the relay's default).
    pub proxy_deadline_ms: Option<u64>,
    /// Whether senders must present a header.
    pub requires_header: bool,
    /// That header's name.
    pub header_name: Option<String>,
    /// The source's own retention in days, if it has one.
    pub retention_days: Option<u64>,
    /// The source's own retention in events, if it has one.
    pub retention_events: Option<u64>,
}

impl From<&SourceInfo> for SourceView {
    fn from(s: &SourceInfo) -> Self {
        let settings = &s.settings;
        SourceView {
            name: s.name.clone(),
            mode: settings.mode.to_string(),
            proxy_deadline_ms: settings.proxy_deadline_ms,
            requires_header: settings.sender_auth.is_some(),
            header_name: settings.sender_auth.as_ref().map(|a| a.name.clone()),
            retention_days: settings.retention_days,
            retention_events: settings.retention_events,
        }
    }
}

/// Every source, without secrets.
pub fn list(store: &dyn Store) -> anyhow::Result<Vec<SourceView>> {
    Ok(store
        .sources()
        .context("reading sources")?
        .iter()
        .map(SourceView::from)
        .collect())
}

/// `relay source list` as a table.
pub fn render_table(views: &[SourceView]) -> String {
    let or_default =
        |v: Option<u64>, unit: &str| v.map_or("default".to_string(), |v| format!("{v}{unit}"));
    let mut out = format!(
        "{:<24} {:<6} {:<10} {:<10} SENDER HEADER\n",
        "SOURCE", "MODE", "DEADLINE", "RETENTION"
    );
    for v in views {
        let header = v
            .header_name
            .as_deref()
            .map_or("none".to_string(), |n| format!("{n} (required)"));
        let retention = match (v.retention_days, v.retention_events) {
            (None, None) => "default".to_string(),
            (days, events) => format!("{}/{}", or_default(days, "d"), or_default(events, "")),
        };
        out.push_str(&format!(
            "{:<24} {:<6} {:<10} {:<10} {header}\n",
            v.name,
            v.mode,
            or_default(v.proxy_deadline_ms, "ms"),
            retention
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn require_header_parses_and_rejects() {
        let a = parse_require_header("Authorization:  s3cret ").expect("parse");
        assert_eq!(a.name, "Authorization");
        assert_eq!(a.value.expose(), "s3cret");
        assert!(parse_require_header("no colon").is_err());
        assert!(parse_require_header("Bad Name: x").is_err());
        let err = parse_require_header("X-A:   ").expect_err("empty");
        assert!(err.to_string().contains("empty"));
        let err = parse_require_header("X-A: a\u{7f}b").expect_err("bad");
        assert!(!format!("{err:#}").contains("a\u{7f}b"));
    }

    #[test]
    fn source_names_are_checked() {
        assert!(validate_source("okta-prod.1").is_ok());
        assert!(validate_source("").is_err());
        assert!(validate_source("a/b").is_err());
    }
}
