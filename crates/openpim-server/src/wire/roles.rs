//! unifiedRoleDefinition and unifiedRoleAssignment.

use super::body::Body;
use crate::error::{ApiError, ApiResult};
use openpim_core::roles::{CustomRoleInput, RoleDefinition, RolePermission};
use openpim_core::schedule::Schedule;
use serde_json::{json, Value};

pub const ROLE_DEFINITION_TYPE: &str = "microsoft.graph.unifiedRoleDefinition";
pub const ROLE_ASSIGNMENT_TYPE: &str = "microsoft.graph.unifiedRoleAssignment";

pub fn role_definition(r: &RoleDefinition) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.unifiedRoleDefinition",
        "id": r.id,
        "description": r.description,
        "displayName": r.display_name,
        "isBuiltIn": r.is_built_in,
        "isEnabled": r.is_enabled,
        "isPrivileged": r.is_privileged,
        "resourceScopes": ["/"],
        "templateId": r.template_id,
        "version": r.version,
        "rolePermissions": r.role_permissions.iter().map(|p| json!({
            "allowedResourceActions": p.allowed_resource_actions,
            "excludedResourceActions": p.excluded_resource_actions,
            "condition": p.condition,
        })).collect::<Vec<_>>(),
    })
}

pub fn role_assignment(a: &Schedule) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.unifiedRoleAssignment",
        "id": a.id,
        "principalId": a.principal_id,
        "roleDefinitionId": a.role_definition_id,
        "directoryScopeId": a.scope.to_string(),
        "appScopeId": null,
        // Graph still returns the older name of the scope beside directoryScopeId ("/" for
        // tenant-wide, as its examples show); clients such as ScubaGear read it.
        "resourceScope": a.scope.to_string(),
    })
}

fn read_permission(b: &mut Body) -> ApiResult<RolePermission> {
    Ok(RolePermission {
        allowed_resource_actions: b.string_list("allowedResourceActions")?.unwrap_or_default(),
        excluded_resource_actions: b.string_list("excludedResourceActions")?.unwrap_or_default(),
        condition: b.string("condition")?,
        // Graph's unifiedRolePermission has no data actions (directory roles have none).
        ..Default::default()
    })
}

/// Reads a custom role body (create or update). `isBuiltIn`, if sent, must be false.
pub fn read_custom_role(mut b: Body) -> ApiResult<CustomRoleInput> {
    let input = CustomRoleInput {
        display_name: b.string("displayName")?,
        description: b.nullable_string("description")?,
        is_enabled: b.bool("isEnabled")?,
        role_permissions: b.objects("rolePermissions", "microsoft.graph.unifiedRolePermission", read_permission)?,
        template_id: b.guid("templateId")?,
        version: b.nullable_string("version")?,
    };
    if b.bool("isBuiltIn")? == Some(true) {
        return Err(ApiError::bad_request("Custom role definitions cannot set isBuiltIn to true."));
    }
    b.ignore("id");
    b.ignore("resourceScopes");
    b.ignore("isPrivileged");
    b.finish()?;
    Ok(input)
}

/// The fields of a new direct role assignment.
pub struct NewAssignmentBody {
    pub principal_id: uuid::Uuid,
    pub role_definition_id: uuid::Uuid,
    pub directory_scope_id: String,
    pub app_scope_id: Option<String>,
}

pub fn read_new_assignment(mut b: Body) -> ApiResult<NewAssignmentBody> {
    let principal_id =
        b.guid("principalId")?.ok_or_else(|| ApiError::bad_request("Property 'principalId' is required."))?;
    let role_definition_id =
        b.guid("roleDefinitionId")?.ok_or_else(|| ApiError::bad_request("Property 'roleDefinitionId' is required."))?;
    let directory_scope_id = b.string("directoryScopeId")?;
    let app_scope_id = b.string("appScopeId")?;
    // The older name Graph's earlier examples send; the same scope when both are given.
    let resource_scope = b.string("resourceScope")?;
    b.finish()?;
    let directory_scope_id = match (directory_scope_id, resource_scope) {
        (Some(d), Some(r)) if d != r => {
            return Err(ApiError::bad_request("directoryScopeId and resourceScope name different scopes."))
        }
        (d, r) => d.or(r),
    };
    let directory_scope_id = match (directory_scope_id, &app_scope_id) {
        (Some(d), None) => d,
        (None, Some(_)) => {
            return Err(ApiError::bad_request(
                "appScopeId is not supported: OpenPIM models directory scopes only. Use directoryScopeId.",
            ))
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request("Specify either directoryScopeId or appScopeId, not both."))
        }
        (None, None) => return Err(ApiError::bad_request("Property 'directoryScopeId' is required.")),
    };
    Ok(NewAssignmentBody { principal_id, role_definition_id, directory_scope_id, app_scope_id })
}
