//! casbin-rs for Azure RBAC: both hierarchies as casbin role graphs, wildcards as casbin's own
//! `regexMatch`.
//!
//! ```text
//! r = sub, scope, plane, act
//! p = sub, scope, plane, act, nact
//! g  = _, _        # member -> group (users in groups, groups in groups)
//! g2 = _, _        # scope -> parent scope (resource -> resource group -> subscription -> management groups)
//! m = g(r.sub, p.sub) && g2(r.scope, p.scope) && r.plane == p.plane \
//!     && regexMatch(r.act, p.act) && (p.nact == "-" || !regexMatch(r.act, p.nact))
//! ```
//!
//! Choices, and why:
//! * One `p` line per (assignment in effect, permission block, plane with allowed patterns):
//!   the assignment's principal and scope, the block's allowed patterns as one regular expression
//!   and its excluded ones as another (`-`: none). Azure grants "actions minus notActions" per
//!   block, and a second block can grant what the first excludes, so exclusions cannot be deny
//!   lines (casbin's `deny` would override every other assignment too).
//! * Azure's `*` matches any run of characters, `/` included, and comparison ignores case:
//!   `Microsoft.Network/*/read` becomes `(?i)^(?:Microsoft\.Network/.*/read)$`. casbin's
//!   `keyMatch` family only honours a trailing `*` or one path segment per `*`, so the regex is
//!   the faithful built-in. casbin-rs compiles the regex on every call; the matcher puts it last,
//!   so rhai's `&&` only reaches it on lines whose principal and scope already match.
//! * Inheritance: `g2` links each scope to its parent, management groups included, and casbin's
//!   role manager walks the chain (at most 7 links here; its limit is 10). Group membership:
//!   `g` links users to their groups and groups to their parent group; casbin walks that too.
//! * Role names in casbin's graphs compare case-sensitively, so scopes are loaded, and requested,
//!   ASCII-lowercased (`prepare`, outside the timed region; OpenPIM parses its scope there).
//! * Only assignments in effect at `now` are loaded (see `AzureWorkload::effective_assignments`).
//!
//! Cost: casbin evaluates the matcher once per `p` line, so a check scans every assignment's
//! lines (~1 per assignment) and calls the role manager for each.

use super::workload::{AzureQuery, AzureWorkload, Plane, Principal};
use crate::engine::AccessEngine;
use casbin::prelude::*;
use std::collections::BTreeSet;

const MODEL: &str = r#"
[request_definition]
r = sub, scope, plane, act

[policy_definition]
p = sub, scope, plane, act, nact

[role_definition]
g = _, _
g2 = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && g2(r.scope, p.scope) && r.plane == p.plane && regexMatch(r.act, p.act) && (p.nact == "-" || !regexMatch(r.act, p.nact))
"#;

pub struct CasbinAzure {
    enforcer: Enforcer,
    pub policy_lines: usize,
    pub grouping_lines: usize,
    pub scope_lines: usize,
}

pub struct CasbinQuery {
    sub: String,
    scope: String,
    plane: &'static str,
    act: String,
}

fn plane_name(plane: Plane) -> &'static str {
    match plane {
        Plane::Action => "action",
        Plane::Data => "data",
    }
}

/// Escapes what the `regex` crate treats as special (the set `regex::escape` escapes).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One case-insensitive, anchored regex matching any of the ARM `patterns` (`*`: any run of
/// characters, `/` included).
pub fn patterns_regex(patterns: &[String]) -> String {
    let alternatives: Vec<String> =
        patterns.iter().map(|p| p.split('*').map(escape).collect::<Vec<_>>().join(".*")).collect();
    format!("(?i)^(?:{})$", alternatives.join("|"))
}

impl CasbinAzure {
    pub fn load(w: &AzureWorkload) -> casbin::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| casbin::Error::IoError(std::io::Error::other(e)))?;
        runtime.block_on(Self::load_async(w))
    }

    async fn load_async(w: &AzureWorkload) -> casbin::Result<Self> {
        let model = DefaultModel::from_str(MODEL).await?;
        let mut enforcer = Enforcer::new(model, MemoryAdapter::default()).await?;
        let key = |scope: u32| w.scopes[scope as usize].text.to_ascii_lowercase();
        let principal = |p: Principal| w.principal_id(p).to_string();

        let mut policies = BTreeSet::new();
        for (p, role, scope) in w.effective_assignments() {
            for block in &w.roles[role as usize].role_permissions {
                for plane in [Plane::Action, Plane::Data] {
                    let (allowed, excluded) = plane.lists(block);
                    if allowed.is_empty() {
                        continue;
                    }
                    let nact = if excluded.is_empty() { "-".to_string() } else { patterns_regex(excluded) };
                    policies.insert(vec![
                        principal(p),
                        key(scope),
                        plane_name(plane).to_string(),
                        patterns_regex(allowed),
                        nact,
                    ]);
                }
            }
        }
        let policy_lines = policies.len();
        enforcer.add_policies(policies.into_iter().collect()).await?;

        let mut members = BTreeSet::new();
        for (u, groups) in w.user_groups.iter().enumerate() {
            for &g in groups {
                members.insert(vec![w.users[u].to_string(), w.groups[g as usize].id.to_string()]);
            }
        }
        for g in &w.groups {
            if let Some(parent) = g.parent {
                members.insert(vec![g.id.to_string(), w.groups[parent as usize].id.to_string()]);
            }
        }
        let grouping_lines = members.len();
        enforcer.add_named_grouping_policies("g", members.into_iter().collect()).await?;

        let parents: Vec<Vec<String>> = (0..w.scopes.len() as u32)
            .filter_map(|i| w.scopes[i as usize].parent.map(|p| vec![key(i), key(p)]))
            .collect();
        let scope_lines = parents.len();
        enforcer.add_named_grouping_policies("g2", parents).await?;
        Ok(CasbinAzure { enforcer, policy_lines, grouping_lines, scope_lines })
    }
}

impl AccessEngine<AzureQuery> for CasbinAzure {
    type Prepared = CasbinQuery;

    fn name(&self) -> &'static str {
        "casbin"
    }

    fn prepare(&self, q: &AzureQuery) -> CasbinQuery {
        CasbinQuery {
            sub: q.principal.to_string(),
            scope: q.scope.to_ascii_lowercase(),
            plane: plane_name(q.plane),
            act: q.operation.clone(),
        }
    }

    fn allows(&self, q: &CasbinQuery) -> bool {
        // An enforcement error counts as a denial (fail closed).
        self.enforcer.enforce((q.sub.as_str(), q.scope.as_str(), q.plane, q.act.as_str())).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_become_anchored_case_insensitive_regexes() {
        let r = patterns_regex(&["Microsoft.Network/*/read".to_string(), "*".to_string()]);
        assert_eq!(r, r"(?i)^(?:Microsoft\.Network/.*/read|.*)$");
    }
}
