//! A throwaway PostgreSQL 15 cluster for the tests: `initdb` in a temporary directory, run as
//! the `postgres` user when the tests run as root (CI does), listening on 127.0.0.1 on a free
//! port; one cluster per test process, a fresh database per test. A missing PostgreSQL fails
//! the test with what to install: these tests never skip.
//!
//! Teardown: a small watchdog shell waits on a pipe from this process; when the process ends
//! (however it ends) the pipe closes and the watchdog stops the cluster and removes its files.

use crate::TestRelay;
use relay::store::PostgresStore;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio_util::sync::CancellationToken;

/// Where Debian's PostgreSQL 15 server binaries are (not on `PATH`).
pub const BIN: &str = "/usr/lib/postgresql/15/bin";

/// A running cluster.
pub struct Cluster {
    dir: PathBuf,
    port: u16,
    /// Stops the cluster when this process ends (its stdin is this process's pipe).
    _watchdog: Mutex<Child>,
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// A PostgreSQL binary, run as `postgres` when we are root (the server refuses root).
fn pg_command(name: &str) -> Command {
    let bin = format!("{BIN}/{name}");
    if running_as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", &bin]);
        c
    } else {
        Command::new(bin)
    }
}

fn run(mut cmd: Command, what: &str) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Cluster {
    /// Creates and starts a new cluster (a few seconds).
    pub fn start() -> Cluster {
        assert!(
            Path::new(BIN).join("initdb").exists(),
            "PostgreSQL 15 is not installed ({BIN}/initdb is missing): these tests need it; \
             run .ci/install-deps.sh (apt-get install postgresql-15)"
        );
        let dir = tempfile::Builder::new()
            .prefix("hookrelay-pg-")
            .tempdir()
            .expect("a temporary directory")
            .keep();
        if running_as_root() {
            let mut chown = Command::new("chown");
            chown.args(["postgres:postgres"]).arg(&dir);
            run(chown, "chown the cluster directory").expect("chown");
        }
        let data = dir.join("data");
        let mut initdb = pg_command("initdb");
        initdb
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data);
        run(initdb, "initdb").expect("initdb");
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "cat >/dev/null; {} -D '{}' stop -m immediate >/dev/null 2>&1; rm -rf '{}'",
                if running_as_root() {
                    format!("runuser -u postgres -- {BIN}/pg_ctl")
                } else {
                    format!("{BIN}/pg_ctl")
                },
                data.display(),
                dir.display()
            ))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the cluster's watchdog");
        let mut cluster = Cluster {
            dir,
            port: 0,
            _watchdog: Mutex::new(watchdog),
        };
        // Another process may take the port between our probe and the server's bind: retry.
        let mut last = String::new();
        for _ in 0..5 {
            cluster.port = free_port();
            match cluster.start_server() {
                Ok(()) => return cluster,
                Err(e) => last = e,
            }
        }
        panic!("PostgreSQL did not start: {last}");
    }

    fn start_server(&self) -> Result<(), String> {
        let mut ctl = pg_command("pg_ctl");
        ctl.arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["-w", "-t", "60", "-o"])
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
                self.port,
                self.dir.display()
            ))
            .arg("start");
        run(ctl, "pg_ctl start").map_err(|e| {
            let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            format!("{e}\n{log}")
        })
    }

    /// Stops the server (fast: open connections are cut), as an outage.
    pub fn stop_server(&self) {
        let mut ctl = pg_command("pg_ctl");
        ctl.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-w", "-m", "fast", "stop"]);
        run(ctl, "pg_ctl stop").expect("stop PostgreSQL");
    }

    /// Starts the server again after [`Cluster::stop_server`], on the same port.
    pub fn restart_server(&self) {
        self.start_server().expect("start PostgreSQL again");
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A new, empty database; its URL.
    pub async fn database(&self) -> shared::Secret {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "t_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let admin = format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            self.port
        );
        let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
            .await
            .expect("connect to the test cluster");
        let conn = tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create a test database");
        drop(client);
        let _ = conn.await;
        shared::Secret::new(format!(
            "postgres://postgres@127.0.0.1:{}/{name}",
            self.port
        ))
    }
}

/// This process's cluster, started on first use.
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(Cluster::start)
}

/// A fresh database on this process's cluster.
pub async fn database() -> shared::Secret {
    cluster().database().await
}

/// Opens the PostgreSQL store at `url` (blocking briefly: it connects and migrates).
pub fn open_store(url: &shared::Secret) -> Arc<PostgresStore> {
    Arc::new(PostgresStore::open(url).expect("open the PostgreSQL store"))
}

/// A relay instance in this process on the database at `url`.
pub async fn spawn_pg_relay(url: &shared::Secret, config: relay::Config) -> TestRelay {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind relay");
    let store = open_store(url);
    let shutdown = CancellationToken::new();
    let handle = relay::spawn(listener, store, config, shutdown.clone()).expect("spawn relay");
    TestRelay {
        url: format!("http://{}", handle.addr),
        handle,
        shutdown,
        dir: Arc::new(tempfile::tempdir().expect("tempdir")),
    }
}
