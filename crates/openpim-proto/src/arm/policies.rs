//! `Microsoft.Authorization/roleManagementPolicies` and `roleManagementPolicyAssignments`
//! (api-version 2020-10-01): azure-mgmt-authorization's `RoleManagementPolicy`,
//! `RoleManagementPolicyAssignment` and the rule family (discriminator `ruleType`). Shapes follow
//! the REST spec's examples (GetRoleManagementPolicyByName, PutRoleManagementPolicyAssignment):
//! absent lists in a rule's target and unset principals are sent as `null`.

use serde::{Deserialize, Serialize};

/// ARM's `type` of a policy (the spec example's spelling).
pub const POLICY_TYPE: &str = "Microsoft.Authorization/RoleManagementPolicies";
/// ARM's `type` of a policy assignment (the spec example's spelling).
pub const POLICY_ASSIGNMENT_TYPE: &str = "Microsoft.Authorization/RoleManagementPolicyAssignment";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleManagementPolicy {
    /// `{scope}/providers/Microsoft.Authorization/roleManagementPolicies/{name}`.
    pub id: String,
    /// The policy's GUID.
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub properties: PolicyProperties,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyProperties {
    pub scope: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub is_organization_default: bool,
    pub last_modified_by: Option<Principal>,
    /// RFC 3339, or null for a policy nobody changed.
    pub last_modified_date_time: Option<String>,
    pub rules: Vec<PolicyRule>,
    pub effective_rules: Vec<PolicyRule>,
    pub policy_properties: PolicyScopeProperties,
}

/// Who changed a policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    pub id: Option<String>,
    pub display_name: Option<String>,
    #[serde(rename = "type")]
    pub principal_type: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyScopeProperties {
    pub scope: ScopeInfo,
}

/// `{id, displayName, type}` of a scope, role definition or policy in the read-only properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeInfo {
    pub id: String,
    pub display_name: Option<String>,
    /// `managementgroup`, `subscription`, `resourcegroup` or `resource` for scopes;
    /// `BuiltInRole`/`CustomRole` for role definitions.
    #[serde(rename = "type")]
    pub info_type: Option<String>,
}

/// One rule: the common properties and the settings of its `ruleType`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRule {
    pub id: String,
    pub rule_type: String,
    pub target: RuleTarget,
    #[serde(flatten)]
    pub settings: RuleSettings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleTarget {
    /// `Admin` or `EndUser`.
    pub caller: String,
    pub operations: Vec<String>,
    /// `Eligibility` or `Assignment`.
    pub level: String,
    pub target_objects: Option<Vec<String>>,
    pub inheritable_settings: Option<Vec<String>>,
    pub enforced_settings: Option<Vec<String>>,
}

/// The properties of each `ruleType` (serialised beside the common ones).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RuleSettings {
    /// `RoleManagementPolicyExpirationRule`.
    #[serde(rename_all = "camelCase")]
    Expiration { is_expiration_required: bool, maximum_duration: String },
    /// `RoleManagementPolicyNotificationRule`.
    #[serde(rename_all = "camelCase")]
    Notification {
        notification_type: String,
        recipient_type: String,
        is_default_recipients_enabled: bool,
        notification_level: String,
        notification_recipients: Option<Vec<String>>,
    },
    /// `RoleManagementPolicyApprovalRule`.
    Approval { setting: ApprovalSettings },
    /// `RoleManagementPolicyAuthenticationContextRule`.
    #[serde(rename_all = "camelCase")]
    AuthenticationContext { is_enabled: bool, claim_value: String },
    /// `RoleManagementPolicyEnablementRule`.
    #[serde(rename_all = "camelCase")]
    Enablement { enabled_rules: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalSettings {
    pub is_approval_required: bool,
    pub is_approval_required_for_extension: bool,
    pub is_requestor_justification_required: bool,
    /// `SingleStage`, `Serial`, `Parallel` or `NoApproval`.
    pub approval_mode: String,
    pub approval_stages: Vec<ApprovalStage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalStage {
    pub approval_stage_time_out_in_days: i32,
    pub is_approver_justification_required: bool,
    pub escalation_time_in_minutes: i32,
    pub primary_approvers: Vec<UserSet>,
    pub is_escalation_enabled: bool,
    pub escalation_approvers: Option<Vec<UserSet>>,
}

/// An approver: a user or a group (whose members approve).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserSet {
    /// `User` or `Group`.
    pub user_type: String,
    pub is_backup: bool,
    pub id: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleManagementPolicyAssignment {
    /// `{scope}/providers/Microsoft.Authorization/roleManagementPolicyAssignments/{name}`.
    pub id: String,
    /// `{policyGuid}_{roleDefinitionGuid}`.
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub properties: PolicyAssignmentProperties,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyAssignmentProperties {
    pub scope: String,
    pub role_definition_id: String,
    pub policy_id: String,
    pub effective_rules: Vec<PolicyRule>,
    pub policy_assignment_properties: PolicyAssignmentInfo,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyAssignmentInfo {
    pub scope: ScopeInfo,
    pub role_definition: ScopeInfo,
    pub policy: PolicyInfo,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyInfo {
    pub id: String,
    pub last_modified_by: Option<Principal>,
    pub last_modified_date_time: Option<String>,
}
