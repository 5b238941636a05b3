//! The setup shared by the criterion bench and the `access-check` binary, and a plain
//! throughput measurement for the closing table (criterion keeps its own numbers in its report).
//! The timed loop ([`rate`]), the load timings and the environment readers serve the Azure run
//! ([`crate::azure::measure`]) too.

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
        let queries = env_number("OPENPIM_BENCH_QUERIES", 2_000)?.max(1) as usize;
        let anchor_max_users = env_number("OPENPIM_BENCH_ANCHOR_MAX_USERS", 100_000)?.min(u32::MAX as u64) as u32;
        let smoke = smoke_from_env();
        Ok(RunConfig { size: size.trim().to_ascii_lowercase(), spec, queries, anchor_max_users, smoke })
    }
}

/// `OPENPIM_BENCH_SMOKE=1` (or `true`): few, short iterations for CI.
pub fn smoke_from_env() -> bool {
    std::env::var("OPENPIM_BENCH_SMOKE").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// The whole number in the environment variable `name`, or `default` when it is unset.
pub fn env_number(name: &str, default: u64) -> Result<u64, String> {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().map_err(|_| format!("{name} must be a whole number, not '{v}'")),
        Err(_) => Ok(default),
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

/// One workload with its timed queries and OpenPIM's index over it.
pub struct Part {
    pub size: String,
    pub workload: Workload,
    pub queries: Vec<Query>,
    pub openpim: OpenPim,
}

impl Part {
    fn load(size: &str, spec: &WorkloadSpec, queries: usize, times: &mut LoadTimes) -> Part {
        let t = Instant::now();
        let workload = Workload::generate(spec);
        times.generate += t.elapsed().as_secs_f64();
        let queries = workload.queries(queries, QUERY_SEED);
        let t = Instant::now();
        let openpim = OpenPim::load(&workload);
        times.openpim += t.elapsed().as_secs_f64();
        Part { size: size.to_string(), workload, queries, openpim }
    }
}

/// Everything timed. The anchors are loaded on the timed size when it has at most
/// `anchor_max_users` users, otherwise on the largest smaller size that has; OpenPIM is then
/// timed on that size too, so the ratios always compare engines on the same workload.
pub struct Setup {
    pub main: Part,
    /// The smaller workload the anchors were loaded from, when it is not `main`'s.
    pub anchor_part: Option<Part>,
    pub casbin: Casbin,
    pub cedar: Cedar,
    pub load_seconds: LoadTimes,
    /// The engines also agreed on the timed queries of the anchors' workload.
    pub timed_agreement: Agreement,
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
        let mut times = LoadTimes::default();
        let main = Part::load(&cfg.size, &cfg.spec, cfg.queries, &mut times);
        let anchor_part = if cfg.spec.users <= cfg.anchor_max_users {
            None
        } else {
            let (size, spec) = [("medium", WorkloadSpec::medium()), ("small", WorkloadSpec::small())]
                .into_iter()
                .find(|(_, s)| s.users <= cfg.anchor_max_users && s.users < cfg.spec.users)
                .unwrap_or(("small", WorkloadSpec::small()));
            Some(Part::load(size, &spec, cfg.queries, &mut times))
        };
        let w = &anchor_part.as_ref().unwrap_or(&main).workload;
        let t = Instant::now();
        let casbin = Casbin::load(w).map_err(|e| format!("casbin failed to load: {e}"))?;
        times.casbin = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let cedar = Cedar::load(w)?;
        times.cedar = t.elapsed().as_secs_f64();
        let anchored = anchor_part.as_ref().unwrap_or(&main);
        let timed_agreement = compare(&anchored.queries, &anchored.openpim, &casbin, &cedar).map_err(|m| {
            format!("engines disagree on the timed queries ({} size):\n{}", anchored.size, describe(&m))
        })?;
        Ok(Setup { main, anchor_part, casbin, cedar, load_seconds: times, timed_agreement })
    }

    /// The workload the anchors answer on.
    pub fn anchor_setup(&self) -> &Part {
        self.anchor_part.as_ref().unwrap_or(&self.main)
    }

    pub fn describe(&self) -> String {
        let w = &self.main.workload;
        let t = &self.load_seconds;
        let mut out = format!(
            "size {}: {} users, {} instances, {} grants in the index; generated in {:.1}s, index built in {:.1}s\n",
            self.main.size,
            w.spec.users,
            w.instances.len(),
            self.main.openpim.index.grant_count(),
            t.generate,
            t.openpim
        );
        out.push_str(&format!(
            "anchors on size {}: casbin {} p + {} g lines loaded in {:.1}s; cedar {} policies, {} entities loaded in {:.1}s",
            self.anchor_setup().size,
            self.casbin.policy_lines,
            self.casbin.grouping_lines,
            t.casbin,
            self.cedar.policy_count,
            self.cedar.entity_count,
            t.cedar
        ));
        out
    }
}

/// Checks per second of `engine` over `prepared` (cycled), and how many checks were timed: after
/// one warm-up check, batches double while they take under 10 ms, so the clock is read rarely
/// for a fast engine and a slow one (an anchor on the large Azure workload takes a good part of
/// a second per check) stops soon after `min_time` (but not before `min_checks`).
pub fn rate<Q, E: AccessEngine<Q>>(
    engine: &E,
    prepared: &[E::Prepared],
    min_time: Duration,
    min_checks: u64,
) -> (f64, u64) {
    if prepared.is_empty() {
        return (0.0, 0);
    }
    black_box(engine.allows(black_box(&prepared[0])));
    let start = Instant::now();
    let (mut checks, mut next, mut batch) = (0u64, 0usize, 1u64);
    loop {
        let batch_start = Instant::now();
        for _ in 0..batch {
            black_box(engine.allows(black_box(&prepared[next])));
            next = (next + 1) % prepared.len();
        }
        checks += batch;
        if start.elapsed() >= min_time && checks >= min_checks {
            break;
        }
        if batch_start.elapsed() < Duration::from_millis(10) {
            batch *= 2;
        }
    }
    (checks as f64 / start.elapsed().as_secs_f64(), checks)
}

/// Checks per second of `engine` over its own form of `queries`, for at least `min_time`.
fn checks_per_second<Q, E: AccessEngine<Q>>(engine: &E, queries: &[Q], min_time: Duration) -> f64 {
    rate(engine, &engine.prepare_all(queries), min_time, 1).0
}

/// The closing figures of a run.
#[derive(Debug, Clone)]
pub struct Figures {
    pub size: String,
    pub queries: usize,
    pub openpim: f64,
    /// The size the anchors were timed on, and OpenPIM's rate on that same size.
    pub anchor_size: String,
    pub openpim_at_anchor_size: f64,
    pub casbin: f64,
    pub cedar: f64,
    pub agreement_sample: usize,
    /// Timed queries the three engines also agreed on (on the anchors' workload).
    pub agreement_timed: usize,
    pub allowed_share: f64,
}

impl Figures {
    pub fn measure(setup: &Setup, agreement: Agreement, min_time: Duration) -> Figures {
        let main = &setup.main;
        let openpim = checks_per_second(&main.openpim, &main.queries, min_time);
        let anchored = setup.anchor_setup();
        let openpim_at_anchor_size = match &setup.anchor_part {
            Some(p) => checks_per_second(&p.openpim, &p.queries, min_time),
            None => openpim,
        };
        let casbin = checks_per_second(&setup.casbin, &anchored.queries, min_time);
        let cedar = checks_per_second(&setup.cedar, &anchored.queries, min_time);
        let allowed = main.queries.iter().filter(|q| main.openpim.allows(q)).count();
        Figures {
            size: main.size.clone(),
            queries: main.queries.len(),
            openpim,
            anchor_size: anchored.size.clone(),
            openpim_at_anchor_size,
            casbin,
            cedar,
            agreement_sample: agreement.checked,
            agreement_timed: setup.timed_agreement.checked,
            allowed_share: allowed as f64 / main.queries.len().max(1) as f64,
        }
    }

    pub fn ratio_casbin(&self) -> f64 {
        self.openpim_at_anchor_size / self.casbin
    }

    pub fn ratio_cedar(&self) -> f64 {
        self.openpim_at_anchor_size / self.cedar
    }

    pub fn table(&self) -> String {
        let mut out = format!(
            "access check, {} queries ({:.0}% allowed); engines agreed on {} sample and {} timed queries first\n\
             engine   size          checks/s   OpenPIM/engine\n\
             openpim  {:<8} {:>14.0}\n",
            self.queries,
            self.allowed_share * 100.0,
            self.agreement_sample,
            self.agreement_timed,
            self.size,
            self.openpim,
        );
        if self.anchor_size != self.size {
            out.push_str(&format!("openpim  {:<8} {:>14.0}\n", self.anchor_size, self.openpim_at_anchor_size));
        }
        out.push_str(&format!(
            "casbin   {:<8} {:>14.0}   {:.1}x\ncedar    {:<8} {:>14.0}   {:.1}x\n",
            self.anchor_size,
            self.casbin,
            self.ratio_casbin(),
            self.anchor_size,
            self.cedar,
            self.ratio_cedar()
        ));
        out
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "openpim_checks_per_s": self.openpim,
            "casbin_checks_per_s": self.casbin,
            "cedar_checks_per_s": self.cedar,
            "ratio_casbin": self.ratio_casbin(),
            "ratio_cedar": self.ratio_cedar(),
            "size": self.size,
            "queries": self.queries,
            "agreement_sample": self.agreement_sample,
            "agreement_timed": self.agreement_timed,
            "anchor_size": self.anchor_size,
            "openpim_checks_per_s_at_anchor_size": self.openpim_at_anchor_size,
            "allowed_share": self.allowed_share,
        })
    }
}
