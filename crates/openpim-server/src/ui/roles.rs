//! Roles (for admins): the catalog with a search box, a role's assignments (eligible and active,
//! direct or through a group), and the forms to add, update and remove them.

use super::api::{lit, q, seg, Api, GraphError};
use super::page;
use super::session::Session;
use super::view::{self, Chrome, Flash};
use super::UiState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use serde_json::{json, Value};

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
    let all = match api.list_all(&format!("{RM}/roleDefinitions")).await {
        Ok(r) => r,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    let total = all.len();
    let needle = query.q.trim().to_lowercase();
    let mut roles: Vec<RoleRow> = all
        .iter()
        .filter(|r| needle.is_empty() || view::s(&r["displayName"]).to_lowercase().contains(&needle))
        .map(|r| RoleRow {
            id: view::s(&r["id"]),
            name: view::s(&r["displayName"]),
            description: view::s(&r["description"]),
            built_in: r["isBuiltIn"].as_bool().unwrap_or(false),
            privileged: r["isPrivileged"].as_bool().unwrap_or(false),
        })
        .collect();
    roles.sort_by_key(|r| r.name.to_lowercase());
    let search = query.q.trim().to_string();
    session.finish(view::render(StatusCode::OK, &RolesPage { page: chrome, search, roles, total }))
}

struct HolderRow {
    principal_id: String,
    principal: String,
    principal_kind: String,
    member_type: String,
    assignment_type: String,
    scope: String,
    scope_label: String,
    start: String,
    end: String,
    direct: bool,
    key: String,
}

#[derive(Template)]
#[template(path = "role.html")]
struct RolePage {
    page: Chrome,
    role_id: String,
    description: String,
    sections: Vec<Section>,
}

/// Eligible or active assignments: the `kind` is what the remove/update forms send.
struct Section {
    kind: &'static str,
    title: &'static str,
    rows: Vec<HolderRow>,
}

fn principal_label(p: &Value) -> (String, String) {
    let name = view::s(&p["displayName"]);
    let kind = match p["@odata.type"].as_str().unwrap_or_default() {
        t if t.ends_with("group") => "Group",
        t if t.ends_with("user") => "User",
        _ => "Principal",
    };
    let label = match p["userPrincipalName"].as_str() {
        Some(upn) => format!("{name} ({upn})"),
        None => name,
    };
    (label, kind.to_string())
}

fn holder_rows(items: &[Value], prefix: &str) -> Vec<HolderRow> {
    items
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let (principal, principal_kind) = principal_label(&h["principal"]);
            let scope = view::s(&h["directoryScopeId"]);
            let info = &h["scheduleInfo"];
            HolderRow {
                principal_id: view::s(&h["principalId"]),
                principal: if principal.is_empty() { view::s(&h["principalId"]) } else { principal },
                principal_kind,
                member_type: view::s(&h["memberType"]),
                assignment_type: view::s(&h["assignmentType"]),
                scope_label: view::scope_label(&scope),
                scope,
                start: view::when(&info["startDateTime"]),
                end: view::when(&info["expiration"]["endDateTime"]),
                direct: h["memberType"].as_str() == Some("Direct"),
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
        let role = api.get(&format!("{RM}/roleDefinitions/{}", seg(&id))).await?;
        let filter = q(&format!("roleDefinitionId eq {}", lit(&id)));
        let eligible =
            api.list_all(&format!("{RM}/roleEligibilitySchedules?$filter={filter}&$expand=principal")).await?;
        let active = api.list_all(&format!("{RM}/roleAssignmentSchedules?$filter={filter}&$expand=principal")).await?;
        Ok::<_, GraphError>((role, eligible, active))
    };
    let (role, eligible, active) = match loaded.await {
        Ok(x) => x,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    chrome.title = view::s(&role["displayName"]);
    let page = RolePage {
        page: chrome,
        role_id: view::s(&role["id"]),
        description: view::s(&role["description"]),
        sections: vec![
            Section { kind: "eligible", title: "Eligible assignments", rows: holder_rows(&eligible, "e") },
            Section { kind: "active", title: "Active assignments", rows: holder_rows(&active, "a") },
        ],
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

/// A `datetime-local` value (taken as UTC) as an ISO 8601 instant; empty stays `None`.
fn utc(raw: &str, what: &str) -> Result<Option<String>, Flash> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let with_seconds = if raw.len() == 16 { format!("{raw}:00Z") } else { format!("{raw}Z") };
    time::OffsetDateTime::parse(&with_seconds, &time::format_description::well_known::Rfc3339)
        .map(|_| Some(with_seconds))
        .map_err(|_| Flash::err(format!("The {what} time '{raw}' is not a date and time like 2026-12-31T17:00.")))
}

fn schedule_info(f: &AssignForm) -> Result<Value, Flash> {
    let start = utc(&f.start, "start")?;
    let expiration = if f.permanent == "on" {
        json!({"type": "noExpiration"})
    } else {
        match utc(&f.end, "end")? {
            Some(end) => json!({"type": "afterDateTime", "endDateTime": end}),
            None => return Err(Flash::err("Give an end time, or tick Permanent.")),
        }
    };
    Ok(json!({"startDateTime": start, "expiration": expiration}))
}

fn requests_set(kind: &str) -> Result<&'static str, Flash> {
    match kind {
        "eligible" => Ok("roleEligibilityScheduleRequests"),
        "active" => Ok("roleAssignmentScheduleRequests"),
        _ => Err(Flash::err("Choose Eligible or Active.")),
    }
}

/// A user by UPN (anything with an `@`), else a group by its exact display name.
async fn resolve_member(api: &Api<'_>, member: &str) -> Result<String, Flash> {
    let member = member.trim();
    if member.is_empty() {
        return Err(Flash::err("Give a member: a user's sign-in name or a group's name."));
    }
    if member.contains('@') {
        return match api.get(&format!("/v1.0/users/{}", seg(member))).await {
            Ok(u) => Ok(view::s(&u["id"])),
            Err(e) if e.status == StatusCode::NOT_FOUND => Err(Flash::err(format!("There is no user '{member}'."))),
            Err(e) => Err(Flash::graph(&e)),
        };
    }
    let filter = q(&format!("displayName eq {}", lit(member)));
    let groups = api.list(&format!("/v1.0/groups?$filter={filter}")).await.map_err(|e| Flash::graph(&e))?;
    match groups.as_slice() {
        [g] => Ok(view::s(&g["id"])),
        [] => Err(Flash::err(format!("There is no group named '{member}' (users are given by sign-in name)."))),
        _ => Err(Flash::err(format!("Several groups are named '{member}'."))),
    }
}

fn back(id: &str) -> String {
    format!("/roles/{}", seg(id))
}

async fn admin_request(session: &Session, ui: &UiState, id: &str, set: &str, body: Value, done: &str) -> Response {
    let api = Api::new(&ui.api, &session.token);
    match api.post(&format!("{RM}/{set}"), &body).await {
        Ok(r) => {
            let status = view::s(&r["status"]);
            session.redirect(&back(id), Flash::ok(format!("{done} (status {status}).")))
        }
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
        let info = schedule_info(&f)?;
        let principal = resolve_member(&api, &f.member).await?;
        Ok::<_, Flash>((set, info, principal))
    };
    let (set, info, principal) = match prepared.await {
        Ok(x) => x,
        Err(flash) => return session.redirect(&back(&id), flash),
    };
    let body = json!({
        "action": "adminAssign",
        "principalId": principal,
        "roleDefinitionId": id,
        "directoryScopeId": "/",
        "justification": non_empty(&f.justification),
        "scheduleInfo": info,
    });
    let done = format!("{} is now {} for this role", f.member.trim(), f.kind);
    admin_request(&session, &ui, &id, set, body, &done).await
}

fn non_empty(s: &str) -> Value {
    match s.trim() {
        "" => Value::Null,
        t => Value::from(t),
    }
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
    let set = match requests_set(&f.kind) {
        Ok(s) => s,
        Err(flash) => return session.redirect(&back(&id), flash),
    };
    let body = json!({
        "action": "adminRemove",
        "principalId": f.principal.trim(),
        "roleDefinitionId": id,
        "directoryScopeId": f.scope.trim(),
        "justification": non_empty(&f.justification),
    });
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
    let prepared = requests_set(&f.kind).and_then(|set| Ok((set, schedule_info(&f)?)));
    let (set, info) = match prepared {
        Ok(x) => x,
        Err(flash) => return session.redirect(&back(&id), flash),
    };
    let body = json!({
        "action": "adminUpdate",
        "principalId": f.principal.trim(),
        "roleDefinitionId": id,
        "directoryScopeId": f.scope.trim(),
        "justification": non_empty(&f.justification),
        "scheduleInfo": info,
    });
    admin_request(&session, &ui, &id, set, body, "Updated").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_are_utc() {
        assert_eq!(utc("2026-12-31T17:00", "end").unwrap().as_deref(), Some("2026-12-31T17:00:00Z"));
        assert_eq!(utc("", "end").unwrap(), None);
        assert!(utc("tomorrow", "end").is_err());
        assert!(utc("2026-13-01T00:00", "end").is_err());
    }
}
