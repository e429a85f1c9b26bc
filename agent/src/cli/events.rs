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
    let captures = store.recent(limit)?;
    // A history of several sources names each event's source; one source's reads as before.
    let tagged = captures.iter().any(|c| c.source != captures[0].source);
    for c in captures {
        if json {
            let mut v = output::capture_json(&c);
            if tagged {
                v["source"] = c.source.clone().into();
            }
            println!("{v}");
        } else if tagged {
            println!("{}  {}", c.id, output::tagged_line(&c));
        } else {
            println!("{}  {}", c.id, output::compact_line(&c));
        }
    }
    Ok(())
}
