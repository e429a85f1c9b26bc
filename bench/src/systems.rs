//! Starting each system under test in front of the target: direct, hookrelay proxy, ack and
//! ack-normal (relay + agent processes), and bore (server + local client processes).

use crate::loadgen::post_once;
use crate::procs::{free_port, wait_port, Proc};
use crate::target::{Target, PROBE_HEADER};
use anyhow::{bail, Context};
use bytes::Bytes;
use serde::Serialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The path the target serves and agents deliver to.
pub const TARGET_PATH: &str = "/okta-webhooks-endpoint";

/// One way to reach the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum System {
    /// Straight to the target.
    Direct,
    /// Relay + agent, proxy mode.
    Proxy,
    /// Relay + agent, ack mode, the relay's default `--sync full` (every group commit of
    /// ack-mode events fsynced before the 200).
    Ack,
    /// Relay + agent, ack mode, relay `--sync normal` (in the OS before the 200, on disk within
    /// a second).
    #[serde(rename = "ack-normal")]
    AckNormal,
    /// bore server + bore local (raw TCP tunnel).
    Bore,
    /// As `Ack`, the relay's state in PostgreSQL (`--database-url`).
    #[serde(rename = "ack-pg")]
    AckPg,
    /// As `Proxy`, the relay's state in PostgreSQL.
    #[serde(rename = "proxy-pg")]
    ProxyPg,
}

impl System {
    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            System::Direct => "direct",
            System::Proxy => "proxy",
            System::Ack => "ack",
            System::AckNormal => "ack-normal",
            System::Bore => "bore",
            System::AckPg => "ack-pg",
            System::ProxyPg => "proxy-pg",
        }
    }

    /// Whether the relay keeps its state in PostgreSQL.
    fn on_postgres(self) -> bool {
        matches!(self, System::AckPg | System::ProxyPg)
    }
}

/// Where binaries are.
#[derive(Clone, Debug)]
pub struct Bins {
    /// Directory holding `relay` and `agent`.
    pub dir: PathBuf,
    /// `bore`, when on PATH.
    pub bore: Option<PathBuf>,
    /// `--concurrency` for ack-mode agents (None: the agent's default).
    pub ack_concurrency: Option<usize>,
    /// The PostgreSQL database of the `*-pg` systems.
    pub database_url: Option<String>,
}

/// A started system.
pub struct Running {
    /// Which.
    pub system: System,
    /// Where senders connect.
    pub addr: SocketAddr,
    /// Path senders post to.
    pub path: String,
    /// The relay (or bore server).
    pub server: Option<Proc>,
    /// The agent (or bore local).
    pub client: Option<Proc>,
    _dir: tempfile::TempDir,
}

/// Starts `system` delivering to `target`, waiting until a probe gets through.
pub async fn start(system: System, bins: &Bins, target: &Target) -> anyhow::Result<Running> {
    let dir = tempfile::tempdir()?;
    let mut running = match system {
        System::Direct => Running {
            system,
            addr: target.addr,
            path: TARGET_PATH.into(),
            server: None,
            client: None,
            _dir: dir,
        },
        System::Proxy | System::Ack | System::AckNormal | System::AckPg | System::ProxyPg => {
            start_hookrelay(system, bins, target, dir).await?
        }
        System::Bore => start_bore(bins, target, dir).await?,
    };
    if system != System::Direct {
        wait_ready(&mut running, target).await?;
    }
    Ok(running)
}

/// A relay with a token for source `okta`, started with `extra` arguments after the usual ones:
/// (process, port, token).
pub async fn start_relay(
    bin_dir: &Path,
    dir: &Path,
    extra: &[&str],
) -> anyhow::Result<(Proc, u16, String)> {
    start_relay_on(bin_dir, dir, extra, None, "auto").await
}

/// As [`start_relay`], on the PostgreSQL database `database_url` when given, with source
/// `okta` set to `mode` (the source's setting, not the agent's).
pub async fn start_relay_on(
    bin_dir: &Path,
    dir: &Path,
    extra: &[&str],
    database_url: Option<&str>,
    mode: &str,
) -> anyhow::Result<(Proc, u16, String)> {
    let data = dir.join("relay");
    let store: Vec<String> = match database_url {
        Some(url) => vec!["--database-url".into(), url.into()],
        None => vec!["--data".into(), data.display().to_string()],
    };
    let relay_cmd = |args: &[&str]| -> anyhow::Result<String> {
        let out = std::process::Command::new(bin_dir.join("relay"))
            .args(args)
            .args(&store)
            .output()
            .with_context(|| format!("relay {}", args.join(" ")))?;
        if !out.status.success() {
            bail!(
                "relay {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let token = relay_cmd(&["token", "create", "--source", "okta"])?;
    relay_cmd(&["source", "set", "okta", "--mode", mode])?;
    let port = free_port()?;
    let mut args: Vec<String> = vec![
        "serve".into(),
        "--listen".into(),
        format!("127.0.0.1:{port}"),
        // The rate limit guards a public relay; the benchmark measures raw capacity (and
        // connects thousands of idle agents to one source). The backlog limit stays on: it
        // is checked on every webhook a relay takes with its defaults.
        "--rate-limit".into(),
        "0".into(),
        "--max-agents-per-source".into(),
        "100000".into(),
    ];
    args.extend(store.iter().cloned());
    args.extend(extra.iter().map(|a| a.to_string()));
    let relay = Proc::spawn(
        "relay",
        &bin_dir.join("relay"),
        &args,
        &dir.join("relay.log"),
    )?;
    wait_port(port, Duration::from_secs(10)).await?;
    Ok((relay, port, token))
}

async fn start_hookrelay(
    system: System,
    bins: &Bins,
    target: &Target,
    dir: tempfile::TempDir,
) -> anyhow::Result<Running> {
    let extra: &[&str] = if system == System::AckNormal {
        &["--sync", "normal"]
    } else {
        &[]
    };
    let mode = if matches!(system, System::Proxy | System::ProxyPg) {
        "proxy"
    } else {
        "ack"
    };
    let database_url = if system.on_postgres() {
        Some(
            bins.database_url
                .as_deref()
                .context("the -pg systems need --database-url")?,
        )
    } else {
        None
    };
    let (relay, port, token) =
        start_relay_on(&bins.dir, dir.path(), extra, database_url, mode).await?;
    let ack = !matches!(system, System::Proxy | System::ProxyPg);
    let agent = spawn_agent(bins, &dir.path().join("agent"), port, &token, target, ack)?;
    Ok(Running {
        system,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        path: "/h/okta".into(),
        server: Some(relay),
        client: Some(agent),
        _dir: dir,
    })
}

/// An agent (data in `data`, log next to it) delivering what the relay on `port` sends for
/// `token` to `target`; `ack`: with the benchmark's `--ack-concurrency`, if any.
pub fn spawn_agent(
    bins: &Bins,
    data: &Path,
    port: u16,
    token: &str,
    target: &Target,
    ack: bool,
) -> anyhow::Result<Proc> {
    let concurrency = match bins.ack_concurrency.filter(|_| ack) {
        Some(n) => vec!["--concurrency".to_string(), n.to_string()],
        None => Vec::new(),
    };
    Proc::spawn(
        "agent",
        &bins.dir.join("agent"),
        &[
            "--data".to_string(),
            data.display().to_string(),
            "listen".into(),
            target.addr.port().to_string(),
            "--relay".into(),
            format!("http://127.0.0.1:{port}"),
            "--token".into(),
            token.to_string(),
            "--output".into(),
            "quiet".into(),
        ]
        .into_iter()
        .chain(concurrency)
        .collect::<Vec<String>>(),
        &data.with_extension("log"),
    )
}

/// The TCP port `bore server` takes control connections on (fixed in bore).
pub const BORE_CONTROL_PORT: u16 = 7835;

/// `bore server` bound to 127.0.0.1, started with `extra` arguments, once its control port
/// accepts connections. Fails if something already listens on that port (another bore server
/// would answer in its place).
pub async fn start_bore_server(bore: &Path, dir: &Path, extra: &[&str]) -> anyhow::Result<Proc> {
    if tokio::net::TcpStream::connect(("127.0.0.1", BORE_CONTROL_PORT))
        .await
        .is_ok()
    {
        bail!("port {BORE_CONTROL_PORT} is already in use (another bore server?)");
    }
    let mut args: Vec<String> = vec!["server".into(), "--bind-addr".into(), "127.0.0.1".into()];
    args.extend(extra.iter().map(|a| a.to_string()));
    let mut server = Proc::spawn("bore server", bore, &args, &dir.join("bore-server.log"))?;
    wait_port(BORE_CONTROL_PORT, Duration::from_secs(10)).await?;
    server.check_alive()?;
    Ok(server)
}

async fn start_bore(
    bins: &Bins,
    target: &Target,
    dir: tempfile::TempDir,
) -> anyhow::Result<Running> {
    let bore = bins.bore.clone().context("bore is not on PATH")?;
    let server = start_bore_server(&bore, dir.path(), &[]).await?;
    let port = free_port()?;
    let local = Proc::spawn(
        "bore local",
        &bore,
        &[
            "local".into(),
            target.addr.port().to_string(),
            "--to".into(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string(),
        ],
        &dir.path().join("bore-local.log"),
    )?;
    wait_port(port, Duration::from_secs(10)).await?;
    Ok(Running {
        system: System::Bore,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        path: TARGET_PATH.into(),
        server: Some(server),
        client: Some(local),
        _dir: dir,
    })
}

/// Posts probes until one reaches the target (the agent is connected), at most 20 s.
async fn wait_ready(running: &mut Running, target: &Target) -> anyhow::Result<()> {
    let mut procs: Vec<&mut Proc> = [&mut running.server, &mut running.client]
        .into_iter()
        .flatten()
        .collect();
    let name = running.system.name();
    wait_through(running.addr, &running.path, &mut procs, target)
        .await
        .with_context(|| name.to_string())
}

/// Posts probes to `addr` until one reaches the target, at most 20 s, failing early if one
/// of `procs` exits.
pub async fn wait_through<P: std::borrow::BorrowMut<Proc>>(
    addr: SocketAddr,
    path: &str,
    procs: &mut [P],
    target: &Target,
) -> anyhow::Result<()> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        for p in procs.iter_mut() {
            p.borrow_mut().check_alive()?;
        }
        let before = target.stats.probes.load(Ordering::SeqCst);
        let _ = post_once(
            addr,
            path,
            &[(PROBE_HEADER, "1"), ("content-type", "application/json")],
            Bytes::from_static(b"{}"),
        )
        .await;
        let waited = Instant::now();
        while waited.elapsed() < Duration::from_millis(300) {
            if target.stats.probes.load(Ordering::SeqCst) > before {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    bail!("no probe through {addr} reached the target")
}
