//! The terminal dashboard (`agent listen` on a TTY): the loop, terminal setup and restore.
//!
//! Elm-style split: [`state::AppState`] is plain data, [`update::update`] is the reducer that
//! returns [`action::Effect`]s, [`view::render`] draws the state, and [`run`] ties them to the
//! terminal, the agent's events and the effects.

pub mod action;
pub mod body;
pub mod curl;
pub mod detail;
pub mod edit_session;
pub mod effects;
pub mod fmt;
pub mod keys;
pub mod ring;
pub mod row;
pub mod state;
pub mod update;
pub mod view;

#[cfg(test)]
mod tests;

use crate::capture::CaptureStore;
use crate::deliver::Deliverer;
use crate::events::AgentEvent;
use crate::model::now_ms;
use crate::target::Target;
use action::{Action, Effect};
use anyhow::Context;
use crossterm::event::{Event, EventStream};
use edit_session::EditSession;
use effects::Effects;
use futures_util::{Stream, StreamExt};
use ratatui::backend::Backend;
use ratatui::Terminal;
use row::Row;
use state::AppState;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use update::update;

/// How many recent captures the dashboard opens with.
pub const HISTORY_ROWS: usize = 5_000;
/// Most agent events applied before the next frame is drawn.
const MAX_BATCH: usize = 1_024;
/// How often "now" advances (pending timers, reconnect countdown).
const TICK: Duration = Duration::from_millis(250);

/// What the dashboard needs from `agent listen`.
pub struct TuiContext {
    /// The capture store (history, detail, replay).
    pub store: CaptureStore,
    /// Delivers replays to the local service.
    pub deliverer: Deliverer,
    /// The local service.
    pub target: Target,
    /// The relay source.
    pub source: String,
}

/// Restores the terminal when dropped, whatever way the dashboard ends.
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Runs the dashboard on the real terminal until quit or shutdown; restores the terminal.
pub async fn run_terminal(
    ctx: TuiContext,
    inspect_url: Option<String>,
    events_rx: mpsc::Receiver<AgentEvent>,
    events_tx: mpsc::Sender<AgentEvent>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut terminal = ratatui::try_init().context("opening the terminal")?;
    let _guard = TerminalGuard;
    let input = EventStream::new();
    let io = LoopIo {
        reopen_input: Some(EventStream::new),
        real_terminal: true,
        inspect_url,
    };
    run_loop(
        &mut terminal,
        ctx,
        events_rx,
        events_tx,
        input,
        shutdown,
        io,
    )
    .await
}

/// The loop, generic over the backend and the input stream (tests pass a TestBackend and a channel stream).
pub async fn run<B: Backend>(
    terminal: &mut Terminal<B>,
    ctx: TuiContext,
    events_rx: mpsc::Receiver<AgentEvent>,
    events_tx: mpsc::Sender<AgentEvent>,
    input: impl Stream<Item = std::io::Result<Event>> + Unpin,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let io = LoopIo {
        reopen_input: None,
        real_terminal: false,
        inspect_url: None,
    };
    run_loop(terminal, ctx, events_rx, events_tx, input, shutdown, io).await
}

/// How the loop treats the terminal around `$EDITOR`.
struct LoopIo<S> {
    /// A fresh input stream after the editor returned (the old one is dropped first so it
    /// does not steal the editor's keys); `None` keeps the one stream.
    reopen_input: Option<fn() -> S>,
    /// Leave and re-enter the alternate screen around the editor; use clipboard tools.
    real_terminal: bool,
    /// The web inspector's base URL (shown in the status bar and each event's detail view).
    inspect_url: Option<String>,
}

async fn run_loop<B: Backend, S>(
    terminal: &mut Terminal<B>,
    ctx: TuiContext,
    mut events_rx: mpsc::Receiver<AgentEvent>,
    events_tx: mpsc::Sender<AgentEvent>,
    input: S,
    shutdown: CancellationToken,
    io: LoopIo<S>,
) -> anyhow::Result<()>
where
    S: Stream<Item = std::io::Result<Event>> + Unpin,
{
    let mut state = AppState::new("", &ctx.target.url(), &ctx.source, shared::Mode::default());
    if let Some(url) = &io.inspect_url {
        state.notice = Some(format!("web inspector on {url}"));
    }
    state.inspect_url = io.inspect_url.clone();
    let size = terminal.size().context("reading the terminal size")?;
    update(&mut state, Action::Resize(size.width, size.height));
    update(&mut state, Action::Tick(now_ms()));
    let (actions_tx, mut actions_rx) = mpsc::channel(64);
    let fx = Effects {
        store: ctx.store,
        deliverer: ctx.deliverer,
        target: ctx.target,
        events_tx,
        actions_tx,
        real_terminal: io.real_terminal,
        export_dir: std::path::PathBuf::from("."),
    };
    update(&mut state, load_history(&fx.store).await);
    // What the agent reported before the dashboard opened (its start, the relay's welcome)
    // is in the first frame.
    if let Ok(first) = events_rx.try_recv() {
        apply_net_batch(&mut state, &mut events_rx, first, &fx);
    }
    let mut input = Some(input);
    let mut editing: Option<EditSession> = None;
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        if editing.is_none() {
            terminal
                .draw(|f| view::render(&state, f))
                .context("drawing the dashboard")?;
        }
        let action = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            (original, edited) = edit_session::wait(&mut editing) => {
                reclaim_terminal(terminal, &io, &mut input)?;
                edit_session::finish(&fx, original, edited)
            }
            Some(a) = actions_rx.recv() => a,
            Some(ev) = events_rx.recv() => {
                apply_net_batch(&mut state, &mut events_rx, ev, &fx);
                continue;
            }
            ev = next_input(&mut input) => match ev {
                Some(Ok(ev)) => match to_action(&state, ev) {
                    Some(a) => a,
                    None => continue,
                },
                Some(Err(err)) => return Err(err).context("reading terminal input"),
                None => {
                    input = None;
                    continue;
                }
            },
            _ = tick.tick() => Action::Tick(now_ms()),
        };
        match update(&mut state, action) {
            Some(Effect::EditReplay(id)) if editing.is_none() => {
                match edit_session::prepare(&fx, id).await {
                    Ok((original, text)) => {
                        release_terminal(&io, &mut input);
                        editing = Some(EditSession::spawn(original, text));
                    }
                    Err(notice) => apply(&mut state, notice, &fx),
                }
            }
            Some(Effect::EditReplay(_)) => {}
            Some(effect) => fx.spawn(effect),
            None => {}
        }
        if state.quit {
            break;
        }
    }
    // Show what already arrived before leaving (the last frame stays visible in tests).
    while let Ok(ev) = events_rx.try_recv() {
        apply(&mut state, Action::Net(ev), &fx);
    }
    terminal
        .draw(|f| view::render(&state, f))
        .context("drawing the dashboard")?;
    Ok(())
}

async fn next_input<S>(input: &mut Option<S>) -> Option<std::io::Result<Event>>
where
    S: Stream<Item = std::io::Result<Event>> + Unpin,
{
    match input {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

fn to_action(state: &AppState, ev: Event) -> Option<Action> {
    match ev {
        Event::Key(k) => keys::map_key(state, k),
        Event::Resize(w, h) => Some(Action::Resize(w, h)),
        _ => None,
    }
}

fn apply(state: &mut AppState, action: Action, fx: &Effects) {
    if let Some(effect) = update(state, action) {
        fx.spawn(effect);
    }
}

/// Applies `first` and whatever else is already queued (up to a batch) before the next frame.
fn apply_net_batch(
    state: &mut AppState,
    rx: &mut mpsc::Receiver<AgentEvent>,
    first: AgentEvent,
    fx: &Effects,
) {
    apply(state, Action::Net(first), fx);
    for _ in 1..MAX_BATCH {
        match rx.try_recv() {
            Ok(ev) => apply(state, Action::Net(ev), fx),
            Err(_) => break,
        }
    }
}

async fn load_history(store: &CaptureStore) -> Action {
    let store = store.clone();
    let loaded = tokio::task::spawn_blocking(move || store.recent(HISTORY_ROWS))
        .await
        .context("reading history from the capture store")
        .and_then(|r| r.context("reading history from the capture store"));
    match loaded {
        Ok(captures) => Action::HistoryLoaded(captures.iter().map(Row::from_capture).collect()),
        Err(err) => Action::Notice(format!("{err:#}")),
    }
}

/// Hands the terminal to `$EDITOR`: drops the key reader (so it can't steal the editor's
/// keys) and leaves the alternate screen.
fn release_terminal<S>(io: &LoopIo<S>, input: &mut Option<S>) {
    if io.real_terminal {
        *input = None;
        ratatui::restore();
    }
}

/// Takes the terminal back after `$EDITOR` exits and forces a full redraw.
fn reclaim_terminal<B: Backend, S>(
    terminal: &mut Terminal<B>,
    io: &LoopIo<S>,
    input: &mut Option<S>,
) -> anyhow::Result<()> {
    if io.real_terminal {
        crossterm::terminal::enable_raw_mode().context("re-entering raw mode")?;
        crossterm::execute!(std::io::stdout(), crossterm::terminal::EnterAlternateScreen)
            .context("re-entering the alternate screen")?;
        terminal.clear().context("clearing the terminal")?;
    }
    if let Some(reopen) = io.reopen_input {
        *input = Some(reopen());
    }
    Ok(())
}
