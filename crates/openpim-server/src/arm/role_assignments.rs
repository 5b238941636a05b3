//! `{scope}/providers/Microsoft.Authorization/roleAssignments[/{name}]`: PUT, GET, DELETE and
//! list at every scope level (ARM's root `/`, management groups, subscriptions, resource groups,
//! resources). `GET /{roleAssignmentId}` with the full id is the same path. At the root the path
//! has no scope (`/providers/Microsoft.Authorization/roleAssignments/{name}`), and what lives there
//! is what `elevateAccess` made; only a caller holding `roleAssignments/write` at `/` (User Access
//! Administrator or Owner there) may assign at it.

use super::{json, ArmError, ArmRequest, ArmResult};
use crate::azure::{self, role_assignments};
use crate::state::AppState;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use openpim_core::azure_assignment::{
    ArmPrincipalType, ArmRoleAssignment, AssignmentWrite, ListFilter, NewArmAssignment,
};
use openpim_core::scope::{ArmScope, AuthorizationResourceId};
use openpim_core::ObjectId;
use openpim_proto::arm::role_assignments::{RoleAssignment, RoleAssignmentProperties, ROLE_ASSIGNMENT_TYPE};

/// 2022-04-01 is the SDK's default and the model here; the older versions clients still send
/// carry the same shape for what OpenPIM supports.
pub const API_VERSIONS: &[&str] = &[
    "2022-04-01",
    "2015-07-01",
    "2018-01-01-preview",
    "2018-09-01-preview",
    "2020-03-01-preview",
    "2020-04-01-preview",
    "2020-08-01-preview",
    "2020-10-01-preview",
    "2022-01-01-preview",
];

/// The collection's type within `Microsoft.Authorization`, as ids write it.
pub const COLLECTION: &str = "roleAssignments";

pub const READ: &str = "Microsoft.Authorization/roleAssignments/read";
pub const WRITE: &str = "Microsoft.Authorization/roleAssignments/write";
pub const DELETE: &str = "Microsoft.Authorization/roleAssignments/delete";

pub async fn handle(s: AppState, req: ArmRequest) -> ArmResult<Response> {
    if req.path.types.len() != 1 {
        return Err(ArmError::invalid_resource_type(
            &req.path.types.join("/"),
            &req.path.namespace,
            Some(req.api_version.as_str()),
        ));
    }
    let scope = req.path.parent.scope().cloned();
    match (&req.method, req.path.name()) {
        (&Method::GET, None) => list(&s, &req, scope.as_ref()).await,
        (method, Some(name)) => {
            let name = assignment_name(name)?;
            let scope = scope.unwrap_or_else(ArmScope::root);
            match *method {
                Method::GET => get(&s, &req, &scope, name).await,
                Method::PUT => put(&s, &req, scope, name).await,
                Method::DELETE => delete(&s, &req, &scope, name).await,
                _ => Err(ArmError::method_not_allowed(method)),
            }
        }
        (method, None) => Err(ArmError::method_not_allowed(method)),
    }
}

/// ARM's assignment names are GUIDs.
fn assignment_name(raw: &str) -> ArmResult<ObjectId> {
    (raw.len() == 36).then(|| uuid::Uuid::try_parse(raw).ok()).flatten().ok_or_else(|| {
        ArmError::new(
            StatusCode::BAD_REQUEST,
            "InvalidRoleAssignmentId",
            format!("The role assignment ID '{raw}' is not valid. The role assignment ID must be a GUID."),
        )
    })
}

fn not_found(name: ObjectId) -> ArmError {
    ArmError::new(
        StatusCode::NOT_FOUND,
        "RoleAssignmentNotFound",
        format!("The role assignment '{name}' is not found."),
    )
}

async fn get(s: &AppState, req: &ArmRequest, scope: &ArmScope, name: ObjectId) -> ArmResult<Response> {
    azure::authorize_read(s, &req.caller, READ, scope)?;
    let found = role_assignments::find(s, scope, name).await?.ok_or_else(|| not_found(name))?;
    Ok(json(StatusCode::OK, &render(&found)))
}

async fn put(s: &AppState, req: &ArmRequest, scope: ArmScope, name: ObjectId) -> ArmResult<Response> {
    let new = read_body(req, scope, name)?;
    let attempt = role_assignments::creation_attempt(&new);
    let granted = azure::authorize(s, &req.caller, WRITE, &new.scope, &attempt).await?;
    let (assignment, write) = role_assignments::put(s, &granted, &req.caller, new).await?;
    let status = match write {
        AssignmentWrite::Create => StatusCode::CREATED,
        AssignmentWrite::Update => StatusCode::OK,
    };
    Ok(json(status, &render(&assignment)))
}

async fn delete(s: &AppState, req: &ArmRequest, scope: &ArmScope, name: ObjectId) -> ArmResult<Response> {
    let Some(found) = role_assignments::find(s, scope, name).await? else {
        // ARM: 204 "already deleted or does not exist"; the caller still needs the right to ask.
        azure::authorize_read(s, &req.caller, DELETE, scope)?;
        return Ok(super::empty(StatusCode::NO_CONTENT));
    };
    let audit = role_assignments::removal_audit(&found);
    let granted = azure::authorize(s, &req.caller, DELETE, scope, &audit).await?;
    role_assignments::remove(s, &granted, &req.caller, &found).await?;
    Ok(json(StatusCode::OK, &render(&found)))
}

/// The list at `scope` (`None`: the path without a scope, ARM's root `/`, where every assignment
/// is at or below). Reading needs `roleAssignments/read` at the scope; at the root, each
/// assignment is shown to callers who may read at its own scope (so anyone may list their own
/// with `principalId eq`, as Microsoft's elevate-access page does, without reading at `/`).
async fn list(s: &AppState, req: &ArmRequest, scope: Option<&ArmScope>) -> ArmResult<Response> {
    if let Some(scope) = scope {
        azure::authorize_read(s, &req.caller, READ, scope)?;
    }
    let filter = ListFilter::parse(req.query.filter())?;
    let now = s.now();
    let principals: Option<Vec<ObjectId>> = match (filter.principal_id, filter.assigned_to) {
        (Some(p), _) => Some(vec![p]),
        (None, Some(p)) => Some(std::iter::once(p).chain(s.index().security_groups_of(p).iter().copied()).collect()),
        (None, None) => None,
    };
    let all = s.store.arm_role_assignments(now, principals.as_deref()).await?;
    let shown: Vec<RoleAssignment> = {
        let index = s.index();
        let hierarchy = index.management_groups();
        let groups = filter.assigned_to.map(|p| index.security_groups_of(p).to_vec()).unwrap_or_default();
        let target = scope.cloned().unwrap_or_else(ArmScope::root);
        all.iter()
            .filter(|a| {
                let Some(at) = a.scope() else { return false };
                filter.keeps(a.schedule.principal_id, at, Some(&target), &groups, hierarchy)
                    && (scope.is_some()
                        || openpim_core::authz::grant_azure(&index, req.caller.id(), READ, at, now).is_ok())
            })
            .map(render)
            .collect()
    };
    let page = req.paging()?.page(shown, req, s);
    Ok(json(StatusCode::OK, &page))
}

/// The PUT body: `{"properties": {"roleDefinitionId", "principalId", "principalType"?,
/// "description"?, "condition"?, "conditionVersion"?}}`, property names in any case.
fn read_body(req: &ArmRequest, scope: ArmScope, name: ObjectId) -> ArmResult<NewArmAssignment> {
    let mut body = req.json_body("RoleAssignmentCreateParameters")?;
    let mut props = body.object("properties", "RoleAssignmentProperties")?.ok_or_else(|| body.missing("properties"))?;
    for read_only in ["id", "name", "type"] {
        body.ignore(read_only);
    }
    body.finish()?;
    let role_raw = props.required_string("roleDefinitionId")?;
    let role_definition_id = role_definition_guid(&role_raw).ok_or_else(|| {
        ArmError::new(
            StatusCode::BAD_REQUEST,
            "InvalidRoleDefinitionId",
            format!("The role definition ID '{role_raw}' is not valid."),
        )
    })?;
    let principal_raw = props.required_string("principalId")?;
    let principal_id = (principal_raw.len() == 36)
        .then(|| uuid::Uuid::try_parse(&principal_raw).ok())
        .flatten()
        .ok_or_else(|| props.invalid("principalId", format!("'{principal_raw}' is not a GUID.")))?;
    let principal_type = match props.string("principalType")? {
        None => None,
        Some(t) => Some(t.parse::<ArmPrincipalType>().map_err(|_| {
            props.invalid("principalType", "expected User, Group, ServicePrincipal, ForeignGroup or Device.")
        })?),
    };
    let description = props.string("description")?;
    let condition = props.string("condition")?;
    let condition_version = props.string("conditionVersion")?;
    // Read-only properties a client may send back as it read them.
    for read_only in ["scope", "createdOn", "updatedOn", "createdBy", "updatedBy"] {
        props.ignore(read_only);
    }
    if props.string("delegatedManagedIdentityResourceId")?.is_some() {
        return Err(props.invalid(
            "delegatedManagedIdentityResourceId",
            "delegated managed identities are not supported by OpenPIM.",
        ));
    }
    props.finish()?;
    Ok(NewArmAssignment {
        name,
        scope,
        role_definition_id,
        principal_id,
        principal_type,
        description,
        condition,
        condition_version,
    })
}

/// The role's GUID from any id form clients send: the tenant form
/// `/providers/Microsoft.Authorization/roleDefinitions/{guid}`, a subscription-, resource-group-
/// or management-group-prefixed one, or the bare GUID.
fn role_definition_guid(raw: &str) -> Option<uuid::Uuid> {
    AuthorizationResourceId::guid_of(raw, super::role_definitions::COLLECTION)
}

/// The role definition id as ARM writes it in an assignment: subscription-prefixed under a
/// subscription, the tenant form above.
pub fn role_definition_id(scope: &ArmScope, role: uuid::Uuid) -> String {
    let at = scope.subscription_id().map_or_else(ArmScope::root, ArmScope::subscription);
    at.resource_id(super::role_definitions::COLLECTION, role)
}

pub fn render(a: &ArmRoleAssignment) -> RoleAssignment {
    let s = &a.schedule;
    // ARM's text of the scope (`/` for the root, which `Scope` prints otherwise). A row outside
    // ARM (never listed here) is named as if at the root rather than refused.
    let root = ArmScope::root();
    let (scope, at) = match a.scope() {
        Some(at) => (at.to_string(), at),
        None => (s.scope.to_string(), &root),
    };
    RoleAssignment {
        id: at.resource_id(COLLECTION, s.id),
        name: s.id.to_string(),
        resource_type: ROLE_ASSIGNMENT_TYPE.to_string(),
        properties: RoleAssignmentProperties {
            scope,
            role_definition_id: role_definition_id(at, s.role_definition_id),
            principal_id: s.principal_id.to_string(),
            principal_type: ArmPrincipalType::of(s.principal_kind).to_string(),
            description: a.description.clone(),
            condition: None,
            condition_version: None,
            created_on: crate::wire::datetime(s.created),
            updated_on: crate::wire::datetime(s.modified),
            created_by: s.created_by.map(|c| c.to_string()),
            updated_by: a.updated_by.map(|c| c.to_string()),
            delegated_managed_identity_resource_id: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_definition_ids_in_every_form_clients_send() {
        let guid = uuid::uuid!("b24988ac-6180-42a0-ab88-20f7382dd24c");
        for raw in [
            "/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c",
            "/subscriptions/00000000-0000-4000-8000-000000000001/providers/Microsoft.Authorization/roleDefinitions/B24988AC-6180-42A0-AB88-20F7382DD24C",
            "/subscriptions/x/resourceGroups/rg/providers/microsoft.authorization/roledefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c",
            "b24988ac-6180-42a0-ab88-20f7382dd24c",
        ] {
            assert_eq!(role_definition_guid(raw), Some(guid), "{raw}");
        }
        for bad in [
            "",
            "/providers/Microsoft.Authorization/roleAssignments/b24988ac-6180-42a0-ab88-20f7382dd24c",
            "Contributor",
            "/providers/Microsoft.Authorization/roleDefinitions/x",
        ] {
            assert_eq!(role_definition_guid(bad), None, "{bad}");
        }
    }
}
