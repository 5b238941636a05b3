//! Schedule requests, schedules and instances in Graph's shapes.

use super::body::Body;
use super::datetime;
use crate::error::{ApiError, ApiResult};
use openpim_core::duration;
use openpim_core::schedule::{
    Action, Expiration, ExpirationType, Kind, NewRequest, RequestSchedule, Schedule, ScheduleRequest, Ticket,
};
use openpim_core::scope::DirectoryScope;
use openpim_store::schedules::HeldSchedule;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;

pub fn request_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Eligibility => "microsoft.graph.unifiedRoleEligibilityScheduleRequest",
        Kind::Assignment => "microsoft.graph.unifiedRoleAssignmentScheduleRequest",
    }
}

pub fn schedule_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Eligibility => "microsoft.graph.unifiedRoleEligibilitySchedule",
        Kind::Assignment => "microsoft.graph.unifiedRoleAssignmentSchedule",
    }
}

pub fn instance_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Eligibility => "microsoft.graph.unifiedRoleEligibilityScheduleInstance",
        Kind::Assignment => "microsoft.graph.unifiedRoleAssignmentScheduleInstance",
    }
}

fn schedule_info(s: &RequestSchedule) -> Value {
    json!({
        "startDateTime": s.start.map(datetime),
        "recurrence": null,
        "expiration": {
            "type": s.expiration.kind.as_str(),
            "endDateTime": s.expiration.end.map(datetime),
            "duration": s.expiration.duration.map(duration::format),
        },
    })
}

pub fn request(r: &ScheduleRequest) -> Value {
    json!({
        "@odata.type": format!("#{}", request_type(r.kind)),
        "id": r.id,
        "status": r.status.as_str(),
        "createdDateTime": datetime(r.created),
        "completedDateTime": r.completed.map(datetime),
        "approvalId": r.approval_id,
        "customData": r.custom_data,
        "action": r.action.as_str(),
        "principalId": r.principal_id,
        "roleDefinitionId": r.role_definition_id,
        "directoryScopeId": r.scope.to_string(),
        "appScopeId": null,
        "isValidationOnly": r.is_validation_only,
        "targetScheduleId": r.target_schedule_id,
        "justification": r.justification,
        "createdBy": {"application": null, "device": null, "user": {"displayName": null, "id": r.created_by}},
        "scheduleInfo": r.schedule.as_ref().map(schedule_info),
        "ticketInfo": {"ticketNumber": r.ticket.number, "ticketSystem": r.ticket.system},
    })
}

/// The start Graph shows for a schedule: none for a role assigned directly (through
/// `roleAssignments`, not a PIM request), as Graph's examples of instances and schedules show
/// (`startDateTime: null`, `assignmentType: Assigned`, `memberType: Direct`); "roles assigned
/// outside PIM" checks key on exactly that. The stored start still bounds the grant.
fn shown_start(s: &Schedule) -> Option<time::OffsetDateTime> {
    s.created_using.is_some().then_some(s.start)
}

fn stored_schedule_info(s: &Schedule) -> Value {
    schedule_info(&RequestSchedule {
        start: shown_start(s),
        expiration: Expiration { kind: s.expiration_type, end: s.end, duration: s.duration },
    })
}

/// A schedule as its holder sees it (`unifiedRoleEligibilitySchedule` / `...AssignmentSchedule`).
pub fn schedule(h: &HeldSchedule) -> Value {
    let s = &h.schedule;
    let mut v = json!({
        "@odata.type": format!("#{}", schedule_type(s.kind)),
        "id": h.id,
        "principalId": h.principal_id,
        "roleDefinitionId": s.role_definition_id,
        "directoryScopeId": s.scope.to_string(),
        "appScopeId": null,
        "createdDateTime": datetime(s.created),
        "createdUsing": s.created_using,
        "modifiedDateTime": datetime(s.modified),
        "status": s.status.as_str(),
        "scheduleInfo": stored_schedule_info(s),
        "memberType": h.member_type.as_str(),
    });
    if let Some(t) = s.assignment_type {
        v["assignmentType"] = Value::from(t.as_str());
    }
    v
}

/// An instance: the schedule in effect now.
pub fn instance(h: &HeldSchedule) -> Value {
    let s = &h.schedule;
    let mut v = json!({
        "@odata.type": format!("#{}", instance_type(s.kind)),
        "id": h.id,
        "principalId": h.principal_id,
        "roleDefinitionId": s.role_definition_id,
        "directoryScopeId": s.scope.to_string(),
        "appScopeId": null,
        "startDateTime": shown_start(s).map(datetime),
        "endDateTime": s.end.map(datetime),
        "memberType": h.member_type.as_str(),
    });
    match s.kind {
        Kind::Eligibility => v["roleEligibilityScheduleId"] = Value::from(s.id.to_string()),
        Kind::Assignment => {
            v["assignmentType"] = Value::from(s.assignment_type.map(|t| t.as_str()));
            v["roleAssignmentOriginId"] = Value::from(s.id.to_string());
            v["roleAssignmentScheduleId"] = Value::from(s.id.to_string());
        }
    }
    v
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
                Some(t) => ExpirationType::parse(&t).ok_or_else(|| {
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
    let action = Action::parse(&action_raw)
        .ok_or_else(|| ApiError::bad_request(format!("'{action_raw}' is not a valid value for property 'action'.")))?;
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
