//! `openpim alerts --scope S list|show|dismiss|refresh|config`: the PIM security alerts of an
//! Azure scope over ARM (`{scope}/providers/Microsoft.Authorization/roleManagementAlerts`,
//! api-version 2022-08-01-preview). An alert is named by its ARM name
//! (`TooManyOwnersAssignedToResource`) or a short name (`too-many-owners`, `permanent-owners`,
//! `duplicate-role`, `outside-pim`). `--output json` prints ARM's resources as served.

use super::alerts::{AlertsCommand, ConfigArgs};
use crate::client::enc;
use crate::context::Ctx;
use crate::error::{CliError, CliResult, Kind};
use crate::output::{details, emit, Table};
use serde_json::{json, Value};

const API: &str = "api-version=2022-08-01-preview";

/// The spec's alert names and the CLI's short names for them.
const NAMES: [(&str, &str); 4] = [
    ("too-many-owners", "TooManyOwnersAssignedToResource"),
    ("permanent-owners", "TooManyPermanentOwnersAssignedToResource"),
    ("duplicate-role", "DuplicateRoleCreated"),
    ("outside-pim", "AzureRolesAssignedOutsidePimAlert"),
];

pub async fn run(ctx: &Ctx, scope: &str, cmd: AlertsCommand) -> CliResult<()> {
    let scope = scope.trim_end_matches('/');
    if !scope.starts_with('/') || scope.is_empty() {
        return Err(CliError::new(
            Kind::Usage,
            "InvalidScope",
            "--scope is an ARM scope such as /subscriptions/{id} or /subscriptions/{id}/resourceGroups/{name}",
        ));
    }
    match cmd {
        AlertsCommand::List { active } => list(ctx, scope, active).await,
        AlertsCommand::Show { alert } => show(ctx, scope, &alert).await,
        AlertsCommand::Dismiss { alert } => {
            let name = name_of(&alert)?;
            ctx.arm
                .patch(&path(scope, "roleManagementAlerts", Some(name)), &json!({"properties": {"isActive": false}}))
                .await?;
            let after: Value = ctx.arm.get_as(&path(scope, "roleManagementAlerts", Some(name))).await?;
            emit(ctx.format, &after, || format!("dismissed: {}\n", display_name(&after)));
            Ok(())
        }
        AlertsCommand::Refresh { alert } => refresh(ctx, scope, alert.as_deref()).await,
        AlertsCommand::Config(a) => config(ctx, scope, a).await,
    }
}

fn name_of(alert: &str) -> CliResult<&'static str> {
    NAMES
        .iter()
        .find(|(short, name)| short.eq_ignore_ascii_case(alert) || name.eq_ignore_ascii_case(alert))
        .map(|(_, name)| *name)
        .ok_or_else(|| {
            CliError::new(
                Kind::NotFound,
                "AlertNotFound",
                format!(
                    "no Azure alert '{alert}': use too-many-owners, permanent-owners, duplicate-role or outside-pim"
                ),
            )
        })
}

fn path(scope: &str, collection: &str, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("{scope}/providers/Microsoft.Authorization/{collection}/{}?{API}", enc(n)),
        None => format!("{scope}/providers/Microsoft.Authorization/{collection}?{API}"),
    }
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(String::new, str::to_string)
}

fn display_name(a: &Value) -> String {
    text(&a["properties"]["alertDefinition"]["properties"]["displayName"])
}

async fn list(ctx: &Ctx, scope: &str, active_only: bool) -> CliResult<()> {
    let alerts: Vec<Value> = ctx.arm.get_all_arm_as(&path(scope, "roleManagementAlerts", None)).await?;
    let alerts: Vec<Value> =
        alerts.into_iter().filter(|a| !active_only || a["properties"]["isActive"] == true).collect();
    emit(ctx.format, &alerts, || {
        let mut t = Table::new(&["ALERT", "ACTIVE", "SEVERITY", "INCIDENTS", "SCANNED", "NAME"]);
        for a in &alerts {
            let p = &a["properties"];
            t.row(vec![
                display_name(a),
                if p["isActive"] == true { "yes".into() } else { "no".into() },
                text(&p["alertDefinition"]["properties"]["severityLevel"]),
                p["incidentCount"].to_string(),
                p["lastScannedDateTime"].as_str().unwrap_or("never").to_string(),
                text(&a["name"]),
            ]);
        }
        t.render()
    });
    Ok(())
}

async fn show(ctx: &Ctx, scope: &str, alert: &str) -> CliResult<()> {
    let a: Value = ctx.arm.get_as(&path(scope, "roleManagementAlerts", Some(name_of(alert)?))).await?;
    emit(ctx.format, &a, || {
        let p = &a["properties"];
        let d = &p["alertDefinition"]["properties"];
        let mut out = details(&[
            ("alert", display_name(&a)),
            ("scope", text(&p["scope"])),
            ("active", p["isActive"].to_string()),
            ("severity", text(&d["severityLevel"])),
            ("incidents", p["incidentCount"].to_string()),
            ("scanned", p["lastScannedDateTime"].as_str().unwrap_or("never").to_string()),
            ("fix", text(&d["mitigationSteps"])),
        ]);
        let mut t = Table::new(&["WHO", "ROLE", "DETAIL", "ID"]);
        for i in p["alertIncidents"].as_array().into_iter().flatten() {
            let ip = &i["properties"];
            let who = ["assigneeUserPrincipalName", "assigneeDisplayName", "assigneeName"]
                .iter()
                .map(|k| text(&ip[*k]))
                .find(|s| !s.is_empty())
                .unwrap_or_default();
            let role = [&ip["roleDisplayName"], &ip["roleName"]].iter().map(|v| text(v)).find(|s| !s.is_empty());
            let detail = if ip["duplicateRoles"].is_string() {
                format!("same permissions as {}", text(&ip["duplicateRoles"]))
            } else if ip["assignmentActivatedDate"].is_string() {
                format!("assigned {}", text(&ip["assignmentActivatedDate"]))
            } else {
                text(&ip["assigneeType"])
            };
            t.row(vec![who, role.unwrap_or_default(), detail, text(&i["name"])]);
        }
        out.push('\n');
        out.push_str(&t.render());
        out
    });
    Ok(())
}

async fn refresh(ctx: &Ctx, scope: &str, alert: Option<&str>) -> CliResult<()> {
    let target = match alert {
        Some(a) => {
            format!("{scope}/providers/Microsoft.Authorization/roleManagementAlerts/{}/refresh?{API}", name_of(a)?)
        }
        None => format!("{scope}/providers/Microsoft.Authorization/roleManagementAlerts/refresh?{API}"),
    };
    if let Some(location) = ctx.arm.post_accepted(&target, &json!({})).await? {
        for _ in 0..50 {
            let op: Value = ctx.arm.get_as(&location).await?;
            match op["status"].as_str() {
                Some("Running" | "NotStarted") => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
                Some("Succeeded") => break,
                other => {
                    return Err(CliError::new(
                        Kind::Server,
                        "RefreshFailed",
                        format!("the refresh ended '{}'", other.unwrap_or("?")),
                    ))
                }
            }
        }
    }
    list(ctx, scope, false).await
}

async fn config(ctx: &Ctx, scope: &str, a: ConfigArgs) -> CliResult<()> {
    let name = name_of(&a.alert)?;
    if a.global_admin_count.is_some() || a.global_admin_percentage.is_some() || a.days.is_some() {
        return Err(CliError::new(
            Kind::Usage,
            "DirectoryOnlyOption",
            "--global-admin-count, --global-admin-percentage and --days are directory alerts' settings: drop --scope",
        ));
    }
    let p = path(scope, "roleManagementAlertConfigurations", Some(name));
    let current: Value = ctx.arm.get_as(&p).await?;
    let kind = current["properties"]["alertConfigurationType"].clone();
    let mut props = serde_json::Map::new();
    if a.enable || a.disable {
        props.insert("isEnabled".into(), json!(a.enable));
    }
    // The two owner alerts name their thresholds differently; the server refuses them elsewhere.
    let (count, percentage) = if name == "TooManyPermanentOwnersAssignedToResource" {
        ("thresholdNumberOfPermanentOwners", "thresholdPercentageOfPermanentOwnersOutOfAllOwners")
    } else {
        ("thresholdNumberOfOwners", "thresholdPercentageOfOwnersOutOfAllRoleMembers")
    };
    if let Some(n) = a.owner_count {
        props.insert(count.into(), json!(n));
    }
    if let Some(n) = a.owner_percentage {
        props.insert(percentage.into(), json!(n));
    }
    if !props.is_empty() {
        props.insert("alertConfigurationType".into(), kind);
        ctx.arm.patch(&p, &json!({"properties": props})).await?;
    }
    let c: Value = ctx.arm.get_as(&p).await?;
    emit(ctx.format, &c, || {
        let cp = &c["properties"];
        let mut pairs = vec![("alert", name.to_string()), ("enabled", cp["isEnabled"].to_string())];
        if cp[count].is_number() {
            pairs.push(("owners at least", cp[count].to_string()));
            pairs.push(("and at least (%)", cp[percentage].to_string()));
        }
        details(&pairs)
    });
    Ok(())
}
