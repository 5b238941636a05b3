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
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;

const RM: &str = "/v1.0/roleManagement/directory";

/// Roles a page of the catalog shows.
const ROLES_PER_PAGE: usize = 25;

struct RoleRow {
    id: String,
    name: String,
    description: String,
    built_in: bool,
    privileged: bool,
    eligible: usize,
    active: usize,
}

/// A sortable column header: its link and its `aria-sort` state.
struct SortLink {
    label: &'static str,
    href: String,
    /// `ascending`, `descending` or `none`.
    state: &'static str,
}

#[derive(Template)]
#[template(path = "roles.html")]
struct RolesPage {
    page: Chrome,
    query: RolesQuery,
    roles: Vec<RoleRow>,
    /// Roles matching the search and filters, and in the catalog.
    matching: usize,
    total: usize,
    /// The assignment counts could be read (the caller may read role assignments).
    counts: bool,
    columns: Vec<SortLink>,
    pager: view::Pager,
}

/// The catalog's search, filters, sort and page, as the query string carries them.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct RolesQuery {
    q: String,
    /// `yes`, `no` or empty (any).
    privileged: String,
    /// `builtin`, `custom` or empty.
    kind: String,
    /// `yes`: only roles someone is eligible for or active in.
    assigned: String,
    /// `name`, `kind`, `assignments`, each optionally prefixed by `-` for descending.
    sort: String,
    page: String,
}

impl RolesQuery {
    /// This query's link with `sort` and `page` replaced.
    fn href(&self, sort: &str, page: usize) -> String {
        let page = if page > 1 { page.to_string() } else { String::new() };
        let sort = if sort == "name" { "" } else { sort };
        let pairs = [
            ("q", self.q.trim()),
            ("privileged", self.privileged.as_str()),
            ("kind", self.kind.as_str()),
            ("assigned", self.assigned.as_str()),
            ("sort", sort),
            ("page", page.as_str()),
        ];
        format!("/roles{}", view::query_string(&pairs))
    }

    fn sort_key(&self) -> (&str, bool) {
        let sort = if self.sort.is_empty() { "name" } else { self.sort.as_str() };
        match sort.strip_prefix('-') {
            Some(key) => (key, true),
            None => (sort, false),
        }
    }

    fn keeps(&self, r: &RoleRow) -> bool {
        let needle = self.q.trim().to_lowercase();
        (needle.is_empty() || r.name.to_lowercase().contains(&needle) || r.description.to_lowercase().contains(&needle))
            && match self.privileged.as_str() {
                "yes" => r.privileged,
                "no" => !r.privileged,
                _ => true,
            }
            && match self.kind.as_str() {
                "builtin" => r.built_in,
                "custom" => !r.built_in,
                _ => true,
            }
            && (self.assigned != "yes" || r.eligible + r.active > 0)
    }

    /// Column headers: a click sorts by the column, a second click reverses it.
    fn columns(&self) -> Vec<SortLink> {
        let (key, desc) = self.sort_key();
        [("Role", "name"), ("Kind", "kind"), ("Assignments", "assignments")]
            .into_iter()
            .map(|(label, col)| {
                let on = key == col;
                let next = if on && !desc { format!("-{col}") } else { col.to_string() };
                let state = match (on, desc) {
                    (false, _) => "none",
                    (true, false) => "ascending",
                    (true, true) => "descending",
                };
                SortLink { label, href: self.href(&next, 1), state }
            })
            .collect()
    }
}

/// How many eligible and active assignments each role has (by role id).
async fn assignment_counts(api: &Api<'_>) -> Result<HashMap<Uuid, (usize, usize)>, GraphError> {
    let mut counts: HashMap<Uuid, (usize, usize)> = HashMap::new();
    let eligible: Vec<UnifiedRoleSchedule> = api.list_all_as(&format!("{RM}/roleEligibilitySchedules")).await?;
    let active: Vec<UnifiedRoleSchedule> = api.list_all_as(&format!("{RM}/roleAssignmentSchedules")).await?;
    for s in &eligible {
        counts.entry(s.role_definition_id).or_default().0 += 1;
    }
    for s in &active {
        counts.entry(s.role_definition_id).or_default().1 += 1;
    }
    Ok(counts)
}

pub async fn list(State(ui): State<UiState>, session: Session, Query(query): Query<RolesQuery>) -> Response {
    let (chrome, _) = match page::start(&ui, &session, "roles", "Roles").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let api = Api::new(&ui.api, &session.token);
    let all = match api.list_all_as::<UnifiedRoleDefinition>(&format!("{RM}/roleDefinitions")).await {
        Ok(r) => r,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    // Who holds what is for those who may read role assignments; others see the catalog alone.
    let counts = match assignment_counts(&api).await {
        Ok(c) => Some(c),
        Err(e) if e.status == StatusCode::FORBIDDEN => None,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    let total = all.len();
    let mut roles: Vec<RoleRow> = all
        .into_iter()
        .map(|r| {
            let (eligible, active) = counts.as_ref().and_then(|c| c.get(&r.id).copied()).unwrap_or_default();
            RoleRow {
                id: r.id.to_string(),
                name: r.display_name,
                description: r.description.unwrap_or_default(),
                built_in: r.is_built_in,
                privileged: r.is_privileged.unwrap_or(false),
                eligible,
                active,
            }
        })
        .filter(|r| query.keeps(r))
        .collect();
    let (key, desc) = query.sort_key();
    roles.sort_by(|a, b| {
        let by_name = a.name.to_lowercase().cmp(&b.name.to_lowercase());
        let primary = match key {
            "kind" => a.built_in.cmp(&b.built_in).reverse(),
            "assignments" => (a.eligible + a.active).cmp(&(b.eligible + b.active)),
            _ => by_name,
        };
        let primary = if desc { primary.reverse() } else { primary };
        primary.then(by_name)
    });
    let matching = roles.len();
    let sort = query.sort.clone();
    let requested = query.page.trim().parse().unwrap_or(1);
    let (pager, range) = view::Pager::new(requested, matching, ROLES_PER_PAGE, |n| query.href(&sort, n));
    let roles = roles.drain(range).collect();
    let page = RolesPage {
        page: chrome,
        columns: query.columns(),
        query,
        roles,
        matching,
        total,
        counts: counts.is_some(),
        pager,
    };
    session.finish(view::render(StatusCode::OK, &page))
}

/// A role page's tabs: (query value, label).
const TABS: [(&str, &str); 4] = [
    ("eligible", "Eligible assignments"),
    ("active", "Active assignments"),
    ("expired", "Expired assignments"),
    ("history", "History"),
];

/// A tab link of a role page.
struct Tab {
    href: String,
    label: &'static str,
    current: bool,
}

#[derive(Template)]
#[template(path = "role.html")]
struct RolePage {
    page: Chrome,
    role_id: String,
    description: String,
    tabs: Vec<Tab>,
    /// `eligible`, `active` or `expired`.
    tab: &'static str,
    /// The shown tab's holders (eligible or active): one section.
    sections: Vec<HolderSection>,
    /// The caller may read the role but not who holds it (that needs a role that reads role
    /// assignments: docs/SECURITY.md), so the page says so instead of failing.
    holders_hidden: bool,
    /// Expired: the role's access history intervals that ended; History: all of them.
    rows: Vec<super::timeline::TimelineRow>,
    starts: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TabQuery {
    tab: String,
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

pub async fn detail(
    State(ui): State<UiState>,
    session: Session,
    Path(id): Path<String>,
    Query(query): Query<TabQuery>,
) -> Response {
    let (mut chrome, _) = match page::start(&ui, &session, "roles", "Role").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let tab = TABS.iter().map(|(t, _)| *t).find(|t| *t == query.tab).unwrap_or("eligible");
    let api = Api::new(&ui.api, &session.token);
    let loaded = async {
        let role: UnifiedRoleDefinition = api.get_as(&format!("{RM}/roleDefinitions/{}", seg(&id))).await?;
        let filter = q(&format!("roleDefinitionId eq {}", lit(&id)));
        // Only the shown tab's data is read.
        let holders = async {
            match tab {
                "expired" | "history" => {
                    let (rows, starts) = super::timeline::rows(&api, &format!("roleDefinitionId={}", q(&id))).await?;
                    let rows = rows.into_iter().filter(|r| tab == "history" || r.ended).collect();
                    Ok::<_, GraphError>((vec![], rows, starts))
                }
                kind => {
                    let set = if kind == "active" { "roleAssignmentSchedules" } else { "roleEligibilitySchedules" };
                    let held: Vec<UnifiedRoleSchedule> =
                        api.list_all_as(&format!("{RM}/{set}?$filter={filter}&$expand=principal")).await?;
                    Ok((held, vec![], String::new()))
                }
            }
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
    let (held, rows, starts) = holders.unwrap_or_default();
    chrome.title = role.display_name;
    let role_id = role.id.to_string();
    let forms = HolderForms {
        remove_action: format!("/roles/{role_id}/remove"),
        update_action: format!("/roles/{role_id}/update"),
        with_role: false,
        update_days: false,
    };
    let sections = match tab {
        "expired" | "history" => vec![],
        kind => vec![HolderSection::one(kind, holder_rows(&held, &kind[..1]), &forms)],
    };
    let tabs = TABS
        .iter()
        .map(|(t, label)| Tab { href: format!("{}?tab={t}", back(&role_id)), label, current: *t == tab })
        .collect();
    let page = RolePage {
        page: chrome,
        sections,
        tabs,
        tab,
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
    /// `yes` once the confirmation page was confirmed (removals).
    confirmed: String,
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

/// How a refusal reads on a role page: the 5-minute rule in words (with when to retry, which
/// the API's message ends with), anything else as the API said it.
pub(super) fn refusal(e: &GraphError) -> Flash {
    if matches!(e.code.as_str(), "ActiveDurationTooShort" | "EligibleDurationTooShort") {
        if let Some((_, at)) = e.message.rsplit_once("; retry after ") {
            let at = OffsetDateTime::parse(at.trim(), &time::format_description::well_known::Rfc3339).ok();
            return Flash::err(format!(
                "Too early: an assignment cannot be removed or changed within 5 minutes of being made (the \
                 5-minute rule, as in Entra). Retry after {}. ({}: {})",
                view::when(at),
                e.code,
                e.message
            ));
        }
    }
    Flash::graph(e)
}

async fn admin_request(
    session: &Session,
    ui: &UiState,
    to: &str,
    set: &str,
    body: NewScheduleRequest,
    done: &str,
) -> Response {
    let api = Api::new(&ui.api, &session.token);
    match api.post_as::<_, UnifiedRoleScheduleRequest>(&format!("{RM}/{set}"), &body).await {
        Ok(r) => session.redirect(to, Flash::ok(format!("{done} (status {}).", r.status))),
        Err(e) if e.is_unauthenticated() => super::signin::expired(session, &e.message),
        Err(e) => session.redirect(to, refusal(&e)),
    }
}

/// A role page's tab for assignments of `kind` (`eligible`, `active`).
fn tab_of(id: &str, kind: &str) -> String {
    let tab = if kind == "active" { "active" } else { "eligible" };
    format!("{}?tab={tab}", back(id))
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
        Err(flash) => return session.redirect(&tab_of(&id, &f.kind), flash),
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
    admin_request(&session, &ui, &tab_of(&id, &f.kind), set, body, &done).await
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
    let to = tab_of(&id, &f.kind);
    let prepared = requests_set(&f.kind).and_then(|set| Ok((set, holder_request(&id, &f, Action::AdminRemove)?)));
    let (set, body) = match prepared {
        Ok(x) => x,
        Err(flash) => return session.redirect(&to, flash),
    };
    if !super::confirm::confirmed(&f.confirmed) {
        return confirm_removal(&ui, &session, &id, &f, &body, &to).await;
    }
    admin_request(&session, &ui, &to, set, body, "Removed").await
}

/// The confirmation page of a removal: whose assignment goes, of which role and where, and,
/// when it was made under 5 minutes ago, that the API will refuse it until when.
async fn confirm_removal(
    ui: &UiState,
    session: &Session,
    id: &str,
    f: &AssignForm,
    body: &NewScheduleRequest,
    to: &str,
) -> Response {
    let api = Api::new(&ui.api, &session.token);
    let set = if f.kind == "active" { "roleAssignmentSchedules" } else { "roleEligibilitySchedules" };
    let filter = format!(
        "roleDefinitionId eq {} and principalId eq {} and directoryScopeId eq {}",
        lit(&body.role_definition_id.to_string()),
        lit(&body.principal_id.to_string()),
        lit(&body.directory_scope_id)
    );
    let path = format!("{RM}/{set}?$filter={}&$expand=principal,roleDefinition", q(&filter));
    let held = match api.list_as::<UnifiedRoleSchedule>(&path).await {
        Ok(h) => h,
        Err(e) if e.is_unauthenticated() => return super::signin::expired(session, &e.message),
        Err(e) => return session.redirect(to, Flash::graph(&e)),
    };
    let Some(h) = held.into_iter().next() else {
        return session.redirect(to, Flash::err("That assignment no longer exists."));
    };
    let (who, _) = principal_label(h.principal.as_ref());
    let who = if who.is_empty() { h.principal_id.to_string() } else { who };
    let role = h.role_definition.as_ref().map_or_else(|| id.to_string(), |r| r.display_name.clone());
    let scope = view::scope_label(&h.directory_scope_id);
    let (what, effect) = if f.kind == "active" {
        ("active assignment", format!("{who} will no longer hold {role} at {scope}: the role's permissions end now."))
    } else {
        ("eligible assignment", format!("{who} will no longer be able to activate {role} at {scope}."))
    };
    let mut effects = vec![
        format!("The {what} of {who} to {role} at {scope} is removed."),
        effect,
        format!("It was made {}; the removal is audited with your name.", view::when(Some(h.created_date_time))),
    ];
    if let Some(why) = body.justification.as_deref() {
        effects.push(format!("Reason recorded: {why}"));
    }
    let unlocks = h.created_date_time + openpim_core::schedule::MINIMUM_DURATION;
    let warning = (unlocks > ui.app.now()).then(|| {
        format!(
            "This assignment was made less than 5 minutes ago: the API refuses to remove it until {} (the \
             5-minute rule, as in Entra).",
            view::when(Some(unlocks))
        )
    });
    let fields =
        [("kind", &f.kind), ("principal", &f.principal), ("scope", &f.scope), ("justification", &f.justification)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
    let c = super::confirm::Confirm {
        title: format!("Remove an {what}"),
        effects,
        warning,
        action: format!("{}/remove", back(id)),
        fields,
        confirm_label: "Remove".to_string(),
        back: to.to_string(),
    };
    super::confirm::page(ui, session, "roles", c).await
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
    let to = tab_of(&id, &f.kind);
    let (set, body) = match prepared {
        Ok(x) => x,
        Err(flash) => return session.redirect(&to, flash),
    };
    admin_request(&session, &ui, &to, set, body, "Updated").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_five_minute_rule_reads_with_its_retry_time() {
        let e = GraphError {
            status: StatusCode::BAD_REQUEST,
            code: "EligibleDurationTooShort".into(),
            message: "The Eligible duration is too short. Minimum required is 5 minutes.; retry after \
                      2026-03-01T09:05:00Z"
                .into(),
        };
        let f = refusal(&e);
        assert!(!f.ok);
        assert!(f.text.starts_with("Too early: "), "{}", f.text);
        assert!(f.text.contains("Retry after 2026-03-01 09:05 UTC."), "{}", f.text);
        // Anything else is the API's own words.
        let other = GraphError { code: "RoleAssignmentExists".into(), message: "exists".into(), ..e };
        assert_eq!(refusal(&other).text, "RoleAssignmentExists: exists");
    }

    #[test]
    fn local_times_are_utc() {
        assert_eq!(utc("2026-12-31T17:00", "end").unwrap(), Some(time::macros::datetime!(2026-12-31 17:00 UTC)));
        assert_eq!(utc("", "end").unwrap(), None);
        assert!(utc("tomorrow", "end").is_err());
        assert!(utc("2026-13-01T00:00", "end").is_err());
    }
}
