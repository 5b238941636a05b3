//! `openpim alerts list|show|dismiss|refresh|config`: PIM security alerts for directory roles
//! (Graph beta `identityGovernance/roleManagementAlerts`). An alert is named by its id
//! (`DirectoryRole_{tenant}_{key}`), its key (`StaleSignInAlert`), or a short name
//! (`too-many-global-admins`, `outside-pim`, `no-mfa`, `unused`, `stale`).

use crate::client::enc;
use crate::context::Ctx;
use crate::error::{CliError, CliResult, Kind};
use crate::output::{details, emit, time, Table};
use clap::{Args, Subcommand};
use openpim_core::alerts::AlertKind;
use openpim_proto::alerts::{AlertConfiguration, LongRunningOperation, RefreshAlerts, RoleManagementAlert};
use serde::Serialize;
use serde_json::json;

const ALERTS: &str = "/beta/identityGovernance/roleManagementAlerts";
const SCOPE: &str = "$filter=scopeId eq '/' and scopeType eq 'DirectoryRole'";
const EXPAND: &str = "$expand=alertDefinition,alertConfiguration,alertIncidents";

/// `openpim alerts [--scope S] <command>`.
#[derive(Args)]
pub struct AlertsArgs {
    /// An Azure scope (`/subscriptions/{id}`, `.../resourceGroups/{name}`, a management group):
    /// its alerts over ARM instead of the directory roles' over Graph.
    #[arg(long, global = true)]
    pub scope: Option<String>,
    #[command(subcommand)]
    pub command: AlertsCommand,
}

#[derive(Subcommand)]
pub enum AlertsCommand {
    /// Every alert: active or not, severity, incidents.
    List {
        /// Only the active ones.
        #[arg(long)]
        active: bool,
    },
    /// An alert with its incidents (who, which role) and the remedy.
    Show { alert: String },
    /// Dismiss an alert: hidden until a scan finds a new incident.
    Dismiss { alert: String },
    /// Scan now (every alert, or one), then list.
    Refresh { alert: Option<String> },
    /// Show an alert's configuration, or change it.
    Config(ConfigArgs),
}

#[derive(Args)]
pub struct ConfigArgs {
    pub alert: String,
    /// Scan this alert.
    #[arg(long, conflicts_with = "disable")]
    pub enable: bool,
    /// Stop scanning this alert.
    #[arg(long)]
    pub disable: bool,
    /// Too many global admins: at least this many (2-100).
    #[arg(long)]
    pub global_admin_count: Option<i32>,
    /// Too many global admins: at least this percentage of role holders (0-100).
    #[arg(long)]
    pub global_admin_percentage: Option<i32>,
    /// Unused eligibility / stale sign-in: the number of days.
    #[arg(long)]
    pub days: Option<u32>,
    /// Azure (with --scope), too many (permanent) owners: at least this many.
    #[arg(long)]
    pub owner_count: Option<i32>,
    /// Azure (with --scope), too many (permanent) owners: at least this percentage.
    #[arg(long)]
    pub owner_percentage: Option<i32>,
}

pub async fn run(ctx: &Ctx, args: AlertsArgs) -> CliResult<()> {
    if let Some(scope) = args.scope {
        return super::alerts_azure::run(ctx, &scope, args.command).await;
    }
    let cmd = args.command;
    if let AlertsCommand::Config(a) = &cmd {
        if a.owner_count.is_some() || a.owner_percentage.is_some() {
            return Err(CliError::new(
                Kind::Usage,
                "AzureOnlyOption",
                "--owner-count and --owner-percentage are Azure alerts' thresholds: add --scope",
            ));
        }
    }
    match cmd {
        AlertsCommand::List { active } => list(ctx, active).await,
        AlertsCommand::Show { alert } => show(ctx, &alert).await,
        AlertsCommand::Dismiss { alert } => dismiss(ctx, &alert).await,
        AlertsCommand::Refresh { alert } => refresh(ctx, alert.as_deref()).await,
        AlertsCommand::Config(a) => config(ctx, a).await,
    }
}

/// The alert kind a name means.
fn kind_of(name: &str) -> CliResult<AlertKind> {
    let short = match name.to_ascii_lowercase().as_str() {
        "too-many-global-admins" | "global-admins" => Some(AlertKind::TooManyGlobalAdmins),
        "outside-pim" | "roles-assigned-outside-pim" => Some(AlertKind::RolesAssignedOutsidePim),
        "no-mfa" => Some(AlertKind::NoMfaOnRoleActivation),
        "unused" | "redundant" => Some(AlertKind::RedundantAssignment),
        "stale" | "stale-sign-in" => Some(AlertKind::StaleSignIn),
        _ => None,
    };
    let key = name.rsplit('_').next().unwrap_or(name);
    short.or_else(|| AlertKind::from_key(key)).ok_or_else(|| {
        CliError::new(
            Kind::NotFound,
            "AlertNotFound",
            format!(
                "no alert '{name}': use too-many-global-admins, outside-pim, no-mfa, unused, stale, or an alert id"
            ),
        )
    })
}

async fn all(ctx: &Ctx) -> CliResult<Vec<RoleManagementAlert>> {
    ctx.client.get_all_as(&format!("{ALERTS}/alerts?{SCOPE}&{EXPAND}")).await
}

/// The alert `name` means, read from the server (ids carry the tenant).
async fn find(ctx: &Ctx, name: &str) -> CliResult<RoleManagementAlert> {
    let kind = kind_of(name)?;
    let suffix = format!("_{}", kind.key()).to_ascii_lowercase();
    all(ctx)
        .await?
        .into_iter()
        .find(|a| a.id.to_ascii_lowercase().ends_with(&suffix))
        .ok_or_else(|| CliError::new(Kind::NotFound, "AlertNotFound", format!("the server has no alert '{name}'")))
}

fn display_name(a: &RoleManagementAlert) -> String {
    a.alert_definition.as_ref().map_or_else(|| a.id.clone(), |d| d.display_name.clone())
}

fn severity(a: &RoleManagementAlert) -> String {
    a.alert_definition.as_ref().map_or_else(String::new, |d| d.severity_level.clone())
}

async fn list(ctx: &Ctx, active_only: bool) -> CliResult<()> {
    let alerts: Vec<RoleManagementAlert> =
        all(ctx).await?.into_iter().filter(|a| a.is_active || !active_only).collect();
    emit(ctx.format, &alerts, || {
        let mut t = Table::new(&["ALERT", "ACTIVE", "SEVERITY", "INCIDENTS", "SCANNED", "ID"]);
        for a in &alerts {
            t.row(vec![
                display_name(a),
                if a.is_active { "yes".into() } else { "no".into() },
                severity(a),
                a.incident_count.to_string(),
                a.last_scanned_date_time.map(time).unwrap_or_else(|| "never".into()),
                a.id.clone(),
            ]);
        }
        t.render()
    });
    Ok(())
}

/// `show`'s `--output json`: the alert (with definition, configuration, incidents) and its remedy link.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Shown {
    #[serde(flatten)]
    alert: RoleManagementAlert,
    remedy_url: String,
}

async fn show(ctx: &Ctx, name: &str) -> CliResult<()> {
    let alert = find(ctx, name).await?;
    let remedy_url = kind_of(&alert.id)?.remedy_url();
    let shown = Shown { alert, remedy_url };
    emit(ctx.format, &shown, || {
        let a = &shown.alert;
        let mut out = details(&[
            ("alert", display_name(a)),
            ("id", a.id.clone()),
            ("active", a.is_active.to_string()),
            ("severity", severity(a)),
            ("incidents", a.incident_count.to_string()),
            ("scanned", a.last_scanned_date_time.map(time).unwrap_or_else(|| "never".into())),
            ("fix", a.alert_definition.as_ref().map(|d| d.mitigation_steps.clone()).unwrap_or_default()),
            ("remedy", shown.remedy_url.clone()),
        ]);
        let mut t = Table::new(&["WHO", "ROLE", "DETAIL", "ID"]);
        for i in a.alert_incidents.iter().flatten() {
            let who = i
                .assignee_user_principal_name
                .clone()
                .flatten()
                .or_else(|| i.assignee_display_name.clone().flatten())
                .unwrap_or_default();
            let detail = match (&i.last_sign_in_date_time, &i.last_activation_date_time) {
                (Some(t), _) => format!("last sign-in {}", t.map(time).unwrap_or_else(|| "never".into())),
                (_, Some(t)) => format!("last activation {}", t.map(time).unwrap_or_else(|| "never".into())),
                _ => i
                    .assignment_created_date_time
                    .flatten()
                    .map(|t| format!("assigned {}", time(t)))
                    .unwrap_or_default(),
            };
            t.row(vec![who, i.role_display_name.clone().flatten().unwrap_or_default(), detail, i.id.clone()]);
        }
        out.push('\n');
        out.push_str(&t.render());
        out
    });
    Ok(())
}

async fn dismiss(ctx: &Ctx, name: &str) -> CliResult<()> {
    let alert = find(ctx, name).await?;
    ctx.client.patch(&format!("{ALERTS}/alerts/{}", enc(&alert.id)), &json!({"isActive": false})).await?;
    let after: RoleManagementAlert = ctx.client.get_as(&format!("{ALERTS}/alerts/{}", enc(&alert.id))).await?;
    emit(ctx.format, &after, || format!("dismissed: {}\n", display_name(&alert)));
    Ok(())
}

async fn refresh(ctx: &Ctx, name: Option<&str>) -> CliResult<()> {
    let location = match name {
        None => {
            let body = RefreshAlerts { scope_id: "/".into(), scope_type: "DirectoryRole".into() };
            ctx.client.post_accepted(&format!("{ALERTS}/alerts/refresh"), &body).await?
        }
        Some(n) => {
            let alert = find(ctx, n).await?;
            ctx.client.post_accepted(&format!("{ALERTS}/alerts/{}/refresh", enc(&alert.id)), &json!({})).await?
        }
    };
    // The server scans before answering unless another node holds the scan; then wait a little.
    if let Some(location) = location {
        for _ in 0..50 {
            let op: LongRunningOperation = ctx.client.get_as(&location).await?;
            if op.status != "running" && op.status != "notStarted" {
                if op.status != "succeeded" {
                    return Err(CliError::new(
                        Kind::Server,
                        "RefreshFailed",
                        format!("the refresh ended '{}'", op.status),
                    ));
                }
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
    list(ctx, false).await
}

async fn config(ctx: &Ctx, a: ConfigArgs) -> CliResult<()> {
    let alert = find(ctx, &a.alert).await?;
    let path = format!("{ALERTS}/alertConfigurations/{}", enc(&alert.id));
    let mut patch = serde_json::Map::new();
    if a.enable || a.disable {
        patch.insert("isEnabled".into(), json!(a.enable));
    }
    if let Some(n) = a.global_admin_count {
        patch.insert("globalAdminCountThreshold".into(), json!(n));
    }
    if let Some(p) = a.global_admin_percentage {
        patch.insert("percentageOfGlobalAdminsOutOfRolesThreshold".into(), json!(p));
    }
    if let Some(d) = a.days {
        patch.insert("duration".into(), json!(format!("P{d}D")));
    }
    if !patch.is_empty() {
        ctx.client.patch(&path, &serde_json::Value::Object(patch)).await?;
    }
    let c: AlertConfiguration = ctx.client.get_as(&path).await?;
    emit(ctx.format, &c, || {
        let mut pairs = vec![("alert", display_name(&alert)), ("enabled", c.is_enabled.to_string())];
        if let Some(n) = c.global_admin_count_threshold {
            pairs.push(("global admins at least", n.to_string()));
        }
        if let Some(p) = c.percentage_of_global_admins_out_of_roles_threshold {
            pairs.push(("and at least (% of holders)", p.to_string()));
        }
        if let Some(d) = &c.duration {
            pairs.push(("duration", d.clone()));
        }
        details(&pairs)
    });
    Ok(())
}
