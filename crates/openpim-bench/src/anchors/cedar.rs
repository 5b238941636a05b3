//! cedar-policy, written the way Cedar's documentation models role-based access control: roles
//! are entities that principals are members of (entity parents), and each role gets a `permit`
//! policy naming its actions through an action group.
//!
//! Entra roles are held *at a scope*, and Cedar cannot build an entity reference from a string at
//! evaluation time, so the role entity is the pair (role, scope): `Role::"{roleId}@{scope}"`,
//! with one policy per pair in use:
//!
//! ```cedar
//! permit(principal in Role::"{roleId}@/administrativeUnits/{au}",
//!        action in Action::"role:{roleId}",
//!        resource in Scope::"/administrativeUnits/{au}");
//! ```
//!
//! * Scopes are `Scope` entities; every administrative unit has the tenant `Scope::"/"` as its
//!   parent, so a tenant-wide policy (`resource in Scope::"/"`) covers every unit.
//! * Actions are `Action` entities whose parents are the action groups `Action::"role:{roleId}"`
//!   of every role granting them (expanded with OpenPIM's own matcher over the catalog's action
//!   universe, as for casbin: Cedar has no wildcard on actions).
//! * Users are `User` entities whose parents are the role entities they hold directly and the
//!   role-assignable `Group`s they belong to; a group's parents are the role entities it holds.
//!   Only users that hold something are in the store (a missing principal is simply denied).
//! * Only grants in effect at the workload's `now` are loaded (see the `anchors` module docs).
//! * No schema: validation is a deploy-time step and does not change evaluation.

use super::effective_grants;
use crate::engine::AccessEngine;
use crate::workload::{PrincipalRef, Query, Workload};
use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicySet, Request,
};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write;
use std::str::FromStr;

pub struct Cedar {
    authorizer: Authorizer,
    policies: PolicySet,
    entities: Entities,
    types: Types,
    pub policy_count: usize,
    pub entity_count: usize,
}

struct Types {
    user: EntityTypeName,
    group: EntityTypeName,
    role: EntityTypeName,
    scope: EntityTypeName,
    action: EntityTypeName,
}

impl Types {
    fn new() -> Result<Self, String> {
        let t = |n: &str| EntityTypeName::from_str(n).map_err(|e| e.to_string());
        Ok(Types { user: t("User")?, group: t("Group")?, role: t("Role")?, scope: t("Scope")?, action: t("Action")? })
    }

    fn uid(ty: &EntityTypeName, id: impl AsRef<str>) -> EntityUid {
        EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id))
    }
}

/// Escapes a string for a Cedar string literal (ids here are GUIDs and paths, but be exact).
fn lit(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

impl Cedar {
    pub fn load(w: &Workload) -> Result<Self, String> {
        let types = Types::new()?;
        let role_key = |role: u16, scope: &str| format!("{}@{scope}", w.roles[role as usize].id);

        let mut text = String::new();
        let mut pairs = BTreeSet::new();
        let mut parents: HashMap<EntityUid, HashSet<EntityUid>> = HashMap::new();
        for (principal, role, scope) in effective_grants(w) {
            let scope = w.directory_scope(scope).to_string();
            let key = role_key(role, &scope);
            if pairs.insert(key.clone()) {
                let role_id = w.roles[role as usize].id;
                // Writing to a String cannot fail.
                let _ = writeln!(
                    text,
                    "permit(principal in Role::\"{}\", action in Action::\"role:{role_id}\", resource in Scope::\"{}\");",
                    lit(&key),
                    lit(&scope)
                );
            }
            let holder = match principal {
                PrincipalRef::User(u) => Types::uid(&types.user, w.user_id(u).to_string()),
                PrincipalRef::Group(g) => {
                    let group = Types::uid(&types.group, w.groups[g as usize].id.to_string());
                    for &m in &w.groups[g as usize].members {
                        let user = Types::uid(&types.user, w.user_id(m).to_string());
                        parents.entry(user).or_default().insert(group.clone());
                    }
                    group
                }
            };
            parents.entry(holder).or_default().insert(Types::uid(&types.role, key));
        }
        let policies = PolicySet::from_str(&text).map_err(|e| e.to_string())?;

        let tenant = Types::uid(&types.scope, "/");
        let mut entities: Vec<Entity> = vec![Entity::new_no_attrs(tenant.clone(), HashSet::new())];
        for au in &w.administrative_units {
            let uid = Types::uid(&types.scope, format!("/administrativeUnits/{}", au.id));
            entities.push(Entity::new_no_attrs(uid, HashSet::from([tenant.clone()])));
        }
        let mut action_groups: Vec<HashSet<EntityUid>> = vec![HashSet::new(); w.action_universe.len()];
        for (role, actions) in w.roles.iter().zip(&w.role_actions) {
            let group = Types::uid(&types.action, format!("role:{}", role.id));
            for &a in actions {
                action_groups[a as usize].insert(group.clone());
            }
            entities.push(Entity::new_no_attrs(group, HashSet::new()));
        }
        for (action, groups) in w.action_universe.iter().zip(action_groups) {
            entities.push(Entity::new_no_attrs(Types::uid(&types.action, action), groups));
        }
        let roles: HashSet<EntityUid> =
            parents.values().flatten().filter(|p| p.type_name() == &types.role).cloned().collect();
        entities.extend(roles.into_iter().map(|r| Entity::new_no_attrs(r, HashSet::new())));
        entities.extend(parents.into_iter().map(|(uid, ps)| Entity::new_no_attrs(uid, ps)));
        let entity_count = entities.len();
        let entities = Entities::from_entities(entities, None).map_err(|e| e.to_string())?;
        Ok(Cedar { authorizer: Authorizer::new(), policy_count: pairs.len(), entity_count, policies, entities, types })
    }
}

impl AccessEngine for Cedar {
    type Prepared = Option<Request>;

    fn name(&self) -> &'static str {
        "cedar"
    }

    fn prepare(&self, q: &Query) -> Option<Request> {
        Request::new(
            Types::uid(&self.types.user, q.principal.to_string()),
            Types::uid(&self.types.action, &q.action),
            Types::uid(&self.types.scope, q.scope.to_string()),
            Context::empty(),
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
