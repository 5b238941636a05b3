//! A deterministic, realistic directory for benchmarks: users, groups, administrative units, the
//! built-in role catalog plus custom roles, and PIM instances (eligibilities and active
//! assignments) with time windows — and a query mix for access checks over it.
//!
//! Everything is derived from [`WorkloadSpec::seed`] through `ChaCha8Rng`, whose output is fixed
//! across `rand` versions, so the same spec always yields the same workload (ids included).
//!
//! Groups: Entra (and OpenPIM) forbid groups inside role-assignable groups, so the "nesting" here
//! is ordinary groups nested in ordinary groups ([`Group::parent`]), and users reach roles through
//! role-assignable groups whose members are users only. Ordinary groups never grant a role; they
//! are part of the directory a loader creates, not of the access index.
//!
//! Memory: the large spec (1M users, 5M instances) is kept compact — users and instances are
//! indices whose ids are derived on demand ([`Workload::user_id`], [`Workload::instance_id`]),
//! instances are 32-byte `Copy` records with windows in minutes relative to [`Workload::now`].

use openpim_core::access::{Grant, GrantSource};
use openpim_core::catalog;
use openpim_core::change::IndexUpdate;
use openpim_core::roles::{CustomRoleInput, RoleDefinition, RolePermission};
use openpim_core::scope::DirectoryScope;
use openpim_core::{Instant, ObjectId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;
use std::fmt;

/// The custom-role action namespace, the same file `openpim_core::catalog` validates against.
const CUSTOM_ROLE_ACTIONS: &str = include_str!("../../openpim-core/data/custom_role_actions.txt");

/// How big a workload is and how it is shaped.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadSpec {
    pub users: u32,
    /// Eligibilities plus active assignments.
    pub instances: u32,
    pub seed: u64,
    pub ordinary_groups: u32,
    pub role_assignable_groups: u32,
    pub administrative_units: u32,
    pub custom_roles: u32,
    /// Share of instances that are active assignments (the rest are eligibilities).
    pub active_share: f64,
    /// Share of instances held by a role-assignable group rather than a user.
    pub group_principal_share: f64,
    /// Share of instances scoped to an administrative unit rather than the tenant.
    pub au_scope_share: f64,
    /// The instant the workload is "now": windows are placed around it, and checks use it.
    pub now: Instant,
}

impl WorkloadSpec {
    /// Shaped like the other sizes, with `users` users and `instances` instances.
    pub fn sized(users: u32, instances: u32) -> Self {
        Self {
            users,
            instances,
            seed: 0x0BE7_C4A1,
            ordinary_groups: (users / 50).max(10),
            role_assignable_groups: (users / 500).max(10),
            administrative_units: (users / 500).max(5),
            custom_roles: 20,
            active_share: 0.3,
            group_principal_share: 0.01,
            au_scope_share: 0.15,
            now: time::macros::datetime!(2026-01-15 12:00 UTC),
        }
    }

    /// CI smoke size: 10k users, 50k instances.
    pub fn small() -> Self {
        Self::sized(10_000, 50_000)
    }

    /// 100k users, 500k instances.
    pub fn medium() -> Self {
        Self::sized(100_000, 500_000)
    }

    /// The benchmark size: 1M users, 5M instances.
    pub fn large() -> Self {
        Self::sized(1_000_000, 5_000_000)
    }

    /// `small`, `medium` or `large`.
    pub fn by_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "small" => Some(Self::small()),
            "medium" => Some(Self::medium()),
            "large" => Some(Self::large()),
            _ => None,
        }
    }

    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// An ordinary or role-assignable group. Members are user indices.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: ObjectId,
    pub display_name: String,
    pub is_assignable_to_role: bool,
    /// For ordinary groups: the ordinary group this one is nested in (always an earlier one, so
    /// nesting has no cycles). Role-assignable groups are never nested.
    pub parent: Option<u32>,
    pub members: Vec<u32>,
}

/// An administrative unit. Members are user indices.
#[derive(Debug, Clone, PartialEq)]
pub struct AdministrativeUnit {
    pub id: ObjectId,
    pub display_name: String,
    pub members: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InstanceKind {
    Eligibility,
    Active,
}

/// Who holds an instance: a user index or an index into [`Workload::groups`] (always a
/// role-assignable group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PrincipalRef {
    User(u32),
    Group(u32),
}

/// Where an instance applies: the tenant or an index into [`Workload::administrative_units`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScopeRef {
    Tenant,
    AdministrativeUnit(u32),
}

/// Window classes relative to [`Workload::now`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WindowClass {
    Permanent,
    /// Bounded and in effect now.
    Current,
    Expired,
    Future,
}

/// Minutes relative to `now` standing for "no start" / "no end".
pub const OPEN_START: i32 = i32::MIN;
pub const OPEN_END: i32 = i32::MAX;

/// One eligibility or active assignment: `role` indexes [`Workload::roles`]; the window is
/// `[start_min, end_min)` in minutes relative to [`Workload::now`] ([`OPEN_START`]/[`OPEN_END`]
/// when open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instance {
    pub kind: InstanceKind,
    pub principal: PrincipalRef,
    pub role: u16,
    pub scope: ScopeRef,
    pub start_min: i32,
    pub end_min: i32,
}

impl Instance {
    /// In effect at the workload's `now` (the same half-open rule as `Grant::is_effective`).
    pub fn is_current(&self) -> bool {
        self.start_min <= 0 && 0 < self.end_min
    }

    pub fn window_class(&self) -> WindowClass {
        match (self.start_min, self.end_min) {
            (OPEN_START, OPEN_END) => WindowClass::Permanent,
            _ if self.end_min <= 0 => WindowClass::Expired,
            _ if self.start_min > 0 => WindowClass::Future,
            _ => WindowClass::Current,
        }
    }
}

/// What a query was drawn to probe; its answer is whatever the engines say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryIntent {
    /// An action the role of an active, current grant allows, at a scope the grant covers.
    HeldAction,
    /// An action of a role the user is only eligible for.
    EligibleOnly,
    /// An action of an expired or future active assignment.
    OutsideWindow,
    /// A user who holds something, with an arbitrary action.
    OtherAction,
    /// An AU-scoped grant asked about at the tenant or another unit.
    WrongScope,
    /// Any user, any action.
    Anyone,
}

/// One access check: may `principal` (user `user`) perform `action` at `scope`?
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub user: u32,
    pub principal: ObjectId,
    pub action: String,
    pub scope: DirectoryScope,
    pub intent: QueryIntent,
}

/// How a disagreement report names the query.
impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "user{} ({}) {} at {} [{:?}]", self.user, self.principal, self.action, self.scope, self.intent)
    }
}

/// A generated directory. See the module docs for its shape.
#[derive(Debug, Clone)]
pub struct Workload {
    pub spec: WorkloadSpec,
    pub now: Instant,
    /// Ordinary groups first (`0..spec.ordinary_groups`), then role-assignable groups.
    pub groups: Vec<Group>,
    pub administrative_units: Vec<AdministrativeUnit>,
    /// The built-in catalog followed by the custom roles.
    pub roles: Vec<RoleDefinition>,
    pub instances: Vec<Instance>,
    /// Every concrete action string named by the catalog and the custom-role namespace,
    /// de-duplicated case-insensitively and sorted: the actions queries are drawn from.
    pub action_universe: Vec<String>,
    /// For each role, the indices into `action_universe` that it grants (per `RoleDefinition::grants`).
    pub role_actions: Vec<Vec<u32>>,
    /// For each user, the role-assignable groups (indices into `groups`) it belongs to.
    user_role_groups: Vec<Vec<u32>>,
}

/// Roles most tenants hand out; drawn more often than the rest of the catalog.
const POPULAR_ROLES: &[&str] = &[
    "User Administrator",
    "Helpdesk Administrator",
    "Groups Administrator",
    "Global Reader",
    "Security Reader",
    "Application Administrator",
    "Authentication Administrator",
    "Password Administrator",
    "License Administrator",
    "Security Administrator",
    "Exchange Administrator",
    "SharePoint Administrator",
    "Intune Administrator",
    "Teams Administrator",
    "Reports Reader",
    "Cloud Device Administrator",
];

/// Built-in roles Entra lets you assign at an administrative-unit scope (custom roles may be, too).
const AU_SCOPABLE_ROLES: &[&str] = &[
    "User Administrator",
    "Helpdesk Administrator",
    "Groups Administrator",
    "Authentication Administrator",
    "Password Administrator",
    "License Administrator",
    "Cloud Device Administrator",
    "Privileged Authentication Administrator",
];

const MINUTE: i32 = 1;
const HOUR: i32 = 60 * MINUTE;
const DAY: i32 = 24 * HOUR;

/// A v4-shaped id derived from (seed, kind, index) without storing it: splitmix64 is a bijection,
/// so distinct (kind, index) pairs give distinct first halves.
fn derived_id(seed: u64, kind: u8, index: u64) -> ObjectId {
    fn splitmix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    let key = splitmix(seed ^ ((kind as u64) << 56));
    let hi = splitmix(key ^ index);
    let lo = splitmix(hi ^ key.rotate_left(17));
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hi.to_be_bytes());
    bytes[8..].copy_from_slice(&lo.to_be_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

const KIND_USER: u8 = 1;
const KIND_INSTANCE: u8 = 2;

fn random_id(rng: &mut ChaCha8Rng) -> ObjectId {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

fn custom_action_list() -> Vec<&'static str> {
    CUSTOM_ROLE_ACTIONS.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect()
}

fn role_index_by_name(roles: &[RoleDefinition], names: &[&str]) -> Vec<u16> {
    names.iter().filter_map(|n| roles.iter().position(|r| r.display_name == *n)).map(|i| i as u16).collect()
}

impl Workload {
    /// Generates the workload for `spec`; the same spec always gives the same workload.
    pub fn generate(spec: &WorkloadSpec) -> Workload {
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        let now = spec.now;
        let users = spec.users.max(1);

        let groups = Self::generate_groups(spec, users, &mut rng);
        let administrative_units = Self::generate_units(spec, users, &mut rng);
        let roles = Self::generate_roles(spec, now, &mut rng);
        let action_universe = Self::action_universe(&roles);
        let role_actions = roles
            .iter()
            .map(|r| (0..action_universe.len() as u32).filter(|&a| r.grants(&action_universe[a as usize])).collect())
            .collect();
        let instances = Self::generate_instances(spec, users, &groups, &roles, &mut rng);

        let mut user_role_groups = vec![Vec::new(); users as usize];
        for (gi, g) in groups.iter().enumerate().filter(|(_, g)| g.is_assignable_to_role) {
            for &m in &g.members {
                user_role_groups[m as usize].push(gi as u32);
            }
        }
        Workload {
            spec: spec.clone(),
            now,
            groups,
            administrative_units,
            roles,
            instances,
            action_universe,
            role_actions,
            user_role_groups,
        }
    }

    fn generate_groups(spec: &WorkloadSpec, users: u32, rng: &mut ChaCha8Rng) -> Vec<Group> {
        let ordinary = spec.ordinary_groups.max(1);
        let mut groups: Vec<Group> = (0..ordinary)
            .map(|i| Group {
                id: random_id(rng),
                display_name: format!("Team {i}"),
                is_assignable_to_role: false,
                // About a third of ordinary groups sit inside an earlier one.
                parent: (i > 0 && rng.random_bool(0.3)).then(|| rng.random_range(0..i)),
                members: Vec::new(),
            })
            .collect();
        // Every user is in one to three ordinary groups.
        for u in 0..users {
            let k = rng.random_range(1..=3);
            for _ in 0..k {
                groups[rng.random_range(0..ordinary) as usize].members.push(u);
            }
        }
        for g in &mut groups {
            g.members.sort_unstable();
            g.members.dedup();
        }
        // Role-assignable groups hold 5 to 40 users each, drawn from the whole directory.
        for i in 0..spec.role_assignable_groups {
            let size = rng.random_range(5..=40).min(users);
            let mut members: Vec<u32> = (0..size).map(|_| rng.random_range(0..users)).collect();
            members.sort_unstable();
            members.dedup();
            groups.push(Group {
                id: random_id(rng),
                display_name: format!("Role group {i}"),
                is_assignable_to_role: true,
                parent: None,
                members,
            });
        }
        groups
    }

    fn generate_units(spec: &WorkloadSpec, users: u32, rng: &mut ChaCha8Rng) -> Vec<AdministrativeUnit> {
        let count = spec.administrative_units.max(1);
        let mut units: Vec<AdministrativeUnit> = (0..count)
            .map(|i| AdministrativeUnit {
                id: random_id(rng),
                display_name: format!("Region {i}"),
                members: Vec::new(),
            })
            .collect();
        // Three users in ten belong to one unit.
        for u in 0..users {
            if rng.random_bool(0.3) {
                units[rng.random_range(0..count) as usize].members.push(u);
            }
        }
        units
    }

    fn generate_roles(spec: &WorkloadSpec, now: Instant, rng: &mut ChaCha8Rng) -> Vec<RoleDefinition> {
        let mut roles = catalog::builtin_roles(now);
        let actions = custom_action_list();
        for i in 0..spec.custom_roles {
            let n = rng.random_range(3..=12);
            let mut picked: Vec<String> =
                (0..n).map(|_| actions[rng.random_range(0..actions.len())].to_string()).collect();
            picked.sort();
            picked.dedup();
            let input = CustomRoleInput {
                display_name: Some(format!("Bench custom role {i}")),
                description: Some(Some("Generated for benchmarks".into())),
                role_permissions: Some(vec![RolePermission { allowed_resource_actions: picked, ..Default::default() }]),
                ..Default::default()
            };
            // The actions come from the custom-role namespace itself, so validation cannot fail.
            let role = input.build(random_id(rng), now).expect("custom-role actions are valid by construction");
            roles.push(role);
        }
        roles
    }

    fn action_universe(roles: &[RoleDefinition]) -> Vec<String> {
        let mut seen = HashSet::new();
        let mut all: Vec<String> = roles
            .iter()
            .flat_map(|r| r.role_permissions.iter().flat_map(|p| p.allowed_resource_actions.iter().map(String::as_str)))
            .chain(custom_action_list())
            .filter(|a| seen.insert(a.to_ascii_lowercase()))
            .map(str::to_string)
            .collect();
        all.sort();
        all
    }

    fn generate_instances(
        spec: &WorkloadSpec,
        users: u32,
        groups: &[Group],
        roles: &[RoleDefinition],
        rng: &mut ChaCha8Rng,
    ) -> Vec<Instance> {
        let popular = role_index_by_name(roles, POPULAR_ROLES);
        let mut au_scopable = role_index_by_name(roles, AU_SCOPABLE_ROLES);
        // Custom roles too, when core's rule lets them be scoped to a unit (the API refuses the
        // others there, on assignment and on activation alike).
        au_scopable.extend(
            roles
                .iter()
                .enumerate()
                .filter(|(_, r)| !r.is_built_in && openpim_core::authz::can_scope_to_administrative_unit(r))
                .map(|(i, _)| i as u16),
        );
        let global_admin = roles.iter().position(|r| r.id == catalog::GLOBAL_ADMINISTRATOR).map(|i| i as u16);
        let role_groups: Vec<u32> =
            groups.iter().enumerate().filter(|(_, g)| g.is_assignable_to_role).map(|(i, _)| i as u32).collect();
        let units = spec.administrative_units.max(1);
        // Four in five instances go to a quarter of the users (the admin population).
        let admin_pool = (users / 4).max(1);

        let mut out = Vec::with_capacity(spec.instances as usize);
        for _ in 0..spec.instances {
            let kind =
                if rng.random_bool(spec.active_share) { InstanceKind::Active } else { InstanceKind::Eligibility };
            let principal = if !role_groups.is_empty() && rng.random_bool(spec.group_principal_share) {
                PrincipalRef::Group(role_groups[rng.random_range(0..role_groups.len())])
            } else if rng.random_bool(0.8) {
                PrincipalRef::User(rng.random_range(0..admin_pool))
            } else {
                PrincipalRef::User(rng.random_range(0..users))
            };
            let (role, scope) = if !au_scopable.is_empty() && rng.random_bool(spec.au_scope_share) {
                let role = au_scopable[rng.random_range(0..au_scopable.len())];
                (role, ScopeRef::AdministrativeUnit(rng.random_range(0..units)))
            } else {
                let draw: f64 = rng.random();
                let role = match global_admin {
                    Some(ga) if draw < 0.02 => ga,
                    _ if draw < 0.6 && !popular.is_empty() => popular[rng.random_range(0..popular.len())],
                    _ => rng.random_range(0..roles.len()) as u16,
                };
                (role, ScopeRef::Tenant)
            };
            let (start_min, end_min) = Self::window(kind, rng);
            out.push(Instance { kind, principal, role, scope, start_min, end_min });
        }
        out
    }

    /// Eligibilities: mostly permanent or long; actives: permanent assignments, activations of
    /// up to 8 hours (current, expired) and scheduled future assignments.
    fn window(kind: InstanceKind, rng: &mut ChaCha8Rng) -> (i32, i32) {
        let draw: f64 = rng.random();
        match kind {
            InstanceKind::Eligibility => {
                if draw < 0.5 {
                    (OPEN_START, OPEN_END)
                } else if draw < 0.8 {
                    (-rng.random_range(DAY..180 * DAY), rng.random_range(DAY..365 * DAY))
                } else if draw < 0.92 {
                    let end = -rng.random_range(MINUTE..90 * DAY);
                    (end - rng.random_range(DAY..365 * DAY), end)
                } else {
                    let start = rng.random_range(MINUTE..30 * DAY);
                    (start, start + rng.random_range(DAY..365 * DAY))
                }
            }
            InstanceKind::Active => {
                if draw < 0.35 {
                    (OPEN_START, OPEN_END)
                } else if draw < 0.75 {
                    // Started up to 8 h ago, ends in the future, lasts at most 8 h.
                    let start = -rng.random_range(0..8 * HOUR);
                    (start, rng.random_range(MINUTE..=8 * HOUR + start))
                } else if draw < 0.9 {
                    let end = -rng.random_range(MINUTE..30 * DAY);
                    (end - rng.random_range(HOUR..=8 * HOUR), end)
                } else {
                    let start = rng.random_range(MINUTE..14 * DAY);
                    (start, start + rng.random_range(HOUR..=8 * HOUR))
                }
            }
        }
    }

    pub fn user_count(&self) -> u32 {
        self.spec.users.max(1)
    }

    pub fn user_id(&self, user: u32) -> ObjectId {
        derived_id(self.spec.seed, KIND_USER, user as u64)
    }

    pub fn user_principal_name(&self, user: u32) -> String {
        format!("user{user}@bench.local")
    }

    pub fn user_display_name(&self, user: u32) -> String {
        format!("Bench User {user}")
    }

    /// The id of `instances[index]` (its schedule id when it is an active assignment).
    pub fn instance_id(&self, index: usize) -> ObjectId {
        derived_id(self.spec.seed, KIND_INSTANCE, index as u64)
    }

    pub fn principal_id(&self, p: PrincipalRef) -> ObjectId {
        match p {
            PrincipalRef::User(u) => self.user_id(u),
            PrincipalRef::Group(g) => self.groups[g as usize].id,
        }
    }

    pub fn directory_scope(&self, s: ScopeRef) -> DirectoryScope {
        match s {
            ScopeRef::Tenant => DirectoryScope::Tenant,
            ScopeRef::AdministrativeUnit(a) => {
                DirectoryScope::AdministrativeUnit(self.administrative_units[a as usize].id)
            }
        }
    }

    /// `minutes` relative to `now` as an instant; `None` for the open ends.
    pub fn instant(&self, minutes: i32) -> Option<Instant> {
        (minutes != OPEN_START && minutes != OPEN_END).then(|| self.now + time::Duration::minutes(i64::from(minutes)))
    }

    /// Role-assignable groups (indices into `groups`) that `user` belongs to.
    pub fn role_groups_of(&self, user: u32) -> &[u32] {
        &self.user_role_groups[user as usize]
    }

    /// The active assignment `instances[index]` as the access index's grant.
    pub fn grant(&self, index: usize) -> Grant {
        let i = &self.instances[index];
        let bounded_short = i.end_min != OPEN_END && i.start_min != OPEN_START && i.end_min - i.start_min <= 8 * HOUR;
        Grant {
            id: self.instance_id(index),
            principal_id: self.principal_id(i.principal),
            role_definition_id: self.roles[i.role as usize].id,
            scope: self.directory_scope(i.scope).into(),
            start: self.instant(i.start_min),
            end: self.instant(i.end_min),
            // Windows of up to 8 hours are activations; the rest are admin assignments.
            source: if bounded_short { GrantSource::Activated } else { GrantSource::Assigned },
        }
    }

    /// Everything an empty `AccessIndex` needs, in the order the store's loader produces it:
    /// roles, role-assignable groups, their members, then every active assignment as a grant
    /// (expired and future ones included: the index decides by window at check time).
    /// Eligibilities grant nothing until activated, so they are not here.
    pub fn index_updates(&self) -> impl Iterator<Item = IndexUpdate> + '_ {
        let roles = self.roles.iter().cloned().map(IndexUpdate::RoleDefinitionSaved);
        let role_groups = self.groups.iter().filter(|g| g.is_assignable_to_role);
        let saved = role_groups.clone().map(|g| IndexUpdate::GroupSaved {
            group_id: g.id,
            is_assignable_to_role: true,
            is_security_enabled: true,
        });
        let members = role_groups.flat_map(move |g| {
            g.members.iter().map(move |&m| IndexUpdate::MemberAdded { group_id: g.id, member_id: self.user_id(m) })
        });
        let grants = self
            .instances
            .iter()
            .enumerate()
            .filter(|(_, i)| i.kind == InstanceKind::Active)
            .map(|(idx, _)| IndexUpdate::GrantAdded(self.grant(idx)));
        roles.chain(saved).chain(members).chain(grants)
    }

    /// Users who would receive `p`'s rights: the user itself, or the group's members.
    fn holders(&self, p: PrincipalRef) -> &[u32] {
        match p {
            PrincipalRef::User(_) => &[],
            PrincipalRef::Group(g) => &self.groups[g as usize].members,
        }
    }

    fn pick_holder(&self, p: PrincipalRef, rng: &mut ChaCha8Rng) -> Option<u32> {
        match p {
            PrincipalRef::User(u) => Some(u),
            PrincipalRef::Group(_) => {
                let members = self.holders(p);
                (!members.is_empty()).then(|| members[rng.random_range(0..members.len())])
            }
        }
    }

    /// `n` access checks drawn from `seed`: about half are for actions that an active, current
    /// grant allows (directly or through a group, at the tenant or a unit), the rest probe
    /// eligibility-only roles, expired and future windows, unrelated actions, wrong scopes and
    /// users without roles. The answers are whatever the engines say; this only shapes the mix.
    pub fn queries(&self, n: usize, seed: u64) -> Vec<Query> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut current_active = Vec::new();
        let mut eligibilities = Vec::new();
        let mut outside_window = Vec::new();
        let mut au_scoped = Vec::new();
        for (idx, i) in self.instances.iter().enumerate() {
            match (i.kind, i.is_current()) {
                (InstanceKind::Active, true) => current_active.push(idx as u32),
                (InstanceKind::Active, false) => outside_window.push(idx as u32),
                (InstanceKind::Eligibility, _) => eligibilities.push(idx as u32),
            }
            if i.kind == InstanceKind::Active && matches!(i.scope, ScopeRef::AdministrativeUnit(_)) {
                au_scoped.push(idx as u32);
            }
        }
        let units = self.administrative_units.len() as u32;
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let draw: f64 = rng.random();
            let (intent, pool) = match draw {
                d if d < 0.45 => (QueryIntent::HeldAction, &current_active),
                d if d < 0.55 => (QueryIntent::EligibleOnly, &eligibilities),
                d if d < 0.65 => (QueryIntent::OutsideWindow, &outside_window),
                d if d < 0.80 => (QueryIntent::OtherAction, &current_active),
                d if d < 0.90 => (QueryIntent::WrongScope, &au_scoped),
                _ => (QueryIntent::Anyone, &current_active),
            };
            let random_action = |rng: &mut ChaCha8Rng| rng.random_range(0..self.action_universe.len() as u32);
            let query = if intent == QueryIntent::Anyone || pool.is_empty() {
                let user = rng.random_range(0..self.user_count());
                let scope = if rng.random_bool(0.7) {
                    ScopeRef::Tenant
                } else {
                    ScopeRef::AdministrativeUnit(rng.random_range(0..units))
                };
                Some((QueryIntent::Anyone, user, random_action(&mut rng), scope))
            } else {
                let inst = self.instances[pool[rng.random_range(0..pool.len())] as usize];
                let granted = &self.role_actions[inst.role as usize];
                let action = match intent {
                    QueryIntent::OtherAction => random_action(&mut rng),
                    _ if granted.is_empty() => random_action(&mut rng),
                    _ => granted[rng.random_range(0..granted.len())],
                };
                let scope = match (intent, inst.scope) {
                    (QueryIntent::WrongScope, ScopeRef::AdministrativeUnit(a)) => {
                        if units > 1 && rng.random_bool(0.5) {
                            ScopeRef::AdministrativeUnit((a + rng.random_range(1..units)) % units)
                        } else {
                            ScopeRef::Tenant
                        }
                    }
                    // A tenant-wide grant also covers every unit: ask about one sometimes.
                    (_, ScopeRef::Tenant) if rng.random_bool(0.3) => {
                        ScopeRef::AdministrativeUnit(rng.random_range(0..units))
                    }
                    (_, s) => s,
                };
                self.pick_holder(inst.principal, &mut rng).map(|user| (intent, user, action, scope))
            };
            if let Some((intent, user, action, scope)) = query {
                out.push(Query {
                    user,
                    principal: self.user_id(user),
                    action: self.action_universe[action as usize].clone(),
                    scope: self.directory_scope(scope),
                    intent,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openpim_core::access::AccessIndex;

    fn tiny() -> WorkloadSpec {
        WorkloadSpec::sized(2_000, 10_000)
    }

    #[test]
    fn same_seed_same_workload_other_seed_other_workload() {
        let a = Workload::generate(&tiny());
        let b = Workload::generate(&tiny());
        assert_eq!(a.instances, b.instances);
        assert_eq!(a.groups, b.groups);
        assert_eq!(a.administrative_units, b.administrative_units);
        assert_eq!(a.roles, b.roles);
        assert_eq!(a.user_id(7), b.user_id(7));
        assert_eq!(a.instance_id(9), b.instance_id(9));
        assert_eq!(a.queries(500, 3), b.queries(500, 3));
        let updates_a: Vec<_> = a.index_updates().collect();
        let updates_b: Vec<_> = b.index_updates().collect();
        assert_eq!(updates_a, updates_b);

        let c = Workload::generate(&tiny().with_seed(99));
        assert_ne!(a.instances, c.instances);
        assert_ne!(a.user_id(7), c.user_id(7));
        assert_ne!(a.queries(500, 3), a.queries(500, 4));
    }

    #[test]
    fn sizes_and_shape_match_the_spec() {
        let spec = WorkloadSpec::small();
        assert_eq!((spec.users, spec.instances), (10_000, 50_000));
        assert_eq!((WorkloadSpec::large().users, WorkloadSpec::large().instances), (1_000_000, 5_000_000));
        let w = Workload::generate(&spec);
        assert_eq!(w.instances.len(), 50_000);
        let ordinary = w.groups.iter().filter(|g| !g.is_assignable_to_role).count() as u32;
        let assignable = w.groups.iter().filter(|g| g.is_assignable_to_role).count() as u32;
        assert_eq!((ordinary, assignable), (spec.ordinary_groups, spec.role_assignable_groups));
        assert_eq!(w.administrative_units.len() as u32, spec.administrative_units);
        let builtin = w.roles.iter().filter(|r| r.is_built_in).count();
        assert_eq!(builtin, catalog::builtin_roles(w.now).len());
        assert_eq!(w.roles.len() - builtin, spec.custom_roles as usize);

        // Roughly 70/30 eligibilities to actives, every window class, both scopes and principals.
        let active = w.instances.iter().filter(|i| i.kind == InstanceKind::Active).count();
        assert!((13_000..17_000).contains(&active), "{active} actives");
        for class in [WindowClass::Permanent, WindowClass::Current, WindowClass::Expired, WindowClass::Future] {
            for kind in [InstanceKind::Active, InstanceKind::Eligibility] {
                assert!(w.instances.iter().any(|i| i.kind == kind && i.window_class() == class), "{kind:?} {class:?}");
            }
        }
        assert!(w.instances.iter().any(|i| matches!(i.principal, PrincipalRef::Group(_))));
        assert!(w.instances.iter().any(|i| matches!(i.scope, ScopeRef::AdministrativeUnit(_))));
        // Group-held instances are held by role-assignable groups only; nesting is acyclic.
        for i in &w.instances {
            if let PrincipalRef::Group(g) = i.principal {
                assert!(w.groups[g as usize].is_assignable_to_role);
            }
        }
        assert!(w.groups.iter().any(|g| g.parent.is_some()));
        for (i, g) in w.groups.iter().enumerate() {
            assert!(g.parent.is_none_or(|p| (p as usize) < i && !w.groups[p as usize].is_assignable_to_role));
        }
        // User ids are distinct.
        let ids: HashSet<_> = (0..w.user_count()).map(|u| w.user_id(u)).collect();
        assert_eq!(ids.len(), w.user_count() as usize);
        assert_eq!(w.user_principal_name(42), "user42@bench.local");
    }

    #[test]
    fn index_gets_only_active_assignments() {
        let w = Workload::generate(&tiny());
        let mut idx = AccessIndex::new();
        for u in w.index_updates() {
            idx.apply(u);
        }
        let active = w.instances.iter().filter(|i| i.kind == InstanceKind::Active).count();
        assert_eq!(idx.grant_count(), active);
        assert!(idx.role(&catalog::GLOBAL_ADMINISTRATOR).is_some());
    }

    #[test]
    fn queries_hit_both_answers_in_a_realistic_mix() {
        let w = Workload::generate(&WorkloadSpec::small());
        let mut idx = AccessIndex::new();
        for u in w.index_updates() {
            idx.apply(u);
        }
        let queries = w.queries(10_000, 1);
        assert_eq!(queries.len(), 10_000);
        let answers: Vec<_> = queries.iter().map(|q| idx.check(q.principal, &q.action, &q.scope, w.now)).collect();
        let allowed = answers.iter().filter(|a| a.is_some()).count();
        assert!((3_000..=7_000).contains(&allowed), "{allowed} of 10000 allowed");
        // Held actions are granted (an earlier expiry can't deny them: the grant is current).
        for (q, a) in queries.iter().zip(&answers) {
            if q.intent == QueryIntent::HeldAction {
                assert!(a.is_some(), "{q:?}");
            }
        }
        let via_group = answers.iter().flatten().filter(|p| p.via_group.is_some()).count();
        assert!(via_group > 0, "no query granted through a group");
        let at_unit = queries.iter().zip(&answers).filter(|(q, a)| a.is_some() && q.scope != DirectoryScope::Tenant);
        assert!(at_unit.count() > 0, "no query granted at a unit");
        assert!(queries.iter().zip(&answers).any(|(q, a)| q.intent == QueryIntent::OutsideWindow && a.is_none()));
    }
}
