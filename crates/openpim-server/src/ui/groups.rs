//! Groups: the role-assignable groups (search, sorting, paging, create) and a group's page with
//! its members (add, remove with confirmation). Through Graph's `/v1.0/groups` with the
//! signed-in person's token: the API decides who may manage a role-assignable group.

use super::api::{lit, q, seg, Api, GraphError};
use super::confirm::{self, Confirm};
use super::page;
use super::session::Session;
use super::view::{self, Chrome, Flash, SortLink};
use super::UiState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use openpim_proto::directory::{DirectoryObject, Group, User};
use openpim_proto::Collection;
use serde::Deserialize;
use serde_json::json;

/// Groups per page.
const PAGE_ROWS: usize = 25;

const SORTS: [&str; 2] = ["displayName", "createdDateTime"];

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    q: String,
    sort: String,
    desc: String,
    after: String,
}

impl ListQuery {
    fn sort(&self) -> &str {
        SORTS.iter().find(|s| **s == self.sort).copied().unwrap_or("displayName")
    }

    fn desc(&self) -> bool {
        self.desc == "1"
    }

    fn api_path(&self) -> String {
        let mut filter = "isAssignableToRole eq true".to_string();
        if !self.q.trim().is_empty() {
            filter.push_str(&format!(" and startswith(displayName,{})", lit(self.q.trim())));
        }
        let order = if self.desc() { format!("{} desc", self.sort()) } else { self.sort().to_string() };
        let mut path = format!("/v1.0/groups?$top={PAGE_ROWS}&$orderby={}&$filter={}", q(&order), q(&filter));
        if !self.after.is_empty() {
            path.push_str(&format!("&$skiptoken={}", q(&self.after)));
        }
        path
    }

    fn base(&self) -> String {
        if self.q.trim().is_empty() {
            "/groups".into()
        } else {
            format!("/groups?q={}", q(self.q.trim()))
        }
    }
}

struct GroupRow {
    id: String,
    name: String,
    description: String,
    created: String,
}

#[derive(Template)]
#[template(path = "groups.html")]
struct GroupsPage {
    page: Chrome,
    query: String,
    rows: Vec<GroupRow>,
    headers: Vec<(&'static str, SortLink)>,
    next: Option<String>,
    first: Option<String>,
}

pub async fn page(State(ui): State<UiState>, session: Session, Query(lq): Query<ListQuery>) -> Response {
    let (chrome, _) = match page::start(&ui, &session, "groups", "Role-assignable groups").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let api = Api::new(&ui.api, &session.token);
    let found: Collection<Group> = match api.get_as(&lq.api_path()).await {
        Ok(c) => c,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    let base = lq.base();
    let sorted = {
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}sort={}{}", lq.sort(), if lq.desc() { "&desc=1" } else { "" })
    };
    let next = view::skiptoken_of(found.next_link.as_deref()).map(|t| format!("{sorted}&after={}", q(&t)));
    let first = (!lq.after.is_empty()).then(|| sorted.clone());
    let headers = [("Name", "displayName"), ("Created", "createdDateTime")]
        .into_iter()
        .map(|(label, key)| (label, view::sort_link(&base, key, lq.sort(), lq.desc())))
        .collect();
    let rows = found
        .value
        .into_iter()
        .map(|g| GroupRow {
            id: g.id.to_string(),
            name: g.display_name,
            description: g.description.unwrap_or_default(),
            created: view::time_html(Some(g.created_date_time)),
        })
        .collect();
    let page = GroupsPage { page: chrome, query: lq.q.trim().to_string(), rows, headers, next, first };
    session.finish(view::render(StatusCode::OK, &page))
}

fn group_href(id: &str) -> String {
    format!("/groups/{}", seg(id))
}

/// Where a write goes next: a page with the message, or sign-in again on 401.
fn after_write(session: &Session, result: Result<String, GraphError>, ok: &str, back: &str) -> Response {
    match result {
        Ok(to) => session.redirect(&to, Flash::ok(ok)),
        Err(e) if e.is_unauthenticated() => super::signin::expired(session, &e.message),
        Err(e) => session.redirect(back, Flash::graph(&e)),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewGroupForm {
    csrf: String,
    display_name: String,
    description: String,
    mail_nickname: String,
}

/// A mail nickname from a display name: letters and digits only (Graph's nickname rules).
fn nickname_of(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).collect()
}

/// `POST /v1.0/groups`: a security group that roles can be assigned to (Entra's role-assignable
/// groups are security groups, not mail-enabled).
fn create_body(f: &NewGroupForm) -> serde_json::Value {
    let nickname = match f.mail_nickname.trim() {
        "" => nickname_of(f.display_name.trim()),
        given => given.to_string(),
    };
    let mut body = json!({
        "displayName": f.display_name.trim(),
        "mailNickname": nickname,
        "mailEnabled": false,
        "securityEnabled": true,
        "isAssignableToRole": true,
    });
    if !f.description.trim().is_empty() {
        body["description"] = json!(f.description.trim());
    }
    body
}

pub async fn create(State(ui): State<UiState>, session: Session, Form(f): Form<NewGroupForm>) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let api = Api::new(&ui.api, &session.token);
    let created =
        api.post_as::<_, Group>("/v1.0/groups", &create_body(&f)).await.map(|g| group_href(&g.id.to_string()));
    after_write(&session, created, &format!("Created group {}.", f.display_name.trim()), "/groups")
}

struct MemberRow {
    id: String,
    name: String,
    upn: String,
    kind: &'static str,
}

#[derive(Template)]
#[template(path = "group.html")]
struct GroupPage {
    page: Chrome,
    g: Group,
    created: String,
    members: Vec<MemberRow>,
}

pub async fn detail(State(ui): State<UiState>, session: Session, Path(id): Path<String>) -> Response {
    let (mut chrome, _) = match page::start(&ui, &session, "groups", "Group").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let api = Api::new(&ui.api, &session.token);
    let loaded = async {
        let g: Group = api.get_as(&format!("/v1.0/groups/{}", seg(&id))).await?;
        let members: Vec<DirectoryObject> = api.list_all_as(&format!("/v1.0/groups/{}/members", g.id)).await?;
        Ok::<_, GraphError>((g, members))
    };
    let (g, members) = match loaded.await {
        Ok(x) => x,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    chrome.title = format!("Group: {}", g.display_name);
    let mut members: Vec<MemberRow> = members
        .iter()
        .map(|m| MemberRow {
            id: m.id().to_string(),
            name: m.display_name().to_string(),
            upn: m.user_principal_name().unwrap_or_default().to_string(),
            kind: match m {
                DirectoryObject::User(_) => "User",
                DirectoryObject::Group(_) => "Group",
                DirectoryObject::ServicePrincipal(_) => "Service principal",
            },
        })
        .collect();
    members.sort_by_key(|m| m.name.to_lowercase());
    let created = view::time_html(Some(g.created_date_time));
    session.finish(view::render(StatusCode::OK, &GroupPage { page: chrome, g, created, members }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AddMemberForm {
    csrf: String,
    /// The new member's sign-in name.
    member: String,
}

pub async fn add_member(
    State(ui): State<UiState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<AddMemberForm>,
) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let back = group_href(&id);
    let upn = f.member.trim();
    if upn.is_empty() {
        return session.redirect(&back, Flash::err("Enter the sign-in name of the user to add."));
    }
    let api = Api::new(&ui.api, &session.token);
    let added = async {
        let user: User = api.get_as(&format!("/v1.0/users/{}", seg(upn))).await?;
        let reference =
            json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", user.id) });
        api.post(&format!("/v1.0/groups/{}/members/$ref", seg(&id)), &reference).await?;
        Ok::<_, GraphError>(back.clone())
    };
    after_write(&session, added.await, &format!("Added {upn} to the group."), &back)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RemoveMemberForm {
    csrf: String,
    member_id: String,
    /// The member's and the group's names, for the confirmation page and the message.
    member_name: String,
    group_name: String,
    confirmed: String,
}

pub async fn remove_member(
    State(ui): State<UiState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<RemoveMemberForm>,
) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let back = group_href(&id);
    if !confirm::confirmed(&f.confirmed) {
        let c = Confirm {
            title: format!("Remove {} from {}?", f.member_name, f.group_name),
            effects: vec![format!(
                "{} will no longer be a member of {}, and loses at once every role they hold or \
                 are eligible for through this group.",
                f.member_name, f.group_name
            )],
            warning: None,
            action: format!("{back}/members/remove"),
            fields: vec![
                ("member_id".into(), f.member_id.clone()),
                ("member_name".into(), f.member_name.clone()),
                ("group_name".into(), f.group_name.clone()),
            ],
            confirm_label: "Remove member".into(),
            back,
        };
        return confirm::page(&ui, &session, "groups", c).await;
    }
    let api = Api::new(&ui.api, &session.token);
    let path = format!("/v1.0/groups/{}/members/{}/$ref", seg(&id), seg(&f.member_id));
    let removed = api.delete(&path).await.map(|()| back.clone());
    after_write(&session, removed, &format!("Removed {} from the group.", f.member_name), &back)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_body_is_a_role_assignable_security_group() {
        let f = NewGroupForm { display_name: "Tier 0 admins!".into(), ..Default::default() };
        assert_eq!(
            create_body(&f),
            json!({"displayName": "Tier 0 admins!", "mailNickname": "Tier0admins", "mailEnabled": false,
                   "securityEnabled": true, "isAssignableToRole": true})
        );
    }

    #[test]
    fn list_path_keeps_to_role_assignable_groups() {
        let lq = ListQuery { q: "ops".into(), ..Default::default() };
        assert_eq!(
            lq.api_path(),
            format!(
                "/v1.0/groups?$top=25&$orderby=displayName&$filter={}",
                q("isAssignableToRole eq true and startswith(displayName,'ops')")
            )
        );
    }
}
