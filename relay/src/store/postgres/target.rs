//! The database a relay connects to: its URL (kept as a [`Secret`], since it may carry the
//! password), a description that never includes the password, and opening connections.

use shared::Secret;
use std::time::Duration;
use tokio_postgres::{Client, NoTls};

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A PostgreSQL database, by URL.
#[derive(Clone)]
pub struct Target {
    url: Secret,
    config: tokio_postgres::Config,
    /// `host:port/db as user`: what errors and logs say.
    described: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.described)
    }
}

impl Target {
    /// Parses a `postgres://user:password@host:port/db` URL (or a `key=value` string). The
    /// error never repeats the URL, since it may hold the password.
    pub fn parse(url: &Secret) -> anyhow::Result<Self> {
        let mut config: tokio_postgres::Config = url.expose().parse().map_err(|_| {
            anyhow::anyhow!(
                "the database URL is not a valid PostgreSQL URL (expected \
                 postgres://USER:PASSWORD@HOST:PORT/DATABASE)"
            )
        })?;
        config.connect_timeout(CONNECT_TIMEOUT);
        if config.get_application_name().is_none() {
            config.application_name("hookrelay-relay");
        }
        let host = config
            .get_hosts()
            .iter()
            .map(|h| match h {
                tokio_postgres::config::Host::Tcp(name) => name.clone(),
                tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
            })
            .collect::<Vec<_>>()
            .join(",");
        let host = if host.is_empty() {
            "localhost".into()
        } else {
            host
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config.get_user().unwrap_or("(default user)").to_string();
        let db = config.get_dbname().unwrap_or(&user).to_string();
        Ok(Target {
            url: url.clone(),
            config,
            described: format!("PostgreSQL at {host}:{port}, database {db:?}, user {user:?}"),
        })
    }

    /// The URL, for the one place that connects.
    pub fn url(&self) -> &Secret {
        &self.url
    }

    /// What errors say about this database (never the password).
    pub fn describe(&self) -> &str {
        &self.described
    }

    /// Opens a connection whose messages are driven by a task on the current runtime; the
    /// notifications it receives (LISTEN) go to `notices`, when given.
    pub async fn connect(
        &self,
        notices: Option<tokio::sync::mpsc::UnboundedSender<tokio_postgres::Notification>>,
    ) -> Result<Client, String> {
        let (client, mut connection) = self
            .config
            .connect(NoTls)
            .await
            .map_err(|e| format!("connecting to {}: {}", self.described, redact(&e)))?;
        tokio::spawn(async move {
            use tokio_postgres::AsyncMessage;
            loop {
                let msg = std::future::poll_fn(|cx| connection.poll_message(cx)).await;
                match msg {
                    Some(Ok(AsyncMessage::Notification(n))) => {
                        if let Some(tx) = &notices {
                            let _ = tx.send(n);
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(err)) => {
                        tracing::warn!(err = %redact(&err), "PostgreSQL connection ended");
                        return;
                    }
                    None => return,
                }
            }
        });
        // Every `2xx` for an event follows a commit on disk (and on a synchronous standby,
        // when the server has one), whatever the server's default.
        client
            .batch_execute("SET synchronous_commit = on")
            .await
            .map_err(|e| {
                format!(
                    "configuring the connection to {}: {}",
                    self.described,
                    redact(&e)
                )
            })?;
        Ok(client)
    }
}

/// A driver error as text. tokio-postgres never puts the password in its messages; the
/// server's own messages name the user at most.
pub fn redact(err: &tokio_postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => {
            let mut s = err.to_string();
            let mut source = std::error::Error::source(err);
            while let Some(e) = source {
                s.push_str(": ");
                s.push_str(&e.to_string());
                source = e.source();
            }
            s
        }
    }
}
