//! `openpim assignments list|add|remove`: what admins grant (eligible or active), through the
//! PIM request collections.

use super::{duration_arg, rfc3339_arg, schedule_info, schedule_row, schedule_table, ticket_info, AssignmentType};
use crate::client::{enc, literal};
use crate::context::Ctx;
use crate::error::CliResult;
use crate::output::{details, emit, end_time, s};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

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
    start: Option<String>,
    /// How long it lasts, e.g. 8h, 30d, PT8H; permanent without --duration or --until.
    #[arg(long, value_parser = duration_arg, conflicts_with = "until")]
    duration: Option<u64>,
    /// When it ends (RFC 3339).
    #[arg(long, value_parser = rfc3339_arg)]
    until: Option<String>,
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
        clauses.push(format!("roleDefinitionId eq {}", literal(s(&ctx.role(&r).await?, "id"))));
    }
    if let Some(p) = principal {
        clauses.push(format!("principalId eq {}", literal(&ctx.principal(&p).await?.id)));
    }
    let query = if clauses.is_empty() { String::new() } else { format!("?$filter={}", enc(&clauses.join(" and "))) };
    let kinds = match kind {
        Some(k) => vec![k],
        None => vec![AssignmentType::Eligible, AssignmentType::Active],
    };
    let mut rows = Vec::new();
    for k in kinds {
        for v in ctx.client.get_all(&format!("{}{query}", k.collection("Schedules"))).await? {
            rows.push(schedule_row(ctx, &v, k).await);
        }
    }
    emit(ctx.format, &Value::from(rows.clone()), || schedule_table(ctx, &rows, true));
    Ok(())
}

async fn add(ctx: &Ctx, a: AddArgs) -> CliResult<()> {
    let role = ctx.role(&a.role).await?;
    let principal = ctx.principal(&a.principal).await?;
    let mut body = json!({
        "action": "adminAssign",
        "principalId": principal.id,
        "roleDefinitionId": role["id"],
        "directoryScopeId": a.scope,
        "scheduleInfo": schedule_info(a.start.as_deref(), a.duration, a.until.as_deref()),
    });
    if let Some(j) = &a.justification {
        body["justification"] = json!(j);
    }
    if let Some(t) = ticket_info(a.ticket.as_deref(), a.ticket_system.as_deref()) {
        body["ticketInfo"] = t;
    }
    let req = ctx.client.post(&a.kind.collection("ScheduleRequests"), &body).await?;
    emit(ctx.format, &req, || {
        let window = &req["scheduleInfo"];
        let end = window["expiration"]["endDateTime"].as_str();
        let until = match (end, window["expiration"]["duration"].as_str()) {
            (None, Some(d)) => format!("for {}", crate::duration::human_iso(d)),
            _ => end_time(end, ctx.now),
        };
        details(&[
            ("Request", s(&req, "id").into()),
            ("Status", s(&req, "status").into()),
            ("Type", a.kind.label().into()),
            ("Principal", principal.name.clone()),
            ("Role", s(&role, "displayName").into()),
            ("Scope", s(&req, "directoryScopeId").into()),
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
    let mut body = json!({
        "action": "adminRemove",
        "principalId": principal.id,
        "roleDefinitionId": role["id"],
        "directoryScopeId": scope,
    });
    if let Some(j) = justification {
        body["justification"] = json!(j);
    }
    let req = ctx.client.post(&kind.collection("ScheduleRequests"), &body).await?;
    emit(ctx.format, &req, || {
        format!(
            "Removed {} assignment of {} to {} at {} (request {}, status {})\n",
            kind.label(),
            principal.name,
            s(&role, "displayName"),
            scope,
            s(&req, "id"),
            s(&req, "status")
        )
    });
    Ok(())
}
