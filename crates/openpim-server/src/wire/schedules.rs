//! Schedule requests, schedules and instances in Graph's shapes.

use super::body::Body;
use super::to_json;
use crate::error::{ApiError, ApiResult};
use openpim_core::duration;
use openpim_core::schedule::{
    Action, Expiration, ExpirationType, Kind, NewRequest, RequestSchedule, Schedule, ScheduleRequest, Ticket,
};
use openpim_core::scope::DirectoryScope;
use openpim_proto::odata_type;
use openpim_proto::schedules as proto;
use openpim_store::schedules::HeldSchedule;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;

pub fn request_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Eligibility => proto::ELIGIBILITY_REQUEST_TYPE,
        Kind::Assignment => proto::ASSIGNMENT_REQUEST_TYPE,
    }
}

pub fn schedule_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Eligibility => proto::ELIGIBILITY_SCHEDULE_TYPE,
        Kind::Assignment => proto::ASSIGNMENT_SCHEDULE_TYPE,
    }
}

pub fn instance_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Eligibility => proto::ELIGIBILITY_INSTANCE_TYPE,
        Kind::Assignment => proto::ASSIGNMENT_INSTANCE_TYPE,
    }
}

fn schedule_info(s: &RequestSchedule) -> proto::RequestSchedule {
    proto::RequestSchedule {
        start_date_time: s.start,
        recurrence: None,
        expiration: proto::ExpirationPattern {
            kind: s.expiration.kind.to_string(),
            end_date_time: s.expiration.end,
            duration: s.expiration.duration.map(duration::format),
        },
    }
}

pub fn request(r: &ScheduleRequest) -> Value {
    to_json(&proto::UnifiedRoleScheduleRequest {
        odata_type: Some(odata_type(request_type(r.kind))),
        id: r.id,
        status: r.status.to_string(),
        created_date_time: r.created,
        completed_date_time: r.completed,
        approval_id: r.approval_id.clone(),
        custom_data: r.custom_data.clone(),
        action: r.action.to_string(),
        principal_id: r.principal_id,
        role_definition_id: r.role_definition_id,
        directory_scope_id: r.scope.to_string(),
        app_scope_id: None,
        is_validation_only: r.is_validation_only,
        target_schedule_id: r.target_schedule_id,
        justification: r.justification.clone(),
        created_by: proto::IdentitySet {
            application: None,
            device: None,
            user: Some(proto::Identity { display_name: None, id: Some(r.created_by) }),
        },
        schedule_info: r.schedule.as_ref().map(schedule_info),
        ticket_info: proto::TicketInfo {
            ticket_number: r.ticket.number.clone(),
            ticket_system: r.ticket.system.clone(),
        },
        principal: None,
        role_definition: None,
    })
}

/// The start Graph shows for a schedule: none for a role assigned directly (through
/// `roleAssignments`, not a PIM request), as Graph's examples of instances and schedules show
/// (`startDateTime: null`, `assignmentType: Assigned`, `memberType: Direct`); "roles assigned
/// outside PIM" checks key on exactly that. The stored start still bounds the grant.
fn shown_start(s: &Schedule) -> Option<time::OffsetDateTime> {
    s.created_using.is_some().then_some(s.start)
}

fn stored_schedule_info(s: &Schedule) -> proto::RequestSchedule {
    schedule_info(&RequestSchedule {
        start: shown_start(s),
        expiration: Expiration { kind: s.expiration_type, end: s.end, duration: s.duration },
    })
}

/// A schedule as its holder sees it (`unifiedRoleEligibilitySchedule` / `...AssignmentSchedule`).
pub fn schedule(h: &HeldSchedule) -> Value {
    let s = &h.schedule;
    to_json(&proto::UnifiedRoleSchedule {
        odata_type: Some(odata_type(schedule_type(s.kind))),
        id: h.id.clone(),
        principal_id: h.principal_id,
        role_definition_id: s.role_definition_id,
        directory_scope_id: s.scope.to_string(),
        app_scope_id: None,
        created_date_time: s.created,
        created_using: s.created_using,
        modified_date_time: s.modified,
        status: s.status.to_string(),
        schedule_info: stored_schedule_info(s),
        member_type: h.member_type.to_string(),
        assignment_type: s.assignment_type.map(|t| t.to_string()),
        principal: None,
        role_definition: None,
    })
}

/// An instance: the schedule in effect now.
pub fn instance(h: &HeldSchedule) -> Value {
    let s = &h.schedule;
    match s.kind {
        Kind::Eligibility => to_json(&proto::UnifiedRoleEligibilityScheduleInstance {
            odata_type: Some(odata_type(instance_type(s.kind))),
            id: h.id.clone(),
            principal_id: h.principal_id,
            role_definition_id: s.role_definition_id,
            directory_scope_id: s.scope.to_string(),
            app_scope_id: None,
            start_date_time: shown_start(s),
            end_date_time: s.end,
            member_type: h.member_type.to_string(),
            role_eligibility_schedule_id: s.id,
            principal: None,
            role_definition: None,
        }),
        Kind::Assignment => to_json(&proto::UnifiedRoleAssignmentScheduleInstance {
            odata_type: Some(odata_type(instance_type(s.kind))),
            id: h.id.clone(),
            principal_id: h.principal_id,
            role_definition_id: s.role_definition_id,
            directory_scope_id: s.scope.to_string(),
            app_scope_id: None,
            start_date_time: shown_start(s),
            end_date_time: s.end,
            member_type: h.member_type.to_string(),
            assignment_type: s.assignment_type.map(|t| t.to_string()),
            role_assignment_origin_id: s.id,
            role_assignment_schedule_id: s.id,
            principal: None,
            role_definition: None,
        }),
    }
}

fn parse_time(key: &str, raw: &str) -> ApiResult<time::OffsetDateTime> {
    time::OffsetDateTime::parse(raw, &Rfc3339)
        .map_err(|_| ApiError::bad_request(format!("Invalid value for '{key}': '{raw}' is not an RFC 3339 date-time.")))
}

fn read_schedule_info(v: Value) -> ApiResult<RequestSchedule> {
    let Value::Object(map) = v else {
        return Err(ApiError::bad_request("scheduleInfo must be an object."));
    };
    let mut b = Body::from_map(map, "microsoft.graph.requestSchedule");
    let start = b.string("startDateTime")?.map(|s| parse_time("startDateTime", &s)).transpose()?;
    if b.take_value("recurrence").is_some_and(|r| !r.is_null()) {
        return Err(ApiError::bad_request("Recurring schedules (scheduleInfo.recurrence) are not supported."));
    }
    let expiration = match b.take_value("expiration") {
        None | Some(Value::Null) => Expiration { kind: ExpirationType::NotSpecified, end: None, duration: None },
        Some(Value::Object(m)) => {
            let mut e = Body::from_map(m, "microsoft.graph.expirationPattern");
            let kind = match e.string("type")? {
                None => ExpirationType::NotSpecified,
                Some(t) => t.parse::<ExpirationType>().map_err(|_| {
                    ApiError::bad_request(format!(
                        "'{t}' is not a valid expiration type: use noExpiration, afterDateTime or afterDuration."
                    ))
                })?,
            };
            let end = e.string("endDateTime")?.map(|s| parse_time("endDateTime", &s)).transpose()?;
            let duration = match e.string("duration")? {
                None => None,
                Some(d) => Some(duration::parse(&d).ok_or_else(|| {
                    ApiError::bad_request(format!("'{d}' is not a valid ISO 8601 duration (for example PT8H or P1D)."))
                })?),
            };
            e.finish()?;
            Expiration { kind, end, duration }
        }
        Some(_) => return Err(ApiError::bad_request("scheduleInfo.expiration must be an object.")),
    };
    b.finish()?;
    Ok(RequestSchedule { start, expiration })
}

/// Reads a schedule request body of the given kind.
pub fn read_request(mut b: Body, kind: Kind) -> ApiResult<NewRequest> {
    let action_raw = b.string("action")?.ok_or_else(|| ApiError::bad_request("Property 'action' is required."))?;
    let action = action_raw
        .parse::<Action>()
        .map_err(|_| ApiError::bad_request(format!("'{action_raw}' is not a valid value for property 'action'.")))?;
    let principal_id =
        b.guid("principalId")?.ok_or_else(|| ApiError::bad_request("Property 'principalId' is required."))?;
    let role_definition_id =
        b.guid("roleDefinitionId")?.ok_or_else(|| ApiError::bad_request("Property 'roleDefinitionId' is required."))?;
    let scope_raw = b.string("directoryScopeId")?;
    if b.string("appScopeId")?.is_some() {
        return Err(ApiError::bad_request("appScopeId is not supported: OpenPIM models directory scopes only."));
    }
    let scope = DirectoryScope::parse(
        scope_raw.as_deref().ok_or_else(|| ApiError::bad_request("Property 'directoryScopeId' is required."))?,
    )?;
    let justification = b.string("justification")?;
    let schedule = b.take_value("scheduleInfo").filter(|v| !v.is_null()).map(read_schedule_info).transpose()?;
    let ticket = match b.take_value("ticketInfo") {
        None | Some(Value::Null) => Ticket::default(),
        Some(Value::Object(m)) => {
            let mut t = Body::from_map(m, "microsoft.graph.ticketInfo");
            let ticket = Ticket { number: t.string("ticketNumber")?, system: t.string("ticketSystem")? };
            t.finish()?;
            ticket
        }
        Some(_) => return Err(ApiError::bad_request("ticketInfo must be an object.")),
    };
    let is_validation_only = b.bool("isValidationOnly")?.unwrap_or(false);
    let custom_data = b.string("customData")?;
    b.ignore("targetScheduleId");
    b.finish()?;
    Ok(NewRequest {
        kind,
        action,
        principal_id,
        role_definition_id,
        scope: scope.into(),
        justification,
        schedule,
        ticket,
        is_validation_only,
        custom_data,
    })
}
