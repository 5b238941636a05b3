//! casbin-rs, configured as its users would for roles at scopes: the "RBAC with domains" model,
//! the domain being the directory scope.
//!
//! ```text
//! r = sub, dom, act
//! p = sub, act
//! g = _, _, _
//! m = r.act == p.act && (g(r.sub, p.sub, r.dom) || g(r.sub, p.sub, "/"))
//! ```
//!
//! Choices, and why:
//! * A role's permissions are the same in every scope, so a policy line is `p, roleId, action`
//!   and the scope lives in the role link `g, principal, roleId, scope` (the documented model
//!   repeats every permission line per domain, which would multiply the policy by the number of
//!   units for nothing).
//! * The tenant `/` covers every administrative unit: an explicit second `g` lookup at `"/"` in
//!   the matcher, rather than a domain-matching function, which makes casbin's role manager
//!   compare the request domain with every stored domain pattern.
//! * Entra's action patterns (`.../allProperties/allTasks`, `.../allProperties/read`) have no
//!   casbin equivalent short of hand-written regular expressions, so each role's patterns are
//!   expanded against the catalog's action universe into concrete `p` lines (the workload's
//!   `role_actions`, computed with OpenPIM's own matcher), and the matcher compares actions
//!   with `==` — the cheapest comparison casbin has, and it is put first so that rhai
//!   short-circuits the role lookups for every policy line whose action differs.
//! * Role-assignable groups: `g, user, groupId, scope` for each scope at which the group holds a
//!   role, and `g, groupId, roleId, scope`; casbin follows the chain within the domain.
//! * Only grants in effect at the workload's `now` are loaded (see the `anchors` module docs).

use super::effective_grants;
use crate::engine::AccessEngine;
use crate::workload::{PrincipalRef, Query, Workload};
use casbin::prelude::*;
use std::collections::BTreeSet;

const MODEL: &str = r#"
[request_definition]
r = sub, dom, act

[policy_definition]
p = sub, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.act == p.act && (g(r.sub, p.sub, r.dom) || g(r.sub, p.sub, "/"))
"#;

pub struct Casbin {
    enforcer: Enforcer,
    pub policy_lines: usize,
    pub grouping_lines: usize,
}

/// A query as casbin takes it: subject, domain, action strings.
pub struct CasbinQuery {
    sub: String,
    dom: String,
    act: String,
}

impl Casbin {
    /// Builds the enforcer; casbin's loading API is async, so this runs it on a small runtime.
    pub fn load(w: &Workload) -> casbin::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| casbin::Error::IoError(std::io::Error::other(e)))?;
        runtime.block_on(Self::load_async(w))
    }

    async fn load_async(w: &Workload) -> casbin::Result<Self> {
        let model = DefaultModel::from_str(MODEL).await?;
        let mut enforcer = Enforcer::new(model, MemoryAdapter::default()).await?;
        let mut policies = Vec::new();
        for (role, actions) in w.roles.iter().zip(&w.role_actions) {
            for &a in actions {
                policies.push(vec![role.id.to_string(), w.action_universe[a as usize].clone()]);
            }
        }
        let policy_lines = policies.len();
        enforcer.add_policies(policies).await?;

        let mut links = BTreeSet::new();
        for (principal, role, scope) in effective_grants(w) {
            let dom = w.directory_scope(scope).to_string();
            let holder = w.principal_id(principal).to_string();
            links.insert(vec![holder.clone(), w.roles[role as usize].id.to_string(), dom.clone()]);
            if let PrincipalRef::Group(g) = principal {
                for &m in &w.groups[g as usize].members {
                    links.insert(vec![w.user_id(m).to_string(), holder.clone(), dom.clone()]);
                }
            }
        }
        let grouping_lines = links.len();
        enforcer.add_grouping_policies(links.into_iter().collect()).await?;
        Ok(Casbin { enforcer, policy_lines, grouping_lines })
    }
}

impl AccessEngine for Casbin {
    type Prepared = CasbinQuery;

    fn name(&self) -> &'static str {
        "casbin"
    }

    fn prepare(&self, q: &Query) -> CasbinQuery {
        CasbinQuery { sub: q.principal.to_string(), dom: q.scope.to_string(), act: q.action.clone() }
    }

    fn allows(&self, q: &CasbinQuery) -> bool {
        // An enforcement error (none is expected with this model) counts as a denial, as it would
        // in a deployment that fails closed.
        self.enforcer.enforce((q.sub.as_str(), q.dom.as_str(), q.act.as_str())).unwrap_or(false)
    }
}
