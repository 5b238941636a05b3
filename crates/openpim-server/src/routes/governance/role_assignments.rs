//! `privilegedAccess/{provider}[/resources/{id}]/roleAssignments`: eligibility and assignment
//! schedules as governanceRoleAssignments (`Eligible` / `Active`; an activation links to its
//! eligibility), their `subject`, and `export()` as CSV.

use super::role_settings::nested_expands;
use super::{page_in_memory, pins_subject, subjects, Location, ALL};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::odata::OData;
use crate::pim::{self, Visibility};
use crate::state::AppState;
use crate::wire::governance as wire;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use openpim_core::authz::cap;
use openpim_core::schedule::Kind;
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

async fn render(s: &AppState, q: &OData, loc: &Location, h: &HeldSchedule) -> ApiResult<Value> {
    let mut v = wire::json(&wire::role_assignment(loc.resource, h));
    if q.expands("subject") {
        v["subject"] = subjects::render(s, h.principal_id).await?;
    }
    if q.expands("roleDefinition") {
        let role = s.store.get_directory_role_definition(h.schedule.role_definition_id).await?;
        v["roleDefinition"] = match role {
            Some(r) => {
                let mut d = wire::json(&wire::role_definition(loc.resource, &r));
                if nested_expands(q, "roleDefinition", "resource") {
                    d["resource"] = wire::json(&wire::tenant_resource(loc.resource));
                }
                d
            }
            None => Value::Null,
        };
    }
    if q.expands("resource") {
        v["resource"] = wire::json(&wire::tenant_resource(loc.resource));
    }
    if q.expands("linkedEligibleRoleAssignment") {
        let linked = match h.schedule.activated_using {
            Some(id) => s.store.get_held(Kind::Eligibility, Window::Live, s.now(), &id.to_string()).await?,
            None => None,
        };
        v["linkedEligibleRoleAssignment"] =
            linked.map(|e| wire::json(&wire::role_assignment(loc.resource, &e))).unwrap_or(Value::Null);
    }
    Ok(v)
}

async fn filtered(s: &AppState, caller: &Caller, q: &OData, loc: &Location) -> ApiResult<Vec<Value>> {
    q.check_expand(wire::ROLE_ASSIGNMENT_TYPE, NAVIGATION)?;
    let vis = visibility(s, caller, q)?;
    let mut items = Vec::new();
    for h in held(s, &vis).await? {
        items.push(render(s, q, loc, &h).await?);
    }
    Ok(items)
}

pub async fn list(State(s): State<AppState>, caller: Caller, q: OData, loc: Location) -> ApiResult<Response> {
    loc.aad_roles_only()?;
    let items = filtered(&s, &caller, &q, &loc).await?;
    let (page, offset) = page_in_memory(&q, items, &SCHEMA)?;
    Ok(q.collection(CONTEXT, page, offset))
}

/// One assignment by id (the schedule id; `{scheduleId}_{memberId}` for a group member's row).
pub async fn find(s: &AppState, caller: &Caller, id: &str) -> ApiResult<HeldSchedule> {
    let vis = Visibility::for_item(s, caller);
    for kind in [Kind::Eligibility, Kind::Assignment] {
        if let Some(h) = pim::reads::held_one(s, kind, Window::Live, &vis, id).await? {
            if h.schedule.scope.to_string() == "/" {
                return Ok(h);
            }
        }
    }
    Err(ApiError::not_found("governanceRoleAssignment", id))
}

pub async fn get(State(s): State<AppState>, caller: Caller, q: OData, loc: Location) -> ApiResult<Response> {
    loc.aad_roles_only()?;
    q.check_expand(wire::ROLE_ASSIGNMENT_TYPE, NAVIGATION)?;
    let h = find(&s, &caller, loc.id()).await?;
    let v = render(&s, &q, &loc, &h).await?;
    Ok(q.entity(&format!("{CONTEXT}/$entity"), v))
}

/// `roleAssignments/{id}/subject`.
pub async fn subject(State(s): State<AppState>, caller: Caller, q: OData, loc: Location) -> ApiResult<Response> {
    loc.aad_roles_only()?;
    let h = find(&s, &caller, loc.id()).await?;
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
    loc.aad_roles_only()?;
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
