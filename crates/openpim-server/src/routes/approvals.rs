//! `/roleManagement/directory/roleAssignmentApprovals` (Graph beta's shape, served under v1.0):
//! approvers find the activations waiting for them and approve or deny them step by step.

use super::object_id;
use super::ops::{found, no_content};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::odata::OData;
use crate::pim::{self, Visibility};
use crate::state::AppState;
use crate::wire::body::{Body, JsonObject};
use crate::wire::datetime;
use axum::extract::{Path, State};
use axum::response::Response;
use openpim_core::approval::{Approval, ApprovalStep, ReviewResult};
use openpim_core::authz;
use openpim_core::ObjectId;
use openpim_store::Page;
use serde_json::{json, Value};

const SET: &str = "roleManagement/directory/roleAssignmentApprovals";

fn step_json(step: &ApprovalStep, assigned_to_me: bool) -> Value {
    json!({
        "id": step.id,
        "displayName": null,
        "assignedToMe": assigned_to_me,
        "status": step.status.as_str(),
        "reviewResult": step.review_result.as_str(),
        "reviewedDateTime": step.reviewed_at.map(datetime),
        "reviewedBy": step.reviewed_by.map(|id| json!({"id": id, "displayName": null})),
        "justification": step.justification,
    })
}

fn approval_json(a: &Approval, me: ObjectId, my_groups: &[ObjectId]) -> Value {
    json!({
        "id": a.id,
        "steps": a.steps.iter().map(|s| step_json(s, a.assigned_to(s, me, my_groups))).collect::<Vec<_>>(),
    })
}

/// The approval `key`, if the caller may see it (else 404), with the caller's groups.
async fn visible(s: &AppState, caller: &Caller, key: &str) -> ApiResult<(Approval, Vec<ObjectId>)> {
    let own = authz::own_principal(caller.subject());
    let visibility = Visibility::for_item(s, caller);
    found(pim::approvals::visible(s, &own, &visibility, object_id(key)?).await?, "approval", key)
}

pub async fn get(State(s): State<AppState>, caller: Caller, q: OData, Path(key): Path<String>) -> ApiResult<Response> {
    if key.starts_with("filterByCurrentUser(") {
        if !key.contains("approver") {
            return Err(ApiError::bad_request(
                "roleAssignmentApprovals support filterByCurrentUser(on='approver') only.",
            ));
        }
        let (list, groups) = pim::approvals::awaiting(&s, &authz::own_principal(caller.subject())).await?;
        let items = list.iter().map(|a| approval_json(a, caller.id(), &groups)).collect();
        return Ok(q.collection(SET, Page { items, has_more: false, count: None }, 0));
    }
    let (a, groups) = visible(&s, &caller, &key).await?;
    Ok(q.entity(&format!("{SET}/$entity"), approval_json(&a, caller.id(), &groups)))
}

pub async fn steps(
    State(s): State<AppState>,
    caller: Caller,
    q: OData,
    Path(key): Path<String>,
) -> ApiResult<Response> {
    let (a, groups) = visible(&s, &caller, &key).await?;
    let items = a.steps.iter().map(|st| step_json(st, a.assigned_to(st, caller.id(), &groups))).collect();
    Ok(q.collection(&format!("{SET}('{}')/steps", a.id), Page { items, has_more: false, count: None }, 0))
}

pub async fn step(
    State(s): State<AppState>,
    caller: Caller,
    q: OData,
    Path((key, step)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (a, groups) = visible(&s, &caller, &key).await?;
    let step_id = object_id(&step)?;
    let st = found(a.steps.iter().find(|st| st.id == step_id), "approvalStep", &step)?;
    Ok(q.entity(&format!("{SET}('{}')/steps/$entity", a.id), step_json(st, a.assigned_to(st, caller.id(), &groups))))
}

/// PATCH `{approvals}/{id}/steps/{stepId}` with `{"reviewResult": "Approve"|"Deny", "justification": ...}`.
pub async fn decide(
    State(s): State<AppState>,
    caller: Caller,
    Path((key, step)): Path<(String, String)>,
    body: JsonObject,
) -> ApiResult<Response> {
    let mut b = Body::new(body, "microsoft.graph.approvalStep");
    let raw = b.string("reviewResult")?.ok_or_else(|| ApiError::bad_request("Property 'reviewResult' is required."))?;
    let result = ReviewResult::parse(&raw)
        .ok_or_else(|| ApiError::bad_request(format!("'{raw}' is not a valid reviewResult: use Approve or Deny.")))?;
    let justification = b.string("justification")?;
    b.finish()?;
    let review =
        pim::approvals::Review { approval_id: object_id(&key)?, step_id: object_id(&step)?, result, justification };
    pim::approvals::decide(&s, &caller, &Visibility::for_item(&s, &caller), review).await?;
    Ok(no_content())
}
