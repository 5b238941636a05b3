//! `openpim audit list|export`: the directory audit log, newest first.

use crate::client::enc;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::output::{csv_line, emit, s, time, Table};
use clap::{ArgGroup, Subcommand};
use serde_json::Value;
use std::path::PathBuf;

const AUDITS: &str = "/v1.0/auditLogs/directoryAudits";

#[derive(Subcommand)]
pub enum AuditCommand {
    /// The latest audit records.
    List {
        /// How many records (newest first).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=999))]
        top: u32,
        /// OData $filter, e.g. "activityDisplayName eq 'Add member to role (PIM activation)'".
        #[arg(long)]
        filter: Option<String>,
    },
    /// Every audit record (all pages) as CSV.
    #[command(group(ArgGroup::new("format").required(true).args(["csv"])))]
    Export {
        /// Write CSV (RFC 4180, with a header row).
        #[arg(long)]
        csv: bool,
        /// Write to this file instead of standard output.
        #[arg(long)]
        file: Option<PathBuf>,
        /// OData $filter to narrow the export.
        #[arg(long)]
        filter: Option<String>,
    },
}

pub async fn run(ctx: &Ctx, cmd: AuditCommand) -> CliResult<()> {
    match cmd {
        AuditCommand::List { top, filter } => list(ctx, top, filter).await,
        AuditCommand::Export { csv: _, file, filter } => export(ctx, file, filter).await,
    }
}

fn filter_query(filter: &Option<String>) -> String {
    filter.as_ref().map(|f| format!("&$filter={}", enc(f))).unwrap_or_default()
}

/// Who did it: the initiating user's UPN (or id).
fn initiator(v: &Value) -> String {
    let user = &v["initiatedBy"]["user"];
    user["userPrincipalName"].as_str().or_else(|| user["id"].as_str()).unwrap_or("").to_string()
}

/// "Role: User Administrator; User: 1234..." from the target resources.
fn targets(v: &Value) -> String {
    v["targetResources"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let name = t["displayName"].as_str().or_else(|| t["userPrincipalName"].as_str()).unwrap_or(s(t, "id"));
            format!("{}: {}", s(t, "type"), name)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// [`targets`], with role and principal ids that have no name in the record looked up.
async fn named_targets(ctx: &Ctx, v: &Value) -> String {
    let mut out = Vec::new();
    for t in v["targetResources"].as_array().into_iter().flatten() {
        let id = s(t, "id");
        let name = match t["displayName"].as_str().or_else(|| t["userPrincipalName"].as_str()) {
            Some(n) => n.to_string(),
            None if s(t, "type") == "Role" => ctx.role_name(id).await,
            None if matches!(s(t, "type"), "User" | "Group") => ctx.principal_name(id).await,
            None => id.to_string(),
        };
        out.push(format!("{}: {}", s(t, "type"), name));
    }
    out.join("; ")
}

fn additional(v: &Value) -> String {
    v["additionalDetails"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| format!("{}={}", s(d, "key"), s(d, "value")))
        .collect::<Vec<_>>()
        .join("; ")
}

async fn list(ctx: &Ctx, top: u32, filter: Option<String>) -> CliResult<()> {
    // One page of `top`: the newest records, not the whole log.
    let body = ctx.client.get(&format!("{AUDITS}?$top={top}{}", filter_query(&filter))).await?;
    let records: Vec<Value> = body["value"].as_array().cloned().unwrap_or_default();
    // Tables name what the records only identify; JSON keeps the records as the server sent them.
    let mut named = Vec::with_capacity(records.len());
    if ctx.format == crate::output::Format::Table {
        for r in &records {
            named.push(named_targets(ctx, r).await);
        }
    }
    emit(ctx.format, &Value::from(records.clone()), || {
        let mut t = Table::new(&["TIME", "ACTIVITY", "RESULT", "BY", "TARGETS", "DETAILS"]);
        for (r, names) in records.iter().zip(named) {
            let result = match s(r, "resultReason") {
                "" => s(r, "result").to_string(),
                reason => format!("{}: {reason}", s(r, "result")),
            };
            t.row(vec![
                time(s(r, "activityDateTime")),
                s(r, "activityDisplayName").into(),
                result,
                initiator(r),
                names,
                additional(r),
            ]);
        }
        t.render()
    });
    Ok(())
}

const CSV_HEADER: [&str; 11] = [
    "activityDateTime",
    "category",
    "activityDisplayName",
    "result",
    "resultReason",
    "initiatedByUserPrincipalName",
    "initiatedByUserId",
    "targets",
    "additionalDetails",
    "id",
    "correlationId",
];

pub fn csv_record(v: &Value) -> String {
    csv_line(&[
        s(v, "activityDateTime").to_string(),
        s(v, "category").to_string(),
        s(v, "activityDisplayName").to_string(),
        s(v, "result").to_string(),
        s(v, "resultReason").to_string(),
        v["initiatedBy"]["user"]["userPrincipalName"].as_str().unwrap_or("").to_string(),
        v["initiatedBy"]["user"]["id"].as_str().unwrap_or("").to_string(),
        targets(v),
        additional(v),
        s(v, "id").to_string(),
        s(v, "correlationId").to_string(),
    ])
}

async fn export(ctx: &Ctx, file: Option<PathBuf>, filter: Option<String>) -> CliResult<()> {
    let records = ctx.client.get_all(&format!("{AUDITS}?$top=999{}", filter_query(&filter))).await?;
    let mut out = csv_line(&CSV_HEADER);
    for r in &records {
        out.push_str(&csv_record(r));
    }
    match file {
        Some(path) => {
            std::fs::write(&path, out)
                .map_err(|e| CliError::local("WriteFailed", format!("cannot write {}: {e}", path.display())))?;
            eprintln!("Wrote {} audit records to {}", records.len(), path.display());
        }
        None => {
            use std::io::Write;
            std::io::stdout()
                .write_all(out.as_bytes())
                .map_err(|e| CliError::local("WriteFailed", format!("standard output: {e}")))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn audit_records_become_quoted_csv() {
        let v = json!({
            "id": "1", "category": "RoleManagement", "correlationId": "c",
            "result": "failure", "resultReason": "RoleAssignmentRequestPolicyValidationFailed: The following policy rules failed: [\"JustificationRule\"]",
            "activityDisplayName": "Add member to role (PIM activation)", "activityDateTime": "2026-03-02T09:00:00Z",
            "initiatedBy": {"user": {"id": "u", "userPrincipalName": "bob@x"}},
            "targetResources": [{"id": "r", "displayName": "User Administrator", "type": "Role"}],
            "additionalDetails": [{"key": "action", "value": "selfActivate"}],
        });
        assert_eq!(
            csv_record(&v),
            "2026-03-02T09:00:00Z,RoleManagement,Add member to role (PIM activation),failure,\
             \"RoleAssignmentRequestPolicyValidationFailed: The following policy rules failed: [\"\"JustificationRule\"\"]\",\
             bob@x,u,Role: User Administrator,action=selfActivate,1,c\r\n"
        );
    }
}
