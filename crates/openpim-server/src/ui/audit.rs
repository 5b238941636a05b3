//! Audit: the directory audit log with filters (actor, target, role, activity, result, date
//! range) and paging, a record's page with every field, and the CSV of exactly the filtered
//! records. The API decides who may read it; the filters are one OData `$filter` that both the
//! page and the CSV export send.

use super::api::{lit, q, seg, Api, GraphError};
use super::page;
use super::session::Session;
use super::view::{self, Chrome};
use super::UiState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use openpim_proto::audit::DirectoryAudit;
use openpim_proto::Collection;
use serde::Deserialize;

/// The API's CSV export of the audit log.
const CSV_EXPORT: &str = "/v1.0/openpim/auditLogs/directoryAudits/csv";

/// Records per page; the CSV has every matching record.
const PAGE_ROWS: usize = 50;

/// The results a record can have (core's `AuditResult`).
const RESULTS: [&str; 2] = ["success", "failure"];

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct Filters {
    actor: String,
    target: String,
    role: String,
    activity: String,
    result: String,
    from: String,
    to: String,
    /// The API's `$skiptoken` of the page to show (not a filter: the CSV ignores it).
    after: String,
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
/// Targets are matched with `openpim_targets`, the records' target resources as text: any
/// target whose name, sign-in name or id contains the text; a role by its exact name.
fn odata_filter(f: &Filters) -> Result<Option<String>, String> {
    let mut parts = Vec::new();
    if !f.actor.trim().is_empty() {
        parts.push(format!("initiatedBy/user/userPrincipalName eq {}", lit(f.actor.trim())));
    }
    if !f.target.trim().is_empty() {
        parts.push(format!("contains(openpim_targets,{})", lit(f.target.trim())));
    }
    if !f.role.trim().is_empty() {
        // The stored target `{"displayName":"<role>",...}`, written as JSON writes the name.
        let name = serde_json::to_string(f.role.trim()).unwrap_or_default();
        parts.push(format!("contains(openpim_targets,{})", lit(&format!("\"displayName\":{name}"))));
    }
    if !f.activity.trim().is_empty() {
        parts.push(format!("contains(activityDisplayName,{})", lit(f.activity.trim())));
    }
    match f.result.trim() {
        "" => {}
        r if RESULTS.contains(&r) => parts.push(format!("result eq {}", lit(r))),
        other => return Err(format!("The result '{other}' is not one of success or failure.")),
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

fn path(filter: Option<&str>, after: &str) -> String {
    let mut path = format!("/v1.0/auditLogs/directoryAudits?$top={PAGE_ROWS}");
    if let Some(f) = filter {
        path.push_str(&format!("&$filter={}", q(f)));
    }
    if !after.is_empty() {
        path.push_str(&format!("&$skiptoken={}", q(after)));
    }
    path
}

struct Row {
    id: String,
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

fn actor(a: &DirectoryAudit) -> String {
    a.initiated_by.user.as_ref().and_then(|u| u.user_principal_name.clone()).unwrap_or_default()
}

fn row(a: &DirectoryAudit) -> Row {
    Row {
        id: a.id.to_string(),
        when: view::time_html(Some(a.activity_date_time)),
        activity: a.activity_display_name.clone(),
        actor: actor(a),
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
    results: [&'static str; 2],
    rows: Vec<Row>,
    next: Option<String>,
    first: Option<String>,
    csv_link: String,
}

/// The filters as a query string (the page's links and the CSV link carry them).
fn query_string(f: &Filters) -> String {
    format!(
        "actor={}&target={}&role={}&activity={}&result={}&from={}&to={}",
        q(&f.actor),
        q(&f.target),
        q(&f.role),
        q(&f.activity),
        q(&f.result),
        q(&f.from),
        q(&f.to)
    )
}

pub async fn page(State(ui): State<UiState>, session: Session, Query(f): Query<Filters>) -> Response {
    let (mut chrome, _) = match page::start(&ui, &session, "audit", "Audit log").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let filtered = format!("/audit?{}", query_string(&f));
    let csv_link = format!("/audit.csv?{}", query_string(&f));
    let filter = match odata_filter(&f) {
        Ok(filter) => filter,
        Err(msg) => {
            chrome.error = Some(msg);
            let page = AuditPage { page: chrome, f, results: RESULTS, rows: vec![], next: None, first: None, csv_link };
            return session.finish(view::render(StatusCode::BAD_REQUEST, &page));
        }
    };
    let api = Api::new(&ui.api, &session.token);
    let found: Collection<DirectoryAudit> = match api.get_as(&path(filter.as_deref(), &f.after)).await {
        Ok(p) => p,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    let next = view::skiptoken_of(found.next_link.as_deref()).map(|t| format!("{filtered}&after={}", q(&t)));
    let first = (!f.after.is_empty()).then(|| filtered.clone());
    let rows = found.value.iter().map(row).collect();
    let page = AuditPage { page: chrome, f, results: RESULTS, rows, next, first, csv_link };
    session.finish(view::render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "audit_record.html")]
struct RecordPage {
    page: Chrome,
    a: DirectoryAudit,
    when: String,
    chain_seq: String,
    chain_hash: String,
}

/// A record's page: every field of Graph's `directoryAudit`, and its place in the audit chain.
pub async fn record(State(ui): State<UiState>, session: Session, Path(id): Path<String>) -> Response {
    let (mut chrome, _) = match page::start(&ui, &session, "audit", "Audit record").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let api = Api::new(&ui.api, &session.token);
    let loaded = async {
        let path = format!("/v1.0/auditLogs/directoryAudits/{}", seg(&id));
        let a: DirectoryAudit = api.get_as(&path).await?;
        // The chain properties come only when selected (see the API).
        let chain = api.get(&format!("{path}?$select=openpim_chainSeq,openpim_chainHash")).await?;
        Ok::<_, GraphError>((a, chain))
    };
    let (a, chain) = match loaded.await {
        Ok(x) => x,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    chrome.title = format!("Audit record: {}", a.activity_display_name);
    let chain_seq = chain["openpim_chainSeq"].as_i64().map(|s| s.to_string()).unwrap_or_default();
    let chain_hash = chain["openpim_chainHash"].as_str().unwrap_or_default().to_string();
    let when = view::time_html(Some(a.activity_date_time));
    session.finish(view::render(StatusCode::OK, &RecordPage { page: chrome, a, when, chain_seq, chain_hash }))
}

/// Download CSV: the API's CSV export (`/v1.0/openpim/auditLogs/directoryAudits/csv`) with the
/// page's filter, passed through as it streams; the UI has no CSV format of its own.
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
        let f = Filters {
            actor: "a'b@x".into(),
            from: "2026-01-02".into(),
            to: "2026-01-31".into(),
            result: "failure".into(),
            ..Default::default()
        };
        assert_eq!(
            odata_filter(&f).unwrap().unwrap(),
            "initiatedBy/user/userPrincipalName eq 'a''b@x' and result eq 'failure' and activityDateTime ge \
             2026-01-02T00:00:00Z and activityDateTime lt 2026-02-01T00:00:00Z"
        );
        let f = Filters { target: "bob".into(), role: "User \"Admin\"".into(), ..Default::default() };
        assert_eq!(
            odata_filter(&f).unwrap().unwrap(),
            r#"contains(openpim_targets,'bob') and contains(openpim_targets,'"displayName":"User \"Admin\""')"#
        );
        assert!(odata_filter(&Filters { from: "yesterday".into(), ..Default::default() }).is_err());
        assert!(odata_filter(&Filters { result: "maybe".into(), ..Default::default() }).is_err());
        assert_eq!(odata_filter(&Filters::default()).unwrap(), None);
    }
}
