//! `approval` and `approvalStep` (Graph beta's roleAssignmentApprovals, served under v1.0).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub id: String,
    pub steps: Vec<ApprovalStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalStep {
    pub id: Uuid,
    pub display_name: Option<String>,
    pub assigned_to_me: bool,
    /// `NotStarted`, `InProgress`, `Completed` (core's `StepStatus`).
    pub status: String,
    /// `NotReviewed`, `Approve`, `Deny` (core's `ReviewResult`).
    pub review_result: String,
    #[serde(with = "crate::datetime::option")]
    pub reviewed_date_time: Option<OffsetDateTime>,
    pub reviewed_by: Option<crate::schedules::Identity>,
    pub justification: Option<String>,
}

/// The body of a decision (PATCH `.../steps/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepDecision {
    /// `Approve` or `Deny`.
    pub review_result: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
}
