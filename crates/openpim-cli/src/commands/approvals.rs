//! `openpim approvals list|approve|deny`: activations waiting for the caller's decision.
//!
//! One approver decides directory and Azure roles alike, and OpenPIM's Graph approver list
//! (`filterByCurrentUser(on='approver')`) carries both: an Azure role's request shows marked
//! `azure`, with its ARM scope in `directoryScopeId` and its role named through ARM (see
//! `openpim azure approvals`, which reads the same approvals the ARM way). Deciding goes through
//! Graph's approval for both.

use super::azure_approvals::AzureRoleNames;
use super::azure_pim::is_arm_scope;
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

/// A request waiting for a decision, as `approvals list` (and `azure approvals list`, as an
/// approval's `request`) prints it: the `--output json` contract.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WaitingRow {
    approval_id: Option<String>,
    /// An Azure role's request: `directoryScopeId` is its ARM scope.
    pub azure: bool,
    request_id: Uuid,
    principal_id: Uuid,
    pub requester: String,
    role_definition_id: Uuid,
    pub role: String,
    pub directory_scope_id: String,
    pub justification: Option<String>,
    ticket_info: TicketInfo,
    #[serde(with = "openpim_proto::datetime")]
    pub created_date_time: OffsetDateTime,
    pub window: String,
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

/// Every request waiting for the caller's decision, directory and Azure roles alike.
pub(super) async fn waiting_requests(ctx: &Ctx) -> CliResult<Vec<UnifiedRoleScheduleRequest>> {
    ctx.client.get_all_as(&format!("{RM}/roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')")).await
}

/// Is `r` a request for an Azure role (made at an ARM scope)?
pub(super) fn is_azure(r: &UnifiedRoleScheduleRequest) -> bool {
    is_arm_scope(&r.directory_scope_id)
}

/// `r` as a row, with its requester's and role's names (an Azure role's through ARM).
pub(super) async fn waiting_row(
    ctx: &Ctx,
    azure_roles: &mut AzureRoleNames,
    r: UnifiedRoleScheduleRequest,
) -> WaitingRow {
    let azure = is_azure(&r);
    let role = if azure {
        azure_roles.name(ctx, r.role_definition_id).await
    } else {
        ctx.role_name(r.role_definition_id).await
    };
    WaitingRow {
        approval_id: r.approval_id,
        azure,
        request_id: r.id,
        principal_id: r.principal_id,
        requester: ctx.principal_name(r.principal_id).await,
        role_definition_id: r.role_definition_id,
        role,
        directory_scope_id: r.directory_scope_id,
        justification: r.justification,
        ticket_info: r.ticket_info,
        created_date_time: r.created_date_time,
        window: window(r.schedule_info.as_ref()),
        schedule_info: r.schedule_info,
    }
}

async fn list(ctx: &Ctx) -> CliResult<()> {
    let mut rows = Vec::new();
    let mut azure_roles = AzureRoleNames::default();
    for r in waiting_requests(ctx).await? {
        rows.push(waiting_row(ctx, &mut azure_roles, r).await);
    }
    emit(ctx.format, &rows, || {
        let mut t =
            Table::new(&["APPROVAL", "KIND", "REQUESTED", "REQUESTER", "ROLE", "SCOPE", "WINDOW", "JUSTIFICATION"]);
        for r in &rows {
            t.row(vec![
                r.approval_id.clone().unwrap_or_default(),
                if r.azure { "azure" } else { "directory" }.to_string(),
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
    let waiting = waiting_requests(ctx).await?;
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
