//! Keeps this node's access index in step with writes made by other nodes sharing the database.
//!
//! Wakes on PostgreSQL `NOTIFY` and also polls, then reads the change feed from the last
//! sequence number it applied, so a node that missed notifications (a dropped connection, a
//! pause) catches up on its own. Applying an entry reloads the entity's current state, so this
//! node's own writes coming back through the feed change nothing.

use crate::state::AppState;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// The fallback poll interval when no notification arrives.
pub const POLL: Duration = Duration::from_millis(1000);
const BATCH: u32 = 1000;

/// Applies every feed entry after `last`; returns the new last sequence number.
pub async fn catch_up(state: &AppState, mut last: i64) -> anyhow::Result<i64> {
    loop {
        let entries = state.store.feed_since(last, BATCH).await?;
        if entries.is_empty() {
            return Ok(last);
        }
        for entry in &entries {
            if entry.entity == "user" {
                // Another node changed a user: its cached row here (enabled flag, UPN) is stale.
                state.callers.users_changed();
            }
            let updates = state.store.index_updates_for(entry).await?;
            if !updates.is_empty() {
                let mut index = state.index.write().expect("access index lock poisoned");
                for u in updates {
                    index.apply(u);
                }
            }
            last = entry.seq;
        }
        state.feed_position.store(last, Ordering::Release);
    }
}

/// Follows the feed until `stop` fires. Only meaningful when several nodes share a database,
/// i.e. on PostgreSQL; on SQLite it returns at once.
pub async fn run(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut listener = match state.store.listen().await {
        Ok(Some(l)) => l,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "change feed: LISTEN failed; following by polling only");
            return poll_only(state, stop).await;
        }
    };
    let mut last = state.feed_position.load(Ordering::Acquire);
    loop {
        if !state.follower_paused.load(Ordering::Acquire) {
            match catch_up(&state, last).await {
                Ok(seq) => last = seq,
                Err(e) => tracing::warn!(error = %e, "change feed: catch-up failed; will retry"),
            }
        }
        tokio::select! {
            n = listener.recv() => {
                if let Err(e) = n {
                    tracing::warn!(error = %e, "change feed: notification connection lost; reconnecting");
                }
            }
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => break,
        }
    }
}

async fn poll_only(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut last = state.feed_position.load(Ordering::Acquire);
    loop {
        if !state.follower_paused.load(Ordering::Acquire) {
            if let Ok(seq) = catch_up(&state, last).await {
                last = seq;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => break,
        }
    }
}
