//! Loading a page: who is signed in (the layout shows it) and how API failures are shown.

use super::api::{Api, GraphError};
use super::session::Session;
use super::signin;
use super::view::{self, Chrome, Nav};
use super::UiState;
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use openpim_proto::directory::User;

/// The signed-in user (`/v1.0/me`) and the layout for a page in `section`. A section the
/// person may not use ([`Nav`]) is the HTML 403 page, whatever the API would answer.
pub async fn start(
    ui: &UiState,
    session: &Session,
    section: &'static str,
    title: &str,
) -> Result<(Chrome, User), Response> {
    let api = Api::new(&ui.api, &session.token);
    match api.get_as::<User>("/v1.0/me").await {
        Ok(me) => {
            let user = format!("{} ({})", me.display_name, me.user_principal_name);
            let nav = nav_for(ui, me.id);
            let chrome = Chrome {
                title: title.to_string(),
                section,
                user,
                csrf: session.csrf.clone(),
                flash: session.flash.clone(),
                error: None,
                azure: may_use_azure(ui, me.id).await,
                alerts: may_read_alerts(ui, me.id),
                nav,
            };
            if !allowed(&chrome, section) {
                return Err(session.finish(forbidden(chrome)));
            }
            Ok((chrome, me))
        }
        Err(e) if e.is_unauthenticated() => Err(signin::expired(session, &e.message)),
        Err(e) => Err(session.finish(failed(
            Chrome {
                title: title.to_string(),
                section,
                user: String::new(),
                csrf: session.csrf.clone(),
                flash: session.flash.clone(),
                error: None,
                azure: false,
                alerts: false,
                nav: Nav::default(),
            },
            &e,
        ))),
    }
}

/// Whether to show "Azure resources": the tenant has an Azure hierarchy and the person holds an
/// Azure role now (the pages show what ARM lets them read) or may register subscriptions.
async fn may_use_azure(ui: &UiState, user: uuid::Uuid) -> bool {
    use openpim_core::authz::{check, Operation};
    use openpim_core::scope::Scope;
    let allowed = {
        let index = ui.app.index();
        let now = ui.app.now();
        index.effective_grants(user, now).iter().any(|g| matches!(g.grant.scope, Scope::Arm(_)))
            || check(&index, user, Operation::RegisterAzureSubscriptions, &[], now).is_ok()
    };
    allowed && super::azure::tenant_has_azure(ui).await
}

/// Whether to show the Alerts link: the right the alerts API checks (it decides the page too).
fn may_read_alerts(ui: &UiState, user: uuid::Uuid) -> bool {
    use openpim_core::authz::{cap, grant, Subject};
    let subject = Subject { id: user, is_member_user: true };
    grant::<cap::ReadRolePolicies>(&ui.app.index(), subject, &[], ui.app.now()).is_ok()
}

/// The sections the person may use, derived in this one place from the rights the API checks
/// (the access index's effective roles, `openpim_core::authz`). The admin pages ask for a role
/// granting what they manage or read: Entra's default member permissions (anyone may read the
/// directory and the role catalog) do not make a management page useful.
fn nav_for(ui: &UiState, user: uuid::Uuid) -> Nav {
    use openpim_core::authz::{check, Operation};
    let index = ui.app.index();
    let now = ui.app.now();
    let any = |ops: &[Operation]| ops.iter().any(|op| check(&index, user, *op, &[], now).is_ok());
    Nav {
        roles: any(&[Operation::ReadRoleAssignments, Operation::ManageRoleAssignments, Operation::ReadRolePolicies]),
        users: any(&[Operation::CreateUser, Operation::UpdateUser, Operation::DeleteUser, Operation::ReadDirectory]),
        groups: any(&[
            Operation::CreateRoleAssignableGroup,
            Operation::UpdateRoleAssignableGroup,
            Operation::ReadDirectory,
        ]),
        audit: any(&[Operation::ReadAuditLogs]),
    }
}

/// Whether the navigation offers `section` to the person (pages outside the admin sections are
/// everyone's; the API still decides what each shows).
fn allowed(chrome: &Chrome, section: &str) -> bool {
    match section {
        "roles" => chrome.nav.roles,
        "users" => chrome.nav.users,
        "groups" => chrome.nav.groups,
        "audit" => chrome.nav.audit,
        "alerts" => chrome.alerts,
        _ => true,
    }
}

/// The HTML 403 page for a section the person may not use.
pub fn forbidden(mut chrome: Chrome) -> Response {
    chrome.error =
        Some("You need a directory role that allows this page; ask an administrator if you should have one.".into());
    view::render(StatusCode::FORBIDDEN, &ErrorPage::new(chrome, StatusCode::FORBIDDEN))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: Chrome,
    status: u16,
    reason: &'static str,
    /// Server-side failures name the request, so the person can hand the id to an operator.
    request_id: Option<String>,
}

impl ErrorPage {
    fn new(page: Chrome, status: StatusCode) -> Self {
        let request_id = if status.is_server_error() {
            crate::transport::current().map(|ids| ids.request_id.to_string())
        } else {
            None
        };
        Self { page, status: status.as_u16(), reason: status.canonical_reason().unwrap_or("Error"), request_id }
    }
}

/// A page whose data the API refused or failed to give: the layout with the error as a banner,
/// with the API's status (a 403 reads "You need a role that allows this page. ...").
pub fn failed(mut chrome: Chrome, e: &GraphError) -> Response {
    chrome.error = Some(view::describe_page(e));
    let status =
        if e.status.is_client_error() || e.status.is_server_error() { e.status } else { StatusCode::BAD_GATEWAY };
    view::render(status, &ErrorPage::new(chrome, status))
}

/// Handles an API failure while loading a page after [`start`]: sign in again on 401, else the
/// error page.
pub fn load_failed(session: &Session, chrome: Chrome, e: &GraphError) -> Response {
    if e.is_unauthenticated() {
        signin::expired(session, &e.message)
    } else {
        session.finish(failed(chrome, e))
    }
}
