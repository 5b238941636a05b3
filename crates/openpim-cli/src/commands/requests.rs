//! `openpim requests list|cancel`: schedule requests, the caller's own by default.

use super::AssignmentType;
use crate::client::enc;
use crate::context::Ctx;
use crate::error::{CliError, CliResult, Kind};
use crate::output::{emit, s, time, Table};
use clap::Subcommand;
use serde_json::{json, Value};

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
        for v in ctx.client.get_all(&path).await? {
            let principal_id = s(&v, "principalId");
            rows.push(json!({
                "id": v["id"],
                "collection": kind.label(),
                "action": v["action"],
                "status": v["status"],
                "principalId": principal_id,
                "principal": ctx.principal_name(principal_id).await,
                "roleDefinitionId": v["roleDefinitionId"],
                "role": ctx.role_name(s(&v, "roleDefinitionId")).await,
                "directoryScopeId": v["directoryScopeId"],
                "justification": v["justification"],
                "approvalId": v["approvalId"],
                "createdDateTime": v["createdDateTime"],
                "scheduleInfo": v["scheduleInfo"],
            }));
        }
    }
    // Newest first, whichever collection they came from (RFC 3339 in UTC sorts as text).
    rows.sort_by(|a, b| s(b, "createdDateTime").cmp(s(a, "createdDateTime")));
    emit(ctx.format, &Value::from(rows.clone()), || {
        let mut t = Table::new(&["ID", "CREATED", "ACTION", "PRINCIPAL", "ROLE", "SCOPE", "STATUS", "JUSTIFICATION"]);
        for r in &rows {
            t.row(vec![
                s(r, "id").into(),
                time(s(r, "createdDateTime")),
                s(r, "action").into(),
                s(r, "principal").into(),
                s(r, "role").into(),
                s(r, "directoryScopeId").into(),
                s(r, "status").into(),
                s(r, "justification").into(),
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
