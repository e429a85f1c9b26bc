//! Child processes (relay, agent, bore) and what /proc says about them: CPU time and RSS.

use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Clock ticks per second of /proc/PID/stat times (USER_HZ, 100 on Linux).
const TICKS_PER_SEC: u64 = 100;

/// A child process, killed (by its own pid) when dropped.
pub struct Proc {
    /// What it is, for messages.
    pub name: String,
    child: Child,
}

impl Proc {
    /// Starts `bin args…` with output going to `log`.
    pub fn spawn(name: &str, bin: &Path, args: &[String], log: &Path) -> anyhow::Result<Proc> {
        let out =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        let child = Command::new(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .env("RUST_LOG", "warn")
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        Ok(Proc {
            name: name.to_string(),
            child,
        })
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails if it already exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} exited early: {status}", self.name);
        }
        Ok(())
    }

    /// User + system CPU time so far, in microseconds.
    pub fn cpu_us(&self) -> u64 {
        cpu_us(self.pid()).unwrap_or(0)
    }

    /// Current resident set, KiB.
    pub fn rss_kib(&self) -> u64 {
        status_kib(self.pid(), "VmRSS:").unwrap_or(0)
    }

    /// Peak resident set since start or the last [`reset_peak`](Self::reset_peak), KiB.
    pub fn peak_kib(&self) -> u64 {
        status_kib(self.pid(), "VmHWM:").unwrap_or(0)
    }

    /// Resets the peak RSS to the current RSS (writes 5 to /proc/PID/clear_refs).
    pub fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5");
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// utime + stime of `pid` in microseconds.
pub fn cpu_us(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) * 1_000_000 / TICKS_PER_SEC)
}

fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// Where the relay and agent binaries are: `--bin-dir`, else next to this executable.
pub fn bin_dir(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let dir = match given {
        Some(d) => d,
        None => std::env::current_exe()?
            .parent()
            .context("executable has no directory")?
            .to_path_buf(),
    };
    for bin in ["relay", "agent"] {
        if !dir.join(bin).is_file() {
            bail!(
                "{} not found; build with `cargo build --release -p relay -p agent -p hookrelay-bench`",
                dir.join(bin).display()
            );
        }
    }
    Ok(dir)
}

/// `bore` on PATH, if any.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Waits until something accepts TCP connections on `port`, at most `limit`.
pub async fn wait_port(port: u16, limit: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!("nothing listening on port {port} after {limit:?}")
}

/// Raises the open-files limit (via util-linux `prlimit`, no unsafe code): soft and hard to
/// `want` when that is above the hard limit and allowed (root; at most `fs.nr_open`), else the
/// soft one to the hard one. Children started later inherit it. Returns the soft limit in force
/// afterwards.
pub fn raise_nofile(want: u64) -> u64 {
    let me = std::process::id().to_string();
    let hard = nofile(4).unwrap_or(1024);
    let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(hard);
    let set = |n: u64| {
        Command::new("prlimit")
            .args(["--pid", &me, &format!("--nofile={n}:{n}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let wanted = want.min(nr_open);
    if wanted <= hard || !set(wanted) {
        set(hard);
    }
    nofile(3).unwrap_or(1024)
}

/// Field 3 (soft) or 4 (hard) of the "Max open files" line.
fn nofile(field: usize) -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(field)?.parse().ok()
}
