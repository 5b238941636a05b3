//! unifiedRoleManagementPolicy, its `@odata.type`-tagged rule family, and policy assignments.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

pub const POLICY_TYPE: &str = "microsoft.graph.unifiedRoleManagementPolicy";
pub const ASSIGNMENT_TYPE: &str = "microsoft.graph.unifiedRoleManagementPolicyAssignment";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnifiedRoleManagementPolicy {
    #[serde(rename = "@odata.type", default, skip_serializing_if = "Option::is_none")]
    pub odata_type: Option<String>,
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub is_organization_default: bool,
    pub scope_id: String,
    pub scope_type: String,
    #[serde(with = "crate::datetime::option")]
    pub last_modified_date_time: Option<OffsetDateTime>,
    pub last_modified_by: LastModifiedBy,
    /// Sent when expanded (`$expand=rules`) or asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<PolicyRule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_rules: Option<Vec<PolicyRule>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastModifiedBy {
    pub display_name: Option<String>,
    pub id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnifiedRoleManagementPolicyAssignment {
    #[serde(rename = "@odata.type", default, skip_serializing_if = "Option::is_none")]
    pub odata_type: Option<String>,
    pub id: String,
    pub policy_id: String,
    pub scope_id: String,
    pub scope_type: String,
    pub role_definition_id: Uuid,
    /// Sent when expanded (`$expand=policy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<UnifiedRoleManagementPolicy>,
}

/// `unifiedRoleManagementPolicyRuleTarget`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleTarget {
    /// `Admin` or `EndUser` (core's `policy::Caller`).
    pub caller: String,
    pub operations: Vec<String>,
    /// `Eligibility` or `Assignment` (core's `policy::Level`).
    pub level: String,
    pub inheritable_settings: Vec<String>,
    pub enforced_settings: Vec<String>,
}

/// The rule family (`unifiedRoleManagementPolicyRule`), tagged by `@odata.type` as Graph sends
/// it. Every variant starts with `id` and `target`, so they render right after the tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "@odata.type")]
pub enum PolicyRule {
    #[serde(rename = "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule")]
    Expiration(ExpirationRule),
    #[serde(rename = "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule")]
    Enablement(EnablementRule),
    #[serde(rename = "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule")]
    Approval(ApprovalRule),
    #[serde(rename = "#microsoft.graph.unifiedRoleManagementPolicyAuthenticationContextRule")]
    AuthenticationContext(AuthenticationContextRule),
    #[serde(rename = "#microsoft.graph.unifiedRoleManagementPolicyNotificationRule")]
    Notification(NotificationRule),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpirationRule {
    pub id: String,
    pub target: RuleTarget,
    pub is_expiration_required: bool,
    /// ISO 8601 (`PT8H`, `P365D`).
    pub maximum_duration: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnablementRule {
    pub id: String,
    pub target: RuleTarget,
    /// `MultiFactorAuthentication`, `Justification`, `Ticketing` (core's `Enablement`).
    pub enabled_rules: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalRule {
    pub id: String,
    pub target: RuleTarget,
    pub setting: ApprovalSettings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalSettings {
    pub is_approval_required: bool,
    pub is_approval_required_for_extension: bool,
    pub is_requestor_justification_required: bool,
    /// `SingleStage`, `Serial`, `Parallel`, `NoApproval` (core's `ApprovalMode`).
    pub approval_mode: String,
    pub approval_stages: Vec<ApprovalStage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalStage {
    #[serde(rename = "approvalStageTimeOutInDays")]
    pub approval_stage_time_out_in_days: i32,
    pub is_approver_justification_required: bool,
    pub escalation_time_in_minutes: i32,
    pub is_escalation_enabled: bool,
    pub primary_approvers: Vec<SubjectSet>,
    pub escalation_approvers: Vec<SubjectSet>,
}

/// An approver: one user, or the members of a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "@odata.type")]
pub enum SubjectSet {
    #[serde(rename = "#microsoft.graph.singleUser", rename_all = "camelCase")]
    SingleUser { is_backup: bool, user_id: Uuid, description: Option<String> },
    #[serde(rename = "#microsoft.graph.groupMembers", rename_all = "camelCase")]
    GroupMembers { is_backup: bool, group_id: Uuid, description: Option<String> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationContextRule {
    pub id: String,
    pub target: RuleTarget,
    pub is_enabled: bool,
    pub claim_value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRule {
    pub id: String,
    pub target: RuleTarget,
    /// Always `Email`.
    pub notification_type: String,
    /// `Requestor`, `Approver`, `Admin` (core's `RecipientType`).
    pub recipient_type: String,
    /// `None`, `Critical`, `All` (core's `NotificationLevel`).
    pub notification_level: String,
    pub is_default_recipients_enabled: bool,
    pub notification_recipients: Vec<String>,
}

impl PolicyRule {
    pub fn id(&self) -> &str {
        match self {
            PolicyRule::Expiration(r) => &r.id,
            PolicyRule::Enablement(r) => &r.id,
            PolicyRule::Approval(r) => &r.id,
            PolicyRule::AuthenticationContext(r) => &r.id,
            PolicyRule::Notification(r) => &r.id,
        }
    }
    pub fn target(&self) -> &RuleTarget {
        match self {
            PolicyRule::Expiration(r) => &r.target,
            PolicyRule::Enablement(r) => &r.target,
            PolicyRule::Approval(r) => &r.target,
            PolicyRule::AuthenticationContext(r) => &r.target,
            PolicyRule::Notification(r) => &r.target,
        }
    }
}

/// A rule PATCH body: the rule's `@odata.type` and id, and only the settings it changes (the
/// server keeps the others).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "@odata.type")]
pub enum PolicyRulePatch {
    #[serde(rename = "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule", rename_all = "camelCase")]
    Expiration {
        id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        is_expiration_required: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        maximum_duration: Option<String>,
    },
    #[serde(rename = "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule", rename_all = "camelCase")]
    Enablement { id: String, enabled_rules: Vec<String> },
    #[serde(rename = "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule")]
    Approval { id: String, setting: ApprovalSettingsPatch },
}

/// The approval settings a PATCH changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalSettingsPatch {
    pub is_approval_required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_stages: Option<Vec<ApprovalStagePatch>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalStagePatch {
    pub primary_approvers: Vec<SubjectSet>,
}
