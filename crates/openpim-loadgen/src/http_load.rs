//! `http`: closed-loop keep-alive load. Each worker owns one connection and sends its next request
//! as soon as the previous answer is read, so the connection count is the concurrency.

use crate::client::{split_url, Conn, Plan};
use crate::hist::{round3, Latencies, Summary};
use hyper::Method;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Options {
    pub urls: Vec<String>,
    pub connections: usize,
    pub duration: Duration,
    pub warmup: Duration,
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub mode: &'static str,
    pub url: String,
    pub distinct_urls: usize,
    pub connections: usize,
    pub duration_s: f64,
    pub requests: u64,
    pub requests_per_s: f64,
    pub latency: Summary,
    /// Answers outside 2xx (counted, not in the latency histogram).
    pub non_2xx: u64,
    /// Transport failures (connect, reset, malformed response).
    pub errors: u64,
    pub first_failure: Option<String>,
}

impl Report {
    /// The run is valid when (almost) every request succeeded: at most one in a thousand may fail,
    /// e.g. a connection reset while the server starts.
    pub fn acceptable(&self) -> bool {
        let bad = self.non_2xx + self.errors;
        self.requests > 0 && bad * 1000 <= self.requests + bad
    }
}

#[derive(Default)]
struct WorkerResult {
    lat: Latencies,
    ok: u64,
    non_2xx: u64,
    errors: u64,
    first_failure: Option<String>,
}

pub async fn run(opts: Options) -> anyhow::Result<Report> {
    anyhow::ensure!(!opts.urls.is_empty(), "no URL to load");
    anyhow::ensure!(opts.connections >= 1, "--connections must be at least 1");
    let mut authority = None;
    let mut plans = Vec::with_capacity(opts.urls.len());
    for url in &opts.urls {
        let (a, path) = split_url(url)?;
        if let Some(prev) = &authority {
            anyhow::ensure!(prev == &a, "every URL must name the same server ({prev} vs {a})");
        }
        authority = Some(a);
        plans.push(Plan { method: Method::GET, path, headers: opts.headers.clone(), body: None });
    }
    let authority = authority.expect("at least one URL");
    let plans = Arc::new(plans);
    let start = Instant::now();
    let record_from = start + opts.warmup;
    let stop_at = record_from + opts.duration;

    let mut tasks = Vec::with_capacity(opts.connections);
    for w in 0..opts.connections {
        let (plans, authority) = (plans.clone(), authority.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::new(&authority);
            let mut r = WorkerResult::default();
            // Workers start at different places in the URL list so they do not move in lockstep.
            let mut i = w * 7919;
            loop {
                let t0 = Instant::now();
                if t0 >= stop_at {
                    break;
                }
                let plan = &plans[i % plans.len()];
                i += 1;
                let outcome = conn.send(plan).await;
                let t1 = Instant::now();
                let counted = t0 >= record_from;
                match outcome {
                    Ok(reply) if (200..300).contains(&reply.status) => {
                        if counted {
                            r.lat.record(t1 - t0);
                            r.ok += 1;
                        }
                    }
                    Ok(reply) => {
                        if counted {
                            r.non_2xx += 1;
                        }
                        r.first_failure.get_or_insert_with(|| {
                            format!("HTTP {}: {}", reply.status, String::from_utf8_lossy(&reply.body))
                        });
                    }
                    Err(e) => {
                        if counted {
                            r.errors += 1;
                        }
                        r.first_failure.get_or_insert_with(|| format!("{e:#}"));
                        // Do not spin on a dead server.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            r
        }));
    }
    let mut total = WorkerResult::default();
    for t in tasks {
        let r = t.await?;
        total.lat.merge(&r.lat);
        total.ok += r.ok;
        total.non_2xx += r.non_2xx;
        total.errors += r.errors;
        if total.first_failure.is_none() {
            total.first_failure = r.first_failure;
        }
    }
    let secs = opts.duration.as_secs_f64();
    Ok(Report {
        mode: "http",
        url: opts.urls[0].clone(),
        distinct_urls: opts.urls.len(),
        connections: opts.connections,
        duration_s: secs,
        requests: total.ok + total.non_2xx + total.errors,
        requests_per_s: round3(total.ok as f64 / secs),
        latency: total.lat.summary(),
        non_2xx: total.non_2xx,
        errors: total.errors,
        first_failure: total.first_failure,
    })
}
