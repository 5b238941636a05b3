//! `Microsoft.Authorization/roleAssignments` (api-version 2022-04-01): azure-mgmt-authorization's
//! `RoleAssignment` and `RoleAssignmentCreateParameters`.

use serde::{Deserialize, Serialize};

/// ARM's `type` of a role assignment.
pub const ROLE_ASSIGNMENT_TYPE: &str = "Microsoft.Authorization/roleAssignments";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleAssignment {
    /// `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`.
    pub id: String,
    /// The assignment's GUID.
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub properties: RoleAssignmentProperties,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignmentProperties {
    pub scope: String,
    /// The full role definition id (`/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}`).
    pub role_definition_id: String,
    pub principal_id: String,
    /// `User`, `Group` or `ServicePrincipal` (ARM's enum also has `ForeignGroup` and `Device`).
    pub principal_type: String,
    /// ARM sends `null` for these when unset.
    pub description: Option<String>,
    pub condition: Option<String>,
    pub condition_version: Option<String>,
    /// RFC 3339 instants.
    pub created_on: String,
    pub updated_on: String,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
    pub delegated_managed_identity_resource_id: Option<String>,
}
