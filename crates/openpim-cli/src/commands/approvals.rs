//! `openpim approvals list|approve|deny`: activations waiting for the caller's decision.

use super::RM;
use crate::client::enc;
use crate::context::Ctx;
use crate::duration::human_iso;
use crate::error::{CliError, CliResult, Kind};
use crate::output::{emit, time, Table};
use clap::{Args, Subcommand};
use openpim_core::approval::{ReviewResult, StepStatus};
use openpim_proto::approvals::{Approval, ApprovalStep, StepDecision};
use openpim_proto::schedules::{RequestSchedule, TicketInfo, UnifiedRoleScheduleRequest};
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

/// A request waiting for a decision, as `approvals list` prints it (the `--output json` contract).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WaitingRow {
    approval_id: Option<String>,
    request_id: Uuid,
    principal_id: Uuid,
    requester: String,
    role_definition_id: Uuid,
    role: String,
    directory_scope_id: String,
    justification: Option<String>,
    ticket_info: TicketInfo,
    #[serde(with = "openpim_proto::datetime")]
    created_date_time: OffsetDateTime,
    window: String,
    schedule_info: Option<RequestSchedule>,
}

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
        ApprovalsCommand::Approve(a) => decide(ctx, a, ReviewResult::Approve).await,
        ApprovalsCommand::Deny(a) => decide(ctx, a, ReviewResult::Deny).await,
    }
}

/// "from 09:00 for 2h", "from 09:00 until 11:00", as the request asked.
fn window(info: Option<&RequestSchedule>) -> String {
    let start = info.and_then(|i| i.start_date_time).map(time).unwrap_or_else(|| "approval".into());
    let exp = info.map(|i| &i.expiration);
    match (exp.and_then(|e| e.duration.as_deref()), exp.and_then(|e| e.end_date_time)) {
        (Some(d), _) => format!("from {start} for {}", human_iso(d)),
        (None, Some(end)) => format!("from {start} until {}", time(end)),
        _ => format!("from {start}, permanent"),
    }
}

async fn list(ctx: &Ctx) -> CliResult<()> {
    let path = format!("{RM}/roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')");
    let mut rows = Vec::new();
    let waiting: Vec<UnifiedRoleScheduleRequest> = ctx.client.get_all_as(&path).await?;
    for v in waiting {
        rows.push(WaitingRow {
            approval_id: v.approval_id,
            request_id: v.id,
            principal_id: v.principal_id,
            requester: ctx.principal_name(v.principal_id).await,
            role_definition_id: v.role_definition_id,
            role: ctx.role_name(v.role_definition_id).await,
            directory_scope_id: v.directory_scope_id,
            justification: v.justification,
            ticket_info: v.ticket_info,
            created_date_time: v.created_date_time,
            window: window(v.schedule_info.as_ref()),
            schedule_info: v.schedule_info,
        });
    }
    emit(ctx.format, &rows, || {
        let mut t = Table::new(&["APPROVAL", "REQUESTED", "REQUESTER", "ROLE", "SCOPE", "WINDOW", "JUSTIFICATION"]);
        for r in &rows {
            t.row(vec![
                r.approval_id.clone().unwrap_or_default(),
                time(r.created_date_time),
                r.requester.clone(),
                r.role.clone(),
                r.directory_scope_id.clone(),
                r.window.clone(),
                r.justification.clone().unwrap_or_default(),
            ]);
        }
        t.render()
    });
    Ok(())
}

/// The approval `id` names: an approval id, or the id of the request it decides (found among the
/// requests waiting for me, or among those I may read).
async fn approval(ctx: &Ctx, id: &str) -> CliResult<Approval> {
    if let Some(a) = ctx.client.get_opt_as(&format!("{APPROVALS}/{}", enc(id))).await? {
        return Ok(a);
    }
    let waiting: Vec<UnifiedRoleScheduleRequest> = ctx
        .client
        .get_all_as(&format!("{RM}/roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')"))
        .await?;
    let as_id = Uuid::parse_str(id.trim()).ok();
    let request = match waiting.into_iter().find(|r| Some(r.id) == as_id) {
        Some(r) => Some(r),
        None => ctx.client.get_opt_as(&format!("{RM}/roleAssignmentScheduleRequests/{}", enc(id))).await?,
    };
    let approval_id = request.as_ref().and_then(|r| r.approval_id.clone());
    match (request, approval_id) {
        (Some(_), Some(aid)) => ctx.client.get_as(&format!("{APPROVALS}/{}", enc(&aid))).await,
        (Some(_), None) => Err(CliError::refused("NoApproval", format!("request {id} does not wait for an approval"))),
        (None, _) => {
            Err(CliError::not_found("ApprovalNotFound", format!("no approval or request {id} that you may see")))
        }
    }
}

async fn decide(ctx: &Ctx, a: DecideArgs, result: ReviewResult) -> CliResult<()> {
    let approval = approval(ctx, &a.id).await?;
    let approval_id = approval.id.clone();
    let steps = &approval.steps;
    let in_progress = |st: &&ApprovalStep| st.status.parse() == Ok(StepStatus::InProgress);
    // The step assigned to me; failing that, the step in progress, so the server (which checks
    // every decision) says why I may not decide it rather than the client guessing.
    let step = steps
        .iter()
        .filter(in_progress)
        .find(|st| st.assigned_to_me)
        .or_else(|| steps.iter().find(in_progress))
        .ok_or_else(|| {
            CliError::new(
                Kind::Refused,
                "ApprovalNotPending",
                format!("approval {approval_id} has no step in progress"),
            )
        })?;
    let step_id = step.id;
    let body = StepDecision { review_result: result.to_string(), justification: a.reason.clone() };
    ctx.client.patch_with(&format!("{APPROVALS}/{}/steps/{step_id}", enc(&approval_id)), &body).await?;
    let out = json!({"approvalId": approval_id, "stepId": step_id, "reviewResult": result.as_str()});
    emit(ctx.format, &out, || {
        let verb = if result == ReviewResult::Approve { "Approved" } else { "Denied" };
        format!("{verb} approval {approval_id} (step {step_id})\n")
    });
    Ok(())
}
