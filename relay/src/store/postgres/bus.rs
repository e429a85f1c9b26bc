//! What instances on one database tell each other, through `LISTEN`/`NOTIFY`: new heads
//! (`"{seq}:{source}"`), forwarded proxy answers and presence changes. An answer small enough
//! travels in its notification (`"{id}:{base64 frame}"`: one statement, nothing to collect);
//! a larger one waits in the `answers` table and the notification carries its event id only,
//! since a notification carries at most 8,000 bytes. A slow poll of the heads covers the moments the listening connection is being
//! re-established, and the presence rows expire when an instance stops heartbeating.

use super::queries::{self, backend};
use super::Shared;
use crate::peers::{Peers, RemoteAnswer};
use shared::{DeliveryOutcome, EventId};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Notification;

/// Heads committed by any instance.
pub const HEAD_CHANNEL: &str = "hookrelay_head";
/// Proxy answers waiting in `answers` for the instance whose sender waits.
const ANSWER_CHANNEL: &str = "hookrelay_answer";
/// An instance's connected agents changed.
const PRESENCE_CHANNEL: &str = "hookrelay_presence";
/// A token was revoked (the payload is its id).
pub const TOKEN_CHANNEL: &str = "hookrelay_token";

/// Heads are polled this often while notifications flow (a safety net only)…
const POLL_LISTENING: Duration = Duration::from_secs(1);
/// …and this often while the listening connection is down.
const POLL_DEAF: Duration = Duration::from_millis(250);
/// An instance heartbeats its presence this often…
const HEARTBEAT: Duration = Duration::from_secs(1);
/// …and stops counting this long after its last heartbeat (it was killed or cut off).
const PRESENCE_TTL_MS: i64 = 3000;
/// Longest notification payload an answer travels in (PostgreSQL's limit is 8,000 bytes).
const INLINE_ANSWER_MAX: usize = 7900;
/// Answers nobody collected (the sender gave up) are removed after this long.
const ANSWER_TTL_MS: i64 = 60_000;

/// The database's clock in ms: presence is compared on one clock, whatever the hosts' say.
const DB_NOW_MS: &str = "(extract(epoch from clock_timestamp()) * 1000)::BIGINT";

/// Keeps a listening connection open and acts on what it hears.
pub async fn listen(shared: Arc<Shared>) {
    let mut warned = false;
    loop {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        match shared.target.connect(Some(tx)).await {
            Ok(client) => {
                let setup = format!(
                    "SET synchronous_commit = off; LISTEN {HEAD_CHANNEL}; \
                     LISTEN {ANSWER_CHANNEL}; LISTEN {PRESENCE_CHANNEL}; LISTEN {TOKEN_CHANNEL}"
                );
                // Answers and presence are ephemeral: no need to wait for the disk.
                if let Err(e) = client.batch_execute(&setup).await {
                    tracing::warn!(err = %backend(e), "listening for other relays failed");
                } else {
                    if warned {
                        tracing::info!(db = %shared.target.describe(), "database reachable again");
                        warned = false;
                    }
                    *shared.lock_bus() = Some(Arc::new(client));
                    shared.listening.store(true, Ordering::Release);
                    // Whatever was announced while nobody listened.
                    poll_heads(&shared).await;
                    refresh_presence(&shared).await;
                    while let Some(n) = rx.recv().await {
                        heard(&shared, n);
                    }
                    shared.listening.store(false, Ordering::Release);
                    *shared.lock_bus() = None;
                }
            }
            Err(e) => {
                if !warned {
                    tracing::error!(err = %e, "database unreachable; retrying");
                    warned = true;
                }
            }
        }
        tokio::time::sleep(POLL_DEAF).await;
    }
}

fn heard(shared: &Arc<Shared>, n: Notification) {
    match n.channel() {
        HEAD_CHANNEL => {
            if let Some((seq, source)) = n.payload().split_once(':') {
                if let Ok(seq) = seq.parse::<u64>() {
                    shared.raise_head(source, seq);
                }
            }
        }
        ANSWER_CHANNEL => match n.payload().split_once(':') {
            Some((id, frame)) => {
                use base64::Engine as _;
                let frame = base64::engine::general_purpose::STANDARD.decode(frame);
                match frame {
                    Ok(frame) => hand_over(shared, id, frame),
                    Err(_) => tracing::warn!("a forwarded proxy answer does not decode"),
                }
            }
            None => {
                let id = n.payload().to_string();
                if shared.lock_waiting().contains_key(&id) {
                    tokio::spawn(collect_answer(shared.clone(), id));
                }
            }
        },
        TOKEN_CHANNEL => shared.revoked.notify_one(),
        PRESENCE_CHANNEL if n.payload() != shared.instance => {
            let shared = shared.clone();
            tokio::spawn(async move { refresh_presence(&shared).await });
        }
        _ => {}
    }
}

/// Takes a forwarded answer out of `answers` and hands it to the waiting sender.
async fn collect_answer(shared: Arc<Shared>, id: String) {
    let Ok(client) = shared.bus().or_else(|_| shared.reader()) else {
        return;
    };
    let row = client
        .query_typed(
            "DELETE FROM answers WHERE id = $1 RETURNING frame",
            &[(&id, Type::TEXT)],
        )
        .await;
    match row.map(|rows| rows.into_iter().next()) {
        Ok(Some(row)) => hand_over(&shared, &id, row.get(0)),
        Ok(None) => {}
        Err(e) => tracing::warn!(err = %backend(e), "collecting a proxy answer failed"),
    }
}

/// Gives a forwarded answer's frame to the sender waiting for event `id`, if still waiting.
fn hand_over(shared: &Shared, id: &str, frame: Vec<u8>) {
    let decoded = shared::frame::decode_agent_binary(frame.into(), usize::MAX);
    let Ok(shared::AgentMessage::Ack { outcome, .. }) = decoded else {
        return tracing::warn!("a forwarded proxy answer does not decode");
    };
    if let Some(tx) = shared.lock_waiting().remove(id) {
        let _ = tx.send(outcome);
    }
}

/// Reads the heads of every watched source: the fallback when notifications may be missed.
async fn poll_heads(shared: &Shared) {
    let names = shared.watched_sources();
    if names.is_empty() {
        return;
    }
    let Ok(client) = shared.reader() else { return };
    match queries::heads(&client, &names).await {
        Ok(heads) => {
            for (source, head) in heads {
                shared.raise_head(&source, head);
            }
        }
        Err(e) => tracing::debug!(err = %e, "polling heads failed"),
    }
}

/// Counts the agents other live instances have, per source.
async fn refresh_presence(shared: &Shared) {
    let Ok(client) = shared.reader() else { return };
    let sql = format!(
        "SELECT source, SUM(agents)::BIGINT FROM presence
         WHERE instance <> $1 AND seen_ms > {DB_NOW_MS} - $2 GROUP BY source"
    );
    match client
        .query(&sql, &[&shared.instance, &PRESENCE_TTL_MS])
        .await
    {
        Ok(rows) => {
            let map = rows
                .iter()
                .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1).max(0) as usize))
                .collect();
            *shared.lock_elsewhere() = map;
        }
        Err(e) => tracing::debug!(err = %backend(e), "reading presence failed"),
    }
}

/// Writes this instance's presence rows; announces them when they changed.
async fn publish_presence(shared: &Shared, announce: bool) -> Result<(), tokio_postgres::Error> {
    let Ok(client) = shared.reader() else {
        return Ok(());
    };
    let counts = shared.lock_local_agents().clone();
    let (names, agents): (Vec<String>, Vec<i32>) = counts
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| (s, n.min(i32::MAX as usize) as i32))
        .unzip();
    client
        .execute(
            "DELETE FROM presence WHERE instance = $1 AND NOT (source = ANY($2))",
            &[&shared.instance, &names],
        )
        .await?;
    let sql = format!(
        "INSERT INTO presence(instance, source, agents, seen_ms)
         SELECT $1, s, n, {DB_NOW_MS} FROM unnest($2::TEXT[], $3::INT[]) AS u(s, n)
         ON CONFLICT (instance, source) DO UPDATE SET agents = excluded.agents,
            seen_ms = excluded.seen_ms"
    );
    client
        .execute(&sql, &[&shared.instance, &names, &agents])
        .await?;
    if announce {
        client
            .execute(
                "SELECT pg_notify($1, $2)",
                &[&PRESENCE_CHANNEL, &shared.instance],
            )
            .await?;
    }
    Ok(())
}

/// Heartbeats presence, polls heads when notifications may be missed, and removes what dead
/// instances and impatient senders left behind.
pub async fn upkeep(shared: Arc<Shared>) {
    let mut last_poll = tokio::time::Instant::now();
    let mut last_beat = tokio::time::Instant::now() - HEARTBEAT;
    loop {
        let changed = tokio::time::timeout(POLL_DEAF, shared.presence_changed.notified())
            .await
            .is_ok();
        let now = tokio::time::Instant::now();
        if changed || now - last_beat >= HEARTBEAT {
            if let Err(e) = publish_presence(&shared, changed).await {
                tracing::debug!(err = %backend(e), "publishing presence failed");
            }
            if now - last_beat >= HEARTBEAT {
                refresh_presence(&shared).await;
                sweep(&shared).await;
                last_beat = now;
            }
        }
        let every = if shared.listening.load(Ordering::Acquire) {
            POLL_LISTENING
        } else {
            POLL_DEAF
        };
        if now - last_poll >= every {
            poll_heads(&shared).await;
            last_poll = now;
        }
    }
}

async fn sweep(shared: &Shared) {
    let Ok(client) = shared.reader() else { return };
    let answers = format!("DELETE FROM answers WHERE created_ms < {DB_NOW_MS} - $1");
    let presence = format!("DELETE FROM presence WHERE seen_ms < {DB_NOW_MS} - $1");
    for sql in [answers, presence] {
        if let Err(e) = client.execute(&sql, &[&ANSWER_TTL_MS]).await {
            tracing::debug!(err = %backend(e), "sweeping failed");
        }
    }
}

/// This instance as seen by the others.
pub struct PgPeers {
    pub(super) shared: Arc<Shared>,
    pub(super) rt: tokio::runtime::Handle,
}

/// Removes a wait for a forwarded answer.
struct Unwait(Arc<Shared>, String);

impl Drop for Unwait {
    fn drop(&mut self) {
        self.0.lock_waiting().remove(&self.1);
    }
}

impl Peers for PgPeers {
    fn forward_answer(&self, id: EventId, outcome: &DeliveryOutcome) {
        let frame = shared::frame::encode_ack(0, id, outcome);
        let shared = self.shared.clone();
        let id = id.0.to_string();
        self.rt.spawn(async move {
            let Ok(client) = shared.bus().or_else(|_| shared.reader()) else {
                return tracing::warn!("database unreachable; a proxy answer is lost");
            };
            use base64::Engine as _;
            let inline = base64::engine::general_purpose::STANDARD.encode(&frame);
            let sent = if id.len() + 1 + inline.len() <= INLINE_ANSWER_MAX {
                let payload = format!("{id}:{inline}");
                let sql = "SELECT pg_notify($1, $2)";
                let params: [(&(dyn ToSql + Sync), Type); 2] =
                    [(&ANSWER_CHANNEL, Type::TEXT), (&payload, Type::TEXT)];
                client.query_typed(sql, &params).await
            } else {
                // One statement: the row and its notification commit together. The first
                // answer wins, as with a local waiter.
                let sql = format!(
                    "WITH ins AS (INSERT INTO answers(id, created_ms, frame)
                        VALUES ($1, {DB_NOW_MS}, $2) ON CONFLICT DO NOTHING RETURNING id)
                     SELECT pg_notify('{ANSWER_CHANNEL}', id) FROM ins"
                );
                let params: [(&(dyn ToSql + Sync), Type); 2] =
                    [(&id, Type::TEXT), (&frame, Type::BYTEA)];
                client.query_typed(&sql, &params).await
            };
            if let Err(e) = sent {
                tracing::warn!(err = %backend(e), "forwarding a proxy answer failed");
            }
        });
    }

    fn await_answer(&self, id: EventId) -> RemoteAnswer {
        let (tx, rx) = oneshot::channel();
        let id = id.0.to_string();
        self.shared.lock_waiting().insert(id.clone(), tx);
        RemoteAnswer::new(rx, Box::new(Unwait(self.shared.clone(), id)))
    }

    fn agents_elsewhere(&self, source: &str) -> usize {
        self.shared
            .lock_elsewhere()
            .get(source)
            .copied()
            .unwrap_or(0)
    }

    fn revocations(&self) -> Arc<tokio::sync::Notify> {
        self.shared.revoked.clone()
    }

    fn store_reachable(&self) -> bool {
        self.shared.reader().is_ok()
    }

    fn publish_agents(&self, counts: Vec<(String, usize)>) {
        let changed = {
            let mut local = self.shared.lock_local_agents();
            let changed = *local != counts;
            *local = counts;
            changed
        };
        if changed {
            self.shared.presence_changed.notify_one();
        }
    }
}
