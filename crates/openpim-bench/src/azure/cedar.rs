//! cedar-policy for Azure RBAC: scopes and groups as entity hierarchies, one policy template per
//! role and plane, linked once per assignment; wildcards matched by Cedar's `like`.
//!
//! ```cedar
//! // Contributor, control plane
//! permit(principal in ?principal, action == Action::"action", resource in ?resource)
//! when { (context.op like "*") && !(context.op like "microsoft.authorization/*/delete" || ...) };
//! // linked per assignment: ?principal = User::"…" or Group::"…", ?resource = Scope::"/subscriptions/…"
//! ```
//!
//! Choices, and why:
//! * Scopes are `Scope` entities whose parent is the scope above (resource → resource group →
//!   subscription → management groups → tenant root group), so `resource in ?resource` is
//!   Azure's inheritance. Users' parents are their groups, groups' parents the group they are
//!   nested in, so `principal in ?principal` covers group (and nested group) assignments. Cedar
//!   computes the transitive closure of parents when the entity store is built (load time).
//! * The plane is the Cedar action (`Action::"action"`, `Action::"data"`); the operation is a
//!   context attribute, matched with `like`, whose `*` spans `/` as Azure's does. Azure
//!   compares case-insensitively and `like` does not, so patterns are lowercased at load and the
//!   operation and scope id in `prepare` (outside the timed region, as building the `Request`
//!   is; OpenPIM parses its scope there too).
//! * "actions minus notActions" per permission block: the template's condition is the
//!   disjunction over blocks of (any allowed pattern) and not (any excluded pattern); Cedar's
//!   `forbid` would override every other assignment, which is not Azure's semantics.
//! * No schema (validation is a deploy-time step). Only assignments in effect at `now` are
//!   linked (see `AzureWorkload::effective_assignments`).
//!
//! Cost: the authorizer evaluates every linked policy's head (`principal in`, `action ==`,
//! `resource in`) for each request, so a check scans every assignment.

use super::workload::{AzureQuery, AzureWorkload, Plane, Principal};
use crate::engine::AccessEngine;
use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicyId, PolicySet, Request,
    RestrictedExpression, SlotId, Template,
};
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::str::FromStr;

pub struct CedarAzure {
    authorizer: Authorizer,
    policies: PolicySet,
    entities: Entities,
    user: EntityTypeName,
    scope: EntityTypeName,
    action: EntityTypeName,
    pub templates: usize,
    pub linked_policies: usize,
    pub entity_count: usize,
}

fn uid(ty: &EntityTypeName, id: impl AsRef<str>) -> EntityUid {
    EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id))
}

fn plane_action(plane: Plane) -> &'static str {
    match plane {
        Plane::Action => "action",
        Plane::Data => "data",
    }
}

/// A Cedar string literal holding `s` (escapes `\` and `"`; `*` stays a `like` wildcard).
fn like_literal(s: &str) -> String {
    format!("\"{}\"", s.to_ascii_lowercase().replace('\\', "\\\\").replace('"', "\\\""))
}

fn any_like(patterns: &[String]) -> String {
    let parts: Vec<String> = patterns.iter().map(|p| format!("context.op like {}", like_literal(p))).collect();
    format!("({})", parts.join(" || "))
}

/// The template of `role` for `plane`, or `None` when the role grants nothing on that plane.
pub fn template_text(w: &AzureWorkload, role: u16, plane: Plane) -> Option<String> {
    let blocks: Vec<String> = w.roles[role as usize]
        .role_permissions
        .iter()
        .filter_map(|p| {
            let (allowed, excluded) = plane.lists(p);
            if allowed.is_empty() {
                return None;
            }
            Some(if excluded.is_empty() {
                any_like(allowed)
            } else {
                format!("({} && !{})", any_like(allowed), any_like(excluded))
            })
        })
        .collect();
    (!blocks.is_empty()).then(|| {
        format!(
            "permit(principal in ?principal, action == Action::\"{}\", resource in ?resource) when {{ {} }};",
            plane_action(plane),
            blocks.join(" || ")
        )
    })
}

impl CedarAzure {
    pub fn load(w: &AzureWorkload) -> Result<Self, String> {
        let ty = |n: &str| EntityTypeName::from_str(n).map_err(|e| e.to_string());
        let (user, group, scope, action) = (ty("User")?, ty("Group")?, ty("Scope")?, ty("Action")?);
        let key = |s: u32| w.scopes[s as usize].text.to_ascii_lowercase();

        let mut policies = PolicySet::new();
        let mut templates: HashMap<u16, Vec<PolicyId>> = HashMap::new();
        let mut linked = 0usize;
        for (p, role, s) in w.effective_assignments() {
            let ids = match templates.entry(role) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => {
                    let mut ids = Vec::new();
                    for plane in [Plane::Action, Plane::Data] {
                        if let Some(text) = template_text(w, role, plane) {
                            let id = PolicyId::new(format!("role{role}-{}", plane_action(plane)));
                            let t = Template::parse(Some(id.clone()), &text).map_err(|e| format!("{e}: {text}"))?;
                            policies.add_template(t).map_err(|e| e.to_string())?;
                            ids.push(id);
                        }
                    }
                    e.insert(ids)
                }
            };
            let holder = match p {
                Principal::User(u) => uid(&user, w.users[u as usize].to_string()),
                Principal::Group(g) => uid(&group, w.groups[g as usize].id.to_string()),
            };
            for t in ids.iter() {
                let vals =
                    HashMap::from([(SlotId::principal(), holder.clone()), (SlotId::resource(), uid(&scope, key(s)))]);
                policies.link(t.clone(), PolicyId::new(format!("a{linked}")), vals).map_err(|e| e.to_string())?;
                linked += 1;
            }
        }

        let mut entities: Vec<Entity> = Vec::new();
        for (u, gs) in w.user_groups.iter().enumerate() {
            let parents = gs.iter().map(|&g| uid(&group, w.groups[g as usize].id.to_string())).collect();
            entities.push(Entity::new_no_attrs(uid(&user, w.users[u].to_string()), parents));
        }
        for g in &w.groups {
            let parents: HashSet<EntityUid> =
                g.parent.iter().map(|&p| uid(&group, w.groups[p as usize].id.to_string())).collect();
            entities.push(Entity::new_no_attrs(uid(&group, g.id.to_string()), parents));
        }
        for (i, s) in w.scopes.iter().enumerate() {
            let parents: HashSet<EntityUid> = s.parent.iter().map(|&p| uid(&scope, key(p))).collect();
            entities.push(Entity::new_no_attrs(uid(&scope, key(i as u32)), parents));
        }
        for plane in [Plane::Action, Plane::Data] {
            entities.push(Entity::new_no_attrs(uid(&action, plane_action(plane)), HashSet::new()));
        }
        let entity_count = entities.len();
        let entities = Entities::from_entities(entities, None).map_err(|e| e.to_string())?;
        Ok(CedarAzure {
            authorizer: Authorizer::new(),
            templates: templates.values().map(Vec::len).sum(),
            linked_policies: linked,
            entity_count,
            policies,
            entities,
            user,
            scope,
            action,
        })
    }
}

impl AccessEngine<AzureQuery> for CedarAzure {
    type Prepared = Option<Request>;

    fn name(&self) -> &'static str {
        "cedar"
    }

    fn prepare(&self, q: &AzureQuery) -> Option<Request> {
        let op = RestrictedExpression::new_string(q.operation.to_ascii_lowercase());
        let context = Context::from_pairs([("op".to_string(), op)]).ok()?;
        Request::new(
            uid(&self.user, q.principal.to_string()),
            uid(&self.action, plane_action(q.plane)),
            uid(&self.scope, q.scope.to_ascii_lowercase()),
            context,
            None,
        )
        .ok()
    }

    fn allows(&self, request: &Option<Request>) -> bool {
        // Without a schema a request cannot fail to build; if it did, deny (fail closed).
        request.as_ref().is_some_and(|r| {
            self.authorizer.is_authorized(r, &self.policies, &self.entities).decision() == Decision::Allow
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::AzureSpec;

    fn role(w: &AzureWorkload, name: &str) -> u16 {
        w.roles.iter().position(|r| r.display_name == name).expect("role exists") as u16
    }

    #[test]
    fn templates_encode_exclusions_per_block_and_lowercase_patterns() {
        let w = AzureWorkload::generate(&AzureSpec::small());
        let contributor = template_text(&w, role(&w, "Contributor"), Plane::Action).expect("grants actions");
        assert!(contributor.starts_with("permit(principal in ?principal, action == Action::\"action\""));
        assert!(contributor.contains("(context.op like \"*\") && !("), "{contributor}");
        assert!(contributor.contains("context.op like \"microsoft.authorization/*/delete\""), "{contributor}");
        // Contributor grants no data action: no data-plane template.
        assert_eq!(template_text(&w, role(&w, "Contributor"), Plane::Data), None);
        // Two blocks: the second grants what the first excludes, so they are OR-ed, not merged.
        let sql = template_text(&w, role(&w, "Bench SQL Two Blocks"), Plane::Action).expect("grants actions");
        assert!(sql.contains("&& !(context.op like \"microsoft.sql/servers/delete\""), "{sql}");
        assert!(sql.contains(") || (context.op like \"microsoft.sql/servers/databases/delete\")"), "{sql}");
        let upper = template_text(&w, role(&w, "Bench Upper Case"), Plane::Action).expect("grants actions");
        assert!(upper.contains("\"microsoft.compute/*/read\""), "{upper}");
        assert!(Template::parse(None, &sql).is_ok());
    }
}
