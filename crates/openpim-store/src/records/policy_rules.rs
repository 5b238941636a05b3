//! A policy's rules (`role_management_policies.rules`), version 1: a JSON array of rules, each
//! `{"id", "target": {...}, "kind": {"<Kind>": {...}}}`.

use super::primitives::DurationV1;
use crate::StoreResult;
use openpim_core::policy::rules::{
    ApprovalMode, ApprovalSettings, ApprovalStage, Approver, Enablement, NotificationLevel, PolicyRule, RecipientType,
    RuleKind, RuleTarget,
};
use openpim_core::policy::{Caller, Level};
use openpim_core::ObjectId;
use serde::{Deserialize, Serialize};

pub fn encode(rules: &[PolicyRule]) -> StoreResult<String> {
    let records: Vec<PolicyRuleV1> = rules.iter().cloned().map(PolicyRuleV1::from).collect();
    super::to_json("policy rules", &records)
}

pub fn decode(raw: &str) -> StoreResult<Vec<PolicyRule>> {
    let records: Vec<PolicyRuleV1> = super::from_json("policy rules", raw)?;
    Ok(records.into_iter().map(PolicyRule::from).collect())
}

#[derive(Debug, Serialize, Deserialize)]
struct PolicyRuleV1 {
    id: String,
    target: RuleTargetV1,
    kind: RuleKindV1,
}

#[derive(Debug, Serialize, Deserialize)]
struct RuleTargetV1 {
    caller: CallerV1,
    operations: Vec<String>,
    level: LevelV1,
    inheritable_settings: Vec<String>,
    enforced_settings: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
enum CallerV1 {
    Admin,
    EndUser,
}

#[derive(Debug, Serialize, Deserialize)]
enum LevelV1 {
    Eligibility,
    Assignment,
}

#[derive(Debug, Serialize, Deserialize)]
enum RuleKindV1 {
    Expiration {
        is_expiration_required: bool,
        maximum_duration: DurationV1,
    },
    Enablement {
        enabled_rules: Vec<EnablementV1>,
    },
    Approval(ApprovalSettingsV1),
    AuthenticationContext {
        is_enabled: bool,
        claim_value: Option<String>,
    },
    Notification {
        recipient_type: RecipientTypeV1,
        level: NotificationLevelV1,
        is_default_recipients_enabled: bool,
        recipients: Vec<String>,
    },
}

#[derive(Debug, Serialize, Deserialize)]
enum EnablementV1 {
    MultiFactorAuthentication,
    Justification,
    Ticketing,
}

#[derive(Debug, Serialize, Deserialize)]
struct ApprovalSettingsV1 {
    is_approval_required: bool,
    is_approval_required_for_extension: bool,
    is_requestor_justification_required: bool,
    approval_mode: ApprovalModeV1,
    stages: Vec<ApprovalStageV1>,
}

#[derive(Debug, Serialize, Deserialize)]
enum ApprovalModeV1 {
    SingleStage,
    Serial,
    Parallel,
    NoApproval,
}

#[derive(Debug, Serialize, Deserialize)]
struct ApprovalStageV1 {
    timeout_in_days: i32,
    is_approver_justification_required: bool,
    escalation_time_in_minutes: i32,
    is_escalation_enabled: bool,
    primary_approvers: Vec<ApproverV1>,
    escalation_approvers: Vec<ApproverV1>,
}

/// Also the approvers of an approval's steps (`approval_steps`).
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum ApproverV1 {
    SingleUser { user_id: ObjectId, description: Option<String> },
    GroupMembers { group_id: ObjectId, description: Option<String> },
}

#[derive(Debug, Serialize, Deserialize)]
enum RecipientTypeV1 {
    Requestor,
    Approver,
    Admin,
}

#[derive(Debug, Serialize, Deserialize)]
enum NotificationLevelV1 {
    None,
    Critical,
    All,
}

// Conversions. Every struct is destructured without `..` and every enum matched variant by
// variant, in both directions, so any change to core's shape fails to compile here.

impl From<PolicyRule> for PolicyRuleV1 {
    fn from(rule: PolicyRule) -> Self {
        let PolicyRule { id, target, kind } = rule;
        Self { id, target: target.into(), kind: kind.into() }
    }
}

impl From<PolicyRuleV1> for PolicyRule {
    fn from(rule: PolicyRuleV1) -> Self {
        let PolicyRuleV1 { id, target, kind } = rule;
        Self { id, target: target.into(), kind: kind.into() }
    }
}

impl From<RuleTarget> for RuleTargetV1 {
    fn from(t: RuleTarget) -> Self {
        let RuleTarget { caller, operations, level, inheritable_settings, enforced_settings } = t;
        Self { caller: caller.into(), operations, level: level.into(), inheritable_settings, enforced_settings }
    }
}

impl From<RuleTargetV1> for RuleTarget {
    fn from(t: RuleTargetV1) -> Self {
        let RuleTargetV1 { caller, operations, level, inheritable_settings, enforced_settings } = t;
        Self { caller: caller.into(), operations, level: level.into(), inheritable_settings, enforced_settings }
    }
}

impl From<Caller> for CallerV1 {
    fn from(c: Caller) -> Self {
        match c {
            Caller::Admin => Self::Admin,
            Caller::EndUser => Self::EndUser,
        }
    }
}

impl From<CallerV1> for Caller {
    fn from(c: CallerV1) -> Self {
        match c {
            CallerV1::Admin => Self::Admin,
            CallerV1::EndUser => Self::EndUser,
        }
    }
}

impl From<Level> for LevelV1 {
    fn from(l: Level) -> Self {
        match l {
            Level::Eligibility => Self::Eligibility,
            Level::Assignment => Self::Assignment,
        }
    }
}

impl From<LevelV1> for Level {
    fn from(l: LevelV1) -> Self {
        match l {
            LevelV1::Eligibility => Self::Eligibility,
            LevelV1::Assignment => Self::Assignment,
        }
    }
}

impl From<RuleKind> for RuleKindV1 {
    fn from(kind: RuleKind) -> Self {
        match kind {
            RuleKind::Expiration { is_expiration_required, maximum_duration } => {
                Self::Expiration { is_expiration_required, maximum_duration: maximum_duration.into() }
            }
            RuleKind::Enablement { enabled_rules } => {
                Self::Enablement { enabled_rules: enabled_rules.into_iter().map(Into::into).collect() }
            }
            RuleKind::Approval(settings) => Self::Approval(settings.into()),
            RuleKind::AuthenticationContext { is_enabled, claim_value } => {
                Self::AuthenticationContext { is_enabled, claim_value }
            }
            RuleKind::Notification { recipient_type, level, is_default_recipients_enabled, recipients } => {
                Self::Notification {
                    recipient_type: recipient_type.into(),
                    level: level.into(),
                    is_default_recipients_enabled,
                    recipients,
                }
            }
        }
    }
}

impl From<RuleKindV1> for RuleKind {
    fn from(kind: RuleKindV1) -> Self {
        match kind {
            RuleKindV1::Expiration { is_expiration_required, maximum_duration } => {
                Self::Expiration { is_expiration_required, maximum_duration: maximum_duration.into() }
            }
            RuleKindV1::Enablement { enabled_rules } => {
                Self::Enablement { enabled_rules: enabled_rules.into_iter().map(Into::into).collect() }
            }
            RuleKindV1::Approval(settings) => Self::Approval(settings.into()),
            RuleKindV1::AuthenticationContext { is_enabled, claim_value } => {
                Self::AuthenticationContext { is_enabled, claim_value }
            }
            RuleKindV1::Notification { recipient_type, level, is_default_recipients_enabled, recipients } => {
                Self::Notification {
                    recipient_type: recipient_type.into(),
                    level: level.into(),
                    is_default_recipients_enabled,
                    recipients,
                }
            }
        }
    }
}

impl From<Enablement> for EnablementV1 {
    fn from(e: Enablement) -> Self {
        match e {
            Enablement::MultiFactorAuthentication => Self::MultiFactorAuthentication,
            Enablement::Justification => Self::Justification,
            Enablement::Ticketing => Self::Ticketing,
        }
    }
}

impl From<EnablementV1> for Enablement {
    fn from(e: EnablementV1) -> Self {
        match e {
            EnablementV1::MultiFactorAuthentication => Self::MultiFactorAuthentication,
            EnablementV1::Justification => Self::Justification,
            EnablementV1::Ticketing => Self::Ticketing,
        }
    }
}

impl From<ApprovalSettings> for ApprovalSettingsV1 {
    fn from(a: ApprovalSettings) -> Self {
        let ApprovalSettings {
            is_approval_required,
            is_approval_required_for_extension,
            is_requestor_justification_required,
            approval_mode,
            stages,
        } = a;
        Self {
            is_approval_required,
            is_approval_required_for_extension,
            is_requestor_justification_required,
            approval_mode: approval_mode.into(),
            stages: stages.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<ApprovalSettingsV1> for ApprovalSettings {
    fn from(a: ApprovalSettingsV1) -> Self {
        let ApprovalSettingsV1 {
            is_approval_required,
            is_approval_required_for_extension,
            is_requestor_justification_required,
            approval_mode,
            stages,
        } = a;
        Self {
            is_approval_required,
            is_approval_required_for_extension,
            is_requestor_justification_required,
            approval_mode: approval_mode.into(),
            stages: stages.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<ApprovalMode> for ApprovalModeV1 {
    fn from(m: ApprovalMode) -> Self {
        match m {
            ApprovalMode::SingleStage => Self::SingleStage,
            ApprovalMode::Serial => Self::Serial,
            ApprovalMode::Parallel => Self::Parallel,
            ApprovalMode::NoApproval => Self::NoApproval,
        }
    }
}

impl From<ApprovalModeV1> for ApprovalMode {
    fn from(m: ApprovalModeV1) -> Self {
        match m {
            ApprovalModeV1::SingleStage => Self::SingleStage,
            ApprovalModeV1::Serial => Self::Serial,
            ApprovalModeV1::Parallel => Self::Parallel,
            ApprovalModeV1::NoApproval => Self::NoApproval,
        }
    }
}

impl From<ApprovalStage> for ApprovalStageV1 {
    fn from(s: ApprovalStage) -> Self {
        let ApprovalStage {
            timeout_in_days,
            is_approver_justification_required,
            escalation_time_in_minutes,
            is_escalation_enabled,
            primary_approvers,
            escalation_approvers,
        } = s;
        Self {
            timeout_in_days,
            is_approver_justification_required,
            escalation_time_in_minutes,
            is_escalation_enabled,
            primary_approvers: primary_approvers.into_iter().map(Into::into).collect(),
            escalation_approvers: escalation_approvers.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<ApprovalStageV1> for ApprovalStage {
    fn from(s: ApprovalStageV1) -> Self {
        let ApprovalStageV1 {
            timeout_in_days,
            is_approver_justification_required,
            escalation_time_in_minutes,
            is_escalation_enabled,
            primary_approvers,
            escalation_approvers,
        } = s;
        Self {
            timeout_in_days,
            is_approver_justification_required,
            escalation_time_in_minutes,
            is_escalation_enabled,
            primary_approvers: primary_approvers.into_iter().map(Into::into).collect(),
            escalation_approvers: escalation_approvers.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<Approver> for ApproverV1 {
    fn from(a: Approver) -> Self {
        match a {
            Approver::SingleUser { user_id, description } => Self::SingleUser { user_id, description },
            Approver::GroupMembers { group_id, description } => Self::GroupMembers { group_id, description },
        }
    }
}

impl From<ApproverV1> for Approver {
    fn from(a: ApproverV1) -> Self {
        match a {
            ApproverV1::SingleUser { user_id, description } => Self::SingleUser { user_id, description },
            ApproverV1::GroupMembers { group_id, description } => Self::GroupMembers { group_id, description },
        }
    }
}

impl From<RecipientType> for RecipientTypeV1 {
    fn from(r: RecipientType) -> Self {
        match r {
            RecipientType::Requestor => Self::Requestor,
            RecipientType::Approver => Self::Approver,
            RecipientType::Admin => Self::Admin,
        }
    }
}

impl From<RecipientTypeV1> for RecipientType {
    fn from(r: RecipientTypeV1) -> Self {
        match r {
            RecipientTypeV1::Requestor => Self::Requestor,
            RecipientTypeV1::Approver => Self::Approver,
            RecipientTypeV1::Admin => Self::Admin,
        }
    }
}

impl From<NotificationLevel> for NotificationLevelV1 {
    fn from(l: NotificationLevel) -> Self {
        match l {
            NotificationLevel::None => Self::None,
            NotificationLevel::Critical => Self::Critical,
            NotificationLevel::All => Self::All,
        }
    }
}

impl From<NotificationLevelV1> for NotificationLevel {
    fn from(l: NotificationLevelV1) -> Self {
        match l {
            NotificationLevelV1::None => Self::None,
            NotificationLevelV1::Critical => Self::Critical,
            NotificationLevelV1::All => Self::All,
        }
    }
}
