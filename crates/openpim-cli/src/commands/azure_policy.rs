//! `openpim azure policy show|set`: an Azure role's settings at an ARM scope (its role
//! management policy, found through `roleManagementPolicyAssignments?$filter=roleDefinitionId eq
//! '...'`), shown rule by rule for people, and changed with one `PATCH` of the policy carrying
//! only the rules that change (ARM merges rules by id).
//!
//! The rules are read as JSON values rather than typed: the CLI touches four of them
//! (`Expiration_EndUser_Assignment`, `Enablement_EndUser_Assignment`,
//! `Approval_EndUser_Assignment`, and reads the others), and sends back each changed rule as the
//! server gave it, with only the changed settings replaced.

use super::azure_pim::{at, role, scope_arg};
use super::duration_arg;
use crate::client::{enc, literal};
use crate::context::Ctx;
use crate::duration::{human_iso, to_iso};
use crate::error::{CliError, CliResult, Kind};
use crate::output::{details, emit, Table};
use crate::resolve::PrincipalKind;
use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::{json, Value};

/// The api-version of role management policies and their assignments.
const POLICY_API: &str = "2020-10-01";

const ACTIVATION_EXPIRATION: &str = "Expiration_EndUser_Assignment";
const ACTIVATION_ENABLEMENT: &str = "Enablement_EndUser_Assignment";
const ACTIVATION_APPROVAL: &str = "Approval_EndUser_Assignment";
const ACTIVATION_AUTH_CONTEXT: &str = "AuthenticationContext_EndUser_Assignment";
const ELIGIBLE_EXPIRATION: &str = "Expiration_Admin_Eligibility";
const ACTIVE_EXPIRATION: &str = "Expiration_Admin_Assignment";
const ACTIVE_ENABLEMENT: &str = "Enablement_Admin_Assignment";

#[derive(Subcommand)]
pub enum AzurePolicyCommand {
    /// An Azure role's settings at a scope, every rule.
    Show {
        /// ARM scope: /subscriptions/{id}[/resourceGroups/{name}...] or a management group.
        #[arg(long, value_parser = scope_arg)]
        scope: String,
        /// Azure role name (case-insensitive) or role definition GUID.
        #[arg(long)]
        role: String,
    },
    /// Change an Azure role's activation settings at a scope.
    Set(SetArgs),
}

#[derive(Args)]
pub struct SetArgs {
    /// ARM scope: /subscriptions/{id}[/resourceGroups/{name}...] or a management group.
    #[arg(long, value_parser = scope_arg)]
    scope: String,
    /// Azure role name (case-insensitive) or role definition GUID.
    #[arg(long)]
    role: String,
    /// Longest activation, e.g. 2h.
    #[arg(long, value_parser = duration_arg)]
    max_activation: Option<u64>,
    /// Activation needs approval (`--require-approval=false`: it does not).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "true|false")]
    require_approval: Option<bool>,
    /// An approver (UPN, object id or group name); repeat for more. Implies --require-approval.
    #[arg(long = "approver", value_name = "PRINCIPAL")]
    approvers: Vec<String>,
    /// Activation needs a justification (`=false`: it does not).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "true|false")]
    require_justification: Option<bool>,
    /// Activation needs multi-factor authentication (`=false`: it does not).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "true|false")]
    require_mfa: Option<bool>,
}

pub async fn run(ctx: &Ctx, cmd: AzurePolicyCommand) -> CliResult<()> {
    match cmd {
        AzurePolicyCommand::Show { scope, role } => {
            let (role_name, policy) = load(ctx, &scope, &role).await?;
            let summary = summarize(&role_name, &policy);
            emit(ctx.format, &summary, || render(&summary));
            Ok(())
        }
        AzurePolicyCommand::Set(a) => set(ctx, a).await,
    }
}

/// The role's name and its policy at `scope`.
async fn load(ctx: &Ctx, scope: &str, role_arg: &str) -> CliResult<(String, Value)> {
    let role = role(ctx, scope, role_arg).await?;
    let filter = format!("roleDefinitionId eq {}", literal(&role.id));
    let path =
        format!("{}?api-version={POLICY_API}&$filter={}", at(scope, "roleManagementPolicyAssignments"), enc(&filter));
    let assignments: Vec<Value> = ctx.arm.get_all_arm_as(&path).await?;
    let policy_id = assignments
        .iter()
        .find_map(|a| a["properties"]["policyId"].as_str())
        .ok_or_else(|| {
            CliError::not_found(
                "PolicyNotFound",
                format!("no role management policy applies to '{}' at {scope}", role.properties.role_name),
            )
        })?
        .to_string();
    let policy = ctx.arm.get(&format!("{policy_id}?api-version={POLICY_API}")).await?;
    Ok((role.properties.role_name, policy))
}

/// A rule as people read it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleLine {
    id: String,
    rule_type: String,
    summary: String,
}

/// What `policy show` prints (its JSON is the `--output json` contract).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PolicySummary {
    policy_id: String,
    scope: String,
    role: String,
    /// ISO 8601.
    max_activation: Option<String>,
    /// `MultiFactorAuthentication`, `Justification`, `Ticketing`.
    activation_requires: Vec<String>,
    approval_required: bool,
    approvers: Vec<Value>,
    /// The claim value when the authentication context rule is on.
    authentication_context: Option<String>,
    eligible_expiration_required: bool,
    max_eligible: Option<String>,
    active_expiration_required: bool,
    max_active: Option<String>,
    active_assignment_requires: Vec<String>,
    rules: Vec<RuleLine>,
}

fn rules(policy: &Value) -> &[Value] {
    policy["properties"]["rules"].as_array().map(Vec::as_slice).unwrap_or_default()
}

fn rule<'a>(policy: &'a Value, id: &str) -> Option<&'a Value> {
    rules(policy).iter().find(|r| r["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(id)))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

fn approvers_of(rule: &Value) -> Vec<Value> {
    rule["setting"]["approvalStages"]
        .as_array()
        .map(|stages| {
            stages.iter().flat_map(|s| s["primaryApprovers"].as_array().cloned().unwrap_or_default()).collect()
        })
        .unwrap_or_default()
}

fn approver_name(a: &Value) -> String {
    a["description"].as_str().filter(|d| !d.is_empty()).or(a["id"].as_str()).unwrap_or("?").to_string()
}

/// One rule in a line: "required, at most 8h", "requires MultiFactorAuthentication", ...
fn readable(rule: &Value) -> String {
    let rule_type = rule["ruleType"].as_str().unwrap_or("");
    let on = |v: &Value| v.as_bool().unwrap_or(false);
    match rule_type {
        "RoleManagementPolicyExpirationRule" => {
            let max = rule["maximumDuration"].as_str().map(human_iso).unwrap_or_else(|| "?".into());
            if on(&rule["isExpirationRequired"]) {
                format!("an end is required, at most {max}")
            } else {
                format!("no end required (at most {max} when one is given)")
            }
        }
        "RoleManagementPolicyEnablementRule" => {
            let enabled = strings(&rule["enabledRules"]);
            if enabled.is_empty() {
                "requires nothing".into()
            } else {
                format!("requires {}", enabled.join(", "))
            }
        }
        "RoleManagementPolicyApprovalRule" => {
            if on(&rule["setting"]["isApprovalRequired"]) {
                let names: Vec<String> = approvers_of(rule).iter().map(approver_name).collect();
                format!(
                    "approval required, by {}",
                    if names.is_empty() { "nobody yet".into() } else { names.join(", ") }
                )
            } else {
                "no approval".into()
            }
        }
        "RoleManagementPolicyAuthenticationContextRule" => {
            if on(&rule["isEnabled"]) {
                format!("authentication context {}", rule["claimValue"].as_str().unwrap_or(""))
            } else {
                "no authentication context".into()
            }
        }
        "RoleManagementPolicyNotificationRule" => {
            let extra = strings(&rule["notificationRecipients"]);
            format!(
                "{} e-mail to {} ({}), default recipients {}{}",
                rule["notificationType"].as_str().unwrap_or("?"),
                rule["recipientType"].as_str().unwrap_or("?"),
                rule["notificationLevel"].as_str().unwrap_or("?"),
                if on(&rule["isDefaultRecipientsEnabled"]) { "on" } else { "off" },
                if extra.is_empty() { String::new() } else { format!(", also {}", extra.join(", ")) }
            )
        }
        other => format!("({other})"),
    }
}

fn summarize(role_name: &str, policy: &Value) -> PolicySummary {
    let get = |id: &str| rule(policy, id).cloned().unwrap_or(Value::Null);
    let (expiration, enablement, approval) =
        (get(ACTIVATION_EXPIRATION), get(ACTIVATION_ENABLEMENT), get(ACTIVATION_APPROVAL));
    let auth = get(ACTIVATION_AUTH_CONTEXT);
    let (eligible, active) = (get(ELIGIBLE_EXPIRATION), get(ACTIVE_EXPIRATION));
    let duration = |r: &Value| r["maximumDuration"].as_str().map(str::to_string);
    PolicySummary {
        policy_id: policy["id"].as_str().unwrap_or("").to_string(),
        scope: policy["properties"]["scope"].as_str().unwrap_or("").to_string(),
        role: role_name.to_string(),
        max_activation: duration(&expiration),
        activation_requires: strings(&enablement["enabledRules"]),
        approval_required: approval["setting"]["isApprovalRequired"].as_bool().unwrap_or(false),
        approvers: approvers_of(&approval),
        authentication_context: auth["isEnabled"]
            .as_bool()
            .unwrap_or(false)
            .then(|| auth["claimValue"].as_str().unwrap_or("").to_string()),
        eligible_expiration_required: eligible["isExpirationRequired"].as_bool().unwrap_or(false),
        max_eligible: duration(&eligible),
        active_expiration_required: active["isExpirationRequired"].as_bool().unwrap_or(false),
        max_active: duration(&active),
        active_assignment_requires: strings(&get(ACTIVE_ENABLEMENT)["enabledRules"]),
        rules: rules(policy)
            .iter()
            .map(|r| RuleLine {
                id: r["id"].as_str().unwrap_or("").to_string(),
                rule_type: r["ruleType"].as_str().unwrap_or("").to_string(),
                summary: readable(r),
            })
            .collect(),
    }
}

fn render(s: &PolicySummary) -> String {
    let none = |v: &[String]| if v.is_empty() { "nothing".to_string() } else { v.join(", ") };
    let limit = |required: bool, max: &Option<String>| match (required, max) {
        (true, Some(m)) => format!("at most {}", human_iso(m)),
        (false, Some(m)) => format!("permanent allowed (else at most {})", human_iso(m)),
        (_, None) => "?".to_string(),
    };
    let mut out = details(&[
        ("Role", s.role.clone()),
        ("Scope", s.scope.clone()),
        ("Policy", s.policy_id.clone()),
        ("Max activation", s.max_activation.as_deref().map(human_iso).unwrap_or_else(|| "?".into())),
        ("Activation requires", none(&s.activation_requires)),
        (
            "Approval",
            if s.approval_required {
                format!("required, by {}", s.approvers.iter().map(approver_name).collect::<Vec<_>>().join(", "))
            } else {
                "not required".into()
            },
        ),
        ("Authentication context", s.authentication_context.clone().unwrap_or_else(|| "none".into())),
        ("Eligible assignments", limit(s.eligible_expiration_required, &s.max_eligible)),
        ("Active assignments", limit(s.active_expiration_required, &s.max_active)),
        ("Active assignment requires", none(&s.active_assignment_requires)),
    ]);
    out.push('\n');
    let mut t = Table::new(&["RULE", "SETTING"]);
    for r in &s.rules {
        t.row(vec![r.id.clone(), r.summary.clone()]);
    }
    out.push_str(&t.render());
    out
}

/// Turns `name` on or off in an enablement rule's list.
fn toggle(enabled: &mut Vec<String>, name: &str, on: bool) {
    enabled.retain(|e| !e.eq_ignore_ascii_case(name));
    if on {
        enabled.push(name.to_string());
    }
}

async fn set(ctx: &Ctx, a: SetArgs) -> CliResult<()> {
    if a.require_approval == Some(false) && !a.approvers.is_empty() {
        return Err(CliError::usage("--approver goes with approval required, not --require-approval=false"));
    }
    if a.max_activation.is_none()
        && a.require_approval.is_none()
        && a.approvers.is_empty()
        && a.require_justification.is_none()
        && a.require_mfa.is_none()
    {
        return Err(CliError::usage(
            "nothing to change: give --max-activation, --require-approval, --approver, --require-justification or --require-mfa",
        ));
    }
    let (role_name, policy) = load(ctx, &a.scope, &a.role).await?;
    let policy_id = policy["id"].as_str().unwrap_or("").to_string();
    let current = |id: &str| {
        rule(&policy, id)
            .cloned()
            .ok_or_else(|| CliError::new(Kind::Server, "BadResponse", format!("policy {policy_id} has no rule {id}")))
    };
    let mut changed = Vec::new();
    if let Some(secs) = a.max_activation {
        let mut r = current(ACTIVATION_EXPIRATION)?;
        r["maximumDuration"] = json!(to_iso(secs));
        changed.push(r);
    }
    if a.require_justification.is_some() || a.require_mfa.is_some() {
        let mut r = current(ACTIVATION_ENABLEMENT)?;
        let mut enabled = strings(&r["enabledRules"]);
        if let Some(on) = a.require_justification {
            toggle(&mut enabled, "Justification", on);
        }
        if let Some(on) = a.require_mfa {
            toggle(&mut enabled, "MultiFactorAuthentication", on);
        }
        r["enabledRules"] = json!(enabled);
        changed.push(r);
    }
    if a.require_approval.is_some() || !a.approvers.is_empty() {
        let mut r = current(ACTIVATION_APPROVAL)?;
        let required = a.require_approval.unwrap_or(true);
        r["setting"]["isApprovalRequired"] = json!(required);
        if required && r["setting"]["approvalMode"].as_str().is_none_or(|m| m == "NoApproval") {
            r["setting"]["approvalMode"] = json!("SingleStage");
        }
        if !a.approvers.is_empty() {
            let mut sets = Vec::new();
            for raw in &a.approvers {
                let p = ctx.principal(raw).await?;
                let user_type = if p.kind == PrincipalKind::Group { "Group" } else { "User" };
                sets.push(
                    json!({"userType": user_type, "isBackup": false, "id": p.id.to_string(), "description": p.name}),
                );
            }
            // The first stage keeps its timeouts; Azure's default rule has one stage.
            let mut stage = r["setting"]["approvalStages"].get(0).cloned().unwrap_or_else(|| {
                json!({"approvalStageTimeOutInDays": 1, "isApproverJustificationRequired": true,
                       "escalationTimeInMinutes": 0, "isEscalationEnabled": false, "escalationApprovers": null})
            });
            stage["primaryApprovers"] = json!(sets);
            r["setting"]["approvalStages"] = json!([stage]);
        }
        changed.push(r);
    }
    let body = json!({"properties": {"rules": changed}});
    let updated = ctx.arm.patch(&format!("{policy_id}?api-version={POLICY_API}"), &body).await?;
    let summary = summarize(&role_name, &updated);
    emit(ctx.format, &summary, || render(&summary));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_read_for_people() {
        let exp = json!({"id": "Expiration_EndUser_Assignment", "ruleType": "RoleManagementPolicyExpirationRule",
                         "isExpirationRequired": true, "maximumDuration": "PT8H"});
        assert_eq!(readable(&exp), "an end is required, at most 8h");
        let en = json!({"ruleType": "RoleManagementPolicyEnablementRule", "enabledRules": ["MultiFactorAuthentication", "Justification"]});
        assert_eq!(readable(&en), "requires MultiFactorAuthentication, Justification");
        let ap = json!({"ruleType": "RoleManagementPolicyApprovalRule", "setting": {"isApprovalRequired": true,
                        "approvalStages": [{"primaryApprovers": [{"id": "x", "description": "bob@x"}]}]}});
        assert_eq!(readable(&ap), "approval required, by bob@x");
        let mut v = vec!["Justification".to_string()];
        toggle(&mut v, "justification", false);
        toggle(&mut v, "MultiFactorAuthentication", true);
        assert_eq!(v, vec!["MultiFactorAuthentication".to_string()]);
    }
}
