//! The read-only PIM collections at any ARM scope (api-version 2020-10-01):
//! `roleEligibilitySchedules`, `roleEligibilityScheduleInstances`, `roleAssignmentSchedules` and
//! `roleAssignmentScheduleInstances`, GET by name and list with `$filter`. Schedules are the
//! live ones (current and future), instances what is in effect now. Every Azure role assignment
//! of the RBAC core is a permanent `Assigned` assignment schedule, so it shows here as in Azure.

use super::{json, ArmError, ArmRequest, ArmResult};
use crate::azure::pim::{self as service, PimFilter, Window};
use crate::state::AppState;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use openpim_core::azure_assignment::ArmPrincipalType;
use openpim_core::directory::ObjectKind;
use openpim_core::schedule::{Kind, Schedule};
use openpim_core::scope::ArmScope;
use openpim_core::ObjectId;
use openpim_proto::arm::pim as proto;

pub use super::schedule_requests::API_VERSIONS;

/// The four collections this area serves: (path type, kind, window).
const COLLECTIONS: [(&str, Kind, Window); 4] = [
    ("roleEligibilitySchedules", Kind::Eligibility, Window::Schedules),
    ("roleEligibilityScheduleInstances", Kind::Eligibility, Window::Instances),
    ("roleAssignmentSchedules", Kind::Assignment, Window::Schedules),
    ("roleAssignmentScheduleInstances", Kind::Assignment, Window::Instances),
];

pub async fn handle(s: AppState, req: ArmRequest) -> ArmResult<Response> {
    let invalid_type = || {
        ArmError::invalid_resource_type(&req.path.types.join("/"), &req.path.namespace, Some(req.api_version.as_str()))
    };
    let (_, kind, window) = *COLLECTIONS
        .iter()
        .find(|(t, _, _)| req.path.resource_type().eq_ignore_ascii_case(t))
        .ok_or_else(invalid_type)?;
    if req.path.types.len() != 1 {
        return Err(invalid_type());
    }
    if req.method != Method::GET {
        return Err(ArmError::method_not_allowed(&req.method));
    }
    let scope = req.path.parent.scope().cloned();
    match req.path.name() {
        None => {
            let filter = PimFilter::parse(req.query.filter())?;
            let ls = service::list_scope(&s, &req.caller, scope.as_ref(), filter)?;
            let rows = service::schedules(&s, kind, window, &ls).await?;
            let mut rendered = Vec::with_capacity(rows.len());
            for placed in &rows {
                rendered.push(render(&s, &placed.schedule, window, placed.member_type).await?);
            }
            Ok(json(StatusCode::OK, &req.paging()?.page(rendered, &req, &s)))
        }
        Some(name) => {
            let not_found = || {
                ArmError::new(
                    StatusCode::NOT_FOUND,
                    "RoleAssignmentScheduleNotFound",
                    format!("The {} '{name}' is not found.", req.path.resource_type()),
                )
            };
            let id = uuid::Uuid::try_parse(name).map_err(|_| not_found())?;
            let scope = scope.ok_or_else(not_found)?;
            let found = service::schedule(&s, &req.caller, kind, window, &scope, id).await?.ok_or_else(not_found)?;
            Ok(json(StatusCode::OK, &render(&s, &found, window, "Direct").await?))
        }
    }
}

/// The role definition id as ARM writes it at `scope`.
fn role_id(scope: &ArmScope, role: ObjectId) -> String {
    super::role_assignments::role_definition_id(scope, role)
}

/// ARM's `expandedProperties`: the scope, the role and the principal with their names.
pub async fn expanded(
    s: &AppState,
    scope: &ArmScope,
    role: ObjectId,
    principal: ObjectId,
) -> ArmResult<proto::ExpandedProperties> {
    let (role_name, role_type) = {
        let index = s.index();
        match index.role(&role) {
            Some(r) => (
                Some(r.display_name.clone()),
                Some(if r.is_built_in { "BuiltInRole" } else { "CustomRole" }.to_string()),
            ),
            None => (None, None),
        }
    };
    let (principal_type, display_name, email) = if let Some(u) = s.store.get_user(principal).await? {
        (ArmPrincipalType::User, Some(u.display_name), u.mail.or(Some(u.user_principal_name)))
    } else if let Some(g) = s.store.get_group(principal).await? {
        (ArmPrincipalType::Group, Some(g.display_name), None)
    } else if let Some(sp) = s.store.get_service_principal(principal).await? {
        (ArmPrincipalType::ServicePrincipal, sp.app_display_name, None)
    } else {
        (ArmPrincipalType::User, None, None)
    };
    let label = crate::azure::scope_labels::label(s, scope).await?;
    Ok(proto::ExpandedProperties {
        scope: proto::ExpandedScope {
            id: scope.to_string(),
            display_name: Some(label.display_name),
            scope_type: label.scope_type,
        },
        role_definition: proto::ExpandedRoleDefinition { id: role_id(scope, role), display_name: role_name, role_type },
        principal: proto::ExpandedPrincipal {
            id: principal.to_string(),
            display_name,
            email,
            principal_type: principal_type.to_string(),
        },
    })
}

fn collection(kind: Kind, window: Window) -> (&'static str, &'static str) {
    match (kind, window) {
        (Kind::Eligibility, Window::Schedules) => ("RoleEligibilitySchedules", proto::ELIGIBILITY_SCHEDULE_TYPE),
        (Kind::Eligibility, Window::Instances) => {
            ("RoleEligibilityScheduleInstances", proto::ELIGIBILITY_INSTANCE_TYPE)
        }
        (Kind::Assignment, Window::Schedules) => ("RoleAssignmentSchedules", proto::ASSIGNMENT_SCHEDULE_TYPE),
        (Kind::Assignment, Window::Instances) => ("RoleAssignmentScheduleInstances", proto::ASSIGNMENT_INSTANCE_TYPE),
    }
}

pub async fn render(s: &AppState, sched: &Schedule, window: Window, member_type: &str) -> ArmResult<proto::Schedule> {
    let now = s.now();
    let scope = sched.scope.as_arm().cloned().ok_or_else(ArmError::internal)?;
    let at = scope.to_string();
    let mut expanded = expanded(s, &scope, sched.role_definition_id, sched.principal_id).await?;
    expanded.principal.principal_type = ArmPrincipalType::of(sched.principal_kind).to_string();
    if sched.principal_kind == ObjectKind::Group && expanded.principal.display_name.is_none() {
        expanded.principal.email = None;
    }
    let (segment, resource_type) = collection(sched.kind, window);
    let request_id = sched.created_using.map(|r| super::schedule_requests::request_id(sched.kind, &scope, r));
    let (schedule_segment, _) = collection(sched.kind, Window::Schedules);
    let is_assignment = sched.kind == Kind::Assignment;
    let is_schedule = window == Window::Schedules;
    let linked = sched.activated_using.map(|e| e.to_string());
    Ok(proto::Schedule {
        id: scope.resource_id(segment, sched.id),
        name: sched.id.to_string(),
        resource_type: resource_type.to_string(),
        properties: proto::ScheduleProperties {
            scope: at.clone(),
            role_definition_id: expanded.role_definition.id.clone(),
            principal_id: sched.principal_id.to_string(),
            principal_type: expanded.principal.principal_type.clone(),
            status: sched.status_at(now).as_str().to_string(),
            start_date_time: crate::wire::datetime(sched.start),
            end_date_time: sched.end.map(crate::wire::datetime),
            member_type: member_type.to_string(),
            assignment_type: is_assignment.then(|| {
                sched.assignment_type.unwrap_or(openpim_core::schedule::AssignmentType::Assigned).as_str().to_string()
            }),
            role_eligibility_schedule_request_id: (!is_assignment && is_schedule).then(|| request_id.clone()),
            role_assignment_schedule_request_id: (is_assignment && is_schedule).then(|| request_id.clone()),
            role_eligibility_schedule_id: (!is_assignment && !is_schedule)
                .then(|| scope.resource_id(schedule_segment, sched.id)),
            role_assignment_schedule_id: (is_assignment && !is_schedule)
                .then(|| scope.resource_id(schedule_segment, sched.id)),
            origin_role_assignment_id: (is_assignment && !is_schedule)
                .then(|| scope.resource_id(super::role_assignments::COLLECTION, sched.id)),
            linked_role_eligibility_schedule_id: is_assignment.then(|| linked.clone()),
            linked_role_eligibility_schedule_instance_id: (is_assignment && !is_schedule).then(|| linked.clone()),
            condition: None,
            condition_version: None,
            created_on: crate::wire::datetime(sched.created),
            updated_on: is_schedule.then(|| crate::wire::datetime(sched.modified)),
            expanded_properties: expanded,
        },
    })
}
