//! `openpim activate|deactivate|my roles`: the signed-in user's own roles.

use super::{duration_arg, request, schedule_info, schedule_row, schedule_table, ticket_info, AssignmentType, Held};
use crate::context::Ctx;
use crate::error::CliResult;
use crate::output::{details, emit, end_time};
use clap::{Args, Subcommand};
use openpim_core::schedule::{Action, RequestStatus};
use openpim_proto::schedules::{
    NewScheduleRequest, UnifiedRoleAssignmentScheduleInstance, UnifiedRoleEligibilityScheduleInstance,
    UnifiedRoleScheduleRequest,
};

/// One hour unless asked otherwise: short enough for any default policy (at most 8 hours).
const DEFAULT_ACTIVATION_SECS: u64 = 3600;

#[derive(Args)]
pub struct ActivateArgs {
    /// Display name, id or template id of a role you are eligible for.
    role: String,
    /// Why you need it (most policies require one).
    #[arg(long)]
    justification: Option<String>,
    /// Ticket number, when the policy asks for one.
    #[arg(long)]
    ticket: Option<String>,
    /// Ticket system of --ticket.
    #[arg(long)]
    ticket_system: Option<String>,
    /// How long, e.g. 30m, 1h, 1h30m, PT2H (default 1h).
    #[arg(long, value_parser = duration_arg)]
    duration: Option<u64>,
    /// Directory scope of the eligibility: / or /administrativeUnits/{id}.
    #[arg(long, default_value = "/")]
    scope: String,
}

#[derive(Args)]
pub struct DeactivateArgs {
    /// Display name, id or template id of an active role.
    role: String,
    #[arg(long, default_value = "/")]
    scope: String,
}

#[derive(Subcommand)]
pub enum MyCommand {
    /// Your eligible and active roles, with scope and end time.
    Roles,
}

pub async fn activate(ctx: &Ctx, a: ActivateArgs) -> CliResult<()> {
    let role = ctx.role(&a.role).await?;
    let me = ctx.me().await?;
    let body = NewScheduleRequest {
        schedule_info: Some(schedule_info(None, Some(a.duration.unwrap_or(DEFAULT_ACTIVATION_SECS)), None)),
        ticket_info: ticket_info(a.ticket.as_deref(), a.ticket_system.as_deref()),
        ..request(Action::SelfActivate, me.id, role.id, &a.scope, a.justification.clone())
    };
    let req: UnifiedRoleScheduleRequest =
        ctx.client.post_as(&AssignmentType::Active.collection("ScheduleRequests"), &body).await?;
    emit(ctx.format, &req, || {
        let mut pairs =
            vec![("Role", role.display_name.clone()), ("Status", req.status.clone()), ("Request", req.id.to_string())];
        if let Some(approval) = &req.approval_id {
            pairs.push(("Approval", approval.clone()));
        }
        if let Some(d) = req.schedule_info.as_ref().and_then(|i| i.expiration.duration.as_deref()) {
            pairs.push(("Duration", crate::duration::human_iso(d)));
        }
        let mut out = details(&pairs);
        if req.status.parse() == Ok(RequestStatus::PendingApproval) {
            out.push_str("Waiting for an approver; `openpim requests list` shows its progress.\n");
        }
        out
    });
    Ok(())
}

pub async fn deactivate(ctx: &Ctx, a: DeactivateArgs) -> CliResult<()> {
    let role = ctx.role(&a.role).await?;
    let me = ctx.me().await?;
    let body = request(Action::SelfDeactivate, me.id, role.id, &a.scope, None);
    let req: UnifiedRoleScheduleRequest =
        ctx.client.post_as(&AssignmentType::Active.collection("ScheduleRequests"), &body).await?;
    emit(ctx.format, &req, || {
        format!("Deactivated {} (request {}, status {})\n", role.display_name, req.id, req.status)
    });
    Ok(())
}

pub async fn my(ctx: &Ctx, cmd: MyCommand) -> CliResult<()> {
    match cmd {
        MyCommand::Roles => my_roles(ctx).await,
    }
}

async fn my_roles(ctx: &Ctx) -> CliResult<()> {
    let mine =
        |kind: AssignmentType| format!("{}/filterByCurrentUser(on='principal')", kind.collection("ScheduleInstances"));
    let mut held: Vec<(Held, AssignmentType)> = Vec::new();
    let eligible: Vec<UnifiedRoleEligibilityScheduleInstance> =
        ctx.client.get_all_as(&mine(AssignmentType::Eligible)).await?;
    held.extend(eligible.into_iter().map(|i| (i.into(), AssignmentType::Eligible)));
    let active: Vec<UnifiedRoleAssignmentScheduleInstance> =
        ctx.client.get_all_as(&mine(AssignmentType::Active)).await?;
    held.extend(active.into_iter().map(|i| (i.into(), AssignmentType::Active)));
    let mut rows = Vec::new();
    for (h, kind) in held {
        let mut row = schedule_row(ctx, h, kind).await;
        // Instances are what is in effect now; say when each one ends, for people and scripts.
        row.ends = Some(end_time(row.end_date_time, ctx.now));
        rows.push(row);
    }
    emit(ctx.format, &rows, || schedule_table(ctx, &rows, false));
    Ok(())
}
