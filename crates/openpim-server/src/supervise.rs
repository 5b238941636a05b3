//! Supervision of the background loops (tidy-up job, notification worker, change-feed follower).
//!
//! Each loop runs in a task of its own under a supervisor: a panic in one is logged, the loop is
//! restarted after a backoff that doubles with every consecutive panic (reset by a successful
//! pass), and the others go on untouched. Every loop reports each pass that completed (a pass that
//! found another node holding the job's lock counts: the loop is alive), so `/healthz` can show
//! each loop's state and last successful pass and answer 503 when one is failing (panicking
//! again and again) or stuck (no successful pass for longer than its bound).

use crate::state::AppState;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

/// Names of the loops (keys of `/healthz`'s `loops`).
pub const TIDY: &str = "tidyUp";
pub const NOTIFICATIONS: &str = "notifications";
pub const FOLLOWER: &str = "changeFeedFollower";
pub const AUDIT_CHECKPOINTS: &str = "auditCheckpoints";

/// The first restart delay after a panic; doubles per consecutive panic up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Consecutive panics (without a successful pass in between) after which a loop is unhealthy.
pub const FAILING_AFTER: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopState {
    Running,
    /// Panicked; waiting out the backoff before the restart.
    Restarting,
    /// Returned on its own without being asked to stop (it will not run again).
    Exited,
    Stopped,
}

impl LoopState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Restarting => "restarting",
            Self::Exited => "exited",
            Self::Stopped => "stopped",
        }
    }
}

struct Status {
    state: LoopState,
    started: Instant,
    last_success: Option<(Instant, SystemTime)>,
    restarts: u32,
    consecutive_panics: u32,
    last_panic: Option<String>,
    /// No successful pass for longer than this means the loop is stuck.
    stale_after: Duration,
}

/// One loop's record and its test hooks.
struct Entry {
    status: Mutex<Status>,
    /// Test hook: the next this many passes panic.
    injected_panics: AtomicU32,
    /// Test hook: wakes the loop for a pass now.
    poke: Notify,
}

/// The background loops of this node and how they are doing.
#[derive(Default)]
pub struct Loops {
    entries: Mutex<BTreeMap<&'static str, Arc<Entry>>>,
}

/// A loop's health as `/healthz` reports it.
pub struct Report {
    pub healthy: bool,
    pub loops: Value,
}

impl Loops {
    fn entry(&self, name: &'static str) -> Option<Arc<Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).get(name).cloned()
    }

    fn register(&self, name: &'static str, stale_after: Duration) -> Arc<Entry> {
        let entry = Arc::new(Entry {
            status: Mutex::new(Status {
                state: LoopState::Running,
                started: Instant::now(),
                last_success: None,
                restarts: 0,
                consecutive_panics: 0,
                last_panic: None,
                stale_after,
            }),
            injected_panics: AtomicU32::new(0),
            poke: Notify::new(),
        });
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).insert(name, entry.clone());
        entry
    }

    /// Called by a loop at the start of each pass: panics when a test injected a panic.
    pub fn pass_starts(&self, name: &'static str) {
        if let Some(entry) = self.entry(name) {
            let injected =
                entry.injected_panics.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
            if injected.is_ok() {
                panic!("injected panic in the {name} loop (test hook)");
            }
        }
    }

    /// Called by a loop after each pass that completed.
    pub fn pass_succeeded(&self, name: &'static str) {
        if let Some(entry) = self.entry(name) {
            let mut s = entry.status.lock().unwrap_or_else(|e| e.into_inner());
            s.last_success = Some((Instant::now(), SystemTime::now()));
            s.consecutive_panics = 0;
        }
    }

    /// Resolves when a test pokes the loop (see [`Loops::poke`]); never otherwise.
    pub async fn poked(&self, name: &'static str) {
        match self.entry(name) {
            Some(entry) => entry.poke.notified().await,
            None => std::future::pending().await,
        }
    }

    /// Test hook: the loop's next `count` passes panic (0 clears).
    #[doc(hidden)]
    pub fn inject_panics(&self, name: &'static str, count: u32) {
        if let Some(entry) = self.entry(name) {
            entry.injected_panics.store(count, Ordering::Release);
        }
    }

    /// Test hook: wakes the loop for a pass now.
    #[doc(hidden)]
    pub fn poke(&self, name: &'static str) {
        if let Some(entry) = self.entry(name) {
            entry.poke.notify_one();
        }
    }

    fn set_state(&self, name: &'static str, state: LoopState) {
        if let Some(entry) = self.entry(name) {
            entry.status.lock().unwrap_or_else(|e| e.into_inner()).state = state;
        }
    }

    /// Records a panic; returns how long to wait before restarting.
    fn panicked(&self, name: &'static str, message: String) -> Duration {
        let Some(entry) = self.entry(name) else { return FIRST_BACKOFF };
        let mut s = entry.status.lock().unwrap_or_else(|e| e.into_inner());
        s.state = LoopState::Restarting;
        s.consecutive_panics += 1;
        s.last_panic = Some(message);
        backoff(s.consecutive_panics)
    }

    fn restarted(&self, name: &'static str) {
        if let Some(entry) = self.entry(name) {
            let mut s = entry.status.lock().unwrap_or_else(|e| e.into_inner());
            s.state = LoopState::Running;
            s.restarts += 1;
        }
    }

    /// Each loop's state, restarts and last successful pass; unhealthy when a loop exited on its
    /// own, has panicked [`FAILING_AFTER`] times in a row, or had no successful pass for longer
    /// than its bound.
    pub fn report(&self) -> Report {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut healthy = true;
        let mut loops = serde_json::Map::new();
        for (name, entry) in entries {
            let s = entry.status.lock().unwrap_or_else(|e| e.into_inner());
            let since_success = s.last_success.map_or(s.started, |(at, _)| at).elapsed();
            let problem = match s.state {
                LoopState::Exited => Some("exited"),
                _ if s.consecutive_panics >= FAILING_AFTER => Some("failing"),
                LoopState::Running | LoopState::Restarting if since_success > s.stale_after => Some("stuck"),
                _ => None,
            };
            healthy &= problem.is_none();
            let last_success = s.last_success.map(|(_, wall)| {
                time::OffsetDateTime::from(wall)
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            });
            loops.insert(
                name.to_string(),
                json!({
                    "state": s.state.as_str(),
                    "healthy": problem.is_none(),
                    "problem": problem,
                    "lastSuccessDateTime": last_success,
                    "secondsSinceLastSuccess": s.last_success.map(|(at, _)| at.elapsed().as_secs_f64()),
                    "restarts": s.restarts,
                    "consecutivePanics": s.consecutive_panics,
                    "lastPanic": s.last_panic,
                    "staleAfterSeconds": s.stale_after.as_secs(),
                }),
            );
        }
        Report { healthy, loops: Value::Object(loops) }
    }
}

/// The body of a periodic loop: runs `pass` every `interval` (and when a test pokes the loop)
/// until `stop` changes, reporting each pass to `state.loops` under `name` (a pass that starts
/// panics when a test injected one; a pass that completes counts as alive). A failed pass is
/// logged and retried at the next tick. `pass` is a closure over a borrowed state, e.g.
/// `move || async move { tidy(st).await.map(drop) }` with `st = &state`.
pub async fn every<F, Fut>(
    state: &AppState,
    name: &'static str,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
    mut pass: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = state.loops.poked(name) => {}
            _ = stop.changed() => break,
        }
        state.loops.pass_starts(name);
        match pass().await {
            Ok(()) => state.loops.pass_succeeded(name),
            Err(e) => tracing::warn!(background_loop = name, error = %e, "pass failed; will retry"),
        }
    }
}

/// The restart delay after `consecutive` panics in a row.
pub fn backoff(consecutive: u32) -> Duration {
    let doublings = consecutive.saturating_sub(1).min(16);
    (FIRST_BACKOFF * 2u32.pow(doublings)).min(MAX_BACKOFF)
}

/// Runs `make(state, stop)` in a task of its own, restarting it after a panic (with backoff) until
/// `stop` fires. The loop is registered in `state.loops` under `name`, unhealthy when it has had no
/// successful pass for `stale_after`.
pub fn spawn<F, Fut>(
    state: AppState,
    name: &'static str,
    stale_after: Duration,
    mut stop: watch::Receiver<bool>,
    make: F,
) -> JoinHandle<()>
where
    F: Fn(AppState, watch::Receiver<bool>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    state.loops.register(name, stale_after);
    tokio::spawn(async move {
        loop {
            let outcome = tokio::spawn(make(state.clone(), stop.clone())).await;
            let stopping = *stop.borrow();
            match outcome {
                Ok(()) if stopping => {
                    state.loops.set_state(name, LoopState::Stopped);
                    return;
                }
                Ok(()) => {
                    tracing::error!(
                        background_loop = name,
                        "background loop returned on its own; it will not run again"
                    );
                    state.loops.set_state(name, LoopState::Exited);
                    return;
                }
                Err(e) if e.is_panic() => {
                    let payload = e.into_panic();
                    let message = payload
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic without a message".to_string());
                    let delay = state.loops.panicked(name, message.clone());
                    tracing::error!(background_loop = name, panic = %message, restart_in = ?delay,
                        "background loop panicked; restarting it after a backoff");
                    if stopping {
                        state.loops.set_state(name, LoopState::Stopped);
                        return;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = stop.changed() => {
                            state.loops.set_state(name, LoopState::Stopped);
                            return;
                        }
                    }
                    state.loops.restarted(name);
                }
                Err(_) => {
                    // Cancelled: the runtime is shutting down.
                    state.loops.set_state(name, LoopState::Stopped);
                    return;
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), FIRST_BACKOFF);
        assert_eq!(backoff(2), FIRST_BACKOFF * 2);
        assert_eq!(backoff(3), FIRST_BACKOFF * 4);
        assert_eq!(backoff(40), MAX_BACKOFF);
    }

    #[test]
    fn a_loop_is_unhealthy_when_it_keeps_panicking_or_exits() {
        let loops = Loops::default();
        loops.register("a", Duration::from_secs(3600));
        assert!(loops.report().healthy);
        for n in 1..FAILING_AFTER {
            loops.panicked("a", format!("boom {n}"));
            assert!(loops.report().healthy, "{n} panics in a row are tolerated");
        }
        loops.panicked("a", "boom".into());
        let report = loops.report();
        assert!(!report.healthy);
        assert_eq!(report.loops["a"]["problem"], "failing");
        loops.restarted("a");
        loops.pass_succeeded("a");
        assert!(loops.report().healthy, "a successful pass resets the count");
        loops.set_state("a", LoopState::Exited);
        assert!(!loops.report().healthy);
    }

    #[test]
    fn a_loop_without_a_successful_pass_for_too_long_is_stuck() {
        let loops = Loops::default();
        loops.register("a", Duration::ZERO);
        std::thread::sleep(Duration::from_millis(2));
        let report = loops.report();
        assert!(!report.healthy);
        assert_eq!(report.loops["a"]["problem"], "stuck");
    }

    #[test]
    #[should_panic(expected = "injected panic")]
    fn injected_panics_fire_once_each() {
        let loops = Loops::default();
        loops.register("a", Duration::from_secs(1));
        loops.inject_panics("a", 1);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| loops.pass_starts("a")));
        assert!(caught.is_err());
        loops.pass_starts("a");
        // The count is used up: this pass runs; a fresh injection panics again.
        loops.inject_panics("a", 1);
        loops.pass_starts("a");
    }
}
