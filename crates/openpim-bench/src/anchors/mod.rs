//! The anchors OpenPIM's access check is compared with, loaded from the same workload.
//!
//! Neither casbin nor Cedar knows time, so both are built from the grants in effect at the
//! workload's `now` — what a deployment of either would do by reloading whenever a grant starts or
//! ends. That favours them: OpenPIM holds every active assignment (expired and future ones
//! included) and compares each window with `now` on every check.

pub mod casbin;
pub mod cedar;

use crate::workload::{InstanceKind, PrincipalRef, ScopeRef, Workload};
use std::collections::BTreeSet;

/// The (principal, role, scope) triples in effect at `now`, de-duplicated and ordered.
pub(crate) fn effective_grants(w: &Workload) -> BTreeSet<(PrincipalRef, u16, ScopeRef)> {
    w.instances
        .iter()
        .filter(|i| i.kind == InstanceKind::Active && i.is_current())
        .map(|i| (i.principal, i.role, i.scope))
        .collect()
}
