//! Graph's `approval` and `approvalStep` (Graph beta's roleAssignmentApprovals, served under
//! v1.0), rendered through `openpim_proto::approvals`.

use openpim_core::approval::{Approval, ApprovalStep};
use openpim_core::ObjectId;
use openpim_proto::approvals as proto;
use openpim_proto::schedules::Identity;
use serde_json::Value;

/// Who is looking: `assignedToMe` is answered for them (directly or through `groups`).
pub struct Viewer<'a> {
    pub id: ObjectId,
    pub groups: &'a [ObjectId],
}

fn step_entity(a: &Approval, step: &ApprovalStep, viewer: &Viewer) -> proto::ApprovalStep {
    proto::ApprovalStep {
        id: step.id,
        display_name: None,
        assigned_to_me: a.assigned_to(step, viewer.id, viewer.groups),
        status: step.status.as_str().to_string(),
        review_result: step.review_result.as_str().to_string(),
        reviewed_date_time: step.reviewed_at,
        reviewed_by: step.reviewed_by.map(|id| Identity { id: Some(id), display_name: None }),
        justification: step.justification.clone(),
    }
}

pub fn approval_step(a: &Approval, step: &ApprovalStep, viewer: &Viewer) -> Value {
    super::to_json(&step_entity(a, step, viewer))
}

pub fn approval(a: &Approval, viewer: &Viewer) -> Value {
    let steps = a.steps.iter().map(|s| step_entity(a, s, viewer)).collect();
    super::to_json(&proto::Approval { id: a.id.to_string(), steps })
}
