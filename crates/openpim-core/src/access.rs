//! The access index: who holds which role, where, and when — and the access check.
//!
//! It is an in-memory projection of committed state, kept in step by `apply`. The check compares
//! every grant's window with the `now` it is given, so a grant stops counting at its end instant
//! exactly, whatever background jobs are doing.

use crate::change::IndexUpdate;
use crate::roles::RoleDefinition;
use crate::scope::DirectoryScope;
use crate::{Instant, ObjectId};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// How a grant came to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantSource {
    /// Made directly through `roleAssignments` (or an admin's active assignment).
    Assigned,
    /// Activated by the principal from an eligibility.
    Activated,
}

/// One active role assignment: a principal holds a role at a scope during a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub id: ObjectId,
    pub principal_id: ObjectId,
    pub role_definition_id: ObjectId,
    pub scope: DirectoryScope,
    pub start: Option<Instant>,
    pub end: Option<Instant>,
    pub source: GrantSource,
}

impl Grant {
    /// Effective at `now`: the window is [start, end), so at `end` the grant no longer counts.
    pub fn is_effective(&self, now: Instant) -> bool {
        self.start.is_none_or(|s| s <= now) && self.end.is_none_or(|e| now < e)
    }
}

/// A grant as seen by one principal: held directly, or through a role-assignable group.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveGrant<'a> {
    pub grant: &'a Grant,
    pub via_group: Option<ObjectId>,
}

/// Why an access check succeeded.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessPath {
    pub grant: Grant,
    pub via_group: Option<ObjectId>,
    pub role_display_name: String,
    pub matched_permission: String,
}

#[derive(Debug, Default, Clone)]
pub struct AccessIndex {
    roles: HashMap<ObjectId, Arc<RoleDefinition>>,
    grants: HashMap<ObjectId, Grant>,
    grants_by_principal: HashMap<ObjectId, Vec<ObjectId>>,
    role_assignable_groups: HashSet<ObjectId>,
    /// member -> role-assignable groups it belongs to (role-assignable groups do not nest).
    groups_of_member: HashMap<ObjectId, HashSet<ObjectId>>,
    /// All memberships we were told about, so a group that becomes relevant is complete.
    members_of_group: HashMap<ObjectId, HashSet<ObjectId>>,
}

impl AccessIndex {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn role(&self, id: &ObjectId) -> Option<&Arc<RoleDefinition>> {
        self.roles.get(id)
    }

    pub fn grant_count(&self) -> usize {
        self.grants.len()
    }

    pub fn apply(&mut self, update: IndexUpdate) {
        match update {
            IndexUpdate::RoleDefinitionSaved(role) => {
                self.roles.insert(role.id, Arc::new(role));
            }
            IndexUpdate::RoleDefinitionDeleted(id) => {
                self.roles.remove(&id);
            }
            IndexUpdate::GrantAdded(grant) => {
                self.remove_grant(grant.id);
                self.grants_by_principal.entry(grant.principal_id).or_default().push(grant.id);
                self.grants.insert(grant.id, grant);
            }
            IndexUpdate::GrantRemoved(id) => self.remove_grant(id),
            IndexUpdate::GroupSaved { group_id, is_assignable_to_role } => {
                if is_assignable_to_role {
                    self.role_assignable_groups.insert(group_id);
                    for m in self.members_of_group.get(&group_id).into_iter().flatten() {
                        self.groups_of_member.entry(*m).or_default().insert(group_id);
                    }
                }
            }
            IndexUpdate::GroupDeleted(id) => {
                self.role_assignable_groups.remove(&id);
                for m in self.members_of_group.remove(&id).into_iter().flatten() {
                    if let Some(gs) = self.groups_of_member.get_mut(&m) {
                        gs.remove(&id);
                    }
                }
                self.drop_principal(id);
            }
            IndexUpdate::MemberAdded { group_id, member_id } => {
                self.members_of_group.entry(group_id).or_default().insert(member_id);
                if self.role_assignable_groups.contains(&group_id) {
                    self.groups_of_member.entry(member_id).or_default().insert(group_id);
                }
            }
            IndexUpdate::MemberRemoved { group_id, member_id } => {
                if let Some(ms) = self.members_of_group.get_mut(&group_id) {
                    ms.remove(&member_id);
                }
                if let Some(gs) = self.groups_of_member.get_mut(&member_id) {
                    gs.remove(&group_id);
                }
            }
            IndexUpdate::PrincipalDeleted(id) => {
                for g in self.groups_of_member.remove(&id).into_iter().flatten() {
                    if let Some(ms) = self.members_of_group.get_mut(&g) {
                        ms.remove(&id);
                    }
                }
                for ms in self.members_of_group.values_mut() {
                    ms.remove(&id);
                }
                self.drop_principal(id);
            }
        }
    }

    fn remove_grant(&mut self, id: ObjectId) {
        if let Some(old) = self.grants.remove(&id) {
            if let Some(ids) = self.grants_by_principal.get_mut(&old.principal_id) {
                ids.retain(|g| *g != id);
                if ids.is_empty() {
                    self.grants_by_principal.remove(&old.principal_id);
                }
            }
        }
    }

    fn drop_principal(&mut self, id: ObjectId) {
        for g in self.grants_by_principal.remove(&id).unwrap_or_default() {
            self.grants.remove(&g);
        }
    }

    /// Every grant `principal` holds at `now`: its own, then those of its role-assignable groups.
    pub fn effective_grants(&self, principal: ObjectId, now: Instant) -> Vec<EffectiveGrant<'_>> {
        let direct = self.grants_of(principal).map(|g| EffectiveGrant { grant: g, via_group: None });
        let via_groups = self
            .groups_of_member
            .get(&principal)
            .into_iter()
            .flatten()
            .flat_map(|gid| self.grants_of(*gid).map(move |g| EffectiveGrant { grant: g, via_group: Some(*gid) }));
        direct.chain(via_groups).filter(|e| e.grant.is_effective(now)).collect()
    }

    fn grants_of(&self, principal: ObjectId) -> impl Iterator<Item = &Grant> {
        self.grants_by_principal.get(&principal).into_iter().flatten().filter_map(|id| self.grants.get(id))
    }

    /// Is `principal` allowed `action` at `scope` at `now`? Returns the first path that grants it.
    pub fn check(&self, principal: ObjectId, action: &str, scope: &DirectoryScope, now: Instant) -> Option<AccessPath> {
        self.effective_grants(principal, now).into_iter().find_map(|e| {
            if !e.grant.scope.covers(scope) {
                return None;
            }
            let role = self.roles.get(&e.grant.role_definition_id)?;
            let pattern = role.granting_pattern(action)?;
            Some(AccessPath {
                grant: e.grant.clone(),
                via_group: e.via_group,
                role_display_name: role.display_name.clone(),
                matched_permission: pattern.to_string(),
            })
        })
    }

    /// Is `principal` a member of any role-assignable group?
    pub fn in_role_assignable_group(&self, principal: ObjectId) -> bool {
        self.groups_of_member.get(&principal).is_some_and(|g| !g.is_empty())
    }

    /// Does `principal` hold `role` at the tenant scope at `now` (directly or through a group)?
    pub fn holds_role(&self, principal: ObjectId, role: ObjectId, now: Instant) -> bool {
        self.effective_grants(principal, now)
            .iter()
            .any(|e| e.grant.role_definition_id == role && e.grant.scope == DirectoryScope::Tenant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles::RolePermission;
    use time::macros::datetime;

    fn role(actions: &[&str]) -> RoleDefinition {
        let now = datetime!(2026-01-01 00:00 UTC);
        RoleDefinition {
            id: ObjectId::new_v4(),
            template_id: ObjectId::new_v4(),
            display_name: "Test role".into(),
            description: String::new(),
            is_built_in: true,
            is_enabled: true,
            is_privileged: false,
            version: None,
            role_permissions: vec![RolePermission {
                allowed_resource_actions: actions.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            }],
            created: now,
            modified: now,
        }
    }

    fn grant(
        principal: ObjectId,
        role: ObjectId,
        scope: DirectoryScope,
        start: Option<Instant>,
        end: Option<Instant>,
    ) -> Grant {
        Grant {
            id: ObjectId::new_v4(),
            principal_id: principal,
            role_definition_id: role,
            scope,
            start,
            end,
            source: GrantSource::Assigned,
        }
    }

    const PWD: &str = "microsoft.directory/users/password/update";

    #[test]
    fn grant_window_is_half_open_to_the_second() {
        let mut idx = AccessIndex::new();
        let r = role(&[PWD]);
        let rid = r.id;
        idx.apply(IndexUpdate::RoleDefinitionSaved(r));
        let alice = ObjectId::new_v4();
        let start = datetime!(2026-01-01 10:00 UTC);
        let end = datetime!(2026-01-01 11:00 UTC);
        idx.apply(IndexUpdate::GrantAdded(grant(alice, rid, DirectoryScope::Tenant, Some(start), Some(end))));
        let second = time::Duration::SECOND;
        assert!(idx.check(alice, PWD, &DirectoryScope::Tenant, start - second).is_none());
        assert!(idx.check(alice, PWD, &DirectoryScope::Tenant, start).is_some());
        assert!(idx.check(alice, PWD, &DirectoryScope::Tenant, end - second).is_some());
        assert!(idx.check(alice, PWD, &DirectoryScope::Tenant, end).is_none());
    }

    #[test]
    fn group_membership_grants_only_through_role_assignable_groups() {
        let now = datetime!(2026-01-01 10:00 UTC);
        let mut idx = AccessIndex::new();
        let r = role(&[PWD]);
        let rid = r.id;
        idx.apply(IndexUpdate::RoleDefinitionSaved(r));
        let (bob, group) = (ObjectId::new_v4(), ObjectId::new_v4());
        idx.apply(IndexUpdate::MemberAdded { group_id: group, member_id: bob });
        idx.apply(IndexUpdate::GrantAdded(grant(group, rid, DirectoryScope::Tenant, None, None)));
        assert!(idx.check(bob, PWD, &DirectoryScope::Tenant, now).is_none(), "ordinary group must not grant");
        idx.apply(IndexUpdate::GroupSaved { group_id: group, is_assignable_to_role: true });
        let path = idx.check(bob, PWD, &DirectoryScope::Tenant, now).expect("granted via group");
        assert_eq!(path.via_group, Some(group));
        assert_eq!(path.matched_permission, PWD);
        idx.apply(IndexUpdate::MemberRemoved { group_id: group, member_id: bob });
        assert!(idx.check(bob, PWD, &DirectoryScope::Tenant, now).is_none());
    }

    #[test]
    fn narrow_scopes_and_removal() {
        let now = datetime!(2026-01-01 10:00 UTC);
        let mut idx = AccessIndex::new();
        let r = role(&[PWD]);
        let rid = r.id;
        idx.apply(IndexUpdate::RoleDefinitionSaved(r));
        let alice = ObjectId::new_v4();
        let au = DirectoryScope::AdministrativeUnit(ObjectId::new_v4());
        let g = grant(alice, rid, au, None, None);
        let gid = g.id;
        idx.apply(IndexUpdate::GrantAdded(g));
        assert!(idx.check(alice, PWD, &au, now).is_some());
        assert!(idx.check(alice, PWD, &DirectoryScope::Tenant, now).is_none());
        assert!(idx.check(alice, "microsoft.directory/users/delete", &au, now).is_none());
        idx.apply(IndexUpdate::GrantRemoved(gid));
        assert!(idx.check(alice, PWD, &au, now).is_none());
        assert_eq!(idx.grant_count(), 0);
    }

    #[test]
    fn deleting_a_role_or_principal_revokes() {
        let now = datetime!(2026-01-01 10:00 UTC);
        let mut idx = AccessIndex::new();
        let r = role(&[PWD]);
        let rid = r.id;
        idx.apply(IndexUpdate::RoleDefinitionSaved(r));
        let alice = ObjectId::new_v4();
        idx.apply(IndexUpdate::GrantAdded(grant(alice, rid, DirectoryScope::Tenant, None, None)));
        assert!(idx.holds_role(alice, rid, now));
        idx.apply(IndexUpdate::PrincipalDeleted(alice));
        assert!(!idx.holds_role(alice, rid, now));
        assert_eq!(idx.grant_count(), 0);
    }
}
