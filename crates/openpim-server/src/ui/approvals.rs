//! Approvals: activation requests waiting for the signed-in user's decision, with Approve/Deny.

use super::api::{seg, Api, GraphError};
use super::page;
use super::session::Session;
use super::view::{self, Chrome, Flash};
use super::UiState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use serde_json::{json, Value};

const RM: &str = "/v1.0/roleManagement/directory";

struct Row {
    approval_id: String,
    requester: String,
    role_name: String,
    scope_label: String,
    justification: String,
    ticket: String,
    window: String,
    created: String,
    key: String,
}

#[derive(Template)]
#[template(path = "approvals.html")]
struct ApprovalsPage {
    page: Chrome,
    rows: Vec<Row>,
}

/// "from START for 2 hours" / "from START until END", from a request's scheduleInfo.
fn window(info: &Value) -> String {
    let start = match view::when(&info["startDateTime"]) {
        s if s.is_empty() => "when approved".to_string(),
        s => format!("from {s}"),
    };
    let exp = &info["expiration"];
    match exp["type"].as_str() {
        Some("afterDuration") => format!("{start} for {}", view::duration_words(&view::s(&exp["duration"]))),
        Some("afterDateTime") => format!("{start} until {}", view::when(&exp["endDateTime"])),
        _ => format!("{start}, no end"),
    }
}

pub async fn page(State(ui): State<UiState>, session: Session) -> Response {
    let (chrome, _) = match page::start(&ui, &session, "approvals", "Approvals").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let api = Api::new(&ui.api, &session.token);
    let path = format!(
        "{RM}/roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')?$expand=principal,roleDefinition"
    );
    let requests = match api.list_all(&path).await {
        Ok(r) => r,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    let rows = requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let p = &r["principal"];
            let ticket = [view::s(&r["ticketInfo"]["ticketSystem"]), view::s(&r["ticketInfo"]["ticketNumber"])]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            Row {
                approval_id: view::s(&r["approvalId"]),
                requester: format!("{} ({})", view::s(&p["displayName"]), view::s(&p["userPrincipalName"])),
                role_name: view::s(&r["roleDefinition"]["displayName"]),
                scope_label: view::scope_label(&view::s(&r["directoryScopeId"])),
                justification: view::s(&r["justification"]),
                ticket,
                window: window(&r["scheduleInfo"]),
                created: view::when(&r["createdDateTime"]),
                key: format!("r{i}"),
            }
        })
        .collect();
    session.finish(view::render(StatusCode::OK, &ApprovalsPage { page: chrome, rows }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DecideForm {
    csrf: String,
    approval: String,
    decision: String,
    reason: String,
}

/// Approves or denies: finds the step of the approval that is in progress and assigned to the
/// caller, and PATCHes it. Whether the caller may decide is the API's call.
pub async fn decide(State(ui): State<UiState>, session: Session, Form(f): Form<DecideForm>) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let decision = match f.decision.as_str() {
        "Approve" | "Deny" => f.decision.clone(),
        _ => return session.redirect("/approvals", Flash::err("Choose Approve or Deny.")),
    };
    let api = Api::new(&ui.api, &session.token);
    let base = format!("{RM}/roleAssignmentApprovals/{}", seg(f.approval.trim()));
    let result = async {
        let approval = api.get(&base).await?;
        let steps = approval["steps"].as_array().cloned().unwrap_or_default();
        let step = steps
            .iter()
            .find(|s| s["assignedToMe"].as_bool() == Some(true) && s["status"].as_str() == Some("InProgress"))
            .or_else(|| steps.iter().find(|s| s["status"].as_str() == Some("InProgress")))
            .ok_or_else(|| GraphError {
                status: StatusCode::BAD_REQUEST,
                code: "ApprovalNotPending".into(),
                message: "This request has no stage waiting for a decision.".into(),
            })?;
        let reason = f.reason.trim();
        let body = json!({"reviewResult": decision, "justification": if reason.is_empty() { Value::Null } else { Value::from(reason) }});
        api.patch(&format!("{base}/steps/{}", seg(&view::s(&step["id"]))), &body).await
    }
    .await;
    match result {
        Ok(_) => {
            let done = if decision == "Approve" { "approved" } else { "denied" };
            session.redirect("/approvals", Flash::ok(format!("The request is {done}.")))
        }
        Err(e) if e.is_unauthenticated() => super::signin::expired(&session, &e.message),
        Err(e) => session.redirect("/approvals", Flash::graph(&e)),
    }
}
