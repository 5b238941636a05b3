//! `activate`: durable selfActivate throughput. Every request activates a distinct eligible
//! (user, role, scope) of a seeded store, with an MFA token minted in-process from the data
//! directory's issuer key; only `201` with status `Provisioned` counts as a success.

use crate::client::{split_url, Conn, Plan};
use crate::hist::{round3, Latencies, Summary};
use hyper::Method;
use openpim_server::auth::{LocalIssuer, TokenRequest};
use serde::Serialize;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Serialize)]
pub struct Report {
    pub mode: &'static str,
    pub connections: usize,
    pub requested: usize,
    pub activations: u64,
    pub failures: u64,
    pub first_failure: Option<String>,
    pub wall_s: f64,
    pub activations_per_s: f64,
    pub latency: Summary,
}

impl Report {
    pub fn acceptable(&self) -> bool {
        self.failures == 0 && self.activations as usize == self.requested
    }
}

/// One eligible (user, role, scope) with nothing live for it yet.
#[derive(Debug, Clone)]
pub struct Target {
    pub principal_id: String,
    pub upn: String,
    pub role_definition_id: String,
    pub directory_scope_id: String,
}

/// Eligibilities that can be activated for an hour now: held directly by a user, in effect, not
/// ending within two hours, with no live assignment for the same triple, and not also held
/// through a group. (The server picks the eligibility that ends last among the user's and its
/// groups' — `schedule::best_eligibility` — even one that has not started yet, and then refuses
/// the activation; that case is left out here and reported in BENCHMARKS.md.)
pub async fn targets(data_dir: &Path, count: usize) -> anyhow::Result<Vec<Target>> {
    let mut conn = SqliteConnectOptions::new().filename(data_dir.join("openpim.db")).read_only(true).connect().await?;
    let now_us = time::OffsetDateTime::now_utc().unix_timestamp() * 1_000_000;
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT e.principal_id, u.user_principal_name, e.role_definition_id, e.directory_scope_id \
         FROM role_eligibilities e JOIN users u ON u.id = e.principal_id \
         WHERE e.principal_type = 'user' AND e.status = 'Provisioned' AND e.start_at <= $1 \
           AND (e.end_at IS NULL OR e.end_at > $2) AND u.account_enabled = 1 \
           AND NOT EXISTS (SELECT 1 FROM role_assignments a WHERE a.principal_id = e.principal_id \
               AND a.role_definition_id = e.role_definition_id AND a.directory_scope_id = e.directory_scope_id \
               AND a.status <> 'Expired') \
           AND NOT EXISTS (SELECT 1 FROM group_members m JOIN role_eligibilities g ON g.principal_id = m.group_id \
               WHERE m.member_id = e.principal_id AND g.role_definition_id = e.role_definition_id \
               AND g.directory_scope_id = e.directory_scope_id AND g.status <> 'Expired') \
         ORDER BY e.id LIMIT $3",
    )
    .bind(now_us)
    .bind(now_us + 2 * 3600 * 1_000_000)
    .bind(i64::try_from(count).unwrap_or(i64::MAX))
    .fetch_all(&mut conn)
    .await?;
    conn.close().await?;
    anyhow::ensure!(
        rows.len() == count,
        "the store has only {} activatable eligibilities, {count} were asked for",
        rows.len()
    );
    Ok(rows
        .into_iter()
        .map(|(principal_id, upn, role_definition_id, directory_scope_id)| Target {
            principal_id,
            upn,
            role_definition_id,
            directory_scope_id,
        })
        .collect())
}

pub fn body(t: &Target) -> serde_json::Value {
    serde_json::json!({
        "action": "selfActivate",
        "principalId": t.principal_id,
        "roleDefinitionId": t.role_definition_id,
        "directoryScopeId": t.directory_scope_id,
        "justification": "openpim-loadgen activation benchmark",
        "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "PT1H" } }
    })
}

pub async fn run(url: &str, data_dir: &Path, connections: usize, count: usize) -> anyhow::Result<Report> {
    anyhow::ensure!(connections >= 1 && count >= 1, "--connections and --count must be at least 1");
    let (authority, base) = split_url(url)?;
    let path = format!("{}/v1.0/roleManagement/directory/roleAssignmentScheduleRequests", base.trim_end_matches('/'));
    let targets = targets(data_dir, count).await?;
    let issuer = LocalIssuer::load(data_dir)?;
    let now = time::OffsetDateTime::now_utc();
    let mut tokens = HashMap::new();
    let plans: Vec<Plan> = targets
        .iter()
        .map(|t| {
            let token = tokens
                .entry(t.upn.clone())
                .or_insert_with(|| {
                    let oid = uuid::Uuid::parse_str(&t.principal_id).expect("object ids in the store are UUIDs");
                    let req = TokenRequest {
                        oid,
                        upn: t.upn.clone(),
                        mfa: true,
                        acrs: vec![],
                        ttl: Duration::from_secs(3600),
                    };
                    issuer.mint(&req, now)
                })
                .clone();
            Plan {
                method: Method::POST,
                path: path.clone(),
                headers: vec![("authorization".into(), format!("Bearer {token}"))],
                body: Some(serde_json::to_vec(&body(t)).expect("JSON body").into()),
            }
        })
        .collect();
    let plans = Arc::new(plans);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections.min(count) {
        let (plans, next, authority) = (plans.clone(), next.clone(), authority.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::new(&authority);
            let (mut lat, mut ok, mut failed, mut first) = (Latencies::new(), 0u64, 0u64, None::<String>);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(plan) = plans.get(i) else { break };
                let t0 = Instant::now();
                let outcome = conn.send(plan).await;
                let took = t0.elapsed();
                match outcome {
                    Ok(r) if r.status == 201 && provisioned(&r.body) => {
                        lat.record(took);
                        ok += 1;
                    }
                    Ok(r) => {
                        failed += 1;
                        first.get_or_insert_with(|| format!("HTTP {}: {}", r.status, String::from_utf8_lossy(&r.body)));
                    }
                    Err(e) => {
                        failed += 1;
                        first.get_or_insert_with(|| format!("{e:#}"));
                    }
                }
            }
            (lat, ok, failed, first)
        }));
    }
    let mut report = Report {
        mode: "activate",
        connections,
        requested: count,
        activations: 0,
        failures: 0,
        first_failure: None,
        wall_s: 0.0,
        activations_per_s: 0.0,
        latency: Latencies::new().summary(),
    };
    let mut lat = Latencies::new();
    for t in tasks {
        let (l, ok, failed, first) = t.await?;
        lat.merge(&l);
        report.activations += ok;
        report.failures += failed;
        if report.first_failure.is_none() {
            report.first_failure = first;
        }
    }
    let wall = start.elapsed().as_secs_f64();
    report.wall_s = round3(wall);
    report.activations_per_s = round3(report.activations as f64 / wall);
    report.latency = lat.summary();
    Ok(report)
}

fn provisioned(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| v["status"] == "Provisioned")
}
