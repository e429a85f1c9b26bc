//! `relay token …` and `relay source …`: commands that act on the data directory of a
//! (possibly running) relay.

use crate::store::sqlite::SqliteStore;
use crate::store::Store;
use clap::Subcommand;
use std::path::PathBuf;

/// `relay source …`.
/// The data directory of the relay these commands act on (a running relay's is fine).
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
}

impl DataDir {
    fn open(&self) -> anyhow::Result<SqliteStore> {
        SqliteStore::open_dir(&self.path)
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
    /// Create a token for a source and print it (only the token, on stdout).
    Create {
        #[command(flatten)]
        data: DataDir,
        /// The source the token may listen on.
        #[arg(long)]
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
        } => {
            validate_source(&source)?;
            let auth = require_header
                .as_deref()
                .map(crate::admin::parse_require_header)
                .transpose()?;
            let store = data.open()?;
            store.ensure_source(&source)?;
            if let Some(auth) = &auth {
                store.set_sender_auth(&source, Some(auth))?;
                eprintln!("source {source}: senders must present header {}", auth.name);
            } else if no_require_header {
                store.set_sender_auth(&source, None)?;
                eprintln!("source {source}: no sender header required");
            } else {
                eprintln!("source {source} exists");
            }
        }
        SourceCommand::List { data, json } => {
            let store = data.open()?;
            let views = crate::admin::list(&store)?;
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
            validate_source(&source)?;
            let store = data.open()?;
            let (_, secret) = crate::tokens::create(&store, &source, &name)?;
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
                    "ID", "NAME", "SOURCE", "CREATED"
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
