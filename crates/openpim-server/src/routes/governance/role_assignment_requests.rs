//! `privilegedAccess/{provider}[/resources/{id}]/roleAssignmentRequests`: schedule requests as
//! governanceRoleAssignmentRequests. A POST is one engine request (`pim::requests::submit`, the
//! same rules, approval and audit as v1.0); `cancel` is `pim::requests::cancel`; `updateRequest`
//! is an approver's decision on the request's current approval step (`pim::approvals::decide`).

use super::role_settings::nested_expands;
use super::{
    azure, beta_error, from_arm, page_in_memory, pins_subject, resources, role_definitions, subjects, Location,
    Provider, ALL,
};
use crate::arm::ArmCaller;
use crate::auth::Caller;
use crate::azure::pim::{self as arm_pim, PimFilter};
use crate::error::{ApiError, ApiResult};
use crate::odata::OData;
use crate::pim::approvals::Review;
use crate::pim::reads::RequestsOf;
use crate::pim::requests::RequestAuthority;
use crate::pim::{self, Visibility};
use crate::routes::ops::no_content;
use crate::state::AppState;
use crate::wire::body::{Body, JsonObject};
use crate::wire::governance as wire;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use openpim_core::approval::ReviewResult;
use openpim_core::authz::{self, cap};
use openpim_core::governance::request::to_action;
use openpim_core::schedule::{Action, Kind, NewRequest, RequestStatus, ScheduleRequest, Ticket};
use openpim_core::scope::Scope;
use openpim_core::ObjectId;
use openpim_odata::{EntitySchema, PropType, Property};
use serde_json::Value;

pub const CONTEXT: &str = "governanceRoleAssignmentRequests";
const NAVIGATION: &[&str] = &["resource", "roleDefinition", "subject"];

const fn p(name: &'static str, ty: PropType) -> Property {
    Property::new(name, name, ty)
}

pub static SCHEMA: EntitySchema = EntitySchema {
    type_name: wire::REQUEST_TYPE,
    key_column: "id",
    properties: &[
        p("id", PropType::Guid),
        p("resourceId", PropType::Guid),
        p("roleDefinitionId", PropType::Guid),
        p("subjectId", PropType::Guid),
        p("linkedEligibleRoleAssignmentId", PropType::Guid),
        p("type", PropType::String).case_insensitive(),
        p("assignmentState", PropType::String).case_insensitive(),
        p("requestedDateTime", PropType::DateTime),
        p("reason", PropType::String).case_insensitive(),
        p("status/status", PropType::String).case_insensitive(),
        p("status/subStatus", PropType::String).case_insensitive(),
        p("subject/id", PropType::Guid),
        p("roleDefinition/id", PropType::Guid),
        p("resource/id", PropType::Guid),
    ],
};

fn request_not_found(id: &str) -> ApiError {
    ApiError::bad_request_code(
        "RoleAssignmentRequestNotFound",
        format!("The role assignment request '{id}' was not found."),
    )
}

/// The tenant: aadRoles requests are at the directory's root scope.
fn tenant_scope() -> Scope {
    Scope::parse("/").expect("'/' is the directory root")
}

/// The eligibility an activation (or its extension) was made from.
async fn linked_eligible(s: &AppState, r: &ScheduleRequest) -> ApiResult<Option<ObjectId>> {
    if r.kind != Kind::Assignment || !r.action.is_self() {
        return Ok(None);
    }
    let Some(target) = r.target_schedule_id else { return Ok(None) };
    Ok(s.store.get_schedule(Kind::Assignment, target).await?.and_then(|a| a.activated_using))
}

async fn render(s: &AppState, q: &OData, loc: &Location, r: &ScheduleRequest) -> ApiResult<Value> {
    let resource_id = azure::governance_id(loc, &r.scope);
    let mut v = wire::json(&wire::request(resource_id, r, linked_eligible(s, r).await?));
    if q.expands("subject") {
        v["subject"] = subjects::render(s, r.principal_id).await?;
    }
    if q.expands("roleDefinition") {
        v["roleDefinition"] = match role_definitions::of_row(s, resource_id, &r.scope, r.role_definition_id).await? {
            Some(mut d) => {
                if nested_expands(q, "roleDefinition", "resource") {
                    d["resource"] = resources::of_row(s, loc, &r.scope).await?;
                }
                d
            }
            None => Value::Null,
        };
    }
    if q.expands("resource") {
        v["resource"] = resources::of_row(s, loc, &r.scope).await?;
    }
    Ok(v)
}

/// Everyone's requests for a caller who reads role assignments; their own (as principal) when
/// the `$filter` keeps only their subject; refused otherwise.
fn requests_of(s: &AppState, caller: &Caller, q: &OData) -> ApiResult<RequestsOf> {
    if let Some(granted) = s.permits::<cap::ReadRoleAssignments>(caller) {
        return Ok(RequestsOf::Everyone(granted));
    }
    if pins_subject(q.options.filter.as_ref(), caller.id()) {
        return Ok(RequestsOf::Principal(authz::own_principal(caller.subject())));
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Listing everyone's role assignment requests needs a role that reads role assignments. Filter on \
         your own subjectId for yours.",
    ))
}

/// azureResources: the requests at, above and below the location's scope, with ARM's rights
/// (`roleAssignments/read` there for everyone's; a `$filter` on one's own subjectId for one's
/// own).
async fn azure_requests(s: &AppState, caller: &Caller, q: &OData, loc: &Location) -> ApiResult<Vec<ScheduleRequest>> {
    let mut filter = PimFilter::default();
    if pins_subject(q.options.filter.as_ref(), caller.id()) {
        filter.principal_id = Some(caller.id());
    }
    let arm_caller = ArmCaller(caller.clone());
    let ls = arm_pim::list_scope(s, &arm_caller, Some(&loc.azure_scope()), filter).map_err(from_arm)?;
    let mut all = Vec::new();
    for kind in [Kind::Eligibility, Kind::Assignment] {
        all.extend(arm_pim::requests_list(s, &arm_caller, kind, &ls).await.map_err(from_arm)?);
    }
    Ok(all)
}

pub async fn list(State(s): State<AppState>, caller: Caller, q: OData, loc: Location) -> ApiResult<Response> {
    q.check_expand(wire::REQUEST_TYPE, NAVIGATION)?;
    let mut all = Vec::new();
    match loc.provider {
        Provider::AadRoles => {
            let of = requests_of(&s, &caller, &q)?;
            for kind in [Kind::Eligibility, Kind::Assignment] {
                let page = pim::reads::requests(&s, kind, &of, &ALL).await?;
                all.extend(page.items.into_iter().filter(|r| of_provider(&loc, &r.scope)));
            }
        }
        Provider::AzureResources => {
            loc.visible_azure(&s, caller.id()).await?;
            all = azure_requests(&s, &caller, &q, &loc).await?;
        }
    }
    // Newest first, as the portal lists them.
    all.sort_by_key(|r| std::cmp::Reverse(r.created));
    let mut items = Vec::with_capacity(all.len());
    for r in &all {
        items.push(render(&s, &q, &loc, r).await?);
    }
    let (page, offset) = page_in_memory(&q, items, &SCHEMA)?;
    Ok(q.collection(CONTEXT, page, offset))
}

/// A request of the location's provider by id, of either kind, if the caller may see it
/// (azureResources: ARM's rule, its principal, requestor or a reader of role assignments at
/// its scope).
async fn find(s: &AppState, caller: &Caller, loc: &Location, raw: &str) -> ApiResult<ScheduleRequest> {
    let id = ObjectId::parse_str(raw).map_err(|_| request_not_found(raw))?;
    let vis = Visibility::for_item(s, caller);
    let arm_caller = ArmCaller(caller.clone());
    for kind in [Kind::Eligibility, Kind::Assignment] {
        match loc.provider {
            Provider::AadRoles => {
                if let Some(r) = pim::reads::request(s, kind, &vis, id).await? {
                    if of_provider(loc, &r.scope) {
                        return Ok(r);
                    }
                }
            }
            Provider::AzureResources => {
                let Some(stored) = s.store.get_request(kind, id).await? else { continue };
                let Some(at) = stored.scope.as_arm() else { continue };
                if let Some(r) = arm_pim::request(s, &arm_caller, kind, at, id).await.map_err(from_arm)? {
                    return Ok(r);
                }
            }
        }
    }
    Err(request_not_found(raw))
}

pub async fn get(State(s): State<AppState>, caller: Caller, q: OData, loc: Location) -> ApiResult<Response> {
    q.check_expand(wire::REQUEST_TYPE, NAVIGATION)?;
    loc.visible_azure(&s, caller.id()).await?;
    let r = find(&s, &caller, &loc, loc.id()).await?;
    let v = render(&s, &q, &loc, &r).await?;
    Ok(q.entity(&format!("{CONTEXT}/$entity"), v))
}

/// POST: one engine request on the caller's authority at the tenant (an administrator's when
/// they may manage role assignments there, their own otherwise: core refuses an admin type, or
/// a user type for someone else, on that authority). 201 with the request.
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    q: OData,
    loc: Location,
    body: JsonObject,
) -> ApiResult<Response> {
    let req = wire::read_new_request(Body::new(body, wire::REQUEST_TYPE))?;
    let (action, kind) = to_action(req.ty, req.state)?;
    let at = request_location(&s, &loc, req.resource_id).await?;
    let role = role_definitions::find(&s, &at, &req.role_definition_id.to_string()).await?;
    if s.store.find_object(req.subject_id).await?.is_none() {
        return Err(subjects::subject_not_found(&req.subject_id.to_string()));
    }
    if let Some(linked) = req.linked_eligible {
        // The engine activates from the best eligibility itself; a named one must at least exist.
        let eligibility = s.store.get_schedule(Kind::Eligibility, linked).await?;
        if eligibility.is_none_or(|e| e.role_definition_id != role.id) {
            return Err(ApiError::bad_request_code(
                "RoleAssignmentDoesNotExist",
                format!("The eligible role assignment '{linked}' does not exist for this role."),
            ));
        }
    }
    let new = NewRequest {
        kind,
        action,
        principal_id: req.subject_id,
        role_definition_id: role.id,
        scope: match &at.azure {
            Some(r) => Scope::Arm(r.scope.clone()),
            None => tenant_scope(),
        },
        justification: req.reason,
        schedule: req.schedule,
        ticket: Ticket::default(),
        is_validation_only: false,
        custom_data: None,
    };
    let r = match &at.azure {
        None => {
            let authority = RequestAuthority::of(&s, &caller, &new.scope)?;
            pim::requests::submit(&s, &caller, &authority, new).await.map_err(beta_error)?
        }
        // ARM's submit: the same engine, with Azure's rights (the admin types need
        // `roleAssignments/write` at the scope) and audit.
        Some(res) => arm_pim::submit(&s, &ArmCaller(caller.clone()), &res.scope, ObjectId::new_v4(), new)
            .await
            .map_err(|e| beta_error(from_arm(e)))?,
    };
    let v = render(&s, &q, &at, &r).await?;
    Ok(q.created(&format!("{CONTEXT}/$entity"), v))
}

/// The location a new request is made at: the body's `resourceId`, which must be the path's
/// resource under `resources/{id}`, and the tenant for aadRoles; for azureResources an Azure
/// scope OpenPIM holds. `ResourceNotFound` (400) otherwise.
async fn request_location(s: &AppState, loc: &Location, resource: ObjectId) -> ApiResult<Location> {
    let not_found = |hint: &str| {
        ApiError::bad_request_code("ResourceNotFound", format!("The resource '{resource}' was not found; {hint}."))
    };
    match loc.provider {
        Provider::AadRoles if resource == loc.resource => {
            Ok(Location { provider: loc.provider, resource, azure: None, id: None })
        }
        Provider::AadRoles => Err(not_found(&format!("aadRoles requests name the tenant '{}'", loc.resource))),
        Provider::AzureResources => {
            if loc.azure.is_some() && resource != loc.resource {
                return Err(not_found("the request names a resource other than the path's"));
            }
            // No visibility check here: an eligible user holds no role before activating, and
            // ARM's submit checks the rights for each request type at the scope.
            match azure::find(s, &resource.to_string()).await? {
                Some(r) => Ok(Location { provider: loc.provider, resource, azure: Some(r), id: None }),
                None => Err(not_found("azureResources requests name an Azure scope OpenPIM holds")),
            }
        }
    }
}

/// `cancel`: 204; `RoleAssignmentRequestNotFound` for a request the caller cannot see,
/// `RequestCannotBeCancelled` for one no longer waiting.
pub async fn cancel(State(s): State<AppState>, caller: Caller, loc: Location) -> ApiResult<Response> {
    let r = find(&s, &caller, &loc, loc.id()).await?;
    if loc.provider == Provider::AzureResources {
        arm_pim::cancel(&s, &ArmCaller(caller.clone()), &r).await.map_err(|e| beta_error(from_arm(e)))?;
        return Ok(no_content());
    }
    let own = authz::own_principal(caller.subject());
    pim::requests::cancel(&s, &caller, &own, r.kind, r.id).await.map_err(|e| {
        if e.status == StatusCode::NOT_FOUND {
            request_not_found(loc.id())
        } else {
            beta_error(e)
        }
    })?;
    Ok(no_content())
}

/// Is a row at `scope` one of the location provider's: the tenant's (`/`) for aadRoles, at an
/// ARM scope for azureResources?
fn of_provider(loc: &Location, scope: &Scope) -> bool {
    match loc.provider {
        Provider::AadRoles => scope.to_string() == "/",
        Provider::AzureResources => scope.as_arm().is_some(),
    }
}

/// `updateRequest`: an approver approves (`AdminApproved`) or denies (`AdminDenied`) a request
/// waiting for a decision; the decision is recorded on the approval's current step, with the
/// engine's rules (listed approvers, directly or through a group; no self-approval). 204.
pub async fn update_request(
    State(s): State<AppState>,
    caller: Caller,
    loc: Location,
    body: JsonObject,
) -> ApiResult<Response> {
    let decision = wire::read_update_request(Body::new(body, "microsoft.graph.updateRequestPostRequestBody"))?;
    let not_waiting = |r: &ScheduleRequest| {
        ApiError::bad_request_code(
            "RequestCannotBeUpdated",
            format!("The request '{}' is not waiting for an admin decision (subStatus PendingAdminDecision).", r.id),
        )
    };
    let pending_approval = |r: &ScheduleRequest| {
        let pending = r.status == RequestStatus::PendingApproval && r.action == Action::SelfActivate;
        r.approval_id.as_deref().and_then(|a| ObjectId::parse_str(a).ok()).filter(|_| pending)
    };
    let approval_id = match find(&s, &caller, &loc, loc.id()).await {
        Ok(r) => pending_approval(&r).ok_or_else(|| not_waiting(&r))?,
        // An approver who does not read everyone's requests still decides the ones waiting for
        // them: a pending activation is looked up, and the decision itself answers "not found"
        // to anyone the approval does not concern. Anything else stays not found.
        Err(e) => {
            let id = ObjectId::parse_str(loc.id()).map_err(|_| e.clone())?;
            let r = s.store.get_request(Kind::Assignment, id).await?.filter(|r| of_provider(&loc, &r.scope));
            r.as_ref().and_then(pending_approval).ok_or(e)?
        }
    };
    let approval = s.store.get_approval(approval_id).await?.ok_or_else(|| request_not_found(loc.id()))?;
    let step = approval.current_step().ok_or_else(|| {
        ApiError::bad_request_code(
            "RequestCannotBeUpdated",
            "The request's approval has no step waiting for a decision.",
        )
    })?;
    let review = Review {
        approval_id,
        step_id: step.id,
        result: if decision.decision.approves() { ReviewResult::Approve } else { ReviewResult::Deny },
        justification: Some(decision.reason),
    };
    // azureResources decides as ARM's approval steps do: on the caller's own authority (the
    // approval's listed approvers), not through the directory's reading rights.
    let vis = match loc.provider {
        Provider::AadRoles => Visibility::for_item(&s, &caller),
        Provider::AzureResources => Visibility::Own(authz::own_principal(caller.subject())),
    };
    pim::approvals::decide(&s, &caller, &vis, review).await.map_err(|e| {
        if e.status == StatusCode::NOT_FOUND {
            request_not_found(loc.id())
        } else {
            beta_error(e)
        }
    })?;
    Ok(no_content())
}
