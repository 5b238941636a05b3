//! Desired (the file) against actual (what the API answered) → a list of typed changes, in the
//! order `apply` carries them out. Pure: no I/O, the clock is an argument, so every kind of
//! change, refusal and warning is unit-tested here.

use super::model::{
    AssignmentSpec, AzureAssignmentSpec, AzureCustomRole, CustomRole, PimFile, Rule, Rules, ROOT_SCOPE, VERSION,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

/// Global Administrator's id (built-in roles' ids are their template ids).
use openpim_core::catalog::GLOBAL_ADMINISTRATOR;

/// An assignment may not be removed in its first five minutes (core's `MINIMUM_DURATION`).
pub const REMOVAL_LOCK: time::Duration = time::Duration::minutes(5);

/// The two PIM collections the file manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AssignmentKind {
    Eligible,
    Active,
}

impl AssignmentKind {
    pub fn label(self) -> &'static str {
        match self {
            AssignmentKind::Eligible => "eligible",
            AssignmentKind::Active => "active",
        }
    }
}

/// A role definition as the server has it.
#[derive(Debug, Clone)]
pub struct ActualRole {
    pub id: Uuid,
    pub template_id: Option<Uuid>,
    pub display_name: String,
    /// `None` for built-in roles.
    pub custom: Option<CustomRole>,
}

#[derive(Debug, Clone)]
pub struct ActualGroup {
    pub id: Uuid,
    pub display_name: String,
    pub description: Option<String>,
    pub role_assignable: bool,
    /// Members by UPN (or group name), role-assignable groups only.
    pub members: Vec<(Uuid, String)>,
}

/// A live schedule (eligible, or active of type `Assigned`).
#[derive(Debug, Clone)]
pub struct ActualAssignment {
    pub principal_id: Uuid,
    /// UPN or group name.
    pub principal: String,
    pub role_id: Uuid,
    pub scope: String,
    /// When it starts, only when that is still ahead (a started one compares as started).
    pub start: Option<OffsetDateTime>,
    pub end: Option<OffsetDateTime>,
    pub created: OffsetDateTime,
}

/// What the server has, in the file's terms where it matters.
#[derive(Debug, Clone, Default)]
pub struct Actual {
    pub roles: Vec<ActualRole>,
    /// Every user: (id, UPN).
    pub users: Vec<(Uuid, String)>,
    /// Every group (members only of role-assignable ones).
    pub groups: Vec<ActualGroup>,
    /// Every service principal: (object id, appId, display name).
    pub service_principals: Vec<(Uuid, Uuid, String)>,
    /// Rules (complete, normalised) of each role's policy at `/`, by role id.
    pub settings: HashMap<Uuid, BTreeMap<String, Rule>>,
    pub eligibilities: Vec<ActualAssignment>,
    pub assignments: Vec<ActualAssignment>,
    /// The Azure side, when the file has an `azure` section (or export asked for it).
    pub azure: Option<ActualAzure>,
}

/// An Azure role definition as ARM lists it at the tenant.
#[derive(Debug, Clone)]
pub struct ActualAzureRole {
    /// The role's GUID (`name` in ARM).
    pub id: Uuid,
    pub role_name: String,
    /// `None` for built-in roles.
    pub custom: Option<AzureCustomRole>,
}

/// What ARM has: every Azure role, and the live eligible and active (`Assigned`) schedules
/// at every scope below the tenant root, `scope` as ARM writes it.
#[derive(Debug, Clone, Default)]
pub struct ActualAzure {
    pub roles: Vec<ActualAzureRole>,
    pub eligibilities: Vec<ActualAssignment>,
    pub assignments: Vec<ActualAssignment>,
}

impl ActualAzure {
    pub fn role(&self, id: Uuid) -> Option<&ActualAzureRole> {
        self.roles.iter().find(|r| r.id == id)
    }
}

/// The Azure Owner role's GUID (the last-Owner rule's role).
pub const AZURE_OWNER: Uuid = uuid::uuid!("8e3af657-a8ff-443c-a75c-2fe8c4bcb635");

impl Actual {
    pub fn role(&self, id: Uuid) -> Option<&ActualRole> {
        self.roles.iter().find(|r| r.id == id)
    }

    /// The name a principal id is shown by (the id itself when unknown).
    pub fn principal_name(&self, id: Uuid) -> String {
        if let Some((_, upn)) = self.users.iter().find(|(u, _)| *u == id) {
            return upn.clone();
        }
        if let Some(g) = self.groups.iter().find(|g| g.id == id) {
            return g.display_name.clone();
        }
        if let Some((_, app_id, name)) = self.service_principals.iter().find(|(sp, ..)| *sp == id) {
            // By display name when that names it alone (no group, no other service principal),
            // else by its appId, which is the same in every tenant.
            let k = key(name);
            let sps = self.service_principals.iter().filter(|(_, _, n)| key(n) == k).count();
            let shadowed = sps > 1 || self.groups.iter().any(|g| key(&g.display_name) == k);
            return if shadowed { app_id.to_string() } else { name.clone() };
        }
        id.to_string()
    }
}

/// One change of the plan. Names are the file's; ids are the server's where the thing exists.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Change {
    CreateCustomRole {
        role: CustomRole,
    },
    UpdateCustomRole {
        id: Uuid,
        before: CustomRole,
        after: CustomRole,
    },
    CreateGroup {
        display_name: String,
        description: Option<String>,
    },
    UpdateGroup {
        id: Uuid,
        display_name: String,
        before: Option<String>,
        after: Option<String>,
    },
    AddMember {
        group: String,
        member: String,
    },
    UpdateRule {
        role: String,
        rule_id: String,
        before: Rule,
        after: Rule,
    },
    CreateAssignment {
        kind: AssignmentKind,
        principal: String,
        role: String,
        scope: String,
        /// A start ahead (none: now).
        #[serde(default, with = "openpim_proto::datetime::option", skip_serializing_if = "Option::is_none")]
        start: Option<OffsetDateTime>,
        #[serde(with = "openpim_proto::datetime::option")]
        end: Option<OffsetDateTime>,
    },
    UpdateAssignment {
        kind: AssignmentKind,
        principal: String,
        role: String,
        scope: String,
        #[serde(with = "openpim_proto::datetime::option")]
        before: Option<OffsetDateTime>,
        #[serde(with = "openpim_proto::datetime::option")]
        after: Option<OffsetDateTime>,
        /// The start before and after, when it changes (a start ahead; none: started, or now).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start: Option<StartChange>,
    },
    RemoveAssignment {
        kind: AssignmentKind,
        principal: String,
        principal_id: Uuid,
        role: String,
        role_id: Uuid,
        scope: String,
    },
    RemoveMember {
        group: String,
        group_id: Uuid,
        member: String,
        member_id: Uuid,
    },
    RemoveGroup {
        id: Uuid,
        display_name: String,
    },
    RemoveCustomRole {
        id: Uuid,
        display_name: String,
    },
    CreateAzureRole {
        role: AzureCustomRole,
    },
    UpdateAzureRole {
        id: Uuid,
        before: AzureCustomRole,
        after: AzureCustomRole,
    },
    RemoveAzureRole {
        id: Uuid,
        role_name: String,
        /// Where it is deleted (its first assignable scope).
        scope: String,
    },
}

impl Change {
    /// The safe order: what others refer to is created first and removed last; removals come
    /// after every creation and update, so a failed plan leaves access rather than takes it.
    fn phase(&self) -> u8 {
        match self {
            Change::CreateCustomRole { .. }
            | Change::UpdateCustomRole { .. }
            | Change::CreateAzureRole { .. }
            | Change::UpdateAzureRole { .. } => 0,
            Change::CreateGroup { .. } | Change::UpdateGroup { .. } => 1,
            Change::AddMember { .. } => 2,
            Change::UpdateRule { .. } => 3,
            Change::CreateAssignment { .. } => 4,
            Change::UpdateAssignment { .. } => 5,
            Change::RemoveAssignment { .. } => 6,
            Change::RemoveMember { .. } => 7,
            Change::RemoveGroup { .. } => 8,
            Change::RemoveCustomRole { .. } | Change::RemoveAzureRole { .. } => 9,
        }
    }

    pub fn is_removal(&self) -> bool {
        self.phase() >= 6
    }
}

/// A reason the file cannot be planned; all of them are reported at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Where in the file, e.g. `eligibilities[3].principal`.
    pub at: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// A hash of the changes: the same changes against the same tenant give the same id.
    pub id: String,
    pub changes: Vec<Change>,
    /// Changes the server is expected to refuse (the 5-minute rule, the last Global
    /// Administrator); `apply` still tries them, and stops at the refusal.
    pub warnings: Vec<String>,
}

impl Plan {
    fn new(mut changes: Vec<Change>, warnings: Vec<String>) -> Self {
        changes.sort_by_key(Change::phase);
        let json = serde_json::to_vec(&changes).expect("changes serialise");
        let hash = Sha256::digest(&json);
        let id: String = hash.iter().take(6).map(|b| format!("{b:02x}")).collect();
        Plan { id, changes, warnings }
    }
}

fn key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// What a principal named in the file is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PrincipalRef {
    User(Uuid, String),
    Group(Option<Uuid>, String),
    ServicePrincipal(Uuid, String),
}

impl PrincipalRef {
    fn name(&self) -> &str {
        match self {
            PrincipalRef::User(_, n) | PrincipalRef::Group(_, n) | PrincipalRef::ServicePrincipal(_, n) => n,
        }
    }
}

/// Name look-ups against the actual state and the groups and roles the file creates.
struct Names<'a> {
    actual: &'a Actual,
    users: HashMap<String, (Uuid, &'a str)>,
    groups: HashMap<String, Vec<&'a ActualGroup>>,
    /// Groups the file lists that do not exist yet.
    new_groups: HashMap<String, String>,
    /// Custom roles the file lists that do not exist yet.
    new_roles: HashMap<String, String>,
    /// Azure custom roles the file lists that do not exist yet.
    new_azure_roles: HashMap<String, String>,
}

impl<'a> Names<'a> {
    fn new(actual: &'a Actual, file: &PimFile) -> Self {
        let users = actual.users.iter().map(|(id, upn)| (key(upn), (*id, upn.as_str()))).collect();
        let mut groups: HashMap<String, Vec<&ActualGroup>> = HashMap::new();
        for g in &actual.groups {
            groups.entry(key(&g.display_name)).or_default().push(g);
        }
        let new_groups = file
            .groups
            .iter()
            .flatten()
            .filter(|g| !groups.contains_key(&key(&g.display_name)))
            .map(|g| (key(&g.display_name), g.display_name.trim().to_string()))
            .collect();
        let new_roles = file
            .custom_roles
            .iter()
            .flatten()
            .filter(|r| !actual.roles.iter().any(|a| key(&a.display_name) == key(&r.display_name)))
            .map(|r| (key(&r.display_name), r.display_name.trim().to_string()))
            .collect();
        let azure_roles = actual.azure.as_ref().map(|a| a.roles.as_slice()).unwrap_or_default();
        let new_azure_roles = file
            .azure
            .iter()
            .flat_map(|a| a.custom_roles.iter().flatten())
            .filter(|r| !azure_roles.iter().any(|a| key(&a.role_name) == key(&r.role_name)))
            .map(|r| (key(&r.role_name), r.role_name.trim().to_string()))
            .collect();
        Names { actual, users, groups, new_groups, new_roles, new_azure_roles }
    }

    /// An Azure role: (GUID if it exists, canonical name), by role name or GUID.
    fn azure_role(&self, raw: &str) -> Result<(Option<Uuid>, String), String> {
        let k = key(raw);
        let as_id = Uuid::parse_str(raw.trim()).ok();
        let roles = self.actual.azure.as_ref().map(|a| a.roles.as_slice()).unwrap_or_default();
        match roles.iter().find(|r| as_id == Some(r.id) || key(&r.role_name) == k) {
            Some(r) => Ok((Some(r.id), r.role_name.clone())),
            None => match self.new_azure_roles.get(&k) {
                Some(name) => Ok((None, name.clone())),
                None => Err(format!("no Azure role is named '{}' or has that id", raw.trim())),
            },
        }
    }

    fn principal(&self, raw: &str) -> Result<PrincipalRef, String> {
        let k = key(raw);
        if let Ok(id) = Uuid::parse_str(raw.trim()) {
            if let Some((_, upn)) = self.actual.users.iter().find(|(u, _)| *u == id) {
                return Ok(PrincipalRef::User(id, upn.clone()));
            }
            if let Some(g) = self.actual.groups.iter().find(|g| g.id == id) {
                return Ok(PrincipalRef::Group(Some(id), g.display_name.clone()));
            }
            // A service principal by object id or appId.
            if let Some((sp, ..)) = self.actual.service_principals.iter().find(|(sp, app, _)| *sp == id || *app == id) {
                return Ok(PrincipalRef::ServicePrincipal(*sp, self.actual.principal_name(*sp)));
            }
            return Err(format!("no user, group or service principal has the id {id}"));
        }
        if raw.contains('@') {
            return match self.users.get(&k) {
                Some((id, upn)) => Ok(PrincipalRef::User(*id, upn.to_string())),
                None => Err(format!("no user is signed in as '{}'", raw.trim())),
            };
        }
        match (self.groups.get(&k).map(Vec::as_slice), self.new_groups.get(&k)) {
            (Some([g]), _) => Ok(PrincipalRef::Group(Some(g.id), g.display_name.clone())),
            (Some(many), _) if many.len() > 1 => Err(format!(
                "{} groups are named '{}'; rename one (names identify groups here)",
                many.len(),
                raw.trim()
            )),
            (_, Some(name)) => Ok(PrincipalRef::Group(None, name.clone())),
            _ => {
                let sps: Vec<Uuid> =
                    self.actual.service_principals.iter().filter(|(_, _, n)| key(n) == k).map(|(id, ..)| *id).collect();
                match sps[..] {
                    [id] => Ok(PrincipalRef::ServicePrincipal(id, self.actual.principal_name(id))),
                    [] => {
                        Err(format!("no group or service principal is named '{}' (users are given by UPN)", raw.trim()))
                    }
                    _ => Err(format!("{} service principals are named '{}'; use the appId", sps.len(), raw.trim())),
                }
            }
        }
    }

    /// A role: (id if it exists, canonical name).
    fn role(&self, raw: &str) -> Result<(Option<Uuid>, String), String> {
        let k = key(raw);
        let as_id = Uuid::parse_str(raw.trim()).ok();
        let matches: Vec<&ActualRole> = self
            .actual
            .roles
            .iter()
            .filter(|r| as_id.is_some_and(|id| r.id == id || r.template_id == Some(id)) || key(&r.display_name) == k)
            .collect();
        match matches.as_slice() {
            [one] => Ok((Some(one.id), one.display_name.clone())),
            [] => match self.new_roles.get(&k) {
                Some(name) => Ok((None, name.clone())),
                None => Err(format!("no role is named '{}' or has that id", raw.trim())),
            },
            many => Err(format!("'{}' matches {} roles; use the id", raw.trim(), many.len())),
        }
    }
}

fn parse_end(raw: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(raw.trim(), &Rfc3339)
        .map(|t| t.to_offset(time::UtcOffset::UTC))
        .map_err(|_| format!("'{raw}' is not an RFC 3339 date-time, e.g. 2027-03-02T09:00:00Z"))
}

/// A change of an assignment's start: before → after (none: started, or starts now).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StartChange {
    #[serde(with = "openpim_proto::datetime::option")]
    pub before: Option<OffsetDateTime>,
    #[serde(with = "openpim_proto::datetime::option")]
    pub after: Option<OffsetDateTime>,
}

/// An assignment's identity: (principal, role, scope), by canonical names.
type AssignmentKey = (String, String, String);

/// A role named in the file: (id if it exists, canonical name), or why not.
type RoleLookup<'a> = &'a dyn Fn(&str) -> Result<(Option<Uuid>, String), String>;

/// A scope: (key it compares by, the form requests carry), or why it is not one.
type ScopeLookup<'a> = &'a dyn Fn(&str) -> Result<(String, String), String>;

/// One side of the assignments: how the file's roles and scopes are read there.
struct Side<'a> {
    role: RoleLookup<'a>,
    /// The name an existing role id is shown by.
    role_name: &'a dyn Fn(Uuid) -> String,
    scope: ScopeLookup<'a>,
}

/// The changes that make one collection (`kind` on one side) what the file's `section` says.
struct AssignmentDiff<'a> {
    names: &'a Names<'a>,
    side: &'a Side<'a>,
    kind: AssignmentKind,
    section: &'a str,
    now: OffsetDateTime,
}

/// An assignment's (start ahead, end).
type Window = (Option<OffsetDateTime>, Option<OffsetDateTime>);

/// What the file wants of an active collection: (principal, role id, scope key, end).
type DesiredActive = Vec<(PrincipalRef, Option<Uuid>, String, Option<OffsetDateTime>)>;

impl AssignmentDiff<'_> {
    fn run(
        &self,
        wanted: &[AssignmentSpec],
        current: &[ActualAssignment],
        active: Option<&mut DesiredActive>,
        changes: &mut Vec<Change>,
        warnings: &mut Vec<String>,
        problems: &mut Vec<Problem>,
    ) {
        let (kind, section, side, names) = (self.kind, self.section, self.side, self.names);
        let mut problem = |at: String, message: String| problems.push(Problem { at, message });
        let mut desired: BTreeMap<AssignmentKey, (usize, String, String, String, Window)> = BTreeMap::new();
        let mut active = active;
        for (i, a) in wanted.iter().enumerate() {
            let at = format!("{section}[{i}]");
            let principal = names.principal(&a.principal).map_err(|e| problem(format!("{at}.principal"), e));
            let role = (side.role)(&a.role).map_err(|e| problem(format!("{at}.role"), e));
            let end = match a.end.as_deref().map(parse_end).transpose() {
                Ok(Some(end)) if end <= self.now => {
                    problem(format!("{at}.end"), format!("{} is in the past", a.end.as_deref().unwrap_or_default()));
                    None
                }
                Ok(end) => end,
                Err(e) => {
                    problem(format!("{at}.end"), e);
                    None
                }
            };
            // A start that has passed means started (an exported file stays true as time goes).
            let start = match a.start.as_deref().map(parse_end).transpose() {
                Ok(start) => start.filter(|s| *s > self.now),
                Err(e) => {
                    problem(format!("{at}.start"), e);
                    None
                }
            };
            if let (Some(s), Some(e)) = (start, end) {
                if e <= s {
                    problem(format!("{at}.end"), format!("{} is not after the start", rfc3339(e)));
                }
            }
            let scope = (side.scope)(&a.scope).map_err(|e| problem(format!("{at}.scope"), e));
            let (Ok(principal), Ok((role_id, role)), Ok((scope_key, scope))) = (principal, role, scope) else {
                continue;
            };
            let k = (key(principal.name()), key(&role), scope_key.clone());
            if let Some((first, ..)) = desired.get(&k) {
                problem(at, format!("the same assignment as {section}[{first}]"));
                continue;
            }
            if let Some(list) = active.as_deref_mut() {
                list.push((principal.clone(), role_id, scope_key, end));
            }
            desired.insert(k, (i, principal.name().to_string(), role, scope, (start, end)));
        }
        let mut have: BTreeMap<AssignmentKey, &ActualAssignment> = BTreeMap::new();
        for c in current {
            let scope_key = (side.scope)(&c.scope).map_or_else(|_| c.scope.to_lowercase(), |(k, _)| k);
            have.insert((key(&c.principal), key(&(side.role_name)(c.role_id)), scope_key), c);
        }
        for (k, (_, principal, role, scope, (start, end))) in &desired {
            let (principal, role, scope) = (principal.clone(), role.clone(), scope.clone());
            match have.get(k) {
                None => {
                    changes.push(Change::CreateAssignment { kind, principal, role, scope, start: *start, end: *end })
                }
                Some(c) if c.end != *end || c.start != *start => changes.push(Change::UpdateAssignment {
                    kind,
                    principal,
                    role,
                    scope,
                    before: c.end,
                    after: *end,
                    start: (c.start != *start).then_some(StartChange { before: c.start, after: *start }),
                }),
                Some(_) => {}
            }
        }
        for (k, c) in &have {
            if desired.contains_key(k) {
                continue;
            }
            let role = (side.role_name)(c.role_id);
            if self.now - c.created < REMOVAL_LOCK {
                warnings.push(format!(
                    "removing the {} assignment of {} to {role} will be refused until {} (an assignment cannot be removed in its first 5 minutes)",
                    kind.label(),
                    c.principal,
                    rfc3339(c.created + REMOVAL_LOCK)
                ));
            }
            changes.push(Change::RemoveAssignment {
                kind,
                principal: c.principal.clone(),
                principal_id: c.principal_id,
                role,
                role_id: c.role_id,
                scope: c.scope.clone(),
            });
        }
    }
}

/// An ARM scope as requests carry it (a trailing `/` dropped), or why it is not one. The tenant
/// root `/` is not managed here: what lives there is what `elevateAccess` made.
pub fn azure_scope(raw: &str) -> Result<String, String> {
    let scope = crate::commands::azure_pim::scope_arg(raw)?;
    if scope == ROOT_SCOPE {
        return Err("'/' is the tenant root, which elevateAccess manages; use a management group, subscription, resource group or resource".into());
    }
    Ok(scope)
}

/// The plan that makes `actual` what `file` says, or every problem that prevents it.
pub fn compute(
    file: &PimFile,
    actual: &Actual,
    defaults: &[(String, Rule)],
    now: OffsetDateTime,
) -> Result<Plan, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut problem = |at: String, message: String| problems.push(Problem { at, message });
    if file.version != VERSION {
        problem(
            "version".into(),
            format!("version {} is not supported (this openpim reads version {VERSION})", file.version),
        );
    }
    let names = Names::new(actual, file);
    let mut changes = Vec::new();
    let mut warnings = Vec::new();

    // Custom roles, by display name.
    if let Some(wanted) = &file.custom_roles {
        let mut seen = HashMap::new();
        for (i, r) in wanted.iter().enumerate() {
            let at = format!("customRoles[{i}]");
            if seen.insert(key(&r.display_name), i).is_some() {
                problem(at.clone(), format!("'{}' is listed twice", r.display_name));
                continue;
            }
            if r.display_name.trim().is_empty() {
                problem(at.clone(), "displayName is empty".into());
            }
            if r.allowed_resource_actions.iter().all(|a| a.trim().is_empty()) {
                problem(format!("{at}.allowedResourceActions"), "a custom role needs at least one action".into());
            }
            let after = normalized_role(r);
            match actual.roles.iter().find(|a| key(&a.display_name) == key(&r.display_name)) {
                Some(ActualRole { custom: None, .. }) => problem(
                    at,
                    format!("'{}' is a built-in role; built-in roles cannot be defined here", r.display_name),
                ),
                Some(ActualRole { id, custom: Some(before), .. }) => {
                    let before = normalized_role(before);
                    if before != after {
                        changes.push(Change::UpdateCustomRole { id: *id, before, after });
                    }
                }
                None => changes.push(Change::CreateCustomRole { role: after }),
            }
        }
        for a in &actual.roles {
            if a.custom.is_some() && !seen.contains_key(&key(&a.display_name)) {
                changes.push(Change::RemoveCustomRole { id: a.id, display_name: a.display_name.clone() });
            }
        }
    }

    // Azure custom roles, by role name.
    if let Some(wanted) = file.azure.as_ref().and_then(|a| a.custom_roles.as_ref()) {
        let existing = actual.azure.as_ref().map(|a| a.roles.as_slice()).unwrap_or_default();
        let mut seen = HashMap::new();
        for (i, r) in wanted.iter().enumerate() {
            let at = format!("azure.customRoles[{i}]");
            if seen.insert(key(&r.role_name), i).is_some() {
                problem(at.clone(), format!("'{}' is listed twice", r.role_name));
                continue;
            }
            for p in azure_role_problems(r) {
                problem(format!("{at}.{}", p.at), p.message);
            }
            let after = normalized_azure_role(r);
            match existing.iter().find(|a| key(&a.role_name) == key(&r.role_name)) {
                Some(ActualAzureRole { custom: None, .. }) => problem(
                    at,
                    format!("'{}' is a built-in Azure role; built-in roles cannot be defined here", r.role_name),
                ),
                Some(ActualAzureRole { id, custom: Some(before), .. }) => {
                    let before = normalized_azure_role(before);
                    // Scopes compare ignoring case, as ARM compares them; a role name in
                    // another case is a rename.
                    let scopes = |r: &AzureCustomRole| -> Vec<String> {
                        r.assignable_scopes.iter().map(|s| s.to_lowercase()).collect()
                    };
                    let same = AzureCustomRole { assignable_scopes: before.assignable_scopes.clone(), ..after.clone() };
                    if same != before || scopes(&before) != scopes(&after) {
                        changes.push(Change::UpdateAzureRole { id: *id, before, after });
                    }
                }
                None => changes.push(Change::CreateAzureRole { role: after }),
            }
        }
        for a in existing {
            if let (Some(custom), false) = (&a.custom, seen.contains_key(&key(&a.role_name))) {
                let scope = custom.assignable_scopes.first().cloned().unwrap_or_else(|| ROOT_SCOPE.into());
                changes.push(Change::RemoveAzureRole { id: a.id, role_name: a.role_name.clone(), scope });
            }
        }
    }

    // Role-assignable groups and their members.
    if let Some(wanted) = &file.groups {
        let mut seen = HashMap::new();
        for (i, g) in wanted.iter().enumerate() {
            let at = format!("groups[{i}]");
            if seen.insert(key(&g.display_name), i).is_some() {
                problem(at.clone(), format!("'{}' is listed twice", g.display_name));
                continue;
            }
            let existing = names.groups.get(&key(&g.display_name)).map(Vec::as_slice).unwrap_or_default();
            let existing = match existing {
                [] => None,
                [one] if one.role_assignable => Some(*one),
                [_] => {
                    problem(at.clone(), format!("group '{}' exists but is not role-assignable", g.display_name));
                    continue;
                }
                many => {
                    problem(at.clone(), format!("{} groups are named '{}'", many.len(), g.display_name));
                    continue;
                }
            };
            let mut members = Vec::new();
            for (j, m) in g.members.iter().enumerate() {
                match names.principal(m) {
                    Ok(PrincipalRef::User(id, upn)) => members.push((id, upn)),
                    Ok(PrincipalRef::Group(..) | PrincipalRef::ServicePrincipal(..)) => problem(
                        format!("{at}.members[{j}]"),
                        format!("'{m}' is not a user; role-assignable groups take users only"),
                    ),
                    Err(e) => problem(format!("{at}.members[{j}]"), e),
                }
            }
            let description = g.description.clone().filter(|d| !d.is_empty());
            let (group_name, current): (String, Vec<(Uuid, String)>) = match existing {
                None => {
                    changes.push(Change::CreateGroup { display_name: g.display_name.trim().to_string(), description });
                    (g.display_name.trim().to_string(), Vec::new())
                }
                Some(e) => {
                    let before = e.description.clone().filter(|d| !d.is_empty());
                    if before != description {
                        changes.push(Change::UpdateGroup {
                            id: e.id,
                            display_name: e.display_name.clone(),
                            before,
                            after: description,
                        });
                    }
                    (e.display_name.clone(), e.members.clone())
                }
            };
            members.sort();
            members.dedup();
            for (id, upn) in &members {
                if !current.iter().any(|(c, _)| c == id) {
                    changes.push(Change::AddMember { group: group_name.clone(), member: upn.clone() });
                }
            }
            if let Some(e) = existing {
                for (id, name) in &current {
                    if !members.iter().any(|(m, _)| m == id) {
                        changes.push(Change::RemoveMember {
                            group: e.display_name.clone(),
                            group_id: e.id,
                            member: name.clone(),
                            member_id: *id,
                        });
                    }
                }
            }
        }
        for g in actual.groups.iter().filter(|g| g.role_assignable) {
            if !seen.contains_key(&key(&g.display_name)) {
                changes.push(Change::RemoveGroup { id: g.id, display_name: g.display_name.clone() });
            }
        }
    }

    // Role settings: every rule of every role, the file's value or else the default.
    if let Some(settings) = &file.role_settings {
        let mut wanted: HashMap<String, (String, &Rules)> = HashMap::new();
        let mut ok_roles: HashMap<String, Option<Uuid>> = HashMap::new();
        for (i, s) in settings.iter().enumerate() {
            let at = format!("roleSettings[{i}]");
            match names.role(&s.role) {
                Ok((id, name)) => {
                    if wanted.insert(key(&name), (name.clone(), &s.rules)).is_some() {
                        problem(at.clone(), format!("'{name}' is listed twice"));
                    }
                    ok_roles.insert(key(&name), id);
                }
                Err(e) => problem(format!("{at}.role"), e),
            }
            for (rule_id, rule) in s.rules.get() {
                for approver in rule.approvers() {
                    if let Err(e) = names.principal(approver) {
                        problem(format!("{at}.rules.{rule_id}"), format!("approver: {e}"));
                    }
                }
            }
        }
        let removed_roles: Vec<Uuid> = changes
            .iter()
            .filter_map(|c| match c {
                Change::RemoveCustomRole { id, .. } => Some(*id),
                _ => None,
            })
            .collect();
        // Existing roles (their policies) and the custom roles the plan creates (default policy).
        let mut targets: Vec<(String, Option<&BTreeMap<String, Rule>>)> = actual
            .roles
            .iter()
            .filter(|r| !removed_roles.contains(&r.id))
            .map(|r| (r.display_name.clone(), actual.settings.get(&r.id)))
            .collect();
        targets.extend(names.new_roles.values().map(|n| (n.clone(), None)));
        targets.sort_by_key(|(n, _)| key(n));
        for (role, current) in targets {
            let file_rules = wanted.get(&key(&role)).map(|(_, r)| *r);
            // A role the file does not list, whose policy the API did not return (not readable),
            // is left alone rather than reset.
            if current.is_none() && file_rules.is_none() && !names.new_roles.contains_key(&key(&role)) {
                continue;
            }
            let listed = file_rules.map(|r| r.get()).unwrap_or_default();
            for (rule_id, default) in defaults {
                let after = match listed.iter().find(|(id, _)| id == rule_id) {
                    Some((_, r)) => r.overlay(default),
                    None => default.clone(),
                };
                let after = after
                    .map_approvers(|n| {
                        names.principal(n).map(|p| p.name().to_string()).unwrap_or_else(|_| n.to_string())
                    })
                    .normalized();
                let before = current.and_then(|c| c.get(rule_id)).cloned().unwrap_or_else(|| default.clone());
                if before != after {
                    changes.push(Change::UpdateRule { role: role.clone(), rule_id: rule_id.clone(), before, after });
                }
            }
        }
    }

    // Eligible and active assignments, in the directory and at Azure scopes: the same diff,
    // with each side's roles and scopes.
    let mut desired_active: Vec<(PrincipalRef, Option<Uuid>, String, Option<OffsetDateTime>)> = Vec::new();
    let mut azure_active: Vec<(PrincipalRef, Option<Uuid>, String, Option<OffsetDateTime>)> = Vec::new();
    let directory = Side {
        role: &|raw| names.role(raw),
        role_name: &|id| actual.role(id).map_or_else(|| id.to_string(), |r| r.display_name.clone()),
        scope: &|raw| {
            let scope = normalized_scope(raw);
            if scope == ROOT_SCOPE || scope.starts_with("/administrativeUnits/") {
                Ok((scope.clone(), scope))
            } else {
                Err(format!("'{raw}' is not / or /administrativeUnits/{{id}}"))
            }
        },
    };
    let no_azure = ActualAzure::default();
    let actual_azure = actual.azure.as_ref().unwrap_or(&no_azure);
    let azure = Side {
        role: &|raw| names.azure_role(raw),
        role_name: &|id| actual_azure.role(id).map_or_else(|| id.to_string(), |r| r.role_name.clone()),
        scope: &|raw| azure_scope(raw).map(|s| (s.to_lowercase(), s)),
    };
    let to_specs = |list: &Option<Vec<AzureAssignmentSpec>>| {
        list.as_ref().map(|l| l.iter().map(AzureAssignmentSpec::as_spec).collect::<Vec<_>>())
    };
    let (azure_eligibilities, azure_assignments) = match &file.azure {
        Some(a) => (to_specs(&a.eligibilities), to_specs(&a.assignments)),
        None => (None, None),
    };
    for (side, kind, section, wanted, current, active) in [
        (&directory, AssignmentKind::Eligible, "eligibilities", &file.eligibilities, &actual.eligibilities, None),
        (
            &directory,
            AssignmentKind::Active,
            "assignments",
            &file.assignments,
            &actual.assignments,
            Some(&mut desired_active),
        ),
        (
            &azure,
            AssignmentKind::Eligible,
            "azure.eligibilities",
            &azure_eligibilities,
            &actual_azure.eligibilities,
            None,
        ),
        (
            &azure,
            AssignmentKind::Active,
            "azure.assignments",
            &azure_assignments,
            &actual_azure.assignments,
            Some(&mut azure_active),
        ),
    ] {
        let Some(wanted) = wanted else { continue };
        let diff = AssignmentDiff { names: &names, side, kind, section, now };
        diff.run(wanted, current, active, &mut changes, &mut warnings, &mut problems);
    }

    // The last Global Administrator: the server refuses to leave the tenant without an enabled
    // user holding it permanently at / (directly or through a role-assignable group).
    if file.assignments.is_some() {
        let holds_ga_now = actual
            .assignments
            .iter()
            .any(|a| a.role_id == GLOBAL_ADMINISTRATOR && a.scope == ROOT_SCOPE && a.end.is_none());
        let group_has_members = |name: &str| -> bool {
            match &file.groups {
                Some(groups) => groups.iter().any(|g| key(&g.display_name) == key(name) && !g.members.is_empty()),
                None => actual.groups.iter().any(|g| key(&g.display_name) == key(name) && !g.members.is_empty()),
            }
        };
        let holds_ga_after = desired_active.iter().any(|(p, role, scope, end)| {
            *role == Some(GLOBAL_ADMINISTRATOR)
                && scope == ROOT_SCOPE
                && end.is_none()
                && match p {
                    PrincipalRef::User(..) => true,
                    PrincipalRef::Group(_, name) => group_has_members(name),
                    // The invariant is about people: an application does not count.
                    PrincipalRef::ServicePrincipal(..) => false,
                }
        });
        if holds_ga_now && !holds_ga_after {
            warnings.push(
                "the file leaves no user holding Global Administrator permanently at /: the server will refuse the last removal (the last Global Administrator invariant)"
                    .into(),
            );
        }
    }

    // The last Owner: the server refuses to remove the last permanent Owner assignment at a
    // scope (one at or above it must remain). Above is judged by the scope's path here (a
    // management group above a subscription is not known to the file), so this warns early
    // rather than exactly; the server's refusal is the rule.
    if azure_assignments.is_some() {
        let permanent_owner =
            |role: Option<Uuid>, end: &Option<OffsetDateTime>| role == Some(AZURE_OWNER) && end.is_none();
        let covers = |above: &str, scope: &str| scope == above || scope.starts_with(&format!("{above}/"));
        let mut warned: Vec<String> = Vec::new();
        for c in &actual_azure.assignments {
            let scope = c.scope.to_lowercase();
            if !permanent_owner(Some(c.role_id), &c.end) || warned.contains(&scope) {
                continue;
            }
            let kept = azure_active.iter().any(|(_, role, at, end)| permanent_owner(*role, end) && covers(at, &scope));
            if !kept {
                warnings.push(format!(
                    "the file leaves no permanent Owner at or above {}: the server will refuse the last removal (the last Owner rule) unless an Owner above it remains",
                    c.scope
                ));
                warned.push(scope);
            }
        }
    }

    if problems.is_empty() {
        Ok(Plan::new(changes, warnings))
    } else {
        Err(problems)
    }
}

fn normalized_role(r: &CustomRole) -> CustomRole {
    let mut actions: Vec<String> =
        r.allowed_resource_actions.iter().map(|a| a.trim().to_string()).filter(|a| !a.is_empty()).collect();
    actions.sort();
    actions.dedup();
    CustomRole {
        display_name: r.display_name.trim().to_string(),
        description: r.description.clone().filter(|d| !d.is_empty()),
        is_enabled: r.is_enabled,
        allowed_resource_actions: actions,
    }
}

/// An Azure custom role as compared: names trimmed, scopes as requests carry them, every list
/// sorted and without duplicates (ARM keeps them as sets).
fn normalized_azure_role(r: &AzureCustomRole) -> AzureCustomRole {
    let set = |list: &[String]| {
        let mut out: Vec<String> = list.iter().map(|a| a.trim().to_string()).filter(|a| !a.is_empty()).collect();
        out.sort();
        out.dedup();
        out
    };
    let scopes: Vec<String> =
        r.assignable_scopes.iter().map(|s| azure_scope(s).unwrap_or_else(|_| s.clone())).collect();
    AzureCustomRole {
        role_name: r.role_name.trim().to_string(),
        description: r.description.clone().filter(|d| !d.is_empty()),
        assignable_scopes: set(&scopes),
        actions: set(&r.actions),
        not_actions: set(&r.not_actions),
        data_actions: set(&r.data_actions),
        not_data_actions: set(&r.not_data_actions),
    }
}

/// What is wrong with an Azure custom role on its own (no server needed); `at` is relative.
pub fn azure_role_problems(r: &AzureCustomRole) -> Vec<Problem> {
    let mut out = Vec::new();
    if r.role_name.trim().is_empty() {
        out.push(Problem { at: "roleName".into(), message: "the role name is empty".into() });
    }
    if r.assignable_scopes.is_empty() {
        out.push(Problem {
            at: "assignableScopes".into(),
            message: "an Azure custom role needs at least one assignable scope".into(),
        });
    }
    for (j, scope) in r.assignable_scopes.iter().enumerate() {
        if let Err(e) = azure_scope(scope) {
            out.push(Problem { at: format!("assignableScopes[{j}]"), message: e });
        }
    }
    if r.actions.iter().chain(&r.data_actions).all(|a| a.trim().is_empty()) {
        out.push(Problem {
            at: "actions".into(),
            message: "an Azure custom role needs at least one action or data action".into(),
        });
    }
    out
}

/// `/` and `/administrativeUnits/{id}` with the id lower-cased (ids compare case-insensitively).
fn normalized_scope(scope: &str) -> String {
    let s = scope.trim();
    if s.is_empty() {
        ROOT_SCOPE.into()
    } else if let Some(id) = s.strip_prefix("/administrativeUnits/") {
        format!("/administrativeUnits/{}", id.to_lowercase())
    } else {
        s.to_string()
    }
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::as_code::model::{AzureSection, Expiration, GroupSpec, RoleSettings};
    use crate::commands::as_code::rules::defaults;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-02 09:00 UTC);
    const READER: Uuid = uuid::uuid!("f2ef992c-3afb-46b9-b7cf-a126ee74c451");
    const ALICE: Uuid = uuid::uuid!("00000000-0000-0000-0000-00000000000a");
    const BOB: Uuid = uuid::uuid!("00000000-0000-0000-0000-00000000000b");
    const OPS: Uuid = uuid::uuid!("00000000-0000-0000-0000-0000000000c1");
    const OLD: Uuid = uuid::uuid!("00000000-0000-0000-0000-0000000000c2");
    const HELPDESK: Uuid = uuid::uuid!("00000000-0000-0000-0000-0000000000d1");

    fn role(id: Uuid, name: &str, custom: Option<&[&str]>) -> ActualRole {
        ActualRole {
            id,
            template_id: custom.is_none().then_some(id),
            display_name: name.into(),
            custom: custom.map(|a| CustomRole {
                display_name: name.into(),
                description: None,
                is_enabled: true,
                allowed_resource_actions: a.iter().map(|s| s.to_string()).collect(),
            }),
        }
    }

    fn held(
        principal: (Uuid, &str),
        role_id: Uuid,
        end: Option<OffsetDateTime>,
        age: time::Duration,
    ) -> ActualAssignment {
        ActualAssignment {
            principal_id: principal.0,
            principal: principal.1.into(),
            role_id,
            scope: "/".into(),
            start: None,
            end,
            created: NOW - age,
        }
    }

    /// A tenant: alice is Global Administrator (permanent) and eligible for Global Reader, bob
    /// exists; groups Ops (alice) and Old; a custom role Helpdesk.
    fn tenant() -> Actual {
        let day = time::Duration::days(1);
        Actual {
            roles: vec![
                role(GLOBAL_ADMINISTRATOR, "Global Administrator", None),
                role(READER, "Global Reader", None),
                role(HELPDESK, "Helpdesk", Some(&["microsoft.directory/users/basic/read"])),
            ],
            users: vec![(ALICE, "alice@example.com".into()), (BOB, "bob@example.com".into())],
            // Deployer; and an application named like the group Ops, so named by its appId.
            service_principals: vec![
                (
                    uuid::uuid!("00000000-0000-0000-0000-00000000d001"),
                    uuid::uuid!("00000000-0000-0000-0000-00000000a001"),
                    "Deployer".into(),
                ),
                (
                    uuid::uuid!("00000000-0000-0000-0000-00000000d002"),
                    uuid::uuid!("00000000-0000-0000-0000-00000000a002"),
                    "Ops".into(),
                ),
            ],
            groups: vec![
                ActualGroup {
                    id: OPS,
                    display_name: "Ops".into(),
                    description: None,
                    role_assignable: true,
                    members: vec![(ALICE, "alice@example.com".into())],
                },
                ActualGroup {
                    id: OLD,
                    display_name: "Old".into(),
                    description: None,
                    role_assignable: true,
                    members: vec![],
                },
            ],
            settings: HashMap::new(),
            eligibilities: vec![held((ALICE, "alice@example.com"), READER, None, day)],
            assignments: vec![held((ALICE, "alice@example.com"), GLOBAL_ADMINISTRATOR, None, day)],
            azure: None,
        }
    }

    fn spec(principal: &str, role: &str, end: Option<&str>) -> AssignmentSpec {
        AssignmentSpec {
            principal: principal.into(),
            role: role.into(),
            scope: "/".into(),
            start: None,
            end: end.map(str::to_string),
        }
    }

    /// The file that describes [`tenant`] exactly.
    fn same_file() -> PimFile {
        PimFile {
            version: 1,
            custom_roles: Some(vec![CustomRole {
                display_name: "Helpdesk".into(),
                description: None,
                is_enabled: true,
                allowed_resource_actions: vec!["microsoft.directory/users/basic/read".into()],
            }]),
            groups: Some(vec![
                GroupSpec { display_name: "Ops".into(), description: None, members: vec!["alice@example.com".into()] },
                GroupSpec { display_name: "Old".into(), description: None, members: vec![] },
            ]),
            role_settings: Some(vec![]),
            eligibilities: Some(vec![spec("ALICE@example.com", "global reader", None)]),
            assignments: Some(vec![spec("alice@example.com", "Global Administrator", None)]),
            azure: None,
        }
    }

    fn plan(file: &PimFile, actual: &Actual) -> Plan {
        compute(file, actual, &defaults(), NOW).unwrap_or_else(|p| panic!("problems: {p:?}"))
    }

    #[test]
    fn a_matching_file_plans_nothing_and_names_compare_case_insensitively() {
        let p = plan(&same_file(), &tenant());
        assert!(p.changes.is_empty(), "{:?}", p.changes);
        assert!(p.warnings.is_empty());
        // An empty file manages nothing.
        assert!(plan(&PimFile { version: 1, ..PimFile::default() }, &tenant()).changes.is_empty());
    }

    #[test]
    fn service_principals_by_name_or_app_id() {
        let t = tenant();
        let (deployer, ops_app) =
            (uuid::uuid!("00000000-0000-0000-0000-00000000d001"), uuid::uuid!("00000000-0000-0000-0000-00000000d002"));
        assert_eq!(t.principal_name(deployer), "Deployer");
        assert_eq!(t.principal_name(ops_app), "00000000-0000-0000-0000-00000000a002", "a group is named Ops");
        let mut f = same_file();
        f.assignments.as_mut().unwrap().push(spec("DEPLOYER", "Global Reader", None));
        f.assignments.as_mut().unwrap().push(spec("00000000-0000-0000-0000-00000000a002", "Global Reader", None));
        let p = plan(&f, &t);
        let created: Vec<&str> = p
            .changes
            .iter()
            .filter_map(|c| match c {
                Change::CreateAssignment { principal, .. } => Some(principal.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(created, vec!["00000000-0000-0000-0000-00000000a002", "Deployer"]);
        // Only people are group members.
        let mut f = same_file();
        f.groups.as_mut().unwrap()[0].members.push("Deployer".into());
        let problems = compute(&f, &t, &defaults(), NOW).unwrap_err();
        assert_eq!(problems[0].message, "'Deployer' is not a user; role-assignable groups take users only");
    }

    #[test]
    fn starts_ahead_compare_and_passed_starts_mean_started() {
        let with_start = |start: &str| {
            let mut f = same_file();
            let mut e = spec("alice@example.com", "Global Reader", None);
            e.start = Some(start.into());
            f.eligibilities = Some(vec![e]);
            f
        };
        // A start that has passed: the assignment has started, as the tenant's has.
        assert!(plan(&with_start("2026-03-01T00:00:00Z"), &tenant()).changes.is_empty());
        // A start ahead moves the started one; the same start ahead again is no change.
        let p = plan(&with_start("2026-04-01T00:00:00Z"), &tenant());
        let ahead = datetime!(2026-04-01 00:00 UTC);
        assert!(
            matches!(&p.changes[..], [Change::UpdateAssignment { start: Some(StartChange { before: None, after: Some(t) }), before: None, after: None, .. }] if *t == ahead),
            "{:?}",
            p.changes
        );
        let mut moved = tenant();
        moved.eligibilities[0].start = Some(ahead);
        assert!(plan(&with_start("2026-04-01T00:00:00+00:00"), &moved).changes.is_empty());
        // An end before the start, or a start that is no date, is refused.
        let mut f = with_start("2026-04-01T00:00:00Z");
        f.eligibilities.as_mut().unwrap()[0].end = Some("2026-03-20T00:00:00Z".into());
        let problems = compute(&f, &tenant(), &defaults(), NOW).unwrap_err();
        assert_eq!(problems.iter().map(|p| p.at.as_str()).collect::<Vec<_>>(), vec!["eligibilities[0].end"]);
        let problems = compute(&with_start("soon"), &tenant(), &defaults(), NOW).unwrap_err();
        assert_eq!(problems.iter().map(|p| p.at.as_str()).collect::<Vec<_>>(), vec!["eligibilities[0].start"]);
    }

    #[test]
    fn every_kind_of_change_in_the_safe_order() {
        let mut f = same_file();
        f.custom_roles = Some(vec![CustomRole {
            display_name: "Auditor".into(),
            description: Some("reads".into()),
            is_enabled: true,
            allowed_resource_actions: vec!["microsoft.directory/auditLogs/allProperties/read".into()],
        }]);
        f.groups = Some(vec![
            GroupSpec {
                display_name: "Ops".into(),
                description: Some("on call".into()),
                members: vec!["bob@example.com".into()],
            },
            GroupSpec { display_name: "Tier0".into(), description: None, members: vec!["alice@example.com".into()] },
        ]);
        let mut rules = Rules::default();
        rules.set(
            "Expiration_EndUser_Assignment",
            Rule::Expiration(Expiration { maximum_duration: Some("PT2H".into()), is_expiration_required: None }),
        );
        f.role_settings = Some(vec![RoleSettings { role: "Auditor".into(), rules }]);
        f.eligibilities = Some(vec![
            spec("alice@example.com", "Global Reader", Some("2026-06-01T00:00:00Z")),
            spec("Tier0", "Auditor", None),
        ]);
        f.assignments = Some(vec![
            spec("alice@example.com", "Global Administrator", None),
            spec("bob@example.com", "Global Reader", None),
        ]);
        let p = plan(&f, &tenant());
        let ops: Vec<String> =
            p.changes.iter().map(|c| serde_json::to_value(c).unwrap()["op"].as_str().unwrap().to_string()).collect();
        assert_eq!(
            ops,
            vec![
                "createCustomRole",
                // Same phase: the file's order.
                "updateGroup",
                "createGroup",
                "addMember",
                "addMember",
                "updateRule",
                "createAssignment",
                "createAssignment",
                "updateAssignment",
                "removeMember",
                "removeGroup",
                "removeCustomRole",
            ],
            "{:#?}",
            p.changes
        );
        // The new role's settings start from the default: only the changed rule is PATCHed.
        assert!(matches!(&p.changes[5], Change::UpdateRule { role, rule_id, .. }
            if role == "Auditor" && rule_id == "Expiration_EndUser_Assignment"));
        assert!(matches!(&p.changes[8], Change::UpdateAssignment { before: None, after: Some(_), .. }));
        // The plan id is a hash of the changes: stable, and different for other changes.
        assert_eq!(p.id, plan(&f, &tenant()).id);
        assert_ne!(p.id, plan(&same_file(), &tenant()).id);
    }

    #[test]
    fn removals_and_their_warnings() {
        let mut actual = tenant();
        // Bob's eligibility is a minute old: the 5-minute rule blocks its removal.
        actual.eligibilities.push(held((BOB, "bob@example.com"), READER, None, time::Duration::minutes(1)));
        let mut f = same_file();
        f.assignments = Some(vec![]);
        let p = plan(&f, &actual);
        assert_eq!(p.changes.len(), 2, "{:?}", p.changes);
        assert!(p.changes.iter().all(Change::is_removal));
        assert!(
            p.warnings.iter().any(|w| w.contains("bob@example.com") && w.contains("first 5 minutes")),
            "{:?}",
            p.warnings
        );
        assert!(p.warnings.iter().any(|w| w.contains("last Global Administrator")), "{:?}", p.warnings);
        // A group with members holding Global Administrator keeps the tenant safe.
        f.assignments = Some(vec![spec("Ops", "Global Administrator", None)]);
        let p = plan(&f, &actual);
        assert!(!p.warnings.iter().any(|w| w.contains("last Global Administrator")), "{:?}", p.warnings);
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let mut f = same_file();
        f.version = 2;
        f.eligibilities = Some(vec![
            spec("carol@example.com", "Global Reader", None),
            spec("alice@example.com", "Chief Wizard", None),
            spec("Nobody", "Global Reader", Some("2020-01-01T00:00:00Z")),
            spec("alice@example.com", "Global Reader", Some("soon")),
        ]);
        f.custom_roles = Some(vec![CustomRole {
            display_name: "Global Reader".into(),
            description: None,
            is_enabled: true,
            allowed_resource_actions: vec!["x".into()],
        }]);
        let problems = compute(&f, &tenant(), &defaults(), NOW).unwrap_err();
        let at: Vec<&str> = problems.iter().map(|p| p.at.as_str()).collect();
        assert_eq!(
            at,
            vec![
                "version",
                "customRoles[0]",
                "eligibilities[0].principal",
                "eligibilities[1].role",
                "eligibilities[2].principal",
                "eligibilities[2].end",
                "eligibilities[3].end",
            ],
            "{problems:#?}"
        );
        assert!(problems[2].message.contains("carol@example.com"));
    }

    #[test]
    fn settings_differ_only_where_the_file_says() {
        let mut actual = tenant();
        let d: BTreeMap<String, Rule> = defaults().into_iter().collect();
        let mut reader = d.clone();
        reader.insert(
            "Expiration_EndUser_Assignment".into(),
            Rule::Expiration(Expiration { maximum_duration: Some("PT2H".into()), is_expiration_required: Some(true) }),
        );
        for r in &actual.roles {
            actual.settings.insert(r.id, if r.id == READER { reader.clone() } else { d.clone() });
        }
        let mut f = PimFile { version: 1, role_settings: Some(vec![]), ..PimFile::default() };
        // Not listed: back to the default, one rule PATCHed.
        let p = plan(&f, &actual);
        assert_eq!(p.changes.len(), 1);
        assert!(matches!(&p.changes[0], Change::UpdateRule { role, .. } if role == "Global Reader"));
        // Listed as it is (in another spelling of the same duration): nothing to do.
        let mut rules = Rules::default();
        rules.set(
            "Expiration_EndUser_Assignment",
            Rule::Expiration(Expiration { maximum_duration: Some("PT120M".into()), is_expiration_required: None }),
        );
        f.role_settings = Some(vec![RoleSettings { role: "Global Reader".into(), rules }]);
        assert!(plan(&f, &actual).changes.is_empty());
    }

    const SUB: &str = "/subscriptions/5c1e0f3a-9b7d-4c2e-8f10-0000000000d1";
    const AZ_READER: Uuid = uuid::uuid!("acdd72a7-3385-48ef-bd42-f606fba81ae7");
    const WEB_OPS: Uuid = uuid::uuid!("00000000-0000-0000-0000-0000000000e1");

    fn azure_role(name: &str, actions: &[&str]) -> AzureCustomRole {
        AzureCustomRole {
            role_name: name.into(),
            description: None,
            assignable_scopes: vec![SUB.into()],
            actions: actions.iter().map(|a| a.to_string()).collect(),
            not_actions: vec![],
            data_actions: vec![],
            not_data_actions: vec![],
        }
    }

    fn azure_spec(principal: &str, role: &str, scope: &str) -> AzureAssignmentSpec {
        AzureAssignmentSpec {
            principal: principal.into(),
            role: role.into(),
            scope: scope.into(),
            start: None,
            end: None,
        }
    }

    /// [`tenant`] with Azure: Reader, Owner and the custom role Web Ops; alice Owner of SUB
    /// (permanent) and eligible for Web Ops at SUB.
    fn azure_tenant() -> Actual {
        let day = time::Duration::days(1);
        let at_sub = |p, role| {
            let mut a = held(p, role, None, day);
            a.scope = SUB.into();
            a
        };
        let mut actual = tenant();
        actual.azure = Some(ActualAzure {
            roles: vec![
                ActualAzureRole { id: AZ_READER, role_name: "Reader".into(), custom: None },
                ActualAzureRole { id: AZURE_OWNER, role_name: "Owner".into(), custom: None },
                ActualAzureRole {
                    id: WEB_OPS,
                    role_name: "Web Ops".into(),
                    custom: Some(azure_role("Web Ops", &["Microsoft.Web/sites/read"])),
                },
            ],
            eligibilities: vec![at_sub((ALICE, "alice@example.com"), WEB_OPS)],
            assignments: vec![at_sub((ALICE, "alice@example.com"), AZURE_OWNER)],
        });
        actual
    }

    #[test]
    fn azure_changes_in_the_safe_order_with_the_last_owner_warned() {
        let actual = azure_tenant();
        // The tenant as it is (scopes and names in another case, a trailing slash): nothing.
        let same = AzureSection {
            custom_roles: Some(vec![AzureCustomRole {
                assignable_scopes: vec![SUB
                    .replace("5C1E", "5c1e")
                    .to_uppercase()
                    .replace("SUBSCRIPTIONS", "subscriptions")],
                ..azure_role("Web Ops", &["Microsoft.Web/sites/read"])
            }]),
            eligibilities: Some(vec![azure_spec(
                "ALICE@example.com",
                "Web Ops",
                &format!("{}/", SUB.to_uppercase().replace("SUBSCRIPTIONS", "subscriptions")),
            )]),
            assignments: Some(vec![azure_spec("alice@example.com", "owner", SUB)]),
        };
        let f = PimFile { version: 1, azure: Some(same), ..PimFile::default() };
        let p = plan(&f, &actual);
        assert!(p.changes.is_empty() && p.warnings.is_empty(), "{:?} {:?}", p.changes, p.warnings);

        // A new role used by a new eligibility, the old role and its eligibility gone, no Owner left.
        let f = PimFile {
            version: 1,
            azure: Some(AzureSection {
                custom_roles: Some(vec![azure_role("Blob Reader", &["Microsoft.Storage/storageAccounts/read"])]),
                eligibilities: Some(vec![azure_spec("bob@example.com", "Blob Reader", SUB)]),
                assignments: Some(vec![azure_spec("Ops", "Reader", &format!("{SUB}/resourceGroups/web"))]),
            }),
            ..PimFile::default()
        };
        let p = plan(&f, &actual);
        let ops: Vec<String> =
            p.changes.iter().map(|c| serde_json::to_value(c).unwrap()["op"].as_str().unwrap().to_string()).collect();
        assert_eq!(
            ops,
            vec![
                "createAzureRole",
                "createAssignment",
                "createAssignment",
                "removeAssignment",
                "removeAssignment",
                "removeAzureRole"
            ],
            "{:#?}",
            p.changes
        );
        assert!(
            p.warnings.iter().any(|w| w.contains("no permanent Owner at or above") && w.contains(SUB)),
            "{:?}",
            p.warnings
        );
        // An Owner kept above the scope (here at the same subscription) is enough.
        let mut kept = f.clone();
        if let Some(a) = kept.azure.as_mut() {
            a.assignments = Some(vec![azure_spec("alice@example.com", "Owner", SUB)]);
        }
        assert!(plan(&kept, &actual).warnings.iter().all(|w| !w.contains("Owner")));
        // An absent part is not managed.
        let mut partial = f.clone();
        if let Some(a) = partial.azure.as_mut() {
            a.assignments = None;
            a.eligibilities = None;
        }
        assert_eq!(plan(&partial, &actual).changes.len(), 2);
    }

    #[test]
    fn azure_problems_are_listed_at_once() {
        let f = PimFile {
            version: 1,
            azure: Some(AzureSection {
                custom_roles: Some(vec![azure_role("Reader", &["x"])]),
                eligibilities: Some(vec![
                    azure_spec("carol@example.com", "Reader", SUB),
                    azure_spec("alice@example.com", "Global Reader", SUB),
                    azure_spec("alice@example.com", "Reader", "/administrativeUnits/x"),
                ]),
                assignments: None,
            }),
            ..PimFile::default()
        };
        let problems = compute(&f, &azure_tenant(), &defaults(), NOW).unwrap_err();
        let at: Vec<&str> = problems.iter().map(|p| p.at.as_str()).collect();
        assert_eq!(
            at,
            vec![
                "azure.customRoles[0]",
                "azure.eligibilities[0].principal",
                "azure.eligibilities[1].role",
                "azure.eligibilities[2].scope"
            ],
            "{problems:#?}"
        );
        // Directory roles are not Azure roles.
        assert!(problems[2].message.contains("no Azure role is named 'Global Reader'"));
    }
}
