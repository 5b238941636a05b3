//! Carrying a plan out through the public API only, so authorisation, the rules and the audit
//! are the server's: one request per change, in the plan's order, stopping at the first refusal.

use super::model::AzureCustomRole;
use super::plan::{AssignmentKind, Change, Plan};
use super::render::change_line;
use super::rules::{self, Subject};
use crate::client::{enc, literal};
use crate::commands::azure_pim::{at, is_arm_scope, Collection, RequestBuilder, RequestType, ROLES_API};
use crate::commands::RM;
use crate::context::Ctx;
use crate::error::{CliError, CliResult, Kind};
use crate::resolve::ROLE_DEFINITIONS;
use openpim_core::schedule::Action;
use openpim_proto::arm::role_definitions::RoleDefinition;
use openpim_proto::directory::Group;
use openpim_proto::policies::{PolicyRule, UnifiedRoleManagementPolicyAssignment};
use openpim_proto::roles::{NewUnifiedRoleDefinition, NewUnifiedRolePermission, UnifiedRoleDefinition};
use openpim_proto::schedules::{NewExpiration, NewRequestSchedule, NewScheduleRequest, UnifiedRoleScheduleRequest};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

/// How a run ended: the changes applied, and the refusal that stopped it (if any).
pub struct Outcome {
    pub applied: Vec<Change>,
    pub failed: Option<(Change, CliError)>,
}

/// Names → ids as the run goes (groups and roles it creates join in).
struct Ids {
    users: HashMap<String, Uuid>,
    groups: HashMap<String, Uuid>,
    /// Service principals by the name the plan shows them by (display name or appId).
    service_principals: HashMap<String, Uuid>,
    roles: HashMap<String, Uuid>,
    /// Azure roles by role name.
    azure_roles: HashMap<String, Uuid>,
    /// Each role's policy id and rules, read when first needed.
    policies: HashMap<Uuid, (String, Vec<PolicyRule>)>,
}

fn key(name: &str) -> String {
    name.trim().to_lowercase()
}

impl Ids {
    fn principal(&self, name: &str) -> CliResult<Uuid> {
        let k = key(name);
        let found = self.users.get(&k).or_else(|| self.groups.get(&k));
        found.or_else(|| self.service_principals.get(&k)).copied().ok_or_else(|| {
            CliError::not_found("PrincipalNotFound", format!("'{name}' is no longer a user or group of the tenant"))
        })
    }

    fn role(&self, name: &str) -> CliResult<Uuid> {
        self.roles
            .get(&key(name))
            .copied()
            .ok_or_else(|| CliError::not_found("RoleNotFound", format!("role '{name}' is no longer defined")))
    }

    fn azure_role(&self, name: &str) -> CliResult<Uuid> {
        self.azure_roles
            .get(&key(name))
            .copied()
            .ok_or_else(|| CliError::not_found("RoleNotFound", format!("Azure role '{name}' is no longer defined")))
    }
}

/// How many schedule requests are in flight at once: assignments are independent of each other,
/// and the server commits concurrent writers together (one fsync for a group on SQLite), so a
/// large file applies several times faster than one request at a time.
const PARALLEL_REQUESTS: usize = 8;

pub async fn run(ctx: &Ctx, plan: &Plan, actual: &super::plan::Actual, progress: bool) -> Outcome {
    let mut ids = Ids {
        users: actual.users.iter().map(|(id, upn)| (key(upn), *id)).collect(),
        groups: actual.groups.iter().map(|g| (key(&g.display_name), g.id)).collect(),
        service_principals: actual
            .service_principals
            .iter()
            .map(|(id, ..)| (key(&actual.principal_name(*id)), *id))
            .collect(),
        roles: actual.roles.iter().map(|r| (key(&r.display_name), r.id)).collect(),
        azure_roles: actual.azure.iter().flat_map(|a| &a.roles).map(|r| (key(&r.role_name), r.id)).collect(),
        policies: HashMap::new(),
    };
    let mut applied = Vec::new();
    let mut done = |change: &Change| {
        if progress {
            println!("applied: {}", change_line(change));
        }
        applied.push(change.clone());
    };
    let mut rest = plan.changes.as_slice();
    while let Some(change) = rest.first() {
        if is_schedule_request(change) {
            // A run of schedule requests: chunks of requests in flight together. Every request
            // of a chunk completes before the next starts, so what was applied is known exactly.
            let n = rest.iter().take(PARALLEL_REQUESTS).take_while(|c| is_schedule_request(c)).count();
            let (chunk, tail) = rest.split_at(n);
            let ids_now = &ids;
            let results =
                futures_util::future::join_all(chunk.iter().map(|c| schedule_request(ctx, &plan.id, c, ids_now))).await;
            let mut failed = None;
            for (c, r) in chunk.iter().zip(results) {
                match r {
                    Ok(()) => done(c),
                    Err(e) => {
                        failed.get_or_insert((c.clone(), e));
                    }
                }
            }
            if let Some(f) = failed {
                return Outcome { applied, failed: Some(f) };
            }
            rest = tail;
            continue;
        }
        if let Err(e) = one(ctx, &plan.id, change, &mut ids).await {
            return Outcome { applied, failed: Some((change.clone(), e)) };
        }
        done(change);
        rest = &rest[1..];
    }
    Outcome { applied, failed: None }
}

fn is_schedule_request(c: &Change) -> bool {
    matches!(c, Change::CreateAssignment { .. } | Change::UpdateAssignment { .. } | Change::RemoveAssignment { .. })
}

fn justification(plan_id: &str, change: &Change) -> String {
    format!("openpim apply {plan_id}: {}", change_line(change))
}

/// A mail nickname from a display name: letters and digits only (Graph's rule), never empty.
fn mail_nickname(name: &str) -> String {
    let n: String = name.chars().filter(char::is_ascii_alphanumeric).take(64).collect();
    if n.is_empty() {
        "group".into()
    } else {
        n
    }
}

async fn policy<'a>(ctx: &Ctx, ids: &'a mut Ids, role_id: Uuid) -> CliResult<&'a (String, Vec<PolicyRule>)> {
    if let std::collections::hash_map::Entry::Vacant(slot) = ids.policies.entry(role_id) {
        let filter = format!(
            "scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq {}",
            literal(&role_id.to_string())
        );
        let path = format!(
            "/v1.0/policies/roleManagementPolicyAssignments?$filter={}&$expand={}",
            enc(&filter),
            enc("policy($expand=rules)")
        );
        let rows: Vec<UnifiedRoleManagementPolicyAssignment> = ctx.client.get_all_as(&path).await?;
        let row = rows
            .into_iter()
            .next()
            .ok_or_else(|| CliError::not_found("PolicyNotFound", format!("role {role_id} has no policy at /")))?;
        let rules = row.policy.and_then(|p| p.rules).unwrap_or_default();
        slot.insert((row.policy_id, rules));
    }
    Ok(&ids.policies[&role_id])
}

async fn one(ctx: &Ctx, plan_id: &str, change: &Change, ids: &mut Ids) -> CliResult<()> {
    let c = &ctx.client;
    match change {
        Change::CreateCustomRole { role } => {
            let body = NewUnifiedRoleDefinition {
                display_name: role.display_name.clone(),
                description: role.description.clone(),
                is_enabled: role.is_enabled,
                role_permissions: vec![NewUnifiedRolePermission {
                    allowed_resource_actions: role.allowed_resource_actions.clone(),
                }],
            };
            let created: UnifiedRoleDefinition = c.post_as(ROLE_DEFINITIONS, &body).await?;
            ids.roles.insert(key(&created.display_name), created.id);
        }
        Change::UpdateCustomRole { id, after, .. } => {
            let body = json!({
                "description": after.description,
                "isEnabled": after.is_enabled,
                "rolePermissions": [{"allowedResourceActions": after.allowed_resource_actions}],
            });
            c.patch(&format!("{ROLE_DEFINITIONS}/{id}"), &body).await?;
        }
        Change::RemoveCustomRole { id, .. } => c.delete(&format!("{ROLE_DEFINITIONS}/{id}")).await?,
        Change::CreateGroup { display_name, description } => {
            let body = json!({
                "displayName": display_name,
                "description": description,
                "mailEnabled": false,
                "securityEnabled": true,
                "mailNickname": mail_nickname(display_name),
                "isAssignableToRole": true,
            });
            let group: Group = c.post_as("/v1.0/groups", &body).await?;
            ids.groups.insert(key(&group.display_name), group.id);
        }
        Change::UpdateGroup { id, after, .. } => {
            c.patch(&format!("/v1.0/groups/{id}"), &json!({ "description": after })).await?;
        }
        Change::RemoveGroup { id, .. } => c.delete(&format!("/v1.0/groups/{id}")).await?,
        Change::AddMember { group, member } => {
            let group_id = ids.principal(group)?;
            let member_id = ids.principal(member)?;
            let body = json!({ "@odata.id": format!("{}/v1.0/directoryObjects/{member_id}", c.base()) });
            c.post(&format!("/v1.0/groups/{group_id}/members/$ref"), &body).await?;
        }
        Change::RemoveMember { group_id, member_id, .. } => {
            c.delete(&format!("/v1.0/groups/{group_id}/members/{member_id}/$ref")).await?
        }
        Change::UpdateRule { role, rule_id, after, .. } => {
            let role_id = ids.role(role)?;
            let (users, groups) = (ids.users.clone(), ids.groups.clone());
            let (policy_id, rules) = policy(ctx, ids, role_id).await?.clone();
            let current = rules.iter().find(|r| r.id() == rule_id).ok_or_else(|| {
                CliError::new(Kind::Server, "BadResponse", format!("the policy of '{role}' has no rule {rule_id}"))
            })?;
            let subject = |name: &str| {
                let k = key(name);
                users.get(&k).map(|id| Subject::User(*id)).or_else(|| groups.get(&k).map(|id| Subject::Group(*id)))
            };
            let body = rules::to_proto(current, after, &subject).map_err(|name| {
                CliError::not_found("PrincipalNotFound", format!("approver '{name}' is not a user or group"))
            })?;
            let path = format!("/v1.0/policies/roleManagementPolicies/{}/rules/{}", enc(&policy_id), enc(rule_id));
            c.patch_with(&path, &body).await?;
            // Later rules of the same policy start from what the server has now.
            if let Some((_, rules)) = ids.policies.get_mut(&role_id) {
                if let Some(slot) = rules.iter_mut().find(|r| r.id() == rule_id) {
                    *slot = body;
                }
            }
        }
        Change::CreateAssignment { .. } | Change::UpdateAssignment { .. } | Change::RemoveAssignment { .. } => {
            schedule_request(ctx, plan_id, change, ids).await?
        }
        Change::CreateAzureRole { role } => {
            let id = Uuid::new_v4();
            put_azure_role(ctx, id, role).await?;
            ids.azure_roles.insert(key(&role.role_name), id);
        }
        Change::UpdateAzureRole { id, after, .. } => put_azure_role(ctx, *id, after).await?,
        Change::RemoveAzureRole { id, scope, .. } => {
            ctx.arm.delete(&format!("{}/{id}?api-version={ROLES_API}", at(scope, "roleDefinitions"))).await?
        }
    }
    Ok(())
}

/// Creates or replaces an Azure custom role (ARM's PUT, at its first assignable scope).
async fn put_azure_role(ctx: &Ctx, id: Uuid, role: &AzureCustomRole) -> CliResult<()> {
    let scope = role.assignable_scopes.first().map_or("/", String::as_str);
    let body = json!({"properties": {
        "roleName": role.role_name,
        "description": role.description.clone().unwrap_or_default(),
        "type": "CustomRole",
        "assignableScopes": role.assignable_scopes,
        "permissions": [{
            "actions": role.actions,
            "notActions": role.not_actions,
            "dataActions": role.data_actions,
            "notDataActions": role.not_data_actions,
        }],
    }});
    let path = format!("{}/{id}?api-version={ROLES_API}", at(scope, "roleDefinitions"));
    let _: RoleDefinition = ctx.arm.put_as(&path, &body).await?;
    Ok(())
}

/// An assignment change: one schedule request, justified with the plan's id.
async fn schedule_request(ctx: &Ctx, plan_id: &str, change: &Change, ids: &Ids) -> CliResult<()> {
    if let Change::CreateAssignment { scope, .. }
    | Change::UpdateAssignment { scope, .. }
    | Change::RemoveAssignment { scope, .. } = change
    {
        if is_arm_scope(scope) {
            return azure_request(ctx, plan_id, change, ids).await;
        }
    }
    let until = |end: &Option<time::OffsetDateTime>| match end {
        Some(end_date_time) => NewExpiration::AfterDateTime { end_date_time: *end_date_time },
        None => NewExpiration::NoExpiration,
    };
    let (kind, action, principal, role, scope, expiration) = match change {
        Change::CreateAssignment { kind, principal, role, scope, start, end } => {
            (*kind, Action::AdminAssign, ids.principal(principal)?, ids.role(role)?, scope, Some((*start, until(end))))
        }
        Change::UpdateAssignment { kind, principal, role, scope, after, start, .. } => {
            let start = start.and_then(|s| s.after);
            (*kind, Action::AdminUpdate, ids.principal(principal)?, ids.role(role)?, scope, Some((start, until(after))))
        }
        Change::RemoveAssignment { kind, principal_id, role_id, scope, .. } => {
            (*kind, Action::AdminRemove, *principal_id, *role_id, scope, None)
        }
        other => {
            let line = change_line(other);
            return Err(CliError::local("NotAScheduleRequest", format!("{line} is not an assignment change")));
        }
    };
    request(ctx, plan_id, change, kind, action, principal, role, scope, expiration).await
}

/// An Azure assignment change: one ARM schedule request at its scope, justified with the plan's id.
async fn azure_request(ctx: &Ctx, plan_id: &str, change: &Change, ids: &Ids) -> CliResult<()> {
    let collection = |kind: AssignmentKind| match kind {
        AssignmentKind::Eligible => Collection::Eligible,
        AssignmentKind::Active => Collection::Active,
    };
    let role_at = |scope: &str, role: Uuid| format!("{}/{role}", at(scope, "roleDefinitions"));
    let builder = match change {
        Change::CreateAssignment { kind, principal, role, scope, start, end } => RequestBuilder::new(
            collection(*kind),
            RequestType::AdminAssign,
            scope,
            role_at(scope, ids.azure_role(role)?),
            ids.principal(principal)?,
        )
        .window(None, *end)
        .starting(*start),
        Change::UpdateAssignment { kind, principal, role, scope, after, start, .. } => RequestBuilder::new(
            collection(*kind),
            RequestType::AdminUpdate,
            scope,
            role_at(scope, ids.azure_role(role)?),
            ids.principal(principal)?,
        )
        .window(None, *after)
        .starting(start.and_then(|s| s.after)),
        Change::RemoveAssignment { kind, principal_id, role_id, scope, .. } => RequestBuilder::new(
            collection(*kind),
            RequestType::AdminRemove,
            scope,
            role_at(scope, *role_id),
            *principal_id,
        ),
        other => {
            let line = change_line(other);
            return Err(CliError::local("NotAScheduleRequest", format!("{line} is not an assignment change")));
        }
    };
    builder.justification(Some(justification(plan_id, change))).send(ctx).await.map(drop)
}

#[allow(clippy::too_many_arguments)]
async fn request(
    ctx: &Ctx,
    plan_id: &str,
    change: &Change,
    kind: AssignmentKind,
    action: Action,
    principal: Uuid,
    role: Uuid,
    scope: &str,
    window: Option<(Option<time::OffsetDateTime>, NewExpiration)>,
) -> CliResult<()> {
    let body = NewScheduleRequest {
        action: action.to_string(),
        principal_id: principal,
        role_definition_id: role,
        directory_scope_id: scope.to_string(),
        justification: Some(justification(plan_id, change)),
        schedule_info: window.map(|(start_date_time, expiration)| NewRequestSchedule { start_date_time, expiration }),
        ticket_info: None,
    };
    let collection = match kind {
        AssignmentKind::Eligible => format!("{RM}/roleEligibilityScheduleRequests"),
        AssignmentKind::Active => format!("{RM}/roleAssignmentScheduleRequests"),
    };
    let _: UnifiedRoleScheduleRequest = ctx.client.post_as(&collection, &body).await?;
    Ok(())
}
