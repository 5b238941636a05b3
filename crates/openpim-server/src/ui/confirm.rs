//! Confirmation of destructive actions without JavaScript: the action's form posts to the action
//! itself; without `confirmed=yes` the handler answers with this page, which states exactly what
//! will happen and re-posts the same fields with `confirmed=yes` (and the CSRF token), or goes
//! back. The API still decides whether the action is allowed.

use super::page;
use super::session::Session;
use super::view::{self, Chrome};
use super::UiState;
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

/// The value of the `confirmed` field that carries out the action.
const YES: &str = "yes";

/// Whether the form came from the confirmation page.
pub fn confirmed(field: &str) -> bool {
    field == YES
}

/// What the confirmation page asks.
pub struct Confirm {
    /// The page's heading, a question ("Delete user bob@x?").
    pub title: String,
    /// Exactly what will happen.
    pub consequence: String,
    /// Where Confirm posts (the action's own path).
    pub action: String,
    /// The action's fields to post again (the CSRF token and `confirmed` are added).
    pub fields: Vec<(String, String)>,
    /// The Confirm button's text ("Delete user").
    pub confirm_label: String,
    /// Where Cancel goes back to.
    pub cancel: String,
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    page: Chrome,
    c: Confirm,
    yes: &'static str,
}

/// The confirmation page for `c`, in the layout of `section`.
pub async fn ask(ui: &UiState, session: &Session, section: &'static str, c: Confirm) -> Response {
    let (chrome, _) = match page::start(ui, session, section, &c.title).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    session.finish(view::render(StatusCode::OK, &ConfirmPage { page: chrome, c, yes: YES }))
}
