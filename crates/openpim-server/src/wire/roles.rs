//! unifiedRoleDefinition and unifiedRoleAssignment.

use super::body::Body;
use super::to_json;
use crate::error::{ApiError, ApiResult};
use openpim_core::roles::{CustomRoleInput, RoleDefinition, RolePermission};
use openpim_core::schedule::Schedule;
use openpim_proto::odata_type;
use openpim_proto::roles as proto;
use serde_json::Value;

pub use proto::{ROLE_ASSIGNMENT_TYPE, ROLE_DEFINITION_TYPE};

pub fn role_definition(r: &RoleDefinition) -> Value {
    to_json(&proto::UnifiedRoleDefinition {
        odata_type: Some(odata_type(ROLE_DEFINITION_TYPE)),
        id: r.id,
        description: Some(r.description.clone()),
        display_name: r.display_name.clone(),
        is_built_in: r.is_built_in,
        is_enabled: r.is_enabled,
        is_privileged: Some(r.is_privileged),
        resource_scopes: Some(vec!["/".to_string()]),
        template_id: Some(r.template_id),
        version: r.version.clone(),
        role_permissions: r
            .role_permissions
            .iter()
            .map(|p| proto::UnifiedRolePermission {
                allowed_resource_actions: p.allowed_resource_actions.clone(),
                excluded_resource_actions: Some(p.excluded_resource_actions.clone()),
                condition: p.condition.clone(),
            })
            .collect(),
    })
}

pub fn role_assignment(a: &Schedule) -> Value {
    to_json(&proto::UnifiedRoleAssignment {
        odata_type: Some(odata_type(ROLE_ASSIGNMENT_TYPE)),
        id: a.id,
        principal_id: a.principal_id,
        role_definition_id: a.role_definition_id,
        directory_scope_id: a.scope.to_string(),
        app_scope_id: None,
        // Graph still returns the older name of the scope beside directoryScopeId ("/" for
        // tenant-wide, as its examples show); clients such as ScubaGear read it.
        resource_scope: Some(a.scope.to_string()),
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
