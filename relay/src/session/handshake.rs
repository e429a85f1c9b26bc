//! The start of an agent session: protocol version, token, the sources it asked for (`*`
//! expanded), the agent limit per source, and the point in each log delivery resumes from.

use super::lane::Lane;
use super::{store_err, Closing};
use crate::state::RelayState;
use crate::store::Store;
use crate::token_scope::TokenScope;
use shared::protocol::close;
use shared::{Hello, Since, SourceList, PROTOCOL_VERSION};
use std::sync::Arc;

/// An agent the relay accepted: one lane per source, and what to tell it first.
pub(super) struct Joined {
    /// The id of the token the agent presented (its sessions close when it is revoked).
    pub token_id: String,
    /// The sources, in the order the hello listed them (`*`: by name).
    pub lanes: Vec<Lane>,
    /// Per lane, notices to send before its welcome (the agent's position does not match the
    /// log).
    pub notices: Vec<Vec<String>>,
}

/// Checks the hello and finds where delivery resumes on each source, or says why the agent is
/// refused.
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
    let scope = TokenScope::stored(&token.source);
    let store: &dyn Store = state.store.as_ref();
    let mut lanes = Vec::new();
    let mut notices = Vec::new();
    for source in requested(state, hello, &scope).await? {
        let known = state.source_info(&source).await;
        if !scope.allows(&source) {
            return Err(if known.is_none() {
                Closing::new(close::UNKNOWN_SOURCE, format!("unknown source {source:?}"))
            } else {
                Closing::new(
                    close::FORBIDDEN_SOURCE,
                    format!(
                        "this token may not listen on source {source:?} (it may listen on {scope})"
                    ),
                )
            });
        }
        let info = match known {
            Some(info) => info,
            None => {
                store.ensure_source(&source).map_err(store_err)?;
                state.source_info(&source).await.ok_or_else(|| {
                    Closing::new(close::RELAY_ERROR, "the source could not be created")
                })?
            }
        };
        let max_agents = state.config.max_agents_per_source;
        let hub = state.hub.source(&source);
        let agent = hub.try_join(max_agents).ok_or_else(|| {
            Closing::new(
                close::TOO_MANY_AGENTS,
                format!(
                    "source {source:?} already has {max_agents} agent(s) connected (the limit)"
                ),
            )
        })?;
        let (head, next, told) = resume_point(store, hello, &source)?;
        lanes.push(Lane::new(source, info, hub, agent, (head, next)));
        notices.push(told);
    }
    let window = hello.window.clamp(1, state.config.max_window) as usize;
    let count = lanes.len();
    for lane in &mut lanes {
        lane.set_share(window, count);
    }
    Ok(Joined {
        token_id: token.id,
        lanes,
        notices,
    })
}

/// The sources the hello asks for, `*` expanded to every source the token allows that exists
/// now (for a `*` token: every source in the store).
async fn requested(
    state: &Arc<RelayState>,
    hello: &Hello,
    scope: &TokenScope,
) -> Result<Vec<String>, Closing> {
    let list = SourceList::parse(&hello.sources.join(","))
        .map_err(|e| Closing::new(close::UNKNOWN_SOURCE, e.to_string()))?;
    let SourceList::All = list else {
        return Ok(list.names().to_vec());
    };
    let mut names: Vec<String> = if scope.is_all() {
        let sources = state.store.sources().map_err(store_err)?;
        sources.into_iter().map(|s| s.name).collect()
    } else {
        let mut existing = Vec::new();
        for name in scope.names() {
            if state.source_info(name).await.is_some() {
                existing.push(name.clone());
            }
        }
        existing
    };
    names.sort();
    if names.is_empty() {
        return Err(Closing::new(
            close::UNKNOWN_SOURCE,
            format!("'*': no source this token may listen on ({scope}) exists on this relay yet"),
        ));
    }
    Ok(names)
}

/// The log's head, the first sequence to send, and notices when the agent's own record and
/// this relay's disagree.
fn resume_point(
    store: &dyn Store,
    hello: &Hello,
    source: &str,
) -> Result<(u64, u64, Vec<String>), Closing> {
    let head = *store.watch_head(source).map_err(store_err)?.borrow();
    let known = store.cursor(&hello.agent_id, source).map_err(store_err)?;
    let oldest = store.oldest_seq(source).map_err(store_err)?;
    let mut notices = Vec::new();
    let mut next = match (hello.cursors.get(source).copied(), known) {
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
