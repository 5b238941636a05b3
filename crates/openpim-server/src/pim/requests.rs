//! Schedule requests: submit one (any of the 9 actions, eligibility or assignment) and cancel one.

use super::refused;
use crate::audit_detail;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::notify;
use crate::state::{AppState, Audit};
use openpim_core::approval::{self, Approval, ApprovalStatus};
use openpim_core::audit::category::ROLE_MANAGEMENT;
use openpim_core::audit::detail;
use openpim_core::authz::AzureGranted;
use openpim_core::authz::{self, cap, Granted, OwnPrincipal};
use openpim_core::error::DomainError;
use openpim_core::policy::{rules as policy_rules, RolePolicy};
use openpim_core::roles::RoleDefinition;
use openpim_core::schedule::{
    self, Action, Context, Effect, Kind, NewRequest, Outcome, RequestStatus, ScheduleRequest,
};
use openpim_core::scope::{ArmScope, Scope};
use openpim_core::{Instant, ObjectId};
use openpim_store::{StoreError, WriteTx};

/// The label Entra's audit log uses, roughly, for each action.
fn activity(kind: Kind, action: Action) -> &'static str {
    match (kind, action) {
        (Kind::Eligibility, Action::AdminAssign) => "Add eligible member to role in PIM",
        (Kind::Eligibility, Action::AdminUpdate) => "Update eligible member of role in PIM",
        (Kind::Eligibility, Action::AdminRemove) => "Remove eligible member from role in PIM",
        (Kind::Eligibility, Action::AdminExtend) => "Extend eligible role assignment in PIM",
        (Kind::Eligibility, Action::AdminRenew) => "Renew eligible role assignment in PIM",
        (Kind::Eligibility, Action::SelfExtend) => "Request to extend eligible role assignment",
        (Kind::Eligibility, Action::SelfRenew) => "Request to renew eligible role assignment",
        (Kind::Assignment, Action::AdminAssign) => "Add member to role in PIM",
        (Kind::Assignment, Action::AdminUpdate) => "Update member of role in PIM",
        (Kind::Assignment, Action::AdminRemove) => "Remove member from role in PIM",
        (Kind::Assignment, Action::AdminExtend) => "Extend role assignment in PIM",
        (Kind::Assignment, Action::AdminRenew) => "Renew role assignment in PIM",
        (Kind::Assignment, Action::SelfActivate) => "Add member to role (PIM activation)",
        (Kind::Assignment, Action::SelfDeactivate) => "Remove member from role (PIM deactivation)",
        (Kind::Assignment, Action::SelfExtend) => "Request to extend role assignment",
        (Kind::Assignment, Action::SelfRenew) => "Request to renew role assignment",
        (Kind::Eligibility, _) => "Invalid eligibility request",
    }
}

/// The audit record of a schedule request, describing it as asked (see `audit_detail`), so a
/// refusal carries the same facts as a success.
pub fn request_audit(req: &NewRequest, role_name: Option<&str>, requestor: ObjectId, now: Instant) -> Audit {
    let audit = Audit::new(
        ROLE_MANAGEMENT,
        activity(req.kind, req.action),
        if req.action.is_self() { "Update" } else { "Assign" },
    )
    .target("Role", req.role_definition_id, role_name, None)
    .target("User", req.principal_id, None, None);
    audit_detail::new_request(audit, req, requestor, now)
}

/// A store conflict (a uniqueness rule in the database caught a concurrent twin) as the Graph
/// error a client understands; anything else as it is.
fn conflict_as(code: &'static str, message: &'static str) -> impl FnOnce(StoreError) -> ApiError {
    move |e| match e {
        StoreError::Conflict(_) => ApiError::bad_request_code(code, message),
        other => other.into(),
    }
}

/// What the facts read inside the write say about a request.
enum Decision {
    /// The rules refused it: audited as a failure, changes nothing.
    Refused(Audit, DomainError),
    Accepted(Box<Accepted>),
}

/// An accepted request: what to write, and how to audit it.
struct Accepted {
    outcome: Outcome,
    approval: Option<Approval>,
    audit: Audit,
    /// Whose role settings decided the request ([`policy_scope`]): its notification rules apply.
    policy_scope: Scope,
}

/// On whose authority a schedule request is made.
#[derive(Debug, Clone)]
pub enum RequestAuthority {
    /// An administrator at the request's scope: may take the admin actions for any principal.
    Admin(Granted<cap::ManageRoleAssignments>),
    /// An Azure administrator at the request's ARM scope
    /// (`Microsoft.Authorization/roleAssignments/write` there or above: Owner, User Access
    /// Administrator, Role Based Access Control Administrator).
    AzureAdmin(AzureGranted),
    /// Anyone, for their own principal only: the `self*` actions (core refuses an admin
    /// action, or a self action for someone else, on this authority).
    SelfService(OwnPrincipal),
}

/// The Azure operation that makes a caller an administrator of PIM requests at an ARM scope.
pub const AZURE_ADMIN_ACTION: &str = "Microsoft.Authorization/roleAssignments/write";

impl RequestAuthority {
    /// The authority `caller` has for a request at `scope`, from the access index (which
    /// reflects every committed write): an admin's when they hold it there, their own otherwise.
    /// Graph requests name directory scopes only: an ARM scope is refused here (400).
    pub fn of(s: &AppState, caller: &Caller, scope: &openpim_core::scope::Scope) -> ApiResult<Self> {
        let scope = scope.require_directory()?;
        Ok(match authz::grant::<cap::ManageRoleAssignments>(&s.index(), caller.subject(), &[scope], s.now()) {
            Ok(granted) => Self::Admin(granted),
            Err(_) => Self::SelfService(authz::own_principal(caller.subject())),
        })
    }

    /// The authority `caller` has for a request at the ARM `scope`: an Azure administrator's
    /// when the index grants them [`AZURE_ADMIN_ACTION`] there, their own otherwise.
    pub fn of_arm(s: &AppState, caller: &Caller, scope: &ArmScope) -> Self {
        match authz::grant_azure(&s.index(), caller.id(), AZURE_ADMIN_ACTION, scope, s.now()) {
            Ok(granted) => Self::AzureAdmin(granted),
            Err(_) => Self::SelfService(authz::own_principal(caller.subject())),
        }
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, Self::Admin(_) | Self::AzureAdmin(_))
    }
}

/// Submits a schedule request on behalf of `caller` and returns the request as recorded (or,
/// for `isValidationOnly`, as it would have been).
pub async fn submit(
    s: &AppState,
    caller: &Caller,
    authority: &RequestAuthority,
    req: NewRequest,
) -> ApiResult<ScheduleRequest> {
    submit_as(s, caller, authority, req, ObjectId::new_v4()).await
}

/// [`submit`] with the request's id chosen by the client (ARM's request names are GUIDs the
/// client picks); the schedule a request creates takes the same id.
pub async fn submit_as(
    s: &AppState,
    caller: &Caller,
    authority: &RequestAuthority,
    req: NewRequest,
    request_id: ObjectId,
) -> ApiResult<ScheduleRequest> {
    let now = s.now();
    let caller_is_admin = authority.is_admin();
    let validation_only = req.is_validation_only;
    let mut tx = s.store.begin_write().await?;
    let decided = decide_in(s, &mut tx, caller, req, caller_is_admin, request_id, now).await;
    let (outcome, approval, audit, policy_scope) = match decided {
        Ok(Decision::Accepted(accepted)) => {
            let Accepted { outcome, approval, audit, policy_scope } = *accepted;
            (outcome, approval, audit, policy_scope)
        }
        Ok(Decision::Refused(audit, e)) => {
            tx.rollback().await?;
            return Err(refused(s, caller, &audit, now, e).await);
        }
        Err(e) => {
            tx.rollback().await?;
            return Err(e);
        }
    };
    if validation_only {
        tx.rollback().await?;
        return Ok(outcome.request);
    }
    match persist(s, &mut tx, &outcome, approval.as_ref(), &policy_scope, audit, now).await {
        Ok(audit) => {
            s.commit(tx, &audit.success(caller, now)).await?;
            Ok(outcome.request)
        }
        Err(e) => {
            tx.rollback().await?;
            Err(e)
        }
    }
}

/// Reads every fact the request depends on inside `tx` and lets core decide.
async fn decide_in(
    s: &AppState,
    tx: &mut WriteTx<'_>,
    caller: &Caller,
    req: NewRequest,
    caller_is_admin: bool,
    request_id: ObjectId,
    now: Instant,
) -> ApiResult<Decision> {
    let (kind, principal_id, role_id, scope) = (req.kind, req.principal_id, req.role_definition_id, req.scope.clone());
    // An ARM scope's existence is checked by the ARM surface before the write (ARM's
    // SubscriptionNotFound, ResourceGroupNotFound, ...).
    let directory_scope = scope.as_directory();
    let missing_scope = match (req.action, caller_is_admin, directory_scope) {
        (Action::AdminAssign, true, Some(dir)) => !tx.scope_exists(&dir).await?,
        _ => false,
    };
    if missing_scope {
        // Nothing can be granted at an administrative unit (or object) that does not exist.
        return Err(ApiError::bad_request(format!("The directory scope '{scope}' does not exist.")));
    }
    let principal = tx.principal_facts(principal_id).await?;
    let role = tx.role_definition(role_id).await?;
    let audit = request_audit(&req, role.as_ref().map(|r| r.display_name.as_str()), caller.id(), now);
    if let Some(role) = role.as_ref().filter(|_| grants(req.action)) {
        // Where the role may be granted at all: administrative units take only some Entra roles;
        // an Azure role only at or below its assignableScopes (read inside the write, so a custom
        // role narrowed meanwhile is seen).
        if let Err(e) = grantable_at(s, role, &scope) {
            return Ok(Decision::Refused(audit, e));
        }
    }
    let (live, mut expired) = tx.live_schedule_at(kind, principal_id, role_id, &scope, now).await?;
    if expired.is_none() && matches!(req.action, Action::AdminRenew | Action::SelfRenew) {
        expired = tx.latest_expired(kind, principal_id, role_id, &scope).await?;
    }
    let (eligibilities, pending_activation) = if req.action == Action::SelfActivate {
        let eligibilities = activatable_eligibilities(s, tx, principal_id, role_id, &scope).await?;
        (eligibilities, tx.pending_activation_exists(principal_id, role_id, &scope.to_string()).await?)
    } else if matches!(req.action, Action::SelfExtend | Action::SelfRenew) {
        let key = (principal_id, role_id, &scope);
        (Vec::new(), tx.pending_self_request_exists(kind, key, req.action).await?)
    } else {
        (Vec::new(), false)
    };
    // Role settings are per (role, scope). An activation at a scope below the eligibility ("just
    // enough access") follows the settings of the eligibility's scope, where the administrator
    // made the role activatable (the nearest one when several cover the target); everything else
    // follows the settings of the request's own scope.
    let policy_scope = policy_scope(&scope, &eligibilities).clone();
    let (rules, policy) = policy_of(tx, role_id, &policy_scope).await?;
    let ctx = Context {
        now,
        request_id,
        caller: caller.id(),
        caller_is_admin,
        mfa: caller.mfa,
        acrs: &caller.acrs,
        principal,
        role: role.as_ref(),
        live: live.as_ref(),
        expired: expired.as_ref(),
        eligibilities: &eligibilities,
        pending_activation,
        policy: &policy,
    };
    let mut outcome = match schedule::decide(req, &ctx) {
        Ok(o) => o,
        Err(e) => return Ok(Decision::Refused(audit, e)),
    };
    // An activation that needs approval waits for the policy's approvers.
    let approval = if outcome.request.status == RequestStatus::PendingApproval {
        let settings = rules.as_deref().and_then(policy_rules::approval).ok_or_else(ApiError::internal)?;
        let a = approval::start(outcome.request.id, caller.id(), settings, now, s.approval_timeout);
        outcome.request.approval_id = Some(a.id.to_string());
        Some(a)
    } else {
        None
    };
    Ok(Decision::Accepted(Box::new(Accepted { outcome, approval, audit, policy_scope })))
}

/// Whether `action` gives (or keeps giving) the principal the role at the request's scope: every
/// action but the removals, which must stay possible whatever changed about the role.
fn grants(action: Action) -> bool {
    !matches!(action, Action::AdminRemove | Action::SelfDeactivate)
}

/// Core's rule on where `role` may be granted (`authz::check_assignable_at`), with the
/// management-group hierarchy the access index keeps. Every PIM write that grants goes through
/// it: requests of both kinds here, and an approved activation (`pim::approvals`).
pub(crate) fn grantable_at(s: &AppState, role: &RoleDefinition, scope: &Scope) -> Result<(), DomainError> {
    authz::check_assignable_at(role, scope, s.index().management_groups())
}

/// The eligibilities `principal_id` can activate `role_id` with at `scope`, read inside the write.
/// Directory roles: held at the scope, directly or through the role-assignable groups the
/// principal is in *now*. Azure roles: Azure RBAC honours any security group, nested ones too
/// (`WriteTx::security_groups_of`, as the access index does), and an eligibility at a scope
/// can be activated there or at any scope below it ("just enough access"): those at the scope
/// and at each of its ancestors, management groups included, nearest first.
pub(crate) async fn activatable_eligibilities(
    s: &AppState,
    tx: &mut WriteTx<'_>,
    principal_id: ObjectId,
    role_id: ObjectId,
    scope: &Scope,
) -> ApiResult<Vec<openpim_core::schedule::Schedule>> {
    let mut holders = vec![principal_id];
    Ok(match scope.as_arm() {
        None => {
            holders.extend(tx.role_assignable_groups_of(principal_id).await?);
            tx.eligibilities_of(&holders, role_id, scope).await?
        }
        Some(arm) => {
            holders.extend(tx.security_groups_of(principal_id).await?);
            let scopes: Vec<ArmScope> = {
                let index = s.index();
                std::iter::once(arm.clone()).chain(arm.ancestors(index.management_groups())).collect()
            };
            let mut found = Vec::new();
            for at in scopes {
                found.extend(tx.eligibilities_of(&holders, role_id, &Scope::Arm(at)).await?);
            }
            found
        }
    })
}

/// Whose role settings an activation follows: the engine's one answer, used for its rules, its
/// approval and its notifications alike. Settings are per (role, scope); an activation at a
/// scope below the eligibility follows the settings of the eligibility's scope, where the
/// administrator made the role activatable (the nearest one); everything else the settings of
/// the request's own scope.
pub(crate) fn policy_scope<'a>(scope: &'a Scope, eligibilities: &'a [openpim_core::schedule::Schedule]) -> &'a Scope {
    match (scope.as_arm(), eligibilities.first()) {
        (Some(_), Some(nearest)) => &nearest.scope,
        _ => scope,
    }
}

/// The policy a request at `scope` is checked against, read inside the write: the stored rules
/// and their effective form. This is the engine's one policy read, for both families
/// (`WriteTx::policy_rules_at`): directory roles have their policy at `/` (Entra's defaults when
/// it is missing); Azure roles the policy of exactly this (role, scope), Azure's defaults when
/// nobody changed it (settings are not inherited down the hierarchy).
pub(crate) async fn policy_of(
    tx: &mut WriteTx<'_>,
    role_id: ObjectId,
    scope: &Scope,
) -> ApiResult<(Option<Vec<openpim_core::policy::rules::PolicyRule>>, RolePolicy)> {
    let rules = tx.policy_rules_at(role_id, scope).await?;
    let policy = rules.as_deref().map(policy_rules::effective).unwrap_or_else(RolePolicy::entra_default);
    Ok((rules, policy))
}

/// Writes what core decided: the schedule change, the request, its approval, the answered self
/// requests and the notification.
async fn persist(
    s: &AppState,
    tx: &mut WriteTx<'_>,
    outcome: &Outcome,
    approval: Option<&Approval>,
    policy_scope: &Scope,
    audit: Audit,
    now: Instant,
) -> ApiResult<Audit> {
    let r = &outcome.request;
    let mut audit = audit_detail::outcome(audit, r);
    let exists =
        conflict_as("RoleAssignmentExists", "The role assignment already exists for this principal, role and scope.");
    match &outcome.effect {
        Effect::Nothing => {}
        Effect::Create(sched) => {
            tx.insert_schedule(sched).await.map_err(exists)?;
            audit = audit_detail::granted(audit, sched);
        }
        Effect::Replace(sched) => {
            let cut = tx.replace_schedule(sched).await.map_err(exists)?;
            audit = audit_detail::granted(audit, sched);
            if !cut.is_empty() {
                audit = audit.detail(detail::TRUNCATED_ACTIVATIONS, cut.len());
            }
        }
        Effect::Remove(sched) => {
            let cascaded = tx.remove_schedule(sched).await.map_err(exists)?;
            if !cascaded.is_empty() {
                audit = audit.detail(detail::REVOKED_ACTIVATIONS, cascaded.len());
            }
        }
    }
    // The one-pending-request index catches a concurrent twin of a pending activation.
    tx.insert_request(r).await.map_err(conflict_as(
        "PendingRoleAssignmentRequest",
        "An activation request for this role and scope is already waiting for approval.",
    ))?;
    if let Some(a) = approval {
        tx.insert_approval(a).await?;
    }
    if let Some(self_action) = outcome.answers_self_requests {
        let key = (r.principal_id, r.role_definition_id, &r.scope);
        let closed = tx.complete_pending_self_requests(r.kind, key, self_action, now).await?;
        if closed > 0 {
            audit = audit.detail(detail::ANSWERED_SELF_REQUESTS, closed);
        }
    }
    if let Some(event) = outcome.notification() {
        let approvers = approval
            .map(|a| a.steps.iter().take(1).flat_map(|s| s.approvers.iter().map(|ap| ap.object_id())).collect())
            .unwrap_or_default();
        let announcement = notify::Announcement {
            event,
            request_id: Some(r.id),
            principal_id: r.principal_id,
            role_definition_id: r.role_definition_id,
            scope: r.scope.clone(),
            policy_scope: policy_scope.clone(),
            justification: r.justification.clone(),
            approvers,
        };
        notify::enqueue(s, tx, &announcement).await?;
    }
    Ok(audit)
}

/// Cancels a request that is still waiting (for its start or a decision). Its principal and its
/// creator may cancel it on their own authority (`own`), admins at its scope on theirs; to
/// anyone else it does not exist.
pub async fn cancel(s: &AppState, caller: &Caller, own: &OwnPrincipal, kind: Kind, id: ObjectId) -> ApiResult<()> {
    let now = s.now();
    let mut tx = s.store.begin_write().await?;
    match cancel_in(s, &mut tx, caller, own, kind, id, now).await {
        Ok(audit) => s.commit(tx, &audit.success(caller, now)).await,
        Err(e) => {
            tx.rollback().await?;
            Err(e)
        }
    }
}

async fn cancel_in(
    s: &AppState,
    tx: &mut WriteTx<'_>,
    caller: &Caller,
    own: &OwnPrincipal,
    kind: Kind,
    id: ObjectId,
    now: Instant,
) -> ApiResult<Audit> {
    let not_found = || ApiError::not_found("request", &id.to_string());
    let r = tx.request(kind, id).await?.ok_or_else(not_found)?;
    let admin_here = || -> bool {
        match &r.scope {
            Scope::Arm(arm) => authz::grant_azure(&s.index(), caller.id(), AZURE_ADMIN_ACTION, arm, now).is_ok(),
            Scope::Directory(dir) => {
                authz::grant::<cap::ManageRoleAssignments>(&s.index(), caller.subject(), &[*dir], now).is_ok()
            }
        }
    };
    if !r.concerns(own.principal()) && !admin_here() {
        return Err(not_found());
    }
    let target = match r.target_schedule_id {
        Some(t) => tx.schedule(kind, t).await?,
        None => None,
    };
    let cancellation = schedule::cancel(&r, target.as_ref(), now)?;
    let audit = Audit::new(ROLE_MANAGEMENT, "Cancel request in PIM", "Update")
        .target("Role", r.role_definition_id, None, None)
        .target("User", r.principal_id, None, None);
    let audit = audit_detail::stored_request(audit, &r).detail(detail::PREVIOUS_STATUS, r.status.as_str());
    if !tx.transition_request(r.id, r.status, RequestStatus::Canceled, Some(now)).await? {
        return Err(ApiError::bad_request_code(
            "RequestNotCancelable",
            "The request changed while it was being canceled.",
        ));
    }
    // A pending approval ends with its request.
    if let Some(approval_id) = r.approval_id.as_deref().and_then(|a| uuid::Uuid::parse_str(a).ok()) {
        if let Some(mut a) = tx.approval(approval_id).await? {
            a.status = ApprovalStatus::Canceled;
            tx.save_pending_approval(&a).await?;
        }
    }
    if let Some(sched) = &cancellation.withdraw {
        tx.remove_schedule(sched).await?;
    }
    Ok(audit)
}
