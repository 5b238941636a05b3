//! Confirmation of destructive actions without JavaScript: the action's form posts as usual; when
//! it lacks `confirmed=yes` the handler renders this page instead of acting. It states exactly
//! what will happen and re-posts the same fields with `confirmed=yes` (and the CSRF token), or
//! goes back.

use super::page;
use super::session::Session;
use super::view::{self, Chrome};
use super::UiState;
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

/// What a confirmation page shows and re-posts.
pub struct Confirm {
    /// The page's heading, e.g. "Remove an eligible assignment".
    pub title: String,
    /// What will happen, one sentence each.
    pub effects: Vec<String>,
    /// Something that may stop it (e.g. the 5-minute rule), shown as a warning.
    pub warning: Option<String>,
    /// Where Confirm posts (the action itself).
    pub action: String,
    /// The original form's fields (without `csrf` and `confirmed`), re-posted as they were.
    pub fields: Vec<(String, String)>,
    /// The Confirm button's text.
    pub confirm_label: String,
    /// Where Cancel leads.
    pub back: String,
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    page: Chrome,
    c: Confirm,
}

/// Whether a posted form carries the confirmation.
pub fn confirmed(field: &str) -> bool {
    field == "yes"
}

/// Renders the confirmation page for `c` in the layout of section `section`.
pub async fn page(ui: &UiState, session: &Session, section: &'static str, c: Confirm) -> Response {
    let (chrome, _) = match page::start(ui, session, section, &c.title).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    session.finish(view::render(StatusCode::OK, &ConfirmPage { page: chrome, c }))
}
