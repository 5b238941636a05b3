//! PIM: `roleEligibilityScheduleRequests`, `roleAssignmentScheduleRequests`, their schedules and
//! instances, and `filterByCurrentUser`. The rules are decided in `openpim_core::schedule`.

use super::object_id;
use super::ops::{found, no_content};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::notify;
use crate::odata::OData;
use crate::state::{AppState, Audit};
use crate::wire::body::{Body, JsonObject};
use crate::wire::directory::directory_object;
use crate::wire::roles::role_definition;
use crate::wire::schedules as wire;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use openpim_core::audit::category::ROLE_MANAGEMENT;
use openpim_core::audit::AuditResult;
use openpim_core::authz::{self, Operation};
use openpim_core::policy::RolePolicy;
use openpim_core::schedule::{
    self, Action, Context, Effect, Kind, PrincipalFacts, RequestStatus, Schedule, ScheduleRequest,
};
use openpim_core::scope::DirectoryScope;
use openpim_core::ObjectId;
use openpim_store::directory::DirectoryObject;
use openpim_store::schedules::{HeldSchedule, RequestFilter, Window};
use openpim_store::{schema, Page, StoreError};
use serde_json::Value;

const RM: &str = "roleManagement/directory";

fn requests_set(kind: Kind) -> &'static str {
    match kind {
        Kind::Eligibility => "roleEligibilityScheduleRequests",
        Kind::Assignment => "roleAssignmentScheduleRequests",
    }
}

fn schedules_set(kind: Kind) -> &'static str {
    match kind {
        Kind::Eligibility => "roleEligibilitySchedules",
        Kind::Assignment => "roleAssignmentSchedules",
    }
}

fn instances_set(kind: Kind) -> &'static str {
    match kind {
        Kind::Eligibility => "roleEligibilityScheduleInstances",
        Kind::Assignment => "roleAssignmentScheduleInstances",
    }
}

/// Parses `filterByCurrentUser(on='principal')` from a path segment.
fn filter_by_current_user(segment: &str) -> Option<String> {
    let inner = segment.strip_prefix("filterByCurrentUser(")?.strip_suffix(')')?;
    let value = inner.trim().strip_prefix("on=")?.trim().trim_matches('\'');
    Some(value.to_string())
}

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

fn request_audit(
    kind: Kind,
    action: Action,
    principal: ObjectId,
    role: ObjectId,
    role_name: Option<&str>,
    scope: DirectoryScope,
) -> Audit {
    Audit::new(ROLE_MANAGEMENT, activity(kind, action), if action.is_self() { "Update" } else { "Assign" })
        .target("Role", role, role_name, None)
        .target("User", principal, None, None)
        .detail("action", action.as_str())
        .detail("directoryScopeId", scope)
}

async fn principal_facts(s: &AppState, id: ObjectId) -> ApiResult<Option<PrincipalFacts>> {
    Ok(s.store.find_object(id).await?.map(|o| match o {
        DirectoryObject::User(_) => {
            PrincipalFacts { kind: openpim_core::directory::ObjectKind::User, is_assignable_to_role: false }
        }
        DirectoryObject::Group(g) => PrincipalFacts {
            kind: openpim_core::directory::ObjectKind::Group,
            is_assignable_to_role: g.is_assignable_to_role,
        },
        DirectoryObject::ServicePrincipal(_) => {
            PrincipalFacts { kind: openpim_core::directory::ObjectKind::ServicePrincipal, is_assignable_to_role: false }
        }
    }))
}

/// POST a schedule request of `kind`.
async fn create_request(s: AppState, caller: Caller, q: OData, body: JsonObject, kind: Kind) -> ApiResult<Response> {
    let req = wire::read_request(Body::new(body, wire::request_type(kind)), kind)?;
    let now = s.now();
    let caller_is_admin =
        authz::authorize(&s.index(), caller.id(), Operation::ManageRoleAssignments, &[req.scope], now).is_ok();
    if req.action == Action::AdminAssign && caller_is_admin {
        // Nothing can be granted at an administrative unit (or object) that does not exist.
        super::role_assignments::check_scope_exists(&s, &req.scope).await?;
    }
    let principal = principal_facts(&s, req.principal_id).await?;
    let role = s.store.get_role_definition(req.role_definition_id).await?;
    let audit = request_audit(
        kind,
        req.action,
        req.principal_id,
        req.role_definition_id,
        role.as_ref().map(|r| r.display_name.as_str()),
        req.scope,
    );
    // Eligibility can be held through role-assignable groups the caller belongs to.
    let holders = if req.action == Action::SelfActivate {
        let mut h = vec![req.principal_id];
        h.extend(s.store.role_assignable_groups_of(req.principal_id).await?);
        h
    } else {
        vec![]
    };
    let rules = s.store.policy_rules_of(req.role_definition_id).await?;
    let policy = rules.as_deref().map(openpim_core::policy::rules::effective).unwrap_or_else(RolePolicy::entra_default);

    let mut tx = s.store.begin_write().await?;
    let (live, mut expired) =
        tx.live_schedule_at(kind, req.principal_id, req.role_definition_id, &req.scope, now).await?;
    if expired.is_none() && matches!(req.action, Action::AdminRenew | Action::SelfRenew) {
        expired = tx.latest_expired(kind, req.principal_id, req.role_definition_id, &req.scope).await?;
    }
    let eligibility = if holders.is_empty() {
        None
    } else {
        schedule::best_eligibility(tx.eligibilities_of(&holders, req.role_definition_id, &req.scope).await?, now)
    };
    let ctx = Context {
        now,
        request_id: ObjectId::new_v4(),
        caller: caller.id(),
        caller_is_admin,
        mfa: caller.mfa,
        acrs: &caller.acrs,
        principal,
        role: role.as_ref(),
        live: live.as_ref(),
        expired: expired.as_ref(),
        eligibility: eligibility.as_ref(),
        policy: &policy,
    };
    let validation_only = req.is_validation_only;
    if req.action == Action::SelfActivate
        && tx.pending_activation_exists(req.principal_id, req.role_definition_id, &req.scope.to_string()).await?
    {
        tx.rollback().await?;
        return Err(ApiError::bad_request_code(
            "PendingRoleAssignmentRequest",
            "An activation request for this role and scope is already waiting for approval.",
        ));
    }
    let outcome = match schedule::decide(req, &ctx) {
        Ok(o) => o,
        Err(e) => {
            tx.rollback().await?;
            let record = audit.record(&caller, now, AuditResult::Failure, &format!("{}: {}", e.code, e.message));
            if let Err(err) = s.store.record_audit(&record).await {
                tracing::error!(error = %err, "could not audit a refused schedule request");
            }
            return Err(e.into());
        }
    };
    let mut outcome = outcome;
    // An activation that needs approval waits for the policy's approvers.
    let approval = if outcome.request.status == RequestStatus::PendingApproval {
        let settings =
            rules.as_deref().and_then(openpim_core::policy::rules::approval).ok_or_else(ApiError::internal)?;
        let a = openpim_core::approval::start(outcome.request.id, caller.id(), settings, now, s.approval_timeout);
        outcome.request.approval_id = Some(a.id.to_string());
        Some(a)
    } else {
        None
    };
    let context = format!("{RM}/{}/$entity", requests_set(kind));
    if validation_only {
        tx.rollback().await?;
        return Ok(q.created(&context, wire::request(&outcome.request)));
    }
    let mut audit = audit.detail("requestId", outcome.request.id).detail("status", outcome.request.status.as_str());
    let applied = match &outcome.effect {
        Effect::Nothing => Ok(()),
        Effect::Create(sched) => tx.insert_schedule(sched).await,
        Effect::Replace(sched) => tx.replace_schedule(sched).await,
        Effect::Remove(sched) => match tx.remove_schedule(sched).await {
            Ok(cascaded) => {
                if !cascaded.is_empty() {
                    audit = audit.detail("revokedActivations", cascaded.len());
                }
                Ok(())
            }
            Err(e) => Err(e),
        },
    };
    if let Err(e) = applied {
        tx.rollback().await?;
        return Err(match e {
            // The database's live-uniqueness rule caught a concurrent twin of this request.
            StoreError::Conflict(_) => ApiError::bad_request_code(
                "RoleAssignmentExists",
                "The role assignment already exists for this principal, role and scope.",
            ),
            other => other.into(),
        });
    }
    if let Err(e) = tx.insert_request(&outcome.request).await {
        tx.rollback().await?;
        return Err(match e {
            // The one-pending-request index caught a concurrent twin.
            StoreError::Conflict(_) => ApiError::bad_request_code(
                "PendingRoleAssignmentRequest",
                "An activation request for this role and scope is already waiting for approval.",
            ),
            other => other.into(),
        });
    }
    if let Some(a) = &approval {
        tx.insert_approval(a).await?;
    }
    // An admin's extension or renewal answers the principal's own pending ask for it.
    let answered = match outcome.request.action {
        Action::AdminExtend => Some(Action::SelfExtend),
        Action::AdminRenew => Some(Action::SelfRenew),
        _ => None,
    };
    if let Some(self_action) = answered {
        let r = &outcome.request;
        let key = (r.principal_id, r.role_definition_id, &r.scope);
        let closed = tx.complete_pending_self_requests(kind, key, self_action, now).await?;
        if closed > 0 {
            audit = audit.detail("answeredSelfRequests", closed);
        }
    }
    if let Some(event) = notification_event(&outcome) {
        let approvers = approval
            .as_ref()
            .map(|a| a.steps.iter().take(1).flat_map(|s| s.approvers.iter().map(|ap| ap.object_id())).collect())
            .unwrap_or_default();
        let r = &outcome.request;
        let announcement = notify::Announcement {
            event,
            request_id: Some(r.id),
            principal_id: r.principal_id,
            role_definition_id: r.role_definition_id,
            scope: r.scope,
            justification: r.justification.clone(),
            approvers,
        };
        notify::enqueue(&s, &mut tx, &announcement).await?;
    }
    s.commit(tx, &audit.success(&caller, now)).await?;
    Ok(q.created(&context, wire::request(&outcome.request)))
}

/// The notification a successful request announces, as Entra notifies.
fn notification_event(outcome: &schedule::Outcome) -> Option<notify::Event> {
    let r = &outcome.request;
    match (&outcome.effect, r.kind, r.action) {
        (Effect::Create(_), Kind::Eligibility, Action::AdminAssign) => Some(notify::Event::EligibilityAssigned),
        (Effect::Create(_), Kind::Assignment, Action::AdminAssign) => Some(notify::Event::AssignmentAssigned),
        (Effect::Create(_), Kind::Assignment, Action::SelfActivate) => Some(notify::Event::Activated),
        (Effect::Nothing, _, Action::SelfActivate) if r.status == RequestStatus::PendingApproval => {
            Some(notify::Event::ApprovalRequired)
        }
        _ => None,
    }
}

/// May `caller` read everything (not just their own)?
fn reads_everything(s: &AppState, caller: &Caller) -> bool {
    authz::authorize(&s.index(), caller.id(), Operation::ReadScheduleRequests, &[], s.now()).is_ok()
}

async fn list_requests(
    s: AppState,
    caller: Caller,
    q: OData,
    kind: Kind,
    filter: Option<RequestFilter>,
) -> ApiResult<Response> {
    q.check_expand(wire::request_type(kind), &["principal", "roleDefinition", "targetSchedule", "activatedUsing"])?;
    let filter = match filter {
        Some(f) => f,
        None if reads_everything(&s, &caller) => RequestFilter::All,
        None => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                format!(
                    "Listing every schedule request needs a role that reads role assignments. Use \
                     {}/filterByCurrentUser(on='principal') for your own.",
                    requests_set(kind)
                ),
            ))
        }
    };
    let req = q.list_request(&schema::SCHEDULE_REQUEST)?;
    let page = s.store.list_requests(kind, filter, &req).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for r in &page.items {
        items.push(expand_request(&s, &q, r).await?);
    }
    Ok(q.collection(
        &format!("{RM}/{}", requests_set(kind)),
        Page { items, has_more: page.has_more, count: page.count },
        req.offset,
    ))
}

async fn expand_common(s: &AppState, q: &OData, v: &mut Value, principal: ObjectId, role: ObjectId) -> ApiResult<()> {
    if q.expands("principal") {
        v["principal"] = s.store.find_object(principal).await?.as_ref().map(directory_object).unwrap_or(Value::Null);
    }
    if q.expands("roleDefinition") {
        v["roleDefinition"] =
            s.store.get_role_definition(role).await?.as_ref().map(role_definition).unwrap_or(Value::Null);
    }
    Ok(())
}

fn held(schedule: Schedule) -> HeldSchedule {
    HeldSchedule {
        id: schedule.id.to_string(),
        principal_id: schedule.principal_id,
        member_type: schedule::MemberType::Direct,
        schedule,
    }
}

async fn expand_request(s: &AppState, q: &OData, r: &ScheduleRequest) -> ApiResult<Value> {
    let mut v = wire::request(r);
    expand_common(s, q, &mut v, r.principal_id, r.role_definition_id).await?;
    if q.expands("targetSchedule") {
        let target = match r.target_schedule_id {
            Some(id) => s.store.get_schedule(r.kind, id).await?,
            None => None,
        };
        v["targetSchedule"] = target.map(|t| wire::schedule(&held(t))).unwrap_or(Value::Null);
    }
    if q.expands("activatedUsing") {
        let source = match r.target_schedule_id {
            Some(id) if r.kind == Kind::Assignment => match s.store.get_schedule(Kind::Assignment, id).await? {
                Some(a) => match a.activated_using {
                    Some(e) => s.store.get_schedule(Kind::Eligibility, e).await?,
                    None => None,
                },
                None => None,
            },
            _ => None,
        };
        v["activatedUsing"] = source.map(|e| wire::schedule(&held(e))).unwrap_or(Value::Null);
    }
    Ok(v)
}

/// GET `{requests}/{id}` or `{requests}/filterByCurrentUser(on='...')`.
async fn get_request(s: AppState, caller: Caller, q: OData, kind: Kind, key: String) -> ApiResult<Response> {
    if let Some(on) = filter_by_current_user(&key) {
        let filter = match on.as_str() {
            "principal" => RequestFilter::Principal(caller.id()),
            "createdBy" => RequestFilter::CreatedBy(caller.id()),
            "approver" if kind == Kind::Assignment => {
                return requests_awaiting(s, caller, q).await;
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "filterByCurrentUser(on='{other}') is not supported here: use 'principal' or 'createdBy'."
                )))
            }
        };
        return list_requests(s, caller, q, kind, Some(filter)).await;
    }
    q.check_expand(wire::request_type(kind), &["principal", "roleDefinition", "targetSchedule", "activatedUsing"])?;
    let id = object_id(&key)?;
    let r = found(s.store.get_request(kind, id).await?, "request", &key)?;
    if r.principal_id != caller.id() && r.created_by != caller.id() && !reads_everything(&s, &caller) {
        return Err(ApiError::not_found("request", &key));
    }
    Ok(q.entity(&format!("{RM}/{}/$entity", requests_set(kind)), expand_request(&s, &q, &r).await?))
}

/// `roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')`: requests waiting for the caller's decision.
async fn requests_awaiting(s: AppState, caller: Caller, q: OData) -> ApiResult<Response> {
    let (approvals, _) = super::approvals::awaiting(&s, &caller).await?;
    let mut items = Vec::with_capacity(approvals.len());
    for a in &approvals {
        if let Some(r) = s.store.get_request(Kind::Assignment, a.request_id).await? {
            items.push(expand_request(&s, &q, &r).await?);
        }
    }
    Ok(q.collection(
        &format!("{RM}/{}", requests_set(Kind::Assignment)),
        Page { items, has_more: false, count: None },
        0,
    ))
}

/// POST `{requests}/{id}/cancel`.
async fn cancel_request(s: AppState, caller: Caller, kind: Kind, key: String) -> ApiResult<Response> {
    let id = object_id(&key)?;
    let r = found(s.store.get_request(kind, id).await?, "request", &key)?;
    let now = s.now();
    let is_admin = authz::authorize(&s.index(), caller.id(), Operation::ManageRoleAssignments, &[r.scope], now).is_ok();
    if r.principal_id != caller.id() && r.created_by != caller.id() && !is_admin {
        return Err(ApiError::not_found("request", &key));
    }
    if !r.status.is_cancelable() {
        return Err(ApiError::bad_request_code(
            "RequestNotCancelable",
            format!("A request with status '{}' cannot be canceled.", r.status.as_str()),
        ));
    }
    let audit = Audit::new(ROLE_MANAGEMENT, "Cancel request in PIM", "Update")
        .target("Role", r.role_definition_id, None, None)
        .detail("requestId", r.id)
        .detail("previousStatus", r.status.as_str());
    let mut tx = s.store.begin_write().await?;
    if !tx.transition_request(r.id, r.status, RequestStatus::Canceled, Some(now)).await? {
        tx.rollback().await?;
        return Err(ApiError::bad_request_code(
            "RequestNotCancelable",
            "The request changed while it was being canceled.",
        ));
    }
    // A pending approval ends with its request.
    if let Some(approval_id) = r.approval_id.as_deref().and_then(|a| uuid::Uuid::parse_str(a).ok()) {
        if let Some(mut a) = s.store.get_approval(approval_id).await? {
            a.status = openpim_core::approval::ApprovalStatus::Canceled;
            tx.save_pending_approval(&a).await?;
        }
    }
    // A future-dated grant that has not started yet is withdrawn with its request.
    if r.status == RequestStatus::Granted {
        if let Some(target) = r.target_schedule_id {
            if let Some(sched) = s.store.get_schedule(kind, target).await? {
                if sched.start > now && sched.created_using == Some(r.id) {
                    tx.remove_schedule(&sched).await?;
                }
            }
        }
    }
    s.commit(tx, &audit.success(&caller, now)).await?;
    Ok(no_content())
}

async fn list_held(s: AppState, q: OData, kind: Kind, window: Window, holder: Option<ObjectId>) -> ApiResult<Response> {
    let (set, ty) = match window {
        Window::Live => (schedules_set(kind), wire::schedule_type(kind)),
        Window::EffectiveAt(_) => (instances_set(kind), wire::instance_type(kind)),
    };
    let expandable: &[&str] = if kind == Kind::Assignment {
        &["principal", "roleDefinition", "activatedUsing"]
    } else {
        &["principal", "roleDefinition"]
    };
    q.check_expand(ty, expandable)?;
    let schema = match (kind, window) {
        (Kind::Assignment, Window::Live) => &schema::ASSIGNMENT_SCHEDULE,
        (Kind::Assignment, _) => &schema::ASSIGNMENT_INSTANCE,
        (Kind::Eligibility, Window::Live) => &schema::ELIGIBILITY_SCHEDULE,
        (Kind::Eligibility, _) => &schema::ELIGIBILITY_INSTANCE,
    };
    let req = q.list_request(schema)?;
    let page = s.store.list_held(kind, window, s.now(), holder, &req).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for h in &page.items {
        items.push(render_held(&s, &q, h, window).await?);
    }
    Ok(q.collection(&format!("{RM}/{set}"), Page { items, has_more: page.has_more, count: page.count }, req.offset))
}

async fn render_held(s: &AppState, q: &OData, h: &HeldSchedule, window: Window) -> ApiResult<Value> {
    let mut v = match window {
        Window::Live => wire::schedule(h),
        Window::EffectiveAt(_) => wire::instance(h),
    };
    expand_common(s, q, &mut v, h.principal_id, h.schedule.role_definition_id).await?;
    if q.expands("activatedUsing") {
        let source = match h.schedule.activated_using {
            Some(e) => s.store.get_schedule(Kind::Eligibility, e).await?,
            None => None,
        };
        v["activatedUsing"] = source
            .map(|e| match window {
                Window::Live => wire::schedule(&held(e)),
                Window::EffectiveAt(_) => wire::instance(&held(e)),
            })
            .unwrap_or(Value::Null);
    }
    Ok(v)
}

async fn get_held(
    s: AppState,
    caller: Caller,
    q: OData,
    kind: Kind,
    window: Window,
    key: String,
) -> ApiResult<Response> {
    if let Some(on) = filter_by_current_user(&key) {
        if on != "principal" {
            return Err(ApiError::bad_request(format!(
                "filterByCurrentUser(on='{on}') is not supported for schedules and instances: use 'principal'."
            )));
        }
        return list_held(s, q, kind, window, Some(caller.id())).await;
    }
    let set = match window {
        Window::Live => schedules_set(kind),
        Window::EffectiveAt(_) => instances_set(kind),
    };
    let h = found(s.store.get_held(kind, window, s.now(), &key).await?, set, &key)?;
    Ok(q.entity(&format!("{RM}/{set}/$entity"), render_held(&s, &q, &h, window).await?))
}

// Thin per-collection handlers (axum needs a function per route).

pub async fn create_eligibility_request(
    State(s): State<AppState>,
    c: Caller,
    q: OData,
    b: JsonObject,
) -> ApiResult<Response> {
    create_request(s, c, q, b, Kind::Eligibility).await
}
pub async fn create_assignment_request(
    State(s): State<AppState>,
    c: Caller,
    q: OData,
    b: JsonObject,
) -> ApiResult<Response> {
    create_request(s, c, q, b, Kind::Assignment).await
}
pub async fn list_eligibility_requests(State(s): State<AppState>, c: Caller, q: OData) -> ApiResult<Response> {
    list_requests(s, c, q, Kind::Eligibility, None).await
}
pub async fn list_assignment_requests(State(s): State<AppState>, c: Caller, q: OData) -> ApiResult<Response> {
    list_requests(s, c, q, Kind::Assignment, None).await
}
pub async fn get_eligibility_request(
    State(s): State<AppState>,
    c: Caller,
    q: OData,
    Path(k): Path<String>,
) -> ApiResult<Response> {
    get_request(s, c, q, Kind::Eligibility, k).await
}
pub async fn get_assignment_request(
    State(s): State<AppState>,
    c: Caller,
    q: OData,
    Path(k): Path<String>,
) -> ApiResult<Response> {
    get_request(s, c, q, Kind::Assignment, k).await
}
pub async fn cancel_eligibility_request(
    State(s): State<AppState>,
    c: Caller,
    Path(k): Path<String>,
) -> ApiResult<Response> {
    cancel_request(s, c, Kind::Eligibility, k).await
}
pub async fn cancel_assignment_request(
    State(s): State<AppState>,
    c: Caller,
    Path(k): Path<String>,
) -> ApiResult<Response> {
    cancel_request(s, c, Kind::Assignment, k).await
}
pub async fn list_eligibility_schedules(State(s): State<AppState>, _c: Caller, q: OData) -> ApiResult<Response> {
    list_held(s, q, Kind::Eligibility, Window::Live, None).await
}
pub async fn list_assignment_schedules(State(s): State<AppState>, _c: Caller, q: OData) -> ApiResult<Response> {
    list_held(s, q, Kind::Assignment, Window::Live, None).await
}
pub async fn list_eligibility_instances(State(s): State<AppState>, _c: Caller, q: OData) -> ApiResult<Response> {
    let now = s.now();
    list_held(s, q, Kind::Eligibility, Window::EffectiveAt(now), None).await
}
pub async fn list_assignment_instances(State(s): State<AppState>, _c: Caller, q: OData) -> ApiResult<Response> {
    let now = s.now();
    list_held(s, q, Kind::Assignment, Window::EffectiveAt(now), None).await
}
pub async fn get_eligibility_schedule(
    State(s): State<AppState>,
    c: Caller,
    q: OData,
    Path(k): Path<String>,
) -> ApiResult<Response> {
    get_held(s, c, q, Kind::Eligibility, Window::Live, k).await
}
pub async fn get_assignment_schedule(
    State(s): State<AppState>,
    c: Caller,
    q: OData,
    Path(k): Path<String>,
) -> ApiResult<Response> {
    get_held(s, c, q, Kind::Assignment, Window::Live, k).await
}
pub async fn get_eligibility_instance(
    State(s): State<AppState>,
    c: Caller,
    q: OData,
    Path(k): Path<String>,
) -> ApiResult<Response> {
    let now = s.now();
    get_held(s, c, q, Kind::Eligibility, Window::EffectiveAt(now), k).await
}
pub async fn get_assignment_instance(
    State(s): State<AppState>,
    c: Caller,
    q: OData,
    Path(k): Path<String>,
) -> ApiResult<Response> {
    let now = s.now();
    get_held(s, c, q, Kind::Assignment, Window::EffectiveAt(now), k).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_filter_by_current_user() {
        assert_eq!(filter_by_current_user("filterByCurrentUser(on='principal')").as_deref(), Some("principal"));
        assert_eq!(filter_by_current_user("filterByCurrentUser(on='createdBy')").as_deref(), Some("createdBy"));
        assert_eq!(filter_by_current_user("3fbd929d-8c56-4462-851e-0eb9a7b3a2a5"), None);
        assert_eq!(filter_by_current_user("filterByCurrentUser(x='y')"), None);
    }
}
