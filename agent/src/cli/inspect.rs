//! The web inspector on the command line: `listen`'s `--inspect`/`--no-inspect`, and
//! `agent inspect`, which serves the capture store without listening.

use super::support::{init_logs, open_store};
use crate::capture::CaptureStore;
use crate::deliver::{DeliverOptions, Deliverer};
use crate::events::AgentEvent;
use crate::inspect::{self, Hub, Inspector, InspectorOptions};
use crate::target::Target;
use anyhow::Context;
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// `listen`'s inspector flags.
#[derive(clap::Args, Clone, Debug)]
pub struct InspectArgs {
    /// Serve the web inspector here [default: 127.0.0.1:4040, or the next free port].
    #[arg(long, value_name = "ADDR", env = "HOOKRELAY_INSPECT")]
    pub inspect: Option<SocketAddr>,
    /// Do not serve the web inspector.
    #[arg(long, conflicts_with = "inspect")]
    pub no_inspect: bool,
}

/// `agent inspect`.
#[derive(clap::Args, Clone, Debug)]
pub struct InspectCmd {
    /// Serve the web inspector here [default: 127.0.0.1:4040, or the next free port].
    #[arg(long, value_name = "ADDR", env = "HOOKRELAY_INSPECT")]
    pub addr: Option<SocketAddr>,
    /// Send replays to this port or URL instead of each capture's original target.
    #[arg(long)]
    pub to: Option<String>,
    /// Path under the port (with --to PORT).
    #[arg(long, default_value = "/okta-webhooks-endpoint")]
    pub path: String,
    /// Accept any certificate from an https target.
    #[arg(long)]
    pub insecure: bool,
}

/// Binds and starts the inspector unless `--no-inspect`. Events from the listener go through
/// it to the output: the returned receiver replaces `rx`.
pub(crate) async fn start_beside_listen(
    args: &InspectArgs,
    store: &CaptureStore,
    target: &Target,
    deliver: &DeliverOptions,
    events: (mpsc::Sender<AgentEvent>, mpsc::Receiver<AgentEvent>),
    shutdown: CancellationToken,
) -> anyhow::Result<(Option<Inspector>, mpsc::Receiver<AgentEvent>)> {
    let (tx, rx) = events;
    if args.no_inspect {
        return Ok((None, rx));
    }
    let hub = Hub::default();
    let rx = inspect::tee(rx, hub.clone(), store.clone());
    let inspector = start(
        args.inspect,
        InspectorOptions {
            store: store.clone(),
            deliverer: Deliverer::new(deliver),
            target: Some(target.clone()),
            hub,
            events: tx,
        },
        shutdown,
    )
    .await?;
    Ok((Some(inspector), rx))
}

async fn start(
    addr: Option<SocketAddr>,
    opts: InspectorOptions,
    shutdown: CancellationToken,
) -> anyhow::Result<Inspector> {
    let default: SocketAddr = inspect::DEFAULT_ADDR
        .parse()
        .expect("the default inspector address parses");
    // Only the default moves on when taken: an address the user chose is kept or refused.
    let listener = inspect::bind(addr.unwrap_or(default), addr.is_none()).await?;
    inspect::serve(listener, opts, shutdown)
}

/// `agent inspect`: the inspector over the capture store until Ctrl-C.
pub(crate) async fn run_inspect(data: &Option<PathBuf>, cmd: InspectCmd) -> anyhow::Result<()> {
    init_logs();
    let store = open_store(data)?;
    let target = cmd
        .to
        .as_deref()
        .map(|spec| Target::parse(spec, &cmd.path))
        .transpose()?;
    let shutdown = CancellationToken::new();
    let hub = Hub::default();
    // Replays made in the page come back through here into the live list.
    let (tx, rx) = mpsc::channel(256);
    let mut drained = inspect::tee(rx, hub.clone(), store.clone());
    tokio::spawn(async move { while drained.recv().await.is_some() {} });
    let inspector = start(
        cmd.addr,
        InspectorOptions {
            store: store.clone(),
            deliverer: Deliverer::new(&DeliverOptions {
                insecure: cmd.insecure,
                ..Default::default()
            }),
            target,
            hub,
            events: tx,
        },
        shutdown.clone(),
    )
    .await?;
    eprintln!(
        "hookrelay: inspector on {} ({} captured exchange(s)); Ctrl-C to stop",
        inspector.url,
        store.count().unwrap_or(0)
    );
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    shutdown.cancel();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), inspector.join).await;
    Ok(())
}
