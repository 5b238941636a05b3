//! The access index: who holds which role, where, and when — and the access check.
//!
//! It is an in-memory projection of committed state, kept in step by `apply`. The check compares
//! every grant's window with the `now` it is given, so a grant stops counting at its end instant
//! exactly, whatever background jobs are doing.
//!
//! It answers for both role worlds: Entra resource actions at directory scopes, and Azure
//! operations at ARM scopes, where a grant at a scope also applies below it (a subscription's
//! grant at its resource groups and resources, a management group's at its subscriptions).

use crate::change::IndexUpdate;
use crate::roles::{Permission, PermissionDialect, RoleDefinition, RolePermission};
use crate::scope::{ArmScope, DirectoryScope, ManagementGroupTree, Scope};
use crate::{Instant, ObjectId};
use std::borrow::Cow;
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
    pub scope: Scope,
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

/// A role's permissions, indexed for the access check.
///
/// Checking an action against a role used to try every pattern of the role (Global Administrator
/// has over 200), splitting both strings each time. Nearly every pattern pins the start of what
/// it can match, so patterns are grouped by that lowercased "head" and a check only tries the few
/// patterns under the requested action's head, plus the rare ones that do not pin it. Candidates
/// are tried in the role's own order, with the dialect's matcher itself, so the answer and the
/// reported pattern are exactly those of `RoleDefinition::granting_pattern_for`.
///
/// The head depends on the dialect: an Entra action's first two segments
/// (`microsoft.directory/users`, see `action_matches`), an Azure operation's provider namespace
/// (`microsoft.compute`: a pattern with no `*` before its first `/` can only match operations of
/// that namespace, see `operation_matches`).
#[derive(Debug, Clone)]
struct IndexedRole {
    definition: Arc<RoleDefinition>,
    permissions: Vec<IndexedPermission>,
}

#[derive(Debug, Clone, Default)]
struct IndexedPermission {
    allowed: PatternIndex,
    excluded: PatternIndex,
    allowed_data: PatternIndex,
    excluded_data: PatternIndex,
}

impl IndexedPermission {
    /// The indexes of `RolePermission::lists_for(permission)`, in the same order.
    fn lists_for(&self, permission: Permission<'_>) -> (&PatternIndex, &PatternIndex) {
        match permission {
            Permission::Directory(_) | Permission::AzureAction(_) => (&self.allowed, &self.excluded),
            Permission::AzureDataAction(_) => (&self.allowed_data, &self.excluded_data),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct PatternIndex {
    /// Lowercased head -> positions of the patterns that pin that head, ascending.
    by_head: HashMap<String, Vec<usize>>,
    /// Positions of the patterns that do not pin the head, ascending.
    unpinned: Vec<usize>,
}

impl PatternIndex {
    fn new(patterns: &[String], dialect: PermissionDialect) -> Self {
        let mut index = PatternIndex::default();
        for (i, p) in patterns.iter().enumerate() {
            let head = match dialect {
                PermissionDialect::Directory => pinned_head(p),
                PermissionDialect::Azure => pinned_namespace(p),
            };
            match head {
                Some(head) => index.by_head.entry(head).or_default().push(i),
                None => index.unpinned.push(i),
            }
        }
        index
    }

    /// The first of `patterns` (in their order) that covers the query.
    fn first_match<'p>(&self, patterns: &'p [String], query: &Query<'_>) -> Option<&'p str> {
        let pinned: &[usize] = query.head.as_deref().and_then(|h| self.by_head.get(h)).map_or(&[], Vec::as_slice);
        let (mut a, mut b) = (pinned.iter().peekable(), self.unpinned.iter().peekable());
        // Merge the two ascending lists so the first match in the role's order wins.
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(&&x), Some(&&y)) if x < y => a.next(),
                (Some(_), Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, Some(_)) => b.next(),
                (None, None) => return None,
            };
            let pattern = next.map(|&i| patterns[i].as_str())?;
            if query.permission.matched_by(pattern) {
                return Some(pattern);
            }
        }
    }
}

/// The lowercased first two segments of `pattern` when every way it can match an action requires
/// the action's first two segments to equal them (see `action_matches`); `None` otherwise.
fn pinned_head(pattern: &str) -> Option<String> {
    let segments: Vec<&str> = pattern.split('/').collect();
    let n = segments.len();
    let pinned = if n >= 3 && segments[n - 2].eq_ignore_ascii_case("allProperties") {
        // The entity part (all but the last two segments) must itself span two segments.
        n >= 4
    } else if segments[n - 1] == "*" {
        // The prefix before the trailing `*` must span two segments.
        n >= 3
    } else {
        n >= 2
    };
    (pinned && segments[0] != "*" && segments[1] != "*")
        .then(|| format!("{}/{}", segments[0], segments[1]).to_ascii_lowercase())
}

/// The lowercased first two segments of a directory action, if it has two.
fn action_head(action: &str) -> Option<Cow<'_, str>> {
    let first = action.find('/')?;
    let end = action[first + 1..].find('/').map_or(action.len(), |i| first + 1 + i);
    Some(lowercased(&action[..end]))
}

/// The lowercased namespace of an Azure operation pattern (what precedes its first `/`) when
/// no `*` comes before that `/`: then the pattern matches only operations of that namespace.
fn pinned_namespace(pattern: &str) -> Option<String> {
    let slash = pattern.find('/')?;
    let namespace = &pattern[..slash];
    (!namespace.contains('*')).then(|| namespace.to_ascii_lowercase())
}

/// The lowercased namespace of an Azure operation, if it has a `/`.
fn operation_namespace(operation: &str) -> Option<Cow<'_, str>> {
    operation.find('/').map(|slash| lowercased(&operation[..slash]))
}

fn lowercased(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// A permission to check, with its head computed once for every role it is tried against.
struct Query<'a> {
    permission: Permission<'a>,
    head: Option<Cow<'a, str>>,
}

impl<'a> Query<'a> {
    fn new(permission: Permission<'a>) -> Self {
        let head = match permission {
            Permission::Directory(a) => action_head(a),
            Permission::AzureAction(a) | Permission::AzureDataAction(a) => operation_namespace(a),
        };
        Query { permission, head }
    }
}

impl IndexedRole {
    fn new(definition: RoleDefinition) -> Self {
        let dialect = definition.dialect;
        let index = |patterns: &[String]| PatternIndex::new(patterns, dialect);
        let permissions = definition
            .role_permissions
            .iter()
            .map(|p: &RolePermission| IndexedPermission {
                allowed: index(&p.allowed_resource_actions),
                excluded: index(&p.excluded_resource_actions),
                allowed_data: index(&p.allowed_data_actions),
                excluded_data: index(&p.excluded_data_actions),
            })
            .collect();
        IndexedRole { definition: Arc::new(definition), permissions }
    }

    /// Same answer as `RoleDefinition::granting_pattern_for(query.permission)`.
    fn granting_pattern(&self, query: &Query<'_>) -> Option<&str> {
        let permission = query.permission;
        if !self.definition.is_enabled || self.definition.dialect != permission.dialect() {
            return None;
        }
        self.definition.role_permissions.iter().zip(&self.permissions).find_map(|(p, idx)| {
            let (allowed, excluded) = p.lists_for(permission);
            let (allowed_idx, excluded_idx) = idx.lists_for(permission);
            if excluded_idx.first_match(excluded, query).is_some() {
                return None;
            }
            allowed_idx.first_match(allowed, query)
        })
    }
}

/// Grants are kept per principal and family. Directory grants are few per principal (a check
/// tries each, as `DirectoryScope::covers` is cheap); ARM grants can be many (one per resource),
/// so they are keyed by scope and a check looks up the target and each of its ancestors.
#[derive(Debug, Default, Clone)]
pub struct AccessIndex {
    roles: HashMap<ObjectId, IndexedRole>,
    grants: HashMap<ObjectId, Grant>,
    /// principal -> its directory grants, in the order they were added.
    directory_grants: HashMap<ObjectId, Vec<ObjectId>>,
    /// principal -> ARM scope key -> its grants at exactly that scope.
    arm_grants: HashMap<ObjectId, HashMap<Box<str>, Vec<ObjectId>>>,
    /// Which management group holds which subscription or group: the ARM ancestors the scope
    /// strings do not spell out.
    management_groups: ManagementGroupTree,
    role_assignable_groups: HashSet<ObjectId>,
    /// member -> role-assignable groups it belongs to (role-assignable groups do not nest).
    groups_of_member: HashMap<ObjectId, HashSet<ObjectId>>,
    /// All memberships we were told about, so a group that becomes relevant is complete.
    members_of_group: HashMap<ObjectId, HashSet<ObjectId>>,
    /// The same memberships seen from the member: every group it is directly in.
    all_groups_of_member: HashMap<ObjectId, HashSet<ObjectId>>,
    /// Security-enabled groups (role-assignable groups are security groups too).
    security_groups: HashSet<ObjectId>,
    /// member -> every security group it is in, directly or through nested groups: who holds
    /// Azure role assignments on its behalf. Azure RBAC, unlike Entra roles, honours any
    /// security group and nesting. Kept up to date on every membership change, so an ARM check
    /// only reads it.
    arm_groups_of_member: HashMap<ObjectId, Vec<ObjectId>>,
}

impl AccessIndex {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn role(&self, id: &ObjectId) -> Option<&Arc<RoleDefinition>> {
        self.roles.get(id).map(|r| &r.definition)
    }

    pub fn grant_count(&self) -> usize {
        self.grants.len()
    }

    /// Distinct principals holding at least one grant (directly; group members not expanded).
    pub fn principal_count(&self) -> usize {
        let arm_only = self.arm_grants.keys().filter(|p| !self.directory_grants.contains_key(p)).count();
        self.directory_grants.values().filter(|g| !g.is_empty()).count() + arm_only
    }

    /// Effective grants at `now` of each built-in privileged directory role (Entra's
    /// `isPrivileged` roles, ~30), by how they came to exist, zeros included: the
    /// "active privileged assignments per role" gauge. One pass over the grants in memory.
    pub fn active_privileged_grants(&self, now: Instant) -> Vec<(Arc<RoleDefinition>, GrantSource, usize)> {
        let mut counts: HashMap<(ObjectId, GrantSource), usize> = HashMap::new();
        for g in self.grants.values() {
            if matches!(g.scope, Scope::Directory(_)) && g.is_effective(now) {
                *counts.entry((g.role_definition_id, g.source)).or_default() += 1;
            }
        }
        let mut out: Vec<_> = self
            .roles
            .values()
            .map(|r| &r.definition)
            .filter(|d| d.is_built_in && d.is_privileged && d.dialect == PermissionDialect::Directory)
            .flat_map(|d| {
                [GrantSource::Assigned, GrantSource::Activated]
                    .map(|source| (d.clone(), source, counts.get(&(d.id, source)).copied().unwrap_or(0)))
            })
            .collect();
        out.sort_by(|a, b| a.0.display_name.cmp(&b.0.display_name));
        out
    }

    /// The management-group tree ARM checks walk (for `Scope::covers` outside the index).
    pub fn management_groups(&self) -> &ManagementGroupTree {
        &self.management_groups
    }

    pub fn apply(&mut self, update: IndexUpdate) {
        match update {
            IndexUpdate::RoleDefinitionSaved(role) => {
                self.roles.insert(role.id, IndexedRole::new(role));
            }
            IndexUpdate::RoleDefinitionDeleted(id) => {
                self.roles.remove(&id);
            }
            IndexUpdate::GrantAdded(grant) => {
                self.remove_grant(grant.id);
                match &grant.scope {
                    Scope::Directory(_) => self.directory_grants.entry(grant.principal_id).or_default().push(grant.id),
                    Scope::Arm(scope) => self
                        .arm_grants
                        .entry(grant.principal_id)
                        .or_default()
                        .entry(scope.key().into())
                        .or_default()
                        .push(grant.id),
                }
                self.grants.insert(grant.id, grant);
            }
            IndexUpdate::GrantRemoved(id) => self.remove_grant(id),
            IndexUpdate::ManagementGroupParentSet { child, parent } => {
                // Writers validate the move with `ManagementGroupTree::set_parent` before they
                // commit it, so a refusal here only means a replayed stale update: keep the tree.
                let _ = self.management_groups.set_parent(&child, parent);
            }
            IndexUpdate::GroupSaved { group_id, is_assignable_to_role, is_security_enabled } => {
                if is_assignable_to_role {
                    self.role_assignable_groups.insert(group_id);
                    for m in self.members_of_group.get(&group_id).into_iter().flatten() {
                        self.groups_of_member.entry(*m).or_default().insert(group_id);
                    }
                }
                let was_security = if is_security_enabled || is_assignable_to_role {
                    !self.security_groups.insert(group_id)
                } else {
                    self.security_groups.remove(&group_id)
                };
                if was_security != self.security_groups.contains(&group_id) {
                    self.refresh_arm_groups(group_id);
                }
            }
            IndexUpdate::GroupDeleted(id) => {
                let affected = self.self_and_nested_members(id);
                self.role_assignable_groups.remove(&id);
                self.security_groups.remove(&id);
                for m in self.members_of_group.remove(&id).into_iter().flatten() {
                    if let Some(gs) = self.groups_of_member.get_mut(&m) {
                        gs.remove(&id);
                    }
                    if let Some(gs) = self.all_groups_of_member.get_mut(&m) {
                        gs.remove(&id);
                    }
                }
                self.forget_memberships_of(id);
                self.drop_principal(id);
                for m in affected {
                    self.refresh_arm_groups_of(m);
                }
            }
            IndexUpdate::MemberAdded { group_id, member_id } => {
                self.members_of_group.entry(group_id).or_default().insert(member_id);
                self.all_groups_of_member.entry(member_id).or_default().insert(group_id);
                if self.role_assignable_groups.contains(&group_id) {
                    self.groups_of_member.entry(member_id).or_default().insert(group_id);
                }
                self.refresh_arm_groups(member_id);
            }
            IndexUpdate::MemberRemoved { group_id, member_id } => {
                if let Some(ms) = self.members_of_group.get_mut(&group_id) {
                    ms.remove(&member_id);
                }
                if let Some(gs) = self.groups_of_member.get_mut(&member_id) {
                    gs.remove(&group_id);
                }
                if let Some(gs) = self.all_groups_of_member.get_mut(&member_id) {
                    gs.remove(&group_id);
                }
                self.refresh_arm_groups(member_id);
            }
            IndexUpdate::PrincipalDeleted(id) => {
                for g in self.groups_of_member.remove(&id).into_iter().flatten() {
                    if let Some(ms) = self.members_of_group.get_mut(&g) {
                        ms.remove(&id);
                    }
                }
                self.forget_memberships_of(id);
                self.arm_groups_of_member.remove(&id);
                self.drop_principal(id);
            }
        }
    }

    /// Removes `id` as a member of every group.
    fn forget_memberships_of(&mut self, id: ObjectId) {
        for ms in self.members_of_group.values_mut() {
            ms.remove(&id);
        }
        self.all_groups_of_member.remove(&id);
    }

    /// `id` and everything nested in it (its members, their members, ...), each once.
    fn self_and_nested_members(&self, id: ObjectId) -> Vec<ObjectId> {
        let mut seen = HashSet::from([id]);
        let mut order = vec![id];
        let mut next = 0;
        while let Some(&current) = order.get(next) {
            next += 1;
            for m in self.members_of_group.get(&current).into_iter().flatten() {
                if seen.insert(*m) {
                    order.push(*m);
                }
            }
        }
        order
    }

    /// Recomputes the security groups of `id` and of everything nested in it: a membership
    /// change at `id` changes the groups above each of them.
    fn refresh_arm_groups(&mut self, id: ObjectId) {
        for m in self.self_and_nested_members(id) {
            self.refresh_arm_groups_of(m);
        }
    }

    /// The security groups `member` is in, directly or through groups (membership cycles end).
    fn refresh_arm_groups_of(&mut self, member: ObjectId) {
        let mut seen = HashSet::from([member]);
        let mut queue = vec![member];
        let mut security = Vec::new();
        while let Some(current) = queue.pop() {
            for g in self.all_groups_of_member.get(&current).into_iter().flatten() {
                if seen.insert(*g) {
                    queue.push(*g);
                    if self.security_groups.contains(g) {
                        security.push(*g);
                    }
                }
            }
        }
        if security.is_empty() {
            self.arm_groups_of_member.remove(&member);
        } else {
            security.sort_unstable();
            self.arm_groups_of_member.insert(member, security);
        }
    }

    fn remove_grant(&mut self, id: ObjectId) {
        let Some(old) = self.grants.remove(&id) else { return };
        let principal = old.principal_id;
        match &old.scope {
            Scope::Directory(_) => {
                if let Some(ids) = self.directory_grants.get_mut(&principal) {
                    ids.retain(|g| *g != id);
                    if ids.is_empty() {
                        self.directory_grants.remove(&principal);
                    }
                }
            }
            Scope::Arm(scope) => {
                if let Some(by_scope) = self.arm_grants.get_mut(&principal) {
                    if let Some(ids) = by_scope.get_mut(scope.key()) {
                        ids.retain(|g| *g != id);
                        if ids.is_empty() {
                            by_scope.remove(scope.key());
                        }
                    }
                    if by_scope.is_empty() {
                        self.arm_grants.remove(&principal);
                    }
                }
            }
        }
    }

    fn drop_principal(&mut self, id: ObjectId) {
        let directory = self.directory_grants.remove(&id).unwrap_or_default();
        let arm = self.arm_grants.remove(&id).unwrap_or_default().into_values().flatten();
        for g in directory.into_iter().chain(arm) {
            self.grants.remove(&g);
        }
    }

    /// Every grant `principal` holds at `now`, of both families: its own, then those of its
    /// groups (role-assignable groups for directory grants, any security group for ARM grants).
    pub fn effective_grants(&self, principal: ObjectId, now: Instant) -> Vec<EffectiveGrant<'_>> {
        let directory = self.holders(principal).flat_map(|(holder, via_group)| {
            self.directory_grants.get(&holder).into_iter().flatten().map(move |id| (id, via_group))
        });
        let arm = self.arm_holders(principal).flat_map(|(holder, via_group)| {
            self.arm_grants.get(&holder).into_iter().flat_map(|m| m.values().flatten()).map(move |id| (id, via_group))
        });
        directory
            .chain(arm)
            .filter_map(|(id, via_group)| self.grants.get(id).map(|grant| EffectiveGrant { grant, via_group }))
            .filter(|e| e.grant.is_effective(now))
            .collect()
    }

    /// The ARM grants in effect for `principal` at `scope` at `now`: those at the scope and at
    /// each scope above it, held by the principal or any security group it is in (nested too),
    /// nearest scope first. What ARM's `permissions` endpoint answers from.
    pub fn arm_grants_at(&self, principal: ObjectId, scope: &ArmScope, now: Instant) -> Vec<EffectiveGrant<'_>> {
        scope
            .self_and_ancestor_keys(&self.management_groups)
            .flat_map(|key| {
                self.arm_holders(principal).flat_map(move |(holder, via_group)| {
                    let at_key = self.arm_grants.get(&holder).and_then(|by_scope| by_scope.get(key));
                    self.effective(at_key, now).map(move |grant| EffectiveGrant { grant, via_group })
                })
            })
            .collect()
    }

    /// Who holds Azure role assignments on `principal`'s behalf: itself, then every security
    /// group it is in, directly or through nested groups (with that group's id).
    fn arm_holders(&self, principal: ObjectId) -> impl Iterator<Item = (ObjectId, Option<ObjectId>)> + '_ {
        let groups = self.arm_groups_of_member.get(&principal).into_iter().flatten().map(|g| (*g, Some(*g)));
        std::iter::once((principal, None)).chain(groups)
    }

    /// The security groups `principal` is in, directly or through nested groups.
    pub fn security_groups_of(&self, principal: ObjectId) -> &[ObjectId] {
        self.arm_groups_of_member.get(&principal).map_or(&[], Vec::as_slice)
    }

    /// Who holds grants on `principal`'s behalf: itself, then each role-assignable group it is
    /// in (with that group's id).
    fn holders(&self, principal: ObjectId) -> impl Iterator<Item = (ObjectId, Option<ObjectId>)> + '_ {
        let groups = self.groups_of_member.get(&principal).into_iter().flatten().map(|g| (*g, Some(*g)));
        std::iter::once((principal, None)).chain(groups)
    }

    /// The grants of one bucket of grant ids that are effective at `now`.
    fn effective<'a>(&'a self, ids: Option<&'a Vec<ObjectId>>, now: Instant) -> impl Iterator<Item = &'a Grant> + 'a {
        ids.into_iter().flatten().filter_map(|id| self.grants.get(id)).filter(move |g| g.is_effective(now))
    }

    /// The first grant whose role allows `query` at the directory `scope`, with its role and the
    /// pattern that matched. Allocates nothing.
    fn find_directory_path(
        &self,
        principal: ObjectId,
        query: &Query<'_>,
        scope: &DirectoryScope,
        now: Instant,
    ) -> Option<(EffectiveGrant<'_>, &IndexedRole, &str)> {
        self.holders(principal).find_map(|(holder, via_group)| {
            self.effective(self.directory_grants.get(&holder), now).find_map(|grant| {
                if !grant.scope.as_directory().is_some_and(|s| s.covers(scope)) {
                    return None;
                }
                self.matching(grant, via_group, query)
            })
        })
    }

    /// The first grant whose role allows `query` at the ARM `scope`: the target's own grants,
    /// then its parent's, and so on up to the root management group (Azure's inheritance), each
    /// level looked up by key, for the principal and each security group it is in. Allocates
    /// nothing.
    fn find_arm_path(
        &self,
        principal: ObjectId,
        query: &Query<'_>,
        scope: &ArmScope,
        now: Instant,
    ) -> Option<(EffectiveGrant<'_>, &IndexedRole, &str)> {
        scope.self_and_ancestor_keys(&self.management_groups).find_map(|key| {
            self.arm_holders(principal).find_map(|(holder, via_group)| {
                let at_key = self.arm_grants.get(&holder).and_then(|by_scope| by_scope.get(key));
                self.effective(at_key, now).find_map(|grant| self.matching(grant, via_group, query))
            })
        })
    }

    fn matching<'a>(
        &'a self,
        grant: &'a Grant,
        via_group: Option<ObjectId>,
        query: &Query<'_>,
    ) -> Option<(EffectiveGrant<'a>, &'a IndexedRole, &'a str)> {
        let role = self.roles.get(&grant.role_definition_id)?;
        let pattern = role.granting_pattern(query)?;
        Some((EffectiveGrant { grant, via_group }, role, pattern))
    }

    fn find_path(
        &self,
        principal: ObjectId,
        permission: Permission<'_>,
        scope: &Scope,
        now: Instant,
    ) -> Option<(EffectiveGrant<'_>, &IndexedRole, &str)> {
        let query = Query::new(permission);
        match scope {
            Scope::Directory(scope) => self.find_directory_path(principal, &query, scope, now),
            Scope::Arm(scope) => self.find_arm_path(principal, &query, scope, now),
        }
    }

    fn path(found: (EffectiveGrant<'_>, &IndexedRole, &str)) -> AccessPath {
        let (e, role, pattern) = found;
        AccessPath {
            grant: e.grant.clone(),
            via_group: e.via_group,
            role_display_name: role.definition.display_name.clone(),
            matched_permission: pattern.to_string(),
        }
    }

    /// Is `principal` allowed `permission` at `scope` at `now`? Returns the path that grants it:
    /// a grant at the scope or (ARM) at an ancestor, whose role's dialect and plane match.
    pub fn check_permission(
        &self,
        principal: ObjectId,
        permission: Permission<'_>,
        scope: &Scope,
        now: Instant,
    ) -> Option<AccessPath> {
        self.find_path(principal, permission, scope, now).map(Self::path)
    }

    /// Does `principal` (or one of its role-assignable groups) hold any role, whatever it grants,
    /// at `scope` or a scope above it, at `now`? ARM shows a subscription to whoever has a role
    /// at or above it (`GET /subscriptions`).
    pub fn holds_any_role_covering(&self, principal: ObjectId, scope: &ArmScope, now: Instant) -> bool {
        self.arm_holders(principal).any(|(holder, _)| {
            let Some(by_scope) = self.arm_grants.get(&holder) else { return false };
            scope
                .self_and_ancestor_keys(&self.management_groups)
                .any(|key| self.effective(by_scope.get(key), now).next().is_some())
        })
    }

    /// The answer of `check_permission` without building the explanation.
    pub fn allows_permission(
        &self,
        principal: ObjectId,
        permission: Permission<'_>,
        scope: &Scope,
        now: Instant,
    ) -> bool {
        self.find_path(principal, permission, scope, now).is_some()
    }

    /// Is `principal` allowed the directory `action` at `scope` at `now`? Returns the first path
    /// that grants it.
    pub fn check(&self, principal: ObjectId, action: &str, scope: &DirectoryScope, now: Instant) -> Option<AccessPath> {
        self.find_directory_path(principal, &Query::new(Permission::Directory(action)), scope, now).map(Self::path)
    }

    /// The answer of `check` without building the explanation (for callers that need only yes/no).
    pub fn allows(&self, principal: ObjectId, action: &str, scope: &DirectoryScope, now: Instant) -> bool {
        self.find_directory_path(principal, &Query::new(Permission::Directory(action)), scope, now).is_some()
    }

    /// Is `principal` a member of any role-assignable group?
    pub fn in_role_assignable_group(&self, principal: ObjectId) -> bool {
        self.groups_of_member.get(&principal).is_some_and(|g| !g.is_empty())
    }

    /// The index as it was at `at`, rebuilt from the history facts the store loaded for one
    /// principal (its groups and their grants then), so a check at `at` walks the paths the live
    /// check walked then and explains itself the same way. Role definitions and the
    /// management-group tree are today's: their past is not kept.
    pub fn as_of(&self, facts: &crate::history::HistoryFacts, at: Instant) -> AccessIndex {
        let mut past = AccessIndex { management_groups: self.management_groups.clone(), ..AccessIndex::default() };
        for k in facts.group_kinds.iter().filter(|k| k.during.contains(at)) {
            past.apply(IndexUpdate::GroupSaved {
                group_id: k.group_id,
                is_assignable_to_role: k.is_assignable_to_role,
                is_security_enabled: k.is_security_enabled,
            });
        }
        for m in facts.memberships.iter().filter(|m| m.during.contains(at)) {
            past.apply(IndexUpdate::MemberAdded { group_id: m.group_id, member_id: m.member_id });
        }
        for g in facts.grants.iter().filter(|g| crate::history::grant_interval(g).contains(at)) {
            if let Some(role) = self.roles.get(&g.role_definition_id) {
                past.roles.entry(g.role_definition_id).or_insert_with(|| role.clone());
            }
            past.apply(IndexUpdate::GrantAdded(g.clone()));
        }
        past
    }

    /// Does `principal` hold `role` at the tenant scope at `now` (directly or through a group)?
    pub fn holds_role(&self, principal: ObjectId, role: ObjectId, now: Instant) -> bool {
        self.holders(principal).any(|(holder, _)| {
            self.effective(self.directory_grants.get(&holder), now)
                .any(|g| g.role_definition_id == role && g.scope == DirectoryScope::Tenant)
        })
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
            dialect: PermissionDialect::Directory,
            role_permissions: vec![RolePermission {
                allowed_resource_actions: actions.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            }],
            created: now,
            modified: now,
            azure: Default::default(),
        }
    }

    fn grant(
        principal: ObjectId,
        role: ObjectId,
        scope: impl Into<Scope>,
        start: Option<Instant>,
        end: Option<Instant>,
    ) -> Grant {
        Grant {
            id: ObjectId::new_v4(),
            principal_id: principal,
            role_definition_id: role,
            scope: scope.into(),
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
        idx.apply(IndexUpdate::GroupSaved { group_id: group, is_assignable_to_role: true, is_security_enabled: true });
        let path = idx.check(bob, PWD, &DirectoryScope::Tenant, now).expect("granted via group");
        assert_eq!(path.via_group, Some(group));
        assert_eq!(path.matched_permission, PWD);
        idx.apply(IndexUpdate::MemberRemoved { group_id: group, member_id: bob });
        assert!(idx.check(bob, PWD, &DirectoryScope::Tenant, now).is_none());
    }

    #[test]
    fn as_of_rebuilds_the_paths_held_at_an_instant() {
        use crate::history::{GroupKindRecord, HistoryFacts, Interval, MembershipRecord};
        let t = |h: i64| datetime!(2026-01-01 00:00 UTC) + time::Duration::hours(h);
        let mut live = AccessIndex::new();
        let r = role(&[PWD]);
        let rid = r.id;
        live.apply(IndexUpdate::RoleDefinitionSaved(r));
        let (bob, group) = (ObjectId::new_v4(), ObjectId::new_v4());
        // Today bob holds nothing; in the past he was in a role-assignable group holding the role
        // from 1h to 5h, and a member from 2h to 4h.
        let facts = HistoryFacts {
            grants: vec![grant(group, rid, DirectoryScope::Tenant, Some(t(1)), Some(t(5)))],
            memberships: vec![MembershipRecord {
                group_id: group,
                member_id: bob,
                during: Interval::new(t(2), Some(t(4))),
            }],
            group_kinds: vec![GroupKindRecord {
                group_id: group,
                is_assignable_to_role: true,
                is_security_enabled: true,
                during: Interval::new(t(0), None),
            }],
        };
        assert!(live.check(bob, PWD, &DirectoryScope::Tenant, t(3)).is_none(), "the live index knows nothing of it");
        let then = live.as_of(&facts, t(3)).check(bob, PWD, &DirectoryScope::Tenant, t(3)).expect("held then");
        assert_eq!(then.via_group, Some(group));
        assert_eq!((then.grant.start, then.grant.end), (Some(t(1)), Some(t(5))));
        assert_eq!(then.role_display_name, "Test role");
        assert!(live.as_of(&facts, t(4)).check(bob, PWD, &DirectoryScope::Tenant, t(4)).is_none(), "left the group");
        assert!(live
            .as_of(&facts, t(2) - time::Duration::SECOND)
            .check(bob, PWD, &DirectoryScope::Tenant, t(2) - time::Duration::SECOND)
            .is_none());
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

    /// Actions to probe `patterns` with: the patterns themselves, concrete variants of each (other
    /// verbs and property sets, upper case, one segment more or less), and odd strings.
    fn probe_actions<'a>(patterns: impl IntoIterator<Item = &'a String>) -> Vec<String> {
        let mut out: Vec<String> =
            ["", "/", "a", "microsoft.directory", "microsoft.directory/", "x/*/y", "/users/read"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        for a in patterns {
            let segments: Vec<&str> = a.split('/').collect();
            let entity = segments[..segments.len().saturating_sub(2).max(1)].join("/");
            out.push(a.clone());
            out.push(a.to_ascii_uppercase());
            out.push(format!("{a}/extra"));
            out.push(segments[..segments.len() - 1].join("/"));
            for tail in ["standard/read", "basic/update", "create", "allProperties/allTasks"] {
                out.push(format!("{entity}/{tail}"));
            }
        }
        let mut seen = HashSet::new();
        out.retain(|a| seen.insert(a.clone()));
        out
    }

    #[test]
    fn indexed_role_matching_equals_role_definition_matching() {
        let now = datetime!(2026-01-01 00:00 UTC);
        let mut roles = crate::catalog::builtin_roles(now);
        // Patterns the catalog lacks: wildcards in and after the head, one-segment entities,
        // mixed case, exclusions, several permissions, and a disabled role.
        let mut odd = role(&[
            "microsoft.directory/*/read",
            "*/users/create",
            "microsoft.directory/*",
            "Microsoft.Directory/Users/allProperties/allTasks",
            "microsoft.office365.*/*",
            "single/allProperties/read",
            "single",
            "microsoft.directory/groups/members/update",
        ]);
        odd.role_permissions[0].excluded_resource_actions =
            vec!["microsoft.directory/users/delete".into(), "microsoft.directory/*/password/update".into()];
        odd.role_permissions.push(RolePermission {
            allowed_resource_actions: vec!["microsoft.directory/users/delete".into(), "other/thing".into()],
            excluded_resource_actions: vec!["other/*".into()],
            ..Default::default()
        });
        let mut disabled = role(&["microsoft.directory/users/create"]);
        disabled.is_enabled = false;
        roles.push(odd);
        roles.push(disabled);
        let all_patterns: Vec<String> = roles
            .iter()
            .flat_map(|r| r.role_permissions.iter().flat_map(|p| p.allowed_resource_actions.clone()))
            .collect();
        // Every role meets its own patterns' variants and a seventh of everyone else's
        // (all of them would make this test slow without making it stronger).
        let shared: Vec<String> = probe_actions(&all_patterns).into_iter().step_by(7).collect();
        let mut matched = 0;
        for r in roles {
            let indexed = IndexedRole::new(r.clone());
            let own = r
                .role_permissions
                .iter()
                .flat_map(|p| p.allowed_resource_actions.iter().chain(&p.excluded_resource_actions));
            for a in probe_actions(own).iter().chain(&shared) {
                let expected = r.granting_pattern(a);
                let query = Query::new(Permission::Directory(a));
                assert_eq!(indexed.granting_pattern(&query), expected, "{} / {a}", r.display_name);
                matched += usize::from(expected.is_some());
            }
        }
        assert!(matched > 1_000, "the probe must hit many grants, hit {matched}");
    }

    #[test]
    fn check_and_allows_agree_and_report_the_first_matching_pattern() {
        let now = datetime!(2026-01-01 10:00 UTC);
        let mut idx = AccessIndex::new();
        let r = role(&["microsoft.directory/users/allProperties/read", PWD, "microsoft.directory/users/standard/read"]);
        let rid = r.id;
        idx.apply(IndexUpdate::RoleDefinitionSaved(r));
        let alice = ObjectId::new_v4();
        idx.apply(IndexUpdate::GrantAdded(grant(alice, rid, DirectoryScope::Tenant, None, None)));
        let path = idx.check(alice, "Microsoft.Directory/Users/Standard/Read", &DirectoryScope::Tenant, now).unwrap();
        assert_eq!(path.matched_permission, "microsoft.directory/users/allProperties/read");
        assert_eq!(path.role_display_name, "Test role");
        for a in [PWD, "microsoft.directory/users/standard/read", "microsoft.directory/users/delete", "", "x"] {
            let scope = DirectoryScope::Tenant;
            assert_eq!(idx.allows(alice, a, &scope, now), idx.check(alice, a, &scope, now).is_some(), "{a}");
        }
        assert!(!idx.allows(alice, "microsoft.directory/users/delete", &DirectoryScope::Tenant, now));
    }

    const SUB: &str = "/subscriptions/9a1f2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d";

    fn arm(raw: &str) -> ArmScope {
        ArmScope::parse(raw).unwrap()
    }

    fn azure_role(actions: &[&str], not_actions: &[&str], data_actions: &[&str]) -> RoleDefinition {
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        let mut r = role(&[]);
        r.dialect = PermissionDialect::Azure;
        r.role_permissions = vec![RolePermission {
            allowed_resource_actions: strings(actions),
            excluded_resource_actions: strings(not_actions),
            allowed_data_actions: strings(data_actions),
            ..Default::default()
        }];
        r
    }

    const VM_START: Permission<'static> = Permission::AzureAction("Microsoft.Compute/virtualMachines/start/action");

    /// Graph's `/` (the directory tenant) and ARM's `/` (the root above every management group)
    /// are written alike and are different scopes: a grant at one never answers a check at the
    /// other, even for a role whose permissions would match.
    #[test]
    fn the_arm_root_and_the_directory_tenant_never_stand_for_each_other() {
        let now = datetime!(2026-01-01 10:00 UTC);
        let mut idx = AccessIndex::new();
        // A directory role granting everything, and an Azure role granting everything.
        let directory_all = role(&["microsoft.directory/*"]);
        let azure_all = azure_role(&["*"], &[], &["*"]);
        let (directory_id, azure_id) = (directory_all.id, azure_all.id);
        idx.apply(IndexUpdate::RoleDefinitionSaved(directory_all));
        idx.apply(IndexUpdate::RoleDefinitionSaved(azure_all));
        let (elevated, global_admin) = (ObjectId::new_v4(), ObjectId::new_v4());
        idx.apply(IndexUpdate::GrantAdded(grant(elevated, azure_id, ArmScope::root(), None, None)));
        idx.apply(IndexUpdate::GrantAdded(grant(global_admin, directory_id, DirectoryScope::Tenant, None, None)));
        let users_create = Permission::Directory("microsoft.directory/users/create");
        let vm = Scope::Arm(arm(&format!("{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1")));
        let group = Scope::Arm(arm("/providers/Microsoft.Management/managementGroups/g"));
        let arm_root = Scope::Arm(ArmScope::root());

        // The Azure grant at ARM's root reaches every ARM scope, and nothing in the directory.
        for at in [&vm, &group, &arm_root] {
            assert!(idx.allows_permission(elevated, VM_START, at, now), "{at}");
        }
        assert!(!idx.allows(elevated, "microsoft.directory/users/create", &DirectoryScope::Tenant, now));
        assert!(!idx.allows_permission(elevated, users_create, &Scope::TENANT, now));
        assert!(!idx.allows_permission(elevated, users_create, &arm_root, now));
        // The directory grant at the tenant reaches the directory, and nothing in ARM, not even
        // ARM's root.
        assert!(idx.allows(global_admin, "microsoft.directory/users/create", &DirectoryScope::Tenant, now));
        for at in [&vm, &group, &arm_root] {
            assert!(!idx.allows_permission(global_admin, VM_START, at, now), "{at}");
            assert!(!idx.allows_permission(global_admin, users_create, at, now), "{at}");
        }
    }

    #[test]
    fn arm_grants_apply_at_their_scope_and_below() {
        let now = datetime!(2026-01-01 10:00 UTC);
        let mut idx = AccessIndex::new();
        let operator = azure_role(&["Microsoft.Compute/*"], &["Microsoft.Compute/*/delete"], &[]);
        let rid = operator.id;
        idx.apply(IndexUpdate::RoleDefinitionSaved(operator));
        let alice = ObjectId::new_v4();
        let rg = arm(&format!("{SUB}/resourceGroups/Prod"));
        let vm = Scope::Arm(arm(&format!("{SUB}/resourceGroups/prod/providers/Microsoft.Compute/virtualMachines/vm1")));
        let g = grant(alice, rid, rg.clone(), None, None);
        let gid = g.id;
        idx.apply(IndexUpdate::GrantAdded(g));

        // At the resource group, and inherited by its resources (whatever their spelling).
        assert!(idx.allows_permission(alice, VM_START, &Scope::Arm(rg.clone()), now));
        let path = idx.check_permission(alice, VM_START, &vm, now).expect("inherited from the resource group");
        assert_eq!(path.grant.scope, Scope::Arm(rg.clone()));
        assert_eq!(path.matched_permission, "Microsoft.Compute/*");
        // Not above it, not beside it, not what notActions remove, not the data plane.
        assert!(!idx.allows_permission(alice, VM_START, &Scope::Arm(arm(SUB)), now));
        assert!(!idx.allows_permission(alice, VM_START, &Scope::Arm(arm(&format!("{SUB}/resourceGroups/dev"))), now));
        let delete = Permission::AzureAction("Microsoft.Compute/virtualMachines/delete");
        assert!(!idx.allows_permission(alice, delete, &vm, now));
        let data = Permission::AzureDataAction("Microsoft.Compute/virtualMachines/login/action");
        assert!(!idx.allows_permission(alice, data, &vm, now));
        // An Azure role at an ARM scope says nothing about the directory, and the other way round.
        assert!(!idx.allows_permission(alice, Permission::Directory("microsoft.directory/users/create"), &vm, now));
        assert!(!idx.allows(alice, "Microsoft.Compute/virtualMachines/start/action", &DirectoryScope::Tenant, now));
        assert!(idx.effective_grants(alice, now).iter().any(|e| e.grant.id == gid));

        idx.apply(IndexUpdate::GrantRemoved(gid));
        assert!(!idx.allows_permission(alice, VM_START, &vm, now));
        assert_eq!(idx.grant_count(), 0);
    }

    #[test]
    fn management_group_grants_reach_their_subscriptions_through_the_hierarchy() {
        let now = datetime!(2026-01-01 10:00 UTC);
        let mut idx = AccessIndex::new();
        let reader = azure_role(&["*/read"], &[], &[]);
        let rid = reader.id;
        idx.apply(IndexUpdate::RoleDefinitionSaved(reader));
        let (bob, group) = (ObjectId::new_v4(), ObjectId::new_v4());
        idx.apply(IndexUpdate::GroupSaved { group_id: group, is_assignable_to_role: true, is_security_enabled: true });
        idx.apply(IndexUpdate::MemberAdded { group_id: group, member_id: bob });
        let root = arm("/providers/Microsoft.Management/managementGroups/root");
        let platform = arm("/providers/Microsoft.Management/managementGroups/platform");
        idx.apply(IndexUpdate::GrantAdded(grant(group, rid, root.clone(), None, None)));
        let target = Scope::Arm(arm(&format!("{SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/app")));
        let read = Permission::AzureAction("Microsoft.Web/sites/read");
        assert!(!idx.allows_permission(bob, read, &target, now), "the subscription is in no group yet");
        idx.apply(IndexUpdate::ManagementGroupParentSet { child: platform.clone(), parent: Some(root.clone()) });
        idx.apply(IndexUpdate::ManagementGroupParentSet { child: arm(SUB), parent: Some(platform.clone()) });
        let path = idx.check_permission(bob, read, &target, now).expect("root -> platform -> subscription -> app");
        assert_eq!(path.via_group, Some(group));
        assert!(!idx.allows_permission(bob, Permission::AzureAction("Microsoft.Web/sites/write"), &target, now));
        // A cycle is refused and leaves the tree as it was.
        idx.apply(IndexUpdate::ManagementGroupParentSet { child: root.clone(), parent: Some(platform) });
        assert!(idx.allows_permission(bob, read, &target, now));
        idx.apply(IndexUpdate::ManagementGroupParentSet { child: arm(SUB), parent: None });
        assert!(!idx.allows_permission(bob, read, &target, now));
    }

    #[test]
    fn any_role_at_or_above_a_subscription_shows_it() {
        let now = datetime!(2026-01-01 10:00 UTC);
        let mut idx = AccessIndex::new();
        // A role that grants nothing a subscription listing would ask for still counts.
        let narrow = azure_role(&["Microsoft.Web/sites/restart/action"], &[], &[]);
        let rid = narrow.id;
        idx.apply(IndexUpdate::RoleDefinitionSaved(narrow));
        let (alice, bob) = (ObjectId::new_v4(), ObjectId::new_v4());
        let corp = arm("/providers/Microsoft.Management/managementGroups/corp");
        let sub = arm(SUB);
        idx.apply(IndexUpdate::GrantAdded(grant(alice, rid, corp.clone(), None, None)));
        assert!(!idx.holds_any_role_covering(alice, &sub, now), "the subscription is not in corp yet");
        idx.apply(IndexUpdate::ManagementGroupParentSet { child: sub.clone(), parent: Some(corp) });
        assert!(idx.holds_any_role_covering(alice, &sub, now));
        // Below the subscription does not count; nor an ended grant.
        idx.apply(IndexUpdate::GrantAdded(grant(bob, rid, arm(&format!("{SUB}/resourceGroups/rg")), None, None)));
        assert!(!idx.holds_any_role_covering(bob, &sub, now));
        let ended = grant(bob, rid, sub.clone(), None, Some(now));
        idx.apply(IndexUpdate::GrantAdded(ended));
        assert!(!idx.holds_any_role_covering(bob, &sub, now));
    }

    #[test]
    fn azure_grants_reach_members_of_nested_security_groups_and_follow_membership_changes() {
        let now = datetime!(2026-01-01 10:00 UTC);
        let mut idx = AccessIndex::new();
        let reader = azure_role(&["*/read"], &[], &[]);
        let rid = reader.id;
        idx.apply(IndexUpdate::RoleDefinitionSaved(reader));
        let (bob, team, platform) = (ObjectId::new_v4(), ObjectId::new_v4(), ObjectId::new_v4());
        let saved = |group_id, is_security_enabled| IndexUpdate::GroupSaved {
            group_id,
            is_assignable_to_role: false,
            is_security_enabled,
        };
        idx.apply(saved(team, true));
        idx.apply(saved(platform, true));
        idx.apply(IndexUpdate::MemberAdded { group_id: team, member_id: bob });
        idx.apply(IndexUpdate::MemberAdded { group_id: platform, member_id: team });
        idx.apply(IndexUpdate::GrantAdded(grant(platform, rid, arm(SUB), None, None)));
        let rg = Scope::Arm(arm(&format!("{SUB}/resourceGroups/rg")));
        let read = Permission::AzureAction("Microsoft.Resources/subscriptions/resourceGroups/read");
        let path = idx.check_permission(bob, read, &rg, now).expect("bob -> team -> platform");
        assert_eq!(path.via_group, Some(platform));
        assert_eq!(idx.security_groups_of(bob).len(), 2);
        // Directory roles do not pass through these groups: they are not role-assignable.
        assert!(!idx.in_role_assignable_group(bob));
        // Unnesting the team ends it; nesting it again restores it.
        idx.apply(IndexUpdate::MemberRemoved { group_id: platform, member_id: team });
        assert!(!idx.allows_permission(bob, read, &rg, now));
        idx.apply(IndexUpdate::MemberAdded { group_id: platform, member_id: team });
        assert!(idx.allows_permission(bob, read, &rg, now));
        // A group that is no longer security-enabled passes nothing on.
        idx.apply(saved(platform, false));
        assert!(!idx.allows_permission(bob, read, &rg, now));
        idx.apply(saved(platform, true));
        assert!(idx.allows_permission(bob, read, &rg, now));
        // A membership cycle ends the walk.
        idx.apply(IndexUpdate::MemberAdded { group_id: team, member_id: platform });
        assert!(idx.allows_permission(bob, read, &rg, now));
        // Deleting the team cuts bob off from what is above it.
        idx.apply(IndexUpdate::GroupDeleted(team));
        assert!(!idx.allows_permission(bob, read, &rg, now));
        assert!(idx.security_groups_of(bob).is_empty());
    }

    mod azure_equivalence {
        //! The index's ARM answer equals the definition: some effective grant of the principal
        //! (direct or through a role-assignable group) whose scope covers the target and whose
        //! role grants the permission, evaluated naively over every grant.
        use super::*;
        use proptest::prelude::*;

        const MG_ROOT: &str = "/providers/Microsoft.Management/managementGroups/Root";
        const MG_CHILD: &str = "/providers/Microsoft.Management/managementGroups/child";
        const SUB_A: &str = "/subscriptions/00000000-0000-4000-8000-00000000000a";
        const SUB_B: &str = "/subscriptions/00000000-0000-4000-8000-00000000000b";

        /// Every level of ARM and one directory scope, with the hierarchy Root > child > SUB_A,
        /// Root > SUB_B.
        fn universe() -> (Vec<Scope>, ManagementGroupTree) {
            let mut raw = vec![MG_ROOT.to_string(), MG_CHILD.to_string()];
            for sub in [SUB_A, SUB_B] {
                raw.push(sub.to_string());
                for rg in ["rg1", "RG2"] {
                    raw.push(format!("{sub}/resourceGroups/{rg}"));
                    let vm = format!("{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/vm");
                    raw.push(format!("{vm}/extensions/ext"));
                    raw.push(vm);
                    raw.push(format!("{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/acct"));
                }
            }
            let mut tree = ManagementGroupTree::new();
            tree.set_parent(&arm(MG_CHILD), Some(arm(MG_ROOT))).unwrap();
            tree.set_parent(&arm(SUB_A), Some(arm(MG_CHILD))).unwrap();
            tree.set_parent(&arm(SUB_B), Some(arm(MG_ROOT))).unwrap();
            let mut scopes: Vec<Scope> = raw.iter().map(|r| Scope::Arm(arm(r))).collect();
            scopes.push(Scope::TENANT);
            (scopes, tree)
        }

        const OPERATIONS: [&str; 10] = [
            "Microsoft.Compute/virtualMachines/read",
            "Microsoft.Compute/virtualMachines/write",
            "Microsoft.Compute/virtualMachines/start/action",
            "Microsoft.Storage/storageAccounts/read",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
            "Microsoft.Network/virtualNetworks/subnets/read",
            "Microsoft.Authorization/roleAssignments/write",
            "microsoft.authorization/roleassignments/delete",
            "microsoft.directory/users/create",
            "read",
        ];

        const PATTERNS: [&str; 14] = [
            "*",
            "*/read",
            "*/action",
            "Microsoft.Compute/*",
            "Microsoft.Network/*/read",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/*/delete",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*",
            "MICROSOFT.COMPUTE/virtualMachines/READ",
            "Microsoft.*",
            "Microsoft.Storage/*/read",
            "microsoft.directory/*",
            "microsoft.directory/users/create",
            "read",
        ];

        fn patterns() -> impl Strategy<Value = Vec<String>> {
            proptest::collection::vec(proptest::sample::select(PATTERNS.to_vec()).prop_map(String::from), 0..4)
        }

        fn permission_block() -> impl Strategy<Value = RolePermission> {
            (patterns(), patterns(), patterns(), patterns()).prop_map(|(a, na, d, nd)| RolePermission {
                allowed_resource_actions: a,
                excluded_resource_actions: na,
                allowed_data_actions: d,
                excluded_data_actions: nd,
                condition: None,
                condition_version: None,
            })
        }

        /// Azure roles of one or two blocks, sometimes disabled; one in eight is a directory role
        /// (its data lists dropped), which must never answer an Azure check.
        fn any_role() -> impl Strategy<Value = RoleDefinition> {
            (proptest::collection::vec(permission_block(), 1..3), any::<bool>(), 0..8u8).prop_map(
                |(blocks, enabled, dialect)| {
                    let mut r = role(&[]);
                    r.role_permissions = blocks;
                    r.is_enabled = enabled || dialect > 1;
                    if dialect == 0 {
                        r.role_permissions.iter_mut().for_each(|p| {
                            p.allowed_data_actions.clear();
                            p.excluded_data_actions.clear();
                        });
                    } else {
                        r.dialect = PermissionDialect::Azure;
                    }
                    r
                },
            )
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(32))]
            /// Grants are (holder, role, scope, window) draws: holders 0..3 are users, 3 a
            /// role-assignable group, 4 a security group, 5 a group that is not security-enabled,
            /// 6 a security group that group 4 may be nested in; windows: permanent, active,
            /// ended, future. Grants at directory scopes pass through role-assignable groups only,
            /// grants at ARM scopes through any security group, nested ones too.
            #[test]
            fn index_answer_equals_naive_evaluation(
                roles in proptest::collection::vec(any_role(), 1..6),
                specs in proptest::collection::vec((0..7usize, 0..6usize, 0..100usize, 0..4u8), 0..30),
                members in proptest::collection::vec((0..3usize, 3..6usize), 0..6),
                nested in any::<bool>(),
                recase in any::<bool>(),
            ) {
                let now = datetime!(2026-01-01 10:00 UTC);
                let (scopes, tree) = universe();
                let principals: Vec<ObjectId> = (0..7).map(|_| ObjectId::new_v4()).collect();
                let mut idx = AccessIndex::new();
                for r in &roles {
                    idx.apply(IndexUpdate::RoleDefinitionSaved(r.clone()));
                }
                for (group, assignable, security) in [(3, true, true), (4, false, true), (5, false, false), (6, false, true)] {
                    idx.apply(IndexUpdate::GroupSaved {
                        group_id: principals[group],
                        is_assignable_to_role: assignable,
                        is_security_enabled: security,
                    });
                }
                for &(member, group) in &members {
                    idx.apply(IndexUpdate::MemberAdded { group_id: principals[group], member_id: principals[member] });
                }
                if nested {
                    idx.apply(IndexUpdate::MemberAdded { group_id: principals[6], member_id: principals[4] });
                }
                // The hierarchy reaches the index as updates, children first, as a store could send them.
                for child in [SUB_A, SUB_B, MG_CHILD] {
                    let parent = arm(child).parent_in(&tree);
                    idx.apply(IndexUpdate::ManagementGroupParentSet { child: arm(child), parent });
                }
                let hour = time::Duration::HOUR;
                let grants: Vec<Grant> = specs
                    .iter()
                    .map(|&(holder, r, scope, window)| {
                        let (start, end) = match window {
                            0 => (None, None),
                            1 => (Some(now - hour), Some(now + hour)),
                            2 => (Some(now - hour * 2), Some(now - hour)),
                            _ => (Some(now + hour), None),
                        };
                        let role_id = roles[r % roles.len()].id;
                        grant(principals[holder], role_id, scopes[scope % scopes.len()].clone(), start, end)
                    })
                    .collect();
                for g in &grants {
                    idx.apply(IndexUpdate::GrantAdded(g.clone()));
                }
                let member_of = |principal: ObjectId, group: usize| {
                    members.iter().any(|&(m, g)| principals[m] == principal && g == group)
                };
                // Grants at ARM scopes pass through any security group, nested too.
                let holds_for = |principal: ObjectId, holder: ObjectId, at: &Scope| {
                    let through = |group: usize| holder == principals[group] && member_of(principal, group);
                    holder == principal
                        || through(3)
                        || (at.as_arm().is_some()
                            && (through(4) || (nested && holder == principals[6] && member_of(principal, 4))))
                };
                let naive = |principal: ObjectId, permission: Permission<'_>, target: &Scope| {
                    grants.iter().any(|g| {
                        holds_for(principal, g.principal_id, &g.scope)
                            && g.is_effective(now)
                            && g.scope.covers(target, &tree)
                            && roles.iter().any(|r| r.id == g.role_definition_id && r.grants_permission(permission))
                    })
                };
                for &principal in &principals[..3] {
                    // The grants in effect at an ARM scope are exactly the covering ones the
                    // principal holds through itself or its security groups.
                    for target in scopes.iter().filter_map(Scope::as_arm) {
                        let mut got: Vec<ObjectId> = idx.arm_grants_at(principal, target, now).iter().map(|e| e.grant.id).collect();
                        let mut expected: Vec<ObjectId> = grants
                            .iter()
                            .filter(|g| holds_for(principal, g.principal_id, &g.scope) && g.is_effective(now))
                            .filter(|g| g.scope.covers(&Scope::Arm(target.clone()), &tree))
                            .map(|g| g.id)
                            .collect();
                        got.sort();
                        expected.sort();
                        prop_assert_eq!(got, expected, "grants at {}", target);
                    }
                    for target in &scopes {
                        // The index must find grants whatever the target's spelling.
                        let target = match (recase, target) {
                            (true, Scope::Arm(a)) => Scope::Arm(arm(&a.to_string().to_ascii_uppercase())),
                            _ => target.clone(),
                        };
                        for op in OPERATIONS {
                            for permission in [Permission::AzureAction(op), Permission::AzureDataAction(op), Permission::Directory(op)] {
                                let expected = naive(principal, permission, &target);
                                let path = idx.check_permission(principal, permission, &target, now);
                                prop_assert_eq!(path.is_some(), expected, "{:?} at {} for principal {}", permission, target, principal);
                                prop_assert_eq!(idx.allows_permission(principal, permission, &target, now), expected);
                                if let Some(path) = path {
                                    // The reported path is one of the naive answers.
                                    prop_assert!(path.grant.scope.covers(&target, &tree));
                                    prop_assert!(holds_for(principal, path.grant.principal_id, &path.grant.scope));
                                    let role = roles.iter().find(|r| r.id == path.grant.role_definition_id).unwrap();
                                    prop_assert_eq!(role.granting_pattern_for(permission), Some(path.matched_permission.as_str()));
                                }
                            }
                        }
                    }
                }
            }
        }

        #[test]
        fn indexed_azure_roles_match_like_their_definitions() {
            // Every pattern as a role of its own and all together, in both planes, against every
            // operation and some odd strings.
            let mut roles: Vec<RoleDefinition> = PATTERNS
                .iter()
                .map(|p| {
                    let mut r = azure_role(&[p], &[], &[p]);
                    r.role_permissions[0].excluded_data_actions = vec!["*/delete".into()];
                    r
                })
                .collect();
            roles.push(azure_role(&PATTERNS, &["Microsoft.Compute/*/write", "*/roleAssignments/*"], &PATTERNS[3..]));
            let mut probes: Vec<String> = OPERATIONS.iter().chain(PATTERNS.iter()).map(|s| s.to_string()).collect();
            probes.extend(
                ["", "/", "Microsoft.Compute", "microsoft.compute/", "Microsoft.Compute/virtualMachines/delete"]
                    .map(String::from),
            );
            let mut matched = 0;
            for r in roles {
                let indexed = IndexedRole::new(r.clone());
                for probe in &probes {
                    for permission in [
                        Permission::AzureAction(probe),
                        Permission::AzureDataAction(probe),
                        Permission::Directory(probe),
                    ] {
                        let expected = r.granting_pattern_for(permission);
                        assert_eq!(indexed.granting_pattern(&Query::new(permission)), expected, "{permission:?}");
                        matched += usize::from(expected.is_some());
                    }
                }
            }
            assert!(matched > 100, "the probes must hit many grants, hit {matched}");
        }
    }
}
