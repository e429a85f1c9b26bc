//! `agent events`: list captured exchanges.

use super::support::*;
use crate::output;
use std::path::PathBuf;

/// List captured exchanges.
#[derive(clap::Args)]
pub struct EventsArgs {
    /// Print JSON lines.
    #[arg(long)]
    json: bool,
    /// How many (newest).
    #[arg(long, default_value_t = 50)]
    limit: usize,
}

/// Runs `agent events`.
pub(crate) async fn run(data: &Option<PathBuf>, args: EventsArgs) -> anyhow::Result<()> {
    let EventsArgs { json, limit } = args;
    init_logs();
    let store = open_store(data)?;
    for c in store.recent(limit)? {
        if json {
            println!("{}", output::capture_json(&c));
        } else {
            println!("{}  {}", c.id, output::compact_line(&c));
        }
    }
    Ok(())
}
