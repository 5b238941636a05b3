//! Reading the tenant through the public API ([`load`]) and writing it as the file ([`to_file`]):
//! sorted, names rather than ids, rules only where they differ from the default (unless `--all`).

use super::model::{
    AssignmentSpec, AzureAssignmentSpec, AzureCustomRole, AzureSection, CustomRole, GroupSpec, PimFile, RoleSettings,
    Rules, VERSION,
};
use super::plan::{Actual, ActualAssignment, ActualAzure, ActualAzureRole, ActualGroup, ActualRole};
use super::rules;
use crate::client::enc;
use crate::commands::azure_pim::{at, PIM_API, ROLES_API};
use crate::commands::RM;
use crate::context::Ctx;
use crate::error::CliResult;
use crate::error::{CliError, Kind};
use openpim_proto::arm::management_groups::ManagementGroup;
use openpim_proto::arm::pim::Schedule;
use openpim_proto::arm::role_definitions::RoleDefinition;
use openpim_proto::directory::{Group, ServicePrincipal, User};
use openpim_proto::policies::UnifiedRoleManagementPolicyAssignment;
use openpim_proto::schedules::UnifiedRoleSchedule;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

/// The parts of the file, as `--only` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Section {
    CustomRoles,
    Groups,
    Settings,
    Eligibilities,
    Assignments,
    /// The `azure` section (custom roles, eligible and active assignments at ARM scopes).
    Azure,
}

impl Section {
    pub const ALL: [Section; 6] = [
        Section::CustomRoles,
        Section::Groups,
        Section::Settings,
        Section::Eligibilities,
        Section::Assignments,
        Section::Azure,
    ];

    /// The sections a file manages (those present in it).
    pub fn of(file: &PimFile) -> Vec<Section> {
        let mut out = Vec::new();
        if file.custom_roles.is_some() {
            out.push(Section::CustomRoles);
        }
        if file.groups.is_some() {
            out.push(Section::Groups);
        }
        if file.role_settings.is_some() {
            out.push(Section::Settings);
        }
        if file.eligibilities.is_some() {
            out.push(Section::Eligibilities);
        }
        if file.assignments.is_some() {
            out.push(Section::Assignments);
        }
        if file.azure.is_some() {
            out.push(Section::Azure);
        }
        out
    }
}

/// Whether a schedule's `start` is one dated in the future: still ahead of `now`, and not the
/// moment it was made (a schedule that started on creation is "started", whatever the skew
/// between this machine's clock and the server's).
fn ahead(start: OffsetDateTime, created: OffsetDateTime, now: OffsetDateTime) -> bool {
    start > now && start > created + time::Duration::minutes(1)
}

/// The end of a schedule: its `endDateTime`, or start + duration.
fn schedule_end(s: &UnifiedRoleSchedule) -> Option<OffsetDateTime> {
    let info = &s.schedule_info;
    if let Some(end) = info.expiration.end_date_time {
        return Some(end);
    }
    let secs = crate::duration::parse(info.expiration.duration.as_deref()?).ok()?;
    Some(info.start_date_time? + time::Duration::seconds(i64::try_from(secs).ok()?))
}

/// Reads what the file's `sections` need (roles, users and groups always: names come from them).
/// With `azure_optional` (an export not limited by `--only`), a caller who may not read Azure
/// (no ARM token for the server, or no read at the tenant root group) gets the directory
/// sections and a note, rather than no file: a tenant without Azure is the common case.
pub async fn load(ctx: &Ctx, sections: &[Section], azure_optional: bool) -> CliResult<Actual> {
    let mut actual = Actual::default();
    for r in ctx.roles().await? {
        let custom = (!r.is_built_in).then(|| CustomRole {
            display_name: r.display_name.clone(),
            description: r.description.clone().filter(|d| !d.is_empty()),
            is_enabled: r.is_enabled,
            allowed_resource_actions: {
                let mut a: Vec<String> =
                    r.role_permissions.iter().flat_map(|p| p.allowed_resource_actions.iter().cloned()).collect();
                a.sort();
                a.dedup();
                a
            },
        });
        actual.roles.push(ActualRole { id: r.id, template_id: r.template_id, display_name: r.display_name, custom });
    }
    let users: Vec<User> = ctx.client.get_all_as("/v1.0/users").await?;
    actual.users = users.into_iter().map(|u| (u.id, u.user_principal_name)).collect();
    let groups: Vec<Group> = ctx.client.get_all_as("/v1.0/groups").await?;
    // Service principals may hold roles too (workload identities); they are named by display
    // name or appId.
    let sps: Vec<ServicePrincipal> = ctx.client.get_all_as("/v1.0/servicePrincipals").await?;
    actual.service_principals = sps.into_iter().map(|sp| (sp.id, sp.app_id, sp.display_name)).collect();
    let upns: HashMap<Uuid, String> = actual.users.iter().cloned().collect();
    for g in groups {
        let mut members = Vec::new();
        if g.is_assignable_to_role && sections.contains(&Section::Groups) {
            let rows: Vec<Value> = ctx.client.get_all(&format!("/v1.0/groups/{}/members", g.id)).await?;
            for m in rows {
                let Some(id) = m["id"].as_str().and_then(|i| Uuid::parse_str(i).ok()) else { continue };
                let name = upns.get(&id).cloned().or_else(|| m["displayName"].as_str().map(str::to_string));
                members.push((id, name.unwrap_or_else(|| id.to_string())));
            }
            members.sort_by_key(|(_, n)| n.to_lowercase());
        }
        actual.groups.push(ActualGroup {
            id: g.id,
            display_name: g.display_name,
            description: g.description.filter(|d| !d.is_empty()),
            role_assignable: g.is_assignable_to_role,
            members,
        });
    }
    if sections.contains(&Section::Settings) {
        let filter = "scopeId eq '/' and scopeType eq 'DirectoryRole'";
        let path = format!(
            "/v1.0/policies/roleManagementPolicyAssignments?$filter={}&$expand={}",
            enc(filter),
            enc("policy($expand=rules)")
        );
        let rows: Vec<UnifiedRoleManagementPolicyAssignment> = ctx.client.get_all_as(&path).await?;
        for row in rows {
            let rules: BTreeMap<String, super::model::Rule> = row
                .policy
                .and_then(|p| p.rules)
                .unwrap_or_default()
                .iter()
                .map(|r| (r.id().to_string(), rules::from_proto(r, &|id| actual.principal_name(id)).normalized()))
                .collect();
            actual.settings.insert(row.role_definition_id, rules);
        }
    }
    for (section, suffix) in
        [(Section::Eligibilities, "roleEligibilitySchedules"), (Section::Assignments, "roleAssignmentSchedules")]
    {
        if !sections.contains(&section) {
            continue;
        }
        let schedules: Vec<UnifiedRoleSchedule> = ctx.client.get_all_as(&format!("{RM}/{suffix}")).await?;
        let mut out = Vec::new();
        for s in schedules {
            // Activations come and go; only what an administrator assigned is managed. Inherited
            // rows (through a group) are the group's assignment, listed once under the group.
            let assigned = s.assignment_type.as_deref().is_none_or(|t| t.eq_ignore_ascii_case("Assigned"));
            let direct = s.member_type.eq_ignore_ascii_case("Direct");
            let live = !s.status.eq_ignore_ascii_case("Expired") && schedule_end(&s).is_none_or(|e| e > ctx.now);
            if !(assigned && direct && live) {
                continue;
            }
            out.push(ActualAssignment {
                principal: actual.principal_name(s.principal_id),
                principal_id: s.principal_id,
                role_id: s.role_definition_id,
                start: s.schedule_info.start_date_time.filter(|t| ahead(*t, s.created_date_time, ctx.now)),
                end: schedule_end(&s),
                created: s.created_date_time,
                scope: s.directory_scope_id,
            });
        }
        match section {
            Section::Eligibilities => actual.eligibilities = out,
            _ => actual.assignments = out,
        }
    }
    if sections.contains(&Section::Azure) {
        actual.azure = match load_azure(ctx, &actual).await {
            Ok(azure) => Some(azure),
            Err(e) if azure_optional && matches!(e.kind, Kind::Auth | Kind::Refused) => {
                eprintln!(
                    "note: the azure section is left out: {} ({}); `--only azure` requires it",
                    e.message, e.code
                );
                None
            }
            Err(e) => return Err(e),
        };
    }
    Ok(actual)
}

/// The api-version of management groups.
const MANAGEMENT_GROUPS_API: &str = "2021-04-01";

/// The tenant root management group's scope (its name is the tenant id): every scope the file
/// manages is at or below it, so its lists hold them all.
async fn tenant_root(ctx: &Ctx) -> CliResult<String> {
    let path = format!("/providers/Microsoft.Management/managementGroups?api-version={MANAGEMENT_GROUPS_API}");
    let groups: Vec<ManagementGroup> = ctx.arm.get_all_arm_as(&path).await?;
    let tenant = groups.first().map(|g| g.properties.tenant_id.clone()).ok_or_else(|| {
        CliError::refused(
            "TenantRootUnreadable",
            "the tenant root management group is not readable: the azure section needs read access to it (Reader, or elevateAccess)",
        )
    })?;
    Ok(format!("/providers/Microsoft.Management/managementGroups/{tenant}"))
}

/// ARM's Azure side: every role at the tenant, and the live eligible and assigned schedules at or
/// below the tenant root group, as the file names them.
async fn load_azure(ctx: &Ctx, actual: &Actual) -> CliResult<ActualAzure> {
    let mut azure = ActualAzure::default();
    let path = format!("{}?api-version={ROLES_API}", at("/", "roleDefinitions"));
    let roles: Vec<RoleDefinition> = ctx.arm.get_all_arm_as(&path).await?;
    for r in roles {
        let p = r.properties;
        let custom = p.role_type.eq_ignore_ascii_case("CustomRole").then(|| {
            let set = |f: fn(&openpim_proto::arm::role_definitions::Permission) -> &Vec<String>| {
                let mut v: Vec<String> = p.permissions.iter().flat_map(|b| f(b).iter().cloned()).collect();
                v.sort();
                v.dedup();
                v
            };
            AzureCustomRole {
                role_name: p.role_name.clone(),
                description: Some(p.description.clone()).filter(|d| !d.is_empty()),
                assignable_scopes: p.assignable_scopes.clone(),
                actions: set(|b| &b.actions),
                not_actions: set(|b| &b.not_actions),
                data_actions: set(|b| &b.data_actions),
                not_data_actions: set(|b| &b.not_data_actions),
            }
        });
        azure.roles.push(ActualAzureRole { id: r.name, role_name: p.role_name, custom });
    }
    let root = tenant_root(ctx).await?;
    let instant = |raw: &str| OffsetDateTime::parse(raw, &Rfc3339).ok();
    for (eligible, collection) in [(true, "roleEligibilitySchedules"), (false, "roleAssignmentSchedules")] {
        let path = format!("{}?api-version={PIM_API}", at(&root, collection));
        let rows: Vec<Schedule> = ctx.arm.get_all_arm_as(&path).await?;
        let mut out = Vec::new();
        for s in rows {
            let p = s.properties;
            // As the directory's: what an administrator assigned, directly, still live. Rows at
            // the tenant root `/` (elevateAccess) show as inherited here and are not managed.
            let assigned = p.assignment_type.as_deref().is_none_or(|t| t.eq_ignore_ascii_case("Assigned"));
            let direct = p.member_type.eq_ignore_ascii_case("Direct");
            let end = p.end_date_time.as_deref().and_then(instant);
            let live = !p.status.eq_ignore_ascii_case("Expired") && end.is_none_or(|e| e > ctx.now);
            let (Ok(principal_id), Some(role_id)) = (
                Uuid::parse_str(&p.principal_id),
                p.role_definition_id.rsplit('/').next().and_then(|g| Uuid::parse_str(g).ok()),
            ) else {
                continue;
            };
            if !(assigned && direct && live) {
                continue;
            }
            let created = instant(&p.created_on).unwrap_or(ctx.now);
            out.push(ActualAssignment {
                principal: actual.principal_name(principal_id),
                principal_id,
                role_id,
                start: instant(&p.start_date_time).filter(|t| ahead(*t, created, ctx.now)),
                end,
                created,
                scope: p.scope,
            });
        }
        if eligible {
            azure.eligibilities = out;
        } else {
            azure.assignments = out;
        }
    }
    Ok(azure)
}

/// The file that describes `actual`: the `sections` asked for, rules that differ from
/// `defaults` (every rule with `all`).
pub fn to_file(actual: &Actual, sections: &[Section], defaults: &[(String, super::model::Rule)], all: bool) -> PimFile {
    let mut file = PimFile { version: VERSION, ..PimFile::default() };
    if sections.contains(&Section::CustomRoles) {
        let mut roles: Vec<CustomRole> = actual.roles.iter().filter_map(|r| r.custom.clone()).collect();
        roles.sort_by_key(|r| r.display_name.to_lowercase());
        file.custom_roles = Some(roles);
    }
    if sections.contains(&Section::Groups) {
        let mut groups: Vec<GroupSpec> = actual
            .groups
            .iter()
            .filter(|g| g.role_assignable)
            .map(|g| GroupSpec {
                display_name: g.display_name.clone(),
                description: g.description.clone(),
                members: g.members.iter().map(|(_, n)| n.clone()).collect(),
            })
            .collect();
        groups.sort_by_key(|g| g.display_name.to_lowercase());
        file.groups = Some(groups);
    }
    if sections.contains(&Section::Settings) {
        let mut settings = Vec::new();
        for role in &actual.roles {
            let Some(current) = actual.settings.get(&role.id) else { continue };
            let mut rules = Rules::default();
            for (id, default) in defaults {
                let Some(rule) = current.get(id) else { continue };
                let shown = if all { rule.clone() } else { rule.only_differences(default) };
                if all || (rule != default && !shown.is_empty()) {
                    rules.set(id, shown);
                }
            }
            if !rules.get().is_empty() {
                settings.push(RoleSettings { role: role.display_name.clone(), rules });
            }
        }
        settings.sort_by_key(|s| s.role.to_lowercase());
        file.role_settings = Some(settings);
    }
    let spec = |a: &ActualAssignment| AssignmentSpec {
        principal: a.principal.clone(),
        role: actual.role(a.role_id).map_or_else(|| a.role_id.to_string(), |r| r.display_name.clone()),
        scope: a.scope.clone(),
        start: a.start.map(super::plan::rfc3339),
        end: a.end.map(super::plan::rfc3339),
    };
    let sorted = |list: &[ActualAssignment]| {
        let mut out: Vec<AssignmentSpec> = list.iter().map(spec).collect();
        out.sort_by_key(|a| (a.role.to_lowercase(), a.principal.to_lowercase(), a.scope.clone()));
        out
    };
    if sections.contains(&Section::Eligibilities) {
        file.eligibilities = Some(sorted(&actual.eligibilities));
    }
    if sections.contains(&Section::Assignments) {
        file.assignments = Some(sorted(&actual.assignments));
    }
    if let (true, Some(azure)) = (sections.contains(&Section::Azure), &actual.azure) {
        let mut custom_roles: Vec<AzureCustomRole> = azure.roles.iter().filter_map(|r| r.custom.clone()).collect();
        custom_roles.sort_by_key(|r| r.role_name.to_lowercase());
        let sorted = |list: &[ActualAssignment]| {
            let mut out: Vec<AzureAssignmentSpec> = list
                .iter()
                .map(|a| AzureAssignmentSpec {
                    principal: a.principal.clone(),
                    role: azure.role(a.role_id).map_or_else(|| a.role_id.to_string(), |r| r.role_name.clone()),
                    scope: a.scope.clone(),
                    start: a.start.map(super::plan::rfc3339),
                    end: a.end.map(super::plan::rfc3339),
                })
                .collect();
            out.sort_by_key(|a| (a.role.to_lowercase(), a.principal.to_lowercase(), a.scope.to_lowercase()));
            out
        };
        file.azure = Some(AzureSection {
            custom_roles: Some(custom_roles),
            eligibilities: Some(sorted(&azure.eligibilities)),
            assignments: Some(sorted(&azure.assignments)),
        });
    }
    file
}
