//! The real-browser test's helpers: finding chromium and the Playwright script, starting the
//! `agent` binary with its inspector, and running the script.

use std::path::PathBuf;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// Where the Playwright script and its `node_modules` live.
pub fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Chromium (`HOOKRELAY_CHROMIUM` or Debian's `/usr/bin/chromium`) and node with
/// playwright-core installed; panics with what to install when one is missing. Never skips:
/// a browser test that silently does not run is worse than a failing one.
pub fn require_browser() -> PathBuf {
    let chromium = std::env::var_os("HOOKRELAY_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        chromium.exists(),
        "{} not found: install Debian's chromium (`apt-get install -y chromium`, done by \
         .ci/install-deps.sh) or point HOOKRELAY_CHROMIUM at a chromium binary",
        chromium.display()
    );
    let module = browser_dir().join("node_modules/playwright-core/package.json");
    assert!(
        module.exists(),
        "{} not found: run `npm ci` in {} (done by .ci/install-deps.sh)",
        module.display(),
        browser_dir().display()
    );
    chromium
}

/// The `agent` binary listening through `relay_url` with its inspector on 127.0.0.1:0.
pub struct InspectedAgent {
    /// The process (killed on drop).
    pub child: Child,
    /// `http://127.0.0.1:PORT`, as the agent printed it.
    pub inspector_url: String,
    /// Its JSON lines.
    pub stdout: Lines<BufReader<ChildStdout>>,
    /// Its data directory.
    pub dir: tempfile::TempDir,
}

/// Starts `agent listen TARGET --relay URL --token T --output json --inspect 127.0.0.1:0` and
/// waits for the line that names the inspector's address.
pub async fn spawn_inspected_agent(
    relay_url: &str,
    token: &str,
    target_url: &str,
) -> InspectedAgent {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(crate::bin_path("agent"))
        .env("HOOKRELAY_AGENT_CONFIG", dir.path().join("agent.json"))
        .env_remove("HOOKRELAY_TOKEN")
        .arg("--data")
        .arg(dir.path())
        .args(["listen", target_url, "--relay", relay_url, "--token", token])
        .args(["--output", "json", "--inspect", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start agent");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let inspector_url = loop {
        let line = lines
            .next_line()
            .await
            .expect("read agent stderr")
            .expect("the agent exited before printing the inspector's address");
        if let Some(url) = line.split("web inspector on ").nth(1) {
            break url.trim().to_string();
        }
    };
    // Keep draining stderr so the agent never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    InspectedAgent {
        child,
        inspector_url,
        stdout,
        dir,
    }
}

/// Runs `node inspector.mjs` with `env`; returns its output, panicking with it on failure.
pub async fn run_script(env: &[(&str, String)]) -> String {
    run_named_script("inspector.mjs", env).await
}

/// Runs `node SCRIPT` (a file in [`browser_dir`]) with `env`; returns its output, panicking
/// with it on failure.
pub async fn run_named_script(script: &str, env: &[(&str, String)]) -> String {
    let mut cmd = Command::new("node");
    cmd.arg(script)
        .current_dir(browser_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().await.expect("run node (is nodejs installed?)");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the browser script failed:\n{text}");
    text
}
