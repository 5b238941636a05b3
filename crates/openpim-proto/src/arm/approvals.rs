//! `Microsoft.Authorization/roleAssignmentApprovals` (api-version 2021-01-01-preview): an
//! approval of a Azure role activation and its stages, as the preview REST spec models them
//! (`RoleAssignmentApproval`, `RoleAssignmentApprovalStep`, `RoleAssignmentApprovalActorIdentity`).

use serde::{Deserialize, Serialize};

pub const APPROVAL_TYPE: &str = "Microsoft.Authorization/roleAssignmentApprovals";
pub const STAGE_TYPE: &str = "Microsoft.Authorization/roleAssignmentApprovals/stages";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleAssignmentApproval {
    /// `/providers/Microsoft.Authorization/roleAssignmentApprovals/{id}`.
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub properties: ApprovalProperties,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalProperties {
    pub stages: Vec<ApprovalStage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalStage {
    /// `/providers/Microsoft.Authorization/roleAssignmentApprovals/{id}/stages/{stageId}`.
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub properties: StageProperties,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageProperties {
    pub display_name: String,
    /// `NotStarted`, `InProgress`, `Completed` or `Expired`.
    pub status: String,
    /// `NotReviewed`, `Approve` or `Deny`.
    pub review_result: String,
    pub assigned_to_me: bool,
    pub reviewed_by: Option<ActorIdentity>,
    pub reviewed_date_time: Option<String>,
    pub justification: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActorIdentity {
    pub principal_id: String,
    pub principal_name: Option<String>,
    /// `user` or `servicePrincipal`.
    pub principal_type: String,
    pub user_principal_name: Option<String>,
}

/// The body of a decision on a stage (`PATCH .../stages/{stageId}`), at the top level as
/// Microsoft's docs show it; used by `openpim azure approvals approve|deny`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageDecision {
    /// `Approve` or `Deny`.
    pub review_result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
}
