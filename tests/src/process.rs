//! The real binaries as child processes: `relay` started on port 0, its address read from the
//! line it logs once listening, and `agent listen` on its embedded relay.

use crate::bin_path;
use std::net::SocketAddr;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr, ChildStdout, Command};

/// A running `relay` process; killed when dropped.
pub struct RelayProcess {
    /// The process.
    pub child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Every stderr line up to and including the "listening" line.
    pub log: String,
    /// The rest of its stderr, for a test to read; [`RelayProcess::drain`] discards it.
    pub stderr: Option<Lines<BufReader<ChildStderr>>>,
}

impl RelayProcess {
    /// Runs `relay` with the arguments and environment `setup` adds (`serve --listen
    /// 127.0.0.1:0 ...`), returning once it listens.
    pub async fn start(setup: impl FnOnce(&mut Command)) -> Self {
        let mut cmd = Command::new(bin_path("relay"));
        setup(&mut cmd);
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn relay");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let mut log = String::new();
        let addr = loop {
            let line = lines
                .next_line()
                .await
                .expect("read relay stderr")
                .expect("relay exited before listening");
            log.push_str(&line);
            log.push('\n');
            let rest = line
                .strip_prefix("hookrelay relay listening on http://")
                .or_else(|| line.strip_prefix("hookrelay relay listening on https://"));
            if let Some(rest) = rest {
                break rest.trim().parse().expect("addr");
            }
        };
        RelayProcess {
            child,
            addr,
            log,
            stderr: Some(lines),
        }
    }

    /// Keeps reading stderr in the background, so the relay never blocks on a full pipe.
    pub fn drain(&mut self) {
        if let Some(mut lines) = self.stderr.take() {
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        }
    }

    /// Sends signal `name` (`TERM`, `HUP`) to the process with `kill`.
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().expect("pid").to_string();
        let status = std::process::Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} {pid}: {status}");
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// The real `agent listen` on its embedded relay, as a child process; killed when dropped.
pub struct AgentProcess {
    /// The process.
    pub child: Child,
    /// The embedded relay's URL (`http://127.0.0.1:PORT`), read from the agent's stderr.
    pub relay_url: String,
    /// The agent's stdout, for a test to read its lines.
    pub stdout: Lines<BufReader<ChildStdout>>,
}

impl AgentProcess {
    /// Spawns `cmd` (an `agent … listen … --embedded-port 0` command) and returns once it has
    /// printed its embedded relay's URL. The rest of its stderr is drained in the background,
    /// which also keeps `keep` (the agent's data directory, say) alive as long as the agent.
    pub async fn start<K: Send + 'static>(mut cmd: Command, keep: K) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn agent");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let relay_url = loop {
            let line = stderr
                .next_line()
                .await
                .expect("read agent stderr")
                .expect("agent exited before starting its relay");
            if let Some(rest) = line.strip_prefix("hookrelay: embedded relay on ") {
                break rest.split_whitespace().next().expect("url").to_string();
            }
        };
        tokio::spawn(async move {
            let _keep = keep;
            while let Ok(Some(_)) = stderr.next_line().await {}
        });
        AgentProcess {
            child,
            relay_url,
            stdout,
        }
    }

    /// The next stdout line that is JSON (`--output json`) and satisfies `wanted`.
    pub async fn next_json(
        &mut self,
        wanted: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        loop {
            let line = self
                .stdout
                .next_line()
                .await
                .expect("read agent stdout")
                .expect("agent exited");
            let v: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
            if wanted(&v) {
                return v;
            }
        }
    }
}
