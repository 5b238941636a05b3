//! My requests: the signed-in user's own requests (activations, deactivations, extensions,
//! renewals), by status (pending, approved, denied, canceled), newest first, with Cancel
//! (confirmed) for those still waiting.

use super::api::Api;
use super::approvals::window;
use super::page;
use super::session::Session;
use super::view::{self, Chrome};
use super::UiState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use openpim_core::schedule::{Action, RequestStatus};
use openpim_proto::schedules::UnifiedRoleScheduleRequest;
use serde::Deserialize;

const RM: &str = "/v1.0/roleManagement/directory";
/// Rows per page.
const PAGE: usize = 25;

/// The status filters, as `?status=` and the tab's label.
pub const FILTERS: [(&str, &str); 5] =
    [("pending", "Pending"), ("approved", "Approved"), ("denied", "Denied"), ("canceled", "Canceled"), ("all", "All")];

/// Which filter a status belongs to.
fn filter_of(status: &str) -> &'static str {
    match status.parse() {
        Ok(RequestStatus::PendingApproval | RequestStatus::PendingAdminDecision) => "pending",
        Ok(RequestStatus::Provisioned | RequestStatus::Granted | RequestStatus::Revoked) => "approved",
        Ok(RequestStatus::Denied | RequestStatus::Failed | RequestStatus::TimedOut) => "denied",
        Ok(RequestStatus::Canceled) => "canceled",
        Err(_) => "all",
    }
}

/// A request's action as people read it.
fn action_words(action: &str, kind: &str) -> String {
    let what = match action.parse() {
        Ok(Action::SelfActivate) => "Activate",
        Ok(Action::SelfDeactivate) => "Deactivate",
        Ok(Action::SelfExtend) => "Extend",
        Ok(Action::SelfRenew) => "Renew",
        _ => action,
    };
    if kind == "eligibility" {
        format!("{what} eligibility")
    } else {
        what.to_string()
    }
}

pub struct RequestLine {
    pub id: String,
    pub kind: &'static str,
    pub role_name: String,
    pub scope_label: String,
    pub action: String,
    pub status: String,
    pub created: String,
    pub window: String,
    pub justification: String,
    pub cancelable: bool,
}

#[derive(Template)]
#[template(path = "my_requests.html")]
struct RequestsPage {
    page: Chrome,
    status: &'static str,
    rows: Vec<RequestLine>,
    page_no: usize,
    pages: usize,
}

impl RequestsPage {
    fn tab_current(&self, key: &str) -> &'static str {
        if self.status == key {
            "page"
        } else {
            "false"
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RequestsQuery {
    status: String,
    page: String,
}

pub async fn page(State(ui): State<UiState>, session: Session, Query(q): Query<RequestsQuery>) -> Response {
    let (chrome, _) = match page::start(&ui, &session, "requests", "My requests").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let status = FILTERS.iter().map(|f| f.0).find(|f| *f == q.status).unwrap_or("pending");
    let api = Api::new(&ui.api, &session.token);
    let mut all: Vec<(&'static str, UnifiedRoleScheduleRequest)> = Vec::new();
    for (kind, set) in
        [("assignment", "roleAssignmentScheduleRequests"), ("eligibility", "roleEligibilityScheduleRequests")]
    {
        let path = format!("{RM}/{set}/filterByCurrentUser(on='principal')?$expand=roleDefinition");
        match api.list_all_as::<UnifiedRoleScheduleRequest>(&path).await {
            // The user's own requests; an administrator's assignments to them are on My roles.
            Ok(list) => all.extend(
                list.into_iter().filter(|r| r.action.parse::<Action>().is_ok_and(Action::is_self)).map(|r| (kind, r)),
            ),
            Err(e) => return page::load_failed(&session, chrome, &e),
        }
    }
    all.retain(|(_, r)| status == "all" || filter_of(&r.status) == status);
    all.sort_by_key(|r| std::cmp::Reverse(r.1.created_date_time));
    let pages = all.len().div_ceil(PAGE).max(1);
    let page_no = q.page.parse::<usize>().unwrap_or(1).clamp(1, pages);
    let rows = all
        .iter()
        .skip((page_no - 1) * PAGE)
        .take(PAGE)
        .map(|(kind, r)| RequestLine {
            id: r.id.to_string(),
            kind,
            role_name: r
                .role_definition
                .as_ref()
                .map_or_else(|| r.role_definition_id.to_string(), |d| d.display_name.clone()),
            scope_label: view::scope_label(&r.directory_scope_id),
            action: action_words(&r.action, kind),
            status: r.status.clone(),
            created: view::when(Some(r.created_date_time)),
            window: match r.action.parse() {
                Ok(Action::SelfDeactivate) => String::new(),
                _ => window(r.schedule_info.as_ref()),
            },
            justification: r.justification.clone().unwrap_or_default(),
            cancelable: r.status.parse::<RequestStatus>().is_ok_and(RequestStatus::is_cancelable),
        })
        .collect();
    session.finish(view::render(StatusCode::OK, &RequestsPage { page: chrome, status, rows, page_no, pages }))
}
