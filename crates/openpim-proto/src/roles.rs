//! unifiedRoleDefinition and unifiedRoleAssignment.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const ROLE_DEFINITION_TYPE: &str = "microsoft.graph.unifiedRoleDefinition";
pub const ROLE_ASSIGNMENT_TYPE: &str = "microsoft.graph.unifiedRoleAssignment";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnifiedRoleDefinition {
    #[serde(rename = "@odata.type", default, skip_serializing_if = "Option::is_none")]
    pub odata_type: Option<String>,
    pub id: Uuid,
    pub description: Option<String>,
    pub display_name: String,
    pub is_built_in: bool,
    pub is_enabled: bool,
    /// Graph sends it for every role; its own examples of custom roles predate it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_privileged: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_scopes: Option<Vec<String>>,
    pub template_id: Option<Uuid>,
    pub version: Option<String>,
    pub role_permissions: Vec<UnifiedRolePermission>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnifiedRolePermission {
    pub allowed_resource_actions: Vec<String>,
    /// Graph leaves it out when none are excluded in some examples; OpenPIM always sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_resource_actions: Option<Vec<String>>,
    pub condition: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnifiedRoleAssignment {
    #[serde(rename = "@odata.type", default, skip_serializing_if = "Option::is_none")]
    pub odata_type: Option<String>,
    pub id: Uuid,
    pub principal_id: Uuid,
    pub role_definition_id: Uuid,
    pub directory_scope_id: String,
    pub app_scope_id: Option<String>,
    /// The older name of the scope, which Graph still returns beside `directoryScopeId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_scope: Option<String>,
}

/// The body of a new direct role assignment (POST `roleAssignments`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewUnifiedRoleAssignment {
    pub principal_id: Uuid,
    pub role_definition_id: Uuid,
    pub directory_scope_id: String,
}

/// The body of a new custom role (POST `roleDefinitions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewUnifiedRoleDefinition {
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub is_enabled: bool,
    pub role_permissions: Vec<NewUnifiedRolePermission>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewUnifiedRolePermission {
    pub allowed_resource_actions: Vec<String>,
}
