//! `openpim audit list|export`: the directory audit log, newest first.

use crate::client::enc;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::output::{emit, s, time, Table};
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

/// "Role: User Administrator; User: bob@x", with ids that have no name in the record (records
/// written before the server named every target) looked up.
async fn named_targets(ctx: &Ctx, v: &Value) -> String {
    let mut out = Vec::new();
    for t in v["targetResources"].as_array().into_iter().flatten() {
        let id = s(t, "id");
        // Users by sign-in name, the rest by display name.
        let name = match t["userPrincipalName"].as_str().or_else(|| t["displayName"].as_str()) {
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

/// The server's CSV export: the one audit CSV format, defined in `openpim_core::audit::csv`.
const CSV_EXPORT: &str = "/v1.0/openpim/auditLogs/directoryAudits/csv";

/// Streams the server's CSV to `file` or standard output.
async fn export(ctx: &Ctx, file: Option<PathBuf>, filter: Option<String>) -> CliResult<()> {
    let path = match &filter {
        Some(f) => format!("{CSV_EXPORT}?$filter={}", enc(f)),
        None => CSV_EXPORT.to_string(),
    };
    match file {
        Some(target) => {
            let mut out = std::io::BufWriter::new(
                std::fs::File::create(&target)
                    .map_err(|e| CliError::local("WriteFailed", format!("cannot write {}: {e}", target.display())))?,
            );
            let bytes = ctx.client.download(&path, &mut out).await?;
            eprintln!("Wrote {bytes} bytes of audit records to {}", target.display());
        }
        None => {
            ctx.client.download(&path, &mut std::io::stdout()).await?;
        }
    }
    Ok(())
}
