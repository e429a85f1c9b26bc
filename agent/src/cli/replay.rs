//! `agent replay`: send a captured request to the local service again, edited or not.

use super::support::*;
use crate::deliver::{DeliverOptions, Deliverer};
use crate::output;
use crate::target::Target;
use anyhow::Context;
use std::path::PathBuf;

/// Send a captured request to the local service again.
#[derive(clap::Args)]
pub struct ReplayArgs {
    /// Capture id (or a unique prefix).
    id: String,
    /// Where to send it: a port or URL (default: the capture's original target).
    #[arg(long)]
    to: Option<String>,
    /// Path under the port (with --to PORT).
    #[arg(long, default_value = "/okta-webhooks-endpoint")]
    path: String,
    /// Accept any certificate from an https target.
    #[arg(long)]
    insecure: bool,
    /// Open the request's headers and body in $EDITOR first and send the edited request.
    #[arg(long)]
    edit: bool,
}

/// Runs `agent replay`.
pub(crate) async fn run(data: &Option<PathBuf>, args: ReplayArgs) -> anyhow::Result<()> {
    let ReplayArgs {
        id,
        to,
        path,
        insecure,
        edit,
    } = args;
    init_logs();
    let store = open_store(data)?;
    let original = store.resolve(&id)?;
    let target = match to {
        Some(spec) => Target::parse(&spec, &path)?,
        None => original_target(&original)?,
    };
    let deliverer = Deliverer::new(&DeliverOptions {
        insecure,
        ..Default::default()
    });
    let edited = if edit {
        use crate::editor;
        let text = editor::to_text(&original.request).context(
            "this request's body is binary and cannot be edited as text; replay it without --edit",
        )?;
        let changed = tokio::task::spawn_blocking(move || editor::edit(&text))
            .await
            .context("the editor task failed")??;
        match editor::from_text(&changed, &original.request)? {
            Some(req) => Some(req),
            None => {
                eprintln!("the file was emptied: replay cancelled");
                return Ok(());
            }
        }
    } else {
        None
    };
    let c = crate::replay::replay(&store, &deliverer, &target, &original, edited, None).await?;
    println!("{}  {}", c.id, output::compact_line(&c));
    if c.outcome.as_ref().and_then(|o| o.error()).is_some() {
        anyhow::bail!("replay failed");
    }
    Ok(())
}
