//! The `agent` command line: one module per subcommand, each with its arguments and its run
//! function; this file only names them and dispatches.

mod events;
mod export;
mod inspect;
mod listen;
mod login;
mod project;
mod replay;
mod support;
mod trigger;
mod verify;

pub use inspect::{InspectArgs, InspectCmd};
pub use listen::{ListenArgs, Output};
pub use support::RelayCli;
pub use trigger::TriggerCli;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// `agent`: the command line.
#[derive(Parser)]
#[command(
    name = "agent",
    version,
    about = "hookrelay agent: webhooks from a relay to your local service"
)]
pub struct Cli {
    /// Capture store location (default: the platform data directory).
    #[arg(long, global = true, env = "HOOKRELAY_AGENT_DATA")]
    pub data: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Deliver every webhook of a source to a local port or URL.
    Listen(ListenArgs),
    /// List captured exchanges.
    Events(events::EventsArgs),
    /// Send a captured request to the local service again.
    Replay(replay::ReplayArgs),
    /// Send realistic Okta hooks through the relay (or any URL).
    Trigger(TriggerCli),
    /// Play Okta's one-time verification against the source's URL (or any URL).
    Verify(verify::VerifyArgs),
    /// Save a default relay, token and source for `listen`, `trigger` and `verify`.
    Login(login::LoginArgs),
    /// Write captured exchanges as HAR, JSON or NDJSON.
    Export(export::ExportArgs),
    /// Browse and replay captured exchanges in the web inspector, without listening.
    Inspect(InspectCmd),
    /// Load exchanges from a HAR, JSON or NDJSON file (e.g. a teammate's export).
    Import(export::ImportArgs),
}

/// Parses the command line, noting which `listen` settings were given as flags or environment
/// variables: those win over `hookrelay.toml`.
pub fn parse() -> Cli {
    parse_from(std::env::args_os()).unwrap_or_else(|e| e.exit())
}

/// [`parse`] over given arguments (the program name first).
pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().try_get_matches_from(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    if let (Command::Listen(args), Some(("listen", sub))) = (&mut cli.command, matches.subcommand())
    {
        args.given = project::Given::from_matches(sub);
    }
    Ok(cli)
}

/// Runs one parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let data = &cli.data;
    match cli.command {
        Command::Listen(args) => listen::run(data, args).await,
        Command::Events(args) => events::run(data, args).await,
        Command::Replay(args) => replay::run(data, args).await,
        Command::Trigger(args) => trigger::run(data, args).await,
        Command::Verify(args) => verify::run(data, args).await,
        Command::Login(args) => login::run(args),
        Command::Export(args) => export::run(data, args).await,
        Command::Inspect(cmd) => inspect::run_inspect(data, cmd).await,
        Command::Import(args) => export::run_import(data, args).await,
    }
}
