//! Latency recording: an HDR histogram in microseconds and the summary every subcommand prints.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::time::Duration;

/// Latencies up to one minute at three significant digits: plenty for request latencies, and a
/// fixed bound keeps `record` infallible (slower samples are clamped to the bound).
const MAX_MICROS: u64 = 60_000_000;

#[derive(Clone)]
pub struct Latencies {
    hist: Histogram<u64>,
}

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

impl Latencies {
    pub fn new() -> Self {
        Self { hist: Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("static histogram bounds are valid") }
    }

    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(MAX_MICROS).clamp(1, MAX_MICROS);
        self.hist.saturating_record(us);
    }

    pub fn merge(&mut self, other: &Latencies) {
        // Both sides share the same bounds, so adding cannot fail.
        let _ = self.hist.add(&other.hist);
    }

    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// Milliseconds at a quantile (0.0..=1.0); 0 when nothing was recorded.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.hist.is_empty() {
            return 0.0;
        }
        self.hist.value_at_quantile(q) as f64 / 1000.0
    }

    pub fn summary(&self) -> Summary {
        let empty = self.hist.is_empty();
        Summary {
            count: self.count(),
            p50_ms: round3(self.quantile_ms(0.50)),
            p90_ms: round3(self.quantile_ms(0.90)),
            p99_ms: round3(self.quantile_ms(0.99)),
            max_ms: if empty { 0.0 } else { round3(self.hist.max() as f64 / 1000.0) },
            mean_ms: if empty { 0.0 } else { round3(self.hist.mean() / 1000.0) },
        }
    }
}

/// What the JSON output shows of a latency distribution.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn percentiles_of_a_uniform_spread() {
        let mut l = Latencies::new();
        for i in 1..=1000 {
            l.record(Duration::from_micros(i * 10)); // 0.01 ms .. 10 ms
        }
        let s = l.summary();
        assert_eq!(s.count, 1000);
        // Three significant digits: each value is within 0.1 % of the exact order statistic.
        assert!((s.p50_ms - 5.0).abs() <= 0.01, "p50 {}", s.p50_ms);
        assert!((s.p90_ms - 9.0).abs() <= 0.01, "p90 {}", s.p90_ms);
        assert!((s.p99_ms - 9.9).abs() <= 0.01, "p99 {}", s.p99_ms);
        assert!((s.max_ms - 10.0).abs() <= 0.01, "max {}", s.max_ms);
        assert!((s.mean_ms - 5.005).abs() <= 0.01, "mean {}", s.mean_ms);
    }

    #[test]
    fn a_slow_tail_shows_in_p99_not_p50() {
        let mut l = Latencies::new();
        for _ in 0..980 {
            l.record(ms(1));
        }
        for _ in 0..20 {
            l.record(ms(50));
        }
        let s = l.summary();
        assert!((s.p50_ms - 1.0).abs() < 0.01);
        assert!((s.p99_ms - 50.0).abs() < 0.1, "p99 {}", s.p99_ms);
    }

    #[test]
    fn merging_adds_counts_and_keeps_extremes() {
        let mut a = Latencies::new();
        let mut b = Latencies::new();
        a.record(ms(1));
        b.record(ms(3));
        b.record(ms(7));
        a.merge(&b);
        let s = a.summary();
        assert_eq!(s.count, 3);
        assert!((s.max_ms - 7.0).abs() < 0.01);
        assert!((s.p50_ms - 3.0).abs() < 0.01);
    }

    #[test]
    fn empty_and_out_of_range_samples_do_not_panic() {
        let empty = Latencies::new().summary();
        assert_eq!(empty.count, 0);
        assert_eq!(empty.p99_ms, 0.0);
        let mut l = Latencies::new();
        l.record(Duration::ZERO);
        l.record(Duration::from_secs(3600));
        let s = l.summary();
        assert_eq!(s.count, 2);
        assert!((s.max_ms - 60_000.0).abs() / 60_000.0 < 0.001, "clamped to the bound: {}", s.max_ms);
    }
}
