//! In-process access checks: OpenPIM's access index against casbin-rs and cedar-policy on the same
//! workload and the same query list. `cargo bench -p openpim-bench` (size by
//! `OPENPIM_BENCH_SIZE=small|medium|large`; `OPENPIM_BENCH_SMOKE=1` or `-- --quick` for CI).
//!
//! Before timing, the three engines must agree on a 10k-query sample of the small workload; the
//! bench stops with the mismatching queries otherwise. After criterion's groups, it prints a
//! table of checks/s and the OpenPIM/anchor ratios measured in this same process.

use criterion::{BenchmarkId, Criterion, Throughput};
use openpim_bench::engine::AccessEngine;
use openpim_bench::measure::{agreement_on_small, Figures, Part, RunConfig, Setup};
use std::hint::black_box;
use std::time::Duration;

fn bench_engine<E: AccessEngine>(c: &mut Criterion, engine: &E, part: &Part, smoke: bool) {
    let prepared = engine.prepare_all(&part.queries);
    let mut group = c.benchmark_group("access_check");
    group.throughput(Throughput::Elements(prepared.len() as u64));
    if smoke {
        group.sample_size(10).warm_up_time(Duration::from_millis(200)).measurement_time(Duration::from_secs(1));
    }
    group.bench_with_input(BenchmarkId::new(engine.name(), &part.size), &prepared, |b, prepared| {
        b.iter(|| {
            let mut allowed = 0usize;
            for p in prepared {
                allowed += usize::from(engine.allows(black_box(p)));
            }
            allowed
        })
    });
    group.finish();
}

fn main() {
    let cfg = RunConfig::from_env().unwrap_or_else(|e| panic!("{e}"));
    let agreement = agreement_on_small().unwrap_or_else(|e| panic!("engines disagree, nothing timed:\n{e}"));
    eprintln!("openpim, casbin and cedar agree on {} queries ({} allowed)", agreement.checked, agreement.allowed);
    let setup = Setup::load(&cfg).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{}", setup.describe());

    let mut c = Criterion::default().configure_from_args();
    bench_engine(&mut c, &setup.main.openpim, &setup.main, cfg.smoke);
    if let Some(part) = &setup.anchor_part {
        bench_engine(&mut c, &part.openpim, part, cfg.smoke);
    }
    bench_engine(&mut c, &setup.casbin, setup.anchor_setup(), cfg.smoke);
    bench_engine(&mut c, &setup.cedar, setup.anchor_setup(), cfg.smoke);
    c.final_summary();

    let min_time = if cfg.smoke { Duration::from_millis(500) } else { Duration::from_secs(3) };
    let figures = Figures::measure(&setup, agreement, min_time);
    println!("\n{}", figures.table());
    println!("{}", figures.json());
}
