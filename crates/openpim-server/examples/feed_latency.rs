//! Benchmark: time from a commit on node A to the change being effective in node B's access
//! check, for two nodes on one PostgreSQL database. Reported beside an anchor measured in the
//! same run: one PostgreSQL round trip (`SELECT 1`) from the same process.
//!
//! ```sh
//! cargo run --release -p openpim-server --example feed_latency -- 200
//! ```
//! Uses `OPENPIM_BENCH_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`), in a
//! schema of its own that it drops at the end.

use openpim_core::scope::DirectoryScope;
use openpim_server::auth::TokenRequest;
use openpim_server::{RunningServer, ServerConfig};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const USER_ADMINISTRATOR: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";
const ACTION: &str = "microsoft.directory/users/create";

async fn node(url: &str, dir: &std::path::Path) -> anyhow::Result<RunningServer> {
    openpim_server::start(ServerConfig {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.to_path_buf(),
        database_url: Some(url.to_string()),
        bootstrap_admin: "admin@openpim.bench".into(),
        public_url: None,
        approval_timeout: openpim_server::DEFAULT_APPROVAL_TIMEOUT,
        notifications: Default::default(),
        metrics_access: Default::default(),
        tls: None,
        oidc_issuers: Vec::new(),
        local_issuer: true,
        audit_checkpoint_interval: openpim_server::DEFAULT_AUDIT_CHECKPOINT_INTERVAL,
    })
    .await
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Waits until node B's in-memory index says `want` for `principal`; returns how long it took.
async fn effective_on(b: &RunningServer, principal: uuid::Uuid, want: bool, since: Instant) -> Duration {
    loop {
        let now = b.state.now();
        if b.state.index().check(principal, ACTION, &DirectoryScope::Tenant, now).is_some() == want {
            return since.elapsed();
        }
        assert!(since.elapsed() < Duration::from_secs(10), "node B did not converge");
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let iterations: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(200);
    let base = std::env::var("OPENPIM_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let (schema, url) = openpim_store::testing::create_postgres_schema(&base).await?;
    let (dir_a, dir_b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let a = node(&url, dir_a.path()).await?;
    for f in ["issuer-key.p8", "issuer.json"] {
        std::fs::copy(dir_a.path().join(f), dir_b.path().join(f))?;
    }
    let b = node(&url, dir_b.path()).await?;
    let http = reqwest::Client::new();
    let base_a = format!("http://{}/v1.0", a.addr);
    let req =
        TokenRequest::for_upn(&a.state.store, "admin@openpim.bench", true, vec![], Duration::from_secs(3600)).await?;
    let admin = a.state.issuer.mint(&req, time::OffsetDateTime::now_utc());
    let user: Value = http
        .post(format!("{base_a}/users"))
        .bearer_auth(&admin)
        .json(&json!({"userPrincipalName": "bob@openpim.bench", "displayName": "Bob"}))
        .send()
        .await?
        .json()
        .await?;
    let bob: uuid::Uuid = user["id"].as_str().unwrap_or_default().parse()?;

    // Anchor: a PostgreSQL round trip from this process, measured now.
    let mut anchor = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let t = Instant::now();
        a.state.store.ping().await?;
        anchor.push(t.elapsed());
    }
    let mut samples = Vec::with_capacity(iterations * 2);
    for _ in 0..iterations {
        let resp: Value = http
            .post(format!("{base_a}/roleManagement/directory/roleAssignments"))
            .bearer_auth(&admin)
            .json(&json!({"principalId": bob, "roleDefinitionId": USER_ADMINISTRATOR, "directoryScopeId": "/"}))
            .send()
            .await?
            .json()
            .await?;
        let committed = Instant::now();
        samples.push(effective_on(&b, bob, true, committed).await);
        let id = resp["id"].as_str().unwrap_or_default().to_string();
        let status = http
            .delete(format!("{base_a}/roleManagement/directory/roleAssignments/{id}"))
            .bearer_auth(&admin)
            .send()
            .await?
            .status();
        anyhow::ensure!(status.as_u16() == 204, "delete failed: {status}");
        let committed = Instant::now();
        samples.push(effective_on(&b, bob, false, committed).await);
    }
    anchor.sort();
    samples.sort();
    let (p50, p99) = (percentile(&samples, 0.50), percentile(&samples, 0.99));
    let (a50, a99) = (percentile(&anchor, 0.50), percentile(&anchor, 0.99));
    println!("| measure | p50 | p99 |");
    println!("|---|---|---|");
    println!("| commit on A → effective in B's access check ({} changes) | {p50:.2?} | {p99:.2?} |", samples.len());
    println!("| anchor: PostgreSQL round trip (`SELECT 1`) | {a50:.2?} | {a99:.2?} |");
    println!(
        "| ratio (feed latency / round trip) | {:.1}× | {:.1}× |",
        p50.as_secs_f64() / a50.as_secs_f64(),
        p99.as_secs_f64() / a99.as_secs_f64()
    );
    a.stop().await?;
    b.stop().await?;
    openpim_store::testing::drop_postgres_schema(&base, &schema).await?;
    Ok(())
}
