//! The common shape of the three access-check engines the benchmark compares.
//!
//! Each engine turns a [`Query`] into its own natural input once, before timing (ids as strings
//! for casbin, a `Request` for Cedar, the query itself for OpenPIM), and then answers from that.
//! Preparing outside the timed loop spares the anchors their string and entity-uid building.

use crate::workload::{Query, Workload};
use openpim_core::access::AccessIndex;
use openpim_core::Instant;

/// `Q` is the query type: the directory workload's [`Query`] by default, or the Azure workload's
/// [`crate::azure::AzureQuery`].
pub trait AccessEngine<Q = Query> {
    /// The engine's own form of a query.
    type Prepared;

    fn name(&self) -> &'static str;

    fn prepare(&self, query: &Q) -> Self::Prepared;

    /// Is the prepared query allowed?
    fn allows(&self, prepared: &Self::Prepared) -> bool;

    fn prepare_all(&self, queries: &[Q]) -> Vec<Self::Prepared> {
        queries.iter().map(|q| self.prepare(q)).collect()
    }
}

/// OpenPIM's access index, checked exactly as the server's `accessCheck` route does:
/// `AccessIndex::check(principal, action, &scope, now)`, windows compared with `now` per grant.
pub struct OpenPim {
    pub index: AccessIndex,
    pub now: Instant,
}

impl OpenPim {
    pub fn load(workload: &Workload) -> Self {
        let mut index = AccessIndex::new();
        for update in workload.index_updates() {
            index.apply(update);
        }
        OpenPim { index, now: workload.now }
    }
}

impl AccessEngine for OpenPim {
    type Prepared = Query;

    fn name(&self) -> &'static str {
        "openpim"
    }

    fn prepare(&self, query: &Query) -> Query {
        query.clone()
    }

    fn allows(&self, q: &Query) -> bool {
        self.index.check(q.principal, &q.action, &q.scope, self.now).is_some()
    }
}
