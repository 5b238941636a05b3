//! `openpim audit list|export`: the directory audit log, newest first; `openpim audit
//! verify|export-bundle`: the tamper-evident audit chain (`docs/SECURITY.md`).

use crate::client::enc;
use crate::context::Ctx;
use crate::error::{CliError, CliResult, Kind};
use crate::output::{emit, time, Table};
use clap::{ArgGroup, Subcommand};
use openpim_proto::audit::DirectoryAudit;
use openpim_proto::Collection;
use openpim_server::audit_chain::{self, Bundle};
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
    /// Verify the audit chain and its signed checkpoints: through the server's export (the
    /// default, `--server`), a data directory offline, or a bundle file. Exits 7 naming the first
    /// broken record when a record was edited, deleted or reordered, or a checkpoint is bad.
    Verify {
        /// Read the data directory's SQLite database directly (read-only: a running server is
        /// not disturbed) and its issuer key.
        #[arg(long, value_name = "DIR", conflicts_with = "bundle")]
        data: Option<PathBuf>,
        /// Verify a bundle written by `openpim audit export-bundle`.
        #[arg(long, value_name = "FILE")]
        bundle: Option<PathBuf>,
        /// Check checkpoint signatures with these keys (a JWK set, or an earlier bundle) instead
        /// of the keys the bundle or server supplies: an auditor's own copy, or a URL serving a
        /// JWK set (a server's `/v1.0/openpim/auditChain/keys`). An earlier bundle's checkpoints
        /// are checked too: the chain must still have the hashes they signed.
        #[arg(long, value_name = "URL|FILE")]
        keys: Option<String>,
    },
    /// Write a verifiable bundle (records with every stored field, checkpoints, the issuer's
    /// public key) for an auditor.
    ExportBundle {
        /// The file to write.
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
        /// The first record (chain seq); the whole chain by default.
        #[arg(long)]
        from_seq: Option<i64>,
        /// The last record (chain seq); the head by default.
        #[arg(long)]
        to_seq: Option<i64>,
    },
}

pub async fn run(ctx: &Ctx, cmd: AuditCommand) -> CliResult<()> {
    match cmd {
        AuditCommand::List { top, filter } => list(ctx, top, filter).await,
        AuditCommand::Export { csv: _, file, filter } => export(ctx, file, filter).await,
        AuditCommand::Verify { data, bundle, keys } => verify(ctx, data, bundle, keys).await,
        AuditCommand::ExportBundle { to, from_seq, to_seq } => export_bundle(ctx, to, from_seq, to_seq).await,
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

const CHAIN_EXPORT: &str = "/v1.0/openpim/auditChain/export";

async fn fetch_bundle(ctx: &Ctx, from: Option<i64>, to: Option<i64>) -> CliResult<Bundle> {
    let mut query = Vec::new();
    if let Some(from) = from {
        query.push(format!("fromSeq={from}"));
    }
    if let Some(to) = to {
        query.push(format!("toSeq={to}"));
    }
    let path = if query.is_empty() { CHAIN_EXPORT.to_string() } else { format!("{CHAIN_EXPORT}?{}", query.join("&")) };
    ctx.client.get_as(&path).await
}

/// `--keys`: a file, or an http(s) URL fetched without a token (a JWKS document is public; the
/// token is for the server the user named, and this URL may be elsewhere).
async fn read_keys(source: &str) -> CliResult<Vec<u8>> {
    if !(source.starts_with("http://") || source.starts_with("https://")) {
        return read_file(std::path::Path::new(source));
    }
    let doc: serde_json::Value = crate::client::Client::new(source, None)?.get_public_as("").await?;
    serde_json::to_vec(&doc).map_err(|e| CliError::local("KeysUnreadable", e.to_string()))
}

fn read_file(path: &std::path::Path) -> CliResult<Vec<u8>> {
    std::fs::read(path).map_err(|e| CliError::local("ReadFailed", format!("cannot read {}: {e}", path.display())))
}

async fn verify(ctx: &Ctx, data: Option<PathBuf>, bundle: Option<PathBuf>, keys: Option<String>) -> CliResult<()> {
    let (source, bundle) = match (data, bundle) {
        (Some(dir), _) => (
            dir.display().to_string(),
            audit_chain::bundle_from_data_dir(&dir)
                .await
                .map_err(|e| CliError::local("DataUnreadable", format!("{}: {e:#}", dir.display())))?,
        ),
        (None, Some(file)) => (
            file.display().to_string(),
            serde_json::from_slice(&read_file(&file)?).map_err(|e| {
                CliError::local("BundleUnreadable", format!("{} is not an audit bundle: {e}", file.display()))
            })?,
        ),
        (None, None) => (ctx.client.base().to_string(), fetch_bundle(ctx, None, None).await?),
    };
    let (trusted, anchors) = match &keys {
        Some(file) => {
            let bytes = read_keys(file).await?;
            // An earlier bundle also brings its checkpoints: signed anchors the chain must
            // still match, which catches a rewrite by someone holding the key.
            let anchors = serde_json::from_slice::<Bundle>(&bytes).map(|b| b.checkpoints).unwrap_or_default();
            let keys = audit_chain::parse_keys(&bytes)
                .map_err(|e| CliError::local("KeysUnreadable", format!("{file}: {e}")))?;
            (Some(keys), anchors)
        }
        None => (None, Vec::new()),
    };
    let mut bundle = bundle;
    // Anchors apply from where the bundle starts; past its last record only when it runs to the
    // head (a whole chain), where one beyond the end means the newest records were deleted.
    let last = bundle.records.iter().filter_map(|r| r.chain_seq).max().unwrap_or(0);
    let whole = bundle.from_seq <= 1 && last >= bundle.head_seq;
    let anchors: Vec<_> =
        anchors.into_iter().filter(|c| c.seq >= bundle.from_seq && (c.seq <= last || whole)).collect();
    bundle.checkpoints.extend(anchors);
    let outcome = audit_chain::verify_bundle(&bundle, trusted.as_ref())
        .map_err(|e| CliError::local("BundleUnsupported", format!("{source}: {e}")))?;
    match outcome {
        Ok(v) => {
            let head = v.head.as_ref().map_or("empty".to_string(), |(seq, hash)| format!("seq {seq} hash {hash}"));
            let summary = format!("verified {} records, {} checkpoints, chain head {head}", v.records, v.checkpoints);
            let mut notes = Vec::new();
            if let Some(through) = bundle.legacy_through.filter(|_| bundle.from_seq <= 1) {
                notes.push(format!(
                    "records 1..={through} were written before the audit chain existed and chained on upgrade: \
                     the chain proves them unchanged only since then"
                ));
            }
            if bundle.from_seq > 1 {
                notes.push(format!("excerpt from seq {}: its link to earlier records is not checked", bundle.from_seq));
            }
            match (v.head.as_ref().map(|h| h.0), v.last_checkpoint) {
                (Some(head), Some(cp)) if cp < head => {
                    notes.push(format!("records after seq {cp} are not yet covered by a signed checkpoint"))
                }
                (Some(_), None) => notes.push("no signed checkpoint covers these records yet".into()),
                _ => {}
            }
            if trusted.is_none() {
                let kids: Vec<String> = bundle.keys.keys.iter().filter_map(|k| k.common.key_id.clone()).collect();
                notes.push(format!(
                    "checkpoint signatures checked with the key(s) the source supplied ({}); pass --keys to use your own copy",
                    kids.join(", ")
                ));
            }
            let json = serde_json::json!({
                "verified": true,
                "records": v.records,
                "checkpoints": v.checkpoints,
                "firstSeq": v.first_seq,
                "headSeq": v.head.as_ref().map(|h| h.0),
                "headHash": v.head.as_ref().map(|h| h.1.clone()),
                "lastCheckpointSeq": v.last_checkpoint,
                "notes": notes,
            });
            emit(ctx.format, &json, || {
                let mut out = summary.clone();
                for n in &notes {
                    out.push_str(&format!("\nnote: {n}"));
                }
                out
            });
            Ok(())
        }
        Err(broken) => {
            let (seq, id) = broken.record();
            let at = match (seq, id) {
                (Some(seq), Some(id)) => format!(" at record seq {seq} (id {id})"),
                (Some(seq), None) => format!(" at seq {seq}"),
                (None, Some(id)) => format!(" at record {id}"),
                (None, None) => String::new(),
            };
            Err(CliError::new(Kind::Tampered, "AuditChainBroken", format!("audit chain broken{at}: {broken}")))
        }
    }
}

async fn export_bundle(ctx: &Ctx, to: PathBuf, from: Option<i64>, to_seq: Option<i64>) -> CliResult<()> {
    let bundle = fetch_bundle(ctx, from, to_seq).await?;
    let bytes = serde_json::to_vec_pretty(&bundle).map_err(|e| CliError::local("WriteFailed", e.to_string()))?;
    std::fs::write(&to, bytes)
        .map_err(|e| CliError::local("WriteFailed", format!("cannot write {}: {e}", to.display())))?;
    eprintln!(
        "Wrote {} audit records and {} checkpoints (chain head seq {}) to {}",
        bundle.records.len(),
        bundle.checkpoints.len(),
        bundle.head_seq,
        to.display()
    );
    Ok(())
}
