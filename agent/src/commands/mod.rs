//! The agent's one-shot subcommands: trigger, verify, export, import.

pub mod export;
pub mod trigger;
pub mod verify;

use std::path::{Path, PathBuf};

/// The file where a running `agent listen` with an embedded relay records the relay's URL, so
/// `agent trigger` and `agent verify` find it without flags.
pub fn embedded_url_file(data_dir: &Path) -> PathBuf {
    data_dir.join("embedded-relay.url")
}

/// The relay base URL to send through: `--relay`, else the running embedded relay, else the
/// embedded relay's default address.
pub fn resolve_relay(relay: Option<&str>, data_dir: &Path) -> String {
    if let Some(r) = relay {
        return r.trim_end_matches('/').to_string();
    }
    std::fs::read_to_string(embedded_url_file(data_dir))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("http://127.0.0.1:{}", crate::embedded::DEFAULT_PORT))
}

/// Parses `'Name: value'` into `(name, value)`.
pub fn parse_header(spec: &str) -> anyhow::Result<(String, String)> {
    let (name, value) = spec
        .split_once(':')
        .ok_or_else(|| anyhow::anyhow!("header {spec:?} must look like 'Name: value'"))?;
    let name = name.trim();
    if name.is_empty() || http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        anyhow::bail!("{name:?} is not a valid header name");
    }
    Ok((name.to_string(), value.trim().to_string()))
}
