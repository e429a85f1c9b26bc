//! `agent`: listen for webhooks, inspect and replay them.

use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = agent::cli::Cli::parse();
    if let Err(err) = agent::cli::run(cli).await {
        eprintln!("agent: {err:#}");
        std::process::exit(1);
    }
}
