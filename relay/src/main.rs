//! `relay`: serve webhooks, manage tokens.

use anyhow::Context;
use clap::{Parser, Subcommand};
use relay::store::EmbeddedStore;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "relay",
    version,
    about = "hookrelay relay: receives webhooks and pushes them to agents"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve webhooks and agents.
    Serve(Box<ServeArgs>),
    /// Manage agent tokens.
    #[command(subcommand)]
    Token(relay::admin_cli::TokenCommand),
    /// Manage sources (sender authentication); applies to a running relay within a second.
    #[command(subcommand)]
    Source(relay::admin_cli::SourceCommand),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(
        long,
        hide_env_values = true,
        env = "HOOKRELAY_LISTEN",
        default_value = "0.0.0.0:8080"
    )]
    listen: SocketAddr,
    /// Data directory (event log, tokens).
    #[arg(
        long,
        hide_env_values = true,
        env = "HOOKRELAY_DATA",
        default_value = "./relay-data"
    )]
    data: PathBuf,
    /// Keep all durable state in this PostgreSQL database instead of --data, so several
    /// instances behind a load balancer are one relay: postgres://USER:PASSWORD@HOST:PORT/DB.
    /// The schema is created and upgraded by the relay.
    #[arg(
        long,
        value_name = "URL",
        hide_env_values = true,
        env = "HOOKRELAY_DATABASE_URL"
    )]
    database_url: Option<shared::Secret>,
    /// When a stored event counts as durable before its sender gets a 2xx: "full" (acknowledged
    /// events on disk, fsync per group commit, so a power cut loses none; proxied events
    /// written, since their answer is the delivery itself) or "normal" (in the OS: a relay
    /// crash or kill -9 loses nothing; on disk within a second; faster to acknowledge).
    #[arg(
        long,
        hide_env_values = true,
        env = "HOOKRELAY_SYNC",
        default_value = "full",
        value_parser = ["normal", "full"]
    )]
    sync: String,
    /// Threads serving HTTP and agents (1 fits a 1-vCPU VM and is the most efficient; more
    /// only help when one core is saturated, e.g. by TLS handshakes).
    #[arg(long, env = "HOOKRELAY_THREADS", default_value_t = 1)]
    threads: usize,
    /// Public base URL senders use, e.g. https://relay.example.com.
    #[arg(long, hide_env_values = true, env = "HOOKRELAY_PUBLIC_URL")]
    public_url: Option<String>,
    /// Largest webhook body accepted, in bytes (413 above).
    #[arg(long, hide_env_values = true, env = "HOOKRELAY_MAX_BODY", default_value_t = shared::protocol::DEFAULT_MAX_BODY_BYTES)]
    max_body: usize,
    /// Default proxy-mode deadline in milliseconds.
    #[arg(
        long,
        hide_env_values = true,
        env = "HOOKRELAY_PROXY_DEADLINE_MS",
        default_value_t = 2500
    )]
    proxy_deadline_ms: u64,
    /// Heartbeat interval in milliseconds.
    #[arg(long, default_value_t = 5000)]
    heartbeat_ms: u64,
    /// Days delivered events are kept.
    #[arg(long, default_value_t = 7)]
    retention_days: u64,
    /// Events kept per source at most.
    #[arg(long, default_value_t = 100_000)]
    retention_events: u64,
    /// Log format.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    /// Largest websocket frame accepted from an agent, in bytes.
    #[arg(long, hide_env_values = true, env = "HOOKRELAY_MAX_FRAME", default_value_t = shared::protocol::DEFAULT_MAX_FRAME_BYTES)]
    max_frame: usize,
    /// Most request headers accepted (431 above).
    #[arg(long, default_value_t = 100)]
    max_headers: usize,
    /// Most request header bytes accepted (431 above).
    #[arg(long, default_value_t = 64 * 1024)]
    max_header_bytes: usize,
    /// Seconds a sender has to send the request body (408 after).
    #[arg(long, default_value_t = 30)]
    body_timeout_secs: u64,
    /// Seconds a client has to send the request line and headers (connection closed after).
    #[arg(long, default_value_t = 10)]
    header_timeout_secs: u64,
    /// Requests per second per source (429 with Retry-After above); 0 disables.
    #[arg(
        long,
        hide_env_values = true,
        env = "HOOKRELAY_RATE_LIMIT",
        default_value_t = 500.0
    )]
    rate_limit: f64,
    /// Burst allowed above the per-source rate.
    #[arg(long, default_value_t = 1000)]
    rate_burst: u32,
    /// Most agents connected to one source (close code 4006 above).
    #[arg(long, default_value_t = 16)]
    max_agents_per_source: usize,
    /// Most events per source waiting for an agent's ack before senders get 503 with Retry-After; 0 disables.
    #[arg(long, default_value_t = 50_000)]
    max_queued_events: u64,
    /// TLS certificate chain (PEM); serve HTTPS. Reloaded on SIGHUP.
    #[arg(
        long,
        hide_env_values = true,
        env = "HOOKRELAY_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) for --tls-cert. Reloaded on SIGHUP.
    #[arg(
        long,
        hide_env_values = true,
        env = "HOOKRELAY_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    tls_key: Option<PathBuf>,
    /// Obtain and renew a certificate for this DNS name by ACME (TLS-ALPN-01 on --listen,
    /// which must be reachable on port 443 under that name); cached in the data directory.
    #[arg(
        long,
        hide_env_values = true,
        env = "HOOKRELAY_ACME_DOMAIN",
        value_name = "DOMAIN",
        requires = "acme_email",
        conflicts_with = "tls_cert"
    )]
    acme_domain: Option<String>,
    /// Contact email for the ACME account.
    #[arg(
        long,
        hide_env_values = true,
        env = "HOOKRELAY_ACME_EMAIL",
        value_name = "EMAIL"
    )]
    acme_email: Option<String>,
    /// ACME directory URL.
    #[arg(long, hide_env_values = true, env = "HOOKRELAY_ACME_DIRECTORY", value_name = "URL", default_value = relay::acme::LETS_ENCRYPT)]
    acme_directory: String,
    /// Extra root certificate (PEM) trusted for the ACME directory's HTTPS (test CAs).
    #[arg(long, value_name = "FILE", hide = true)]
    acme_root: Option<PathBuf>,
    /// A reverse proxy whose X-Forwarded-For is believed (CIDR; repeatable).
    #[arg(long, value_name = "CIDR")]
    trusted_proxy: Vec<relay::proxy::Cidr>,
    /// Peers allowed to read /metrics (CIDR; repeatable); loopback when not given.
    #[arg(long, value_name = "CIDR")]
    metrics_allow: Vec<relay::proxy::Cidr>,
}

fn main() {
    let cli = Cli::parse();
    let threads = match &cli.command {
        Command::Serve(args) => args.threads,
        _ => 1,
    };
    let result = runtime(threads).and_then(|rt| rt.block_on(run(cli)));
    if let Err(err) = result {
        eprintln!("relay: {err:#}");
        std::process::exit(1);
    }
}

/// One thread runs everything by default: each webhook then crosses no thread boundary
/// (measured when it was made: relay CPU per proxy event 44 → 23 µs against two worker
/// threads on 2 cores; bench/README.md, "What the measurements taught"). More threads help
/// only when TLS or many busy sources keep one core full.
fn runtime(threads: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(threads);
        b
    };
    builder
        .enable_all()
        .build()
        .context("starting the async runtime")
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::Token(cmd) => relay::admin_cli::token(cmd),
        Command::Source(cmd) => relay::admin_cli::source(cmd),
    }
}

fn init_logs(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logs(&args.log_format);
    let (store, _lock): (Arc<dyn relay::store::Store>, _) = match &args.database_url {
        // Every instance on the database shares it: no directory lock.
        Some(url) => (Arc::new(relay::store::PostgresStore::open(url)?), None),
        None => {
            let lock = EmbeddedStore::lock_dir(&args.data)?;
            let sync: relay::store::SyncMode = args.sync.parse().map_err(anyhow::Error::msg)?;
            let store = EmbeddedStore::open_dir_with(&args.data, sync)?;
            (Arc::new(store), Some(lock))
        }
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let mut config = relay::Config {
        public_url: args.public_url,
        max_body_bytes: args.max_body,
        proxy_deadline: Duration::from_millis(args.proxy_deadline_ms),
        heartbeat_interval: Duration::from_millis(args.heartbeat_ms),
        heartbeat_timeout: Duration::from_millis(args.heartbeat_ms * 3),
        max_frame_bytes: args.max_frame,
        max_headers: args.max_headers,
        max_header_bytes: args.max_header_bytes,
        body_read_timeout: Duration::from_secs(args.body_timeout_secs.max(1)),
        header_read_timeout: Duration::from_secs(args.header_timeout_secs.max(1)),
        rate_limit: (args.rate_limit > 0.0).then_some(relay::limits::RateLimit {
            per_sec: args.rate_limit,
            burst: args.rate_burst,
        }),
        max_agents_per_source: args.max_agents_per_source,
        max_queued_events: (args.max_queued_events > 0).then_some(args.max_queued_events),
        trusted_proxies: args.trusted_proxy,
        metrics_allow: if args.metrics_allow.is_empty() {
            relay::proxy::Cidr::loopback()
        } else {
            args.metrics_allow
        },
        ..relay::Config::default()
    };
    config.retention.max_age_ms = args.retention_days * 24 * 3600 * 1000;
    config.retention.max_events = args.retention_events;
    let resolver = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(Arc::new(relay::tls::CertResolver::from_files(cert, key)?)),
        _ => None,
    };
    config.tls = resolver
        .clone()
        .map(|r| r as Arc<dyn rustls::server::ResolvesServerCert>);
    let acme = match (&args.acme_domain, &args.acme_email) {
        (Some(domain), Some(email)) => {
            let opts = relay::acme::AcmeOptions {
                domain: domain.clone(),
                email: email.clone(),
                directory: args.acme_directory.clone(),
                cache_dir: args.data.join("acme"),
                directory_root: args.acme_root.clone(),
            };
            let acme_resolver = Arc::new(relay::acme::AcmeResolver::default());
            config.tls = Some(acme_resolver.clone());
            Some((opts, acme_resolver))
        }
        _ => None,
    };
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let shutdown = CancellationToken::new();
    let handle = relay::spawn(listener, store, config, shutdown.clone())?;
    if let Some(resolver) = resolver {
        tokio::spawn(reload_on_sighup(resolver));
    }
    if let Some((opts, acme_resolver)) = acme {
        tokio::spawn(relay::acme::maintain(opts, acme_resolver, shutdown.clone()));
    }
    // A plain line (not a log record) so scripts and tests can read the bound address.
    eprintln!("hookrelay relay listening on {scheme}://{}", handle.addr);
    match &args.database_url {
        Some(_) => tracing::info!(addr = %handle.addr, "relay listening (PostgreSQL store)"),
        None => tracing::info!(addr = %handle.addr, data = %args.data.display(), "relay listening"),
    }
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        shutdown.cancel();
    });
    handle.join.await.context("relay task failed")?
}

/// Rereads the certificate files on every SIGHUP; a bad file keeps the old certificate.
async fn reload_on_sighup(resolver: Arc<relay::tls::CertResolver>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            tracing::error!("installing the SIGHUP handler failed; certificates will not reload");
            return;
        };
        while hup.recv().await.is_some() {
            match resolver.reload() {
                Ok(()) => tracing::info!("TLS certificate reloaded"),
                Err(err) => {
                    tracing::error!(err = %format!("{err:#}"), "TLS reload failed; keeping the old certificate")
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = resolver;
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
