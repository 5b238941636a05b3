//! `openpim requests list|cancel`: schedule requests, the caller's own by default.

use super::AssignmentType;
use crate::client::enc;
use crate::context::Ctx;
use crate::error::{CliError, CliResult, Kind};
use crate::output::{emit, time, Table};
use clap::Subcommand;
use openpim_proto::schedules::{RequestSchedule, UnifiedRoleScheduleRequest};
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

/// A request as `requests list` prints it (its JSON is the `--output json` contract).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestRow {
    id: Uuid,
    collection: &'static str,
    action: String,
    status: String,
    principal_id: Uuid,
    principal: String,
    role_definition_id: Uuid,
    role: String,
    directory_scope_id: String,
    justification: Option<String>,
    approval_id: Option<String>,
    #[serde(with = "openpim_proto::datetime")]
    created_date_time: OffsetDateTime,
    schedule_info: Option<RequestSchedule>,
}

#[derive(Subcommand)]
pub enum RequestsCommand {
    /// Schedule requests: yours (as principal), or everyone's with --all (admins).
    List {
        #[arg(long)]
        all: bool,
    },
    /// Cancel a pending or not-yet-started request of yours.
    Cancel {
        /// Request id.
        id: String,
    },
}

pub async fn run(ctx: &Ctx, cmd: RequestsCommand) -> CliResult<()> {
    match cmd {
        RequestsCommand::List { all } => list(ctx, all).await,
        RequestsCommand::Cancel { id } => cancel(ctx, &id).await,
    }
}

async fn list(ctx: &Ctx, all: bool) -> CliResult<()> {
    let mut rows = Vec::new();
    for kind in [AssignmentType::Active, AssignmentType::Eligible] {
        let base = kind.collection("ScheduleRequests");
        let path = if all { base } else { format!("{base}/filterByCurrentUser(on='principal')") };
        let requests: Vec<UnifiedRoleScheduleRequest> = ctx.client.get_all_as(&path).await?;
        for v in requests {
            rows.push(RequestRow {
                id: v.id,
                collection: kind.label(),
                action: v.action,
                status: v.status,
                principal_id: v.principal_id,
                principal: ctx.principal_name(v.principal_id).await,
                role_definition_id: v.role_definition_id,
                role: ctx.role_name(v.role_definition_id).await,
                directory_scope_id: v.directory_scope_id,
                justification: v.justification,
                approval_id: v.approval_id,
                created_date_time: v.created_date_time,
                schedule_info: v.schedule_info,
            });
        }
    }
    // Newest first, whichever collection they came from.
    rows.sort_by_key(|r| std::cmp::Reverse(r.created_date_time));
    emit(ctx.format, &rows, || {
        let mut t = Table::new(&["ID", "CREATED", "ACTION", "PRINCIPAL", "ROLE", "SCOPE", "STATUS", "JUSTIFICATION"]);
        for r in &rows {
            t.row(vec![
                r.id.to_string(),
                time(r.created_date_time),
                r.action.clone(),
                r.principal.clone(),
                r.role.clone(),
                r.directory_scope_id.clone(),
                r.status.clone(),
                r.justification.clone().unwrap_or_default(),
            ]);
        }
        t.render()
    });
    Ok(())
}

/// Cancels `id` in whichever request collection holds it.
async fn cancel(ctx: &Ctx, id: &str) -> CliResult<()> {
    for kind in [AssignmentType::Active, AssignmentType::Eligible] {
        let path = format!("{}/{}/cancel", kind.collection("ScheduleRequests"), enc(id));
        match ctx.client.post(&path, &json!({})).await {
            Ok(_) => {
                let out = json!({"id": id, "status": "Canceled"});
                emit(ctx.format, &out, || format!("Canceled request {id}\n"));
                return Ok(());
            }
            Err(e) if e.kind == Kind::NotFound => continue,
            Err(e) => return Err(e),
        }
    }
    Err(CliError::not_found("RequestNotFound", format!("no schedule request {id} that you may see")))
}
