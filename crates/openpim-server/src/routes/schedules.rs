//! PIM: `roleEligibilityScheduleRequests`, `roleAssignmentScheduleRequests`, their schedules and
//! instances, and `filterByCurrentUser`. The rules are decided in `openpim_core::schedule`.

use super::object_id;
use super::ops::{found, no_content};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::odata::OData;
use crate::pim::reads::RequestsOf;
use crate::pim::requests::RequestAuthority;
use crate::pim::{self, Visibility};
use crate::state::AppState;
use crate::wire::body::{Body, JsonObject};
use crate::wire::directory::directory_object;
use crate::wire::roles::role_definition;
use crate::wire::schedules as wire;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use openpim_core::authz::{self, cap, OwnPrincipal};
use openpim_core::schedule::{self, Kind, Schedule, ScheduleRequest};
use openpim_core::scope::DirectoryScope;
use openpim_core::ObjectId;
use openpim_odata::Expr;
use openpim_store::schedules::{HeldSchedule, Window};
use openpim_store::{schema, Page};
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

/// The navigation properties of a request, as Graph's docs list them.
fn request_navigation(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Eligibility => &["appScope", "directoryScope", "principal", "roleDefinition", "targetSchedule"],
        Kind::Assignment => {
            &["activatedUsing", "appScope", "directoryScope", "principal", "roleDefinition", "targetSchedule"]
        }
    }
}

/// The navigation properties of a schedule or an instance, as Graph's docs list them.
fn held_navigation(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Eligibility => &["appScope", "directoryScope", "principal", "roleDefinition"],
        Kind::Assignment => &["activatedUsing", "appScope", "directoryScope", "principal", "roleDefinition"],
    }
}

/// Parses `filterByCurrentUser(on='principal')` from a path segment (the function name ignoring
/// case, as Graph matches path segments).
fn filter_by_current_user(segment: &str) -> Option<String> {
    const FUNCTION: &str = "filterByCurrentUser(";
    let head = segment.get(..FUNCTION.len()).filter(|h| h.eq_ignore_ascii_case(FUNCTION))?;
    let inner = segment[head.len()..].strip_suffix(')')?;
    let value = inner.trim().strip_prefix("on=")?.trim().trim_matches('\'');
    Some(value.to_string())
}

/// POST a schedule request of `kind`: parse, submit on the caller's authority, render.
async fn create_request(s: AppState, caller: Caller, q: OData, body: JsonObject, kind: Kind) -> ApiResult<Response> {
    let req = wire::read_request(Body::new(body, wire::request_type(kind)), kind)?;
    let authority = RequestAuthority::of(&s, &caller, &req.scope)?;
    let request = pim::requests::submit(&s, &caller, &authority, req).await?;
    Ok(q.created(&format!("{RM}/{}/$entity", requests_set(kind)), wire::request(&request)))
}

/// Everyone's requests for a caller who reads role assignments; their own when the `$filter`
/// keeps only their principal; refused otherwise.
fn all_requests(s: &AppState, caller: &Caller, filter: Option<&Expr>, kind: Kind) -> ApiResult<RequestsOf> {
    if let Some(granted) = s.permits::<cap::ReadRoleAssignments>(caller) {
        return Ok(RequestsOf::Everyone(granted));
    }
    if pim::reads::filter_pins(filter, "principalId", caller.id()) {
        return Ok(RequestsOf::Principal(authz::own_principal(caller.subject())));
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        format!(
            "Listing every schedule request needs a role that reads role assignments. Use \
             {}/filterByCurrentUser(on='principal') for your own.",
            requests_set(kind)
        ),
    ))
}

/// GET `{requests}`: everyone's (`of` is `None`), or the caller's through `filterByCurrentUser`.
async fn list_requests(
    s: AppState,
    caller: Caller,
    q: OData,
    kind: Kind,
    of: Option<RequestsOf>,
) -> ApiResult<Response> {
    q.check_expand(wire::request_type(kind), request_navigation(kind))?;
    // `filterByCurrentUser` is a function: Graph answers its result as a typed collection.
    let context = match of {
        Some(_) => OData::function_context(wire::request_type(kind)),
        None => format!("{RM}/{}", requests_set(kind)),
    };
    let req = q.list_request(&schema::SCHEDULE_REQUEST)?;
    let of = match of {
        Some(of) => of,
        None => all_requests(&s, &caller, req.filter, kind)?,
    };
    let page = pim::reads::requests(&s, kind, &of, &req).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for r in &page.items {
        items.push(expand_request(&s, &q, r).await?);
    }
    Ok(q.collection(&context, Page { items, has_more: page.has_more, count: page.count }, req.offset))
}

async fn expand_common(
    s: &AppState,
    q: &OData,
    v: &mut Value,
    principal: ObjectId,
    role: ObjectId,
    scope: Option<&DirectoryScope>,
) -> ApiResult<()> {
    if q.expands("directoryScope") {
        v["directoryScope"] = match scope {
            Some(scope) => super::role_assignments::directory_scope_object(s, scope).await?,
            None => Value::Null,
        };
    }
    if q.expands("appScope") {
        // OpenPIM has directory scopes only: no app scope is ever set.
        v["appScope"] = Value::Null;
    }
    if q.expands("principal") {
        v["principal"] = s.store.find_object(principal).await?.as_ref().map(directory_object).unwrap_or(Value::Null);
    }
    if q.expands("roleDefinition") {
        v["roleDefinition"] =
            s.store.get_directory_role_definition(role).await?.as_ref().map(role_definition).unwrap_or(Value::Null);
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
    // The approver list (`filterByCurrentUser(on='approver')`) also carries Azure roles' requests,
    // as one approver decides both: their ARM scope and Azure role are no directory objects, so
    // those navigation properties expand to null.
    expand_common(s, q, &mut v, r.principal_id, r.role_definition_id, r.scope.as_directory().as_ref()).await?;
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
        let own = authz::own_principal(caller.subject());
        let of = match on.as_str() {
            "principal" => RequestsOf::Principal(own),
            "createdBy" => RequestsOf::CreatedBy(own),
            "approver" if kind == Kind::Assignment => {
                return requests_awaiting(s, own, q).await;
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "filterByCurrentUser(on='{other}') is not supported here: use 'principal' or 'createdBy'."
                )))
            }
        };
        return list_requests(s, caller, q, kind, Some(of)).await;
    }
    q.check_expand(wire::request_type(kind), request_navigation(kind))?;
    let visibility = Visibility::for_item(&s, &caller);
    let r = found(pim::reads::request(&s, kind, &visibility, object_id(&key)?).await?, "request", &key)?;
    // By id, Graph serves directory requests; an Azure role's is ARM's.
    r.scope.require_directory()?;
    Ok(q.entity(&format!("{RM}/{}/$entity", requests_set(kind)), expand_request(&s, &q, &r).await?))
}

/// `roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')`: requests waiting for the caller's decision.
async fn requests_awaiting(s: AppState, own: OwnPrincipal, q: OData) -> ApiResult<Response> {
    q.check_expand(wire::request_type(Kind::Assignment), request_navigation(Kind::Assignment))?;
    let requests = pim::reads::requests_awaiting(&s, &own).await?;
    let mut items = Vec::with_capacity(requests.len());
    // One approver decides both worlds, so Azure roles' requests waiting for the caller are here
    // too (an ARM scope in directoryScopeId; see expand_request), as Graph's approvals list
    // (`roleAssignmentApprovals/filterByCurrentUser(on='approver')`) has their approvals.
    for r in &requests {
        items.push(expand_request(&s, &q, r).await?);
    }
    Ok(q.collection(
        &OData::function_context(wire::request_type(Kind::Assignment)),
        Page { items, has_more: false, count: None },
        0,
    ))
}

/// POST `{requests}/{id}/cancel`.
async fn cancel_request(s: AppState, caller: Caller, kind: Kind, key: String) -> ApiResult<Response> {
    let own = authz::own_principal(caller.subject());
    pim::requests::cancel(&s, &caller, &own, kind, object_id(&key)?).await?;
    Ok(no_content())
}

/// The OData schema of schedules or instances of `kind`.
fn held_schema(kind: Kind, window: Window) -> &'static openpim_odata::EntitySchema {
    match (kind, window) {
        (Kind::Assignment, Window::Live) => &schema::ASSIGNMENT_SCHEDULE,
        (Kind::Assignment, _) => &schema::ASSIGNMENT_INSTANCE,
        (Kind::Eligibility, Window::Live) => &schema::ELIGIBILITY_SCHEDULE,
        (Kind::Eligibility, _) => &schema::ELIGIBILITY_INSTANCE,
    }
}

/// GET schedules or instances: everyone's (`own` is `None`: the caller must read role
/// assignments, or filter on their own principal), or the caller's through `filterByCurrentUser`.
async fn list_held(
    s: AppState,
    caller: Caller,
    q: OData,
    kind: Kind,
    window: Window,
    own: Option<OwnPrincipal>,
) -> ApiResult<Response> {
    let (set, ty) = match window {
        Window::Live => (schedules_set(kind), wire::schedule_type(kind)),
        Window::EffectiveAt(_) => (instances_set(kind), wire::instance_type(kind)),
    };
    q.check_expand(ty, held_navigation(kind))?;
    let req = q.list_request(held_schema(kind, window))?;
    let through_function = own.is_some();
    let visibility = match own {
        Some(own) => Visibility::Own(own),
        None => Visibility::for_list(&s, &caller, req.filter, set)?,
    };
    let page = pim::reads::held(&s, kind, window, &visibility, &req).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for h in &page.items {
        items.push(render_held(&s, &q, h, window).await?);
    }
    // `filterByCurrentUser` is a function: Graph answers its result as a typed collection.
    let context = if through_function { OData::function_context(ty) } else { format!("{RM}/{set}") };
    Ok(q.collection(&context, Page { items, has_more: page.has_more, count: page.count }, req.offset))
}

async fn render_held(s: &AppState, q: &OData, h: &HeldSchedule, window: Window) -> ApiResult<Value> {
    let mut v = match window {
        Window::Live => wire::schedule(h),
        Window::EffectiveAt(_) => wire::instance(h),
    };
    let scope = h.schedule.scope.require_directory()?;
    expand_common(s, q, &mut v, h.principal_id, h.schedule.role_definition_id, Some(&scope)).await?;
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
        let own = authz::own_principal(caller.subject());
        return list_held(s, caller, q, kind, window, Some(own)).await;
    }
    let set = match window {
        Window::Live => schedules_set(kind),
        Window::EffectiveAt(_) => instances_set(kind),
    };
    q.check_expand(
        match window {
            Window::Live => wire::schedule_type(kind),
            Window::EffectiveAt(_) => wire::instance_type(kind),
        },
        held_navigation(kind),
    )?;
    let visibility = Visibility::for_item(&s, &caller);
    let h = found(pim::reads::held_one(&s, kind, window, &visibility, &key).await?, set, &key)?;
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
pub async fn list_eligibility_schedules(State(s): State<AppState>, c: Caller, q: OData) -> ApiResult<Response> {
    list_held(s, c, q, Kind::Eligibility, Window::Live, None).await
}
pub async fn list_assignment_schedules(State(s): State<AppState>, c: Caller, q: OData) -> ApiResult<Response> {
    list_held(s, c, q, Kind::Assignment, Window::Live, None).await
}
pub async fn list_eligibility_instances(State(s): State<AppState>, c: Caller, q: OData) -> ApiResult<Response> {
    let now = s.now();
    list_held(s, c, q, Kind::Eligibility, Window::EffectiveAt(now), None).await
}
pub async fn list_assignment_instances(State(s): State<AppState>, c: Caller, q: OData) -> ApiResult<Response> {
    let now = s.now();
    list_held(s, c, q, Kind::Assignment, Window::EffectiveAt(now), None).await
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
        assert_eq!(filter_by_current_user("FilterByCurrentUser(on='principal')").as_deref(), Some("principal"));
    }
}
