//! `/roleManagement/directory/roleAssignmentApprovals` (Graph beta's shape, served under v1.0):
//! approvers find the activations waiting for them and approve or deny them step by step.

use super::object_id;
use super::ops::{found, no_content};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::odata::OData;
use crate::state::{AppState, Audit};
use crate::wire::body::{Body, JsonObject};
use crate::wire::datetime;
use axum::extract::{Path, State};
use axum::response::Response;
use openpim_core::approval::{self, Approval, ApprovalStatus, ApprovalStep, ReviewResult};
use openpim_core::audit::category::ROLE_MANAGEMENT;
use openpim_core::authz::{self, Operation};
use openpim_core::notify::Event;
use openpim_core::policy::rules;
use openpim_core::policy::RolePolicy;
use openpim_core::schedule::{self, Kind, RequestStatus};
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

/// Approvals are visible to their requester, their approvers and those who read all requests.
async fn visible(s: &AppState, caller: &Caller, id: &str) -> ApiResult<(Approval, Vec<ObjectId>)> {
    let a = found(s.store.get_approval(object_id(id)?).await?, "approval", id)?;
    let groups = s.store.group_ids_of(caller.id()).await?;
    let is_approver = a.steps.iter().any(|st| approval::is_approver(st, caller.id(), &groups));
    let reads_all = authz::authorize(&s.index(), caller.id(), Operation::ReadScheduleRequests, &[], s.now()).is_ok();
    if a.requester != caller.id() && !is_approver && !reads_all {
        return Err(ApiError::not_found("approval", id));
    }
    Ok((a, groups))
}

/// Approvals waiting for `caller` right now.
pub async fn awaiting(s: &AppState, caller: &Caller) -> ApiResult<(Vec<Approval>, Vec<ObjectId>)> {
    let groups = s.store.group_ids_of(caller.id()).await?;
    let now = s.now();
    let pending = s.store.pending_approvals(now).await?;
    Ok((pending.into_iter().filter(|a| a.awaits(caller.id(), &groups, now)).collect(), groups))
}

pub async fn get(State(s): State<AppState>, caller: Caller, q: OData, Path(key): Path<String>) -> ApiResult<Response> {
    if key.starts_with("filterByCurrentUser(") {
        if !key.contains("approver") {
            return Err(ApiError::bad_request(
                "roleAssignmentApprovals support filterByCurrentUser(on='approver') only.",
            ));
        }
        let (list, groups) = awaiting(&s, &caller).await?;
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
    let (a, groups) = visible(&s, &caller, &key).await?;
    let step_id = object_id(&step)?;
    let now = s.now();
    let request =
        found(s.store.get_request(Kind::Assignment, a.request_id).await?, "request", &a.request_id.to_string())?;
    let audit = Audit::new(
        ROLE_MANAGEMENT,
        if result == ReviewResult::Approve {
            "Approve role activation request in PIM"
        } else {
            "Deny role activation request in PIM"
        },
        "Update",
    )
    .target("Role", request.role_definition_id, None, None)
    .target("User", request.principal_id, None, None);
    let stage = a.steps.iter().position(|st| st.id == step_id).map_or(0, |i| i + 1);
    let audit = crate::audit_detail::stored_request(audit, &request);
    let audit = crate::audit_detail::decision(audit, &a, stage, caller.id(), result, justification.as_deref());
    let next = match approval::review(&a, step_id, caller.id(), &groups, result, justification, now) {
        Ok(n) => n,
        Err(e) => {
            let record = audit.record(
                &caller,
                now,
                openpim_core::audit::AuditResult::Failure,
                &format!("{}: {}", e.code, e.message),
            );
            if let Err(err) = s.store.record_audit(&record).await {
                tracing::error!(error = %err, "could not audit a refused approval");
            }
            return Err(e.into());
        }
    };
    // Gather the facts an approved activation needs before taking the write lock.
    let mut holders = vec![request.principal_id];
    holders.extend(s.store.role_assignable_groups_of(request.principal_id).await?);
    let policy = s
        .store
        .policy_rules_of(request.role_definition_id)
        .await?
        .map(|r| rules::effective(&r))
        .unwrap_or_else(RolePolicy::entra_default);

    let mut tx = s.store.begin_write().await?;
    if !tx.save_pending_approval(&next).await? {
        tx.rollback().await?;
        return Err(ApiError::bad_request_code(
            "ApprovalNotPending",
            "This request has already been decided or canceled.",
        ));
    }
    let mut audit = audit;
    let announce = |event| crate::notify::Announcement {
        event,
        request_id: Some(request.id),
        principal_id: request.principal_id,
        role_definition_id: request.role_definition_id,
        scope: request.scope,
        justification: request.justification.clone(),
        approvers: vec![],
    };
    match next.status {
        ApprovalStatus::Pending => {}
        ApprovalStatus::Denied => {
            tx.transition_request(request.id, RequestStatus::PendingApproval, RequestStatus::Denied, Some(now)).await?;
            crate::notify::enqueue(&s, &mut tx, &announce(Event::ActivationDenied)).await?;
        }
        ApprovalStatus::Approved => {
            let (live, _) = tx
                .live_schedule_at(
                    Kind::Assignment,
                    request.principal_id,
                    request.role_definition_id,
                    &request.scope,
                    now,
                )
                .await?;
            let eligibility = schedule::best_eligibility(
                tx.eligibilities_of(&holders, request.role_definition_id, &request.scope).await?,
                now,
            );
            let principal_kind = openpim_core::directory::ObjectKind::User;
            match schedule::activate_approved(
                &request,
                principal_kind,
                eligibility.as_ref(),
                live.as_ref(),
                &policy,
                now,
            ) {
                Ok(sched) => {
                    let status = if sched.start > now { RequestStatus::Granted } else { RequestStatus::Provisioned };
                    let completed = Some(sched.start.max(now));
                    tx.insert_schedule(&sched).await?;
                    crate::notify::enqueue(&s, &mut tx, &announce(Event::ActivationApproved)).await?;
                    tx.transition_request(request.id, RequestStatus::PendingApproval, status, completed).await?;
                    audit = crate::audit_detail::granted(audit, &sched);
                }
                Err(e) => {
                    // Approved, but it can no longer be granted (the eligibility went away...).
                    tx.transition_request(request.id, RequestStatus::PendingApproval, RequestStatus::Failed, Some(now))
                        .await?;
                    audit = audit.detail(openpim_core::audit::detail::FAILURE, format!("{}: {}", e.code, e.message));
                }
            }
        }
        ApprovalStatus::TimedOut | ApprovalStatus::Canceled => {}
    }
    s.commit(tx, &audit.success(&caller, now)).await?;
    Ok(no_content())
}
