//! `openpim assignments list|add|remove`: what admins grant (eligible or active), through the
//! PIM request collections.

use super::{
    duration_arg, request, rfc3339_arg, schedule_info, schedule_row, schedule_table, ticket_info, AssignmentType,
};
use crate::client::{enc, literal};
use crate::context::Ctx;
use crate::error::CliResult;
use crate::output::{details, emit, end_time};
use clap::{Args, Subcommand};
use openpim_core::schedule::Action;
use openpim_proto::schedules::{NewScheduleRequest, UnifiedRoleSchedule, UnifiedRoleScheduleRequest};
use time::OffsetDateTime;

#[derive(Subcommand)]
pub enum AssignmentsCommand {
    /// List eligible and active assignments (schedules), optionally narrowed.
    List {
        #[arg(long)]
        role: Option<String>,
        /// UPN, object id or group name.
        #[arg(long)]
        principal: Option<String>,
        #[arg(long = "type", value_enum)]
        kind: Option<AssignmentType>,
    },
    /// Make a principal eligible for (or active in) a role (adminAssign).
    Add(AddArgs),
    /// Remove an eligible or active assignment (adminRemove).
    Remove {
        #[arg(long)]
        principal: String,
        #[arg(long)]
        role: String,
        #[arg(long = "type", value_enum)]
        kind: AssignmentType,
        #[arg(long, default_value = "/")]
        scope: String,
        #[arg(long)]
        justification: Option<String>,
    },
}

#[derive(Args)]
pub struct AddArgs {
    /// UPN, object id or (role-assignable) group name.
    #[arg(long)]
    principal: String,
    /// Display name, id or template id.
    #[arg(long)]
    role: String,
    /// Eligible (to activate later) or active (in effect).
    #[arg(long = "type", value_enum)]
    kind: AssignmentType,
    /// Directory scope: / or /administrativeUnits/{id}.
    #[arg(long, default_value = "/")]
    scope: String,
    /// When it starts (RFC 3339); now by default.
    #[arg(long, value_parser = rfc3339_arg)]
    start: Option<OffsetDateTime>,
    /// How long it lasts, e.g. 8h, 30d, PT8H; permanent without --duration or --until.
    #[arg(long, value_parser = duration_arg, conflicts_with = "until")]
    duration: Option<u64>,
    /// When it ends (RFC 3339).
    #[arg(long, value_parser = rfc3339_arg)]
    until: Option<OffsetDateTime>,
    /// Why (the default policy requires one for active assignments).
    #[arg(long)]
    justification: Option<String>,
    /// Ticket number, when the policy asks for one.
    #[arg(long)]
    ticket: Option<String>,
    /// Ticket system of --ticket.
    #[arg(long)]
    ticket_system: Option<String>,
}

pub async fn run(ctx: &Ctx, cmd: AssignmentsCommand) -> CliResult<()> {
    match cmd {
        AssignmentsCommand::List { role, principal, kind } => list(ctx, role, principal, kind).await,
        AssignmentsCommand::Add(a) => add(ctx, a).await,
        AssignmentsCommand::Remove { principal, role, kind, scope, justification } => {
            remove(ctx, &principal, &role, kind, &scope, justification).await
        }
    }
}

async fn list(
    ctx: &Ctx,
    role: Option<String>,
    principal: Option<String>,
    kind: Option<AssignmentType>,
) -> CliResult<()> {
    let mut clauses = Vec::new();
    if let Some(r) = role {
        clauses.push(format!("roleDefinitionId eq {}", literal(&ctx.role(&r).await?.id.to_string())));
    }
    if let Some(p) = principal {
        clauses.push(format!("principalId eq {}", literal(&ctx.principal(&p).await?.id.to_string())));
    }
    let query = if clauses.is_empty() { String::new() } else { format!("?$filter={}", enc(&clauses.join(" and "))) };
    let kinds = match kind {
        Some(k) => vec![k],
        None => vec![AssignmentType::Eligible, AssignmentType::Active],
    };
    let mut rows = Vec::new();
    for k in kinds {
        let schedules: Vec<UnifiedRoleSchedule> =
            ctx.client.get_all_as(&format!("{}{query}", k.collection("Schedules"))).await?;
        for v in schedules {
            rows.push(schedule_row(ctx, v.into(), k).await);
        }
    }
    emit(ctx.format, &rows, || schedule_table(ctx, &rows, true));
    Ok(())
}

async fn add(ctx: &Ctx, a: AddArgs) -> CliResult<()> {
    let role = ctx.role(&a.role).await?;
    let principal = ctx.principal(&a.principal).await?;
    let body = NewScheduleRequest {
        schedule_info: Some(schedule_info(a.start, a.duration, a.until)),
        ticket_info: ticket_info(a.ticket.as_deref(), a.ticket_system.as_deref()),
        ..request(Action::AdminAssign, principal.id, role.id, &a.scope, a.justification.clone())
    };
    let req: UnifiedRoleScheduleRequest = ctx.client.post_as(&a.kind.collection("ScheduleRequests"), &body).await?;
    emit(ctx.format, &req, || {
        let expiration = req.schedule_info.as_ref().map(|w| &w.expiration);
        let end = expiration.and_then(|e| e.end_date_time);
        let until = match (end, expiration.and_then(|e| e.duration.as_deref())) {
            (None, Some(d)) => format!("for {}", crate::duration::human_iso(d)),
            _ => end_time(end, ctx.now),
        };
        details(&[
            ("Request", req.id.to_string()),
            ("Status", req.status.clone()),
            ("Type", a.kind.label().into()),
            ("Principal", principal.name.clone()),
            ("Role", role.display_name.clone()),
            ("Scope", req.directory_scope_id.clone()),
            ("Ends", until),
        ])
    });
    Ok(())
}

async fn remove(
    ctx: &Ctx,
    principal: &str,
    role: &str,
    kind: AssignmentType,
    scope: &str,
    justification: Option<String>,
) -> CliResult<()> {
    let role = ctx.role(role).await?;
    let principal = ctx.principal(principal).await?;
    let body = request(Action::AdminRemove, principal.id, role.id, scope, justification);
    let req: UnifiedRoleScheduleRequest = ctx.client.post_as(&kind.collection("ScheduleRequests"), &body).await?;
    emit(ctx.format, &req, || {
        format!(
            "Removed {} assignment of {} to {} at {} (request {}, status {})\n",
            kind.label(),
            principal.name,
            role.display_name,
            scope,
            req.id,
            req.status
        )
    });
    Ok(())
}
