//! `/providers/Microsoft.Authorization/roleAssignmentApprovals[/{id}[/stages/{stageId}]]`
//! (api-version 2021-01-01-preview; the same paths under any scope are accepted, as the docs'
//! clients send them): the approvals of activations that need one, and an approver's decision on
//! a stage (`PATCH`, also `PUT` and `POST`, body `{"reviewResult": "Approve"|"Deny",
//! "justification"}` at the top level as Microsoft's docs show, or inside `properties` as the
//! REST spec models it). Reading and deciding go through `crate::pim::approvals` (`visible`,
//! `awaiting`, `decide`): the requester and the approvers (users, or members of a listed group)
//! see an approval; nobody decides their own request (core's rule); decisions are audited there.

use super::{json, ArmBody, ArmError, ArmRequest, ArmResult};
use crate::pim::{self, Visibility};
use crate::state::AppState;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use openpim_core::approval::{Approval, ApprovalStatus, ApprovalStep, Part, ReviewResult, StepStatus};
use openpim_core::authz;
use openpim_core::scope::ArmScope;
use openpim_core::ObjectId;
use openpim_proto::arm::approvals as proto;

pub const API_VERSIONS: &[&str] = &["2021-01-01-preview"];

pub async fn handle(s: AppState, req: ArmRequest) -> ArmResult<Response> {
    let types: Vec<String> = req.path.types.iter().map(|t| t.to_ascii_lowercase()).collect();
    let shape: Vec<&str> = types.iter().map(String::as_str).collect();
    match (shape.as_slice(), req.path.names.len()) {
        (["roleassignmentapprovals"], 0) if req.method == Method::GET => list(&s, &req).await,
        (["roleassignmentapprovals"], 1) if req.method == Method::GET => {
            let id = guid(&req.path.names[0], "approval")?;
            let (a, groups) = visible(&s, &req, id).await?;
            Ok(json(StatusCode::OK, &render(&s, &a, req.caller.id(), &groups).await?))
        }
        (["roleassignmentapprovals", "stages"], 2) => {
            let id = guid(&req.path.names[0], "approval")?;
            let stage = guid(&req.path.names[1], "stage")?;
            match req.method {
                Method::GET => {}
                Method::PATCH | Method::PUT | Method::POST => decide(&s, &req, id, stage).await?,
                ref other => return Err(ArmError::method_not_allowed(other)),
            }
            let (a, groups) = visible(&s, &req, id).await?;
            let step = a.steps.iter().enumerate().find(|(_, st)| st.id == stage);
            let (n, step) = step.ok_or_else(|| not_found("stage", &stage.to_string()))?;
            Ok(json(StatusCode::OK, &render_stage(&s, &a, n, step, req.caller.id(), &groups).await?))
        }
        (["roleassignmentapprovals", ..], _) => Err(ArmError::method_not_allowed(&req.method)),
        _ => Err(ArmError::invalid_resource_type(
            &req.path.types.join("/"),
            &req.path.namespace,
            Some(req.api_version.as_str()),
        )),
    }
}

fn not_found(what: &str, id: &str) -> ArmError {
    // No source gives ARM's code; OpenPIM answers 404 `RoleAssignmentApprovalNotFound`.
    ArmError::new(
        StatusCode::NOT_FOUND,
        "RoleAssignmentApprovalNotFound",
        format!("The role assignment approval {what} '{id}' does not exist or is not visible to you."),
    )
}

fn guid(raw: &str, what: &str) -> ArmResult<ObjectId> {
    uuid::Uuid::try_parse(raw).map_err(|_| not_found(what, raw))
}

/// The approval `id` if the caller takes part in it (its requester or an approver); to anyone
/// else it does not exist.
async fn visible(s: &AppState, req: &ArmRequest, id: ObjectId) -> ArmResult<(Approval, Vec<ObjectId>)> {
    let own = authz::own_principal(req.caller.subject());
    let visibility = Visibility::Own(own);
    pim::approvals::visible(s, &own, &visibility, id).await?.ok_or_else(|| not_found("", &id.to_string()))
}

/// The pending approvals the caller takes part in, as Azure's docs describe the list: no
/// `$filter` lists those where the caller is the requester or an approver, `asApprover()` those
/// listing the caller as an approver of any stage (`assignedToMe` says whose turn it is),
/// `asCreatedBy()` and `asTarget()` the caller's own requests'. Paged as other ARM lists
/// (`nextLink` with `$skiptoken`; `$top` sets the page size).
async fn list(s: &AppState, req: &ArmRequest) -> ArmResult<Response> {
    let part = match req.query.filter().map(|f| f.replace(' ', "").to_ascii_lowercase()) {
        None => Part::Any,
        Some(f) if f == "asapprover()" => Part::Approver,
        Some(f) if f == "ascreatedby()" || f == "astarget()" => Part::Requester,
        Some(_) => {
            return Err(ArmError::new(
                StatusCode::BAD_REQUEST,
                "InvalidFilter",
                format!(
                    "The $filter '{}' is not supported: roleAssignmentApprovals take asApprover(), asCreatedBy() \
                     or asTarget().",
                    req.query.filter().unwrap_or_default()
                ),
            ))
        }
    };
    let paging = super::resource_groups::paging_with_top(req)?;
    let (pending, groups) = pim::approvals::involving(s, &authz::own_principal(req.caller.subject()), part).await?;
    // Only the page's approvals are rendered (each reads its reviewers' names).
    let page = paging.page(pending, req, s);
    let mut value = Vec::with_capacity(page.value.len());
    for a in &page.value {
        value.push(render(s, a, req.caller.id(), &groups).await?);
    }
    Ok(json(StatusCode::OK, &openpim_proto::arm::ArmList { value, next_link: page.next_link }))
}

/// Reads the decision and hands it to `pim::approvals::decide`.
async fn decide(s: &AppState, req: &ArmRequest, approval: ObjectId, stage: ObjectId) -> ArmResult<()> {
    let mut body = req.json_body("RoleAssignmentApprovalStep")?;
    for key in ["id", "name", "type"] {
        body.ignore(key);
    }
    let (result, justification) = match body.object("properties", "RoleAssignmentApprovalStepProperties")? {
        Some(mut props) => {
            let read = read_decision(&mut props)?;
            ignore_read_only(&mut props);
            props.finish()?;
            read
        }
        None => read_decision(&mut body)?,
    };
    ignore_read_only(&mut body);
    body.finish()?;
    let review = pim::approvals::Review { approval_id: approval, step_id: stage, result, justification };
    let own = authz::own_principal(req.caller.subject());
    pim::approvals::decide(s, &req.caller, &Visibility::Own(own), review).await.map_err(|e| {
        // Core's refusals (deciding one's own request, a stage not assigned to the caller) are
        // 403s; ARM names every refusal of a caller's right `AuthorizationFailed`.
        let forbidden = e.status == StatusCode::FORBIDDEN;
        let message = e.message.clone();
        let error = ArmError::from(e);
        if forbidden {
            ArmError::new(StatusCode::FORBIDDEN, "AuthorizationFailed", message)
        } else {
            error
        }
    })
}

fn read_decision(b: &mut ArmBody) -> ArmResult<(ReviewResult, Option<String>)> {
    let raw = b.required_string("reviewResult")?;
    let result = ReviewResult::parse(&raw).ok_or_else(|| b.invalid("reviewResult", "it is 'Approve' or 'Deny'."))?;
    Ok((result, b.string("justification")?))
}

fn ignore_read_only(b: &mut ArmBody) {
    for key in ["displayName", "status", "assignedToMe", "reviewedBy", "reviewedDateTime"] {
        b.ignore(key);
    }
}

fn approval_id(a: &Approval) -> String {
    resource_id(&a.id.to_string())
}

/// The collection's type within `Microsoft.Authorization`, as ids write it.
pub const COLLECTION: &str = "roleAssignmentApprovals";

/// An approval's resource id, `/providers/Microsoft.Authorization/roleAssignmentApprovals/{id}`
/// (approvals live at ARM's root, whatever the request's scope): also what a schedule request's
/// `approvalId` says (clients strip the prefix or call the id).
pub fn resource_id(approval: &str) -> String {
    ArmScope::root().resource_id(COLLECTION, approval)
}

async fn render(
    s: &AppState,
    a: &Approval,
    me: ObjectId,
    groups: &[ObjectId],
) -> ArmResult<proto::RoleAssignmentApproval> {
    let mut stages = Vec::with_capacity(a.steps.len());
    for (n, step) in a.steps.iter().enumerate() {
        stages.push(render_stage(s, a, n, step, me, groups).await?);
    }
    Ok(proto::RoleAssignmentApproval {
        id: approval_id(a),
        name: a.id.to_string(),
        resource_type: proto::APPROVAL_TYPE.to_string(),
        properties: proto::ApprovalProperties { stages },
    })
}

async fn render_stage(
    s: &AppState,
    a: &Approval,
    n: usize,
    step: &ApprovalStep,
    me: ObjectId,
    groups: &[ObjectId],
) -> ArmResult<proto::ApprovalStage> {
    let expired = matches!(a.status, ApprovalStatus::TimedOut) && step.status != StepStatus::Completed;
    let status = if expired { "Expired" } else { step.status.as_str() };
    let listed = step.approvers.iter().any(|ap| ap.object_id() == me || groups.contains(&ap.object_id()));
    let assigned_to_me = step.status == StepStatus::InProgress
        && matches!(a.status, ApprovalStatus::Pending)
        && listed
        && a.requester != me;
    let reviewed_by = match step.reviewed_by {
        Some(id) => {
            let user = s.store.get_user(id).await?;
            Some(proto::ActorIdentity {
                principal_id: id.to_string(),
                principal_name: user.as_ref().map(|u| u.display_name.clone()),
                principal_type: "user".into(),
                user_principal_name: user.map(|u| u.user_principal_name),
            })
        }
        None => None,
    };
    Ok(proto::ApprovalStage {
        id: format!("{}/stages/{}", approval_id(a), step.id),
        name: step.id.to_string(),
        resource_type: proto::STAGE_TYPE.to_string(),
        properties: proto::StageProperties {
            display_name: format!("Stage {}", n + 1),
            status: status.to_string(),
            review_result: step.review_result.as_str().to_string(),
            assigned_to_me,
            reviewed_by,
            reviewed_date_time: step.reviewed_at.map(crate::wire::datetime),
            justification: step.justification.clone(),
        },
    })
}
