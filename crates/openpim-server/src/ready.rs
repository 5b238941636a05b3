//! Readiness (`/readyz`): whether this node should be sent traffic now.
//!
//! Liveness (`/healthz`) asks "is the process wedged?" and must not fail because the database is
//! briefly away: an orchestrator would restart every node at once and fix nothing. Readiness asks
//! "can this node answer correctly right now?", and fails on exactly what makes answers wrong or
//! impossible:
//!
//! - **store**: the database answers a ping;
//! - **loops**: every background loop is healthy (the same verdict as `/healthz`, see
//!   [`crate::supervise`]);
//! - **follower** (PostgreSQL only): this node's access index is not further behind the change
//!   feed than [`Readiness::max_lag`] — a node that stopped following would otherwise answer
//!   access checks from a stale index;
//! - **shutdown**: the node has not begun draining.
//!
//! The access index is loaded before the server accepts connections (the listening socket is
//! bound first, but connections wait in its backlog until the index is in memory), so there is
//! no "index loading" answer to give: a probe during start-up waits or times out, which an
//! orchestrator already counts as not ready.

use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Default for [`Readiness::max_lag`].
pub const DEFAULT_MAX_LAG: Duration = Duration::from_secs(30);

/// The readiness settings and the draining flag of one node.
pub struct Readiness {
    /// Milliseconds; see [`Readiness::max_lag`].
    max_lag_ms: AtomicU64,
    draining: AtomicBool,
}

impl Default for Readiness {
    fn default() -> Self {
        Self { max_lag_ms: AtomicU64::new(DEFAULT_MAX_LAG.as_millis() as u64), draining: AtomicBool::new(false) }
    }
}

impl Readiness {
    /// How long the oldest change-feed entry this node has not applied may have been waiting
    /// before the node stops being ready.
    pub fn max_lag(&self) -> Duration {
        Duration::from_millis(self.max_lag_ms.load(Ordering::Relaxed))
    }

    pub fn set_max_lag(&self, lag: Duration) {
        self.max_lag_ms.store(u64::try_from(lag.as_millis()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Marks the node as shutting down: `/readyz` answers 503 from now on.
    pub fn begin_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }
}

/// One check's verdict: `ok`, and what was seen.
fn check(ok: bool, detail: Value) -> Value {
    let mut v = json!({ "ok": ok });
    if let (Value::Object(into), Value::Object(from)) = (&mut v, detail) {
        into.extend(from);
    }
    v
}

/// Every check, and whether all passed.
pub async fn evaluate(s: &AppState) -> (bool, Value) {
    let mut checks = Map::new();
    let store_ok = match s.store.ping().await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "readiness: the store does not answer");
            false
        }
    };
    checks.insert("store".into(), check(store_ok, json!({})));
    let loops = s.loops.report();
    let unhealthy: Vec<String> = loops
        .loops
        .as_object()
        .map(|m| m.iter().filter(|(_, l)| l["healthy"] != true).map(|(name, _)| name.clone()).collect())
        .unwrap_or_default();
    checks.insert("loops".into(), check(loops.healthy, json!({ "unhealthy": unhealthy })));
    if s.store.backend() == openpim_store::Backend::Postgres {
        let max = s.readiness.max_lag();
        let follower = match crate::follower::lag(s).await {
            Ok(lag) => check(
                lag.seq_behind == 0 || lag.seconds_behind <= max.as_secs_f64(),
                json!({
                    "seqBehind": lag.seq_behind,
                    "secondsBehind": lag.seconds_behind,
                    "maxSecondsBehind": max.as_secs_f64(),
                }),
            ),
            // Unmeasurable means the feed cannot be read: this node cannot be caught up.
            // (The reason goes to the log only: this endpoint answers anyone.)
            Err(e) => {
                tracing::warn!(error = %e, "readiness: could not measure the follower lag");
                check(false, json!({ "error": "the change feed could not be read" }))
            }
        };
        checks.insert("follower".into(), follower);
    }
    checks.insert("shutdown".into(), check(!s.readiness.draining(), json!({})));
    let failed: Vec<&String> = checks.iter().filter(|(_, c)| c["ok"] != true).map(|(name, _)| name).collect();
    let ready = failed.is_empty();
    let body = json!({
        "status": if ready { "ready" } else { "notReady" },
        "failed": failed,
        "checks": checks,
    });
    (ready, body)
}

/// `GET /readyz`: 200 when every check passes, else 503 naming the failed ones.
pub async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    let (ready, body) = evaluate(&s).await;
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body))
}
