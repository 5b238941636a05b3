//! `Microsoft.Authorization/roleDefinitions` (api-version 2022-04-01): ARM's `RoleDefinition`
//! and its `Permission` blocks, as the Azure SDKs model them (azure-mgmt-authorization 4.0.0,
//! `v2022_04_01.models.RoleDefinition`).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// ARM's `type` of a role definition resource.
pub const ROLE_DEFINITIONS_TYPE: &str = "Microsoft.Authorization/roleDefinitions";

/// A role definition resource: `{"id", "name", "type", "properties"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleDefinition {
    /// `{scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}` (the scope it was read at,
    /// or none for the tenant-level form).
    pub id: String,
    /// The role definition's GUID.
    pub name: uuid::Uuid,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub properties: RoleDefinitionProperties,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinitionProperties {
    pub role_name: String,
    /// `BuiltInRole` or `CustomRole`.
    #[serde(rename = "type")]
    pub role_type: String,
    pub description: String,
    pub assignable_scopes: Vec<String>,
    pub permissions: Vec<Permission>,
    #[serde(with = "crate::datetime")]
    pub created_on: OffsetDateTime,
    #[serde(with = "crate::datetime")]
    pub updated_on: OffsetDateTime,
    /// The object id of who created the role; `null` for built-in roles, as ARM sends.
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
}

/// One permission block: what it grants is `actions − notActions` (control plane) and
/// `dataActions − notDataActions` (data plane).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub data_actions: Vec<String>,
    pub not_data_actions: Vec<String>,
    /// An ABAC condition (some built-in roles); left out when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_version: Option<String>,
}
