//! Before anything is timed, the three engines must give the same answer to the same Azure
//! queries; a disagreement names the query.

use super::casbin::CasbinAzure;
use super::cedar::CedarAzure;
use super::engine::OpenPimAzure;
use super::workload::AzureQuery;
use crate::engine::AccessEngine;
use std::fmt;

#[derive(Debug, Clone)]
pub struct Mismatch {
    pub query: AzureQuery,
    pub openpim: bool,
    pub casbin: bool,
    pub cedar: bool,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let q = &self.query;
        write!(
            f,
            "user{} ({}) {:?} '{}' at '{}' [{:?}]: openpim={} casbin={} cedar={}",
            q.user, q.principal, q.plane, q.operation, q.scope, q.intent, self.openpim, self.casbin, self.cedar
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreement {
    pub checked: usize,
    pub allowed: usize,
}

/// Asks every engine every query: the agreed tally, or every mismatch.
pub fn compare(
    queries: &[AzureQuery],
    openpim: &OpenPimAzure,
    casbin: &CasbinAzure,
    cedar: &CedarAzure,
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

/// The first 20 mismatches, for a failure message.
pub fn describe(mismatches: &[Mismatch]) -> String {
    let mut out = format!("{} Azure queries answered differently:\n", mismatches.len());
    for m in mismatches.iter().take(20) {
        out.push_str(&format!("  {m}\n"));
    }
    out
}
