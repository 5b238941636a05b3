//! `Microsoft.Management/managementGroups` (api-version 2021-04-01; same shape in 2020-05-01 and
//! 2023-04-01).

use serde::{Deserialize, Serialize};

pub const TYPE: &str = "Microsoft.Management/managementGroups";

/// A management group as GET and PUT answer it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManagementGroup {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub properties: ManagementGroupProperties,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagementGroupProperties {
    pub tenant_id: String,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<ManagementGroupDetails>,
    /// Present with `$expand=children`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub children: Option<Vec<ManagementGroupChild>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagementGroupDetails {
    pub version: i64,
    pub updated_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    /// Absent for the tenant root group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentGroupInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentGroupInfo {
    pub id: String,
    pub name: String,
    pub display_name: String,
}

/// A direct child in `properties.children`: a management group or a subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagementGroupChild {
    /// `Microsoft.Management/managementGroups` or `/subscriptions`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub name: String,
    pub display_name: String,
}

/// An item of the list: `ManagementGroupInfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManagementGroupInfo {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub properties: ManagementGroupInfoProperties,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagementGroupInfoProperties {
    pub tenant_id: String,
    pub display_name: String,
}

/// `Microsoft.Management/managementGroups/subscriptions`: a subscription under a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionUnderManagementGroup {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub properties: SubscriptionUnderManagementGroupProperties,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionUnderManagementGroupProperties {
    pub tenant: String,
    pub display_name: String,
    pub parent: DescendantParentGroupInfo,
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DescendantParentGroupInfo {
    pub id: String,
}
