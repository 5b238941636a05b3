//! `openpim policy show|set`: a role's settings (its role management policy at `/`) as a short
//! summary, and changes to it as one PATCH per rule that actually changes.

use super::duration_arg;
use crate::client::{enc, literal};
use crate::context::Ctx;
use crate::duration::{human_iso, parse as parse_duration, to_iso};
use crate::error::{CliError, CliResult, Kind};
use crate::output::{details, emit};
use crate::resolve::PrincipalKind;
use clap::{Args, Subcommand};
use openpim_core::policy::rules::Enablement;
use openpim_proto::policies::{
    ApprovalRule, ApprovalSettingsPatch, ApprovalStagePatch, AuthenticationContextRule, EnablementRule, ExpirationRule,
    PolicyRule, PolicyRulePatch, SubjectSet, UnifiedRoleManagementPolicyAssignment,
};
use openpim_proto::roles::UnifiedRoleDefinition;
use serde::Serialize;
use uuid::Uuid;

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
    role: UnifiedRoleDefinition,
    id: String,
    rules: Vec<PolicyRule>,
}

impl Policy {
    fn missing(&self, id: &str) -> CliError {
        CliError::new(Kind::Server, "BadResponse", format!("policy {} has no rule {id} of its type", self.id))
    }

    fn rule(&self, id: &str) -> Option<&PolicyRule> {
        self.rules.iter().find(|r| r.id() == id)
    }

    fn expiration(&self, id: &str) -> CliResult<&ExpirationRule> {
        match self.rule(id) {
            Some(PolicyRule::Expiration(r)) => Ok(r),
            _ => Err(self.missing(id)),
        }
    }

    fn enablement(&self, id: &str) -> CliResult<&EnablementRule> {
        match self.rule(id) {
            Some(PolicyRule::Enablement(r)) => Ok(r),
            _ => Err(self.missing(id)),
        }
    }

    fn approval(&self, id: &str) -> CliResult<&ApprovalRule> {
        match self.rule(id) {
            Some(PolicyRule::Approval(r)) => Ok(r),
            _ => Err(self.missing(id)),
        }
    }

    fn authentication_context(&self, id: &str) -> CliResult<&AuthenticationContextRule> {
        match self.rule(id) {
            Some(PolicyRule::AuthenticationContext(r)) => Ok(r),
            _ => Err(self.missing(id)),
        }
    }
}

async fn load(ctx: &Ctx, role: &str) -> CliResult<Policy> {
    let role = ctx.role(role).await?;
    let filter = format!(
        "scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq {}",
        literal(&role.id.to_string())
    );
    let path = format!(
        "/v1.0/policies/roleManagementPolicyAssignments?$filter={}&$expand={}",
        enc(&filter),
        enc("policy($expand=rules)")
    );
    let rows: Vec<UnifiedRoleManagementPolicyAssignment> = ctx.client.get_all_as(&path).await?;
    let Some(row) = rows.into_iter().next() else {
        return Err(CliError::not_found("PolicyNotFound", format!("role '{}' has no policy at /", role.display_name)));
    };
    let rules = row.policy.and_then(|p| p.rules).unwrap_or_default();
    Ok(Policy { id: row.policy_id, role, rules })
}

/// `justification`, `mfa`, `ticket` for the server's enablement rule names.
fn requirement_name(rule: &str) -> String {
    match rule.parse::<Enablement>() {
        Ok(Enablement::MultiFactorAuthentication) => "mfa".into(),
        Ok(Enablement::Justification) => "justification".into(),
        Ok(Enablement::Ticketing) => "ticket".into(),
        Err(_) => rule.to_string(),
    }
}

/// One value of `--require`: an enablement rule, or `none` for no requirement at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    Nothing,
    Rule(Enablement),
}

fn requirement_arg(name: &str) -> Result<Requirement, String> {
    match name.trim().to_ascii_lowercase().as_str() {
        "none" => Ok(Requirement::Nothing),
        "mfa" | "multifactorauthentication" => Ok(Requirement::Rule(Enablement::MultiFactorAuthentication)),
        "justification" => Ok(Requirement::Rule(Enablement::Justification)),
        "ticket" | "ticketing" => Ok(Requirement::Rule(Enablement::Ticketing)),
        other => Err(format!("'{other}' is not a requirement: use justification, mfa, ticket or none")),
    }
}

/// "8h" or, when no end is required, "permanent allowed (8h when time-bound)".
fn limit_text(rule: &ExpirationRule) -> String {
    let max = human_iso(&rule.maximum_duration);
    if rule.is_expiration_required {
        max
    } else {
        format!("permanent allowed ({max} when time-bound)")
    }
}

/// An approver as `policy show` prints it.
#[derive(Serialize)]
struct ApproverRow {
    #[serde(rename = "type")]
    kind: &'static str,
    id: Uuid,
    name: String,
}

fn approver_id(a: &SubjectSet) -> Uuid {
    match a {
        SubjectSet::SingleUser { user_id, .. } => *user_id,
        SubjectSet::GroupMembers { group_id, .. } => *group_id,
    }
}

async fn approvers(ctx: &Ctx, approval: &ApprovalRule) -> Vec<ApproverRow> {
    let mut out = Vec::new();
    for a in approval.setting.approval_stages.iter().flat_map(|st| &st.primary_approvers) {
        let kind = match a {
            SubjectSet::SingleUser { .. } => "user",
            SubjectSet::GroupMembers { .. } => "group",
        };
        let id = approver_id(a);
        out.push(ApproverRow { kind, id, name: ctx.principal_name(id).await });
    }
    out
}

/// A role's settings as `policy show|set` print them (the `--output json` contract).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    role: String,
    role_definition_id: Uuid,
    policy_id: String,
    max_activation: String,
    activation_requires: Vec<String>,
    approval_required: bool,
    approvers: Vec<ApproverRow>,
    authentication_context: Option<String>,
    max_eligible: String,
    eligible_expiration_required: bool,
    max_active: String,
    active_expiration_required: bool,
    active_assignment_requires: Vec<String>,
    /// `policy set` only: the rules it PATCHed.
    #[serde(skip_serializing_if = "Option::is_none")]
    changed_rules: Option<Vec<String>>,
}

fn requirement_names(rule: &EnablementRule) -> Vec<String> {
    rule.enabled_rules.iter().map(|r| requirement_name(r)).collect()
}

async fn summary(ctx: &Ctx, p: &Policy) -> CliResult<Summary> {
    let activation = p.expiration("Expiration_EndUser_Assignment")?;
    let approval = p.approval("Approval_EndUser_Assignment")?;
    let auth_context = p.authentication_context("AuthenticationContext_EndUser_Assignment")?;
    let eligible = p.expiration("Expiration_Admin_Eligibility")?;
    let active = p.expiration("Expiration_Admin_Assignment")?;
    let approval_required = approval.setting.is_approval_required;
    Ok(Summary {
        role: p.role.display_name.clone(),
        role_definition_id: p.role.id,
        policy_id: p.id.clone(),
        max_activation: activation.maximum_duration.clone(),
        activation_requires: requirement_names(p.enablement("Enablement_EndUser_Assignment")?),
        approval_required,
        approvers: if approval_required { approvers(ctx, approval).await } else { Vec::new() },
        authentication_context: auth_context.is_enabled.then(|| auth_context.claim_value.clone()).flatten(),
        max_eligible: eligible.maximum_duration.clone(),
        eligible_expiration_required: eligible.is_expiration_required,
        max_active: active.maximum_duration.clone(),
        active_expiration_required: active.is_expiration_required,
        active_assignment_requires: requirement_names(p.enablement("Enablement_Admin_Assignment")?),
        changed_rules: None,
    })
}

fn list_text(items: &[String]) -> String {
    if items.is_empty() {
        "nothing".into()
    } else {
        items.join(", ")
    }
}

async fn show(ctx: &Ctx, role: &str) -> CliResult<()> {
    let p = load(ctx, role).await?;
    let sum = summary(ctx, &p).await?;
    let eligible = p.expiration("Expiration_Admin_Eligibility")?;
    let active = p.expiration("Expiration_Admin_Assignment")?;
    emit(ctx.format, &sum, || {
        let approvers: Vec<String> = sum
            .approvers
            .iter()
            .map(|a| if a.kind == "group" { format!("{} (group)", a.name) } else { a.name.clone() })
            .collect();
        details(&[
            ("Role", sum.role.clone()),
            ("Max activation", human_iso(&sum.max_activation)),
            ("Activation requires", list_text(&sum.activation_requires)),
            (
                "Approval",
                if sum.approval_required {
                    format!(
                        "required, by {}",
                        if approvers.is_empty() { "nobody".into() } else { approvers.join(", ") }
                    )
                } else {
                    "not required".into()
                },
            ),
            ("Auth context", sum.authentication_context.clone().unwrap_or_else(|| "none".into())),
            ("Max eligible", limit_text(eligible)),
            ("Max active", limit_text(active)),
            ("Active assignment requires", list_text(&sum.active_assignment_requires)),
        ])
    });
    Ok(())
}

/// The PATCH for an expiration rule, if `max` or `required` changes it.
fn expiration_patch(rule: &ExpirationRule, max: Option<u64>, required: Option<bool>) -> Option<PolicyRulePatch> {
    let current_max = parse_duration(&rule.maximum_duration).ok();
    let max_changes = max.is_some_and(|m| Some(m) != current_max);
    let required_changes = required.is_some_and(|r| r != rule.is_expiration_required);
    if !max_changes && !required_changes {
        return None;
    }
    Some(PolicyRulePatch::Expiration {
        id: rule.id.clone(),
        is_expiration_required: required,
        maximum_duration: max.map(to_iso),
    })
}

fn limit_patch(rule: &ExpirationRule, limit: Option<Limit>) -> Option<PolicyRulePatch> {
    match limit? {
        Limit::Permanent => expiration_patch(rule, None, Some(false)),
        Limit::Within(secs) => expiration_patch(rule, Some(secs), Some(true)),
    }
}

fn patched_rule_id(patch: &PolicyRulePatch) -> &str {
    match patch {
        PolicyRulePatch::Expiration { id, .. }
        | PolicyRulePatch::Enablement { id, .. }
        | PolicyRulePatch::Approval { id, .. } => id,
    }
}

async fn set(ctx: &Ctx, a: SetArgs) -> CliResult<()> {
    let p = load(ctx, &a.role).await?;
    let mut patches: Vec<PolicyRulePatch> = Vec::new();

    if let Some(secs) = a.max_activation {
        patches.extend(expiration_patch(p.expiration("Expiration_EndUser_Assignment")?, Some(secs), None));
    }
    if let Some(list) = &a.require {
        if list.contains(&Requirement::Nothing) && list.len() > 1 {
            return Err(CliError::usage("--require none cannot be combined with requirements"));
        }
        let mut wanted: Vec<Enablement> = Vec::new();
        for r in list {
            if let Requirement::Rule(rule) = r {
                if !wanted.contains(rule) {
                    wanted.push(*rule);
                }
            }
        }
        let rule = p.enablement("Enablement_EndUser_Assignment")?;
        let mut current = rule.enabled_rules.clone();
        current.sort();
        let wanted: Vec<String> = wanted.iter().map(ToString::to_string).collect();
        let mut sorted = wanted.clone();
        sorted.sort();
        if current != sorted {
            patches.push(PolicyRulePatch::Enablement { id: rule.id.clone(), enabled_rules: wanted });
        }
    }
    let approval = p.approval("Approval_EndUser_Assignment")?;
    if let Some(names) = &a.approvers {
        let mut list = Vec::new();
        for n in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            let who = ctx.principal(n).await?;
            list.push(match who.kind {
                PrincipalKind::User => SubjectSet::SingleUser { is_backup: false, user_id: who.id, description: None },
                PrincipalKind::Group => {
                    SubjectSet::GroupMembers { is_backup: false, group_id: who.id, description: None }
                }
            });
        }
        if list.is_empty() {
            return Err(CliError::usage("--approvers needs at least one user or group"));
        }
        let mut wanted_ids: Vec<Uuid> = list.iter().map(approver_id).collect();
        wanted_ids.sort();
        let stages = &approval.setting.approval_stages;
        let mut current_ids: Vec<Uuid> = stages.iter().flat_map(|st| &st.primary_approvers).map(approver_id).collect();
        current_ids.sort();
        let unchanged = approval.setting.is_approval_required && stages.len() == 1 && current_ids == wanted_ids;
        if !unchanged {
            patches.push(PolicyRulePatch::Approval {
                id: approval.id.clone(),
                setting: ApprovalSettingsPatch {
                    is_approval_required: true,
                    approval_mode: None,
                    approval_stages: Some(vec![ApprovalStagePatch { primary_approvers: list }]),
                },
            });
        }
    } else if a.no_approval && approval.setting.is_approval_required {
        patches.push(PolicyRulePatch::Approval {
            id: approval.id.clone(),
            setting: ApprovalSettingsPatch { is_approval_required: false, approval_mode: None, approval_stages: None },
        });
    }
    patches.extend(limit_patch(p.expiration("Expiration_Admin_Eligibility")?, a.max_eligible));
    patches.extend(limit_patch(p.expiration("Expiration_Admin_Assignment")?, a.max_active));

    let mut changed = Vec::new();
    for body in &patches {
        let rule_id = patched_rule_id(body).to_string();
        let path = format!("/v1.0/policies/roleManagementPolicies/{}/rules/{}", enc(&p.id), enc(&rule_id));
        ctx.client.patch_with(&path, body).await?;
        changed.push(rule_id);
    }
    let after = load(ctx, &a.role).await?;
    let sum = Summary { changed_rules: Some(changed.clone()), ..summary(ctx, &after).await? };
    emit(ctx.format, &sum, || {
        if changed.is_empty() {
            "Nothing to change.\n".into()
        } else {
            format!("Updated {} rule(s) of '{}': {}\n", changed.len(), sum.role, changed.join(", "))
        }
    });
    Ok(())
}
