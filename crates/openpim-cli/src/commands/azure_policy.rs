//! `openpim azure policy show|set`: an Azure role's settings at an ARM scope (its role
//! management policy, found through `roleManagementPolicyAssignments?$filter=roleDefinitionId eq
//! '...'`), shown rule by rule for people, and changed with one `PATCH` of the policy carrying
//! only the rules that change (ARM merges rules by id).
//!
//! The policy is read into `openpim_proto::arm::policies` (the types the server renders it
//! with); `set` changes three rules (`Expiration_EndUser_Assignment`,
//! `Enablement_EndUser_Assignment`, `Approval_EndUser_Assignment`) and sends back each changed
//! rule as the server gave it, with only the changed settings replaced.

use super::azure_pim::{at, role, scope_arg};
use super::duration_arg;
use crate::client::{enc, literal};
use crate::context::Ctx;
use crate::duration::{human_iso, to_iso};
use crate::error::{CliError, CliResult, Kind};
use crate::output::{details, emit, Table};
use crate::resolve::PrincipalKind;
use clap::{Args, Subcommand};
use openpim_proto::arm::policies::{
    ApprovalSettings, ApprovalStage, PolicyRule, RoleManagementPolicy, RoleManagementPolicyAssignment, RuleSettings,
    UserSet,
};
use serde::Serialize;

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
async fn load(ctx: &Ctx, scope: &str, role_arg: &str) -> CliResult<(String, RoleManagementPolicy)> {
    let role = role(ctx, scope, role_arg).await?;
    let filter = format!("roleDefinitionId eq {}", literal(&role.id));
    let path =
        format!("{}?api-version={POLICY_API}&$filter={}", at(scope, "roleManagementPolicyAssignments"), enc(&filter));
    let assignments: Vec<RoleManagementPolicyAssignment> = ctx.arm.get_all_arm_as(&path).await?;
    let policy_id = assignments.into_iter().next().map(|a| a.properties.policy_id).ok_or_else(|| {
        CliError::not_found(
            "PolicyNotFound",
            format!("no role management policy applies to '{}' at {scope}", role.properties.role_name),
        )
    })?;
    let policy = ctx.arm.get_as(&format!("{policy_id}?api-version={POLICY_API}")).await?;
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
    approvers: Vec<UserSet>,
    /// The claim value when the authentication context rule is on.
    authentication_context: Option<String>,
    eligible_expiration_required: bool,
    max_eligible: Option<String>,
    active_expiration_required: bool,
    max_active: Option<String>,
    active_assignment_requires: Vec<String>,
    rules: Vec<RuleLine>,
}

fn rule<'a>(policy: &'a RoleManagementPolicy, id: &str) -> Option<&'a PolicyRule> {
    policy.properties.rules.iter().find(|r| r.id.eq_ignore_ascii_case(id))
}

/// An expiration rule's (required, maximum duration).
fn expiration(rule: Option<&PolicyRule>) -> Option<(bool, &str)> {
    match &rule?.settings {
        RuleSettings::Expiration { is_expiration_required, maximum_duration } => {
            Some((*is_expiration_required, maximum_duration))
        }
        _ => None,
    }
}

/// An enablement rule's list (empty for any other rule).
fn enabled(rule: Option<&PolicyRule>) -> Vec<String> {
    match rule.map(|r| &r.settings) {
        Some(RuleSettings::Enablement { enabled_rules }) => enabled_rules.clone(),
        _ => Vec::new(),
    }
}

fn approval(rule: Option<&PolicyRule>) -> Option<&ApprovalSettings> {
    match &rule?.settings {
        RuleSettings::Approval { setting } => Some(setting),
        _ => None,
    }
}

fn approvers_of(setting: &ApprovalSettings) -> Vec<UserSet> {
    setting.approval_stages.iter().flat_map(|s| s.primary_approvers.iter().cloned()).collect()
}

fn approver_name(a: &UserSet) -> String {
    a.description.clone().filter(|d| !d.is_empty()).unwrap_or_else(|| a.id.clone())
}

/// One rule in a line: "required, at most 8h", "requires MultiFactorAuthentication", ...
fn readable(rule: &PolicyRule) -> String {
    match &rule.settings {
        RuleSettings::Expiration { is_expiration_required, maximum_duration } => {
            let max = human_iso(maximum_duration);
            if *is_expiration_required {
                format!("an end is required, at most {max}")
            } else {
                format!("no end required (at most {max} when one is given)")
            }
        }
        RuleSettings::Enablement { enabled_rules } => {
            if enabled_rules.is_empty() {
                "requires nothing".into()
            } else {
                format!("requires {}", enabled_rules.join(", "))
            }
        }
        RuleSettings::Approval { setting } => {
            if setting.is_approval_required {
                let names: Vec<String> = approvers_of(setting).iter().map(approver_name).collect();
                format!(
                    "approval required, by {}",
                    if names.is_empty() { "nobody yet".into() } else { names.join(", ") }
                )
            } else {
                "no approval".into()
            }
        }
        RuleSettings::AuthenticationContext { is_enabled, claim_value } => {
            if *is_enabled {
                format!("authentication context {claim_value}")
            } else {
                "no authentication context".into()
            }
        }
        RuleSettings::Notification {
            notification_type,
            recipient_type,
            is_default_recipients_enabled,
            notification_level,
            notification_recipients,
        } => {
            let extra = notification_recipients.clone().unwrap_or_default();
            format!(
                "{notification_type} e-mail to {recipient_type} ({notification_level}), default recipients {}{}",
                if *is_default_recipients_enabled { "on" } else { "off" },
                if extra.is_empty() { String::new() } else { format!(", also {}", extra.join(", ")) }
            )
        }
    }
}

fn summarize(role_name: &str, policy: &RoleManagementPolicy) -> PolicySummary {
    let get = |id: &str| rule(policy, id);
    let activation = expiration(get(ACTIVATION_EXPIRATION));
    let (eligible, active) = (expiration(get(ELIGIBLE_EXPIRATION)), expiration(get(ACTIVE_EXPIRATION)));
    let approval = approval(get(ACTIVATION_APPROVAL));
    let auth = match get(ACTIVATION_AUTH_CONTEXT).map(|r| &r.settings) {
        Some(RuleSettings::AuthenticationContext { is_enabled: true, claim_value }) => Some(claim_value.clone()),
        _ => None,
    };
    let max = |e: Option<(bool, &str)>| e.map(|(_, m)| m.to_string());
    let required = |e: Option<(bool, &str)>| e.is_some_and(|(r, _)| r);
    PolicySummary {
        policy_id: policy.id.clone(),
        scope: policy.properties.scope.clone(),
        role: role_name.to_string(),
        max_activation: max(activation),
        activation_requires: enabled(get(ACTIVATION_ENABLEMENT)),
        approval_required: approval.is_some_and(|a| a.is_approval_required),
        approvers: approval.map(approvers_of).unwrap_or_default(),
        authentication_context: auth,
        eligible_expiration_required: required(eligible),
        max_eligible: max(eligible),
        active_expiration_required: required(active),
        max_active: max(active),
        active_assignment_requires: enabled(get(ACTIVE_ENABLEMENT)),
        rules: policy
            .properties
            .rules
            .iter()
            .map(|r| RuleLine { id: r.id.clone(), rule_type: r.rule_type.clone(), summary: readable(r) })
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

/// The body of the `PATCH`: only the rules that change (ARM merges rules by id).
#[derive(Serialize)]
struct RulesPatch {
    properties: RulesPatchProperties,
}

#[derive(Serialize)]
struct RulesPatchProperties {
    rules: Vec<PolicyRule>,
}

/// A policy without the rule a change needs, or with it of another type, is the server's fault.
fn bad_rule(policy_id: &str, id: &str) -> CliError {
    CliError::new(Kind::Server, "BadResponse", format!("policy {policy_id} has no {id} rule of the expected type"))
}

/// Activation needs approval (`required`) or not; `approvers` (the resolved `--approver`s), when
/// given, replace the first stage's.
fn require_approval(setting: &mut ApprovalSettings, required: bool, approvers: Vec<UserSet>) {
    setting.is_approval_required = required;
    if required && setting.approval_mode == "NoApproval" {
        setting.approval_mode = "SingleStage".into();
    }
    if !approvers.is_empty() {
        // The first stage keeps its timeouts; Azure's default rule has one stage.
        let mut stage = setting.approval_stages.first().cloned().unwrap_or(ApprovalStage {
            approval_stage_time_out_in_days: 1,
            is_approver_justification_required: true,
            escalation_time_in_minutes: 0,
            primary_approvers: Vec::new(),
            is_escalation_enabled: false,
            escalation_approvers: None,
        });
        stage.primary_approvers = approvers;
        setting.approval_stages = vec![stage];
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
    let policy_id = policy.id.clone();
    let current = |id: &str| rule(&policy, id).cloned().ok_or_else(|| bad_rule(&policy_id, id));
    let mut changed = Vec::new();
    if let Some(secs) = a.max_activation {
        let mut r = current(ACTIVATION_EXPIRATION)?;
        let RuleSettings::Expiration { maximum_duration, .. } = &mut r.settings else {
            return Err(bad_rule(&policy_id, ACTIVATION_EXPIRATION));
        };
        *maximum_duration = to_iso(secs);
        changed.push(r);
    }
    if a.require_justification.is_some() || a.require_mfa.is_some() {
        let mut r = current(ACTIVATION_ENABLEMENT)?;
        let RuleSettings::Enablement { enabled_rules } = &mut r.settings else {
            return Err(bad_rule(&policy_id, ACTIVATION_ENABLEMENT));
        };
        if let Some(on) = a.require_justification {
            toggle(enabled_rules, "Justification", on);
        }
        if let Some(on) = a.require_mfa {
            toggle(enabled_rules, "MultiFactorAuthentication", on);
        }
        changed.push(r);
    }
    if a.require_approval.is_some() || !a.approvers.is_empty() {
        let mut approvers = Vec::with_capacity(a.approvers.len());
        for raw in &a.approvers {
            let p = ctx.principal(raw).await?;
            let user_type = if p.kind == PrincipalKind::Group { "Group" } else { "User" };
            approvers.push(UserSet {
                user_type: user_type.into(),
                is_backup: false,
                id: p.id.to_string(),
                description: Some(p.name),
            });
        }
        let mut r = current(ACTIVATION_APPROVAL)?;
        let RuleSettings::Approval { setting } = &mut r.settings else {
            return Err(bad_rule(&policy_id, ACTIVATION_APPROVAL));
        };
        require_approval(setting, a.require_approval.unwrap_or(true), approvers);
        changed.push(r);
    }
    let body = RulesPatch { properties: RulesPatchProperties { rules: changed } };
    let updated: RoleManagementPolicy =
        ctx.arm.patch_as(&format!("{policy_id}?api-version={POLICY_API}"), &body).await?;
    let summary = summarize(&role_name, &updated);
    emit(ctx.format, &summary, || render(&summary));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn typed(v: serde_json::Value) -> PolicyRule {
        let mut v = v;
        v["target"] = json!({"caller": "EndUser", "operations": ["All"], "level": "Assignment",
                             "targetObjects": null, "inheritableSettings": null, "enforcedSettings": null});
        serde_json::from_value(v).expect("a policy rule")
    }

    #[test]
    fn rules_read_for_people() {
        let exp =
            typed(json!({"id": "Expiration_EndUser_Assignment", "ruleType": "RoleManagementPolicyExpirationRule",
                         "isExpirationRequired": true, "maximumDuration": "PT8H"}));
        assert_eq!(readable(&exp), "an end is required, at most 8h");
        let en = typed(json!({"id": "Enablement_EndUser_Assignment", "ruleType": "RoleManagementPolicyEnablementRule",
                              "enabledRules": ["MultiFactorAuthentication", "Justification"]}));
        assert_eq!(readable(&en), "requires MultiFactorAuthentication, Justification");
        let ap = typed(json!({"id": "Approval_EndUser_Assignment", "ruleType": "RoleManagementPolicyApprovalRule",
            "setting": {"isApprovalRequired": true, "isApprovalRequiredForExtension": false,
                "isRequestorJustificationRequired": true, "approvalMode": "SingleStage",
                "approvalStages": [{"approvalStageTimeOutInDays": 1, "isApproverJustificationRequired": true,
                    "escalationTimeInMinutes": 0, "isEscalationEnabled": false, "escalationApprovers": null,
                    "primaryApprovers": [{"userType": "User", "isBackup": false, "id": "x", "description": "bob@x"}]}]}}));
        assert_eq!(readable(&ap), "approval required, by bob@x");
        let mut v = vec!["Justification".to_string()];
        toggle(&mut v, "justification", false);
        toggle(&mut v, "MultiFactorAuthentication", true);
        assert_eq!(v, vec!["MultiFactorAuthentication".to_string()]);
    }

    #[test]
    fn requiring_approval_sets_the_mode_and_the_first_stage() {
        let mut setting = ApprovalSettings {
            is_approval_required: false,
            is_approval_required_for_extension: false,
            is_requestor_justification_required: true,
            approval_mode: "NoApproval".into(),
            approval_stages: Vec::new(),
        };
        let carol = UserSet { user_type: "User".into(), is_backup: false, id: "c".into(), description: None };
        require_approval(&mut setting, true, vec![carol.clone()]);
        assert!(setting.is_approval_required);
        assert_eq!(setting.approval_mode, "SingleStage");
        assert_eq!(setting.approval_stages.len(), 1);
        assert_eq!(setting.approval_stages[0].primary_approvers, vec![carol.clone()]);
        assert_eq!(approver_name(&carol), "c");
        // Turning it off keeps the approvers for the next time.
        require_approval(&mut setting, false, Vec::new());
        assert!(!setting.is_approval_required);
        assert_eq!(setting.approval_stages[0].primary_approvers.len(), 1);
    }
}
