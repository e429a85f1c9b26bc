//! The real `relay` binary as a child process: started on port 0, its address read from the
//! line it logs once listening.

use crate::bin_path;
use std::net::SocketAddr;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr, Command};

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
