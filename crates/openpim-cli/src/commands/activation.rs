//! `openpim activate|deactivate|my roles`: the signed-in user's own roles.

use super::{duration_arg, schedule_info, schedule_row, schedule_table, ticket_info, AssignmentType};
use crate::context::Ctx;
use crate::error::CliResult;
use crate::output::{details, emit, end_time, s};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

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
    let mut body = json!({
        "action": "selfActivate",
        "principalId": me["id"],
        "roleDefinitionId": role["id"],
        "directoryScopeId": a.scope,
        "scheduleInfo": schedule_info(None, Some(a.duration.unwrap_or(DEFAULT_ACTIVATION_SECS)), None),
    });
    if let Some(j) = &a.justification {
        body["justification"] = json!(j);
    }
    if let Some(t) = ticket_info(a.ticket.as_deref(), a.ticket_system.as_deref()) {
        body["ticketInfo"] = t;
    }
    let req = ctx.client.post(&AssignmentType::Active.collection("ScheduleRequests"), &body).await?;
    emit(ctx.format, &req, || {
        let mut pairs = vec![
            ("Role", s(&role, "displayName").to_string()),
            ("Status", s(&req, "status").to_string()),
            ("Request", s(&req, "id").to_string()),
        ];
        if let Some(approval) = req["approvalId"].as_str() {
            pairs.push(("Approval", approval.to_string()));
        }
        if let Some(d) = req["scheduleInfo"]["expiration"]["duration"].as_str() {
            pairs.push(("Duration", crate::duration::human_iso(d)));
        }
        let mut out = details(&pairs);
        if s(&req, "status") == "PendingApproval" {
            out.push_str("Waiting for an approver; `openpim requests list` shows its progress.\n");
        }
        out
    });
    Ok(())
}

pub async fn deactivate(ctx: &Ctx, a: DeactivateArgs) -> CliResult<()> {
    let role = ctx.role(&a.role).await?;
    let me = ctx.me().await?;
    let body = json!({
        "action": "selfDeactivate",
        "principalId": me["id"],
        "roleDefinitionId": role["id"],
        "directoryScopeId": a.scope,
    });
    let req = ctx.client.post(&AssignmentType::Active.collection("ScheduleRequests"), &body).await?;
    emit(ctx.format, &req, || {
        format!("Deactivated {} (request {}, status {})\n", s(&role, "displayName"), s(&req, "id"), s(&req, "status"))
    });
    Ok(())
}

pub async fn my(ctx: &Ctx, cmd: MyCommand) -> CliResult<()> {
    match cmd {
        MyCommand::Roles => my_roles(ctx).await,
    }
}

async fn my_roles(ctx: &Ctx) -> CliResult<()> {
    let mut rows = Vec::new();
    for kind in [AssignmentType::Eligible, AssignmentType::Active] {
        let path = format!("{}/filterByCurrentUser(on='principal')", kind.collection("ScheduleInstances"));
        for v in ctx.client.get_all(&path).await? {
            let mut row = schedule_row(ctx, &v, kind).await;
            // Instances are what is in effect now; say when each one ends, for people and scripts.
            row["ends"] = json!(end_time(row["endDateTime"].as_str(), ctx.now));
            rows.push(row);
        }
    }
    emit(ctx.format, &Value::from(rows.clone()), || schedule_table(ctx, &rows, false));
    Ok(())
}
