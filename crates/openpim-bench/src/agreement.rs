//! Before anything is timed, the three engines must give the same answer to the same queries: the
//! comparison and its report, for any query type (the directory workload's [`crate::workload::Query`]
//! and the Azure workload's [`crate::azure::AzureQuery`] alike).

use crate::engine::AccessEngine;
use std::fmt;

/// A query on which the engines disagree, with each engine's answer.
#[derive(Debug, Clone)]
pub struct Mismatch<Q> {
    pub query: Q,
    pub openpim: bool,
    pub casbin: bool,
    pub cedar: bool,
}

impl<Q: fmt::Display> fmt::Display for Mismatch<Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: openpim={} casbin={} cedar={}", self.query, self.openpim, self.casbin, self.cedar)
    }
}

/// How the sample came out when all engines agreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreement {
    pub checked: usize,
    pub allowed: usize,
}

/// Asks every engine every query: the agreed tally, or every mismatch. The engines are separate
/// type parameters so a test can put a deliberately broken engine in OpenPIM's place.
pub fn compare<Q, O, C, D>(queries: &[Q], openpim: &O, casbin: &C, cedar: &D) -> Result<Agreement, Vec<Mismatch<Q>>>
where
    Q: Clone,
    O: AccessEngine<Q>,
    C: AccessEngine<Q>,
    D: AccessEngine<Q>,
{
    let mut mismatches = Vec::new();
    let mut allowed = 0;
    for q in queries {
        let o = openpim.allows(&openpim.prepare(q));
        let c = casbin.allows(&casbin.prepare(q));
        let d = cedar.allows(&cedar.prepare(q));
        if o != c || o != d {
            mismatches.push(Mismatch { query: q.clone(), openpim: o, casbin: c, cedar: d });
        }
        allowed += usize::from(o);
    }
    if mismatches.is_empty() {
        Ok(Agreement { checked: queries.len(), allowed })
    } else {
        Err(mismatches)
    }
}

/// Renders a failed comparison for a test or bench failure message (first 20 mismatches).
pub fn describe<Q: fmt::Display>(mismatches: &[Mismatch<Q>]) -> String {
    let mut out = format!("{} queries answered differently:\n", mismatches.len());
    for m in mismatches.iter().take(20) {
        out.push_str(&format!("  {m}\n"));
    }
    out
}
