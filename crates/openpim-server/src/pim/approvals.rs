//! Approvals of activations: reading the ones a caller may see, deciding a step, and granting
//! the activation once approved.

use super::{refused, Visibility};
use crate::audit_detail;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::notify::{self, Announcement};
use crate::state::{AppState, Audit};
use openpim_core::approval::{self, Approval, ApprovalStatus, ReviewResult};
use openpim_core::audit::category::ROLE_MANAGEMENT;
use openpim_core::audit::detail;
use openpim_core::authz::OwnPrincipal;
use openpim_core::directory::ObjectKind;
use openpim_core::error::DomainError;
use openpim_core::notify::Event;
use openpim_core::schedule::{self, Kind, RequestStatus, ScheduleRequest};
use openpim_core::scope::Scope;
use openpim_core::{Instant, ObjectId};
use openpim_store::WriteTx;

/// A reviewer's decision on one step.
pub struct Review {
    pub approval_id: ObjectId,
    pub step_id: ObjectId,
    pub result: ReviewResult,
    pub justification: Option<String>,
}

enum Decided {
    Refused(Audit, DomainError),
    Done(Audit),
}

/// The approvals waiting for the caller's decision now, with the groups the caller is in (an
/// approver may be listed through a group).
pub async fn awaiting(s: &AppState, own: &OwnPrincipal) -> ApiResult<(Vec<Approval>, Vec<ObjectId>)> {
    let me = own.principal();
    let groups = s.store.group_ids_of(me).await?;
    let now = s.now();
    let pending = s.store.pending_approvals(now).await?;
    Ok((pending.into_iter().filter(|a| a.awaits(me, &groups, now)).collect(), groups))
}

/// The pending approvals the caller takes part in as `part` says (ARM's list and its filters),
/// with the caller's groups. Decided and timed-out approvals are read one by one (`visible`).
pub async fn involving(
    s: &AppState,
    own: &OwnPrincipal,
    part: approval::Part,
) -> ApiResult<(Vec<Approval>, Vec<ObjectId>)> {
    let me = own.principal();
    let groups = s.store.group_ids_of(me).await?;
    let pending = s.store.pending_approvals(s.now()).await?;
    Ok((pending.into_iter().filter(|a| a.takes_part(me, &groups, part)).collect(), groups))
}

/// One approval, with the caller's groups, if the caller may see it: its requester and its
/// approvers always; others only when they read everyone's requests. To anyone else it does
/// not exist.
pub async fn visible(
    s: &AppState,
    own: &OwnPrincipal,
    visibility: &Visibility,
    id: ObjectId,
) -> ApiResult<Option<(Approval, Vec<ObjectId>)>> {
    let Some(a) = s.store.get_approval(id).await? else { return Ok(None) };
    let groups = s.store.group_ids_of(own.principal()).await?;
    let shown = matches!(visibility, Visibility::Everyone(_)) || a.concerns(own.principal(), &groups);
    Ok(shown.then_some((a, groups)))
}

/// Records `caller`'s decision on a step. The approval, the request, the caller's groups and,
/// when the approval completes, the live schedule, the eligibilities (through the groups the
/// principal is in now) and the policy are all read inside the write.
/// `visibility` says whether the caller would see the approval without being part of it.
pub async fn decide(s: &AppState, caller: &Caller, visibility: &Visibility, review: Review) -> ApiResult<()> {
    let now = s.now();
    let mut tx = s.store.begin_write().await?;
    match decide_in(s, &mut tx, caller, visibility, review, now).await {
        Ok(Decided::Done(audit)) => s.commit(tx, &audit.success(caller, now)).await,
        Ok(Decided::Refused(audit, e)) => {
            tx.rollback().await?;
            Err(refused(s, caller, &audit, now, e).await)
        }
        Err(e) => {
            tx.rollback().await?;
            Err(e)
        }
    }
}

async fn decide_in(
    s: &AppState,
    tx: &mut WriteTx<'_>,
    caller: &Caller,
    visibility: &Visibility,
    review: Review,
    now: Instant,
) -> ApiResult<Decided> {
    let key = review.approval_id.to_string();
    let a = tx.approval(review.approval_id).await?.ok_or_else(|| ApiError::not_found("approval", &key))?;
    let groups = tx.group_ids_of(caller.id()).await?;
    // Approvals are visible to their requester, their approvers and those who read all requests.
    if !matches!(visibility, Visibility::Everyone(_)) && !a.concerns(caller.id(), &groups) {
        return Err(ApiError::not_found("approval", &key));
    }
    let request = tx
        .request(Kind::Assignment, a.request_id)
        .await?
        .ok_or_else(|| ApiError::not_found("request", &a.request_id.to_string()))?;
    let mut audit = Audit::new(
        ROLE_MANAGEMENT,
        if review.result == ReviewResult::Approve {
            "Approve role activation request in PIM"
        } else {
            "Deny role activation request in PIM"
        },
        "Update",
    )
    .target("Role", request.role_definition_id, None, None)
    .target("User", request.principal_id, None, None);
    // The request as asked, and this decision (stage, result, reason) as Entra's audit shows it.
    let stage = a.steps.iter().position(|st| st.id == review.step_id).map_or(0, |i| i + 1);
    audit = audit_detail::stored_request(audit, &request);
    audit = audit_detail::decision(audit, &a, stage, caller.id(), review.result, review.justification.as_deref());
    let next =
        match approval::review(&a, review.step_id, caller.id(), &groups, review.result, review.justification, now) {
            Ok(n) => n,
            Err(e) => return Ok(Decided::Refused(audit, e)),
        };
    if !tx.save_pending_approval(&next).await? {
        return Err(ApiError::bad_request_code(
            "ApprovalNotPending",
            "This request has already been decided or canceled.",
        ));
    }
    match next.status {
        ApprovalStatus::Pending | ApprovalStatus::TimedOut | ApprovalStatus::Canceled => {}
        ApprovalStatus::Denied => {
            tx.transition_request(request.id, RequestStatus::PendingApproval, RequestStatus::Denied, Some(now)).await?;
            // Notified under the role settings the activation was asked against.
            let (principal, role) = (request.principal_id, request.role_definition_id);
            let eligibilities =
                super::requests::activatable_eligibilities(s, tx, principal, role, &request.scope).await?;
            let policy_scope = super::requests::policy_scope(&request.scope, &eligibilities);
            notify::enqueue(s, tx, &announce(&request, Event::ActivationDenied, policy_scope)).await?;
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
            // The same eligibilities and role settings the activation was asked against.
            let (principal, role) = (request.principal_id, request.role_definition_id);
            let eligibilities =
                super::requests::activatable_eligibilities(s, tx, principal, role, &request.scope).await?;
            let policy_scope = super::requests::policy_scope(&request.scope, &eligibilities);
            let (_, policy) = super::requests::policy_of(tx, role, policy_scope).await?;
            // Still grantable there (a custom Azure role's assignable scopes may have narrowed).
            let grantable = match tx.role_definition(role).await? {
                Some(definition) => super::requests::grantable_at(s, &definition, &request.scope),
                None => Ok(()),
            };
            let approved = grantable.and_then(|()| {
                schedule::activate_approved(&request, ObjectKind::User, &eligibilities, live.as_ref(), &policy, now)
            });
            match approved {
                Ok(sched) => {
                    let (status, completed) = schedule::approved_request_status(&sched, now);
                    tx.insert_schedule(&sched).await?;
                    let announcement = announce(&request, Event::ActivationApproved, policy_scope);
                    notify::enqueue(s, tx, &announcement).await?;
                    tx.transition_request(request.id, RequestStatus::PendingApproval, status, Some(completed)).await?;
                    audit = audit_detail::granted(audit, &sched);
                }
                Err(e) => {
                    // Approved, but it can no longer be granted (the eligibility went away...).
                    tx.transition_request(request.id, RequestStatus::PendingApproval, RequestStatus::Failed, Some(now))
                        .await?;
                    audit = audit.detail(detail::FAILURE, format!("{}: {}", e.code, e.message));
                }
            }
        }
    }
    Ok(Decided::Done(audit))
}

fn announce(request: &ScheduleRequest, event: Event, policy_scope: &Scope) -> Announcement {
    Announcement {
        event,
        request_id: Some(request.id),
        principal_id: request.principal_id,
        role_definition_id: request.role_definition_id,
        scope: request.scope.clone(),
        policy_scope: policy_scope.clone(),
        justification: request.justification.clone(),
        approvers: vec![],
    }
}
