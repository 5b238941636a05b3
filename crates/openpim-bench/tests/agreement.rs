//! The three engines answer identically on a 10k-query sample of the small workload.

use openpim_bench::agreement::{compare, describe};
use openpim_bench::anchors::casbin::Casbin;
use openpim_bench::anchors::cedar::Cedar;
use openpim_bench::engine::OpenPim;
use openpim_bench::workload::{Workload, WorkloadSpec};
use std::time::Instant;

#[test]
fn openpim_casbin_and_cedar_agree_on_the_small_workload() {
    let t = Instant::now();
    let w = Workload::generate(&WorkloadSpec::small());
    eprintln!("workload generated in {:?}", t.elapsed());
    let openpim = OpenPim::load(&w);
    let t = Instant::now();
    let casbin = Casbin::load(&w).expect("casbin loads");
    eprintln!("casbin: {} p, {} g lines in {:?}", casbin.policy_lines, casbin.grouping_lines, t.elapsed());
    let t = Instant::now();
    let cedar = Cedar::load(&w).expect("cedar loads");
    eprintln!("cedar: {} policies, {} entities in {:?}", cedar.policy_count, cedar.entity_count, t.elapsed());
    let queries = w.queries(10_000, 7);
    let t = Instant::now();
    match compare(&queries, &openpim, &casbin, &cedar) {
        Ok(a) => {
            eprintln!("{} queries agreed ({} allowed) in {:?}", a.checked, a.allowed, t.elapsed());
            assert_eq!(a.checked, 10_000);
            assert!(
                a.allowed > 2_000 && a.allowed < 8_000,
                "{} allowed: the sample must exercise both answers",
                a.allowed
            );
        }
        Err(m) => panic!("{}", describe(&m)),
    }
}
