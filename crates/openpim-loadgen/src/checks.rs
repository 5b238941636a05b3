//! `check-urls`: access-check URLs for the workload's query mix (part A's `Workload::queries`),
//! one per line, for `http --url-file`. Asked with `principalId`, so an admin token reads them.
//! `history-urls`: the same principals asked about the past (issue #21): their access history
//! over a window, or an access check at a past instant.

use openpim_bench::workload::Workload;

/// Percent-encodes everything but RFC 3986's unreserved characters and `/` (scopes and actions
/// are paths of their own, and `/` is allowed in a query).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn urls(w: &Workload, base: &str, count: usize, seed: u64) -> Vec<String> {
    let base = base.trim_end_matches('/');
    w.queries(count, seed)
        .into_iter()
        .map(|q| {
            format!(
                "{base}/v1.0/openpim/accessCheck?principalId={}&action={}&directoryScopeId={}",
                q.principal,
                encode(&q.action),
                encode(&q.scope.to_string())
            )
        })
        .collect()
}

/// What `history-urls` asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HistoryKind {
    /// `accessHistory?principalId=...&from=...&to=...`: the window's intervals of the principal.
    History,
    /// `accessCheck?...&at=...`: the workload's check at a past instant.
    CheckAt,
}

/// How far back the history questions reach: the workload's expired activations ended up to 30
/// days before its `now` (the seeder records them all, so the window holds them).
pub const HISTORY_WINDOW: time::Duration = time::Duration::days(30);

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).expect("an instant formats as RFC 3339")
}

/// History URLs for the principals of the workload's query mix, asked about `[until - 30 days,
/// until)` (`until` must not be in the server's future: it answers only about the past). A check's
/// instant is drawn uniformly in that window.
pub fn history_urls(
    w: &Workload,
    base: &str,
    count: usize,
    seed: u64,
    kind: HistoryKind,
    until: time::OffsetDateTime,
) -> Vec<String> {
    let base = base.trim_end_matches('/');
    let from = until - HISTORY_WINDOW;
    let mut rng = fastrand::Rng::with_seed(seed);
    let window_s = HISTORY_WINDOW.whole_seconds();
    w.queries(count, seed)
        .into_iter()
        .map(|q| match kind {
            HistoryKind::History => format!(
                "{base}/v1.0/openpim/accessHistory?principalId={}&from={}&to={}",
                q.principal,
                encode(&rfc3339(from)),
                encode(&rfc3339(until))
            ),
            HistoryKind::CheckAt => {
                let at = from + time::Duration::seconds(rng.i64(0..window_s));
                format!(
                    "{base}/v1.0/openpim/accessCheck?principalId={}&action={}&directoryScopeId={}&at={}",
                    q.principal,
                    encode(&q.action),
                    encode(&q.scope.to_string()),
                    encode(&rfc3339(at))
                )
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_keeps_paths_and_escapes_the_rest() {
        assert_eq!(encode("microsoft.directory/users/password/update"), "microsoft.directory/users/password/update");
        assert_eq!(encode("a b&c=d'"), "a%20b%26c%3Dd%27");
    }
}
