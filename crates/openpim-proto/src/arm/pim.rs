//! PIM for Azure resources (api-version 2020-10-01, same shapes in 2020-10-01-preview and
//! 2022-04-01-preview): azure-mgmt-authorization's `RoleEligibilityScheduleRequest`,
//! `RoleAssignmentScheduleRequest`, the four read-only schedule and instance models, and
//! `EligibleChildResource`. One request type and one schedule type serve both kinds: the
//! properties only one kind has are left out for the other.

use serde::{Deserialize, Serialize};

/// ARM's `type` strings, spelled as the spec's examples spell them.
pub const ELIGIBILITY_REQUEST_TYPE: &str = "Microsoft.Authorization/RoleEligibilityScheduleRequests";
pub const ASSIGNMENT_REQUEST_TYPE: &str = "Microsoft.Authorization/RoleAssignmentScheduleRequests";
pub const ELIGIBILITY_SCHEDULE_TYPE: &str = "Microsoft.Authorization/RoleEligibilitySchedules";
pub const ASSIGNMENT_SCHEDULE_TYPE: &str = "Microsoft.Authorization/RoleAssignmentSchedules";
pub const ELIGIBILITY_INSTANCE_TYPE: &str = "Microsoft.Authorization/RoleEligibilityScheduleInstances";
pub const ASSIGNMENT_INSTANCE_TYPE: &str = "Microsoft.Authorization/RoleAssignmentScheduleInstances";

/// A role eligibility or assignment schedule request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleRequest {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub properties: ScheduleRequestProperties,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleRequestProperties {
    pub scope: String,
    pub role_definition_id: String,
    pub principal_id: String,
    pub principal_type: String,
    /// `AdminAssign`, `SelfActivate`, ...
    pub request_type: String,
    /// `Provisioned`, `PendingApproval`, `Denied`, `Canceled`, `Revoked`, ...
    pub status: String,
    pub approval_id: Option<String>,
    pub schedule_info: Option<ScheduleInfo>,
    /// Eligibility requests: the schedule created or changed (a bare GUID, as ARM echoes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_role_eligibility_schedule_id: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_role_eligibility_schedule_instance_id: Option<Option<String>>,
    /// Assignment requests: the schedule created or changed (a bare GUID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_role_assignment_schedule_id: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_role_assignment_schedule_instance_id: Option<Option<String>>,
    /// Assignment requests: the eligibility an activation is made from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_role_eligibility_schedule_id: Option<Option<String>>,
    pub justification: Option<String>,
    pub ticket_info: TicketInfo,
    pub condition: Option<String>,
    pub condition_version: Option<String>,
    pub created_on: String,
    pub requestor_id: String,
    pub expanded_properties: ExpandedProperties,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleInfo {
    pub start_date_time: Option<String>,
    pub expiration: Expiration,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Expiration {
    /// `AfterDuration`, `AfterDateTime` or `NoExpiration`.
    #[serde(rename = "type")]
    pub expiration_type: String,
    pub end_date_time: Option<String>,
    /// ISO 8601 (`PT8H`, `P365D`).
    pub duration: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketInfo {
    pub ticket_number: Option<String>,
    pub ticket_system: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpandedProperties {
    pub scope: ExpandedScope,
    pub role_definition: ExpandedRoleDefinition,
    pub principal: ExpandedPrincipal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpandedScope {
    pub id: String,
    pub display_name: Option<String>,
    /// `managementgroup`, `subscription`, `resourcegroup` or the resource's type.
    #[serde(rename = "type")]
    pub scope_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpandedRoleDefinition {
    pub id: String,
    pub display_name: Option<String>,
    /// `BuiltInRole` or `CustomRole`.
    #[serde(rename = "type")]
    pub role_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpandedPrincipal {
    pub id: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    #[serde(rename = "type")]
    pub principal_type: String,
}

/// A role eligibility or assignment schedule, or one of their instances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub properties: ScheduleProperties,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleProperties {
    pub scope: String,
    pub role_definition_id: String,
    pub principal_id: String,
    pub principal_type: String,
    pub status: String,
    pub start_date_time: String,
    /// `null` for a permanent schedule.
    pub end_date_time: Option<String>,
    /// `Direct`, `Group` or `Inherited`.
    pub member_type: String,
    /// Assignments: `Assigned` or `Activated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignment_type: Option<String>,
    /// Schedules: the request that made it (full id), `null` for RBAC role assignments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_eligibility_schedule_request_id: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_assignment_schedule_request_id: Option<Option<String>>,
    /// Instances: the schedule they are an instance of (full id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_eligibility_schedule_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_assignment_schedule_id: Option<String>,
    /// Assignment instances: the role assignment (full id) this instance is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_role_assignment_id: Option<String>,
    /// Activations: the eligibility schedule (and instance) they come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_role_eligibility_schedule_id: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_role_eligibility_schedule_instance_id: Option<Option<String>>,
    pub condition: Option<String>,
    pub condition_version: Option<String>,
    pub created_on: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_on: Option<String>,
    pub expanded_properties: ExpandedProperties,
}

/// One scope an eligibility can be activated at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EligibleChildResource {
    pub id: String,
    pub name: String,
    /// `managementgroup`, `subscription`, `resourcegroup` or a resource type.
    #[serde(rename = "type")]
    pub resource_type: String,
}
