//! Prints the in-process access-check figures as JSON for `bench/run.sh`:
//! `cargo run -p openpim-bench --release --bin access-check`. Configured by the environment
//! (see `openpim_bench::measure::RunConfig`); `OPENPIM_BENCH_SECONDS` sets how long each engine
//! is timed (default 3, 0.5 with `OPENPIM_BENCH_SMOKE=1`).

use openpim_bench::measure::{agreement_on_small, Figures, RunConfig, Setup};
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("access-check: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let cfg = RunConfig::from_env()?;
    let seconds = match std::env::var("OPENPIM_BENCH_SECONDS") {
        Ok(v) => v
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0)
            .ok_or_else(|| format!("OPENPIM_BENCH_SECONDS must be a positive number of seconds, not '{v}'"))?,
        Err(_) if cfg.smoke => 0.5,
        Err(_) => 3.0,
    };
    eprintln!("checking that openpim, casbin and cedar agree on the small workload...");
    let agreement = agreement_on_small()?;
    eprintln!("agreed on {} queries ({} allowed); loading size {}...", agreement.checked, agreement.allowed, cfg.size);
    let setup = Setup::load(&cfg)?;
    eprintln!("{}", setup.describe());
    let figures = Figures::measure(&setup, agreement, Duration::from_secs_f64(seconds));
    eprint!("{}", figures.table());
    println!("{}", figures.json());
    Ok(())
}
