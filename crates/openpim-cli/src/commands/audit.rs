//! `openpim audit list|export`: the directory audit log, newest first.

use crate::client::enc;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::output::{emit, time, Table};
use clap::{ArgGroup, Subcommand};
use openpim_proto::audit::DirectoryAudit;
use openpim_proto::Collection;
use std::path::PathBuf;
use uuid::Uuid;

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
fn initiator(v: &DirectoryAudit) -> String {
    let Some(user) = &v.initiated_by.user else { return String::new() };
    user.user_principal_name.clone().or_else(|| user.id.map(|id| id.to_string())).unwrap_or_default()
}

/// "Role: User Administrator; User: bob@x", with ids that have no name in the record (records
/// written before the server named every target) looked up.
async fn named_targets(ctx: &Ctx, v: &DirectoryAudit) -> String {
    let mut out = Vec::new();
    for t in &v.target_resources {
        // Users by sign-in name, the rest by display name.
        let name = match (t.user_principal_name.as_ref().or(t.display_name.as_ref()), Uuid::parse_str(&t.id)) {
            (Some(n), _) => n.clone(),
            (None, Ok(id)) if t.kind == "Role" => ctx.role_name(id).await,
            (None, Ok(id)) if matches!(t.kind.as_str(), "User" | "Group") => ctx.principal_name(id).await,
            (None, _) => t.id.clone(),
        };
        out.push(format!("{}: {}", t.kind, name));
    }
    out.join("; ")
}

fn additional(v: &DirectoryAudit) -> String {
    v.additional_details.iter().map(|d| format!("{}={}", d.key, d.value)).collect::<Vec<_>>().join("; ")
}

async fn list(ctx: &Ctx, top: u32, filter: Option<String>) -> CliResult<()> {
    // One page of `top`: the newest records, not the whole log.
    let page: Collection<DirectoryAudit> =
        ctx.client.get_as(&format!("{AUDITS}?$top={top}{}", filter_query(&filter))).await?;
    let records = page.value;
    // Tables name what the records only identify; JSON keeps the records as the server sent them.
    let mut named = Vec::with_capacity(records.len());
    if ctx.format == crate::output::Format::Table {
        for r in &records {
            named.push(named_targets(ctx, r).await);
        }
    }
    emit(ctx.format, &records, || {
        let mut t = Table::new(&["TIME", "ACTIVITY", "RESULT", "BY", "TARGETS", "DETAILS"]);
        for (r, names) in records.iter().zip(named) {
            let result = match r.result_reason.as_str() {
                "" => r.result.clone(),
                reason => format!("{}: {reason}", r.result),
            };
            t.row(vec![
                time(r.activity_date_time),
                r.activity_display_name.clone(),
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
