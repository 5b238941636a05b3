//! `privilegedAccess/{provider}[/resources/{id}]/roleAssignments`: eligibility and assignment
//! schedules as governanceRoleAssignments (`Eligible` / `Active`; an activation links to its
//! eligibility), their `subject`, and `export()` as CSV.

use super::role_settings::nested_expands;
use super::{
    azure, from_arm, page_in_memory, pins_subject, resources, role_definitions, subjects, Location, Provider, ALL,
};
use crate::arm::ArmCaller;
use crate::auth::Caller;
use crate::azure::pim::{self as arm_pim, PimFilter};
use crate::error::{ApiError, ApiResult};
use crate::odata::OData;
use crate::pim::{self, Visibility};
use crate::state::AppState;
use crate::wire::governance as wire;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use openpim_core::authz::cap;
use openpim_core::schedule::{Kind, MemberType, Schedule};
use openpim_odata::{EntitySchema, PropType, Property};
use openpim_store::schedules::{HeldSchedule, Window};
use serde_json::Value;

pub const CONTEXT: &str = "governanceRoleAssignments";
const NAVIGATION: &[&str] = &["linkedEligibleRoleAssignment", "resource", "roleDefinition", "subject"];

const fn p(name: &'static str, ty: PropType) -> Property {
    Property::new(name, name, ty)
}

const STATES: &[&str] = &["Eligible", "Active"];

pub static SCHEMA: EntitySchema = EntitySchema {
    type_name: wire::ROLE_ASSIGNMENT_TYPE,
    key_column: "id",
    properties: &[
        p("id", PropType::String).case_insensitive(),
        p("resourceId", PropType::Guid),
        p("roleDefinitionId", PropType::Guid),
        p("subjectId", PropType::Guid),
        p("linkedEligibleRoleAssignmentId", PropType::Guid),
        p("externalId", PropType::String),
        p("startDateTime", PropType::DateTime),
        p("endDateTime", PropType::DateTime),
        p("assignmentState", PropType::Enum(STATES)),
        p("memberType", PropType::String).case_insensitive(),
        p("status", PropType::String).case_insensitive(),
        p("subject/id", PropType::Guid),
        p("roleDefinition/id", PropType::Guid),
        p("resource/id", PropType::Guid),
    ],
};

/// Whose assignments a list shows: everyone's for a caller who reads role assignments; their
/// own when the `$filter` keeps only their subject (the docs' "my assignments" form); refused
/// otherwise, rather than silently narrowed.
fn visibility(s: &AppState, caller: &Caller, q: &OData) -> ApiResult<Visibility> {
    if let Some(granted) = s.permits::<cap::ReadRoleAssignments>(caller) {
        return Ok(Visibility::Everyone(granted));
    }
    if pins_subject(q.options.filter.as_ref(), caller.id()) {
        return Ok(Visibility::own(caller));
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Listing everyone's role assignments needs a role that reads role assignments (Directory Readers, \
         Global Reader, role administrators). Filter on your own subjectId for yours.",
    ))
}

/// Everything at the tenant (`/`) the visibility shows: eligibilities and active assignments
/// that have not expired.
async fn held(s: &AppState, vis: &Visibility) -> ApiResult<Vec<HeldSchedule>> {
    let mut out = Vec::new();
    for kind in [Kind::Eligibility, Kind::Assignment] {
        let page = pim::reads::held(s, kind, Window::Live, vis, &ALL).await?;
        out.extend(page.items.into_iter().filter(|h| h.schedule.scope.to_string() == "/"));
    }
    Ok(out)
}

/// An ARM schedule as a held row of its own principal (ARM's lists read the schedule itself;
/// group rows show the group's schedule with `memberType: Group`).
fn arm_held(schedule: Schedule, member_type: MemberType) -> HeldSchedule {
    HeldSchedule { id: schedule.id.to_string(), principal_id: schedule.principal_id, member_type, schedule }
}

/// azureResources: the schedules at, above and below the location's scope, with ARM's rights
/// and ARM's `memberType` (`Direct`, `Group`, `Inherited` from above the resource).
async fn azure_held(
    s: &AppState,
    caller: &Caller,
    q: &OData,
    loc: &Location,
) -> ApiResult<Vec<(HeldSchedule, &'static str)>> {
    loc.visible_azure(s, caller.id()).await?;
    let mut filter = PimFilter::default();
    if pins_subject(q.options.filter.as_ref(), caller.id()) {
        filter.principal_id = Some(caller.id());
    }
    let arm_caller = ArmCaller(caller.clone());
    let ls = arm_pim::list_scope(s, &arm_caller, Some(&loc.azure_scope()), filter).map_err(from_arm)?;
    let mut out = Vec::new();
    for kind in [Kind::Eligibility, Kind::Assignment] {
        for p in arm_pim::schedules(s, kind, arm_pim::Window::Schedules, &ls).await.map_err(from_arm)? {
            let member = if p.member_type == "Group" { MemberType::Group } else { MemberType::Direct };
            out.push((arm_held(p.schedule, member), p.member_type));
        }
    }
    Ok(out)
}

async fn render(s: &AppState, q: &OData, loc: &Location, h: &HeldSchedule) -> ApiResult<Value> {
    let resource_id = azure::governance_id(loc, &h.schedule.scope);
    let mut v = wire::json(&wire::role_assignment(resource_id, h));
    if q.expands("subject") {
        v["subject"] = subjects::render(s, h.principal_id).await?;
    }
    if q.expands("roleDefinition") {
        let role = role_definitions::of_row(s, resource_id, &h.schedule.scope, h.schedule.role_definition_id).await?;
        v["roleDefinition"] = match role {
            Some(mut d) => {
                if nested_expands(q, "roleDefinition", "resource") {
                    d["resource"] = resources::of_row(s, loc, &h.schedule.scope).await?;
                }
                d
            }
            None => Value::Null,
        };
    }
    if q.expands("resource") {
        v["resource"] = resources::of_row(s, loc, &h.schedule.scope).await?;
    }
    if q.expands("linkedEligibleRoleAssignment") {
        let linked = match (h.schedule.activated_using, h.schedule.scope.as_arm()) {
            (Some(id), None) => s.store.get_held(Kind::Eligibility, Window::Live, s.now(), &id.to_string()).await?,
            (Some(id), Some(_)) => {
                s.store.arm_schedule(Kind::Eligibility, id).await?.map(|e| arm_held(e, MemberType::Direct))
            }
            (None, _) => None,
        };
        v["linkedEligibleRoleAssignment"] =
            linked.map(|e| wire::json(&wire::role_assignment(resource_id, &e))).unwrap_or(Value::Null);
    }
    Ok(v)
}

async fn filtered(s: &AppState, caller: &Caller, q: &OData, loc: &Location) -> ApiResult<Vec<Value>> {
    q.check_expand(wire::ROLE_ASSIGNMENT_TYPE, NAVIGATION)?;
    let mut items = Vec::new();
    match loc.provider {
        Provider::AadRoles => {
            let vis = visibility(s, caller, q)?;
            for h in held(s, &vis).await? {
                items.push(render(s, q, loc, &h).await?);
            }
        }
        Provider::AzureResources => {
            for (h, member_type) in azure_held(s, caller, q, loc).await? {
                let mut v = render(s, q, loc, &h).await?;
                v["memberType"] = Value::from(member_type);
                items.push(v);
            }
        }
    }
    Ok(items)
}

pub async fn list(State(s): State<AppState>, caller: Caller, q: OData, loc: Location) -> ApiResult<Response> {
    let items = filtered(&s, &caller, &q, &loc).await?;
    let (page, offset) = page_in_memory(&q, items, &SCHEMA)?;
    Ok(q.collection(CONTEXT, page, offset))
}

/// One assignment of the location's provider by id (the schedule id; `{scheduleId}_{memberId}`
/// for a group member's row at the tenant). azureResources: ARM's rule, the principal's own or
/// a reader of role assignments at its scope.
pub async fn find(s: &AppState, caller: &Caller, loc: &Location, id: &str) -> ApiResult<HeldSchedule> {
    let vis = Visibility::for_item(s, caller);
    let arm_caller = ArmCaller(caller.clone());
    for kind in [Kind::Eligibility, Kind::Assignment] {
        match loc.provider {
            Provider::AadRoles => {
                if let Some(h) = pim::reads::held_one(s, kind, Window::Live, &vis, id).await? {
                    if h.schedule.scope.to_string() == "/" {
                        return Ok(h);
                    }
                }
            }
            Provider::AzureResources => {
                let Ok(sid) = openpim_core::ObjectId::parse_str(id) else { break };
                let Some(stored) = s.store.arm_schedule(kind, sid).await? else { continue };
                let Some(at) = stored.scope.as_arm() else { continue };
                let window = arm_pim::Window::Schedules;
                if let Some(sched) = arm_pim::schedule(s, &arm_caller, kind, window, at, sid).await.map_err(from_arm)? {
                    return Ok(arm_held(sched, MemberType::Direct));
                }
            }
        }
    }
    Err(ApiError::not_found("governanceRoleAssignment", id))
}

pub async fn get(State(s): State<AppState>, caller: Caller, q: OData, loc: Location) -> ApiResult<Response> {
    q.check_expand(wire::ROLE_ASSIGNMENT_TYPE, NAVIGATION)?;
    loc.visible_azure(&s, caller.id()).await?;
    let h = find(&s, &caller, &loc, loc.id()).await?;
    let v = render(&s, &q, &loc, &h).await?;
    Ok(q.entity(&format!("{CONTEXT}/$entity"), v))
}

/// `roleAssignments/{id}/subject`.
pub async fn subject(State(s): State<AppState>, caller: Caller, q: OData, loc: Location) -> ApiResult<Response> {
    loc.visible_azure(&s, caller.id()).await?;
    let h = find(&s, &caller, &loc, loc.id()).await?;
    Ok(q.entity(&format!("{}/$entity", subjects::CONTEXT), subjects::render(&s, h.principal_id).await?))
}

const CSV_COLUMNS: [&str; 11] = [
    "id",
    "resourceId",
    "roleDefinitionId",
    "subjectId",
    "assignmentState",
    "memberType",
    "status",
    "startDateTime",
    "endDateTime",
    "linkedEligibleRoleAssignmentId",
    "externalId",
];

/// RFC 4180 quoting; a leading `=`, `+`, `-` or `@` is neutralised so a spreadsheet does not
/// run it as a formula.
fn csv_field(v: &Value) -> String {
    let raw = match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let raw = if raw.starts_with(['=', '+', '-', '@']) { format!("'{raw}") } else { raw };
    if raw.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", raw.replace('"', "\"\""))
    } else {
        raw
    }
}

/// `roleAssignments/export()`: the assignments the list would return (same `$filter`, `$top`,
/// `$skip`), as CSV (`application/octet-stream`, as Graph answers the function).
pub async fn export(State(s): State<AppState>, caller: Caller, q: OData, loc: Location) -> ApiResult<Response> {
    let items = filtered(&s, &caller, &q, &loc).await?;
    let (page, _) = page_in_memory(&q, items, &SCHEMA)?;
    let mut out = CSV_COLUMNS.join(",");
    out.push_str("\r\n");
    for item in &page.items {
        let row: Vec<String> = CSV_COLUMNS.iter().map(|c| csv_field(item.get(*c).unwrap_or(&Value::Null))).collect();
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"roleAssignments.csv\""),
        ],
        out,
    )
        .into_response())
}
