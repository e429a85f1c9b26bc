//! Edit-and-replay without stalling the agent: while `$EDITOR` owns the terminal the loop
//! keeps applying events (it only stops drawing and reading keys), then takes the terminal back.

use super::action::Action;
use super::effects::Effects;
use crate::editor;
use crate::model::Capture;
use anyhow::Context;
use shared::EventId;
use tokio::task::JoinHandle;

/// `$EDITOR` running on a capture's request.
pub struct EditSession {
    original: Capture,
    editor: JoinHandle<anyhow::Result<String>>,
}

/// Loads the capture and its request as editable text; a notice to show when it can't.
pub async fn prepare(fx: &Effects, id: EventId) -> Result<(Capture, String), Action> {
    let original = fx
        .load(id)
        .await
        .map_err(|err| Action::Notice(format!("{err:#}")))?;
    match editor::to_text(&original.request) {
        Some(text) => Ok((original, text)),
        None => Err(Action::Notice(
            "binary body: edit is for text bodies; use r to replay".into(),
        )),
    }
}

impl EditSession {
    /// Starts the editor (call once the terminal has been handed over).
    pub fn spawn(original: Capture, text: String) -> Self {
        let editor = tokio::task::spawn_blocking(move || editor::edit(&text));
        EditSession { original, editor }
    }
}

/// Waits for the editor to exit; never resolves when nothing is being edited.
pub async fn wait(session: &mut Option<EditSession>) -> (Capture, anyhow::Result<String>) {
    let Some(s) = session.as_mut() else {
        return std::future::pending().await;
    };
    let edited = (&mut s.editor)
        .await
        .context("running the editor")
        .and_then(|r| r);
    let s = session.take().expect("the session was present above");
    (s.original, edited)
}

/// Parses the edited text and starts the replay; returns the notice to show.
pub fn finish(fx: &Effects, original: Capture, edited: anyhow::Result<String>) -> Action {
    match edited.and_then(|t| editor::from_text(&t, &original.request)) {
        Ok(Some(request)) => {
            fx.spawn_replay(original, Some(request));
            Action::Notice("replaying the edited request…".into())
        }
        Ok(None) => Action::Notice("edit cancelled".into()),
        Err(err) => Action::Notice(format!("{err:#}")),
    }
}
