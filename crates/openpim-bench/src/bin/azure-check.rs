//! Prints the in-process Azure access-check figures as JSON for `bench/run.sh`:
//! `cargo run -p openpim-bench --release --bin azure-check`. Configured by the environment (see
//! `openpim_bench::azure::measure::AzureRunConfig`). The three engines must first agree on a
//! sample of the small Azure workload and on the first timed queries, or nothing is timed.

use openpim_bench::azure::measure::{agreement_on_small, AzureFigures, AzureRunConfig, AzureSetup, AGREEMENT_SAMPLE};
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("azure-check: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let cfg = AzureRunConfig::from_env()?;
    // The smoke run checks a smaller sample: its debug build runs OpenPIM unoptimised.
    let sample = if cfg.smoke { AGREEMENT_SAMPLE / 4 } else { AGREEMENT_SAMPLE };
    eprintln!("checking that openpim, casbin and cedar agree on {sample} queries of the small Azure workload...");
    let agreement = agreement_on_small(sample)?;
    eprintln!("agreed ({} allowed); loading Azure size {}...", agreement.allowed, cfg.size);
    let setup = AzureSetup::load(&cfg)?;
    eprintln!("{}", setup.describe());
    let figures = AzureFigures::measure(&setup, agreement, Duration::from_secs_f64(cfg.seconds), cfg.anchor_checks);
    eprint!("{}", figures.table());
    println!("{}", figures.json());
    Ok(())
}
