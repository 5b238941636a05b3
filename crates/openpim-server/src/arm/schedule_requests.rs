//! `{scope}/providers/Microsoft.Authorization/roleEligibilityScheduleRequests` and
//! `.../roleAssignmentScheduleRequests` (api-version 2020-10-01; 2020-10-01-preview and
//! 2022-04-01-preview carry the same model): PUT with a client-chosen GUID name (201), GET,
//! list with `$filter`, `POST .../{name}/cancel` (200, no body) and `POST .../{name}/validate`
//! (200 with the request as it would be; nothing is written). The engine is the directory's
//! (`azure::pim` → `pim::requests`).

use super::{json, ArmError, ArmRequest, ArmResult};
use crate::azure::pim::{self as service, PimFilter};
use crate::state::AppState;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use openpim_core::duration;
use openpim_core::schedule::{
    Action, Expiration, ExpirationType, Kind, NewRequest, RequestSchedule, ScheduleRequest, Ticket,
};
use openpim_core::scope::{ArmScope, Scope};
use openpim_core::ObjectId;
use openpim_proto::arm::pim as proto;
use time::format_description::well_known::Rfc3339;

/// The versions of the PIM request, schedule and instance areas.
pub const API_VERSIONS: &[&str] = &["2020-10-01", "2020-10-01-preview", "2022-04-01-preview"];

pub const ELIGIBILITY_REQUESTS: &str = "roleEligibilityScheduleRequests";
pub const ASSIGNMENT_REQUESTS: &str = "roleAssignmentScheduleRequests";

pub async fn handle(s: AppState, req: ArmRequest) -> ArmResult<Response> {
    let kind = if req.path.resource_type().eq_ignore_ascii_case(ELIGIBILITY_REQUESTS) {
        Kind::Eligibility
    } else {
        Kind::Assignment
    };
    let invalid_type = || {
        ArmError::invalid_resource_type(&req.path.types.join("/"), &req.path.namespace, Some(req.api_version.as_str()))
    };
    let scope = req.path.parent.scope().cloned();
    match (req.path.types.len(), req.path.name()) {
        (1, None) => match req.method {
            Method::GET => list(&s, &req, kind, scope.as_ref()).await,
            ref m => Err(ArmError::method_not_allowed(m)),
        },
        (1, Some(name)) => {
            let name = request_name(name)?;
            let scope = scope.ok_or_else(at_tenant)?;
            match req.method {
                Method::GET => get(&s, &req, kind, &scope, name).await,
                Method::PUT => put(&s, &req, kind, scope, name, false).await,
                ref m => Err(ArmError::method_not_allowed(m)),
            }
        }
        (2, Some(name)) if req.method == Method::POST => {
            let name = request_name(name)?;
            let scope = scope.ok_or_else(at_tenant)?;
            let operation = req.path.types[1].to_ascii_lowercase();
            match operation.as_str() {
                "cancel" => cancel(&s, &req, kind, &scope, name).await,
                "validate" => put(&s, &req, kind, scope, name, true).await,
                _ => Err(invalid_type()),
            }
        }
        (2, Some(_)) => Err(ArmError::method_not_allowed(&req.method)),
        _ => Err(invalid_type()),
    }
}

fn at_tenant() -> ArmError {
    ArmError::new(
        StatusCode::BAD_REQUEST,
        "InvalidScope",
        "Schedule requests are made at a management group, subscription, resource group or resource.",
    )
}

/// Request names are GUIDs.
fn request_name(raw: &str) -> ArmResult<ObjectId> {
    (raw.len() == 36).then(|| uuid::Uuid::try_parse(raw).ok()).flatten().ok_or_else(|| {
        ArmError::new(
            StatusCode::BAD_REQUEST,
            "InvalidRoleAssignmentScheduleRequestName",
            format!("The request name '{raw}' is not valid: it must be a GUID."),
        )
    })
}

fn not_found(kind: Kind, name: ObjectId) -> ArmError {
    let what = match kind {
        Kind::Eligibility => "RoleEligibilityScheduleRequest",
        Kind::Assignment => "RoleAssignmentScheduleRequest",
    };
    ArmError::new(StatusCode::NOT_FOUND, format!("{what}NotFound"), format!("The {what} '{name}' is not found."))
}

async fn get(s: &AppState, req: &ArmRequest, kind: Kind, scope: &ArmScope, name: ObjectId) -> ArmResult<Response> {
    let found = service::request(s, &req.caller, kind, scope, name).await?.ok_or_else(|| not_found(kind, name))?;
    Ok(json(StatusCode::OK, &render(s, &found).await?))
}

async fn put(
    s: &AppState,
    req: &ArmRequest,
    kind: Kind,
    scope: ArmScope,
    name: ObjectId,
    validate: bool,
) -> ArmResult<Response> {
    let new = read_body(req, kind, scope.clone(), validate)?;
    let created = service::submit(s, &req.caller, &scope, name, new).await?;
    let status = if validate { StatusCode::OK } else { StatusCode::CREATED };
    Ok(json(status, &render(s, &created).await?))
}

async fn cancel(s: &AppState, req: &ArmRequest, kind: Kind, scope: &ArmScope, name: ObjectId) -> ArmResult<Response> {
    let found = service::request(s, &req.caller, kind, scope, name).await?.ok_or_else(|| not_found(kind, name))?;
    service::cancel(s, &req.caller, &found).await?;
    // ARM answers 200 with no body (azure-mgmt-authorization accepts only 200).
    Ok(super::empty(StatusCode::OK))
}

async fn list(s: &AppState, req: &ArmRequest, kind: Kind, scope: Option<&ArmScope>) -> ArmResult<Response> {
    let filter = PimFilter::parse(req.query.filter())?;
    let ls = service::list_scope(s, &req.caller, scope, filter)?;
    let rows = service::requests_list(s, &req.caller, kind, &ls).await?;
    let mut rendered = Vec::with_capacity(rows.len());
    for r in &rows {
        rendered.push(render(s, r).await?);
    }
    Ok(json(StatusCode::OK, &req.paging()?.page(rendered, req, s)))
}

fn time_of(b: &super::ArmBody, key: &str, raw: &str) -> ArmResult<time::OffsetDateTime> {
    time::OffsetDateTime::parse(raw, &Rfc3339)
        .map_err(|_| b.invalid(key, format_args!("'{raw}' is not an RFC 3339 date-time.")))
}

/// The PUT (and validate) body: `{"properties": {roleDefinitionId, principalId, requestType,
/// scheduleInfo?, justification?, ticketInfo?, linkedRoleEligibilityScheduleId?,
/// targetRole*ScheduleId?, condition?, conditionVersion?}}`, names in any case.
fn read_body(req: &ArmRequest, kind: Kind, scope: ArmScope, validate: bool) -> ArmResult<NewRequest> {
    let model = match kind {
        Kind::Eligibility => "RoleEligibilityScheduleRequest",
        Kind::Assignment => "RoleAssignmentScheduleRequest",
    };
    let mut body = req.json_body(model)?;
    let mut props = body.object("properties", "Properties")?.ok_or_else(|| body.missing("properties"))?;
    for read_only in ["id", "name", "type"] {
        body.ignore(read_only);
    }
    body.finish()?;
    let role_raw = props.required_string("roleDefinitionId")?;
    let role_definition_id = service::role_guid(&role_raw).ok_or_else(|| {
        ArmError::new(
            StatusCode::BAD_REQUEST,
            "InvalidRoleDefinitionId",
            format!("The role definition ID '{role_raw}' is not valid."),
        )
    })?;
    let principal_id = props.guid("principalId")?.ok_or_else(|| props.missing("principalId"))?;
    let type_raw = props.required_string("requestType")?;
    let action = type_raw.parse::<Action>().ok().filter(|a| a.allowed_for(kind)).ok_or_else(|| {
        props.invalid(
            "requestType",
            format_args!(
                "'{type_raw}' is not a request type of {model}s ({}).",
                match kind {
                    Kind::Eligibility => "AdminAssign, AdminRemove, AdminUpdate, AdminExtend, AdminRenew, SelfExtend, SelfRenew",
                    Kind::Assignment => "AdminAssign, AdminRemove, AdminUpdate, AdminExtend, AdminRenew, SelfActivate, SelfDeactivate, SelfExtend, SelfRenew",
                }
            ),
        )
    })?;
    let schedule = match props.object("scheduleInfo", "ScheduleInfo")? {
        None => None,
        Some(mut info) => {
            let start = info.string("startDateTime")?.map(|t| time_of(&info, "startDateTime", &t)).transpose()?;
            let expiration = match info.object("expiration", "Expiration")? {
                None => Expiration { kind: ExpirationType::NotSpecified, end: None, duration: None },
                Some(mut e) => {
                    let kind = match e.string("type")? {
                        None => ExpirationType::NotSpecified,
                        Some(t) => {
                            t.parse::<ExpirationType>().ok().filter(|k| *k != ExpirationType::NotSpecified).ok_or_else(
                                || {
                                    e.invalid(
                                        "type",
                                        format_args!("'{t}' is not AfterDuration, AfterDateTime or NoExpiration."),
                                    )
                                },
                            )?
                        }
                    };
                    let end = e.string("endDateTime")?.map(|t| time_of(&e, "endDateTime", &t)).transpose()?;
                    let duration = match e.string("duration")? {
                        None => None,
                        Some(d) => Some(duration::parse(&d).ok_or_else(|| {
                            e.invalid("duration", format_args!("'{d}' is not an ISO 8601 duration (PT8H, P365D)."))
                        })?),
                    };
                    e.finish()?;
                    Expiration { kind, end, duration }
                }
            };
            info.finish()?;
            Some(RequestSchedule { start, expiration })
        }
    };
    let justification = props.string("justification")?;
    let ticket = match props.object("ticketInfo", "TicketInfo")? {
        None => Ticket::default(),
        Some(mut t) => {
            let ticket = Ticket { number: t.string("ticketNumber")?, system: t.string("ticketSystem")? };
            t.finish()?;
            ticket
        }
    };
    // Accepted as sent; the engine picks the eligibility (the docs: "if not passed the system
    // will pick a RoleEligibilitySchedule"), and the one it picked is what schedules show.
    if kind == Kind::Assignment {
        props.ignore("linkedRoleEligibilityScheduleId");
    }
    for target in [
        "targetRoleEligibilityScheduleId",
        "targetRoleEligibilityScheduleInstanceId",
        "targetRoleAssignmentScheduleId",
        "targetRoleAssignmentScheduleInstanceId",
    ] {
        // The engine finds the schedule by principal, role and scope (one live per triple).
        props.ignore(target);
    }
    let condition = props.string("condition")?;
    props.ignore("conditionVersion");
    if condition.is_some() {
        return Err(props.invalid("condition", "ABAC conditions on PIM requests are not supported by OpenPIM."));
    }
    // Read-only properties a client may send back as it read them.
    for read_only in
        ["scope", "principalType", "status", "approvalId", "createdOn", "requestorId", "expandedProperties"]
    {
        props.ignore(read_only);
    }
    props.finish()?;
    Ok(NewRequest {
        kind,
        action,
        principal_id,
        role_definition_id,
        scope: Scope::Arm(scope),
        justification,
        schedule,
        ticket,
        is_validation_only: validate,
        custom_data: None,
    })
}

/// `adminAssign` → `AdminAssign`: ARM spells its enums in PascalCase.
pub fn pascal(camel: &str) -> String {
    let mut chars = camel.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// ARM's collection segment of a kind's requests (PascalCase, as the spec's ids are).
fn id_segment(kind: Kind) -> &'static str {
    match kind {
        Kind::Eligibility => "RoleEligibilityScheduleRequests",
        Kind::Assignment => "RoleAssignmentScheduleRequests",
    }
}

/// The full id of a request.
pub fn request_id(kind: Kind, scope: &ArmScope, id: ObjectId) -> String {
    scope.resource_id(id_segment(kind), id)
}

pub async fn render(s: &AppState, r: &ScheduleRequest) -> ArmResult<proto::ScheduleRequest> {
    let scope = r.scope.as_arm().cloned().ok_or_else(ArmError::internal)?;
    let expanded = super::schedules::expanded(s, &scope, r.role_definition_id, r.principal_id).await?;
    let info = r.schedule.as_ref().map(|sched| proto::ScheduleInfo {
        start_date_time: sched.start.map(crate::wire::datetime),
        expiration: proto::Expiration {
            expiration_type: pascal(
                if sched.expiration.kind == ExpirationType::NotSpecified {
                    ExpirationType::NoExpiration
                } else {
                    sched.expiration.kind
                }
                .as_str(),
            ),
            end_date_time: sched.expiration.end.map(crate::wire::datetime),
            duration: sched.expiration.duration.map(duration::format),
        },
    });
    let target = Some(r.target_schedule_id.map(|t| t.to_string()));
    let (eligibility_target, assignment_target) = match r.kind {
        Kind::Eligibility => (target, None),
        Kind::Assignment => (None, target),
    };
    let linked = match (r.kind, r.action, r.target_schedule_id) {
        (Kind::Assignment, Action::SelfActivate, Some(t)) => Some(
            s.store.arm_schedule(Kind::Assignment, t).await?.and_then(|a| a.activated_using).map(|e| e.to_string()),
        ),
        (Kind::Assignment, _, _) => Some(None),
        _ => None,
    };
    Ok(proto::ScheduleRequest {
        id: request_id(r.kind, &scope, r.id),
        name: r.id.to_string(),
        resource_type: match r.kind {
            Kind::Eligibility => proto::ELIGIBILITY_REQUEST_TYPE,
            Kind::Assignment => proto::ASSIGNMENT_REQUEST_TYPE,
        }
        .to_string(),
        properties: proto::ScheduleRequestProperties {
            scope: r.scope.to_string(),
            role_definition_id: expanded.role_definition.id.clone(),
            principal_id: r.principal_id.to_string(),
            principal_type: expanded.principal.principal_type.clone(),
            request_type: pascal(r.action.as_str()),
            status: r.status.as_str().to_string(),
            approval_id: r.approval_id.as_deref().map(super::role_assignment_approvals::resource_id),
            schedule_info: info,
            target_role_eligibility_schedule_instance_id: eligibility_target.as_ref().map(|_| None),
            target_role_eligibility_schedule_id: eligibility_target,
            target_role_assignment_schedule_instance_id: assignment_target.as_ref().map(|_| None),
            target_role_assignment_schedule_id: assignment_target,
            linked_role_eligibility_schedule_id: linked,
            justification: r.justification.clone(),
            ticket_info: proto::TicketInfo {
                ticket_number: r.ticket.number.clone(),
                ticket_system: r.ticket.system.clone(),
            },
            condition: None,
            condition_version: None,
            created_on: crate::wire::datetime(r.created),
            requestor_id: r.created_by.to_string(),
            expanded_properties: expanded,
        },
    })
}
