//! `openpim access check|history`: OpenPIM's access check (now or at a past instant) and the
//! access history (who held which role when), over `/v1.0/openpim/accessCheck` and
//! `/v1.0/openpim/accessHistory`.

use super::rfc3339_arg;
use crate::client::enc;
use crate::context::Ctx;
use crate::error::CliResult;
use crate::output::{emit, Table};
use clap::{ArgGroup, Subcommand};
use openpim_proto::datetime::format as rfc3339;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

const CHECK: &str = "/v1.0/openpim/accessCheck";
const HISTORY: &str = "/v1.0/openpim/accessHistory";

#[derive(Subcommand)]
pub enum AccessCommand {
    /// May a principal perform an action at a scope (now, or at a past instant with --at)?
    Check {
        /// The Entra resource action (e.g. microsoft.directory/users/create) or Azure operation.
        #[arg(long)]
        action: String,
        /// Whose access: a user (UPN or id) or group (name or id); yourself when omitted.
        #[arg(long)]
        principal: Option<String>,
        /// The directory scope (`/`, `/administrativeUnits/{id}`, ...).
        #[arg(long, conflicts_with = "arm_scope")]
        scope: Option<String>,
        /// An Azure scope (/subscriptions/...): `action` is then an Azure operation.
        #[arg(long)]
        arm_scope: Option<String>,
        /// Answer as of this instant (RFC 3339), from the access history.
        #[arg(long, value_parser = rfc3339_arg)]
        at: Option<OffsetDateTime>,
    },
    /// When a principal held roles, or who held a role: directly, activated or through a group.
    #[command(group(ArgGroup::new("whom").required(true).multiple(true).args(["principal", "role"])))]
    History {
        /// A user (UPN or id) or group (name or id); ids of deleted principals work too.
        #[arg(long)]
        principal: Option<String>,
        /// A role (name or id).
        #[arg(long)]
        role: Option<String>,
        /// From this instant (RFC 3339; default: when the history began).
        #[arg(long, value_parser = rfc3339_arg)]
        from: Option<OffsetDateTime>,
        /// Until this instant (RFC 3339; default: no end, so planned ends show).
        #[arg(long, value_parser = rfc3339_arg)]
        to: Option<OffsetDateTime>,
        /// Only intervals at this directory scope.
        #[arg(long)]
        scope: Option<String>,
    },
}

pub async fn run(ctx: &Ctx, cmd: AccessCommand) -> CliResult<()> {
    match cmd {
        AccessCommand::Check { action, principal, scope, arm_scope, at } => {
            check(ctx, &action, principal, scope, arm_scope, at).await
        }
        AccessCommand::History { principal, role, from, to, scope } => {
            history(ctx, principal, role, from, to, scope).await
        }
    }
}

/// A principal's id: ids are taken as they are (a deleted principal's history is still asked for
/// by id), names are looked up.
async fn principal_id(ctx: &Ctx, arg: &str) -> CliResult<Uuid> {
    match Uuid::parse_str(arg.trim()) {
        Ok(id) => Ok(id),
        Err(_) => Ok(ctx.principal(arg).await?.id),
    }
}

async fn check(
    ctx: &Ctx,
    action: &str,
    principal: Option<String>,
    scope: Option<String>,
    arm_scope: Option<String>,
    at: Option<OffsetDateTime>,
) -> CliResult<()> {
    let mut query = format!("action={}", enc(action));
    if let Some(p) = principal {
        query.push_str(&format!("&principalId={}", principal_id(ctx, &p).await?));
    }
    match (scope, arm_scope) {
        (Some(s), _) => query.push_str(&format!("&directoryScopeId={}", enc(&s))),
        (None, Some(s)) => query.push_str(&format!("&scope={}", enc(&s))),
        (None, None) => {}
    }
    if let Some(at) = at {
        query.push_str(&format!("&at={}", enc(&rfc3339(at))));
    }
    let answer = ctx.client.get(&format!("{CHECK}?{query}")).await?;
    let via = match answer["grantedBy"]["groupId"].as_str().and_then(|g| Uuid::parse_str(g).ok()) {
        Some(g) if ctx.format == crate::output::Format::Table => format!("group {}", ctx.principal_name(g).await),
        _ => "direct".to_string(),
    };
    emit(ctx.format, &answer, || {
        let mut out = String::new();
        let allowed = answer["allowed"].as_bool().unwrap_or(false);
        out.push_str(&format!(
            "{} at {}\n",
            if allowed { "ALLOWED" } else { "NOT ALLOWED" },
            text(&answer["evaluatedDateTime"])
        ));
        if answer["historyComplete"] == Value::Bool(false) {
            out.push_str(&format!(
                "note: the access history begins at {}; what ended before then is not known\n",
                text(&answer["historyStartsDateTime"])
            ));
        }
        let by = &answer["grantedBy"];
        if !by.is_null() {
            let scope = if by["scope"].is_string() { &by["scope"] } else { &by["directoryScopeId"] };
            out.push_str(&format!(
                "granted by {} ({}, {via}) at {}, through {}, {} .. {}\n",
                text(&by["roleDisplayName"]),
                text(&by["assignmentType"]),
                text(scope),
                text(&by["matchedPermission"]),
                text(&by["startDateTime"]),
                by["endDateTime"].as_str().unwrap_or("no end"),
            ));
        }
        out
    });
    Ok(())
}

async fn history(
    ctx: &Ctx,
    principal: Option<String>,
    role: Option<String>,
    from: Option<OffsetDateTime>,
    to: Option<OffsetDateTime>,
    scope: Option<String>,
) -> CliResult<()> {
    let mut query = Vec::new();
    if let Some(p) = principal {
        query.push(format!("principalId={}", principal_id(ctx, &p).await?));
    }
    if let Some(r) = role {
        let id = match Uuid::parse_str(r.trim()) {
            Ok(id) => id,
            Err(_) => ctx.role(&r).await?.id,
        };
        query.push(format!("roleDefinitionId={id}"));
    }
    if let Some(f) = from {
        query.push(format!("from={}", enc(&rfc3339(f))));
    }
    if let Some(t) = to {
        query.push(format!("to={}", enc(&rfc3339(t))));
    }
    if let Some(s) = scope {
        query.push(format!("directoryScopeId={}", enc(&s)));
    }
    let rows = ctx.client.get_all(&format!("{HISTORY}?{}", query.join("&"))).await?;
    let mut names = Vec::new();
    if ctx.format == crate::output::Format::Table {
        for r in &rows {
            let principal = match id_of(&r["principalId"]) {
                Some(id) => ctx.principal_name(id).await,
                None => String::new(),
            };
            let via = match id_of(&r["groupId"]) {
                Some(id) => ctx.principal_name(id).await,
                None => "direct".into(),
            };
            names.push((principal, via));
        }
    }
    emit(ctx.format, &rows, || {
        let mut t = Table::new(&["PRINCIPAL", "ROLE", "SCOPE", "TYPE", "VIA", "START", "END"]);
        for (r, (principal, via)) in rows.iter().zip(names) {
            let scope = if r["scope"].is_string() { &r["scope"] } else { &r["directoryScopeId"] };
            t.row(vec![
                principal,
                r["roleDisplayName"].as_str().or(r["roleDefinitionId"].as_str()).unwrap_or_default().to_string(),
                text(scope),
                text(&r["assignmentType"]),
                via,
                text(&r["startDateTime"]),
                if r["endDateTime"].is_null() { "no end".into() } else { text(&r["endDateTime"]) },
            ]);
        }
        t.render()
    });
    Ok(())
}

fn id_of(v: &Value) -> Option<Uuid> {
    v.as_str().and_then(|s| Uuid::parse_str(s).ok())
}

fn text(v: &Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_default()
}
