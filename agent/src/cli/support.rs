//! Helpers the subcommands share: data directory, logs, durations, targets.

use crate::capture::CaptureStore;
use crate::config::AgentConfig;
use crate::target::Target;
use anyhow::Context;
use shared::Since;
use std::path::Path;
use std::path::PathBuf;

pub(crate) fn data_dir(data: &Option<PathBuf>) -> PathBuf {
    match data {
        Some(dir) => dir.clone(),
        None => CaptureStore::default_path()
            .parent()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(".")),
    }
}

pub(crate) fn open_store(data: &Option<PathBuf>) -> anyhow::Result<CaptureStore> {
    CaptureStore::open(&data_dir(data).join("captures.sqlite3"))
}

pub(crate) fn auth_of(cli: &RelayCli) -> anyhow::Result<Option<(String, String)>> {
    cli.auth_header.as_deref().map(parse_header).transpose()
}

pub(crate) fn source_url(cli: &RelayCli, data: &Option<PathBuf>) -> String {
    let saved = AgentConfig::load(&AgentConfig::default_path()).unwrap_or_default();
    let relay = cli.relay.clone().or(saved.relay);
    let relay = resolve_relay(relay.as_deref(), &data_dir(data));
    format!("{relay}/h/{}", cli.source)
}

/// The target a capture was delivered to, minus the sender's own suffix and query.
pub(crate) fn original_target(c: &crate::model::Capture) -> anyhow::Result<Target> {
    let url = c.target_url.as_str();
    let base = url
        .strip_suffix(c.request.path_and_query().as_str())
        .unwrap_or(url);
    Target::parse(base, "").with_context(|| {
        format!(
            "capture {} has no usable target URL ({url:?}); pass --to",
            c.id
        )
    })
}

pub(crate) fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub(crate) fn init_file_logs(dir: &std::path::Path) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = std::fs::create_dir_all(dir);
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("agent.log"))
    else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}

pub(crate) fn parse_since(s: &str) -> anyhow::Result<Since> {
    if let Ok(seq) = s.parse::<u64>() {
        return Ok(Since::Seq(seq));
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().with_context(|| {
        format!("--since {s:?}: expected a sequence number or a duration like 30m")
    })?;
    let ms = match unit {
        "ms" => n,
        "s" => n * 1000,
        "m" => n * 60_000,
        "h" => n * 3_600_000,
        "d" => n * 86_400_000,
        _ => anyhow::bail!("--since {s:?}: unknown unit {unit:?} (use s, m, h or d)"),
    };
    Ok(Since::AgoMs(ms))
}

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

/// Where hooks are sent: the relay and source, plus Okta's auth header.
#[derive(clap::Args)]
pub struct RelayCli {
    /// Relay URL (default: the running embedded relay).
    #[arg(long, env = "HOOKRELAY_RELAY")]
    pub relay: Option<String>,
    /// Source.
    #[arg(long, env = "HOOKRELAY_SOURCE", default_value = "okta")]
    pub source: String,
    /// Auth header Okta sends, e.g. 'Authorization: Basic abc=' (the hook's Authentication field and secret).
    #[arg(long, env = "HOOKRELAY_AUTH_HEADER", hide_env_values = true)]
    pub auth_header: Option<String>,
    /// Accept any certificate.
    #[arg(long)]
    pub insecure: bool,
}

/// Completes on Ctrl-C or SIGTERM (what `docker stop`, systemd and process managers send).
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
