//! A role's policy as Entra stores it: 17 rules with fixed ids, each aimed at a (caller, level)
//! target. The rules are what administrators read and PATCH; [`effective`] turns them into the
//! [`RolePolicy`] that schedule requests are checked against.

use super::{Caller, EnablementRule, ExpirationRule, Level, RolePolicy, RuleSet};
use crate::error::{DomainError, DomainResult};
use crate::ObjectId;
use std::collections::HashSet;
use time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleTarget {
    pub caller: Caller,
    pub operations: Vec<String>,
    pub level: Level,
    pub inheritable_settings: Vec<String>,
    pub enforced_settings: Vec<String>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::Display, strum::EnumString, strum::AsRefStr, strum::IntoStaticStr,
)]
#[strum(ascii_case_insensitive)]
pub enum Enablement {
    MultiFactorAuthentication,
    Justification,
    Ticketing,
}

impl Enablement {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Who may approve: one user, or the members of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approver {
    SingleUser { user_id: ObjectId, description: Option<String> },
    GroupMembers { group_id: ObjectId, description: Option<String> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalStage {
    pub timeout_in_days: i32,
    pub is_approver_justification_required: bool,
    pub escalation_time_in_minutes: i32,
    pub is_escalation_enabled: bool,
    pub primary_approvers: Vec<Approver>,
    pub escalation_approvers: Vec<Approver>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::Display, strum::EnumString, strum::AsRefStr, strum::IntoStaticStr,
)]
#[strum(ascii_case_insensitive)]
pub enum ApprovalMode {
    SingleStage,
    Serial,
    Parallel,
    NoApproval,
}

impl ApprovalMode {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalSettings {
    pub is_approval_required: bool,
    pub is_approval_required_for_extension: bool,
    pub is_requestor_justification_required: bool,
    pub approval_mode: ApprovalMode,
    pub stages: Vec<ApprovalStage>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::Display, strum::EnumString, strum::AsRefStr, strum::IntoStaticStr,
)]
#[strum(ascii_case_insensitive)]
pub enum NotificationLevel {
    None,
    Critical,
    All,
}

impl NotificationLevel {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::Display, strum::EnumString, strum::AsRefStr, strum::IntoStaticStr,
)]
#[strum(ascii_case_insensitive)]
pub enum RecipientType {
    Requestor,
    Approver,
    Admin,
}

impl RecipientType {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleKind {
    Expiration {
        is_expiration_required: bool,
        maximum_duration: Duration,
    },
    Enablement {
        enabled_rules: Vec<Enablement>,
    },
    Approval(ApprovalSettings),
    AuthenticationContext {
        is_enabled: bool,
        claim_value: Option<String>,
    },
    Notification {
        recipient_type: RecipientType,
        level: NotificationLevel,
        is_default_recipients_enabled: bool,
        recipients: Vec<String>,
    },
}

impl RuleKind {
    /// Graph's `@odata.type` for the rule.
    pub fn odata_type(&self) -> &'static str {
        match self {
            Self::Expiration { .. } => "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
            Self::Enablement { .. } => "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule",
            Self::Approval(_) => "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule",
            Self::AuthenticationContext { .. } => {
                "#microsoft.graph.unifiedRoleManagementPolicyAuthenticationContextRule"
            }
            Self::Notification { .. } => "#microsoft.graph.unifiedRoleManagementPolicyNotificationRule",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRule {
    pub id: String,
    pub target: RuleTarget,
    pub kind: RuleKind,
}

fn target(caller: Caller, level: Level) -> RuleTarget {
    RuleTarget {
        caller,
        operations: vec!["all".into()],
        level,
        inheritable_settings: vec![],
        enforced_settings: vec![],
    }
}

fn caller_name(c: Caller) -> &'static str {
    match c {
        Caller::Admin => "Admin",
        Caller::EndUser => "EndUser",
    }
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Eligibility => "Eligibility",
        Level::Assignment => "Assignment",
    }
}

fn notifications(caller: Caller, level: Level) -> Vec<PolicyRule> {
    [RecipientType::Admin, RecipientType::Requestor, RecipientType::Approver]
        .into_iter()
        .map(|r| PolicyRule {
            id: format!("Notification_{}_{}_{}", r.as_str(), caller_name(caller), level_name(level)),
            target: target(caller, level),
            kind: RuleKind::Notification {
                recipient_type: r,
                level: NotificationLevel::All,
                is_default_recipients_enabled: true,
                recipients: vec![],
            },
        })
        .collect()
}

/// The 17 rules of a fresh directory-role policy, with Entra's ids and default values.
pub fn default_rules() -> Vec<PolicyRule> {
    use Caller::*;
    use Level::*;
    let d = RolePolicy::entra_default();
    let expiration = |caller, level, r: &RuleSet| PolicyRule {
        id: format!("Expiration_{}_{}", caller_name(caller), level_name(level)),
        target: target(caller, level),
        kind: RuleKind::Expiration {
            is_expiration_required: r.expiration.is_expiration_required,
            maximum_duration: r.expiration.maximum_duration,
        },
    };
    let enablement = |caller, level, r: &RuleSet| {
        let e = &r.enablement;
        let mut enabled = Vec::new();
        if e.multi_factor_authentication {
            enabled.push(Enablement::MultiFactorAuthentication);
        }
        if e.justification {
            enabled.push(Enablement::Justification);
        }
        if e.ticketing {
            enabled.push(Enablement::Ticketing);
        }
        PolicyRule {
            id: format!("Enablement_{}_{}", caller_name(caller), level_name(level)),
            target: target(caller, level),
            kind: RuleKind::Enablement { enabled_rules: enabled },
        }
    };
    let mut rules = vec![
        expiration(Admin, Eligibility, &d.admin_eligibility),
        enablement(Admin, Eligibility, &d.admin_eligibility),
    ];
    rules.extend(notifications(Admin, Eligibility));
    rules.push(expiration(Admin, Assignment, &d.admin_assignment));
    rules.push(enablement(Admin, Assignment, &d.admin_assignment));
    rules.extend(notifications(Admin, Assignment));
    rules.push(expiration(EndUser, Assignment, &d.end_user_assignment));
    rules.push(enablement(EndUser, Assignment, &d.end_user_assignment));
    rules.push(PolicyRule {
        id: "Approval_EndUser_Assignment".into(),
        target: target(EndUser, Assignment),
        kind: RuleKind::Approval(ApprovalSettings {
            is_approval_required: false,
            is_approval_required_for_extension: false,
            is_requestor_justification_required: true,
            approval_mode: ApprovalMode::SingleStage,
            stages: vec![ApprovalStage {
                timeout_in_days: 1,
                is_approver_justification_required: true,
                escalation_time_in_minutes: 0,
                is_escalation_enabled: false,
                primary_approvers: vec![],
                escalation_approvers: vec![],
            }],
        }),
    });
    rules.push(PolicyRule {
        id: "AuthenticationContext_EndUser_Assignment".into(),
        target: target(EndUser, Assignment),
        kind: RuleKind::AuthenticationContext { is_enabled: false, claim_value: None },
    });
    rules.extend(notifications(EndUser, Assignment));
    rules
}

/// The 17 rule ids of an Azure resource role's policy, in the order ARM lists them (the REST
/// spec's GetRoleManagementPolicyByName example).
pub const AZURE_RULE_ORDER: [&str; 17] = [
    "Enablement_Admin_Eligibility",
    "Expiration_Admin_Eligibility",
    "Notification_Admin_Admin_Eligibility",
    "Notification_Requestor_Admin_Eligibility",
    "Notification_Approver_Admin_Eligibility",
    "Enablement_Admin_Assignment",
    "Expiration_Admin_Assignment",
    "Notification_Admin_Admin_Assignment",
    "Notification_Requestor_Admin_Assignment",
    "Notification_Approver_Admin_Assignment",
    "Approval_EndUser_Assignment",
    "AuthenticationContext_EndUser_Assignment",
    "Enablement_EndUser_Assignment",
    "Expiration_EndUser_Assignment",
    "Notification_Admin_EndUser_Assignment",
    "Notification_Requestor_EndUser_Assignment",
    "Notification_Approver_EndUser_Assignment",
];

/// The 17 rules of an Azure resource role at a scope nobody has changed (role settings are per
/// role and scope and are not inherited, so every fresh (role, scope) answers these).
///
/// No Microsoft source states the defaults as data (the REST examples carry tenant values). These
/// follow the Azure portal's documented role-settings page for a fresh Azure resource role
/// (pim-resource-roles-configure-role-settings): activation up to 8 hours, always time-bound,
/// with Azure MFA and a justification; no approval; eligible assignments expire after one year
/// and active assignments after six months (permanent ones are not allowed); an active assignment
/// needs a justification; notifications go to the default recipients. Entra's defaults differ
/// (permanent assignments allowed), hence a separate set.
pub fn azure_default_rules() -> Vec<PolicyRule> {
    let mut rules = default_rules();
    for rule in &mut rules {
        match (rule.id.as_str(), &mut rule.kind) {
            ("Expiration_Admin_Eligibility", RuleKind::Expiration { is_expiration_required, maximum_duration }) => {
                *is_expiration_required = true;
                *maximum_duration = Duration::days(365);
            }
            ("Expiration_Admin_Assignment", RuleKind::Expiration { is_expiration_required, maximum_duration }) => {
                *is_expiration_required = true;
                *maximum_duration = Duration::days(180);
            }
            ("Expiration_EndUser_Assignment", RuleKind::Expiration { is_expiration_required, maximum_duration }) => {
                *is_expiration_required = true;
                *maximum_duration = Duration::hours(8);
            }
            _ => {}
        }
    }
    rules.sort_by_key(|r| AZURE_RULE_ORDER.iter().position(|id| *id == r.id).unwrap_or(usize::MAX));
    rules
}

/// Merges a PATCH's rules into `current` by id (ARM's partial PATCH: the rules not named stay as
/// they are). Each named rule is validated with [`apply_update`] against its current value; an
/// id the policy does not have is refused.
pub fn merge_update(
    current: &[PolicyRule],
    incoming: Vec<PolicyRule>,
    known_approvers: &HashSet<ObjectId>,
) -> DomainResult<Vec<PolicyRule>> {
    let mut merged = current.to_vec();
    for mut rule in incoming {
        let slot = merged
            .iter_mut()
            .find(|r| r.id.eq_ignore_ascii_case(&rule.id))
            .ok_or_else(|| invalid(format!("The policy has no rule '{}'.", rule.id)))?;
        rule.id = slot.id.clone();
        *slot = apply_update(slot, rule, known_approvers)?;
    }
    Ok(merged)
}

/// The rules schedule requests are checked against, derived from a policy's rules.
pub fn effective(rules: &[PolicyRule]) -> RolePolicy {
    let mut policy = RolePolicy::entra_default();
    let mut requestor_justification = false;
    for rule in rules {
        let set = match (rule.target.caller, rule.target.level) {
            (Caller::Admin, Level::Eligibility) => &mut policy.admin_eligibility,
            (Caller::Admin, Level::Assignment) => &mut policy.admin_assignment,
            (Caller::EndUser, Level::Assignment) => &mut policy.end_user_assignment,
            (Caller::EndUser, Level::Eligibility) => continue,
        };
        match &rule.kind {
            RuleKind::Expiration { is_expiration_required, maximum_duration } => {
                set.expiration = ExpirationRule {
                    is_expiration_required: *is_expiration_required,
                    maximum_duration: *maximum_duration,
                };
            }
            RuleKind::Enablement { enabled_rules } => {
                set.enablement = EnablementRule {
                    multi_factor_authentication: enabled_rules.contains(&Enablement::MultiFactorAuthentication),
                    justification: enabled_rules.contains(&Enablement::Justification),
                    ticketing: enabled_rules.contains(&Enablement::Ticketing),
                };
            }
            RuleKind::Approval(a) => {
                set.approval_required = a.is_approval_required && a.approval_mode != ApprovalMode::NoApproval;
                requestor_justification = set.approval_required && a.is_requestor_justification_required;
            }
            RuleKind::AuthenticationContext { is_enabled, claim_value } => {
                set.authentication_context = claim_value.clone().filter(|_| *is_enabled);
            }
            RuleKind::Notification { .. } => {}
        }
    }
    // Approvers decide on the requester's reasons: the approval rule can demand a justification
    // even where the enablement rule does not.
    if requestor_justification {
        policy.end_user_assignment.enablement.justification = true;
    }
    policy
}

/// The approval settings of a policy (the `Approval_EndUser_Assignment` rule).
pub fn approval(rules: &[PolicyRule]) -> Option<&ApprovalSettings> {
    rules.iter().find_map(|r| match &r.kind {
        RuleKind::Approval(a) if a.is_approval_required && a.approval_mode != ApprovalMode::NoApproval => Some(a),
        _ => None,
    })
}

const MAX_ADMIN_DURATION: Duration = Duration::days(3650);
const MAX_ACTIVATION: Duration = Duration::hours(24);
const MIN_DURATION: Duration = Duration::minutes(5);

fn invalid(message: impl Into<String>) -> DomainError {
    DomainError::invalid("InvalidPolicyRule", message)
}

impl Approver {
    pub fn object_id(&self) -> ObjectId {
        match self {
            Approver::SingleUser { user_id, .. } => *user_id,
            Approver::GroupMembers { group_id, .. } => *group_id,
        }
    }
}

/// Validates a PATCH of `existing` with `incoming`. `known_approvers` holds the ids of the listed
/// approvers that exist in the directory (as users or groups, matching their kind).
pub fn apply_update(
    existing: &PolicyRule,
    incoming: PolicyRule,
    known_approvers: &HashSet<ObjectId>,
) -> DomainResult<PolicyRule> {
    if !incoming.id.is_empty() && incoming.id != existing.id {
        return Err(invalid(format!("The rule id '{}' does not match '{}'.", incoming.id, existing.id)));
    }
    if std::mem::discriminant(&incoming.kind) != std::mem::discriminant(&existing.kind) {
        return Err(invalid(format!(
            "Rule '{}' is of type '{}'; its @odata.type cannot change.",
            existing.id,
            existing.kind.odata_type()
        )));
    }
    if incoming.target.caller != existing.target.caller || incoming.target.level != existing.target.level {
        return Err(invalid(format!("The target caller and level of rule '{}' cannot change.", existing.id)));
    }
    match &incoming.kind {
        RuleKind::Expiration { maximum_duration, .. } => {
            let cap = if existing.target.caller == Caller::EndUser { MAX_ACTIVATION } else { MAX_ADMIN_DURATION };
            if *maximum_duration < MIN_DURATION || *maximum_duration > cap {
                return Err(invalid(format!(
                    "maximumDuration must be between PT5M and {} for rule '{}'.",
                    crate::duration::format(cap),
                    existing.id
                )));
            }
        }
        RuleKind::Enablement { .. } | RuleKind::Notification { .. } => {}
        RuleKind::Approval(a) => {
            if a.is_approval_required && a.approval_mode != ApprovalMode::NoApproval {
                if a.stages.is_empty() || a.stages.len() > 2 {
                    return Err(invalid("An approval needs one or two approval stages."));
                }
                if a.approval_mode == ApprovalMode::SingleStage && a.stages.len() != 1 {
                    return Err(invalid("approvalMode SingleStage takes exactly one approval stage."));
                }
                for stage in &a.stages {
                    if stage.primary_approvers.is_empty() {
                        return Err(invalid("Every approval stage needs at least one primary approver."));
                    }
                }
            }
            for stage in &a.stages {
                if !(1..=30).contains(&stage.timeout_in_days) {
                    return Err(invalid("approvalStageTimeOutInDays must be between 1 and 30."));
                }
                if stage.escalation_time_in_minutes < 0 {
                    return Err(invalid("escalationTimeInMinutes cannot be negative."));
                }
                for approver in stage.primary_approvers.iter().chain(&stage.escalation_approvers) {
                    if !known_approvers.contains(&approver.object_id()) {
                        return Err(invalid(format!(
                            "The approver '{}' does not exist in the directory.",
                            approver.object_id()
                        )));
                    }
                }
            }
        }
        RuleKind::AuthenticationContext { is_enabled, claim_value } => {
            let valid_claim = claim_value
                .as_deref()
                .is_some_and(|c| !c.is_empty() && c.len() <= 32 && c.chars().all(|ch| ch.is_ascii_alphanumeric()));
            if *is_enabled && !valid_claim {
                return Err(invalid("An enabled authentication context rule needs a claimValue such as 'c1'."));
            }
        }
    }
    if let RuleKind::Notification { recipients, .. } = &incoming.kind {
        if recipients.len() > 20 || recipients.iter().any(|r| crate::directory::validate_upn(r).is_err()) {
            return Err(invalid("notificationRecipients must be at most 20 e-mail addresses."));
        }
    }
    Ok(PolicyRule { id: existing.id.clone(), target: incoming.target, kind: incoming.kind })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_has_entras_seventeen_rules() {
        let rules = default_rules();
        assert_eq!(rules.len(), 17);
        let ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
        for id in [
            "Expiration_Admin_Eligibility",
            "Enablement_Admin_Eligibility",
            "Notification_Admin_Admin_Eligibility",
            "Notification_Requestor_Admin_Eligibility",
            "Notification_Approver_Admin_Eligibility",
            "Expiration_Admin_Assignment",
            "Enablement_Admin_Assignment",
            "Notification_Admin_Admin_Assignment",
            "Expiration_EndUser_Assignment",
            "Enablement_EndUser_Assignment",
            "Approval_EndUser_Assignment",
            "AuthenticationContext_EndUser_Assignment",
            "Notification_Approver_EndUser_Assignment",
        ] {
            assert!(ids.contains(&id), "{id} missing");
        }
        assert_eq!(effective(&rules), RolePolicy::entra_default());
    }

    #[test]
    fn azure_defaults_are_time_bound_and_in_arms_order() {
        let rules = azure_default_rules();
        let ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, AZURE_RULE_ORDER);
        let p = effective(&rules);
        assert!(p.admin_eligibility.expiration.is_expiration_required);
        assert_eq!(p.admin_eligibility.expiration.maximum_duration, Duration::days(365));
        assert_eq!(p.admin_assignment.expiration.maximum_duration, Duration::days(180));
        assert_eq!(p.end_user_assignment.expiration.maximum_duration, Duration::hours(8));
        assert!(
            p.end_user_assignment.enablement.justification
                && p.end_user_assignment.enablement.multi_factor_authentication
        );
        assert!(!p.end_user_assignment.approval_required);
    }

    #[test]
    fn merge_replaces_named_rules_only() {
        let rules = azure_default_rules();
        let exp = rules.iter().find(|r| r.id == "Expiration_EndUser_Assignment").unwrap();
        let incoming = PolicyRule {
            id: "expiration_enduser_assignment".into(),
            kind: RuleKind::Expiration { is_expiration_required: true, maximum_duration: Duration::hours(2) },
            ..exp.clone()
        };
        let merged = merge_update(&rules, vec![incoming], &HashSet::new()).unwrap();
        assert_eq!(merged.len(), 17);
        assert_eq!(effective(&merged).end_user_assignment.expiration.maximum_duration, Duration::hours(2));
        assert_eq!(merged.iter().filter(|r| **r != rules[rules.iter().position(|x| x.id == r.id).unwrap()]).count(), 1);
        let unknown = PolicyRule { id: "Nope".into(), ..exp.clone() };
        assert_eq!(merge_update(&rules, vec![unknown], &HashSet::new()).unwrap_err().code, "InvalidPolicyRule");
    }

    #[test]
    fn updates_change_the_effective_policy() {
        let rules = default_rules();
        let exp = rules.iter().find(|r| r.id == "Expiration_EndUser_Assignment").unwrap();
        let incoming = PolicyRule {
            kind: RuleKind::Expiration { is_expiration_required: true, maximum_duration: Duration::minutes(105) },
            ..exp.clone()
        };
        let updated = apply_update(exp, incoming, &HashSet::new()).unwrap();
        let mut next = rules.clone();
        let slot = next.iter_mut().find(|r| r.id == updated.id).unwrap();
        *slot = updated;
        assert_eq!(effective(&next).end_user_assignment.expiration.maximum_duration, Duration::minutes(105));
    }

    #[test]
    fn nonsense_is_refused() {
        let rules = default_rules();
        let exp = rules.iter().find(|r| r.id == "Expiration_EndUser_Assignment").unwrap();
        for bad in [Duration::ZERO, Duration::minutes(-5), Duration::hours(25)] {
            let incoming = PolicyRule {
                kind: RuleKind::Expiration { is_expiration_required: true, maximum_duration: bad },
                ..exp.clone()
            };
            assert_eq!(apply_update(exp, incoming, &HashSet::new()).unwrap_err().code, "InvalidPolicyRule");
        }
        let wrong_type = PolicyRule { kind: RuleKind::Enablement { enabled_rules: vec![] }, ..exp.clone() };
        assert!(apply_update(exp, wrong_type, &HashSet::new()).unwrap_err().message.contains("@odata.type"));
        let approval = rules.iter().find(|r| r.id == "Approval_EndUser_Assignment").unwrap();
        let RuleKind::Approval(mut settings) = approval.kind.clone() else { unreachable!() };
        settings.is_approval_required = true;
        let no_approvers = PolicyRule { kind: RuleKind::Approval(settings.clone()), ..approval.clone() };
        assert!(apply_update(approval, no_approvers, &HashSet::new())
            .unwrap_err()
            .message
            .contains("primary approver"));
        let approver = ObjectId::new_v4();
        settings.stages[0].primary_approvers.push(Approver::SingleUser { user_id: approver, description: None });
        let ghost = PolicyRule { kind: RuleKind::Approval(settings.clone()), ..approval.clone() };
        assert!(apply_update(approval, ghost.clone(), &HashSet::new()).unwrap_err().message.contains("does not exist"));
        let ok = apply_update(approval, ghost, &HashSet::from([approver])).unwrap();
        assert!(effective(std::slice::from_ref(&ok)).end_user_assignment.approval_required);
        // The approval rule's isRequestorJustificationRequired applies even if enablement drops it.
        let no_justification = PolicyRule {
            kind: RuleKind::Enablement { enabled_rules: vec![Enablement::MultiFactorAuthentication] },
            ..rules.iter().find(|r| r.id == "Enablement_EndUser_Assignment").unwrap().clone()
        };
        assert!(!effective(std::slice::from_ref(&no_justification)).end_user_assignment.enablement.justification);
        assert!(effective(&[no_justification, ok]).end_user_assignment.enablement.justification);
        let ctx = rules.iter().find(|r| r.id == "AuthenticationContext_EndUser_Assignment").unwrap();
        let bad_ctx =
            PolicyRule { kind: RuleKind::AuthenticationContext { is_enabled: true, claim_value: None }, ..ctx.clone() };
        assert!(apply_update(ctx, bad_ctx, &HashSet::new()).is_err());
    }
}
