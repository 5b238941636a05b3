//! OpenPIM's answer: the access index, asked exactly as the server's ARM `permissions` and
//! `accessCheck` paths ask it — `AccessIndex::allows_permission(principal,
//! Permission::AzureAction | AzureDataAction, &Scope::Arm(scope), now)`: the target scope's grants
//! and each ancestor's (resource → resource group → subscription → management groups → tenant
//! root group), for the principal and every security group it is in (nested too), each grant's
//! window compared with `now`, the role's blocks matched case-insensitively with `*` spanning `/`.
//!
//! Outside the timed region: parsing the scope string into an `ArmScope` (the server parses the
//! request URL once, too) — the anchors likewise get their scope id lowercased in `prepare`.

use super::workload::{AzureQuery, AzureWorkload, Plane};
use crate::engine::AccessEngine;
use openpim_core::access::AccessIndex;
use openpim_core::roles::Permission;
use openpim_core::scope::{ArmScope, Scope};
use openpim_core::{Instant, ObjectId};

pub struct OpenPimAzure {
    pub index: AccessIndex,
    pub now: Instant,
}

impl OpenPimAzure {
    pub fn load(w: &AzureWorkload) -> Self {
        let mut index = AccessIndex::new();
        for update in w.index_updates() {
            index.apply(update);
        }
        OpenPimAzure { index, now: w.now }
    }
}

/// A query as the server holds it after parsing the request.
pub struct Prepared {
    principal: ObjectId,
    plane: Plane,
    operation: String,
    /// `None` when the scope does not parse (never for generated queries): denied.
    scope: Option<Scope>,
}

impl AccessEngine<AzureQuery> for OpenPimAzure {
    type Prepared = Prepared;

    fn name(&self) -> &'static str {
        "openpim"
    }

    fn prepare(&self, q: &AzureQuery) -> Prepared {
        Prepared {
            principal: q.principal,
            plane: q.plane,
            operation: q.operation.clone(),
            scope: ArmScope::parse(&q.scope).ok().map(Scope::Arm),
        }
    }

    fn allows(&self, q: &Prepared) -> bool {
        let Some(scope) = &q.scope else { return false };
        let permission = match q.plane {
            Plane::Action => Permission::AzureAction(&q.operation),
            Plane::Data => Permission::AzureDataAction(&q.operation),
        };
        self.index.allows_permission(q.principal, permission, scope, self.now)
    }
}
