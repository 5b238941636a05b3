//! A deterministic Azure RBAC workload: the ARM hierarchy (management groups under the tenant
//! root group, subscriptions, resource groups, resources and child resources), users and nested
//! security groups, the 928 built-in Azure roles plus custom roles with wildcards, role
//! assignments at every level with time windows, and a query mix for access checks over them.
//!
//! Everything derives from [`AzureSpec::seed`] through `ChaCha8Rng`, so the same spec always
//! gives the same workload and the same queries (ids included).
//!
//! Roles carrying an ABAC `condition` (a few built-in roles, e.g. the Key Vault and Storage
//! "Data Access Administrator" roles) are never assigned here: OpenPIM's index does not evaluate
//! conditions, and neither anchor would, so they would only add a difference nobody measures.

use openpim_core::access::{Grant, GrantSource};
use openpim_core::azure_catalog::{self, OperationKind};
use openpim_core::change::IndexUpdate;
use openpim_core::roles::{
    azure as azure_roles, AzureRoleProperties, PermissionDialect, RoleDefinition, RolePermission,
};
use openpim_core::scope::{ArmScope, ArmScopeKind, Scope};
use openpim_core::{Instant, ObjectId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeSet, HashMap};
use std::fmt;

/// How big an Azure workload is.
#[derive(Debug, Clone, PartialEq)]
pub struct AzureSpec {
    pub seed: u64,
    /// Children per management group at each level below the tenant root group.
    pub management_group_fanout: Vec<u32>,
    pub subscriptions: u32,
    pub resource_groups: u32,
    /// Top-level resources (a share of them also get one child resource).
    pub resources: u32,
    pub users: u32,
    pub groups: u32,
    pub assignments: u32,
    pub now: Instant,
}

impl AzureSpec {
    /// Agreement tests and the CI smoke run: 2,000 assignments over ~400 scopes.
    pub fn small() -> Self {
        AzureSpec {
            seed: 0x00A2_BE7C,
            management_group_fanout: vec![2, 2],
            subscriptions: 6,
            resource_groups: 24,
            resources: 300,
            users: 1_000,
            groups: 60,
            assignments: 2_000,
            now: time::macros::datetime!(2026-01-15 12:00 UTC),
        }
    }

    /// The benchmark size: 100,000 assignments, 10,000 resources, 20,000 users, 1,000 groups.
    pub fn large() -> Self {
        AzureSpec {
            management_group_fanout: vec![4, 3, 2],
            subscriptions: 200,
            resource_groups: 2_000,
            resources: 10_000,
            users: 20_000,
            groups: 1_000,
            assignments: 100_000,
            ..Self::small()
        }
    }

    /// `small` or `large`.
    pub fn by_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "small" => Some(Self::small()),
            "large" => Some(Self::large()),
            _ => None,
        }
    }

    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// One ARM scope of the workload. `text` is the canonical spelling (documented keywords, names as
/// generated); its ASCII-lowercased form is what `ArmScope::key` gives.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeNode {
    pub text: String,
    pub kind: ArmScopeKind,
    /// The scope directly above (management groups included); `None` for the tenant root group.
    pub parent: Option<u32>,
    pub children: Vec<u32>,
}

/// A security group; `parent` is the group it is a member of (groups nest up to three deep).
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityGroup {
    pub id: ObjectId,
    pub parent: Option<u32>,
    pub depth: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Principal {
    User(u32),
    Group(u32),
}

/// A role assignment: `role` indexes [`AzureWorkload::roles`], `scope` [`AzureWorkload::scopes`];
/// the window is `[start_min, end_min)` in minutes relative to `now` (`i32::MIN`/`i32::MAX`: open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assignment {
    pub principal: Principal,
    pub role: u16,
    pub scope: u32,
    pub start_min: i32,
    pub end_min: i32,
}

impl Assignment {
    pub fn is_current(&self) -> bool {
        self.start_min <= 0 && 0 < self.end_min
    }
}

/// The control plane (`actions`/`notActions`) or the data plane (`dataActions`/`notDataActions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Plane {
    Action,
    Data,
}

impl Plane {
    pub fn kind(self) -> OperationKind {
        match self {
            Plane::Action => OperationKind::Action,
            Plane::Data => OperationKind::DataAction,
        }
    }

    /// The (allowed, excluded) lists of a permission block for this plane.
    pub fn lists(self, p: &RolePermission) -> (&[String], &[String]) {
        match self {
            Plane::Action => (&p.allowed_resource_actions, &p.excluded_resource_actions),
            Plane::Data => (&p.allowed_data_actions, &p.excluded_data_actions),
        }
    }

    pub fn other(self) -> Plane {
        match self {
            Plane::Action => Plane::Data,
            Plane::Data => Plane::Action,
        }
    }
}

/// What a query was drawn to probe; its answer is whatever the engines say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Intent {
    /// An operation of a current assignment's role, at its scope or below (inheritance), for
    /// the user holding it or a member of the group holding it (nested groups included).
    Held,
    /// An operation a `notActions`/`notDataActions` entry of the assignment's role excludes.
    Excluded,
    /// A held operation asked on the other plane (a data action as an action, and the reverse).
    PlaneSwap,
    /// An operation of an expired or future assignment.
    OutsideWindow,
    /// A held operation at the assignment scope's parent or at an unrelated scope of its kind.
    WrongScope,
    /// A held operation asked for a random user.
    OtherUser,
    /// A random user, plane, operation and scope.
    Random,
}

/// One access check: may `principal` (user `user`) perform `operation` on `plane` at `scope`?
/// `scope` and `operation` are spelled as a client might send them (sometimes in another case).
#[derive(Debug, Clone, PartialEq)]
pub struct AzureQuery {
    pub user: u32,
    pub principal: ObjectId,
    pub plane: Plane,
    pub operation: String,
    pub scope: String,
    pub intent: Intent,
    /// The query's case was changed from the canonical spelling.
    pub case_changed: bool,
}

/// How a disagreement report names the query.
impl fmt::Display for AzureQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "user{} ({}) {:?} '{}' at '{}' [{:?}]",
            self.user, self.principal, self.plane, self.operation, self.scope, self.intent
        )
    }
}

/// A generated Azure tenant. See the module docs.
#[derive(Debug, Clone)]
pub struct AzureWorkload {
    pub spec: AzureSpec,
    pub now: Instant,
    /// `scopes[0]` is the tenant root group; every scope's parent comes before it.
    pub scopes: Vec<ScopeNode>,
    pub users: Vec<ObjectId>,
    pub groups: Vec<SecurityGroup>,
    /// For each user, the groups it is a direct member of.
    pub user_groups: Vec<Vec<u32>>,
    /// For each group, every user in it directly or through nested groups.
    pub group_users: Vec<Vec<u32>>,
    /// The 928 built-in Azure roles, then the custom roles.
    pub roles: Vec<RoleDefinition>,
    pub assignments: Vec<Assignment>,
}

const MINUTE: i32 = 1;
const HOUR: i32 = 60 * MINUTE;
const DAY: i32 = 24 * HOUR;
const OPEN_START: i32 = i32::MIN;
const OPEN_END: i32 = i32::MAX;

/// Built-in roles most tenants hand out, with their share (percent) of assignments. The rest go to
/// custom roles (10 %) and to any other built-in role without a condition (10 %).
const POPULAR_ROLES: &[(&str, u32)] = &[
    ("Reader", 22),
    ("Contributor", 14),
    ("Owner", 5),
    ("User Access Administrator", 2),
    ("Storage Blob Data Reader", 7),
    ("Storage Blob Data Contributor", 4),
    ("Virtual Machine Contributor", 5),
    ("Network Contributor", 4),
    ("Key Vault Secrets User", 4),
    ("Key Vault Reader", 2),
    ("Storage Account Contributor", 3),
    ("SQL DB Contributor", 3),
    ("Monitoring Reader", 3),
    ("Website Contributor", 2),
];

/// Custom roles: (name, permission blocks of (actions, notActions, dataActions, notDataActions)).
/// They use what built-ins rarely do: wildcards in the middle, a leading wildcard, upper case,
/// exclusions on both planes, and two blocks where the second grants what the first excludes.
type Block = (&'static [&'static str], &'static [&'static str], &'static [&'static str], &'static [&'static str]);
const CUSTOM_ROLES: &[(&str, &[Block])] = &[
    (
        "Bench VM Operator",
        &[(
            &[
                "Microsoft.Compute/virtualMachines/*",
                "Microsoft.Network/*/read",
                "Microsoft.Resources/subscriptions/resourceGroups/read",
            ],
            &["Microsoft.Compute/virtualMachines/delete"],
            &[],
            &[],
        )],
    ),
    (
        "Bench Blob Editor",
        &[(
            &["Microsoft.Storage/storageAccounts/*/read"],
            &[],
            &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"],
            &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete"],
        )],
    ),
    ("Bench Reader Without Key Vault", &[(&["*/read"], &["Microsoft.KeyVault/*"], &[], &[])]),
    ("Bench Network Admin", &[(&["Microsoft.Network/*"], &["Microsoft.Network/*/delete"], &[], &[])]),
    (
        "Bench SQL Two Blocks",
        &[
            (
                &["Microsoft.Sql/*"],
                &["Microsoft.Sql/servers/delete", "Microsoft.Sql/servers/databases/delete"],
                &[],
                &[],
            ),
            (&["Microsoft.Sql/servers/databases/delete"], &[], &[], &[]),
        ],
    ),
    (
        "Bench Key Vault Secrets",
        &[(
            &["Microsoft.KeyVault/vaults/read"],
            &[],
            &["Microsoft.KeyVault/vaults/secrets/*"],
            &["Microsoft.KeyVault/vaults/secrets/delete"],
        )],
    ),
    ("Bench Mid Wildcard", &[(&["*/virtualMachines/*/read", "Microsoft.Web/sites/*/action"], &[], &[], &[])]),
    (
        "Bench Upper Case",
        &[(&["MICROSOFT.COMPUTE/*/READ", "Microsoft.Storage/StorageAccounts/ListKeys/Action"], &[], &[], &[])],
    ),
];

/// (provider namespace, resource type, child resource type).
const RESOURCE_TYPES: &[(&str, &str, Option<&str>)] = &[
    ("Microsoft.Compute", "virtualMachines", Some("extensions")),
    ("Microsoft.Storage", "storageAccounts", Some("blobServices")),
    ("Microsoft.Network", "virtualNetworks", Some("subnets")),
    ("Microsoft.KeyVault", "vaults", None),
    ("Microsoft.Sql", "servers", Some("databases")),
    ("Microsoft.Web", "sites", None),
];

fn random_id(rng: &mut ChaCha8Rng) -> ObjectId {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

impl AzureWorkload {
    pub fn generate(spec: &AzureSpec) -> AzureWorkload {
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        let now = spec.now;
        let scopes = Self::generate_scopes(spec, &mut rng);
        let users: Vec<ObjectId> = (0..spec.users.max(1)).map(|_| random_id(&mut rng)).collect();
        let (groups, user_groups) = Self::generate_groups(spec, users.len() as u32, &mut rng);
        let mut group_users = vec![Vec::new(); groups.len()];
        for (u, direct) in user_groups.iter().enumerate() {
            let mut seen = BTreeSet::new();
            for &g in direct {
                let mut at = Some(g);
                while let Some(g) = at {
                    if seen.insert(g) {
                        group_users[g as usize].push(u as u32);
                    }
                    at = groups[g as usize].parent;
                }
            }
        }
        let mut roles = azure_roles::builtin_roles(now);
        let root = scopes[0].text.clone();
        for (name, blocks) in CUSTOM_ROLES {
            let id = random_id(&mut rng);
            roles.push(RoleDefinition {
                id,
                template_id: id,
                display_name: name.to_string(),
                description: "Generated for benchmarks".into(),
                is_built_in: false,
                is_enabled: true,
                is_privileged: false,
                version: None,
                dialect: PermissionDialect::Azure,
                role_permissions: blocks
                    .iter()
                    .map(|(a, na, d, nd)| RolePermission {
                        allowed_resource_actions: strings(a),
                        excluded_resource_actions: strings(na),
                        allowed_data_actions: strings(d),
                        excluded_data_actions: strings(nd),
                        ..Default::default()
                    })
                    .collect(),
                created: now,
                modified: now,
                azure: AzureRoleProperties {
                    assignable_scopes: vec![root.clone()],
                    created_by: None,
                    updated_by: None,
                },
            });
        }
        let assignments = Self::generate_assignments(spec, &scopes, &roles, users.len() as u32, groups.len(), &mut rng);
        AzureWorkload { spec: spec.clone(), now, scopes, users, groups, user_groups, group_users, roles, assignments }
    }

    fn generate_scopes(spec: &AzureSpec, rng: &mut ChaCha8Rng) -> Vec<ScopeNode> {
        let mut scopes: Vec<ScopeNode> = Vec::new();
        fn push(scopes: &mut Vec<ScopeNode>, text: String, kind: ArmScopeKind, parent: Option<u32>) -> u32 {
            let i = scopes.len() as u32;
            if let Some(p) = parent {
                scopes[p as usize].children.push(i);
            }
            scopes.push(ScopeNode { text, kind, parent, children: Vec::new() });
            i
        }
        let mg = |name: &str| format!("/providers/Microsoft.Management/managementGroups/{name}");
        // Azure names the tenant root group after the tenant id.
        let tenant = random_id(rng);
        push(&mut scopes, mg(&tenant.to_string()), ArmScopeKind::ManagementGroup, None);
        let mut level = vec![0u32];
        let mut all_groups = vec![0u32];
        for (depth, &fanout) in spec.management_group_fanout.iter().enumerate() {
            let mut next = Vec::new();
            for &parent in &level {
                for _ in 0..fanout {
                    let name = format!("bench-mg-{}-{}", depth + 1, next.len());
                    next.push(push(&mut scopes, mg(&name), ArmScopeKind::ManagementGroup, Some(parent)));
                }
            }
            all_groups.extend(&next);
            level = next;
        }
        let leaves = level;
        let subscriptions: Vec<u32> = (0..spec.subscriptions.max(1))
            .map(|_| {
                // Most subscriptions sit in a leaf group, some higher up (as landing zones do).
                let parent = if rng.random_bool(0.8) {
                    leaves[rng.random_range(0..leaves.len())]
                } else {
                    all_groups[rng.random_range(0..all_groups.len())]
                };
                let text = format!("/subscriptions/{}", random_id(rng));
                push(&mut scopes, text, ArmScopeKind::Subscription, Some(parent))
            })
            .collect();
        let resource_groups: Vec<u32> = (0..spec.resource_groups.max(1))
            .map(|i| {
                let sub = subscriptions[i as usize % subscriptions.len()];
                let text = format!("{}/resourceGroups/rg-{i}", scopes[sub as usize].text);
                push(&mut scopes, text, ArmScopeKind::ResourceGroup, Some(sub))
            })
            .collect();
        for i in 0..spec.resources {
            let rg = resource_groups[rng.random_range(0..resource_groups.len())];
            let (namespace, kind, child) = RESOURCE_TYPES[rng.random_range(0..RESOURCE_TYPES.len())];
            let text = format!("{}/providers/{namespace}/{kind}/res-{i}", scopes[rg as usize].text);
            let resource = push(&mut scopes, text, ArmScopeKind::Resource, Some(rg));
            if let Some(child) = child.filter(|_| rng.random_bool(0.25)) {
                let text = format!("{}/{child}/child-{i}", scopes[resource as usize].text);
                push(&mut scopes, text, ArmScopeKind::Resource, Some(resource));
            }
        }
        scopes
    }

    fn generate_groups(spec: &AzureSpec, users: u32, rng: &mut ChaCha8Rng) -> (Vec<SecurityGroup>, Vec<Vec<u32>>) {
        let count = spec.groups.max(1);
        let mut groups: Vec<SecurityGroup> = Vec::with_capacity(count as usize);
        for i in 0..count {
            let id = random_id(rng);
            // A third of the groups are members of an earlier group, at most three levels deep.
            let parent = if i > 0 && rng.random_bool(0.33) { Some(rng.random_range(0..i)) } else { None }
                .filter(|&p| groups[p as usize].depth < 2);
            let depth = parent.map_or(0, |p| groups[p as usize].depth + 1);
            groups.push(SecurityGroup { id, parent, depth });
        }
        // Every user is in one to three groups (so every user is known to each engine's group graph).
        let user_groups = (0..users)
            .map(|_| {
                let k = rng.random_range(1..=3);
                let mut gs: Vec<u32> = (0..k).map(|_| rng.random_range(0..count)).collect();
                gs.sort_unstable();
                gs.dedup();
                gs
            })
            .collect();
        (groups, user_groups)
    }

    fn generate_assignments(
        spec: &AzureSpec,
        scopes: &[ScopeNode],
        roles: &[RoleDefinition],
        users: u32,
        groups: usize,
        rng: &mut ChaCha8Rng,
    ) -> Vec<Assignment> {
        let popular: Vec<(u16, u32)> = POPULAR_ROLES
            .iter()
            .filter_map(|(name, weight)| {
                roles.iter().position(|r| r.is_built_in && r.display_name == *name).map(|i| (i as u16, *weight))
            })
            .collect();
        let popular_total: u32 = popular.iter().map(|(_, w)| w).sum();
        let custom: Vec<u16> =
            roles.iter().enumerate().filter(|(_, r)| !r.is_built_in).map(|(i, _)| i as u16).collect();
        let unconditioned: Vec<u16> = roles
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_built_in && r.role_permissions.iter().all(|p| p.condition.is_none()))
            .map(|(i, _)| i as u16)
            .collect();
        let by_kind = |kind: ArmScopeKind| -> Vec<u32> {
            scopes.iter().enumerate().filter(|(_, s)| s.kind == kind).map(|(i, _)| i as u32).collect()
        };
        let levels = [
            (by_kind(ArmScopeKind::ManagementGroup), 0.03),
            (by_kind(ArmScopeKind::Subscription), 0.15),
            (by_kind(ArmScopeKind::ResourceGroup), 0.40),
            (by_kind(ArmScopeKind::Resource), 0.42),
        ];
        let admin_pool = (users / 4).max(1);
        (0..spec.assignments)
            .map(|_| {
                let principal = if rng.random_bool(0.35) {
                    Principal::Group(rng.random_range(0..groups as u32))
                } else if rng.random_bool(0.8) {
                    Principal::User(rng.random_range(0..admin_pool))
                } else {
                    Principal::User(rng.random_range(0..users))
                };
                let draw = rng.random_range(0..100u32);
                let role = if draw < popular_total {
                    let mut left = draw;
                    popular
                        .iter()
                        .find(|(_, w)| {
                            if left < *w {
                                true
                            } else {
                                left -= w;
                                false
                            }
                        })
                        .map(|(r, _)| *r)
                } else {
                    None
                };
                let role = role.unwrap_or_else(|| {
                    if rng.random_bool(0.5) && !custom.is_empty() {
                        custom[rng.random_range(0..custom.len())]
                    } else {
                        unconditioned[rng.random_range(0..unconditioned.len())]
                    }
                });
                let mut at: f64 = rng.random();
                let pool = levels
                    .iter()
                    .find(|(pool, share)| {
                        at -= share;
                        at < 0.0 && !pool.is_empty()
                    })
                    .map_or(&levels[3].0, |(pool, _)| pool);
                let scope = pool[rng.random_range(0..pool.len())];
                let (start_min, end_min) = Self::window(rng);
                Assignment { principal, role, scope, start_min, end_min }
            })
            .collect()
    }

    /// Mostly permanent assignments; activations of up to 8 hours in effect now; some expired
    /// and some scheduled in the future.
    fn window(rng: &mut ChaCha8Rng) -> (i32, i32) {
        let draw: f64 = rng.random();
        if draw < 0.8 {
            (OPEN_START, OPEN_END)
        } else if draw < 0.9 {
            let start = -rng.random_range(0..8 * HOUR);
            (start, rng.random_range(MINUTE..=8 * HOUR + start))
        } else if draw < 0.95 {
            let end = -rng.random_range(MINUTE..30 * DAY);
            (end - rng.random_range(HOUR..=8 * HOUR), end)
        } else {
            let start = rng.random_range(MINUTE..14 * DAY);
            (start, start + rng.random_range(HOUR..=8 * HOUR))
        }
    }

    pub fn principal_id(&self, p: Principal) -> ObjectId {
        match p {
            Principal::User(u) => self.users[u as usize],
            Principal::Group(g) => self.groups[g as usize].id,
        }
    }

    pub fn instant(&self, minutes: i32) -> Option<Instant> {
        (minutes != OPEN_START && minutes != OPEN_END).then(|| self.now + time::Duration::minutes(i64::from(minutes)))
    }

    /// The id of `assignments[index]` (its grant id in the index).
    pub fn assignment_id(&self, index: usize) -> ObjectId {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.spec.seed.to_be_bytes());
        bytes[8..].copy_from_slice(&(index as u64).to_be_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    /// `scopes[i]` as the parsed ARM scope. Every generated scope parses (a test checks it).
    pub fn arm_scope(&self, i: u32) -> Option<ArmScope> {
        ArmScope::parse(&self.scopes[i as usize].text).ok()
    }

    /// Everything an empty `AccessIndex` needs, in the order the store's loader gives it: roles,
    /// the management-group tree (groups, then subscriptions), security groups and their
    /// memberships (nested groups first), then every assignment as a grant (expired and future
    /// ones included: the index decides by window at check time).
    pub fn index_updates(&self) -> Vec<IndexUpdate> {
        let mut out: Vec<IndexUpdate> = self.roles.iter().cloned().map(IndexUpdate::RoleDefinitionSaved).collect();
        for (i, s) in self.scopes.iter().enumerate() {
            let (Some(parent), ArmScopeKind::ManagementGroup | ArmScopeKind::Subscription) = (s.parent, s.kind) else {
                continue;
            };
            if let (Some(child), Some(parent)) = (self.arm_scope(i as u32), self.arm_scope(parent)) {
                out.push(IndexUpdate::ManagementGroupParentSet { child, parent: Some(parent) });
            }
        }
        out.extend(self.groups.iter().map(|g| IndexUpdate::GroupSaved {
            group_id: g.id,
            is_assignable_to_role: false,
            is_security_enabled: true,
        }));
        out.extend(self.groups.iter().filter_map(|g| {
            g.parent.map(|p| IndexUpdate::MemberAdded { group_id: self.groups[p as usize].id, member_id: g.id })
        }));
        for (u, gs) in self.user_groups.iter().enumerate() {
            out.extend(
                gs.iter().map(|&g| IndexUpdate::MemberAdded {
                    group_id: self.groups[g as usize].id,
                    member_id: self.users[u],
                }),
            );
        }
        for (i, a) in self.assignments.iter().enumerate() {
            let Some(scope) = self.arm_scope(a.scope) else { continue };
            out.push(IndexUpdate::GrantAdded(Grant {
                id: self.assignment_id(i),
                principal_id: self.principal_id(a.principal),
                role_definition_id: self.roles[a.role as usize].id,
                scope: Scope::Arm(scope),
                start: self.instant(a.start_min),
                end: self.instant(a.end_min),
                source: if a.start_min == OPEN_START { GrantSource::Assigned } else { GrantSource::Activated },
            }));
        }
        out
    }

    /// The (principal, role, scope) triples in effect at `now`, de-duplicated: what the anchors
    /// load (neither knows time; a deployment of either would reload when a window opens or
    /// closes). That favours them: OpenPIM holds every assignment and compares windows per check.
    pub fn effective_assignments(&self) -> BTreeSet<(Principal, u16, u32)> {
        self.assignments.iter().filter(|a| a.is_current()).map(|a| (a.principal, a.role, a.scope)).collect()
    }

    /// Users who receive `p`'s rights.
    fn holders(&self, p: Principal) -> &[u32] {
        match p {
            Principal::User(_) => &[],
            Principal::Group(g) => &self.group_users[g as usize],
        }
    }

    fn pick_holder(&self, p: Principal, rng: &mut ChaCha8Rng) -> Option<u32> {
        match p {
            Principal::User(u) => Some(u),
            Principal::Group(_) => {
                let members = self.holders(p);
                (!members.is_empty()).then(|| members[rng.random_range(0..members.len())])
            }
        }
    }

    /// `n` access checks drawn from `seed`; see [`Intent`] for the mix. The answers are whatever the
    /// engines say; this only shapes the mix.
    pub fn queries(&self, n: usize, seed: u64) -> Vec<AzureQuery> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut gen = QueryGen { w: self, expansions: HashMap::new() };
        let current: Vec<usize> = (0..self.assignments.len()).filter(|&i| self.assignments[i].is_current()).collect();
        let outside: Vec<usize> = (0..self.assignments.len()).filter(|&i| !self.assignments[i].is_current()).collect();
        let excluding: Vec<usize> = current
            .iter()
            .copied()
            .filter(|&i| {
                self.roles[self.assignments[i].role as usize]
                    .role_permissions
                    .iter()
                    .any(|p| !p.excluded_resource_actions.is_empty() || !p.excluded_data_actions.is_empty())
            })
            .collect();
        let with_data: Vec<usize> = current
            .iter()
            .copied()
            .filter(|&i| {
                self.roles[self.assignments[i].role as usize]
                    .role_permissions
                    .iter()
                    .any(|p| !p.allowed_data_actions.is_empty())
            })
            .collect();
        let universe: [Vec<&'static str>; 2] = [
            azure_catalog::operations(OperationKind::Action).collect(),
            azure_catalog::operations(OperationKind::DataAction).collect(),
        ];
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let draw: f64 = rng.random();
            let (intent, pool) = match draw {
                d if d < 0.40 => (Intent::Held, &current),
                d if d < 0.50 => (Intent::Excluded, &excluding),
                d if d < 0.58 => (Intent::PlaneSwap, if rng.random_bool(0.5) { &with_data } else { &current }),
                d if d < 0.63 => (Intent::OutsideWindow, &outside),
                d if d < 0.73 => (Intent::WrongScope, &current),
                d if d < 0.80 => (Intent::OtherUser, &current),
                _ => (Intent::Random, &current),
            };
            let query = if intent == Intent::Random || pool.is_empty() {
                let user = rng.random_range(0..self.users.len() as u32);
                let plane = if rng.random_bool(0.8) { Plane::Action } else { Plane::Data };
                let ops = &universe[plane as usize];
                let op = ops[rng.random_range(0..ops.len())].to_string();
                let scope = rng.random_range(0..self.scopes.len() as u32);
                Some((Intent::Random, user, plane, op, scope))
            } else {
                let a = self.assignments[pool[rng.random_range(0..pool.len())]];
                let found = if intent == Intent::Excluded {
                    gen.excluded_op(a.role, &mut rng)
                } else {
                    gen.held_op(a.role, intent == Intent::PlaneSwap, &mut rng)
                };
                let scope = match intent {
                    Intent::WrongScope => self.wrong_scope(a.scope, &mut rng),
                    _ => self.descendant(a.scope, &mut rng),
                };
                let user = match intent {
                    Intent::OtherUser => Some(rng.random_range(0..self.users.len() as u32)),
                    _ => self.pick_holder(a.principal, &mut rng),
                };
                match (found, user) {
                    (Some((plane, op)), Some(user)) => {
                        let plane = if intent == Intent::PlaneSwap { plane.other() } else { plane };
                        Some((intent, user, plane, op, scope))
                    }
                    _ => None,
                }
            };
            let Some((intent, user, plane, operation, scope)) = query else { continue };
            let mut scope = self.scopes[scope as usize].text.clone();
            let mut operation = operation;
            let case_changed = rng.random_bool(0.15);
            if case_changed {
                match rng.random_range(0..3) {
                    0 => {
                        operation = operation.to_ascii_lowercase();
                        scope = scope.to_ascii_uppercase();
                    }
                    1 => {
                        operation = operation.to_ascii_uppercase();
                        scope = scope.to_ascii_lowercase();
                    }
                    _ => {
                        operation = operation
                            .chars()
                            .map(|c| if rng.random_bool(0.5) { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
                            .collect();
                        scope = scope.replace("/resourceGroups/", "/resourcegroups/");
                    }
                }
            }
            out.push(AzureQuery {
                user,
                principal: self.users[user as usize],
                plane,
                operation,
                scope,
                intent,
                case_changed,
            });
        }
        out
    }

    /// `scope` or a scope up to three levels below it.
    fn descendant(&self, scope: u32, rng: &mut ChaCha8Rng) -> u32 {
        let mut at = scope;
        for _ in 0..rng.random_range(0..=3) {
            let children = &self.scopes[at as usize].children;
            if children.is_empty() {
                break;
            }
            at = children[rng.random_range(0..children.len())];
        }
        at
    }

    /// The parent of `scope`, or another scope of its kind.
    fn wrong_scope(&self, scope: u32, rng: &mut ChaCha8Rng) -> u32 {
        let node = &self.scopes[scope as usize];
        match node.parent {
            Some(p) if rng.random_bool(0.5) => p,
            _ => {
                let same: Vec<u32> = (0..self.scopes.len() as u32)
                    .filter(|&i| i != scope && self.scopes[i as usize].kind == node.kind)
                    .take(1_000)
                    .collect();
                if same.is_empty() {
                    scope
                } else {
                    same[rng.random_range(0..same.len())]
                }
            }
        }
    }
}

/// Operations for queries, from the catalog's expansion of role patterns (cached per pattern).
struct QueryGen<'w> {
    w: &'w AzureWorkload,
    expansions: HashMap<(String, Plane), Vec<&'static str>>,
}

impl QueryGen<'_> {
    /// An operation `pattern` covers: a registered one when the catalog has any, else the
    /// pattern with each `*` filled in.
    fn instance(&mut self, pattern: &str, plane: Plane, rng: &mut ChaCha8Rng) -> String {
        let ops = self
            .expansions
            .entry((pattern.to_string(), plane))
            .or_insert_with(|| azure_catalog::expand(pattern, plane.kind()));
        if ops.is_empty() {
            pattern.replace('*', "widgets/read")
        } else {
            ops[rng.random_range(0..ops.len())].to_string()
        }
    }

    /// An operation one of the role's allowed patterns covers (it may still be excluded), with its
    /// plane; with `prefer_data`, a data action when the role has any.
    fn held_op(&mut self, role: u16, prefer_data: bool, rng: &mut ChaCha8Rng) -> Option<(Plane, String)> {
        let perms = &self.w.roles[role as usize].role_permissions;
        let has = |plane: Plane| perms.iter().any(|p| !plane.lists(p).0.is_empty());
        let plane = match (has(Plane::Action), has(Plane::Data)) {
            (true, true) if prefer_data || rng.random_bool(0.3) => Plane::Data,
            (true, _) => Plane::Action,
            (false, true) => Plane::Data,
            (false, false) => return None,
        };
        let blocks: Vec<&RolePermission> = perms.iter().filter(|p| !plane.lists(p).0.is_empty()).collect();
        let (allowed, _) = plane.lists(blocks[rng.random_range(0..blocks.len())]);
        let pattern = allowed[rng.random_range(0..allowed.len())].clone();
        Some((plane, self.instance(&pattern, plane, rng)))
    }

    /// An operation one of the role's excluded patterns covers.
    fn excluded_op(&mut self, role: u16, rng: &mut ChaCha8Rng) -> Option<(Plane, String)> {
        let perms = &self.w.roles[role as usize].role_permissions;
        let mut candidates = Vec::new();
        for p in perms {
            for plane in [Plane::Action, Plane::Data] {
                candidates.extend(plane.lists(p).1.iter().map(|x| (plane, x.clone())));
            }
        }
        if candidates.is_empty() {
            return None;
        }
        let (plane, pattern) = candidates.swap_remove(rng.random_range(0..candidates.len()));
        Some((plane, self.instance(&pattern, plane, rng)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_workload_other_seed_other_workload() {
        let a = AzureWorkload::generate(&AzureSpec::small());
        let b = AzureWorkload::generate(&AzureSpec::small());
        assert_eq!(a.scopes, b.scopes);
        assert_eq!(a.users, b.users);
        assert_eq!(a.assignments, b.assignments);
        assert_eq!(a.roles, b.roles);
        assert_eq!(a.queries(300, 3), b.queries(300, 3));
        assert_eq!(a.index_updates(), b.index_updates());
        let c = AzureWorkload::generate(&AzureSpec::small().with_seed(99));
        assert_ne!(a.assignments, c.assignments);
        assert_ne!(a.queries(300, 3), a.queries(300, 4));
    }

    #[test]
    fn shape_matches_the_spec() {
        let spec = AzureSpec::small();
        let w = AzureWorkload::generate(&spec);
        assert_eq!(w.assignments.len(), 2_000);
        assert_eq!(w.users.len(), 1_000);
        assert_eq!(w.roles.iter().filter(|r| r.is_built_in).count(), 928);
        assert_eq!(w.roles.iter().filter(|r| !r.is_built_in).count(), CUSTOM_ROLES.len());
        // Every popular role name resolves to a built-in role without a condition.
        for (name, _) in POPULAR_ROLES {
            let r = w.roles.iter().find(|r| r.display_name == *name).unwrap_or_else(|| panic!("{name} missing"));
            assert!(r.role_permissions.iter().all(|p| p.condition.is_none()), "{name} has a condition");
        }
        // Every scope parses, its parent is the parsed parent (management groups through the tree).
        let mut index = openpim_core::access::AccessIndex::new();
        for u in w.index_updates() {
            index.apply(u);
        }
        for (i, s) in w.scopes.iter().enumerate() {
            let parsed = w.arm_scope(i as u32).unwrap_or_else(|| panic!("{} does not parse", s.text));
            assert_eq!(parsed.key(), s.text.to_ascii_lowercase());
            assert_eq!(parsed.kind(), s.kind);
            // ARM's root `/` is the tenant root group's parent; the workload does not model it.
            let parent = parsed.parent_in(index.management_groups()).filter(|p| !p.is_root());
            assert_eq!(
                parent.map(|p| p.key().to_string()),
                s.parent.map(|p| w.scopes[p as usize].text.to_ascii_lowercase())
            );
        }
        assert_eq!(index.grant_count(), w.assignments.len());
        // Every level holds assignments, groups nest, windows of every kind exist.
        for kind in [
            ArmScopeKind::ManagementGroup,
            ArmScopeKind::Subscription,
            ArmScopeKind::ResourceGroup,
            ArmScopeKind::Resource,
        ] {
            assert!(w.assignments.iter().any(|a| w.scopes[a.scope as usize].kind == kind), "{kind:?}");
        }
        assert!(w.groups.iter().any(|g| g.depth == 2));
        assert!(w.assignments.iter().any(|a| !a.is_current()));
        assert!(w.assignments.iter().any(|a| matches!(a.principal, Principal::Group(_))));
        assert!(w.assignments.iter().any(|a| !w.roles[a.role as usize].is_built_in));
    }
}
