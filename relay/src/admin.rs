//! `relay source …`: per-source settings, applied to the data directory of a running relay
//! (ingress reads them from the store on every request, so changes take effect at once).

use crate::store::{SenderAuth, SourceInfo, Store};
use anyhow::{bail, Context};

/// Checks a source name: 1-64 characters of `a-z A-Z 0-9 - _ .`.
pub fn validate_source(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if !ok {
        bail!("source names are 1-64 characters of a-z, A-Z, 0-9, '-', '_' or '.'");
    }
    Ok(())
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
        value: value.to_string(),
    })
}

/// What `relay source list` shows of a source: never the secret.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SourceView {
    /// Its name.
    pub name: String,
    /// `ack` or `proxy`.
    pub mode: String,
    /// Whether senders must present a header.
    pub requires_header: bool,
    /// That header's name.
    pub header_name: Option<String>,
}

impl From<&SourceInfo> for SourceView {
    fn from(s: &SourceInfo) -> Self {
        SourceView {
            name: s.name.clone(),
            mode: s.mode.to_string(),
            requires_header: s.sender_auth.is_some(),
            header_name: s.sender_auth.as_ref().map(|a| a.name.clone()),
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
    let mut out = format!("{:<24} {:<6} SENDER HEADER\n", "SOURCE", "MODE");
    for v in views {
        let header = v
            .header_name
            .as_deref()
            .map_or("none".to_string(), |n| format!("{n} (required)"));
        out.push_str(&format!("{:<24} {:<6} {header}\n", v.name, v.mode));
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
        assert_eq!(a.value, "s3cret");
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
