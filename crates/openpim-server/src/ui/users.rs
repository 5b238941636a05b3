//! Users: the directory's users with search, sorting and paging, and a user's page to edit,
//! disable or enable, and delete them. Every read and write is Graph's `/v1.0/users` with the
//! signed-in person's token, so the API decides (a protected account, a missing role) and its
//! refusals are shown as they come.

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
use openpim_proto::directory::{DirectoryObject, User};
use openpim_proto::Collection;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// Users per page.
const PAGE_ROWS: usize = 25;

/// Columns the list sorts by (Graph property names, all sortable in the API).
const SORTS: [&str; 4] = ["displayName", "userPrincipalName", "department", "createdDateTime"];

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    q: String,
    sort: String,
    desc: String,
    /// The API's `$skiptoken` of the page to show.
    after: String,
}

impl ListQuery {
    fn sort(&self) -> &str {
        SORTS.iter().find(|s| **s == self.sort).copied().unwrap_or("displayName")
    }

    fn desc(&self) -> bool {
        self.desc == "1"
    }

    /// The Graph path of this page of the list.
    fn api_path(&self) -> String {
        let mut path = format!("/v1.0/users?$top={PAGE_ROWS}&$orderby={}", q(&order(self.sort(), self.desc())));
        let term = self.q.trim();
        if !term.is_empty() {
            let filter = format!(
                "startswith(displayName,{t}) or startswith(userPrincipalName,{t}) or startswith(surname,{t})",
                t = lit(term)
            );
            path.push_str(&format!("&$filter={}", q(&filter)));
        }
        if !self.after.is_empty() {
            path.push_str(&format!("&$skiptoken={}", q(&self.after)));
        }
        path
    }

    /// This list's address without sort and page (what the column headers extend).
    fn base(&self) -> String {
        if self.q.trim().is_empty() {
            "/users".into()
        } else {
            format!("/users?q={}", q(self.q.trim()))
        }
    }
}

fn order(sort: &str, desc: bool) -> String {
    if desc {
        format!("{sort} desc")
    } else {
        sort.to_string()
    }
}

struct UserRow {
    id: String,
    name: String,
    upn: String,
    department: String,
    user_type: String,
    enabled: bool,
    created: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    page: Chrome,
    query: String,
    rows: Vec<UserRow>,
    headers: Vec<(&'static str, SortLink)>,
    next: Option<String>,
    first: Option<String>,
}

pub async fn list(State(ui): State<UiState>, session: Session, Query(lq): Query<ListQuery>) -> Response {
    let (chrome, _) = match page::start(&ui, &session, "users", "Users").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let api = Api::new(&ui.api, &session.token);
    let found: Collection<User> = match api.get_as(&lq.api_path()).await {
        Ok(c) => c,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    let base = lq.base();
    let sorted = {
        let sep = if base.contains('?') { '&' } else { '?' };
        let desc = if lq.desc() { "&desc=1" } else { "" };
        format!("{base}{sep}sort={}{desc}", lq.sort())
    };
    let next = view::skiptoken_of(found.next_link.as_deref()).map(|t| format!("{sorted}&after={}", q(&t)));
    let first = (!lq.after.is_empty()).then(|| sorted.clone());
    let headers = [
        ("Name", "displayName"),
        ("Sign-in name", "userPrincipalName"),
        ("Department", "department"),
        ("Created", "createdDateTime"),
    ]
    .into_iter()
    .map(|(label, key)| (label, view::sort_link(&base, key, lq.sort(), lq.desc())))
    .collect();
    let rows = found
        .value
        .into_iter()
        .map(|u| UserRow {
            id: u.id.to_string(),
            name: u.display_name,
            upn: u.user_principal_name,
            department: u.department.unwrap_or_default(),
            user_type: u.user_type,
            enabled: u.account_enabled,
            created: view::time_html(Some(u.created_date_time)),
        })
        .collect();
    let page = UsersPage { page: chrome, query: lq.q.trim().to_string(), rows, headers, next, first };
    session.finish(view::render(StatusCode::OK, &page))
}

/// The create and edit forms' fields.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct UserForm {
    csrf: String,
    display_name: String,
    user_principal_name: String,
    mail_nickname: String,
    given_name: String,
    surname: String,
    job_title: String,
    department: String,
    /// The create form's "Account enabled" checkbox.
    account_enabled: Option<String>,
}

/// The optional properties, for a create (left out when empty) or an update (cleared, `null`).
fn optional_props(f: &UserForm, body: &mut Map<String, Value>, clear_empty: bool) {
    for (key, value) in [
        ("givenName", &f.given_name),
        ("surname", &f.surname),
        ("jobTitle", &f.job_title),
        ("department", &f.department),
    ] {
        let value = value.trim();
        if !value.is_empty() {
            body.insert(key.into(), json!(value));
        } else if clear_empty {
            body.insert(key.into(), Value::Null);
        }
    }
}

/// The body of `POST /v1.0/users`: the mail nickname defaults to the sign-in name's local part.
fn create_body(f: &UserForm) -> Value {
    let upn = f.user_principal_name.trim();
    let nickname = match f.mail_nickname.trim() {
        "" => upn.split('@').next().unwrap_or_default(),
        given => given,
    };
    let mut body = Map::new();
    body.insert("displayName".into(), json!(f.display_name.trim()));
    body.insert("userPrincipalName".into(), json!(upn));
    body.insert("mailNickname".into(), json!(nickname));
    body.insert("accountEnabled".into(), json!(f.account_enabled.is_some()));
    optional_props(f, &mut body, false);
    Value::Object(body)
}

/// The body of `PATCH /v1.0/users/{id}` from the edit form.
fn update_body(f: &UserForm) -> Value {
    let mut body = Map::new();
    body.insert("displayName".into(), json!(f.display_name.trim()));
    body.insert("userPrincipalName".into(), json!(f.user_principal_name.trim()));
    if !f.mail_nickname.trim().is_empty() {
        body.insert("mailNickname".into(), json!(f.mail_nickname.trim()));
    }
    optional_props(f, &mut body, true);
    Value::Object(body)
}

fn user_href(id: &str) -> String {
    format!("/users/{}", seg(id))
}

/// Where a write goes next: its page with the message, or sign-in again on 401.
fn after_write(session: &Session, result: Result<String, GraphError>, ok: &str, back: &str) -> Response {
    match result {
        Ok(to) => session.redirect(&to, Flash::ok(ok)),
        Err(e) if e.is_unauthenticated() => super::signin::expired(session, &e.message),
        Err(e) => session.redirect(back, Flash::graph(&e)),
    }
}

pub async fn create(State(ui): State<UiState>, session: Session, Form(f): Form<UserForm>) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let api = Api::new(&ui.api, &session.token);
    let created = api.post_as::<_, User>("/v1.0/users", &create_body(&f)).await.map(|u| user_href(&u.id.to_string()));
    let done = format!("Created user {}.", f.user_principal_name.trim());
    after_write(&session, created, &done, "/users")
}

struct Membership {
    name: String,
    kind: &'static str,
    href: String,
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    page: Chrome,
    u: User,
    created: String,
    member_of: Vec<Membership>,
}

pub async fn detail(State(ui): State<UiState>, session: Session, Path(id): Path<String>) -> Response {
    let (mut chrome, _) = match page::start(&ui, &session, "users", "User").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let api = Api::new(&ui.api, &session.token);
    let loaded = async {
        let u: User = api.get_as(&format!("/v1.0/users/{}", seg(&id))).await?;
        let groups: Vec<DirectoryObject> = api.list_all_as(&format!("/v1.0/users/{}/memberOf", u.id)).await?;
        Ok::<_, GraphError>((u, groups))
    };
    let (u, groups) = match loaded.await {
        Ok(x) => x,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    chrome.title = format!("User: {}", u.display_name);
    let member_of = groups
        .iter()
        .map(|g| match g {
            DirectoryObject::Group(g) => Membership {
                name: g.display_name.clone(),
                kind: if g.is_assignable_to_role { "Role-assignable group" } else { "Group" },
                href: if g.is_assignable_to_role { format!("/groups/{}", g.id) } else { String::new() },
            },
            other => {
                Membership { name: other.display_name().to_string(), kind: "Directory object", href: String::new() }
            }
        })
        .collect();
    let created = view::time_html(Some(u.created_date_time));
    session.finish(view::render(StatusCode::OK, &UserPage { page: chrome, u, created, member_of }))
}

pub async fn update(
    State(ui): State<UiState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<UserForm>,
) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let api = Api::new(&ui.api, &session.token);
    let back = user_href(&id);
    let saved = api.patch(&format!("/v1.0/users/{}", seg(&id)), &update_body(&f)).await.map(|_| back.clone());
    after_write(&session, saved, "Saved the user's properties.", &back)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AccountForm {
    csrf: String,
    /// `true` to enable the account, `false` to disable it.
    enabled: String,
    /// The user's name, for the confirmation page.
    name: String,
    confirmed: String,
}

/// Enable or disable sign-in (`accountEnabled`). Disabling is confirmed first.
pub async fn account(
    State(ui): State<UiState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<AccountForm>,
) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let back = user_href(&id);
    let enable = match f.enabled.as_str() {
        "true" => true,
        "false" => false,
        _ => return session.redirect(&back, Flash::err("Choose whether to enable or disable the account.")),
    };
    if !enable && !confirm::confirmed(&f.confirmed) {
        let c = Confirm {
            title: format!("Disable {}?", f.name),
            effects: vec![format!(
                "{} will no longer be able to sign in to OpenPIM or call its API. Their roles and \
                 assignments stay as they are; enable the account again to restore sign-in.",
                f.name
            )],
            warning: None,
            action: format!("{back}/account"),
            fields: vec![("enabled".into(), "false".into()), ("name".into(), f.name.clone())],
            confirm_label: "Disable account".into(),
            back,
        };
        return confirm::page(&ui, &session, "users", c).await;
    }
    let api = Api::new(&ui.api, &session.token);
    let saved = api.patch(&format!("/v1.0/users/{}", seg(&id)), &json!({ "accountEnabled": enable })).await;
    let done = if enable { "The account is enabled." } else { "The account is disabled." };
    after_write(&session, saved.map(|_| back.clone()), done, &back)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DeleteForm {
    csrf: String,
    name: String,
    confirmed: String,
}

pub async fn delete(
    State(ui): State<UiState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<DeleteForm>,
) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let back = user_href(&id);
    if !confirm::confirmed(&f.confirmed) {
        let c = Confirm {
            title: format!("Delete {}?", f.name),
            effects: vec![format!(
                "{} will be deleted from the directory: they can no longer sign in, and their \
                 group memberships end. This cannot be undone here.",
                f.name
            )],
            warning: None,
            action: format!("{back}/delete"),
            fields: vec![("name".into(), f.name.clone())],
            confirm_label: "Delete user".into(),
            back,
        };
        return confirm::page(&ui, &session, "users", c).await;
    }
    let api = Api::new(&ui.api, &session.token);
    let deleted = api.delete(&format!("/v1.0/users/{}", seg(&id))).await.map(|()| "/users".to_string());
    after_write(&session, deleted, &format!("Deleted {}.", f.name), &back)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies() {
        let f = UserForm {
            display_name: " Carol ".into(),
            user_principal_name: "carol@x".into(),
            department: "Ops".into(),
            account_enabled: Some("on".into()),
            ..Default::default()
        };
        assert_eq!(
            create_body(&f),
            json!({"displayName": "Carol", "userPrincipalName": "carol@x", "mailNickname": "carol",
                   "accountEnabled": true, "department": "Ops"})
        );
        assert_eq!(
            update_body(&f),
            json!({"displayName": "Carol", "userPrincipalName": "carol@x", "givenName": null, "surname": null,
                   "jobTitle": null, "department": "Ops"})
        );
    }

    #[test]
    fn list_paths() {
        let lq = ListQuery { q: "o'b".into(), sort: "bogus".into(), desc: "1".into(), after: "t=".into() };
        assert_eq!(
            lq.api_path(),
            format!(
                "/v1.0/users?$top=25&$orderby=displayName%20desc&$filter={}&$skiptoken=t%3D",
                q("startswith(displayName,'o''b') or startswith(userPrincipalName,'o''b') or startswith(surname,'o''b')")
            )
        );
        assert_eq!(lq.base(), "/users?q=o%27b");
    }
}
