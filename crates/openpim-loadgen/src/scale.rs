//! `scale`: a seeded (large) store served by the real `openpim` binary: cold start, memory, and
//! the latency of a filtered list page.

use crate::client::{Conn, Plan};
use crate::hist::{round3, Latencies, Summary};
use crate::seed::ADMIN_UPN;
use hyper::Method;
use openpim_server::auth::{LocalIssuer, TokenRequest};
use serde::Serialize;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Serialize, Default, Clone, Copy)]
pub struct Memory {
    pub rss_mib: f64,
    pub hwm_mib: f64,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub mode: &'static str,
    pub database_bytes: u64,
    pub active_assignments: i64,
    /// Spawn to the first `/healthz` 200. The server loads its access index before it listens,
    /// so this includes the index load.
    pub cold_start_s: f64,
    pub memory_after_start: Memory,
    pub memory_after_lists: Memory,
    pub list_requests: u64,
    pub list_failures: u64,
    pub first_failure: Option<String>,
    pub list_latency: Summary,
    /// `GET /v1.0/openpim/accessCheck` for the same principals (admin token, `principalId`),
    /// one connection: how the check's latency grows with the store (the growth curve).
    pub check_requests: u64,
    pub check_failures: u64,
    pub check_latency: Summary,
}

impl Report {
    pub fn acceptable(&self) -> bool {
        self.list_failures == 0 && self.list_requests > 0 && self.check_failures == 0 && self.check_requests > 0
    }
}

/// One closed-loop series on `conn`: each plan once after a warm-up of the first few (not
/// counted); `good` judges an answer. Returns (counted, failed, latencies of the good ones).
async fn series(
    conn: &mut Conn,
    plans: &[(String, Plan)],
    good: impl Fn(&str, &crate::client::Reply) -> bool,
    first_failure: &mut Option<String>,
) -> (u64, u64, Latencies) {
    let mut lat = Latencies::new();
    let (mut requests, mut failures) = (0u64, 0u64);
    let warmup = 10.min(plans.len());
    for (n, (id, plan)) in plans.iter().chain(plans.iter().take(warmup)).enumerate() {
        let t = Instant::now();
        let outcome = conn.send(plan).await;
        let took = t.elapsed();
        let ok = matches!(&outcome, Ok(r) if good(id, r));
        if n >= warmup {
            requests += 1;
            if ok {
                lat.record(took);
            } else {
                failures += 1;
            }
        }
        if !ok && first_failure.is_none() {
            *first_failure = Some(match outcome {
                Ok(r) => format!("HTTP {} for {id}: {}", r.status, String::from_utf8_lossy(&r.body)),
                Err(e) => format!("{e:#}"),
            });
        }
    }
    (requests, failures, lat)
}

/// Kills the server when the measurement ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn memory(pid: u32) -> anyhow::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| round3(kb / 1024.0))
    };
    Ok(Memory { rss_mib: field("VmRSS:"), hwm_mib: field("VmHWM:") })
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Users holding an assignment in effect now (and for the next ten minutes), in random order.
async fn principals(data_dir: &Path, limit: usize) -> anyhow::Result<(Vec<String>, i64)> {
    let mut conn = SqliteConnectOptions::new().filename(data_dir.join("openpim.db")).read_only(true).connect().await?;
    let now_us = time::OffsetDateTime::now_utc().unix_timestamp() * 1_000_000;
    let (live,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM role_assignments WHERE status <> 'Expired'").fetch_one(&mut conn).await?;
    let mut ids: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT principal_id FROM role_assignments WHERE principal_type = 'user' \
         AND status = 'Provisioned' AND start_at <= $1 AND (end_at IS NULL OR end_at > $2) LIMIT $3",
    )
    .bind(now_us)
    .bind(now_us + 600 * 1_000_000)
    .bind(i64::try_from(limit * 4).unwrap_or(i64::MAX))
    .fetch_all(&mut conn)
    .await?;
    conn.close().await?;
    anyhow::ensure!(!ids.is_empty(), "no user holds an assignment in this store: seed it first");
    let mut rng = fastrand::Rng::with_seed(7);
    rng.shuffle(&mut ids);
    ids.truncate(limit);
    Ok((ids.into_iter().map(|(id,)| id).collect(), live))
}

pub async fn run(data_dir: &Path, binary: &Path, samples: usize) -> anyhow::Result<Report> {
    anyhow::ensure!(samples >= 1, "--samples must be at least 1");
    let (ids, live) = principals(data_dir, samples).await?;
    let database_bytes = std::fs::metadata(data_dir.join("openpim.db"))?.len();
    let port = free_port()?;
    let authority = format!("127.0.0.1:{port}");

    let t0 = Instant::now();
    let child = Command::new(binary)
        .args(["serve", "--data"])
        .arg(data_dir)
        .args(["--listen", &authority])
        .env("OPENPIM_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| anyhow::anyhow!("starting {}: {e}", binary.display()))?;
    let mut server = Server(child);
    let pid = server.0.id();
    let health = Plan { method: Method::GET, path: "/healthz".into(), headers: vec![], body: None };
    let mut conn = Conn::new(&authority);
    loop {
        if let Ok(r) = conn.send(&health).await {
            if r.status == 200 {
                break;
            }
        }
        if let Some(status) = server.0.try_wait()? {
            anyhow::bail!("openpim serve exited during start: {status}");
        }
        anyhow::ensure!(t0.elapsed() < Duration::from_secs(900), "no /healthz 200 within 15 minutes");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let cold_start_s = round3(t0.elapsed().as_secs_f64());
    let memory_after_start = memory(pid)?;

    let issuer = LocalIssuer::load(data_dir)?;
    let store = openpim_store::Store::open_sqlite_dir(data_dir).await?;
    let req = TokenRequest::for_upn(&store, ADMIN_UPN, true, vec![], Duration::from_secs(3600)).await;
    store.close().await;
    let token = issuer.mint(&req?, time::OffsetDateTime::now_utc());
    let auth = vec![("authorization".to_string(), format!("Bearer {token}"))];
    let get = |path: String| Plan { method: Method::GET, path, headers: auth.clone(), body: None };
    let lists: Vec<_> = ids
        .iter()
        .map(|id| {
            let path = format!(
                "/v1.0/roleManagement/directory/roleAssignmentScheduleInstances?%24filter=principalId%20eq%20%27{id}%27&%24top=100"
            );
            (id.clone(), get(path))
        })
        .collect();
    let json = |r: &crate::client::Reply| serde_json::from_slice::<serde_json::Value>(&r.body).ok();
    let mut first_failure = None;
    // Each answer must be non-empty and only that principal's.
    let (requests, failures, lat) = series(
        &mut conn,
        &lists,
        |id, r| {
            r.status == 200
                && json(r)
                    .and_then(|v| {
                        v["value"].as_array().map(|a| !a.is_empty() && a.iter().all(|i| i["principalId"] == id))
                    })
                    .unwrap_or(false)
        },
        &mut first_failure,
    )
    .await;
    let checks: Vec<_> = ids
        .iter()
        .map(|id| {
            let path = format!(
                "/v1.0/openpim/accessCheck?principalId={id}&action=microsoft.directory/users/standard/read&directoryScopeId=/"
            );
            (id.clone(), get(path))
        })
        .collect();
    let (check_requests, check_failures, check_lat) = series(
        &mut conn,
        &checks,
        |_, r| r.status == 200 && json(r).is_some_and(|v| v["allowed"].is_boolean()),
        &mut first_failure,
    )
    .await;
    let memory_after_lists = memory(pid)?;
    drop(server);
    Ok(Report {
        mode: "scale",
        database_bytes,
        active_assignments: live,
        cold_start_s,
        memory_after_start,
        memory_after_lists,
        list_requests: requests,
        list_failures: failures,
        first_failure,
        list_latency: lat.summary(),
        check_requests,
        check_failures,
        check_latency: check_lat.summary(),
    })
}
