//! The zero-configuration default: a relay inside the agent process, on loopback only.

use anyhow::Context;
use relay::store::EmbeddedStore;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// First port tried; the next free one is used when it is taken.
pub const DEFAULT_PORT: u16 = 8787;

/// The source `*` creates on an embedded relay (its store starts empty).
pub const DEFAULT_SOURCE: &str = "okta";

/// A running embedded relay.
pub struct Embedded {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// An in-memory token for its sources.
    pub token: shared::Secret,
    /// The relay.
    pub handle: relay::RelayHandle,
    // Removed when the agent exits: an embedded relay's log lives as long as the process,
    // since no sender can reach it while the agent is down.
    _dir: tempfile::TempDir,
}

/// Starts a relay on 127.0.0.1 (port `first_port` or the next free one; 0 for any) with a
/// temporary store, each of `sources` with `settings` (for `*`: the default source, `okta`),
/// and an in-memory token for them (for `*`: for every source).
pub async fn start(
    first_port: u16,
    sources: &shared::SourceList,
    settings: &relay::store::SourceSettings,
    config: relay::Config,
    shutdown: CancellationToken,
) -> anyhow::Result<Embedded> {
    let listener = bind_loopback(first_port).await?;
    let dir = tempfile::Builder::new()
        .prefix("hookrelay-embedded-")
        .tempdir()
        .context("creating a temporary directory for the embedded relay")?;
    let store = EmbeddedStore::open_dir(dir.path())?;
    let handle = relay::spawn(listener, Arc::new(store), config, shutdown)?;
    let created = match sources {
        shared::SourceList::All => vec![DEFAULT_SOURCE.to_string()],
        shared::SourceList::Named(names) => names.clone(),
    };
    for source in &created {
        handle.state.set_settings(source, settings)?;
    }
    let token = handle.state.add_memory_token(&sources.to_string())?;
    Ok(Embedded {
        url: format!("http://{}", handle.addr),
        token: token.into(),
        handle,
        _dir: dir,
    })
}

async fn bind_loopback(first_port: u16) -> anyhow::Result<TcpListener> {
    if first_port == 0 {
        return Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?);
    }
    let mut last_err = None;
    for port in first_port..first_port.saturating_add(100) {
        match TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await {
            Ok(l) => return Ok(l),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.map_or_else(
        || anyhow::anyhow!("no free port"),
        |e| anyhow::anyhow!(e).context(format!("no free port on 127.0.0.1 from {first_port}")),
    ))
}
