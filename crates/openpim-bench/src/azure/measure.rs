//! The Azure run: configuration from the environment, loading the three engines, the agreement
//! checks that come before any timing, and a time-bounded throughput measurement (the directory
//! run's loop, [`rate`]).

use super::casbin::CasbinAzure;
use super::cedar::CedarAzure;
use super::engine::OpenPimAzure;
use super::workload::{AzureQuery, AzureSpec, AzureWorkload};
use crate::agreement::{compare, describe, Agreement};
use crate::engine::AccessEngine;
use crate::measure::{env_number, rate, smoke_from_env, LoadTimes};
use std::time::{Duration, Instant};

/// Seed of the timed query list (the agreement sample uses its own).
pub const QUERY_SEED: u64 = 42;
pub const AGREEMENT_SEED: u64 = 7;
/// Queries of the small workload the engines must agree on before anything is timed.
pub const AGREEMENT_SAMPLE: usize = 2_000;

/// From the environment: `OPENPIM_BENCH_AZURE_SIZE` (`small`|`large`; default `large`, `small`
/// with `OPENPIM_BENCH_SMOKE=1`), `OPENPIM_BENCH_QUERIES` (timed query list, default 2000),
/// `OPENPIM_BENCH_AZURE_AGREEMENT` (how many of the timed queries the engines must also agree on
/// before timing, default 100: at the large size an anchor check takes a good part of a second),
/// `OPENPIM_BENCH_SECONDS` (time per engine; default 3, 0.3 in smoke runs),
/// `OPENPIM_BENCH_AZURE_MIN_CHECKS` (the anchors are timed on at least this many checks even when
/// that takes longer; default 20, 5 in smoke runs).
#[derive(Debug, Clone)]
pub struct AzureRunConfig {
    pub size: String,
    pub spec: AzureSpec,
    pub queries: usize,
    pub timed_agreement: usize,
    pub seconds: f64,
    pub anchor_checks: u64,
    pub smoke: bool,
}

impl AzureRunConfig {
    pub fn from_env() -> Result<Self, String> {
        let smoke = smoke_from_env();
        let size = std::env::var("OPENPIM_BENCH_AZURE_SIZE")
            .unwrap_or_else(|_| if smoke { "small" } else { "large" }.into())
            .trim()
            .to_ascii_lowercase();
        let spec = AzureSpec::by_name(&size)
            .ok_or_else(|| format!("OPENPIM_BENCH_AZURE_SIZE must be small or large, not '{size}'"))?;
        let queries = env_number("OPENPIM_BENCH_QUERIES", 2_000)?.max(1) as usize;
        let timed_agreement = env_number("OPENPIM_BENCH_AZURE_AGREEMENT", 100)? as usize;
        let seconds = match std::env::var("OPENPIM_BENCH_SECONDS") {
            Ok(v) => v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0)
                .ok_or_else(|| format!("OPENPIM_BENCH_SECONDS must be a positive number of seconds, not '{v}'"))?,
            Err(_) if smoke => 0.3,
            Err(_) => 3.0,
        };
        let anchor_checks = env_number("OPENPIM_BENCH_AZURE_MIN_CHECKS", if smoke { 5 } else { 20 })?.max(1);
        Ok(AzureRunConfig { size, spec, queries, timed_agreement, seconds, anchor_checks, smoke })
    }
}

/// The engines must agree on `sample` queries of the small Azure workload.
pub fn agreement_on_small(sample: usize) -> Result<Agreement, String> {
    let w = AzureWorkload::generate(&AzureSpec::small());
    let openpim = OpenPimAzure::load(&w);
    let casbin = CasbinAzure::load(&w).map_err(|e| format!("casbin failed to load: {e}"))?;
    let cedar = CedarAzure::load(&w)?;
    compare(&w.queries(sample, AGREEMENT_SEED), &openpim, &casbin, &cedar).map_err(|m| describe(&m))
}

pub struct AzureSetup {
    pub size: String,
    pub workload: AzureWorkload,
    pub queries: Vec<AzureQuery>,
    pub openpim: OpenPimAzure,
    pub casbin: CasbinAzure,
    pub cedar: CedarAzure,
    pub load_seconds: LoadTimes,
    /// The engines agreed on this many of the timed queries (the first ones) before timing.
    pub timed_agreement: Agreement,
}

impl AzureSetup {
    pub fn load(cfg: &AzureRunConfig) -> Result<Self, String> {
        let mut t = LoadTimes::default();
        let start = Instant::now();
        let workload = AzureWorkload::generate(&cfg.spec);
        let queries = workload.queries(cfg.queries, QUERY_SEED);
        t.generate = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let openpim = OpenPimAzure::load(&workload);
        t.openpim = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let casbin = CasbinAzure::load(&workload).map_err(|e| format!("casbin failed to load: {e}"))?;
        t.casbin = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let cedar = CedarAzure::load(&workload)?;
        t.cedar = start.elapsed().as_secs_f64();
        let sample = &queries[..cfg.timed_agreement.min(queries.len())];
        let timed_agreement = compare(sample, &openpim, &casbin, &cedar)
            .map_err(|m| format!("engines disagree on the timed Azure queries ({}):\n{}", cfg.size, describe(&m)))?;
        Ok(AzureSetup {
            size: cfg.size.clone(),
            workload,
            queries,
            openpim,
            casbin,
            cedar,
            load_seconds: t,
            timed_agreement,
        })
    }

    pub fn describe(&self) -> String {
        let w = &self.workload;
        let t = &self.load_seconds;
        format!(
            "azure {}: {} scopes, {} users, {} groups, {} assignments ({} in effect); generated in {:.1}s; \
             openpim index {:.1}s; casbin {} p + {} g + {} g2 lines {:.1}s; cedar {} templates, {} linked policies, \
             {} entities {:.1}s",
            self.size,
            w.scopes.len(),
            w.users.len(),
            w.groups.len(),
            w.assignments.len(),
            w.effective_assignments().len(),
            t.generate,
            t.openpim,
            self.casbin.policy_lines,
            self.casbin.grouping_lines,
            self.casbin.scope_lines,
            t.casbin,
            self.cedar.templates,
            self.cedar.linked_policies,
            self.cedar.entity_count,
            t.cedar
        )
    }
}

#[derive(Debug, Clone)]
pub struct AzureFigures {
    pub size: String,
    pub queries: usize,
    pub openpim: f64,
    pub casbin: f64,
    pub cedar: f64,
    pub openpim_checks: u64,
    pub casbin_checks: u64,
    pub cedar_checks: u64,
    pub agreement_sample: usize,
    pub agreement_timed: usize,
    pub allowed_share: f64,
    pub assignments: usize,
    pub effective_assignments: usize,
    pub scopes: usize,
    pub users: usize,
    pub groups: usize,
    pub load_seconds: LoadTimes,
}

impl AzureFigures {
    /// Times each engine for `min_time`, the anchors for at least `anchor_checks` checks.
    pub fn measure(setup: &AzureSetup, agreement: Agreement, min_time: Duration, anchor_checks: u64) -> AzureFigures {
        let q = &setup.queries;
        let (openpim, openpim_checks) = rate(&setup.openpim, &setup.openpim.prepare_all(q), min_time, 1);
        let (casbin, casbin_checks) = rate(&setup.casbin, &setup.casbin.prepare_all(q), min_time, anchor_checks);
        let (cedar, cedar_checks) = rate(&setup.cedar, &setup.cedar.prepare_all(q), min_time, anchor_checks);
        let allowed = setup.openpim.prepare_all(q).iter().filter(|p| setup.openpim.allows(p)).count();
        let w = &setup.workload;
        AzureFigures {
            size: setup.size.clone(),
            queries: q.len(),
            openpim,
            casbin,
            cedar,
            openpim_checks,
            casbin_checks,
            cedar_checks,
            agreement_sample: agreement.checked,
            agreement_timed: setup.timed_agreement.checked,
            allowed_share: allowed as f64 / q.len().max(1) as f64,
            assignments: w.assignments.len(),
            effective_assignments: w.effective_assignments().len(),
            scopes: w.scopes.len(),
            users: w.users.len(),
            groups: w.groups.len(),
            load_seconds: setup.load_seconds,
        }
    }

    pub fn table(&self) -> String {
        format!(
            "azure access check, size {} ({} assignments, {} scopes), {} queries ({:.0}% allowed); engines agreed on \
             {} sample and {} timed queries first\n\
             engine           checks/s   checks timed   OpenPIM/engine\n\
             openpim  {:>14.0}   {:>12}\n\
             casbin   {:>14.1}   {:>12}   {:.0}x\n\
             cedar    {:>14.1}   {:>12}   {:.0}x\n",
            self.size,
            self.assignments,
            self.scopes,
            self.queries,
            self.allowed_share * 100.0,
            self.agreement_sample,
            self.agreement_timed,
            self.openpim,
            self.openpim_checks,
            self.casbin,
            self.casbin_checks,
            self.openpim / self.casbin,
            self.cedar,
            self.cedar_checks,
            self.openpim / self.cedar,
        )
    }

    pub fn json(&self) -> serde_json::Value {
        let t = &self.load_seconds;
        serde_json::json!({
            "workload": "azure",
            "size": self.size,
            "assignments": self.assignments,
            "effective_assignments": self.effective_assignments,
            "scopes": self.scopes,
            "users": self.users,
            "groups": self.groups,
            "queries": self.queries,
            "openpim_checks_per_s": self.openpim,
            "casbin_checks_per_s": self.casbin,
            "cedar_checks_per_s": self.cedar,
            "openpim_checks_timed": self.openpim_checks,
            "casbin_checks_timed": self.casbin_checks,
            "cedar_checks_timed": self.cedar_checks,
            "ratio_casbin": self.openpim / self.casbin,
            "ratio_cedar": self.openpim / self.cedar,
            "agreement_sample": self.agreement_sample,
            "agreement_timed": self.agreement_timed,
            "allowed_share": self.allowed_share,
            "load_seconds": {"generate": t.generate, "openpim": t.openpim, "casbin": t.casbin, "cedar": t.cedar},
        })
    }
}
