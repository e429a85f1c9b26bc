//! `relay token …` and `relay source …`: commands that act on the data directory of a
//! (possibly running) relay.

use crate::store::Store;
use crate::store::{EmbeddedStore, PostgresStore};
use clap::Subcommand;
use std::path::PathBuf;

/// The store of the relay these commands act on (a running relay's is fine): its data
/// directory, or the PostgreSQL database its instances share.
#[derive(clap::Args)]
pub struct DataDir {
    /// Data directory of the relay.
    #[arg(
        long = "data",
        value_name = "DATA",
        hide_env_values = true,
        env = "HOOKRELAY_DATA",
        default_value = "./relay-data"
    )]
    path: PathBuf,
    /// PostgreSQL database of the relay's instances, postgres://USER:PASSWORD@HOST:PORT/DB
    /// (instead of --data); every running instance sees the change within a second.
    #[arg(
        long,
        value_name = "URL",
        hide_env_values = true,
        env = "HOOKRELAY_DATABASE_URL"
    )]
    database_url: Option<shared::Secret>,
}

impl DataDir {
    fn open(&self) -> anyhow::Result<Box<dyn Store>> {
        Ok(match &self.database_url {
            Some(url) => Box::new(PostgresStore::open(url)?),
            None => Box::new(EmbeddedStore::open_dir(&self.path)?),
        })
    }
}

#[derive(Subcommand)]
pub enum SourceCommand {
    /// Create a source or change its settings.
    Set {
        #[command(flatten)]
        data: DataDir,
        /// The source name (webhooks go to /h/NAME).
        source: String,
        /// Require senders to present this header verbatim, 'NAME: VALUE' (Okta's
        /// "Authentication field" and "Authentication secret"); others get 401.
        #[arg(
            long,
            value_name = "'NAME: VALUE'",
            conflicts_with = "no_require_header"
        )]
        require_header: Option<String>,
        /// Stop requiring a sender header.
        #[arg(long)]
        no_require_header: bool,
        /// How senders are answered: auto (Okta inline hooks get the local answer, everything
        /// else 200 once stored), ack (always 200 once stored) or proxy (always the local answer).
        #[arg(long, value_parser = ["auto", "ack", "proxy"])]
        mode: Option<String>,
        /// How long a proxied sender waits for the local answer, 100-30000 ms (504 after).
        #[arg(long, value_name = "MS")]
        proxy_deadline_ms: Option<u64>,
        /// Use the relay's --proxy-deadline-ms again.
        #[arg(long, conflicts_with = "proxy_deadline_ms")]
        default_proxy_deadline: bool,
        /// Days this source's delivered events are kept (else the relay's --retention-days).
        #[arg(long, value_name = "DAYS")]
        retention_days: Option<u64>,
        /// Events this source keeps at most (else the relay's --retention-events).
        #[arg(long, value_name = "N")]
        retention_events: Option<u64>,
    },
    /// List sources and their settings (never secrets).
    List {
        #[command(flatten)]
        data: DataDir,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `relay token …`.
#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (only the token, on stdout).
    Create {
        #[command(flatten)]
        data: DataDir,
        /// The sources the token may listen on: a name (okta), a list (okta,github) or '*'
        /// for every source (quote it in a shell).
        #[arg(long, value_name = "SOURCES")]
        source: String,
        /// A label.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        data: DataDir,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token; its live sessions close within a second.
    Revoke {
        #[command(flatten)]
        data: DataDir,
        /// The token id (from `relay token list`).
        id: String,
    },
}

/// Runs a `relay source` command.
pub fn source(cmd: SourceCommand) -> anyhow::Result<()> {
    match cmd {
        SourceCommand::Set {
            data,
            source,
            require_header,
            no_require_header,
            mode,
            proxy_deadline_ms,
            default_proxy_deadline,
            retention_days,
            retention_events,
        } => {
            // Everything is checked before the store is touched: a bad value changes nothing.
            validate_source(&source)?;
            let auth = require_header
                .as_deref()
                .map(crate::admin::parse_require_header)
                .transpose()?;
            let mode: Option<shared::Mode> = mode
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(anyhow::Error::msg)?;
            let deadline = proxy_deadline_ms
                .map(crate::admin::validate_proxy_deadline)
                .transpose()?;
            let store = data.open()?;
            let mut settings = store
                .source(&source)?
                .map(|s| s.settings)
                .unwrap_or_default();
            if let Some(auth) = auth {
                eprintln!("source {source}: senders must present header {}", auth.name);
                settings.sender_auth = Some(auth);
            } else if no_require_header {
                eprintln!("source {source}: no sender header required");
                settings.sender_auth = None;
            }
            if let Some(mode) = mode {
                settings.mode = mode;
            }
            if deadline.is_some() || default_proxy_deadline {
                settings.proxy_deadline_ms = deadline;
            }
            if let Some(days) = retention_days {
                settings.retention_days = Some(days);
            }
            if let Some(events) = retention_events {
                settings.retention_events = Some(events);
            }
            store.set_settings(&source, &settings)?;
            let deadline = settings
                .proxy_deadline_ms
                .map_or("the relay's default".to_string(), |ms| format!("{ms} ms"));
            eprintln!(
                "source {source}: mode {}, proxy deadline {deadline}",
                settings.mode
            );
        }
        SourceCommand::List { data, json } => {
            let store = data.open()?;
            let views = crate::admin::list(store.as_ref())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&views)?);
            } else {
                print!("{}", crate::admin::render_table(&views));
            }
        }
    }
    Ok(())
}

/// Runs a `relay token` command.
pub fn token(cmd: TokenCommand) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Create { data, source, name } => {
            let scope = crate::token_scope::TokenScope::parse(&source)
                .map_err(|e| anyhow::anyhow!("--source: {e}"))?;
            let store = data.open()?;
            let (_, secret) = crate::tokens::create(store.as_ref(), &scope.to_string(), &name)?;
            println!("{secret}");
        }
        TokenCommand::List { data, json } => {
            let store = data.open()?;
            let tokens = store.tokens()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tokens)?);
            } else {
                println!(
                    "{:<18} {:<16} {:<16} {:<14} LAST USED",
                    "ID", "NAME", "SOURCES", "CREATED"
                );
                for t in tokens {
                    println!(
                        "{:<18} {:<16} {:<16} {:<14} {}",
                        t.id,
                        t.name,
                        t.source,
                        t.created_ms,
                        t.last_used_ms.map_or("never".into(), |v| v.to_string())
                    );
                }
            }
        }
        TokenCommand::Revoke { data, id } => {
            let store = data.open()?;
            if !store.revoke_token(&id)? {
                anyhow::bail!("no token with id {id:?}");
            }
            eprintln!("revoked {id}");
        }
    }
    Ok(())
}

fn validate_source(name: &str) -> anyhow::Result<()> {
    crate::admin::validate_source(name)
}
