//! `agent`: listen for webhooks, inspect and replay them.

use agent::capture::CaptureStore;
use agent::config::AgentConfig;
use agent::connection::LinkOptions;
use agent::deliver::{DeliverOptions, Deliverer};
use agent::listen::{listen, ListenOptions};
use agent::output::{self, Plain};
use agent::target::Target;
use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use shared::{Mode, Since};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "agent",
    version,
    about = "hookrelay agent: webhooks from a relay to your local service"
)]
struct Cli {
    /// Capture store location (default: the platform data directory).
    #[arg(long, global = true, env = "HOOKRELAY_AGENT_DATA")]
    data: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
        format: agent::export::ExportFormat,
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
struct RelayCli {
    /// Relay URL (default: the running embedded relay).
    #[arg(long, env = "HOOKRELAY_RELAY")]
    relay: Option<String>,
    /// Source.
    #[arg(long, env = "HOOKRELAY_SOURCE", default_value = "okta")]
    source: String,
    /// Auth header Okta sends, e.g. 'Authorization: Basic abc=' (the hook's Authentication field and secret).
    #[arg(long, env = "HOOKRELAY_AUTH_HEADER", hide_env_values = true)]
    auth_header: Option<String>,
    /// Accept any certificate.
    #[arg(long)]
    insecure: bool,
}

#[derive(clap::Args)]
struct TriggerCli {
    /// Event types (or unique fragments), e.g. user.lifecycle.create.
    event_types: Vec<String>,
    /// Print the supported event types, one per line.
    #[arg(long)]
    list: bool,
    /// Send an inline hook instead: token, saml, registration, password-import, user-import, telephony.
    #[arg(long)]
    inline: Option<agent::okta_kit::InlineKind>,
    /// Number of deliveries (default: enough to send each named type once).
    #[arg(long)]
    count: Option<u32>,
    /// Events per delivery.
    #[arg(long, default_value_t = 1)]
    batch: u32,
    /// Send to this URL instead of the source's public URL.
    #[arg(long)]
    to: Option<String>,
    #[command(flatten)]
    relay: RelayCli,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Output {
    Tui,
    Compact,
    Json,
    Quiet,
}

#[derive(clap::Args)]
struct ListenArgs {
    /// Local port (e.g. 1337) or URL (http:// or https://) to deliver to.
    target: String,
    /// Path on the local service.
    #[arg(
        long,
        env = "HOOKRELAY_PATH",
        default_value = "/okta-webhooks-endpoint"
    )]
    path: String,
    /// Relay URL; without it an embedded relay runs on 127.0.0.1.
    #[arg(long, env = "HOOKRELAY_RELAY")]
    relay: Option<String>,
    /// Agent token (from `relay token create`).
    #[arg(long, env = "HOOKRELAY_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Source to listen on.
    #[arg(long, env = "HOOKRELAY_SOURCE", default_value = "okta")]
    source: String,
    /// ack: the relay answers 200 at once; proxy: the sender gets the local answer.
    #[arg(long, env = "HOOKRELAY_MODE", default_value = "ack")]
    mode: Mode,
    /// Output: tui when stdout is a terminal, compact otherwise.
    #[arg(long, value_enum, env = "HOOKRELAY_OUTPUT")]
    output: Option<Output>,
    /// Accept any certificate from an https local service or relay.
    #[arg(long)]
    insecure: bool,
    /// Local service timeout in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    timeout_ms: u64,
    /// Proxy-mode deadline in milliseconds (how long the relay waits for the local answer).
    #[arg(long)]
    proxy_deadline_ms: Option<u64>,
    /// Unacknowledged events in flight.
    #[arg(long, default_value_t = shared::protocol::DEFAULT_WINDOW)]
    window: u32,
    /// For an agent new to the source: start at a sequence number or a duration ago (30m, 2h, 1d).
    #[arg(long)]
    since: Option<String>,
    /// Do not deliver Okta redeliveries (same eventId or uuids); they are still shown.
    #[arg(long)]
    drop_duplicates: bool,
    /// Heartbeat interval in milliseconds.
    #[arg(long, default_value_t = 5000)]
    heartbeat_ms: u64,
    /// First port tried for the embedded relay.
    #[arg(long, default_value_t = agent::embedded::DEFAULT_PORT)]
    embedded_port: u16,
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(err) = run(cli).await {
        eprintln!("agent: {err:#}");
        std::process::exit(1);
    }
}

fn data_dir(data: &Option<PathBuf>) -> PathBuf {
    match data {
        Some(dir) => dir.clone(),
        None => CaptureStore::default_path()
            .parent()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(".")),
    }
}

fn open_store(data: &Option<PathBuf>) -> anyhow::Result<CaptureStore> {
    CaptureStore::open(&data_dir(data).join("captures.sqlite3"))
}

fn auth_of(cli: &RelayCli) -> anyhow::Result<Option<(String, String)>> {
    cli.auth_header
        .as_deref()
        .map(agent::commands::parse_header)
        .transpose()
}

fn source_url(cli: &RelayCli, data: &Option<PathBuf>) -> String {
    let saved = AgentConfig::load(&AgentConfig::default_path()).unwrap_or_default();
    let relay = cli.relay.clone().or(saved.relay);
    let relay = agent::commands::resolve_relay(relay.as_deref(), &data_dir(data));
    format!("{relay}/h/{}", cli.source)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
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
                use agent::tui::editor;
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
                agent::replay::replay(&store, &deliverer, &target, &original, edited, None).await?;
            println!("{}  {}", c.id, output::compact_line(&c));
            if c.outcome.as_ref().and_then(|o| o.error.as_ref()).is_some() {
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
                token: Some(token),
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
            let report = agent::commands::verify::verify(
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
                    Since::AgoMs(ms) => Ok(agent::model::now_ms().saturating_sub(ms)),
                    _ => anyhow::bail!("--since takes a duration such as 30m, 2h or 1d"),
                })
                .transpose()?;
            let captures = agent::commands::export::select(&store, &ids, since_ms)?;
            let bytes = agent::commands::export::render(&captures, format)?;
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
            let n = agent::commands::export::import_file(&store, &file)?;
            eprintln!(
                "imported {n} capture(s) from {}; replay one with `agent replay ID`",
                file.display()
            );
            Ok(())
        }
    }
}

async fn run_trigger(data: &Option<PathBuf>, t: TriggerCli) -> anyhow::Result<()> {
    init_logs();
    if t.list {
        for ty in agent::okta_kit::event_types() {
            println!("{ty}");
        }
        return Ok(());
    }
    if t.inline.is_none() && t.event_types.is_empty() {
        anyhow::bail!(
            "name at least one event type (e.g. user.lifecycle.create), --inline KIND or --list"
        );
    }
    let url = t.to.clone().unwrap_or_else(|| source_url(&t.relay, data));
    let args = agent::commands::trigger::TriggerArgs {
        event_types: t.event_types.clone(),
        count: t
            .count
            .unwrap_or_else(|| (t.event_types.len().max(1) as u32).div_ceil(t.batch.max(1))),
        batch: t.batch,
        url: url.clone(),
        auth: auth_of(&t.relay)?,
        inline: t.inline,
        insecure: t.relay.insecure,
    };
    let mut failed = 0;
    agent::commands::trigger::trigger(&args, |s| {
        let result = match (&s.outcome.response, &s.outcome.error) {
            (Some(r), _) => format!(
                "{} in {:.1} ms",
                r.status,
                s.outcome.duration_us as f64 / 1000.0
            ),
            (None, Some(e)) => {
                failed += 1;
                format!("failed: {e}")
            }
            (None, None) => "no answer".into(),
        };
        println!("POST {url}  {}  → {result}", s.types.join(", "));
        if let Some(r) = &s.outcome.response {
            if !(200..300).contains(&r.status) {
                failed += 1;
            }
            if t.inline.is_some() && !r.body.is_empty() {
                println!("{}", r.body.to_string_lossy());
            }
        }
        for w in &s.warnings {
            eprintln!("warning: {w}");
        }
    })
    .await?;
    if failed > 0 {
        anyhow::bail!("{failed} delivery(ies) failed");
    }
    Ok(())
}

/// The target a capture was delivered to, minus the sender's own suffix and query.
fn original_target(c: &agent::model::Capture) -> anyhow::Result<Target> {
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

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn init_file_logs(dir: &std::path::Path) {
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

fn parse_since(s: &str) -> anyhow::Result<Since> {
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

async fn run_listen(data: &Option<PathBuf>, args: ListenArgs) -> anyhow::Result<()> {
    let output = args.output.unwrap_or(if std::io::stdout().is_terminal() {
        Output::Tui
    } else {
        Output::Compact
    });
    if output == Output::Tui {
        // Nothing may print over the dashboard: logs go to a file in the data directory.
        init_file_logs(&data_dir(data));
    } else {
        init_logs();
    }
    let target = Target::parse(&args.target, &args.path)?;
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let store = open_store(data)?;
    let shutdown = CancellationToken::new();
    let saved = AgentConfig::load(&AgentConfig::default_path())?;
    let relay = args.relay.or(saved.relay);
    let token = args.token.or(saved.token);
    let (relay_url, token, cursor_key, _embedded) = match relay {
        Some(url) => {
            let token = token.context(
                "--token (or HOOKRELAY_TOKEN) is required with --relay; create one with `relay token create --source NAME`",
            )?;
            let key = format!("{}#{}", url.trim_end_matches('/'), args.source);
            (url, token, key, None)
        }
        None => {
            let emb = agent::embedded::start(
                args.embedded_port,
                &args.source,
                relay::Config::default(),
                shutdown.clone(),
            )
            .await
            .context("starting the embedded relay")?;
            let key = format!("embedded:{}", uuid_like());
            eprintln!("hookrelay: embedded relay on {} (loopback only)", emb.url);
            let url_file = agent::commands::embedded_url_file(&data_dir(data));
            if let Err(e) = std::fs::write(&url_file, &emb.url) {
                tracing::warn!(error = %e, "could not record the embedded relay URL");
            }
            (emb.url.clone(), emb.token.clone(), key, Some(emb))
        }
    };
    let opts = ListenOptions {
        link: LinkOptions {
            relay_url,
            heartbeat_interval: Duration::from_millis(args.heartbeat_ms),
            heartbeat_timeout: Duration::from_millis(args.heartbeat_ms * 3),
            insecure: args.insecure,
            ..LinkOptions::default()
        },
        token,
        source: args.source,
        mode: args.mode,
        target,
        deliver: DeliverOptions {
            timeout: Duration::from_millis(args.timeout_ms),
            insecure: args.insecure,
        },
        window: args.window,
        since,
        drop_duplicates: args.drop_duplicates,
        proxy_deadline_ms: args.proxy_deadline_ms,
        cursor_key,
    };
    let (tx, rx) = mpsc::channel(4096);
    if output == Output::Tui {
        let ctx = agent::tui::TuiContext {
            store: store.clone(),
            deliverer: Deliverer::new(&opts.deliver),
            target: opts.target.clone(),
            source: opts.source.clone(),
            mode: opts.mode,
            public_url: format!(
                "{}/h/{}",
                opts.link.relay_url.trim_end_matches('/'),
                opts.source
            ),
        };
        let listener = tokio::spawn(listen(opts, store, tx.clone(), shutdown.clone()));
        let shown = agent::tui::run_terminal(ctx, rx, tx, shutdown.clone()).await;
        shutdown.cancel();
        let listened = listener.await.context("the listener task failed")?;
        if _embedded.is_some() {
            let _ = std::fs::remove_file(agent::commands::embedded_url_file(&data_dir(data)));
        }
        shown?;
        return listened;
    }
    let printer = tokio::spawn(output::print(
        match output {
            Output::Json => Plain::Json,
            Output::Quiet => Plain::Quiet,
            Output::Compact | Output::Tui => Plain::Compact,
        },
        rx,
    ));
    let ctrl_c = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        ctrl_c.cancel();
    });
    let result = listen(opts, store, tx, shutdown.clone()).await;
    shutdown.cancel();
    let _ = printer.await;
    if _embedded.is_some() {
        let _ = std::fs::remove_file(agent::commands::embedded_url_file(&data_dir(data)));
    }
    result
}

fn uuid_like() -> String {
    format!("{:x}-{}", agent::model::now_ms(), std::process::id())
}
