//! `agent login`: save a default relay, token and source.

use crate::config::AgentConfig;

/// Save a default relay, token and source for `listen`, `trigger` and `verify`.
#[derive(clap::Args)]
pub struct LoginArgs {
    /// Relay URL, e.g. https://relay.example.com.
    #[arg(long)]
    relay: String,
    /// Agent token (from `relay token create`).
    #[arg(long, env = "HOOKRELAY_TOKEN", hide_env_values = true)]
    token: String,
    /// Default source.
    #[arg(long)]
    source: Option<String>,
}

/// Runs `agent login`.
pub(crate) fn run(args: LoginArgs) -> anyhow::Result<()> {
    let LoginArgs {
        relay,
        token,
        source,
    } = args;
    let path = AgentConfig::default_path();
    let cfg = AgentConfig {
        relay: Some(relay.trim_end_matches('/').to_string()),
        token: Some(token.into()),
        source,
    };
    cfg.save(&path)?;
    eprintln!(
        "saved relay {} to {}",
        cfg.relay.as_deref().unwrap_or(""),
        path.display()
    );
    Ok(())
}
