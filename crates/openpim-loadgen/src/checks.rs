//! `check-urls`: access-check URLs for the workload's query mix (part A's `Workload::queries`),
//! one per line, for `http --url-file`. Asked with `principalId`, so an admin token reads them.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_keeps_paths_and_escapes_the_rest() {
        assert_eq!(encode("microsoft.directory/users/password/update"), "microsoft.directory/users/password/update");
        assert_eq!(encode("a b&c=d'"), "a%20b%26c%3Dd%27");
    }
}
