//! The `agent` command line: argument types and the dispatch to each subcommand.

mod listen;
mod okta;
mod support;

use listen::run_listen;
use okta::run_trigger;
use support::*;

use crate::config::AgentConfig;
use crate::deliver::{DeliverOptions, Deliverer};
use crate::output;
use crate::target::Target;
use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use shared::{Mode, Since};
use std::path::PathBuf;
#[derive(Parser)]
#[command(
    name = "agent",
    version,
    about = "hookrelay agent: webhooks from a relay to your local service"
)]
pub struct Cli {
    /// Capture store location (default: the platform data directory).
    #[arg(long, global = true, env = "HOOKRELAY_AGENT_DATA")]
    pub data: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Deliver every webhook of a source to a local port or URL.
    Listen(ListenArgs),
    /// List captured exchanges.
    Events {
        /// Print JSON lines.
        #[arg(long)]
        json: bool,
        /// How many (newest).
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Send a captured request to the local service again.
    Replay {
        /// Capture id (or a unique prefix).
        id: String,
        /// Where to send it: a port or URL (default: the capture's original target).
        #[arg(long)]
        to: Option<String>,
        /// Path under the port (with --to PORT).
        #[arg(long, default_value = "/okta-webhooks-endpoint")]
        path: String,
        /// Accept any certificate from an https target.
        #[arg(long)]
        insecure: bool,
        /// Open the request's headers and body in $EDITOR first and send the edited request.
        #[arg(long)]
        edit: bool,
    },
    /// Send realistic Okta hooks through the relay (or any URL).
    Trigger(TriggerCli),
    /// Play Okta's one-time verification against the source's URL (or any URL).
    Verify {
        /// URL to verify (default: the source's public URL).
        url: Option<String>,
        #[command(flatten)]
        relay: RelayCli,
    },
    /// Save a default relay, token and source for `listen`, `trigger` and `verify`.
    Login {
        /// Relay URL, e.g. https://relay.example.com.
        #[arg(long)]
        relay: String,
        /// Agent token (from `relay token create`).
        #[arg(long, env = "HOOKRELAY_TOKEN", hide_env_values = true)]
        token: String,
        /// Default source.
        #[arg(long)]
        source: Option<String>,
    },
    /// Write captured exchanges as HAR, JSON or NDJSON.
    Export {
        /// Format.
        #[arg(long, default_value = "har")]
        format: crate::export::ExportFormat,
        /// Only captures newer than this (30m, 2h, 1d).
        #[arg(long)]
        since: Option<String>,
        /// Write to this file instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Capture ids (or unique prefixes); default: all.
        ids: Vec<String>,
    },
    /// Load exchanges from a HAR, JSON or NDJSON file (e.g. a teammate's export).
    Import {
        /// The file.
        file: PathBuf,
    },
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

#[derive(clap::Args)]
pub struct TriggerCli {
    /// Event types (or unique fragments), e.g. user.lifecycle.create.
    pub event_types: Vec<String>,
    /// Print the supported event types, one per line.
    #[arg(long)]
    pub list: bool,
    /// Send an inline hook instead: token, saml, registration, password-import, user-import, telephony.
    #[arg(long)]
    pub inline: Option<crate::okta_kit::InlineKind>,
    /// Number of deliveries (default: enough to send each named type once).
    #[arg(long)]
    pub count: Option<u32>,
    /// Events per delivery.
    #[arg(long, default_value_t = 1)]
    pub batch: u32,
    /// Send to this URL instead of the source's public URL.
    #[arg(long)]
    pub to: Option<String>,
    #[command(flatten)]
    pub relay: RelayCli,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Output {
    Tui,
    Compact,
    Json,
    Quiet,
}

#[derive(clap::Args)]
pub struct ListenArgs {
    /// Local port (e.g. 1337) or URL (http:// or https://) to deliver to.
    pub target: String,
    /// Path on the local service.
    #[arg(
        long,
        env = "HOOKRELAY_PATH",
        default_value = "/okta-webhooks-endpoint"
    )]
    pub path: String,
    /// Relay URL; without it an embedded relay runs on 127.0.0.1. Several instances of one
    /// relay (on one database): repeat it or separate them with commas, and the agent moves to
    /// the next when one fails.
    #[arg(long, env = "HOOKRELAY_RELAY", value_delimiter = ',')]
    pub relay: Vec<String>,
    /// Agent token (from `relay token create`).
    #[arg(long, env = "HOOKRELAY_TOKEN", hide_env_values = true)]
    pub token: Option<shared::Secret>,
    /// Source to listen on.
    #[arg(long, env = "HOOKRELAY_SOURCE", default_value = "okta")]
    pub source: String,
    /// How the embedded relay answers senders: auto (default: Okta inline hooks get the local
    /// answer, everything else 200 once stored), ack (always 200 once stored) or proxy (always
    /// the local answer). Only for the embedded relay: on a relay of your own the mode is the
    /// source's setting, `relay source set NAME --mode …`.
    #[arg(long, env = "HOOKRELAY_MODE")]
    pub mode: Option<Mode>,
    /// Output: tui when stdout is a terminal, compact otherwise.
    #[arg(long, value_enum, env = "HOOKRELAY_OUTPUT")]
    pub output: Option<Output>,
    /// Accept any certificate from an https local service or relay.
    #[arg(long)]
    pub insecure: bool,
    /// Local service timeout in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    pub timeout_ms: u64,
    /// How long the embedded relay lets a proxied sender wait for the local answer, in
    /// milliseconds (100-30000). Only for the embedded relay: on a relay of your own use
    /// `relay source set NAME --proxy-deadline-ms N`.
    #[arg(long)]
    pub proxy_deadline_ms: Option<u64>,
    /// Unacknowledged events in flight.
    #[arg(long, default_value_t = shared::protocol::DEFAULT_WINDOW)]
    pub window: u32,
    /// Acknowledged events delivered to the local service at once [default: 1 — one at a time,
    /// in the order the relay received them]. Proxied events (a sender waits for each answer)
    /// are always delivered at once, up to 16 or this many. Okta itself promises no order.
    #[arg(long, env = "HOOKRELAY_CONCURRENCY",
          value_parser = clap::builder::ValueParser::new(clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1024)))]
    pub concurrency: Option<usize>,
    /// For an agent new to the source: start at a sequence number or a duration ago (30m, 2h, 1d).
    #[arg(long)]
    pub since: Option<String>,
    /// Do not deliver Okta redeliveries (same eventId or uuids); they are still shown.
    #[arg(long)]
    pub drop_duplicates: bool,
    /// Heartbeat interval in milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub heartbeat_ms: u64,
    /// First port tried for the embedded relay.
    #[arg(long, default_value_t = crate::embedded::DEFAULT_PORT)]
    pub embedded_port: u16,
}

/// Runs one parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Listen(args) => run_listen(&cli.data, args).await,
        Command::Events { json, limit } => {
            init_logs();
            let store = open_store(&cli.data)?;
            for c in store.recent(limit)? {
                if json {
                    println!("{}", output::capture_json(&c));
                } else {
                    println!("{}  {}", c.id, output::compact_line(&c));
                }
            }
            Ok(())
        }
        Command::Replay {
            id,
            to,
            path,
            insecure,
            edit,
        } => {
            init_logs();
            let store = open_store(&cli.data)?;
            let original = store.resolve(&id)?;
            let target = match to {
                Some(spec) => Target::parse(&spec, &path)?,
                None => original_target(&original)?,
            };
            let deliverer = Deliverer::new(&DeliverOptions {
                insecure,
                ..Default::default()
            });
            let edited = if edit {
                use crate::tui::editor;
                let text = editor::to_text(&original.request).context(
                    "this request's body is binary and cannot be edited as text; replay it without --edit",
                )?;
                let changed = tokio::task::spawn_blocking(move || editor::edit(&text))
                    .await
                    .context("the editor task failed")??;
                match editor::from_text(&changed, &original.request)? {
                    Some(req) => Some(req),
                    None => {
                        eprintln!("the file was emptied: replay cancelled");
                        return Ok(());
                    }
                }
            } else {
                None
            };
            let c =
                crate::replay::replay(&store, &deliverer, &target, &original, edited, None).await?;
            println!("{}  {}", c.id, output::compact_line(&c));
            if c.outcome.as_ref().and_then(|o| o.error()).is_some() {
                anyhow::bail!("replay failed");
            }
            Ok(())
        }
        Command::Trigger(t) => run_trigger(&cli.data, t).await,
        Command::Login {
            relay,
            token,
            source,
        } => {
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
        Command::Verify { url, relay } => {
            init_logs();
            let url = url.unwrap_or_else(|| source_url(&relay, &cli.data));
            let auth = auth_of(&relay)?;
            let report = crate::commands::verify::verify(
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
        Command::Export {
            format,
            since,
            output,
            ids,
        } => {
            init_logs();
            let store = open_store(&cli.data)?;
            let since_ms = since
                .as_deref()
                .map(|s| match parse_since(s)? {
                    Since::AgoMs(ms) => Ok(crate::model::now_ms().saturating_sub(ms)),
                    _ => anyhow::bail!("--since takes a duration such as 30m, 2h or 1d"),
                })
                .transpose()?;
            let captures = crate::commands::export::select(&store, &ids, since_ms)?;
            let bytes = crate::commands::export::render(&captures, format)?;
            match output {
                Some(path) => {
                    std::fs::write(&path, &bytes)
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!("wrote {} capture(s) to {}", captures.len(), path.display());
                }
                None => {
                    use std::io::Write;
                    std::io::stdout().write_all(&bytes)?;
                }
            }
            Ok(())
        }
        Command::Import { file } => {
            init_logs();
            let store = open_store(&cli.data)?;
            let n = crate::commands::export::import_file(&store, &file)?;
            eprintln!(
                "imported {n} capture(s) from {}; replay one with `agent replay ID`",
                file.display()
            );
            Ok(())
        }
    }
}
