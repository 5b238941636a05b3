//! Audit: the directory audit log with filters, and the same rows as CSV. The API decides who
//! may read it.

use super::api::{lit, q, Api, GraphError};
use super::page;
use super::session::Session;
use super::view::{self, Chrome};
use super::UiState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use openpim_proto::audit::DirectoryAudit;
use openpim_proto::Collection;
use serde::Deserialize;

/// The API's CSV export of the audit log.
const CSV_EXPORT: &str = "/v1.0/openpim/auditLogs/directoryAudits/csv";

/// Rows shown on the page; the CSV has every matching row.
const PAGE_ROWS: usize = 200;

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct Filters {
    actor: String,
    activity: String,
    from: String,
    to: String,
}

fn day(raw: &str, what: &str) -> Result<Option<time::Date>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    time::Date::parse(raw, time::macros::format_description!("[year]-[month]-[day]"))
        .map(Some)
        .map_err(|_| format!("The {what} date '{raw}' is not a date like 2026-12-31."))
}

/// The OData `$filter` for the form's filters (dates are whole UTC days, `to` inclusive).
fn odata_filter(f: &Filters) -> Result<Option<String>, String> {
    let mut parts = Vec::new();
    if !f.actor.trim().is_empty() {
        parts.push(format!("initiatedBy/user/userPrincipalName eq {}", lit(f.actor.trim())));
    }
    if !f.activity.trim().is_empty() {
        parts.push(format!("contains(activityDisplayName,{})", lit(f.activity.trim())));
    }
    if let Some(from) = day(&f.from, "from")? {
        parts.push(format!("activityDateTime ge {from}T00:00:00Z"));
    }
    if let Some(to) = day(&f.to, "to")? {
        match to.next_day() {
            Some(next) => parts.push(format!("activityDateTime lt {next}T00:00:00Z")),
            None => return Err("The to date is out of range.".into()),
        }
    }
    Ok(if parts.is_empty() { None } else { Some(parts.join(" and ")) })
}

fn path(filter: Option<&str>, top: usize) -> String {
    match filter {
        Some(f) => format!("/v1.0/auditLogs/directoryAudits?$top={top}&$filter={}", q(f)),
        None => format!("/v1.0/auditLogs/directoryAudits?$top={top}"),
    }
}

struct Row {
    when: String,
    activity: String,
    actor: String,
    targets: String,
    result: String,
    reason: String,
}

/// "Role User Administrator; User bob@x" (the store names every target when it writes a record).
fn targets(a: &DirectoryAudit) -> String {
    a.target_resources
        .iter()
        .map(|t| {
            let name = t.user_principal_name.as_deref().or(t.display_name.as_deref()).unwrap_or_default();
            if name.is_empty() {
                format!("{} {}", t.kind, t.id)
            } else {
                format!("{} {name}", t.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn row(a: &DirectoryAudit) -> Row {
    Row {
        when: view::when(Some(a.activity_date_time)),
        activity: a.activity_display_name.clone(),
        actor: a.initiated_by.user.as_ref().and_then(|u| u.user_principal_name.clone()).unwrap_or_default(),
        targets: targets(a),
        result: a.result.clone(),
        reason: a.result_reason.clone(),
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    page: Chrome,
    f: Filters,
    rows: Vec<Row>,
    more: bool,
    csv_link: String,
}

fn query_string(f: &Filters) -> String {
    format!("actor={}&activity={}&from={}&to={}", q(&f.actor), q(&f.activity), q(&f.from), q(&f.to))
}

pub async fn page(State(ui): State<UiState>, session: Session, Query(f): Query<Filters>) -> Response {
    let (mut chrome, _) = match page::start(&ui, &session, "audit", "Audit log").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let filter = match odata_filter(&f) {
        Ok(filter) => filter,
        Err(msg) => {
            chrome.error = Some(msg);
            let page = AuditPage { page: chrome, f, rows: vec![], more: false, csv_link: "/audit.csv".into() };
            return session.finish(view::render(StatusCode::BAD_REQUEST, &page));
        }
    };
    let api = Api::new(&ui.api, &session.token);
    let page: Collection<DirectoryAudit> = match api.get_as(&path(filter.as_deref(), PAGE_ROWS)).await {
        Ok(p) => p,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    let more = page.next_link.is_some();
    let rows = page.value.iter().map(row).collect();
    let csv_link = format!("/audit.csv?{}", query_string(&f));
    session.finish(view::render(StatusCode::OK, &AuditPage { page: chrome, f, rows, more, csv_link }))
}

/// Download CSV: the API's CSV export (`/v1.0/openpim/auditLogs/directoryAudits/csv`) with the
/// form's filters, passed through as it streams; the UI has no CSV format of its own.
pub async fn csv(State(ui): State<UiState>, session: Session, Query(f): Query<Filters>) -> Response {
    let filter = match odata_filter(&f) {
        Ok(filter) => filter,
        Err(msg) => return view::plain_error(StatusCode::BAD_REQUEST, &msg),
    };
    let path = match filter {
        Some(f) => format!("{CSV_EXPORT}?$filter={}", q(&f)),
        None => CSV_EXPORT.to_string(),
    };
    let api = Api::new(&ui.api, &session.token);
    let export = match api.get_raw(&path).await {
        Ok(resp) => resp,
        Err(e) if e.is_unauthenticated() => return super::signin::expired(&session, &e.message),
        Err(e) => return csv_refused(&e),
    };
    let mut headers = axum::http::HeaderMap::new();
    for name in [header::CONTENT_TYPE, header::CONTENT_DISPOSITION] {
        if let Some(v) = export.headers().get(&name) {
            headers.insert(name, v.clone());
        }
    }
    (headers, export.into_body()).into_response()
}

fn csv_refused(e: &GraphError) -> Response {
    view::plain_error(e.status, &view::describe_page(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        let f =
            Filters { actor: "a'b@x".into(), activity: "".into(), from: "2026-01-02".into(), to: "2026-01-31".into() };
        assert_eq!(
            odata_filter(&f).unwrap().unwrap(),
            "initiatedBy/user/userPrincipalName eq 'a''b@x' and activityDateTime ge 2026-01-02T00:00:00Z \
             and activityDateTime lt 2026-02-01T00:00:00Z"
        );
        assert!(odata_filter(&Filters { from: "yesterday".into(), ..Default::default() }).is_err());
        assert_eq!(odata_filter(&Filters::default()).unwrap(), None);
    }
}
