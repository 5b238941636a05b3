//! PIM schedule requests, schedules and instances (eligibility and assignment), with their
//! `scheduleInfo`, `expiration` and `ticketInfo`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

pub const ELIGIBILITY_REQUEST_TYPE: &str = "microsoft.graph.unifiedRoleEligibilityScheduleRequest";
pub const ASSIGNMENT_REQUEST_TYPE: &str = "microsoft.graph.unifiedRoleAssignmentScheduleRequest";
pub const ELIGIBILITY_SCHEDULE_TYPE: &str = "microsoft.graph.unifiedRoleEligibilitySchedule";
pub const ASSIGNMENT_SCHEDULE_TYPE: &str = "microsoft.graph.unifiedRoleAssignmentSchedule";
pub const ELIGIBILITY_INSTANCE_TYPE: &str = "microsoft.graph.unifiedRoleEligibilityScheduleInstance";
pub const ASSIGNMENT_INSTANCE_TYPE: &str = "microsoft.graph.unifiedRoleAssignmentScheduleInstance";

/// `expirationPattern`. In responses every property is sent (`null` when unset); in request bodies
/// clients send only what they mean, so the `Option`s a client leaves `None` are omitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpirationPattern {
    /// `notSpecified`, `noExpiration`, `afterDateTime`, `afterDuration` (core's `ExpirationType`).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, with = "crate::datetime::option")]
    pub end_date_time: Option<OffsetDateTime>,
    /// ISO 8601 (`PT8H`).
    #[serde(default)]
    pub duration: Option<String>,
}

/// `requestSchedule`: when a schedule starts and how it ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestSchedule {
    #[serde(default, with = "crate::datetime::option")]
    pub start_date_time: Option<OffsetDateTime>,
    /// OpenPIM refuses recurring schedules; responses always say `null`.
    #[serde(default)]
    pub recurrence: Option<serde_json::Value>,
    pub expiration: ExpirationPattern,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketInfo {
    pub ticket_number: Option<String>,
    pub ticket_system: Option<String>,
}

/// `identity`: an id and a display name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    pub display_name: Option<String>,
    pub id: Option<Uuid>,
}

/// `identitySet`: who did something. OpenPIM records users only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentitySet {
    pub application: Option<Identity>,
    pub device: Option<Identity>,
    pub user: Option<Identity>,
}

/// unifiedRoleEligibilityScheduleRequest and unifiedRoleAssignmentScheduleRequest (the same
/// properties; `@odata.type` tells them apart).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnifiedRoleScheduleRequest {
    #[serde(rename = "@odata.type", default, skip_serializing_if = "Option::is_none")]
    pub odata_type: Option<String>,
    pub id: Uuid,
    /// Core's `RequestStatus` (`Provisioned`, `PendingApproval`, ...).
    pub status: String,
    #[serde(with = "crate::datetime")]
    pub created_date_time: OffsetDateTime,
    #[serde(with = "crate::datetime::option")]
    pub completed_date_time: Option<OffsetDateTime>,
    pub approval_id: Option<String>,
    pub custom_data: Option<String>,
    /// Core's `Action` (`adminAssign`, `selfActivate`, ...).
    pub action: String,
    pub principal_id: Uuid,
    pub role_definition_id: Uuid,
    pub directory_scope_id: String,
    pub app_scope_id: Option<String>,
    pub is_validation_only: bool,
    pub target_schedule_id: Option<Uuid>,
    pub justification: Option<String>,
    pub created_by: IdentitySet,
    pub schedule_info: Option<RequestSchedule>,
    pub ticket_info: TicketInfo,
    /// `$expand=principal`: the holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<crate::directory::DirectoryObject>,
    /// `$expand=roleDefinition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_definition: Option<crate::roles::UnifiedRoleDefinition>,
}

/// The body of a new schedule request (POST `role{Eligibility,Assignment}ScheduleRequests`):
/// what a client sends, nothing the server decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewScheduleRequest {
    pub action: String,
    pub principal_id: Uuid,
    pub role_definition_id: Uuid,
    pub directory_scope_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_info: Option<NewRequestSchedule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_info: Option<TicketInfo>,
}

/// `scheduleInfo` of a request body: only the properties the client sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewRequestSchedule {
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::datetime::option")]
    pub start_date_time: Option<OffsetDateTime>,
    pub expiration: NewExpiration,
}

/// `expiration` of a request body: one of the three ways to end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum NewExpiration {
    NoExpiration,
    #[serde(rename_all = "camelCase")]
    AfterDateTime {
        #[serde(with = "crate::datetime")]
        end_date_time: OffsetDateTime,
    },
    /// ISO 8601 (`PT8H`).
    AfterDuration {
        duration: String,
    },
}

/// unifiedRoleEligibilitySchedule and unifiedRoleAssignmentSchedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnifiedRoleSchedule {
    #[serde(rename = "@odata.type", default, skip_serializing_if = "Option::is_none")]
    pub odata_type: Option<String>,
    pub id: String,
    pub principal_id: Uuid,
    pub role_definition_id: Uuid,
    pub directory_scope_id: String,
    pub app_scope_id: Option<String>,
    #[serde(with = "crate::datetime")]
    pub created_date_time: OffsetDateTime,
    pub created_using: Option<Uuid>,
    #[serde(with = "crate::datetime")]
    pub modified_date_time: OffsetDateTime,
    /// Core's `ScheduleStatus`.
    pub status: String,
    pub schedule_info: RequestSchedule,
    /// `Direct` or `Group` (core's `MemberType`).
    pub member_type: String,
    /// Assignment schedules only: `Assigned` or `Activated`; absent from eligibility schedules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignment_type: Option<String>,
    /// `$expand=principal`: the holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<crate::directory::DirectoryObject>,
    /// `$expand=roleDefinition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_definition: Option<crate::roles::UnifiedRoleDefinition>,
}

/// unifiedRoleEligibilityScheduleInstance: an eligibility in effect now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnifiedRoleEligibilityScheduleInstance {
    #[serde(rename = "@odata.type", default, skip_serializing_if = "Option::is_none")]
    pub odata_type: Option<String>,
    pub id: String,
    pub principal_id: Uuid,
    pub role_definition_id: Uuid,
    pub directory_scope_id: String,
    pub app_scope_id: Option<String>,
    #[serde(with = "crate::datetime::option")]
    pub start_date_time: Option<OffsetDateTime>,
    #[serde(with = "crate::datetime::option")]
    pub end_date_time: Option<OffsetDateTime>,
    pub member_type: String,
    pub role_eligibility_schedule_id: Uuid,
    /// `$expand=principal`: the holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<crate::directory::DirectoryObject>,
    /// `$expand=roleDefinition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_definition: Option<crate::roles::UnifiedRoleDefinition>,
}

/// unifiedRoleAssignmentScheduleInstance: an assignment in effect now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnifiedRoleAssignmentScheduleInstance {
    #[serde(rename = "@odata.type", default, skip_serializing_if = "Option::is_none")]
    pub odata_type: Option<String>,
    pub id: String,
    pub principal_id: Uuid,
    pub role_definition_id: Uuid,
    pub directory_scope_id: String,
    pub app_scope_id: Option<String>,
    #[serde(with = "crate::datetime::option")]
    pub start_date_time: Option<OffsetDateTime>,
    #[serde(with = "crate::datetime::option")]
    pub end_date_time: Option<OffsetDateTime>,
    pub member_type: String,
    pub assignment_type: Option<String>,
    pub role_assignment_origin_id: Uuid,
    pub role_assignment_schedule_id: Uuid,
    /// `$expand=principal`: the holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<crate::directory::DirectoryObject>,
    /// `$expand=roleDefinition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_definition: Option<crate::roles::UnifiedRoleDefinition>,
}
