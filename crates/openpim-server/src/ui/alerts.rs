//! Alerts: the PIM security alerts for directory roles, active ones first with their incidents
//! (who, which role) and the remedy, with Dismiss and Refresh. Everything goes through the Graph
//! beta API (`identityGovernance/roleManagementAlerts`), which decides who may read and act.

use super::api::{seg, Api};
use super::page;
use super::session::Session;
use super::view::{self, Chrome, Flash};
use super::UiState;
use askama::Template;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;
use openpim_core::alerts::AlertKind;
use openpim_proto::alerts::{AlertIncident, RoleManagementAlert};
use serde::Deserialize;
use serde_json::json;

const ALERTS: &str = "/beta/identityGovernance/roleManagementAlerts/alerts";
pub(super) const LIST: &str = "/beta/identityGovernance/roleManagementAlerts/alerts?$filter=scopeId%20eq%20'%2F'%20and%20scopeType%20eq%20'DirectoryRole'&$expand=alertDefinition,alertIncidents";

struct IncidentRow {
    who: String,
    role: String,
    detail: String,
}

struct AlertRow {
    id: String,
    name: String,
    severity: String,
    active: bool,
    incident_count: i64,
    scanned: String,
    description: String,
    fix: String,
    remedy: String,
    incidents: Vec<IncidentRow>,
}

fn when(t: Option<time::OffsetDateTime>) -> String {
    t.map_or_else(|| "never".to_string(), |t| view::when(Some(t)))
}

fn incident(i: &AlertIncident) -> IncidentRow {
    let who = i
        .assignee_display_name
        .clone()
        .flatten()
        .map(|n| match i.assignee_user_principal_name.clone().flatten() {
            Some(upn) => format!("{n} ({upn})"),
            None => n,
        })
        .unwrap_or_default();
    let detail = match (&i.last_sign_in_date_time, &i.last_activation_date_time, &i.assignment_created_date_time) {
        (Some(t), _, _) => format!("Last sign-in: {}", when(*t)),
        (_, Some(t), _) => format!("Last activation: {}", when(*t)),
        (_, _, Some(t)) => format!("Assigned: {}", when(*t)),
        _ => String::new(),
    };
    IncidentRow { who, role: i.role_display_name.clone().flatten().unwrap_or_default(), detail }
}

fn row(a: &RoleManagementAlert) -> AlertRow {
    let d = a.alert_definition.as_ref();
    let kind = AlertKind::from_key(a.id.rsplit('_').next().unwrap_or_default());
    let count = a.incident_count.to_string();
    AlertRow {
        id: a.id.clone(),
        name: d.map_or_else(|| a.id.clone(), |d| d.display_name.clone()),
        severity: d.map(|d| d.severity_level.clone()).unwrap_or_default(),
        active: a.is_active,
        incident_count: a.incident_count,
        scanned: when(a.last_scanned_date_time),
        // Graph's descriptions carry `{0}` placeholders; the count is the one we have.
        description: d
            .map(|d| {
                d.description
                    .replace("{0}", &count)
                    .replace(" in the past {1} day(s)", "")
                    .replace(" in the past {1} days", "")
            })
            .unwrap_or_default(),
        fix: d.map(|d| d.mitigation_steps.replace('·', " ").trim().to_string()).unwrap_or_default(),
        remedy: kind.map(AlertKind::remedy_url).unwrap_or_default(),
        incidents: a.alert_incidents.iter().flatten().map(incident).collect(),
    }
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    page: Chrome,
    active: Vec<AlertRow>,
    quiet: Vec<AlertRow>,
}

pub async fn page(State(ui): State<UiState>, session: Session) -> Response {
    let (chrome, _) = match page::start(&ui, &session, "alerts", "Alerts").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let api = Api::new(&ui.api, &session.token);
    let alerts: Vec<RoleManagementAlert> = match api.list_all_as(LIST).await {
        Ok(a) => a,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    let (active, quiet): (Vec<AlertRow>, Vec<AlertRow>) = alerts.iter().map(row).partition(|r| r.active);
    session.finish(view::render(StatusCode::OK, &AlertsPage { page: chrome, active, quiet }))
}

#[derive(Deserialize)]
pub struct DismissForm {
    csrf: String,
    id: String,
}

pub async fn dismiss(State(ui): State<UiState>, session: Session, Form(f): Form<DismissForm>) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let api = Api::new(&ui.api, &session.token);
    match api.patch(&format!("{ALERTS}/{}", seg(&f.id)), &json!({"isActive": false})).await {
        Ok(_) => session.redirect("/alerts", Flash::ok("Dismissed: the alert returns if a new incident appears.")),
        Err(e) if e.is_unauthenticated() => super::signin::expired(&session, &e.message),
        Err(e) => session.redirect("/alerts", Flash::graph(&e)),
    }
}

#[derive(Deserialize)]
pub struct RefreshForm {
    csrf: String,
}

pub async fn refresh(State(ui): State<UiState>, session: Session, Form(f): Form<RefreshForm>) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let api = Api::new(&ui.api, &session.token);
    match api.post(&format!("{ALERTS}/refresh"), &json!({"scopeId": "/", "scopeType": "DirectoryRole"})).await {
        Ok(_) => session.redirect("/alerts", Flash::ok("Alerts refreshed.")),
        Err(e) if e.is_unauthenticated() => super::signin::expired(&session, &e.message),
        Err(e) => session.redirect("/alerts", Flash::graph(&e)),
    }
}
