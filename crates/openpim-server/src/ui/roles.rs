//! Roles (for admins): the catalog with a search box, a role's assignments (eligible and active,
//! direct or through a group), and the forms to add, update and remove them.

use super::api::{lit, q, seg, Api, GraphError};
use super::page;
use super::rows::{HolderForms, HolderRow, HolderSection};
use super::session::Session;
use super::view::{self, Chrome, Flash};
use super::UiState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use openpim_core::schedule::{Action, MemberType};
use openpim_proto::directory::{DirectoryObject, Group, User};
use openpim_proto::roles::UnifiedRoleDefinition;
use openpim_proto::schedules::{
    NewExpiration, NewRequestSchedule, NewScheduleRequest, UnifiedRoleSchedule, UnifiedRoleScheduleRequest,
};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

const RM: &str = "/v1.0/roleManagement/directory";

struct RoleRow {
    id: String,
    name: String,
    description: String,
    built_in: bool,
    privileged: bool,
}

#[derive(Template)]
#[template(path = "roles.html")]
struct RolesPage {
    page: Chrome,
    search: String,
    roles: Vec<RoleRow>,
    total: usize,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SearchQuery {
    q: String,
}

pub async fn list(State(ui): State<UiState>, session: Session, Query(query): Query<SearchQuery>) -> Response {
    let (chrome, _) = match page::start(&ui, &session, "roles", "Roles").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let api = Api::new(&ui.api, &session.token);
    let all = match api.list_all_as::<UnifiedRoleDefinition>(&format!("{RM}/roleDefinitions")).await {
        Ok(r) => r,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    let total = all.len();
    let needle = query.q.trim().to_lowercase();
    let mut roles: Vec<RoleRow> = all
        .iter()
        .filter(|r| needle.is_empty() || r.display_name.to_lowercase().contains(&needle))
        .map(|r| RoleRow {
            id: r.id.to_string(),
            name: r.display_name.clone(),
            description: r.description.clone().unwrap_or_default(),
            built_in: r.is_built_in,
            privileged: r.is_privileged.unwrap_or(false),
        })
        .collect();
    roles.sort_by_key(|r| r.name.to_lowercase());
    let search = query.q.trim().to_string();
    session.finish(view::render(StatusCode::OK, &RolesPage { page: chrome, search, roles, total }))
}

#[derive(Template)]
#[template(path = "role.html")]
struct RolePage {
    page: Chrome,
    role_id: String,
    description: String,
    sections: Vec<HolderSection>,
    /// The caller may read the role but not who holds it (that needs a role that reads role
    /// assignments: docs/SECURITY.md), so the page says so instead of failing.
    holders_hidden: bool,
    /// "Who held it": the role's access history (shown with the holders).
    rows: Vec<super::timeline::TimelineRow>,
    starts: String,
}

/// "Name (upn)" and the kind of holder, from the expanded principal (`None` when the API could
/// not expand it: the label is then empty and the row shows the id).
fn principal_label(p: Option<&DirectoryObject>) -> (String, String) {
    let Some(p) = p else { return (String::new(), "Principal".to_string()) };
    let kind = match p {
        DirectoryObject::Group(_) => "Group",
        DirectoryObject::User(_) => "User",
        DirectoryObject::ServicePrincipal(_) => "Principal",
    };
    let name = p.display_name();
    let label = match p.user_principal_name() {
        Some(upn) => format!("{name} ({upn})"),
        None => name.to_string(),
    };
    (label, kind.to_string())
}

fn holder_rows(items: &[UnifiedRoleSchedule], prefix: &str) -> Vec<HolderRow> {
    items
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let (principal, principal_type) = principal_label(h.principal.as_ref());
            let direct = h.member_type.parse() == Ok(MemberType::Direct);
            HolderRow {
                principal_id: h.principal_id.to_string(),
                principal: if principal.is_empty() { h.principal_id.to_string() } else { principal },
                principal_type,
                role_id: String::new(),
                role_name: String::new(),
                role_href: String::new(),
                member_type: h.member_type.clone(),
                assignment_type: h.assignment_type.clone().unwrap_or_default(),
                scope_label: view::scope_label(&h.directory_scope_id),
                scope: h.directory_scope_id.clone(),
                start: view::when(h.schedule_info.start_date_time),
                end: view::when(h.schedule_info.expiration.end_date_time),
                editable: direct,
                note: if direct { String::new() } else { "Through a group".to_string() },
                key: format!("{prefix}{i}"),
            }
        })
        .collect()
}

pub async fn detail(State(ui): State<UiState>, session: Session, Path(id): Path<String>) -> Response {
    let (mut chrome, _) = match page::start(&ui, &session, "roles", "Role").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let api = Api::new(&ui.api, &session.token);
    let loaded = async {
        let role: UnifiedRoleDefinition = api.get_as(&format!("{RM}/roleDefinitions/{}", seg(&id))).await?;
        let filter = q(&format!("roleDefinitionId eq {}", lit(&id)));
        let holders = async {
            let eligible: Vec<UnifiedRoleSchedule> =
                api.list_all_as(&format!("{RM}/roleEligibilitySchedules?$filter={filter}&$expand=principal")).await?;
            let active: Vec<UnifiedRoleSchedule> =
                api.list_all_as(&format!("{RM}/roleAssignmentSchedules?$filter={filter}&$expand=principal")).await?;
            let held = super::timeline::rows(&api, &format!("roleDefinitionId={}", q(&id))).await?;
            Ok::<_, GraphError>((eligible, active, held))
        };
        let holders = match holders.await {
            Ok(h) => Some(h),
            Err(e) if e.status == StatusCode::FORBIDDEN => None,
            Err(e) => return Err(e),
        };
        Ok::<_, GraphError>((role, holders))
    };
    let (role, holders) = match loaded.await {
        Ok(x) => x,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    let holders_hidden = holders.is_none();
    let (eligible, active, (rows, starts)) = holders.unwrap_or_default();
    chrome.title = role.display_name;
    let role_id = role.id.to_string();
    let forms = HolderForms {
        remove_action: format!("/roles/{role_id}/remove"),
        update_action: format!("/roles/{role_id}/update"),
        with_role: false,
        update_days: false,
    };
    let page = RolePage {
        page: chrome,
        sections: HolderSection::pair(holder_rows(&eligible, "e"), holder_rows(&active, "a"), forms),
        role_id,
        description: role.description.unwrap_or_default(),
        holders_hidden,
        rows,
        starts,
    };
    session.finish(view::render(StatusCode::OK, &page))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AssignForm {
    csrf: String,
    member: String,
    kind: String,
    permanent: String,
    start: String,
    end: String,
    justification: String,
    principal: String,
    scope: String,
}

/// A `datetime-local` value (taken as UTC) as an instant; empty stays `None`.
pub(super) fn utc(raw: &str, what: &str) -> Result<Option<OffsetDateTime>, Flash> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let with_seconds = if raw.len() == 16 { format!("{raw}:00Z") } else { format!("{raw}Z") };
    OffsetDateTime::parse(&with_seconds, &time::format_description::well_known::Rfc3339)
        .map(Some)
        .map_err(|_| Flash::err(format!("The {what} time '{raw}' is not a date and time like 2026-12-31T17:00.")))
}

fn schedule_info(f: &AssignForm) -> Result<NewRequestSchedule, Flash> {
    let start_date_time = utc(&f.start, "start")?;
    let expiration = if f.permanent == "on" {
        NewExpiration::NoExpiration
    } else {
        match utc(&f.end, "end")? {
            Some(end_date_time) => NewExpiration::AfterDateTime { end_date_time },
            None => return Err(Flash::err("Give an end time, or tick Permanent.")),
        }
    };
    Ok(NewRequestSchedule { start_date_time, expiration })
}

/// An id the page put in a form or its path: anything else is refused before the API is asked.
fn id_of(raw: &str, what: &str) -> Result<Uuid, Flash> {
    Uuid::parse_str(raw.trim()).map_err(|_| Flash::err(format!("'{}' is not a {what} id.", raw.trim())))
}

fn requests_set(kind: &str) -> Result<&'static str, Flash> {
    match kind {
        "eligible" => Ok("roleEligibilityScheduleRequests"),
        "active" => Ok("roleAssignmentScheduleRequests"),
        _ => Err(Flash::err("Choose Eligible or Active.")),
    }
}

/// A user by UPN (anything with an `@`), else a group by its exact display name.
pub(super) async fn resolve_member(api: &Api<'_>, member: &str) -> Result<Uuid, Flash> {
    let member = member.trim();
    if member.is_empty() {
        return Err(Flash::err("Give a member: a user's sign-in name or a group's name."));
    }
    if member.contains('@') {
        return match api.get_as::<User>(&format!("/v1.0/users/{}", seg(member))).await {
            Ok(u) => Ok(u.id),
            Err(e) if e.status == StatusCode::NOT_FOUND => Err(Flash::err(format!("There is no user '{member}'."))),
            Err(e) => Err(Flash::graph(&e)),
        };
    }
    let filter = q(&format!("displayName eq {}", lit(member)));
    let groups: Vec<Group> =
        api.list_as(&format!("/v1.0/groups?$filter={filter}")).await.map_err(|e| Flash::graph(&e))?;
    match groups.as_slice() {
        [g] => Ok(g.id),
        [] => Err(Flash::err(format!("There is no group named '{member}' (users are given by sign-in name)."))),
        _ => Err(Flash::err(format!("Several groups are named '{member}'."))),
    }
}

fn back(id: &str) -> String {
    format!("/roles/{}", seg(id))
}

async fn admin_request(
    session: &Session,
    ui: &UiState,
    id: &str,
    set: &str,
    body: NewScheduleRequest,
    done: &str,
) -> Response {
    let api = Api::new(&ui.api, &session.token);
    match api.post_as::<_, UnifiedRoleScheduleRequest>(&format!("{RM}/{set}"), &body).await {
        Ok(r) => session.redirect(&back(id), Flash::ok(format!("{done} (status {}).", r.status))),
        Err(e) if e.is_unauthenticated() => super::signin::expired(session, &e.message),
        Err(e) => session.redirect(&back(id), Flash::graph(&e)),
    }
}

pub async fn assign(
    State(ui): State<UiState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<AssignForm>,
) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let api = Api::new(&ui.api, &session.token);
    let prepared = async {
        let set = requests_set(&f.kind)?;
        let role = id_of(&id, "role")?;
        let info = schedule_info(&f)?;
        let principal = resolve_member(&api, &f.member).await?;
        Ok::<_, Flash>((set, role, info, principal))
    };
    let (set, role, info, principal) = match prepared.await {
        Ok(x) => x,
        Err(flash) => return session.redirect(&back(&id), flash),
    };
    let body = NewScheduleRequest {
        action: Action::AdminAssign.to_string(),
        principal_id: principal,
        role_definition_id: role,
        directory_scope_id: "/".to_string(),
        justification: non_empty(&f.justification),
        schedule_info: Some(info),
        ticket_info: None,
    };
    let done = format!("{} is now {} for this role", f.member.trim(), f.kind);
    admin_request(&session, &ui, &id, set, body, &done).await
}

fn non_empty(s: &str) -> Option<String> {
    Some(s.trim()).filter(|t| !t.is_empty()).map(str::to_string)
}

/// A request about one holder's existing assignment (remove, update), as the row's form names it.
fn holder_request(id: &str, f: &AssignForm, action: Action) -> Result<NewScheduleRequest, Flash> {
    Ok(NewScheduleRequest {
        action: action.to_string(),
        principal_id: id_of(&f.principal, "principal")?,
        role_definition_id: id_of(id, "role")?,
        directory_scope_id: f.scope.trim().to_string(),
        justification: non_empty(&f.justification),
        schedule_info: None,
        ticket_info: None,
    })
}

pub async fn remove(
    State(ui): State<UiState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<AssignForm>,
) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let prepared = requests_set(&f.kind).and_then(|set| Ok((set, holder_request(&id, &f, Action::AdminRemove)?)));
    let (set, body) = match prepared {
        Ok(x) => x,
        Err(flash) => return session.redirect(&back(&id), flash),
    };
    admin_request(&session, &ui, &id, set, body, "Removed").await
}

pub async fn update(
    State(ui): State<UiState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<AssignForm>,
) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let prepared = requests_set(&f.kind).and_then(|set| {
        let info = schedule_info(&f)?;
        Ok((set, NewScheduleRequest { schedule_info: Some(info), ..holder_request(&id, &f, Action::AdminUpdate)? }))
    });
    let (set, body) = match prepared {
        Ok(x) => x,
        Err(flash) => return session.redirect(&back(&id), flash),
    };
    admin_request(&session, &ui, &id, set, body, "Updated").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_are_utc() {
        assert_eq!(utc("2026-12-31T17:00", "end").unwrap(), Some(time::macros::datetime!(2026-12-31 17:00 UTC)));
        assert_eq!(utc("", "end").unwrap(), None);
        assert!(utc("tomorrow", "end").is_err());
        assert!(utc("2026-13-01T00:00", "end").is_err());
    }
}
