//! The start of an agent session: protocol version, token, source, agent limit, and the point
//! in the log delivery resumes from.

use super::{store_err, Closing};
use crate::hub::AgentGuard;
use crate::state::RelayState;
use crate::store::{SourceInfo, Store};
use shared::protocol::close;
use shared::{Hello, Since, PROTOCOL_VERSION};
use std::sync::Arc;

/// An agent the relay accepted: where its delivery starts and what to tell it first.
pub(super) struct Joined {
    /// The source's settings, as read when the agent joined.
    pub info: Arc<SourceInfo>,
    /// Keeps the agent counted as connected to the source while the session lives.
    pub _agent: AgentGuard,
    /// The id of the token the agent presented (its sessions close when it is revoked).
    pub token_id: String,
    /// The newest sequence in the source's log when the agent joined.
    pub head: u64,
    /// The first sequence to send.
    pub next: u64,
    /// Notices to send before the welcome (the agent's position does not match this log).
    pub notices: Vec<String>,
}

/// Checks the hello and finds where delivery resumes, or says why the agent is refused.
pub(super) async fn join(state: &Arc<RelayState>, hello: &Hello) -> Result<Joined, Closing> {
    if hello.version != PROTOCOL_VERSION {
        return Err(Closing::new(
            close::VERSION_MISMATCH,
            format!(
                "agent speaks protocol {} but this relay speaks {PROTOCOL_VERSION}",
                hello.version
            ),
        ));
    }
    let token = state
        .authenticate(hello.token.expose())
        .await
        .map_err(store_err)?
        .ok_or_else(|| Closing::new(close::UNAUTHORIZED, "invalid token"))?;
    let source = hello.source.as_str();
    let known = state.source_info(source).await;
    if known.is_none() && token.source != source {
        return Err(Closing::new(
            close::UNKNOWN_SOURCE,
            format!("unknown source {source:?}"),
        ));
    }
    if token.source != source {
        return Err(Closing::new(
            close::FORBIDDEN_SOURCE,
            format!("this token may only listen on source {:?}", token.source),
        ));
    }
    let store: &dyn Store = state.store.as_ref();
    let info = match known {
        Some(info) => info,
        None => {
            store.ensure_source(source).map_err(store_err)?;
            state.source_info(source).await.ok_or_else(|| {
                Closing::new(close::RELAY_ERROR, "the source could not be created")
            })?
        }
    };
    let max_agents = state.config.max_agents_per_source;
    let agent = state
        .hub
        .source(source)
        .try_join(max_agents)
        .ok_or_else(|| {
            Closing::new(
                close::TOO_MANY_AGENTS,
                format!(
                    "source {source:?} already has {max_agents} agent(s) connected (the limit)"
                ),
            )
        })?;
    let (head, next, notices) = resume_point(store, hello)?;
    Ok(Joined {
        info,
        _agent: agent,
        token_id: token.id,
        head,
        next,
        notices,
    })
}

/// The log's head, the first sequence to send, and notices when the agent's own record and
/// this relay's disagree.
fn resume_point(store: &dyn Store, hello: &Hello) -> Result<(u64, u64, Vec<String>), Closing> {
    let source = hello.source.as_str();
    let head = *store.watch_head(source).map_err(store_err)?.borrow();
    let known = store.cursor(&hello.agent_id, source).map_err(store_err)?;
    let oldest = store.oldest_seq(source).map_err(store_err)?;
    let mut notices = Vec::new();
    let mut next = match (hello.last_acked_seq, known) {
        // The agent's own record is the newest (the relay writes cursors every 250 ms), as long
        // as this log has come that far.
        (Some(n), Some(_)) if n <= head => n + 1,
        // The agent acknowledged events past this log's end: the relay lost its newest events
        // (a power cut under --sync normal, a restored backup). Its own record of the agent
        // is all that holds for this log.
        (Some(n), Some(c)) => {
            let from = c.min(head) + 1;
            notices.push(format!(
                "this relay's log ends at sequence {head} but this agent had acknowledged up to \
                 {n}; the relay lost recent data, so delivery resumes from its own record, {from}"
            ));
            from
        }
        // This relay never saw this agent, so its acknowledged sequence belongs to another
        // log (the relay was reset or replaced at the same address): skipping up to it would
        // lose what this log holds, so the agent gets everything retained.
        (Some(n), None) => {
            let from = oldest;
            notices.push(format!(
                "this relay has no record of this agent (its last acknowledged sequence, {n}, \
                 belongs to another relay's log); delivering this relay's retained events from \
                 sequence {from}"
            ));
            store
                .set_cursor(&hello.agent_id, source, from - 1)
                .map_err(store_err)?;
            from
        }
        (None, Some(c)) => c + 1,
        (None, None) => {
            let start = match hello.since.unwrap_or(Since::Now) {
                Since::Now => head + 1,
                Since::Seq(s) => s.max(1),
                Since::AgoMs(ms) => store
                    .first_seq_since(source, crate::clock::now_ms().saturating_sub(ms))
                    .map_err(store_err)?,
            };
            // Remember where a new agent starts, so events that arrive before its first ack
            // are still sent after a reconnect.
            store
                .set_cursor(&hello.agent_id, source, start - 1)
                .map_err(store_err)?;
            start
        }
    };
    if next < oldest {
        let lost = oldest - next;
        notices.push(format!(
            "{lost} event(s) were removed by retention before this agent received them"
        ));
        next = oldest;
    }
    Ok((head, next, notices))
}
