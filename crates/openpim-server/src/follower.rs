//! Keeps this node's access index in step with writes made by other nodes sharing the database.
//!
//! Wakes on PostgreSQL `NOTIFY` and also polls, then reads the change feed from the last
//! sequence number it applied, so a node that missed notifications (a dropped connection, a
//! pause) catches up on its own. Applying an entry reloads the entity's current state, so this
//! node's own writes coming back through the feed change nothing.

use crate::state::AppState;
use crate::supervise::FOLLOWER;
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

/// How far this node's index is behind the change feed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lag {
    /// The last sequence number applied here.
    pub position: i64,
    pub head: i64,
    /// Entries written but not applied here yet.
    pub seq_behind: i64,
    /// How long ago the oldest entry not applied here yet was written (0 when up to date).
    pub seconds_behind: f64,
}

/// Measures the lag now, and publishes it as the `openpim_follower_lag_entries` and
/// `openpim_follower_lag_seconds` gauges.
pub async fn lag(state: &AppState) -> anyhow::Result<Lag> {
    let position = state.feed_position.load(Ordering::Acquire);
    let feed = state.store.feed_lag(position).await?;
    let seconds_behind = feed.oldest_pending.map_or(0.0, |at| (state.now() - at).as_seconds_f64().max(0.0));
    let lag = Lag { position, head: feed.head, seq_behind: (feed.head - position).max(0), seconds_behind };
    metrics::gauge!("openpim_follower_lag_entries").set(lag.seq_behind as f64);
    metrics::gauge!("openpim_follower_lag_seconds").set(lag.seconds_behind);
    Ok(lag)
}

/// One pass of the loop: catch up (unless a test paused following), then measure the lag.
async fn pass(state: &AppState, last: &mut i64) {
    state.loops.pass_starts(FOLLOWER);
    if !state.follower_paused.load(Ordering::Acquire) {
        match catch_up(state, *last).await {
            Ok(seq) => *last = seq,
            Err(e) => {
                tracing::warn!(error = %e, "change feed: catch-up failed; will retry");
                return;
            }
        }
    }
    match lag(state).await {
        Ok(_) => state.loops.pass_succeeded(FOLLOWER),
        Err(e) => tracing::warn!(error = %e, "change feed: could not measure the lag"),
    }
}

/// Follows the feed until `stop` fires. Only meaningful when several nodes share a database,
/// i.e. on PostgreSQL (the server runs it only there). Runs under `supervise`: after a panic it
/// restarts from the last position it published.
pub async fn run(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut listener = match state.store.listen().await {
        Ok(Some(l)) => Some(l),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "change feed: LISTEN failed; following by polling only");
            None
        }
    };
    let mut last = state.feed_position.load(Ordering::Acquire);
    loop {
        pass(&state, &mut last).await;
        let notified = async {
            match listener.as_mut() {
                Some(l) => {
                    if let Err(e) = l.recv().await {
                        tracing::warn!(error = %e, "change feed: notification connection lost; reconnecting");
                    }
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep(POLL) => {}
            _ = state.loops.poked(FOLLOWER) => {}
            _ = stop.changed() => break,
        }
    }
}
