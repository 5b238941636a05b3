//! `openpim policy show|set`: a role's settings (its role management policy at `/`) as a short
//! summary, and changes to it as one PATCH per rule that actually changes.

use super::duration_arg;
use crate::client::{enc, literal};
use crate::context::Ctx;
use crate::duration::{human_iso, parse as parse_duration, to_iso};
use crate::error::{CliError, CliResult, Kind};
use crate::output::{details, emit, s};
use crate::resolve::PrincipalKind;
use clap::{Args, Subcommand};
use serde_json::{json, Value};

const EXPIRATION: &str = "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule";
const ENABLEMENT: &str = "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule";
const APPROVAL: &str = "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule";

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Summarise a role's settings.
    Show {
        /// Display name, id or template id.
        role: String,
    },
    /// Change a role's settings.
    Set(SetArgs),
}

#[derive(Args)]
pub struct SetArgs {
    /// Display name, id or template id.
    role: String,
    /// Longest activation, e.g. 2h.
    #[arg(long, value_parser = duration_arg)]
    max_activation: Option<u64>,
    /// What activation requires: any of justification, mfa, ticket (comma-separated), or none.
    #[arg(long, value_delimiter = ',', value_parser = requirement_arg)]
    require: Option<Vec<Requirement>>,
    /// Activation needs approval by these users (UPN or id) or groups (name or id).
    #[arg(long, value_delimiter = ',', conflicts_with = "no_approval")]
    approvers: Option<Vec<String>>,
    /// Activation needs no approval.
    #[arg(long)]
    no_approval: bool,
    /// Longest eligible assignment (e.g. 365d; requires an end), or "permanent" to allow them without an end.
    #[arg(long, value_parser = limit_arg)]
    max_eligible: Option<Limit>,
    /// Longest active assignment (e.g. 180d; requires an end), or "permanent" to allow them without an end.
    #[arg(long, value_parser = limit_arg)]
    max_active: Option<Limit>,
}

/// A limit on admin assignments: an end is required within this many seconds, or not at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Permanent,
    Within(u64),
}

fn limit_arg(raw: &str) -> Result<Limit, String> {
    if raw.trim().eq_ignore_ascii_case("permanent") {
        Ok(Limit::Permanent)
    } else {
        parse_duration(raw).map(Limit::Within)
    }
}

pub async fn run(ctx: &Ctx, cmd: PolicyCommand) -> CliResult<()> {
    match cmd {
        PolicyCommand::Show { role } => show(ctx, &role).await,
        PolicyCommand::Set(a) => set(ctx, a).await,
    }
}

struct Policy {
    role: Value,
    id: String,
    rules: Vec<Value>,
}

impl Policy {
    fn rule(&self, id: &str) -> CliResult<&Value> {
        self.rules
            .iter()
            .find(|r| s(r, "id") == id)
            .ok_or_else(|| CliError::new(Kind::Server, "BadResponse", format!("policy {} has no rule {id}", self.id)))
    }
}

async fn load(ctx: &Ctx, role: &str) -> CliResult<Policy> {
    let role = ctx.role(role).await?;
    let filter =
        format!("scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq {}", literal(s(&role, "id")));
    let path = format!(
        "/v1.0/policies/roleManagementPolicyAssignments?$filter={}&$expand={}",
        enc(&filter),
        enc("policy($expand=rules)")
    );
    let rows = ctx.client.get_all(&path).await?;
    let row = rows.first().ok_or_else(|| {
        CliError::not_found("PolicyNotFound", format!("role '{}' has no policy at /", s(&role, "displayName")))
    })?;
    let rules = row["policy"]["rules"].as_array().cloned().unwrap_or_default();
    Ok(Policy { id: s(row, "policyId").to_string(), role, rules })
}

fn enabled(rule: &Value) -> Vec<String> {
    rule["enabledRules"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_string)).collect()
}

/// `justification`, `mfa`, `ticket` for the server's enablement rule names.
fn requirement_name(rule: &str) -> String {
    match rule {
        "MultiFactorAuthentication" => "mfa".into(),
        "Justification" => "justification".into(),
        "Ticketing" => "ticket".into(),
        other => other.to_string(),
    }
}

/// One value of `--require`: an enablement rule, or `none` for no requirement at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    Nothing,
    Rule(&'static str),
}

fn requirement_arg(name: &str) -> Result<Requirement, String> {
    match name.trim().to_ascii_lowercase().as_str() {
        "none" => Ok(Requirement::Nothing),
        "mfa" | "multifactorauthentication" => Ok(Requirement::Rule("MultiFactorAuthentication")),
        "justification" => Ok(Requirement::Rule("Justification")),
        "ticket" | "ticketing" => Ok(Requirement::Rule("Ticketing")),
        other => Err(format!("'{other}' is not a requirement: use justification, mfa, ticket or none")),
    }
}

/// "8h" or, when no end is required, "permanent allowed (8h when time-bound)".
fn limit_text(rule: &Value) -> String {
    let max = human_iso(s(rule, "maximumDuration"));
    if rule["isExpirationRequired"].as_bool().unwrap_or(false) {
        max
    } else {
        format!("permanent allowed ({max} when time-bound)")
    }
}

async fn approvers(ctx: &Ctx, approval: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    let stages = approval["setting"]["approvalStages"].as_array().cloned().unwrap_or_default();
    for a in stages.iter().flat_map(|st| st["primaryApprovers"].as_array().cloned().unwrap_or_default()) {
        let (kind, id) = match (a["userId"].as_str(), a["groupId"].as_str()) {
            (Some(u), _) => ("user", u),
            (None, Some(g)) => ("group", g),
            _ => continue,
        };
        out.push(json!({"type": kind, "id": id, "name": ctx.principal_name(id).await}));
    }
    out
}

async fn summary(ctx: &Ctx, p: &Policy) -> CliResult<Value> {
    let activation = p.rule("Expiration_EndUser_Assignment")?;
    let approval = p.rule("Approval_EndUser_Assignment")?;
    let auth_context = p.rule("AuthenticationContext_EndUser_Assignment")?;
    let eligible = p.rule("Expiration_Admin_Eligibility")?;
    let active = p.rule("Expiration_Admin_Assignment")?;
    let approval_required = approval["setting"]["isApprovalRequired"].as_bool().unwrap_or(false);
    Ok(json!({
        "role": p.role["displayName"],
        "roleDefinitionId": p.role["id"],
        "policyId": p.id,
        "maxActivation": activation["maximumDuration"],
        "activationRequires": enabled(p.rule("Enablement_EndUser_Assignment")?).iter().map(|r| requirement_name(r)).collect::<Vec<_>>(),
        "approvalRequired": approval_required,
        "approvers": if approval_required { approvers(ctx, approval).await } else { Vec::new() },
        "authenticationContext": if auth_context["isEnabled"].as_bool().unwrap_or(false) { auth_context["claimValue"].clone() } else { Value::Null },
        "maxEligible": eligible["maximumDuration"],
        "eligibleExpirationRequired": eligible["isExpirationRequired"],
        "maxActive": active["maximumDuration"],
        "activeExpirationRequired": active["isExpirationRequired"],
        "activeAssignmentRequires": enabled(p.rule("Enablement_Admin_Assignment")?).iter().map(|r| requirement_name(r)).collect::<Vec<_>>(),
    }))
}

fn list_text(v: &Value) -> String {
    let items: Vec<&str> = v.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    if items.is_empty() {
        "nothing".into()
    } else {
        items.join(", ")
    }
}

async fn show(ctx: &Ctx, role: &str) -> CliResult<()> {
    let p = load(ctx, role).await?;
    let sum = summary(ctx, &p).await?;
    let eligible = p.rule("Expiration_Admin_Eligibility")?.clone();
    let active = p.rule("Expiration_Admin_Assignment")?.clone();
    emit(ctx.format, &sum, || {
        let approvers: Vec<String> = sum["approvers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| if s(a, "type") == "group" { format!("{} (group)", s(a, "name")) } else { s(a, "name").into() })
            .collect();
        details(&[
            ("Role", s(&sum, "role").into()),
            ("Max activation", human_iso(s(&sum, "maxActivation"))),
            ("Activation requires", list_text(&sum["activationRequires"])),
            (
                "Approval",
                if sum["approvalRequired"].as_bool().unwrap_or(false) {
                    format!(
                        "required, by {}",
                        if approvers.is_empty() { "nobody".into() } else { approvers.join(", ") }
                    )
                } else {
                    "not required".into()
                },
            ),
            ("Auth context", sum["authenticationContext"].as_str().unwrap_or("none").into()),
            ("Max eligible", limit_text(&eligible)),
            ("Max active", limit_text(&active)),
            ("Active assignment requires", list_text(&sum["activeAssignmentRequires"])),
        ])
    });
    Ok(())
}

/// The PATCH for an expiration rule, if `limit` changes it.
fn expiration_patch(rule: &Value, max: Option<u64>, required: Option<bool>) -> Option<Value> {
    let current_max = parse_duration(s(rule, "maximumDuration")).ok();
    let current_required = rule["isExpirationRequired"].as_bool();
    let max_changes = max.is_some_and(|m| Some(m) != current_max);
    let required_changes = required.is_some_and(|r| Some(r) != current_required);
    if !max_changes && !required_changes {
        return None;
    }
    let mut body = json!({"@odata.type": EXPIRATION, "id": rule["id"]});
    if let Some(m) = max {
        body["maximumDuration"] = json!(to_iso(m));
    }
    if let Some(r) = required {
        body["isExpirationRequired"] = json!(r);
    }
    Some(body)
}

fn limit_patch(rule: &Value, limit: Option<Limit>) -> Option<Value> {
    match limit? {
        Limit::Permanent => expiration_patch(rule, None, Some(false)),
        Limit::Within(secs) => expiration_patch(rule, Some(secs), Some(true)),
    }
}

async fn set(ctx: &Ctx, a: SetArgs) -> CliResult<()> {
    let p = load(ctx, &a.role).await?;
    let mut patches: Vec<Value> = Vec::new();

    if let Some(secs) = a.max_activation {
        patches.extend(expiration_patch(p.rule("Expiration_EndUser_Assignment")?, Some(secs), None));
    }
    if let Some(list) = &a.require {
        if list.contains(&Requirement::Nothing) && list.len() > 1 {
            return Err(CliError::usage("--require none cannot be combined with requirements"));
        }
        let mut wanted: Vec<&str> = Vec::new();
        for r in list {
            if let Requirement::Rule(rule) = r {
                if !wanted.contains(rule) {
                    wanted.push(rule);
                }
            }
        }
        let rule = p.rule("Enablement_EndUser_Assignment")?;
        let mut current = enabled(rule);
        current.sort();
        let mut sorted: Vec<String> = wanted.iter().map(|w| w.to_string()).collect();
        sorted.sort();
        if current != sorted {
            patches.push(json!({"@odata.type": ENABLEMENT, "id": rule["id"], "enabledRules": wanted}));
        }
    }
    let approval = p.rule("Approval_EndUser_Assignment")?;
    if let Some(names) = &a.approvers {
        let mut list = Vec::new();
        for n in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            let who = ctx.principal(n).await?;
            list.push(match who.kind {
                PrincipalKind::User => json!({"@odata.type": "#microsoft.graph.singleUser", "userId": who.id}),
                PrincipalKind::Group => json!({"@odata.type": "#microsoft.graph.groupMembers", "groupId": who.id}),
            });
        }
        if list.is_empty() {
            return Err(CliError::usage("--approvers needs at least one user or group"));
        }
        let mut wanted_ids: Vec<&str> =
            list.iter().filter_map(|a| a["userId"].as_str().or_else(|| a["groupId"].as_str())).collect();
        wanted_ids.sort();
        let current_stages = approval["setting"]["approvalStages"].as_array().cloned().unwrap_or_default();
        let mut current_ids: Vec<String> = current_stages
            .iter()
            .flat_map(|st| st["primaryApprovers"].as_array().cloned().unwrap_or_default())
            .filter_map(|a| a["userId"].as_str().or_else(|| a["groupId"].as_str()).map(str::to_string))
            .collect();
        current_ids.sort();
        let unchanged = approval["setting"]["isApprovalRequired"].as_bool() == Some(true)
            && current_stages.len() == 1
            && current_ids == wanted_ids;
        if !unchanged {
            patches.push(json!({
            "@odata.type": APPROVAL,
            "id": approval["id"],
            "setting": {"isApprovalRequired": true, "approvalStages": [{"primaryApprovers": list}]},
            }));
        }
    } else if a.no_approval && approval["setting"]["isApprovalRequired"].as_bool() != Some(false) {
        patches.push(json!({"@odata.type": APPROVAL, "id": approval["id"], "setting": {"isApprovalRequired": false}}));
    }
    patches.extend(limit_patch(p.rule("Expiration_Admin_Eligibility")?, a.max_eligible));
    patches.extend(limit_patch(p.rule("Expiration_Admin_Assignment")?, a.max_active));

    let mut changed = Vec::new();
    for body in &patches {
        let rule_id = s(body, "id").to_string();
        let path = format!("/v1.0/policies/roleManagementPolicies/{}/rules/{}", enc(&p.id), enc(&rule_id));
        ctx.client.patch(&path, body).await?;
        changed.push(rule_id);
    }
    let after = load(ctx, &a.role).await?;
    let mut sum = summary(ctx, &after).await?;
    sum["changedRules"] = json!(changed);
    emit(ctx.format, &sum, || {
        if changed.is_empty() {
            "Nothing to change.\n".into()
        } else {
            format!("Updated {} rule(s) of '{}': {}\n", changed.len(), s(&sum, "role"), changed.join(", "))
        }
    });
    Ok(())
}
