//! `agent listen`: wires the store, the embedded relay, the link and an output together.

use super::support::*;
use crate::config::AgentConfig;
use crate::connection::LinkOptions;
use crate::deliver::{DeliverOptions, Deliverer};
use crate::hold::OnDown;
use crate::listen::{listen, ListenOptions};
use crate::output::{self, Plain};
use crate::target::Target;
use anyhow::Context;
use clap::ValueEnum;
use shared::Mode;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Output {
    Tui,
    Compact,
    Json,
    Quiet,
}

#[derive(clap::Args)]
pub struct ListenArgs {
    /// Local port (e.g. 1337) or URL (http:// or https://) to deliver to (or `target` in
    /// hookrelay.toml).
    pub target: Option<String>,
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
    /// Sources to listen on, over one connection: a name (okta), a list (okta,github) or '*'
    /// for every source the token may use (quote it in a shell). Each event is shown with its
    /// source when there are several.
    #[arg(
        long,
        env = "HOOKRELAY_SOURCE",
        default_value = "okta",
        value_name = "SOURCES"
    )]
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
    /// When the local service refuses connections: hold (default: acknowledged events wait,
    /// unacknowledged, and go out in order once it is back) or fail (record the failure and
    /// move on). Proxied events always fail at once with 502: their sender is waiting.
    #[arg(long, value_enum, env = "HOOKRELAY_ON_DOWN", default_value_t = OnDown::Hold)]
    pub on_down: OnDown,
    /// Okta's own retry: when the local service answers 5xx or takes over 3 s, deliver the
    /// event once more (shown as a duplicate replay of the first), as Okta redelivers.
    #[arg(long, env = "HOOKRELAY_OKTA_RETRY")]
    pub okta_retry: bool,
    /// Route events by kind, first match wins, the rest to TARGET: PATTERN=TARGET where
    /// PATTERN is an Okta event type glob (user.lifecycle.*), an inline hook (inline:registration),
    /// a source (source:github, with several --source) or a path suffix (/github/*), and TARGET a path (/users), a port (4000/groups) or a URL.
    /// A batch goes to a route only when all its event types match. Repeatable.
    #[arg(long = "route", value_name = "PATTERN=TARGET")]
    pub routes: Vec<String>,
    /// Deliver only events that match: type=GLOB, path=GLOB, header.NAME=GLOB or
    /// body.FIELD.PATH=GLOB (`!=` negates). Others are acknowledged and shown as filtered.
    /// Repeatable; all must match.
    #[arg(long = "filter", value_name = "EXPR")]
    pub filters: Vec<String>,
    /// Heartbeat interval in milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub heartbeat_ms: u64,
    /// First port tried for the embedded relay.
    #[arg(long, default_value_t = crate::embedded::DEFAULT_PORT)]
    pub embedded_port: u16,
    #[command(flatten)]
    pub inspect: super::InspectArgs,
    /// The project's settings file [default: ./hookrelay.toml when it exists]: target, path,
    /// relay, source, on-down, okta-retry, routes, filters. Flags and environment variables
    /// win over it.
    #[arg(long, value_name = "FILE", env = "HOOKRELAY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Which settings the command line or the environment gave (set by [`super::parse`]).
    #[arg(skip)]
    pub given: super::project::Given,
}

/// Runs `agent listen`.
pub(crate) async fn run(data: &Option<PathBuf>, args: ListenArgs) -> anyhow::Result<()> {
    let args = super::project::apply(args)?;
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
    let target_spec = args.target.as_deref().context(
        "give the local port or URL to deliver to (e.g. `agent listen 1337`), or `target` in hookrelay.toml",
    )?;
    let target = Target::parse(target_spec, &args.path)?;
    let routes = args
        .routes
        .iter()
        .map(|r| crate::rules::Route::parse(r, &target))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let filters = args
        .filters
        .iter()
        .map(|f| crate::rules::Filter::parse(f))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let sources = shared::SourceList::parse(&args.source)
        .map_err(|e| anyhow::anyhow!("--source {:?}: {e}", args.source))?;
    let store = open_store(data)?;
    let shutdown = CancellationToken::new();
    // The embedded relay stops after the listener, so the last acks reach it.
    let relay_stop = CancellationToken::new();
    let _stop_relay = relay_stop.clone().drop_guard();
    let signals = shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        signals.cancel();
    });
    let saved = AgentConfig::load(&AgentConfig::default_path())?;
    let relay = if args.relay.is_empty() {
        saved.relay
    } else {
        Some(args.relay.join(","))
    };
    let token = args.token.clone().or(saved.token);
    let (relay_url, token, relay_key, _embedded) = match relay {
        Some(url) => {
            refuse_source_settings(&args)?;
            let token = token.context(
                "--token (or HOOKRELAY_TOKEN) is required with --relay; create one with `relay token create --source NAME`",
            )?;
            let key = url.trim_end_matches('/').to_string();
            (url, token, key, None)
        }
        None => {
            let settings = embedded_settings(&args)?;
            let emb = crate::embedded::start(
                args.embedded_port,
                &sources,
                &settings,
                relay::Config::default(),
                relay_stop.clone(),
            )
            .await
            .context("starting the embedded relay")?;
            let key = format!("embedded:{}", uuid_like());
            eprintln!("hookrelay: embedded relay on {} (loopback only)", emb.url);
            let url_file = embedded_url_file(&data_dir(data));
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
        sources,
        target,
        deliver: DeliverOptions {
            timeout: Duration::from_millis(args.timeout_ms),
            insecure: args.insecure,
        },
        window: args.window,
        concurrency: args.concurrency,
        since,
        drop_duplicates: args.drop_duplicates,
        relay_key,
        on_down: args.on_down,
        okta_retry: args.okta_retry,
        routes,
        filters,
    };
    let (tx, rx) = mpsc::channel(4096);
    let (inspector, rx) = super::inspect::start_beside_listen(
        &args.inspect,
        &store,
        &opts.target,
        &opts.deliver,
        (tx.clone(), rx),
        shutdown.clone(),
    )
    .await?;
    let inspect_url = inspector.as_ref().map(|i| i.url.clone());
    if let Some(url) = &inspect_url {
        eprintln!("hookrelay: web inspector on {url}");
    }
    if output == Output::Tui {
        let ctx = crate::tui::TuiContext {
            store: store.clone(),
            deliverer: Deliverer::new(&opts.deliver),
            target: opts.target.clone(),
            source: opts.sources.to_string(),
        };
        let listener = tokio::spawn(listen(opts, store, tx.clone(), shutdown.clone()));
        let shown = crate::tui::run_terminal(ctx, inspect_url, rx, tx, shutdown.clone()).await;
        shutdown.cancel();
        let listened = listener.await.context("the listener task failed")?;
        if _embedded.is_some() {
            let _ = std::fs::remove_file(embedded_url_file(&data_dir(data)));
        }
        shown?;
        return listened;
    }
    let printer = tokio::spawn(output::print_linked(
        match output {
            Output::Json => Plain::Json,
            Output::Quiet => Plain::Quiet,
            Output::Compact | Output::Tui => Plain::Compact,
        },
        rx,
        inspect_url,
    ));
    let result = listen(opts, store, tx, shutdown.clone()).await;
    shutdown.cancel();
    let _ = printer.await;
    if _embedded.is_some() {
        let _ = std::fs::remove_file(embedded_url_file(&data_dir(data)));
    }
    result
}

/// `--mode` and `--proxy-deadline-ms` configure the embedded relay's source. A relay of your
/// own keeps them as the source's settings, so one agent's flags never change what senders get.
fn refuse_source_settings(args: &ListenArgs) -> anyhow::Result<()> {
    let flag = match (args.mode, args.proxy_deadline_ms) {
        (Some(_), _) => "--mode",
        (None, Some(_)) => "--proxy-deadline-ms",
        (None, None) => return Ok(()),
    };
    anyhow::bail!(
        "{flag} configures the embedded relay only; on the relay at --relay the mode and proxy \
         deadline are the source's settings: run `relay source set {} --mode auto|ack|proxy \
         --proxy-deadline-ms N` where that relay keeps its data",
        args.source
    )
}

/// The embedded relay's source settings from `--mode` and `--proxy-deadline-ms`.
fn embedded_settings(args: &ListenArgs) -> anyhow::Result<relay::store::SourceSettings> {
    let proxy_deadline_ms = args
        .proxy_deadline_ms
        .map(relay::admin::validate_proxy_deadline)
        .transpose()?;
    Ok(relay::store::SourceSettings {
        mode: args.mode.unwrap_or_default(),
        proxy_deadline_ms,
        ..Default::default()
    })
}

pub(crate) fn uuid_like() -> String {
    format!("{:x}-{}", crate::model::now_ms(), std::process::id())
}
