//! `openpim approvals list|approve|deny`: activations waiting for the caller's decision.

use super::RM;
use crate::client::enc;
use crate::context::Ctx;
use crate::duration::human_iso;
use crate::error::{CliError, CliResult, Kind};
use crate::output::{emit, s, time, Table};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

const APPROVALS: &str = "/v1.0/roleManagement/directory/roleAssignmentApprovals";

#[derive(Subcommand)]
pub enum ApprovalsCommand {
    /// Activation requests waiting for your decision.
    List,
    /// Approve a request.
    Approve(DecideArgs),
    /// Deny a request.
    Deny(DecideArgs),
}

#[derive(Args)]
pub struct DecideArgs {
    /// Approval id or request id.
    id: String,
    /// Your justification (required by most policies).
    #[arg(long)]
    reason: Option<String>,
}

pub async fn run(ctx: &Ctx, cmd: ApprovalsCommand) -> CliResult<()> {
    match cmd {
        ApprovalsCommand::List => list(ctx).await,
        ApprovalsCommand::Approve(a) => decide(ctx, a, "Approve").await,
        ApprovalsCommand::Deny(a) => decide(ctx, a, "Deny").await,
    }
}

/// "from 09:00 for 2h", "from 09:00 until 11:00", as the request asked.
fn window(info: &Value) -> String {
    let start = info["startDateTime"].as_str().map(time).unwrap_or_else(|| "approval".into());
    let exp = &info["expiration"];
    match (exp["duration"].as_str(), exp["endDateTime"].as_str()) {
        (Some(d), _) => format!("from {start} for {}", human_iso(d)),
        (None, Some(end)) => format!("from {start} until {}", time(end)),
        _ => format!("from {start}, permanent"),
    }
}

async fn list(ctx: &Ctx) -> CliResult<()> {
    let path = format!("{RM}/roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')");
    let mut rows = Vec::new();
    for v in ctx.client.get_all(&path).await? {
        let principal_id = s(&v, "principalId");
        rows.push(json!({
            "approvalId": v["approvalId"],
            "requestId": v["id"],
            "principalId": principal_id,
            "requester": ctx.principal_name(principal_id).await,
            "roleDefinitionId": v["roleDefinitionId"],
            "role": ctx.role_name(s(&v, "roleDefinitionId")).await,
            "directoryScopeId": v["directoryScopeId"],
            "justification": v["justification"],
            "ticketInfo": v["ticketInfo"],
            "createdDateTime": v["createdDateTime"],
            "window": window(&v["scheduleInfo"]),
            "scheduleInfo": v["scheduleInfo"],
        }));
    }
    emit(ctx.format, &Value::from(rows.clone()), || {
        let mut t = Table::new(&["APPROVAL", "REQUESTED", "REQUESTER", "ROLE", "SCOPE", "WINDOW", "JUSTIFICATION"]);
        for r in &rows {
            t.row(vec![
                s(r, "approvalId").into(),
                time(s(r, "createdDateTime")),
                s(r, "requester").into(),
                s(r, "role").into(),
                s(r, "directoryScopeId").into(),
                s(r, "window").into(),
                s(r, "justification").into(),
            ]);
        }
        t.render()
    });
    Ok(())
}

/// The approval `id` names: an approval id, or the id of the request it decides (found among the
/// requests waiting for me, or among those I may read).
async fn approval(ctx: &Ctx, id: &str) -> CliResult<Value> {
    if let Some(a) = ctx.client.get_opt(&format!("{APPROVALS}/{}", enc(id))).await? {
        return Ok(a);
    }
    let waiting =
        ctx.client.get_all(&format!("{RM}/roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')")).await?;
    let request = match waiting.into_iter().find(|r| s(r, "id").eq_ignore_ascii_case(id)) {
        Some(r) => Some(r),
        None => ctx.client.get_opt(&format!("{RM}/roleAssignmentScheduleRequests/{}", enc(id))).await?,
    };
    let approval_id = request.as_ref().and_then(|r| r["approvalId"].as_str().map(str::to_string));
    match (request, approval_id) {
        (Some(_), Some(aid)) => ctx.client.get(&format!("{APPROVALS}/{}", enc(&aid))).await,
        (Some(_), None) => Err(CliError::refused("NoApproval", format!("request {id} does not wait for an approval"))),
        (None, _) => {
            Err(CliError::not_found("ApprovalNotFound", format!("no approval or request {id} that you may see")))
        }
    }
}

async fn decide(ctx: &Ctx, a: DecideArgs, result: &str) -> CliResult<()> {
    let approval = approval(ctx, &a.id).await?;
    let approval_id = s(&approval, "id").to_string();
    let steps = approval["steps"].as_array().cloned().unwrap_or_default();
    let in_progress = |st: &&Value| s(st, "status") == "InProgress";
    // The step assigned to me; failing that, the step in progress, so the server (which checks
    // every decision) says why I may not decide it rather than the client guessing.
    let step = steps
        .iter()
        .filter(in_progress)
        .find(|st| st["assignedToMe"].as_bool().unwrap_or(false))
        .or_else(|| steps.iter().find(in_progress))
        .ok_or_else(|| {
            CliError::new(
                Kind::Refused,
                "ApprovalNotPending",
                format!("approval {approval_id} has no step in progress"),
            )
        })?;
    let step_id = s(step, "id").to_string();
    let mut body = json!({"reviewResult": result});
    if let Some(r) = &a.reason {
        body["justification"] = json!(r);
    }
    ctx.client.patch(&format!("{APPROVALS}/{}/steps/{}", enc(&approval_id), enc(&step_id)), &body).await?;
    let out = json!({"approvalId": approval_id, "stepId": step_id, "reviewResult": result});
    emit(ctx.format, &out, || {
        let verb = if result == "Approve" { "Approved" } else { "Denied" };
        format!("{verb} approval {approval_id} (step {step_id})\n")
    });
    Ok(())
}
