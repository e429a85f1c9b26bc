//! Runs the reducer's effects (store reads, replays, clipboard, export) off the UI loop and
//! reports back as actions.

use super::action::{Action, Effect};
use super::curl;
use super::fmt::short_id;
use super::state::ROW_CAPACITY;
use crate::capture::CaptureStore;
use crate::deliver::Deliverer;
use crate::events::AgentEvent;
use crate::model::Capture;
use crate::replay::replay;
use crate::target::Target;
use anyhow::Context;
use base64::Engine;
use shared::{DeliveryOutcome, EventId, HttpRequest};
use std::io::Write;
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;

/// What effects need: the store, the way to the local service, and where to report.
#[derive(Clone)]
pub struct Effects {
    /// The capture store.
    pub store: CaptureStore,
    /// Delivers replays.
    pub deliverer: Deliverer,
    /// Where replays go.
    pub target: Target,
    /// Replays report their rows here.
    pub events_tx: mpsc::Sender<AgentEvent>,
    /// Effect results come back here.
    pub actions_tx: mpsc::Sender<Action>,
    /// Drawing on a real terminal: clipboard tools and OSC 52 may be used.
    pub real_terminal: bool,
    /// Where `x` writes exports.
    pub export_dir: PathBuf,
}

impl Effects {
    /// Starts `effect` in the background (`EditReplay` is handled by the loop, which owns the
    /// terminal, and then calls [`Effects::spawn_replay`]).
    pub fn spawn(&self, effect: Effect) {
        let fx = self.clone();
        tokio::spawn(async move {
            let action = match fx.perform(effect).await {
                Ok(action) => action,
                Err(err) => Some(Action::Notice(format!("{err:#}"))),
            };
            if let Some(a) = action {
                let _ = fx.actions_tx.send(a).await;
            }
        });
    }

    /// Replays `id` (with `edited` in place of its request, if given) in the background.
    pub fn spawn_replay(&self, original: Capture, edited: Option<HttpRequest>) {
        let fx = self.clone();
        tokio::spawn(async move {
            let action = match fx.replay(&original, edited).await {
                Ok(a) => a,
                Err(err) => Action::Notice(format!("replay failed: {err:#}")),
            };
            let _ = fx.actions_tx.send(action).await;
        });
    }

    async fn perform(&self, effect: Effect) -> anyhow::Result<Option<Action>> {
        Ok(Some(match effect {
            Effect::LoadDetail(id) => Action::DetailLoaded(Box::new(self.load(id).await?)),
            Effect::Replay(id) => {
                let original = self.load(id).await?;
                self.replay(&original, None).await?
            }
            Effect::EditReplay(_) => return Ok(None),
            Effect::CopyCurl(id) => self.copy(&curl::command(&self.load(id).await?)),
            Effect::Export(id) => {
                let capture = self.load(id).await?;
                let path = export(&capture, &self.export_dir)?;
                Action::Notice(format!("exported to {}", path.display()))
            }
            Effect::SearchBodies(needle) => {
                let store = self.store.clone();
                let wanted = needle.clone();
                let ids = tokio::task::spawn_blocking(move || {
                    store.ids_with_body_containing(&wanted, ROW_CAPACITY)
                })
                .await
                .context("searching bodies in the capture store")??;
                Action::BodyMatches { needle, ids }
            }
        }))
    }

    /// Reads one capture from the store.
    pub async fn load(&self, id: EventId) -> anyhow::Result<Capture> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.get(id))
            .await
            .context("reading the capture store")?
            .with_context(|| format!("reading capture {id}"))?
            .with_context(|| format!("capture {id} is not in the store"))
    }

    async fn replay(
        &self,
        original: &Capture,
        edited: Option<HttpRequest>,
    ) -> anyhow::Result<Action> {
        let done = replay(
            &self.store,
            &self.deliverer,
            &self.target,
            original,
            edited,
            Some(&self.events_tx),
        )
        .await?;
        let result = match &done.outcome {
            Some(DeliveryOutcome::Answered { response, .. }) => response.status.to_string(),
            Some(DeliveryOutcome::Failed { error, .. }) => error.to_string(),
            None => "no answer".into(),
        };
        Ok(Action::Notice(format!(
            "replayed {} as {} → {result}",
            short_id(original.id),
            short_id(done.id)
        )))
    }

    fn copy(&self, text: &str) -> Action {
        if self.real_terminal {
            if let Some(tool) = clipboard_tool() {
                match pipe_to(tool, text) {
                    Ok(()) => return Action::Notice(format!("copied curl command ({})", tool[0])),
                    Err(err) => tracing::debug!(%err, "clipboard tool failed"),
                }
            }
            let osc = format!(
                "\x1b]52;c;{}\x07",
                base64::engine::general_purpose::STANDARD.encode(text)
            );
            let mut out = std::io::stdout();
            let _ = out.write_all(osc.as_bytes()).and_then(|()| out.flush());
            return Action::Popup {
                title: "curl (sent to the clipboard via OSC 52 if the terminal allows)".into(),
                text: text.to_string(),
            };
        }
        Action::Popup {
            title: "curl".into(),
            text: text.to_string(),
        }
    }
}

/// Writes the capture as pretty JSON to `dir/hookrelay-<id>.json`; returns the path.
pub fn export(capture: &Capture, dir: &Path) -> anyhow::Result<PathBuf> {
    let path = dir.join(format!("hookrelay-{}.json", capture.id));
    let json = serde_json::to_vec_pretty(capture).context("encoding the capture as JSON")?;
    std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
    Ok(std::path::absolute(&path).unwrap_or(path))
}

/// The first clipboard tool that is on `PATH` and has a display to talk to.
fn clipboard_tool() -> Option<&'static [&'static str]> {
    let candidates: [(&[&str], Option<&str>); 3] = [
        (&["wl-copy"], Some("WAYLAND_DISPLAY")),
        (&["xclip", "-selection", "clipboard"], Some("DISPLAY")),
        (&["pbcopy"], None),
    ];
    candidates.into_iter().find_map(|(cmd, display)| {
        let display_ok = display.is_none_or(|var| std::env::var_os(var).is_some());
        (display_ok && on_path(cmd[0])).then_some(cmd)
    })
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

fn pipe_to(cmd: &[&str], text: &str) -> anyhow::Result<()> {
    let mut child = std::process::Command::new(cmd[0])
        .args(&cmd[1..])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", cmd[0]))?;
    child
        .stdin
        .take()
        .context("clipboard tool has no stdin")?
        .write_all(text.as_bytes())
        .with_context(|| format!("writing to {}", cmd[0]))?;
    let status = child
        .wait()
        .with_context(|| format!("waiting for {}", cmd[0]))?;
    anyhow::ensure!(status.success(), "{} exited with {status}", cmd[0]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture_builder::CaptureBuilder;
    use crate::model::CaptureKind;

    #[test]
    fn export_writes_the_capture_as_json_named_by_id() {
        let dir = tempfile::tempdir().expect("tempdir");
        let capture = CaptureBuilder::new(CaptureKind::Event)
            .id(EventId(uuid::Uuid::from_u128(7)))
            .received_at(1)
            .body(vec![0xffu8, 0])
            .target("http://127.0.0.1:1/")
            .build();
        let path = export(&capture, dir.path()).expect("export");
        assert!(path.ends_with("hookrelay-00000000-0000-0000-0000-000000000007.json"));
        let back: Capture =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("parse");
        assert_eq!(back, capture);
        assert!(export(&capture, &dir.path().join("missing")).is_err());
    }
}
