//! Confirmation for destructive actions, without JavaScript: a form posts to its action; when it
//! lacks `confirmed=yes` the handler renders this page, which states exactly what will happen and
//! re-posts the same fields with `confirmed=yes` (and the CSRF token), or goes back.

use super::page;
use super::session::Session;
use super::view::{self, Chrome};
use super::UiState;
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

/// What a confirmation page asks about.
pub struct Ask {
    pub title: String,
    /// Exactly what will happen, in one or two sentences.
    pub what: String,
    /// Where Confirm posts (the action itself).
    pub action: &'static str,
    /// The form's fields, re-posted as they came (besides `csrf` and `confirmed`).
    pub fields: Vec<(&'static str, String)>,
    pub button: String,
    /// Where Cancel leads.
    pub back: String,
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    page: Chrome,
    ask: Ask,
}

/// Whether the form carried the confirmation.
pub fn confirmed(raw: &str) -> bool {
    raw == "yes"
}

/// The confirmation page for `ask`, in the layout of `section`.
pub async fn page(ui: &UiState, session: &Session, section: &'static str, ask: Ask) -> Response {
    let (chrome, _) = match page::start(ui, session, section, &ask.title).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    session.finish(view::render(StatusCode::OK, &ConfirmPage { page: chrome, ask }))
}
