//! Before anything is timed, the three engines must give the same answer to the same queries.

use crate::anchors::casbin::Casbin;
use crate::anchors::cedar::Cedar;
use crate::engine::{AccessEngine, OpenPim};
use crate::workload::Query;
use std::fmt;

/// A query on which the engines disagree.
#[derive(Debug, Clone)]
pub struct Mismatch {
    pub query: Query,
    pub openpim: bool,
    pub casbin: bool,
    pub cedar: bool,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "user{} ({}) {} at {} [{:?}]: openpim={} casbin={} cedar={}",
            self.query.user,
            self.query.principal,
            self.query.action,
            self.query.scope,
            self.query.intent,
            self.openpim,
            self.casbin,
            self.cedar
        )
    }
}

/// How the sample came out when all engines agreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreement {
    pub checked: usize,
    pub allowed: usize,
}

/// Asks every engine every query; all mismatches, or the agreed tally.
pub fn compare(
    queries: &[Query],
    openpim: &OpenPim,
    casbin: &Casbin,
    cedar: &Cedar,
) -> Result<Agreement, Vec<Mismatch>> {
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
pub fn describe(mismatches: &[Mismatch]) -> String {
    let mut out = format!("{} queries answered differently:\n", mismatches.len());
    for m in mismatches.iter().take(20) {
        out.push_str(&format!("  {m}\n"));
    }
    out
}
