//! An approval's steps (`approvals.steps`), version 1: a JSON array of steps.

use super::policy_rules::ApproverV1;
use super::primitives::InstantV1;
use crate::{StoreError, StoreResult};
use openpim_core::approval::{ApprovalStep, ReviewResult, StepStatus};
use openpim_core::ObjectId;
use serde::{Deserialize, Serialize};

pub fn encode(steps: &[ApprovalStep]) -> StoreResult<String> {
    let records: Vec<ApprovalStepV1> = steps.iter().cloned().map(ApprovalStepV1::from).collect();
    super::to_json("approval steps", &records)
}

pub fn decode(raw: &str) -> StoreResult<Vec<ApprovalStep>> {
    let records: Vec<ApprovalStepV1> = super::from_json("approval steps", raw)?;
    records.into_iter().map(ApprovalStep::try_from).collect()
}

#[derive(Debug, Serialize, Deserialize)]
struct ApprovalStepV1 {
    id: ObjectId,
    approvers: Vec<ApproverV1>,
    is_approver_justification_required: bool,
    status: StepStatusV1,
    review_result: ReviewResultV1,
    reviewed_by: Option<ObjectId>,
    reviewed_at: Option<InstantV1>,
    justification: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
enum StepStatusV1 {
    NotStarted,
    InProgress,
    Completed,
}

#[derive(Debug, Serialize, Deserialize)]
enum ReviewResultV1 {
    NotReviewed,
    Approve,
    Deny,
}

// Exhaustive in both directions, like the policy rules' conversions (see the module docs).

impl From<ApprovalStep> for ApprovalStepV1 {
    fn from(step: ApprovalStep) -> Self {
        let ApprovalStep {
            id,
            approvers,
            is_approver_justification_required,
            status,
            review_result,
            reviewed_by,
            reviewed_at,
            justification,
        } = step;
        Self {
            id,
            approvers: approvers.into_iter().map(Into::into).collect(),
            is_approver_justification_required,
            status: status.into(),
            review_result: review_result.into(),
            reviewed_by,
            reviewed_at: reviewed_at.map(Into::into),
            justification,
        }
    }
}

impl TryFrom<ApprovalStepV1> for ApprovalStep {
    type Error = StoreError;
    fn try_from(step: ApprovalStepV1) -> StoreResult<Self> {
        let ApprovalStepV1 {
            id,
            approvers,
            is_approver_justification_required,
            status,
            review_result,
            reviewed_by,
            reviewed_at,
            justification,
        } = step;
        Ok(Self {
            id,
            approvers: approvers.into_iter().map(Into::into).collect(),
            is_approver_justification_required,
            status: status.into(),
            review_result: review_result.into(),
            reviewed_by,
            reviewed_at: reviewed_at.map(TryInto::try_into).transpose()?,
            justification,
        })
    }
}

impl From<StepStatus> for StepStatusV1 {
    fn from(s: StepStatus) -> Self {
        match s {
            StepStatus::NotStarted => Self::NotStarted,
            StepStatus::InProgress => Self::InProgress,
            StepStatus::Completed => Self::Completed,
        }
    }
}

impl From<StepStatusV1> for StepStatus {
    fn from(s: StepStatusV1) -> Self {
        match s {
            StepStatusV1::NotStarted => Self::NotStarted,
            StepStatusV1::InProgress => Self::InProgress,
            StepStatusV1::Completed => Self::Completed,
        }
    }
}

impl From<ReviewResult> for ReviewResultV1 {
    fn from(r: ReviewResult) -> Self {
        match r {
            ReviewResult::NotReviewed => Self::NotReviewed,
            ReviewResult::Approve => Self::Approve,
            ReviewResult::Deny => Self::Deny,
        }
    }
}

impl From<ReviewResultV1> for ReviewResult {
    fn from(r: ReviewResultV1) -> Self {
        match r {
            ReviewResultV1::NotReviewed => Self::NotReviewed,
            ReviewResultV1::Approve => Self::Approve,
            ReviewResultV1::Deny => Self::Deny,
        }
    }
}
