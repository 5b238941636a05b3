//! The Approvals page's Azure part (issue #16): Azure activations waiting for the signed-in
//! user's decision, and the decision on one.
//!
//! Which approvals wait for the user, and every decision, are ARM's
//! (`roleAssignmentApprovals?$filter=asApprover()` and a PATCH of the stage assigned to the
//! user, in-process with the session's ARM token), so the approver check and "nobody approves
//! their own request" are the API's. ARM's approval resource carries no request details, and an
//! approver need not be able to read the scope's requests, so the details of the approvals ARM
//! listed (requester, role, scope, justification, window) are read from the store.

use super::api::{q, GraphError, GraphResult};
use super::approvals::{window_of, Ends, Row};
use super::azure::{arm, scope_label, tenant_has_azure, typed};
use super::session::Session;
use super::view;
use super::UiState;
use axum::http::{Method, StatusCode};
use openpim_core::approval::{ReviewResult, StepStatus};
use openpim_core::schedule::{ExpirationType, Kind, ScheduleRequest};
use openpim_core::scope::{ArmScope, Scope};
use openpim_proto::arm::approvals::RoleAssignmentApproval;
use serde_json::{json, Value};

/// The api-version of role assignment approvals.
const APPROVALS_V: &str = "api-version=2021-01-01-preview";
const APPROVALS: &str = "/providers/Microsoft.Authorization/roleAssignmentApprovals";

fn unavailable(e: impl std::fmt::Display) -> GraphError {
    GraphError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        code: "UnknownError".into(),
        message: format!("The approval's request could not be read: {e}"),
    }
}

/// A scope as an approver reads it: kind and display name (`Subscription Contoso`); the path is
/// shown beside it.
async fn scope_name(ui: &UiState, scope: &ArmScope) -> String {
    match crate::arm::role_management_policies::scope_info(&ui.app, scope).await {
        Ok(info) => {
            let kind = scope_label(scope.as_str());
            let kind = kind.rsplit_once(' ').map_or(kind.as_str(), |(k, _)| k).to_string();
            match info.display_name {
                Some(name) if !scope.is_root() => format!("{kind} {name}"),
                _ => scope_label(scope.as_str()),
            }
        }
        Err(_) => scope_label(scope.as_str()),
    }
}

/// One request's row.
async fn row(ui: &UiState, approval: &str, stage: &str, r: &ScheduleRequest, key: String) -> GraphResult<Row> {
    let Scope::Arm(scope) = &r.scope else { return Err(unavailable("not an Azure request")) };
    let requester = match ui.app.store.get_user(r.principal_id).await.map_err(unavailable)? {
        Some(u) => format!("{} ({})", u.display_name, u.user_principal_name),
        None => r.principal_id.to_string(),
    };
    let role = ui.app.store.azure_role_definition(r.role_definition_id).await.map_err(unavailable)?;
    let ticket = [&r.ticket.system, &r.ticket.number]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let window = match &r.schedule {
        Some(s) => {
            let end = match s.expiration.kind {
                ExpirationType::AfterDuration => {
                    s.expiration.duration.map(|d| Ends::After(openpim_core::duration::format(d)))
                }
                ExpirationType::AfterDateTime => Some(Ends::At(s.expiration.end)),
                _ => None,
            };
            window_of(s.start, end)
        }
        None => window_of(None, None),
    };
    Ok(Row {
        approval_id: approval.to_string(),
        stage_id: stage.to_string(),
        requester,
        role_name: role.map_or_else(|| r.role_definition_id.to_string(), |d| d.display_name),
        scope_label: scope_name(ui, scope).await,
        scope_path: scope.as_str().to_string(),
        justification: r.justification.clone().unwrap_or_default(),
        ticket,
        window,
        created: view::when(Some(r.created)),
        created_at: r.created,
        key,
    })
}

/// The Azure activations waiting for the user's decision; keys continue from `first`.
pub async fn rows(ui: &UiState, session: &Session, first: usize) -> GraphResult<Vec<Row>> {
    if !tenant_has_azure(ui).await {
        return Ok(Vec::new());
    }
    let api = arm(ui, session);
    let answer = api.get(&format!("{APPROVALS}?{APPROVALS_V}&$filter={}", q("asApprover()"))).await?;
    let approvals: Vec<RoleAssignmentApproval> = match answer.get("value") {
        Some(Value::Array(v)) => v.iter().cloned().map(typed).collect::<GraphResult<_>>()?,
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for a in approvals {
        // asApprover() lists every approval naming the user as an approver; the page shows the
        // ones whose stage in progress is theirs to decide.
        let waits_for_me = |s: &&openpim_proto::arm::approvals::ApprovalStage| {
            s.properties.assigned_to_me && s.properties.status.parse() == Ok(StepStatus::InProgress)
        };
        let Some(stage) = a.properties.stages.iter().find(waits_for_me) else { continue };
        let Ok(id) = uuid::Uuid::parse_str(&a.name) else { continue };
        let Some(approval) = ui.app.store.get_approval(id).await.map_err(unavailable)? else { continue };
        let request = ui.app.store.get_request(Kind::Assignment, approval.request_id).await.map_err(unavailable)?;
        // ARM's list holds the directory's approvals too; those are on the page through Graph.
        let Some(request) = request.filter(|r| r.scope.as_arm().is_some()) else { continue };
        let key = format!("r{}", first + out.len());
        out.push(row(ui, &a.name, &stage.name, &request, key).await?);
    }
    Ok(out)
}

/// Approves or denies the stage `stage` of the Azure approval `approval`.
pub async fn decide(
    ui: &UiState,
    session: &Session,
    approval: &str,
    stage: &str,
    decision: ReviewResult,
    reason: Option<String>,
) -> GraphResult<()> {
    let path = format!("{APPROVALS}/{}/stages/{}?{APPROVALS_V}", q(approval), q(stage));
    let mut body = json!({"reviewResult": decision.to_string()});
    if let Some(r) = reason {
        body["justification"] = json!(r);
    }
    arm(ui, session).call(Method::PATCH, &path, Some(&body)).await.map(|_| ())
}
