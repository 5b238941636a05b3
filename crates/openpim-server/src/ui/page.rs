//! Loading a page: who is signed in (the layout shows it) and how API failures are shown.

use super::api::{Api, GraphError};
use super::session::Session;
use super::signin;
use super::view::{self, Chrome};
use super::UiState;
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use openpim_proto::directory::User;

/// The signed-in user (`/v1.0/me`) and the layout for a page in `section`.
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
            let chrome = Chrome {
                title: title.to_string(),
                section,
                user,
                csrf: session.csrf.clone(),
                flash: session.flash.clone(),
                error: None,
                azure: super::azure::tenant_has_azure(ui).await,
                alerts: may_read_alerts(ui, me.id),
            };
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
            },
            &e,
        ))),
    }
}

/// Whether to show the Alerts link: the right the alerts API checks (it decides the page too).
fn may_read_alerts(ui: &UiState, user: uuid::Uuid) -> bool {
    use openpim_core::authz::{cap, grant, Subject};
    let subject = Subject { id: user, is_member_user: true };
    grant::<cap::ReadRolePolicies>(&ui.app.index(), subject, &[], ui.app.now()).is_ok()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: Chrome,
}

/// A page whose data the API refused or failed to give: the layout with the error as a banner,
/// with the API's status (a 403 reads "You need a role that allows this page. ...").
pub fn failed(mut chrome: Chrome, e: &GraphError) -> Response {
    chrome.error = Some(view::describe_page(e));
    let status =
        if e.status.is_client_error() || e.status.is_server_error() { e.status } else { StatusCode::BAD_GATEWAY };
    view::render(status, &ErrorPage { page: chrome })
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
