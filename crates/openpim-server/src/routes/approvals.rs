//! `/roleManagement/directory/roleAssignmentApprovals` (Graph beta's shape, served under v1.0):
//! approvers find the activations waiting for them and approve or deny them step by step.

use super::object_id;
use super::ops::{found, no_content};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::odata::OData;
use crate::pim::{self, Visibility};
use crate::state::AppState;
use crate::wire::approvals::{self as wire, Viewer};
use crate::wire::body::{Body, JsonObject};
use axum::extract::{Path, State};
use axum::response::Response;
use openpim_core::approval::{Approval, ReviewResult};
use openpim_core::authz;
use openpim_core::ObjectId;
use openpim_store::Page;

const SET: &str = "roleManagement/directory/roleAssignmentApprovals";

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
        let viewer = Viewer { id: caller.id(), groups: &groups };
        let items = list.iter().map(|a| wire::approval(a, &viewer)).collect();
        return Ok(q.collection(SET, Page { items, has_more: false, count: None }, 0));
    }
    let (a, groups) = visible(&s, &caller, &key).await?;
    Ok(q.entity(&format!("{SET}/$entity"), wire::approval(&a, &Viewer { id: caller.id(), groups: &groups })))
}

pub async fn steps(
    State(s): State<AppState>,
    caller: Caller,
    q: OData,
    Path(key): Path<String>,
) -> ApiResult<Response> {
    let (a, groups) = visible(&s, &caller, &key).await?;
    let viewer = Viewer { id: caller.id(), groups: &groups };
    let items = a.steps.iter().map(|st| wire::approval_step(&a, st, &viewer)).collect();
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
    let viewer = Viewer { id: caller.id(), groups: &groups };
    Ok(q.entity(&format!("{SET}('{}')/steps/$entity", a.id), wire::approval_step(&a, st, &viewer)))
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
