//! Point-in-time access: who held which role when, from the store's append-only history.
//!
//! The store keeps three kinds of historical facts (see `openpim-store/src/history.rs`): grant
//! intervals (a role held by a principal or group at a scope), direct group memberships, and what
//! a group passed on (directory roles when role-assignable, Azure roles when security-enabled).
//! This module turns the facts the server loaded for one question into answers, with the same
//! rules the live access index applies:
//!
//! - `AccessIndex::as_of` (in `access.rs`) rebuilds the index as it was at an instant, so an access
//!   check at that instant walks exactly the paths the live check walks (its explanation too).
//! - [`held_intervals`] lists when a principal held each role: directly, or through a
//!   role-assignable group it was a direct member of (directory roles: they do not nest), or
//!   through a security group it was in, directly or through nested groups (Azure roles). Intervals
//!   of the same path (role, scope, assignment type, group) are merged where they overlap or touch.
//!
//! Role definitions are taken as they are now: what a role allowed in the past is not kept.

use crate::access::{Grant, GrantSource};
use crate::scope::Scope;
use crate::{Instant, ObjectId};
use std::collections::{HashMap, HashSet};

/// A half-open interval `[from, to)`; `to: None` is open-ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub from: Instant,
    pub to: Option<Instant>,
}

impl Interval {
    pub fn new(from: Instant, to: Option<Instant>) -> Self {
        Interval { from, to }
    }

    pub fn is_empty(&self) -> bool {
        self.to.is_some_and(|t| t <= self.from)
    }

    pub fn contains(&self, at: Instant) -> bool {
        self.from <= at && self.to.is_none_or(|t| at < t)
    }

    /// The common part, or `None` when there is none.
    pub fn intersect(&self, other: &Interval) -> Option<Interval> {
        let to = match (self.to, other.to) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let i = Interval { from: self.from.max(other.from), to };
        (!i.is_empty()).then_some(i)
    }
}

/// Sorts `intervals` and merges those that overlap or touch (`[a,b)` and `[b,c)` become `[a,c)`):
/// an activation renewed at the instant it ended is one uninterrupted holding.
pub fn merge(mut intervals: Vec<Interval>) -> Vec<Interval> {
    intervals.retain(|i| !i.is_empty());
    intervals.sort_by_key(|i| i.from);
    let mut merged: Vec<Interval> = Vec::with_capacity(intervals.len());
    for i in intervals {
        match merged.last_mut() {
            Some(last) if last.to.is_none_or(|t| i.from <= t) => {
                last.to = match (last.to, i.to) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
            }
            _ => merged.push(i),
        }
    }
    merged
}

/// Every interval of `a` intersected with every interval of `b` (both merged), merged.
fn intersect_all(a: &[Interval], b: &[Interval]) -> Vec<Interval> {
    let mut out = Vec::new();
    for x in a {
        for y in b {
            if let Some(i) = x.intersect(y) {
                out.push(i);
            }
        }
    }
    merge(out)
}

/// `member_id` was a direct member of `group_id` during `during`.
#[derive(Debug, Clone, PartialEq)]
pub struct MembershipRecord {
    pub group_id: ObjectId,
    pub member_id: ObjectId,
    pub during: Interval,
}

/// What `group_id` passed on to its members during `during`.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupKindRecord {
    pub group_id: ObjectId,
    pub is_assignable_to_role: bool,
    pub is_security_enabled: bool,
    pub during: Interval,
}

/// The historical facts the store loaded for one question. Grants carry the interval in which
/// they granted as their window (`start` is always set).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryFacts {
    pub grants: Vec<Grant>,
    pub memberships: Vec<MembershipRecord>,
    pub group_kinds: Vec<GroupKindRecord>,
}

/// A grant's window as an interval (a grant without a start has granted since the beginning of
/// the history, which the store never writes: every history row has its start).
pub fn grant_interval(g: &Grant) -> Interval {
    Interval { from: g.start.unwrap_or(time::OffsetDateTime::UNIX_EPOCH), to: g.end }
}

/// A path by which a principal held a role during some intervals.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldInterval {
    pub principal_id: ObjectId,
    pub role_definition_id: ObjectId,
    pub scope: Scope,
    pub source: GrantSource,
    /// The group that held the grant on the principal's behalf (`None`: held directly).
    pub via_group: Option<ObjectId>,
    pub during: Interval,
}

/// When `principal` held roles within `window`, by path, merged per path and sorted by start
/// (then role, scope and path, so pages are stable). `role` keeps only that role's intervals.
pub fn held_intervals(
    principal: ObjectId,
    facts: &HistoryFacts,
    window: Interval,
    role: Option<ObjectId>,
) -> Vec<HeldInterval> {
    let reach = group_reach(principal, &facts.memberships, window);
    let direct: HashMap<ObjectId, Vec<Interval>> = {
        let mut d: HashMap<ObjectId, Vec<Interval>> = HashMap::new();
        for m in facts.memberships.iter().filter(|m| m.member_id == principal) {
            if let Some(i) = m.during.intersect(&window) {
                d.entry(m.group_id).or_default().push(i);
            }
        }
        d.into_iter().map(|(g, v)| (g, merge(v))).collect()
    };
    let kind = |group: ObjectId, pick: fn(&GroupKindRecord) -> bool| -> Vec<Interval> {
        merge(facts.group_kinds.iter().filter(|k| k.group_id == group && pick(k)).map(|k| k.during).collect())
    };
    type PathKey = (ObjectId, String, bool, Option<ObjectId>);
    let mut paths: HashMap<PathKey, (Scope, GrantSource, Vec<Interval>)> = HashMap::new();
    for g in facts.grants.iter().filter(|g| role.is_none_or(|r| g.role_definition_id == r)) {
        let Some(held) = grant_interval(g).intersect(&window) else { continue };
        let (via, during) = if g.principal_id == principal {
            (None, vec![held])
        } else {
            let group = g.principal_id;
            let (membership, passes_on) = match &g.scope {
                // Entra roles pass only to direct members of a role-assignable group.
                Scope::Directory(_) => (direct.get(&group), kind(group, |k| k.is_assignable_to_role)),
                // Azure roles pass through any security group, nested groups too.
                Scope::Arm(_) => (reach.get(&group), kind(group, |k| k.is_security_enabled)),
            };
            let Some(membership) = membership else { continue };
            (Some(group), intersect_all(&intersect_all(membership, &passes_on), &[held]))
        };
        if during.is_empty() {
            continue;
        }
        let key = (g.role_definition_id, g.scope.key().to_string(), g.source == GrantSource::Activated, via);
        paths.entry(key).or_insert_with(|| (g.scope.clone(), g.source, Vec::new())).2.extend(during);
    }
    let mut out: Vec<HeldInterval> = paths
        .into_iter()
        .flat_map(|((role_definition_id, _, _, via_group), (scope, source, intervals))| {
            merge(intervals).into_iter().map(move |during| HeldInterval {
                principal_id: principal,
                role_definition_id,
                scope: scope.clone(),
                source,
                via_group,
                during,
            })
        })
        .collect();
    order(&mut out);
    out
}

/// The order answers list intervals in: by start, then principal, role, scope and path, so a page
/// boundary falls at the same place on every request.
pub fn order(intervals: &mut [HeldInterval]) {
    intervals.sort_by_cached_key(|h| {
        (
            h.during.from,
            h.principal_id,
            h.role_definition_id,
            h.scope.key(),
            h.source == GrantSource::Activated,
            h.via_group,
        )
    });
}

/// For every group `principal` was in within `window`, directly or through nested groups, the
/// merged intervals in which it was (a chain counts while every link of it held). Membership
/// cycles end: a group's intervals only grow, and stop growing.
fn group_reach(
    principal: ObjectId,
    memberships: &[MembershipRecord],
    window: Interval,
) -> HashMap<ObjectId, Vec<Interval>> {
    let mut by_member: HashMap<ObjectId, Vec<&MembershipRecord>> = HashMap::new();
    for m in memberships {
        by_member.entry(m.member_id).or_default().push(m);
    }
    let mut reach: HashMap<ObjectId, Vec<Interval>> = HashMap::new();
    let mut queue = vec![(principal, vec![window])];
    // Bounds the work on pathological data; each round only adds time not reached before.
    let mut budget = 10_000usize;
    while let Some((member, during)) = queue.pop() {
        budget = budget.saturating_sub(1);
        if budget == 0 {
            break;
        }
        for m in by_member.get(&member).into_iter().flatten() {
            let reached = intersect_all(&during, &[m.during]);
            if reached.is_empty() || m.group_id == principal {
                continue;
            }
            let known = reach.entry(m.group_id).or_default();
            let grown = merge(known.iter().chain(&reached).copied().collect());
            if grown != *known {
                *known = grown;
                queue.push((m.group_id, reached));
            }
        }
    }
    reach
}

/// The groups `principal` is in at `at` through the facts, directly or nested (for the store to
/// load their grants); the facts' memberships may reach further than needed.
pub fn groups_at(principal: ObjectId, memberships: &[MembershipRecord], at: Instant) -> HashSet<ObjectId> {
    let mut seen = HashSet::new();
    let mut queue = vec![principal];
    while let Some(member) = queue.pop() {
        for m in memberships.iter().filter(|m| m.member_id == member && m.during.contains(at)) {
            if m.group_id != principal && seen.insert(m.group_id) {
                queue.push(m.group_id);
            }
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::{ArmScope, DirectoryScope};
    use time::macros::datetime;

    fn t(h: u8) -> Instant {
        datetime!(2026-03-01 00:00 UTC) + time::Duration::hours(i64::from(h))
    }

    fn iv(a: u8, b: Option<u8>) -> Interval {
        Interval::new(t(a), b.map(t))
    }

    fn grant(principal: ObjectId, role: ObjectId, scope: Scope, during: Interval, source: GrantSource) -> Grant {
        Grant {
            id: ObjectId::new_v4(),
            principal_id: principal,
            role_definition_id: role,
            scope,
            start: Some(during.from),
            end: during.to,
            source,
        }
    }

    fn member(group: ObjectId, member: ObjectId, during: Interval) -> MembershipRecord {
        MembershipRecord { group_id: group, member_id: member, during }
    }

    fn kind(group: ObjectId, assignable: bool, security: bool, during: Interval) -> GroupKindRecord {
        GroupKindRecord { group_id: group, is_assignable_to_role: assignable, is_security_enabled: security, during }
    }

    fn arm() -> Scope {
        Scope::Arm(ArmScope::parse("/subscriptions/00000000-0000-0000-0000-000000000001").unwrap())
    }

    #[test]
    fn merge_joins_overlapping_and_touching_intervals_only() {
        let merged =
            merge(vec![iv(5, Some(6)), iv(1, Some(3)), iv(3, Some(4)), iv(2, Some(3)), iv(8, None), iv(9, Some(10))]);
        assert_eq!(merged, vec![iv(1, Some(4)), iv(5, Some(6)), iv(8, None)]);
        assert_eq!(merge(vec![iv(2, Some(2))]), vec![], "an empty interval holds nothing");
    }

    #[test]
    fn intersect_respects_open_ends() {
        assert_eq!(iv(1, None).intersect(&iv(3, Some(5))), Some(iv(3, Some(5))));
        assert_eq!(iv(1, Some(3)).intersect(&iv(3, Some(5))), None, "half-open: touching is not overlapping");
        assert_eq!(iv(1, None).intersect(&iv(2, None)), Some(iv(2, None)));
    }

    #[test]
    fn direct_activations_merge_per_path_and_clip_to_the_window() {
        let (alice, role) = (ObjectId::new_v4(), ObjectId::new_v4());
        let tenant = Scope::Directory(DirectoryScope::Tenant);
        let facts = HistoryFacts {
            grants: vec![
                grant(alice, role, tenant.clone(), iv(1, Some(3)), GrantSource::Activated),
                grant(alice, role, tenant.clone(), iv(3, Some(4)), GrantSource::Activated),
                grant(alice, role, tenant.clone(), iv(6, Some(8)), GrantSource::Activated),
                grant(alice, role, tenant.clone(), iv(0, None), GrantSource::Assigned),
            ],
            ..Default::default()
        };
        let held = held_intervals(alice, &facts, iv(2, Some(7)), None);
        let activated: Vec<_> = held.iter().filter(|h| h.source == GrantSource::Activated).map(|h| h.during).collect();
        assert_eq!(activated, vec![iv(2, Some(4)), iv(6, Some(7))]);
        let assigned: Vec<_> = held.iter().filter(|h| h.source == GrantSource::Assigned).map(|h| h.during).collect();
        assert_eq!(assigned, vec![iv(2, Some(7))], "a separate path is not merged into the others");
        assert!(held.iter().all(|h| h.via_group.is_none() && h.principal_id == alice));
    }

    #[test]
    fn directory_roles_pass_only_to_direct_members_of_role_assignable_groups() {
        let (bob, g, outer, plain, role) =
            (ObjectId::new_v4(), ObjectId::new_v4(), ObjectId::new_v4(), ObjectId::new_v4(), ObjectId::new_v4());
        let tenant = Scope::Directory(DirectoryScope::Tenant);
        let facts = HistoryFacts {
            grants: vec![
                grant(g, role, tenant.clone(), iv(0, None), GrantSource::Assigned),
                grant(outer, role, tenant.clone(), iv(0, None), GrantSource::Assigned),
                grant(plain, role, tenant.clone(), iv(0, None), GrantSource::Assigned),
            ],
            memberships: vec![
                member(g, bob, iv(2, Some(5))),
                member(outer, g, iv(0, None)),
                member(plain, bob, iv(0, None)),
            ],
            group_kinds: vec![
                kind(g, true, true, iv(0, None)),
                kind(outer, true, true, iv(0, None)),
                kind(plain, false, true, iv(0, None)),
            ],
        };
        let held = held_intervals(bob, &facts, iv(0, Some(10)), Some(role));
        assert_eq!(held.len(), 1, "{held:?}");
        assert_eq!(held[0].via_group, Some(g));
        assert_eq!(held[0].during, iv(2, Some(5)));
    }

    #[test]
    fn azure_roles_pass_through_nested_security_groups_while_every_link_holds() {
        let (carol, inner, outer, role) =
            (ObjectId::new_v4(), ObjectId::new_v4(), ObjectId::new_v4(), ObjectId::new_v4());
        let facts = HistoryFacts {
            grants: vec![grant(outer, role, arm(), iv(1, Some(9)), GrantSource::Assigned)],
            memberships: vec![member(inner, carol, iv(2, Some(6))), member(outer, inner, iv(4, Some(8)))],
            group_kinds: vec![kind(inner, false, false, iv(0, None)), kind(outer, false, true, iv(0, Some(5)))],
        };
        let held = held_intervals(carol, &facts, iv(0, None), None);
        assert_eq!(held.len(), 1, "{held:?}");
        assert_eq!(held[0].via_group, Some(outer));
        // In inner [2,6), inner in outer [4,8), outer a security group [0,5), grant [1,9).
        assert_eq!(held[0].during, iv(4, Some(5)));
    }

    #[test]
    fn membership_cycles_end() {
        let (a, b, dave, role) = (ObjectId::new_v4(), ObjectId::new_v4(), ObjectId::new_v4(), ObjectId::new_v4());
        let facts = HistoryFacts {
            grants: vec![grant(b, role, arm(), iv(0, None), GrantSource::Assigned)],
            memberships: vec![member(a, dave, iv(1, Some(3))), member(b, a, iv(0, None)), member(a, b, iv(0, None))],
            group_kinds: vec![kind(a, false, true, iv(0, None)), kind(b, false, true, iv(0, None))],
        };
        let held = held_intervals(dave, &facts, iv(0, None), None);
        assert_eq!(held.iter().map(|h| (h.via_group, h.during)).collect::<Vec<_>>(), vec![(Some(b), iv(1, Some(3)))]);
        assert_eq!(groups_at(dave, &facts.memberships, t(2)), HashSet::from([a, b]));
        assert!(groups_at(dave, &facts.memberships, t(3)).is_empty());
    }
}
