//! `{scope}/providers/Microsoft.Authorization/roleManagementPolicyAssignments[/{name}]`: which
//! policy applies to a role at a scope. Every (role, scope) has exactly one policy, its own (role
//! settings are not inherited), so every assignment exists: `{policyGuid}_{roleDefinitionGuid}`
//! names it. GET and list (with `$filter=roleDefinitionId eq '...'`) read it; PUT confirms it
//! (201, naming any other policy is refused); DELETE resets the policy to Azure's defaults (the
//! policy the role has at a scope nobody changed): 200 when it had been changed, 204 otherwise.

use super::role_management_policies::{self as policies, policy_scope, role_filter, scope_info};
use super::{json, ArmError, ArmRequest, ArmResult};
use crate::azure::{self, policies as service};
use crate::state::{AppState, Audit};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use openpim_core::scope::ArmScope;
use openpim_core::ObjectId;
use openpim_proto::arm::policies as proto;

pub const API_VERSIONS: &[&str] = policies::API_VERSIONS;

pub async fn handle(s: AppState, req: ArmRequest) -> ArmResult<Response> {
    let scope = policy_scope(&req)?;
    match (&req.method, req.path.name()) {
        (&Method::GET, None) => list(&s, &req, &scope).await,
        (&Method::GET, Some(name)) => {
            let (policy, role) = parse_name(name)?;
            let p = service::get_for_role(&s, &req.caller, &scope, role, service::ASSIGNMENTS_READ)
                .await
                .map_err(|_| not_found(name))?;
            if p.id != policy {
                return Err(not_found(name));
            }
            let info = scope_info(&s, &scope).await?;
            Ok(json(StatusCode::OK, &render(&p, &info)))
        }
        (&Method::PUT, Some(name)) => put(&s, &req, &scope, name).await,
        (&Method::DELETE, Some(name)) => delete(&s, &req, &scope, name).await,
        (method, _) => Err(ArmError::method_not_allowed(method)),
    }
}

/// No source gives ARM's code for a missing policy assignment; OpenPIM answers 404
/// `RoleManagementPolicyAssignmentNotFound`.
fn not_found(name: &str) -> ArmError {
    ArmError::new(
        StatusCode::NOT_FOUND,
        "RoleManagementPolicyAssignmentNotFound",
        format!("The role management policy assignment '{name}' does not exist at this scope."),
    )
}

/// `{policyGuid}_{roleDefinitionGuid}` (the spec example's form).
fn parse_name(name: &str) -> ArmResult<(ObjectId, ObjectId)> {
    let parsed =
        name.split_once('_').and_then(|(p, r)| Some((uuid::Uuid::try_parse(p).ok()?, uuid::Uuid::try_parse(r).ok()?)));
    parsed.ok_or_else(|| not_found(name))
}

async fn list(s: &AppState, req: &ArmRequest, scope: &ArmScope) -> ArmResult<Response> {
    let role = role_filter(req.query.filter())?;
    let roles = service::list_roles(s, &req.caller, scope, role, service::ASSIGNMENTS_READ).await?;
    let page = req.paging()?.with_size(policies::PAGE_SIZE).page(roles, req, s);
    let info = scope_info(s, scope).await?;
    let found = service::policies_of(s, scope, page.value).await?;
    let value = found.iter().map(|p| render(p, &info)).collect();
    Ok(json(StatusCode::OK, &openpim_proto::arm::ArmList { value, next_link: page.next_link }))
}

/// Confirms the assignment: the body names the role and the policy of this scope (`scope`,
/// `roleDefinitionId`, `policyId`; read-only properties are ignored). Another scope's policy is
/// refused with 400 `InvalidRoleManagementPolicyAssignment` (each scope keeps its own settings).
async fn put(s: &AppState, req: &ArmRequest, scope: &ArmScope, name: &str) -> ArmResult<Response> {
    let attempt = Audit::new(azure::AUDIT_CATEGORY, "Update role setting in PIM", "Assign")
        .detail("policyAssignment", name)
        .detail("scope", scope.as_str());
    azure::authorize(s, &req.caller, service::WRITE, scope, &attempt).await?;
    let (policy, role) = parse_name(name)?;
    let p = service::get_for_role(s, &req.caller, scope, role, service::ASSIGNMENTS_READ).await.map_err(|e| {
        if e.status == StatusCode::NOT_FOUND {
            not_found(name)
        } else {
            e
        }
    })?;
    let mut body = req.json_body("RoleManagementPolicyAssignment")?;
    for key in ["id", "name", "type"] {
        body.ignore(key);
    }
    let mut props = body
        .object("properties", "RoleManagementPolicyAssignmentProperties")?
        .ok_or_else(|| body.missing("properties"))?;
    body.finish()?;
    let refuse = |why: String| ArmError::new(StatusCode::BAD_REQUEST, "InvalidRoleManagementPolicyAssignment", why);
    if let Some(given) = props.string("scope")? {
        if ArmScope::parse(&given).ok().as_ref() != Some(scope) {
            return Err(refuse(format!("The scope '{given}' is not the scope of the request URI.")));
        }
    }
    let role_id = props.required_string("roleDefinitionId")?;
    if last_guid(&role_id) != Some(role) {
        return Err(refuse(format!("roleDefinitionId '{role_id}' does not name the role of '{name}'.")));
    }
    let policy_id = props.required_string("policyId")?;
    if last_guid(&policy_id) != Some(policy) || policy != p.id {
        return Err(refuse(format!(
            "policyId '{policy_id}' is not the policy of this role at this scope ('{}'); role settings are kept \
             per role and scope and are not shared or inherited.",
            policies::policy_resource_id(&p)
        )));
    }
    for key in ["effectiveRules", "policyAssignmentProperties"] {
        props.ignore(key);
    }
    props.finish()?;
    let info = scope_info(s, scope).await?;
    Ok(json(StatusCode::CREATED, &render(&p, &info)))
}

fn last_guid(id: &str) -> Option<ObjectId> {
    uuid::Uuid::try_parse(id.rsplit('/').next().unwrap_or("")).ok()
}

async fn delete(s: &AppState, req: &ArmRequest, scope: &ArmScope, name: &str) -> ArmResult<Response> {
    let attempt = Audit::new(azure::AUDIT_CATEGORY, "Update role setting in PIM", "Delete")
        .detail("policyAssignment", name)
        .detail("scope", scope.as_str());
    let granted = azure::authorize(s, &req.caller, service::WRITE, scope, &attempt).await?;
    let Ok((policy, role)) = parse_name(name) else { return Ok(super::empty(StatusCode::NO_CONTENT)) };
    let p = match service::get_for_role(s, &req.caller, scope, role, service::ASSIGNMENTS_READ).await {
        Ok(p) if p.id == policy => p,
        Ok(_) => return Ok(super::empty(StatusCode::NO_CONTENT)),
        Err(e) if e.status == StatusCode::NOT_FOUND => return Ok(super::empty(StatusCode::NO_CONTENT)),
        Err(e) => return Err(e),
    };
    if service::reset(s, &granted, &req.caller, &p).await? {
        let p = service::get_for_role(s, &req.caller, scope, role, service::ASSIGNMENTS_READ).await?;
        let info = scope_info(s, scope).await?;
        Ok(json(StatusCode::OK, &render(&p, &info)))
    } else {
        Ok(super::empty(StatusCode::NO_CONTENT))
    }
}

/// The collection's type within `Microsoft.Authorization`, as ids write it.
pub const COLLECTION: &str = "roleManagementPolicyAssignments";

/// `{scope}/providers/Microsoft.Authorization/roleManagementPolicyAssignments/{name}`, as the
/// spec example shows it (its `id` says `roleManagementPolicyAssignment`; OpenPIM uses the
/// collection's name, the path it serves).
pub fn render(p: &service::ArmPolicy, scope: &proto::ScopeInfo) -> proto::RoleManagementPolicyAssignment {
    let name = format!("{}_{}", p.id, p.role.id);
    let role_definition_id = super::role_definitions::definition_id(Some(&p.scope), p.role.id);
    let policy_id = policies::policy_resource_id(p);
    proto::RoleManagementPolicyAssignment {
        id: p.scope.resource_id(COLLECTION, &name),
        name,
        resource_type: proto::POLICY_ASSIGNMENT_TYPE.to_string(),
        properties: proto::PolicyAssignmentProperties {
            scope: p.scope.as_str().to_string(),
            role_definition_id: role_definition_id.clone(),
            policy_id: policy_id.clone(),
            effective_rules: p.rules.iter().map(policies::render_rule).collect(),
            policy_assignment_properties: proto::PolicyAssignmentInfo {
                scope: scope.clone(),
                role_definition: proto::ScopeInfo {
                    id: role_definition_id,
                    display_name: Some(p.role.display_name.clone()),
                    info_type: Some(openpim_core::roles::azure::role_type(&p.role).to_string()),
                },
                policy: proto::PolicyInfo {
                    id: policy_id,
                    last_modified_by: policies::last_modified_by(p),
                    last_modified_date_time: p.last_modified.map(crate::wire::datetime),
                },
            },
        },
    }
}
