//! Start-up, readiness and liveness: a taken port fails before the data directory is touched;
//! `/readyz` answers 200 only while the store answers, the loops are healthy, the follower is
//! caught up (PostgreSQL) and the node is not draining, and names what failed otherwise;
//! `/healthz` (liveness) does not fail on a database outage. Runs on SQLite, and on PostgreSQL
//! when OPENPIM_TEST_POSTGRES_URL is set.

use crate::common;

use common::*;
use openpim_server::supervise::TIDY;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

async fn probe(ts: &TestServer, path: &str) -> (StatusCode, Value) {
    let r = ts.client.send(ts.client.request(Method::GET, path, None)).await;
    (r.status, r.body)
}

/// Polls `/readyz` (bounded) until `done` holds; returns the last answer.
async fn until_ready(ts: &TestServer, what: &str, done: impl Fn(StatusCode, &Value) -> bool) -> (StatusCode, Value) {
    let start = Instant::now();
    loop {
        let (status, body) = probe(ts, "/readyz").await;
        if done(status, &body) {
            return (status, body);
        }
        assert!(start.elapsed() < Duration::from_secs(20), "/readyz never showed {what}: {status} {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn failed(body: &Value) -> Vec<&str> {
    body["failed"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

#[tokio::test]
async fn a_taken_port_fails_naming_the_address_before_the_data_directory_is_touched() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let parent = tempfile::tempdir().unwrap();
    let data_dir = parent.path().join("data");
    let database = TestDatabase::new().await;
    let result = openpim_server::start(openpim_server::ServerConfig {
        listen: addr,
        data_dir: data_dir.clone(),
        database_url: database.url.clone(),
        bootstrap_admin: ADMIN_UPN.to_string(),
        public_url: None,
        approval_timeout: openpim_server::DEFAULT_APPROVAL_TIMEOUT,
        notifications: Default::default(),
        metrics_access: Default::default(),
        tls: None,
        oidc_issuers: Vec::new(),
        local_issuer: true,
        audit_checkpoint_interval: openpim_server::DEFAULT_AUDIT_CHECKPOINT_INTERVAL,
    })
    .await;
    let e = match result {
        Ok(_) => panic!("a second listener on {addr} must not start"),
        Err(e) => e,
    };
    assert_eq!(e.to_string(), format!("cannot listen on {addr}: address in use"));
    assert!(e.downcast_ref::<openpim_server::ListenError>().is_some(), "a typed error: {e:?}");
    assert!(!data_dir.exists(), "the data directory was not created");
    if let Some(url) = &database.url {
        // Nor was the database bootstrapped: the next start is the one that creates the admin.
        let store = openpim_store::Store::connect(url).await.unwrap();
        assert_eq!(store.tenant_id().await.unwrap(), None, "the database was not touched");
        store.close().await;
    }
    drop(taken);
    database.drop().await;
}

#[tokio::test]
async fn readyz_is_ok_on_a_healthy_node_and_names_a_failing_loop_or_draining() {
    let ts = TestServer::start().await;
    let (status, body) = probe(&ts, "/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(failed(&body), Vec::<&str>::new(), "{body}");
    for check in ["store", "loops", "shutdown"] {
        assert_eq!(body["checks"][check]["ok"], true, "{check}: {body}");
    }
    let postgres = ts.server.state.store.backend() == openpim_store::Backend::Postgres;
    assert_eq!(body["checks"]["follower"].is_object(), postgres, "only PostgreSQL nodes follow a feed: {body}");

    // A loop that keeps panicking: not ready, naming the loops and which loop.
    ts.server.state.loops.inject_panics(TIDY, u32::MAX);
    ts.server.state.loops.poke(TIDY);
    let (_, body) = until_ready(&ts, "the failing loop", |s, _| s == StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(body["status"], "notReady", "{body}");
    assert_eq!(failed(&body), vec!["loops"], "{body}");
    assert_eq!(body["checks"]["loops"]["unhealthy"], serde_json::json!([TIDY]), "{body}");
    ts.server.state.loops.inject_panics(TIDY, 0);
    until_ready(&ts, "the healed loop", |s, _| s == StatusCode::OK).await;

    // Draining (what `stop` does first): not ready, so balancers stop sending work here.
    ts.server.state.readiness.begin_draining();
    let (status, body) = probe(&ts, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(failed(&body), vec!["shutdown"], "{body}");
    // Liveness is not readiness: the draining node is alive.
    let (status, body) = probe(&ts, "/healthz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    ts.stop().await;
}

#[tokio::test]
async fn an_unreachable_store_fails_readiness_but_not_liveness() {
    let ts = TestServer::start().await;
    assert_eq!(probe(&ts, "/readyz").await.0, StatusCode::OK);
    // Closing the pool makes every query fail at once, as a database outage does.
    ts.server.state.store.close().await;
    let (status, body) = probe(&ts, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(failed(&body).contains(&"store"), "{body}");
    assert_eq!(body["checks"]["store"]["ok"], false, "{body}");
    let (status, body) = probe(&ts, "/healthz").await;
    assert_eq!(status, StatusCode::OK, "restarting the process would not bring the database back: {body}");
    assert_eq!(body["store"], "unreachable", "{body}");
    assert_eq!(body["status"], "degraded", "{body}");
    ts.stop().await;
}

/// PostgreSQL only: a node whose follower stopped is not ready once the oldest change it has not
/// applied is older than the bound, and ready again when it caught up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set OPENPIM_TEST_POSTGRES_URL and run with --include-ignored"]
async fn a_node_behind_the_change_feed_is_not_ready_until_it_catches_up() {
    let ts = TestServer::start().await;
    assert_eq!(
        ts.server.state.store.backend(),
        openpim_store::Backend::Postgres,
        "this test needs OPENPIM_TEST_POSTGRES_URL"
    );
    let state = &ts.server.state;
    state.readiness.set_max_lag(Duration::from_millis(100));
    until_ready(&ts, "the follower caught up", |s, b| s == StatusCode::OK && b["checks"]["follower"]["ok"] == true)
        .await;
    state.follower_paused.store(true, Ordering::Release);
    ts.create_user("behind@openpim.test").await;
    let (_, body) = until_ready(&ts, "the lagging follower", |s, _| s == StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(failed(&body), vec!["follower"], "{body}");
    let follower = &body["checks"]["follower"];
    assert!(follower["seqBehind"].as_i64().unwrap() >= 1, "{body}");
    assert!(follower["secondsBehind"].as_f64().unwrap() > 0.1, "{body}");
    assert_eq!(follower["maxSecondsBehind"], 0.1, "{body}");
    // A larger bound tolerates the same lag.
    state.readiness.set_max_lag(Duration::from_secs(3600));
    assert_eq!(probe(&ts, "/readyz").await.0, StatusCode::OK);
    state.readiness.set_max_lag(Duration::from_millis(100));
    state.follower_paused.store(false, Ordering::Release);
    state.loops.poke(openpim_server::supervise::FOLLOWER);
    let (_, body) = until_ready(&ts, "the caught-up follower", |s, _| s == StatusCode::OK).await;
    assert_eq!(body["checks"]["follower"]["seqBehind"], 0, "{body}");
    ts.stop().await;
}
