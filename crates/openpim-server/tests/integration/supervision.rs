//! The background loops run supervised, each in its own task: a panic in one (injected here with
//! a test hook) is logged, the loop restarts after a backoff, and `/healthz` shows each loop's
//! state, restarts and last successful pass, answering 503 while a loop keeps failing.

use crate::common;

use common::*;
use openpim_server::supervise::{FAILING_AFTER, TIDY};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::{Duration, Instant};

async fn healthz(ts: &TestServer) -> (StatusCode, Value) {
    let r = ts.client.send(ts.client.request(Method::GET, "/healthz", None)).await;
    (r.status, r.body)
}

/// Polls `/healthz` (bounded) until `done` holds; returns the last answer.
async fn until_health(ts: &TestServer, what: &str, done: impl Fn(StatusCode, &Value) -> bool) -> (StatusCode, Value) {
    let start = Instant::now();
    loop {
        let (status, body) = healthz(ts).await;
        if done(status, &body) {
            return (status, body);
        }
        assert!(start.elapsed() < Duration::from_secs(20), "/healthz never showed {what}: {status} {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_panicking_loop_is_restarted_and_reported() {
    let ts = TestServer::start().await;
    let loops = &ts.server.state.loops;
    // The first pass runs at start.
    let (_, before) = until_health(&ts, "a first tidy-up pass", |s, b| {
        s == StatusCode::OK && b["loops"][TIDY]["lastSuccessDateTime"].is_string()
    })
    .await;
    assert_eq!(before["loops"][TIDY]["state"], "running", "{before}");
    assert_eq!(before["loops"][TIDY]["restarts"], 0, "{before}");

    // One panic: the loop is restarted, runs a pass again, and the node stays healthy.
    loops.inject_panics(TIDY, 1);
    loops.poke(TIDY);
    let (status, after) = until_health(&ts, "the restart", |_, b| {
        b["loops"][TIDY]["restarts"] == 1 && b["loops"][TIDY]["consecutivePanics"] == 0
    })
    .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    let tidy = &after["loops"][TIDY];
    assert_eq!(tidy["state"], "running", "{after}");
    assert!(tidy["lastPanic"].as_str().is_some_and(|p| p.contains("injected panic")), "{after}");
    assert!(
        tidy["lastSuccessDateTime"].as_str() > before["loops"][TIDY]["lastSuccessDateTime"].as_str(),
        "a pass succeeded after the restart: {after}"
    );
    // The restarted loop still does its work: a pass with nothing to do succeeds.
    assert_eq!(openpim_server::jobs::tidy_once(&ts.server.state).await.unwrap(), 0);

    // A loop that panics on every pass makes the node unhealthy...
    loops.inject_panics(TIDY, u32::MAX);
    loops.poke(TIDY);
    let (_, failing) = until_health(&ts, "the failing loop", |s, _| s == StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(failing["status"], "degraded", "{failing}");
    assert_eq!(failing["loops"][TIDY]["problem"], "failing", "{failing}");
    assert!(failing["loops"][TIDY]["consecutivePanics"].as_u64().unwrap() >= u64::from(FAILING_AFTER), "{failing}");
    // ...until it passes again.
    loops.inject_panics(TIDY, 0);
    let (_, healed) =
        until_health(&ts, "the healed loop", |s, b| s == StatusCode::OK && b["loops"][TIDY]["problem"].is_null()).await;
    assert_eq!(healed["status"], "ok", "{healed}");
    ts.stop().await;
}
