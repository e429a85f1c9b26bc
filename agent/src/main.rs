//! `agent`: listen for webhooks, inspect and replay them.

// One thread: the agent's work (one websocket, its local deliveries) is a chain of small
// steps, and keeping them on one thread spares a cross-thread wake-up at every step
// (measured when it was made: agent CPU per proxy event 51 → 29 µs on 2 cores; see
// bench/README.md, "What the measurements taught").
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cli = agent::cli::parse();
    if let Err(err) = agent::cli::run(cli).await {
        eprintln!("agent: {err:#}");
        std::process::exit(1);
    }
}
