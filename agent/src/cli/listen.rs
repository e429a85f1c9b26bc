//! `agent listen`: wires the store, the embedded relay, the link and an output together.

use super::support::*;
use super::{ListenArgs, Output};
use crate::config::AgentConfig;
use crate::connection::LinkOptions;
use crate::deliver::{DeliverOptions, Deliverer};
use crate::listen::{listen, ListenOptions};
use crate::output::{self, Plain};
use crate::target::Target;
use anyhow::Context;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub(crate) async fn run_listen(data: &Option<PathBuf>, args: ListenArgs) -> anyhow::Result<()> {
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
    let relay = if args.relay.is_empty() {
        saved.relay
    } else {
        Some(args.relay.join(","))
    };
    let token = args.token.clone().or(saved.token);
    let (relay_url, token, cursor_key, _embedded) = match relay {
        Some(url) => {
            refuse_source_settings(&args)?;
            let token = token.context(
                "--token (or HOOKRELAY_TOKEN) is required with --relay; create one with `relay token create --source NAME`",
            )?;
            let key = format!("{}#{}", url.trim_end_matches('/'), args.source);
            (url, token, key, None)
        }
        None => {
            let settings = embedded_settings(&args)?;
            let emb = crate::embedded::start(
                args.embedded_port,
                &args.source,
                &settings,
                relay::Config::default(),
                shutdown.clone(),
            )
            .await
            .context("starting the embedded relay")?;
            let key = format!("embedded:{}", uuid_like());
            eprintln!("hookrelay: embedded relay on {} (loopback only)", emb.url);
            let url_file = crate::commands::embedded_url_file(&data_dir(data));
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
        target,
        deliver: DeliverOptions {
            timeout: Duration::from_millis(args.timeout_ms),
            insecure: args.insecure,
        },
        window: args.window,
        concurrency: args.concurrency,
        since,
        drop_duplicates: args.drop_duplicates,
        cursor_key,
    };
    let (tx, rx) = mpsc::channel(4096);
    if output == Output::Tui {
        let ctx = crate::tui::TuiContext {
            store: store.clone(),
            deliverer: Deliverer::new(&opts.deliver),
            target: opts.target.clone(),
            source: opts.source.clone(),
        };
        let listener = tokio::spawn(listen(opts, store, tx.clone(), shutdown.clone()));
        let shown = crate::tui::run_terminal(ctx, rx, tx, shutdown.clone()).await;
        shutdown.cancel();
        let listened = listener.await.context("the listener task failed")?;
        if _embedded.is_some() {
            let _ = std::fs::remove_file(crate::commands::embedded_url_file(&data_dir(data)));
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
        let _ = std::fs::remove_file(crate::commands::embedded_url_file(&data_dir(data)));
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
