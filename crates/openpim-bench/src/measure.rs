//! The setup shared by the criterion bench and the `access-check` binary, and a plain
//! throughput measurement for the closing table (criterion keeps its own numbers in its report).

use crate::agreement::{compare, describe, Agreement};
use crate::anchors::casbin::Casbin;
use crate::anchors::cedar::Cedar;
use crate::engine::{AccessEngine, OpenPim};
use crate::workload::{Query, Workload, WorkloadSpec};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Seed of the timed query list (the agreement sample uses its own).
pub const QUERY_SEED: u64 = 42;
const AGREEMENT_SEED: u64 = 7;
/// The agreement check runs on the small workload, whatever size is timed.
pub const AGREEMENT_SAMPLE: usize = 10_000;

/// What a run is asked to do, from the environment:
/// `OPENPIM_BENCH_SIZE` (`small`|`medium`|`large`, default `small`),
/// `OPENPIM_BENCH_QUERIES` (length of the timed query list, default 2000),
/// `OPENPIM_BENCH_ANCHOR_MAX_USERS` (load the anchors only up to this many users, default 100000:
/// at the large size casbin and Cedar take too long to load, so they are timed on the largest
/// size that loads in reasonable time and the report says which),
/// `OPENPIM_BENCH_SMOKE=1` (few, short iterations for CI).
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub size: String,
    pub spec: WorkloadSpec,
    pub queries: usize,
    pub anchor_max_users: u32,
    pub smoke: bool,
}

impl RunConfig {
    pub fn from_env() -> Result<Self, String> {
        let size = std::env::var("OPENPIM_BENCH_SIZE").unwrap_or_else(|_| "small".into());
        let spec = WorkloadSpec::by_name(&size)
            .ok_or_else(|| format!("OPENPIM_BENCH_SIZE must be small, medium or large, not '{size}'"))?;
        let number = |name: &str, default: u64| -> Result<u64, String> {
            match std::env::var(name) {
                Ok(v) => v.trim().parse().map_err(|_| format!("{name} must be a whole number, not '{v}'")),
                Err(_) => Ok(default),
            }
        };
        let queries = number("OPENPIM_BENCH_QUERIES", 2_000)?.max(1) as usize;
        let anchor_max_users = number("OPENPIM_BENCH_ANCHOR_MAX_USERS", 100_000)?.min(u32::MAX as u64) as u32;
        let smoke = std::env::var("OPENPIM_BENCH_SMOKE").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
        Ok(RunConfig { size: size.trim().to_ascii_lowercase(), spec, queries, anchor_max_users, smoke })
    }
}

/// The three engines' answers must agree on the small workload before anything is timed.
pub fn agreement_on_small() -> Result<Agreement, String> {
    let w = Workload::generate(&WorkloadSpec::small());
    let openpim = OpenPim::load(&w);
    let casbin = Casbin::load(&w).map_err(|e| format!("casbin failed to load: {e}"))?;
    let cedar = Cedar::load(&w).map_err(|e| format!("cedar failed to load: {e}"))?;
    compare(&w.queries(AGREEMENT_SAMPLE, AGREEMENT_SEED), &openpim, &casbin, &cedar).map_err(|m| describe(&m))
}

/// Everything timed: the workload, the queries, and each engine loaded from them.
pub struct Setup {
    pub workload: Workload,
    pub queries: Vec<Query>,
    pub openpim: OpenPim,
    /// `None` when the timed size exceeds `anchor_max_users`; see `anchor_size`.
    pub anchors: Option<(Casbin, Cedar)>,
    /// The size the anchors were loaded at, when it is the timed size.
    pub load_seconds: LoadTimes,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct LoadTimes {
    pub generate: f64,
    pub openpim: f64,
    pub casbin: f64,
    pub cedar: f64,
}

impl Setup {
    pub fn load(cfg: &RunConfig) -> Result<Self, String> {
        let t = Instant::now();
        let workload = Workload::generate(&cfg.spec);
        let mut times = LoadTimes { generate: t.elapsed().as_secs_f64(), ..Default::default() };
        let queries = workload.queries(cfg.queries, QUERY_SEED);
        let t = Instant::now();
        let openpim = OpenPim::load(&workload);
        times.openpim = t.elapsed().as_secs_f64();
        let anchors = if cfg.spec.users <= cfg.anchor_max_users {
            let t = Instant::now();
            let casbin = Casbin::load(&workload).map_err(|e| format!("casbin failed to load: {e}"))?;
            times.casbin = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let cedar = Cedar::load(&workload)?;
            times.cedar = t.elapsed().as_secs_f64();
            Some((casbin, cedar))
        } else {
            None
        };
        Ok(Setup { workload, queries, openpim, anchors, load_seconds: times })
    }
}

/// Checks per second of `engine` over `prepared`, passing over the list until `min_time` has
/// elapsed (after one warm-up pass).
pub fn checks_per_second<E: AccessEngine>(engine: &E, prepared: &[E::Prepared], min_time: Duration) -> f64 {
    for p in prepared {
        black_box(engine.allows(black_box(p)));
    }
    let start = Instant::now();
    let mut checks = 0u64;
    while start.elapsed() < min_time || checks == 0 {
        for p in prepared {
            black_box(engine.allows(black_box(p)));
        }
        checks += prepared.len() as u64;
    }
    checks as f64 / start.elapsed().as_secs_f64()
}

/// The closing figures of a run.
#[derive(Debug, Clone)]
pub struct Figures {
    pub size: String,
    pub queries: usize,
    pub openpim: f64,
    pub casbin: Option<f64>,
    pub cedar: Option<f64>,
    pub agreement_sample: usize,
    pub allowed_share: f64,
}

impl Figures {
    pub fn measure(cfg: &RunConfig, setup: &Setup, agreement: Agreement, min_time: Duration) -> Figures {
        let openpim = checks_per_second(&setup.openpim, &setup.openpim.prepare_all(&setup.queries), min_time);
        let (casbin, cedar) = match &setup.anchors {
            Some((c, d)) => (
                Some(checks_per_second(c, &c.prepare_all(&setup.queries), min_time)),
                Some(checks_per_second(d, &d.prepare_all(&setup.queries), min_time)),
            ),
            None => (None, None),
        };
        let allowed = setup.queries.iter().filter(|q| setup.openpim.allows(q)).count();
        Figures {
            size: cfg.size.clone(),
            queries: setup.queries.len(),
            openpim,
            casbin,
            cedar,
            agreement_sample: agreement.checked,
            allowed_share: allowed as f64 / setup.queries.len().max(1) as f64,
        }
    }

    pub fn table(&self) -> String {
        let fmt = |v: Option<f64>| v.map_or("not loaded".to_string(), |v| format!("{v:>14.0}"));
        let ratio = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.1}x", self.openpim / v));
        format!(
            "access check, size {}, {} queries ({:.0}% allowed), engines agreed on {} queries\n\
             engine      checks/s        OpenPIM/engine\n\
             openpim  {:>14.0}\n\
             casbin   {}  {}\n\
             cedar    {}  {}\n",
            self.size,
            self.queries,
            self.allowed_share * 100.0,
            self.agreement_sample,
            self.openpim,
            fmt(self.casbin),
            ratio(self.casbin),
            fmt(self.cedar),
            ratio(self.cedar),
        )
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "openpim_checks_per_s": self.openpim,
            "casbin_checks_per_s": self.casbin,
            "cedar_checks_per_s": self.cedar,
            "ratio_casbin": self.casbin.map(|c| self.openpim / c),
            "ratio_cedar": self.cedar.map(|c| self.openpim / c),
            "size": self.size,
            "queries": self.queries,
            "agreement_sample": self.agreement_sample,
            "allowed_share": self.allowed_share,
        })
    }
}
