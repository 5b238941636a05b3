//! Graph beta "iteration 2" PIM (`/beta/privilegedAccess/{aadRoles|azureResources}`): the
//! `governance*` entities and the bodies clients send. Property names and nullability follow
//! `msgraph-beta-sdk` 1.66.0's models and Microsoft's beta docs.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// governanceResource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GovernanceResource {
    pub id: Uuid,
    /// The ARM scope (`/subscriptions/{id}/...`) for azureResources; the tenant id for aadRoles.
    pub external_id: String,
    /// `Subscription`, `ResourceGroup`, `managementgroup`, a resource type, or `tenant` (aadRoles).
    #[serde(rename = "type")]
    pub kind: String,
    pub display_name: String,
    /// `Active` (OpenPIM never locks a resource).
    pub status: String,
    #[serde(default, with = "crate::datetime::option")]
    pub registered_date_time: Option<OffsetDateTime>,
    /// The externalId of the registered ancestor (the subscription or management group).
    pub registered_root: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Box<GovernanceResource>>,
}

/// governanceRoleDefinition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GovernanceRoleDefinition {
    pub id: Uuid,
    pub resource_id: Uuid,
    /// The ARM role definition id at the resource; the role's id for aadRoles.
    pub external_id: String,
    pub template_id: String,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<GovernanceResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_setting: Option<Box<GovernanceRoleSetting>>,
}

/// governanceRuleSetting: `setting` is a JSON document encoded as a string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GovernanceRuleSetting {
    pub rule_identifier: String,
    pub setting: String,
}

/// governanceRoleSetting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GovernanceRoleSetting {
    /// The policy's id (v1.0 unifiedRoleManagementPolicy id / ARM policy name).
    pub id: String,
    pub resource_id: Uuid,
    pub role_definition_id: Uuid,
    pub is_default: bool,
    #[serde(default, with = "crate::datetime::option")]
    pub last_updated_date_time: Option<OffsetDateTime>,
    pub last_updated_by: Option<String>,
    pub admin_eligible_settings: Vec<GovernanceRuleSetting>,
    pub admin_member_settings: Vec<GovernanceRuleSetting>,
    pub user_eligible_settings: Vec<GovernanceRuleSetting>,
    pub user_member_settings: Vec<GovernanceRuleSetting>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<GovernanceResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_definition: Option<Box<GovernanceRoleDefinition>>,
}

/// A roleSetting PATCH: only the lists to change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GovernanceRoleSettingPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_eligible_settings: Option<Vec<GovernanceRuleSetting>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_member_settings: Option<Vec<GovernanceRuleSetting>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_eligible_settings: Option<Vec<GovernanceRuleSetting>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_member_settings: Option<Vec<GovernanceRuleSetting>>,
}

/// governanceSubject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GovernanceSubject {
    pub id: Uuid,
    /// `User`, `Group` or `ServicePrincipal`.
    #[serde(rename = "type")]
    pub kind: String,
    pub display_name: Option<String>,
    pub principal_name: Option<String>,
    /// Empty for groups and service principals.
    pub email: Option<String>,
}

/// governanceSchedule. `endDateTime: null` (with no duration) is a permanent assignment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GovernanceSchedule {
    /// Always `Once`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, with = "crate::datetime::option")]
    pub start_date_time: Option<OffsetDateTime>,
    #[serde(default, with = "crate::datetime::option")]
    pub end_date_time: Option<OffsetDateTime>,
    /// ISO 8601 (`PT9H`).
    #[serde(default)]
    pub duration: Option<String>,
}

/// keyValue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

/// governanceRoleAssignmentRequestStatus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GovernanceRoleAssignmentRequestStatus {
    /// `InProgress` or `Closed`.
    pub status: String,
    /// `Granted`, `Provisioned`, `PendingAdminDecision`, `Revoked`, `Canceled`, ...
    pub sub_status: String,
    pub status_details: Vec<KeyValue>,
}

/// governanceRoleAssignment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GovernanceRoleAssignment {
    /// The v1.0 eligibility or assignment schedule id (`{scheduleId}_{memberId}` for a member's
    /// row of a group's assignment, as v1.0's schedules name it).
    pub id: String,
    pub resource_id: Uuid,
    pub role_definition_id: Uuid,
    pub subject_id: Uuid,
    pub linked_eligible_role_assignment_id: Option<Uuid>,
    pub external_id: Option<String>,
    #[serde(default, with = "crate::datetime::option")]
    pub start_date_time: Option<OffsetDateTime>,
    #[serde(default, with = "crate::datetime::option")]
    pub end_date_time: Option<OffsetDateTime>,
    /// `Eligible` or `Active`.
    pub assignment_state: String,
    /// `Direct` or `Group` (`Inherited` for Azure assignments made at an ancestor).
    pub member_type: String,
    /// `Provisioned`, `Granted` (future-dated) or `Expired`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<GovernanceSubject>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_definition: Option<GovernanceRoleDefinition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<GovernanceResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_eligible_role_assignment: Option<Box<GovernanceRoleAssignment>>,
}

/// governanceRoleAssignmentRequest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GovernanceRoleAssignmentRequest {
    pub id: Uuid,
    pub resource_id: Uuid,
    pub role_definition_id: Uuid,
    pub subject_id: Uuid,
    pub linked_eligible_role_assignment_id: Option<Uuid>,
    /// `AdminAdd`, `UserAdd`, `AdminRemove`, ... (core's `governance::request::RequestType`).
    #[serde(rename = "type")]
    pub kind: String,
    pub assignment_state: String,
    #[serde(with = "crate::datetime")]
    pub requested_date_time: OffsetDateTime,
    pub reason: Option<String>,
    pub schedule: Option<GovernanceSchedule>,
    pub status: GovernanceRoleAssignmentRequestStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<GovernanceSubject>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_definition: Option<GovernanceRoleDefinition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<GovernanceResource>,
}

/// The body of `POST .../roleAssignmentRequests`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewGovernanceRoleAssignmentRequest {
    pub resource_id: String,
    pub role_definition_id: String,
    pub subject_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub assignment_state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<GovernanceSchedule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_eligible_role_assignment_id: Option<String>,
}

/// The body of `POST .../roleAssignmentRequests/{id}/updateRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateRequestBody {
    pub reason: String,
    /// `AdminApproved` or `AdminDenied`.
    pub decision: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<GovernanceSchedule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignment_state: Option<String>,
}

/// The body of `POST .../resources/register`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterBody {
    pub external_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_request_response_reads() {
        let doc = r#"{"id":"1232e4ea-741a-4be5-8044-5edabdd61672","resourceId":"e5e7d29d-5465-45ac-885f-4716a5ee74b5",
 "roleDefinitionId":"ea48ad5e-e3b0-4d10-af54-39a45bbfe68d","subjectId":"918e54be-12c4-4f4c-a6d3-2ee0e3661c51",
 "linkedEligibleRoleAssignmentId":null,"type":"AdminAdd","assignmentState":"Eligible","requestedDateTime":"0001-01-01T00:00:00Z",
 "reason":"Evaluate Only","status":{"status":"InProgress","subStatus":"Granted","statusDetails":[{"key":"AdminRequestRule","value":"Grant"}]},
 "schedule":{"type":"Once","startDateTime":"2018-05-12T23:37:43.356Z","endDateTime":"2018-11-08T23:37:43.356Z","duration":"PT0S"}}"#;
        let r: GovernanceRoleAssignmentRequest = serde_json::from_str(doc).unwrap();
        assert_eq!(r.kind, "AdminAdd");
        assert_eq!(r.status.sub_status, "Granted");
        assert_eq!(r.schedule.as_ref().unwrap().duration.as_deref(), Some("PT0S"));
        let back = serde_json::to_value(&r).unwrap();
        assert_eq!(back["status"]["statusDetails"][0]["key"], "AdminRequestRule");
        assert!(back.get("subject").is_none());
    }

    #[test]
    fn documented_role_assignment_reads() {
        let doc = r#"{"id":"a9f4a1f3-ab38-44ad-a6a1-5c4f8e52b3b5","resourceId":"e5e7d29d-5465-45ac-885f-4716a5ee74b5","roleDefinitionId":"ea48ad5e-e3b0-4d10-af54-39a45bbfe68d","subjectId":"918e54be-12c4-4f4c-a6d3-2ee0e3661c51","linkedEligibleRoleAssignmentId":null,"externalId":null,"startDateTime":"2018-03-13T01:19:08.59Z","endDateTime":"2018-06-11T01:18:37.08Z","memberType":"Direct","assignmentState":"Eligible","status":"Provisioned"}"#;
        let a: GovernanceRoleAssignment = serde_json::from_str(doc).unwrap();
        assert_eq!(a.assignment_state, "Eligible");
        assert_eq!(a.member_type, "Direct");
    }
}
