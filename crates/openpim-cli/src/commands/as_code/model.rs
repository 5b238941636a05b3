//! The policy-as-code file (`pim.yaml`): its serde model, strict (`deny_unknown_fields`, so a
//! misspelt key is an error rather than a silently ignored setting), and the JSON Schema derived
//! from the same types (docs/pim.schema.json), so the schema cannot drift from what is read.
//!
//! A section that is absent is not managed: `plan` leaves that part of the tenant alone. A
//! section that is present (even empty) is the whole truth for its kind: what the tenant has and
//! the file lacks is removed. `openpim export --only ...` writes only the sections asked for.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The only format version so far.
pub const VERSION: u32 = 1;

/// The directory root, the default `scope`.
pub const ROOT_SCOPE: &str = "/";

/// A tenant's privileged access as code.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "OpenPIM policy as code")]
pub struct PimFile {
    /// Format version: 1.
    pub version: u32,
    /// Custom role definitions (built-in roles are not listed: they cannot change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_roles: Option<Vec<CustomRole>>,
    /// Role-assignable groups and their members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<GroupSpec>>,
    /// Role settings (role management policies at `/`): the rules that differ from the default.
    /// A role not listed, or a rule not listed, has the default value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_settings: Option<Vec<RoleSettings>>,
    /// Eligible assignments (roleEligibilitySchedules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eligibilities: Option<Vec<AssignmentSpec>>,
    /// Active assignments made by an administrator (roleAssignmentSchedules of type `Assigned`;
    /// activations are not managed here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignments: Option<Vec<AssignmentSpec>>,
    /// Azure resources (Azure Resource Manager): custom roles and eligible and active role
    /// assignments at management group, subscription, resource group and resource scopes. Each
    /// part follows the same rule as the sections above: absent, not managed; present, the whole
    /// truth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureSection>,
}

/// The Azure part of the file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AzureSection {
    /// Azure custom roles (ARM roleDefinitions of type `CustomRole`; built-in roles are not listed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_roles: Option<Vec<AzureCustomRole>>,
    /// Eligible Azure role assignments (ARM roleEligibilitySchedules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eligibilities: Option<Vec<AzureAssignmentSpec>>,
    /// Active Azure role assignments an administrator made (ARM roleAssignmentSchedules of type
    /// `Assigned`); plain RBAC role assignments (ARM roleAssignments) are permanent ones and are
    /// listed here too. Activations are not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignments: Option<Vec<AzureAssignmentSpec>>,
}

/// An Azure custom role, known by its role name (unique in the tenant, whatever its case).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AzureCustomRole {
    pub role_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where the role may be assigned: management groups, subscriptions, resource groups.
    #[schemars(length(min = 1))]
    pub assignable_scopes: Vec<String>,
    /// Control-plane operations, e.g. `Microsoft.Compute/virtualMachines/read`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_actions: Vec<String>,
    /// Data-plane operations, e.g. `Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_actions: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_data_actions: Vec<String>,
}

/// An eligible or active Azure role assignment; its identity is (principal, role, scope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AzureAssignmentSpec {
    /// A user's UPN or a group's display name.
    pub principal: String,
    /// The Azure role: role name (or GUID).
    pub role: String,
    /// ARM scope: `/providers/Microsoft.Management/managementGroups/{id}`,
    /// `/subscriptions/{id}`, `/subscriptions/{id}/resourceGroups/{name}` or a resource below.
    pub scope: String,
    /// When it starts (RFC 3339), for one dated in the future; absent: it starts when applied.
    /// A start that has passed means the same as none (the assignment has started).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub start: Option<String>,
    /// When it ends (RFC 3339); permanent when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub end: Option<String>,
}

impl AzureAssignmentSpec {
    /// The same assignment in the directory sections' shape, which the plan compares.
    pub fn as_spec(&self) -> AssignmentSpec {
        AssignmentSpec {
            principal: self.principal.clone(),
            role: self.role.clone(),
            scope: self.scope.clone(),
            start: self.start.clone(),
            end: self.end.clone(),
        }
    }
}

/// A custom role definition, known by its display name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CustomRole {
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub is_enabled: bool,
    /// Allowed resource actions, e.g. `microsoft.directory/users/basic/update`.
    #[schemars(length(min = 1))]
    pub allowed_resource_actions: Vec<String>,
}

/// A role-assignable security group, known by its display name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GroupSpec {
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Members: users by UPN.
    #[serde(default)]
    pub members: Vec<String>,
}

/// One role's settings: the rules that differ from the default, by Entra's rule id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RoleSettings {
    /// The role: display name (or id).
    pub role: String,
    pub rules: Rules,
}

/// The 17 rules of a directory role's policy. A rule left out has its default value; a field
/// left out of a listed rule has the default rule's value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
pub struct Rules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub Expiration_Admin_Eligibility: Option<Expiration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub Enablement_Admin_Eligibility: Option<Enablement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub Notification_Admin_Admin_Eligibility: Option<Notification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub Notification_Requestor_Admin_Eligibility: Option<Notification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub Notification_Approver_Admin_Eligibility: Option<Notification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub Expiration_Admin_Assignment: Option<Expiration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub Enablement_Admin_Assignment: Option<Enablement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub Notification_Admin_Admin_Assignment: Option<Notification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub Notification_Requestor_Admin_Assignment: Option<Notification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub Notification_Approver_Admin_Assignment: Option<Notification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub Expiration_EndUser_Assignment: Option<Expiration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub Enablement_EndUser_Assignment: Option<Enablement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub Approval_EndUser_Assignment: Option<Approval>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub AuthenticationContext_EndUser_Assignment: Option<AuthenticationContext>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub Notification_Admin_EndUser_Assignment: Option<Notification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub Notification_Requestor_EndUser_Assignment: Option<Notification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub Notification_Approver_EndUser_Assignment: Option<Notification>,
}

/// One rule's settings, whichever its type (the value of one [`Rules`] field).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Rule {
    Expiration(Expiration),
    Enablement(Enablement),
    Approval(Approval),
    AuthenticationContext(AuthenticationContext),
    Notification(Notification),
}

/// Generates the rule-id accessors over the fixed [`Rules`] fields, in Entra's rule order.
macro_rules! rule_fields {
    ($($field:ident: $variant:ident),* $(,)?) => {
        impl Rules {
            /// The rule ids, in the order the file lists them.
            #[cfg(test)]
            pub const IDS: &'static [&'static str] = &[$(stringify!($field)),*];

            /// The listed rules, by id.
            pub fn get(&self) -> Vec<(&'static str, Rule)> {
                let mut out = Vec::new();
                $(if let Some(r) = &self.$field { out.push((stringify!($field), Rule::$variant(r.clone()))); })*
                out
            }

            /// Sets rule `id` (one of [`Rules::IDS`]); `false` when the id or type does not fit.
            pub fn set(&mut self, id: &str, rule: Rule) -> bool {
                match (id, rule) {
                    $((stringify!($field), Rule::$variant(r)) => { self.$field = Some(r); true })*
                    _ => false,
                }
            }
        }
    };
}

rule_fields! {
    Expiration_Admin_Eligibility: Expiration,
    Enablement_Admin_Eligibility: Enablement,
    Notification_Admin_Admin_Eligibility: Notification,
    Notification_Requestor_Admin_Eligibility: Notification,
    Notification_Approver_Admin_Eligibility: Notification,
    Expiration_Admin_Assignment: Expiration,
    Enablement_Admin_Assignment: Enablement,
    Notification_Admin_Admin_Assignment: Notification,
    Notification_Requestor_Admin_Assignment: Notification,
    Notification_Approver_Admin_Assignment: Notification,
    Expiration_EndUser_Assignment: Expiration,
    Enablement_EndUser_Assignment: Enablement,
    Approval_EndUser_Assignment: Approval,
    AuthenticationContext_EndUser_Assignment: AuthenticationContext,
    Notification_Admin_EndUser_Assignment: Notification,
    Notification_Requestor_EndUser_Assignment: Notification,
    Notification_Approver_EndUser_Assignment: Notification,
}

/// How long an assignment or activation may last.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Expiration {
    /// ISO 8601 duration, e.g. `PT8H`, `P365D`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^P(?:\d+[YMWD])*(?:T(?:\d+H)?(?:\d+M)?(?:\d+S)?)?$"))]
    pub maximum_duration: Option<String>,
    /// Whether an end is required (false: permanent allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_expiration_required: Option<bool>,
}

/// What a request must carry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Enablement {
    pub enabled_rules: Vec<EnablementName>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub enum EnablementName {
    MultiFactorAuthentication,
    Justification,
    Ticketing,
}

/// Whether activation needs approval, and by whom.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Approval {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_approval_required: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_approval_required_for_extension: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_requestor_justification_required: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_mode: Option<ApprovalMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_stages: Option<Vec<ApprovalStage>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ApprovalMode {
    SingleStage,
    Serial,
    Parallel,
    NoApproval,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApprovalStage {
    #[serde(rename = "approvalStageTimeOutInDays", default = "one_day")]
    #[schemars(range(min = 1, max = 30))]
    pub approval_stage_time_out_in_days: i32,
    #[serde(default = "yes")]
    pub is_approver_justification_required: bool,
    #[serde(default)]
    pub escalation_time_in_minutes: i32,
    #[serde(default)]
    pub is_escalation_enabled: bool,
    /// Users by UPN, groups by display name.
    pub primary_approvers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalation_approvers: Vec<String>,
}

/// Conditional Access authentication context required on activation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuthenticationContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_value: Option<String>,
}

/// Who is told about an event, and how much.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Notification {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_level: Option<NotificationLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_default_recipients_enabled: Option<bool>,
    /// Extra e-mail addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_recipients: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum NotificationLevel {
    None,
    Critical,
    All,
}

/// An eligible or active assignment; its identity is (principal, role, scope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AssignmentSpec {
    /// A user's UPN or a role-assignable group's display name.
    pub principal: String,
    /// The role: display name (or id).
    pub role: String,
    /// Directory scope: `/` (the default) or `/administrativeUnits/{id}`.
    #[serde(default = "root_scope", skip_serializing_if = "is_root")]
    pub scope: String,
    /// When it starts (RFC 3339), for one dated in the future; absent: it starts when applied.
    /// A start that has passed means the same as none (the assignment has started).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub start: Option<String>,
    /// When it ends (RFC 3339); permanent when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub end: Option<String>,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn one_day() -> i32 {
    1
}

fn root_scope() -> String {
    ROOT_SCOPE.to_string()
}

fn is_root(s: &String) -> bool {
    s == ROOT_SCOPE
}

/// The JSON Schema of the file, as published in docs/pim.schema.json.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(PimFile);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_schema_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/pim.schema.json");
        let published = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            published == json_schema(),
            "docs/pim.schema.json is stale: run `cargo run -p openpim-cli -- validate --schema > docs/pim.schema.json`"
        );
    }

    #[test]
    fn rules_are_addressed_by_id() {
        let mut rules = Rules::default();
        assert_eq!(Rules::IDS.len(), 17);
        assert!(rules.set("Expiration_EndUser_Assignment", Rule::Expiration(Expiration::default())));
        // The wrong type for an id, or an unknown id, is refused.
        assert!(!rules.set("Expiration_EndUser_Assignment", Rule::Enablement(Enablement::default())));
        assert!(!rules.set("Nope", Rule::Expiration(Expiration::default())));
        assert_eq!(rules.get().len(), 1);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e = serde_norway::from_str::<PimFile>("version: 1\neligibilitys: []\n").unwrap_err();
        assert!(e.to_string().contains("unknown field `eligibilitys`"), "{e}");
        assert_eq!(e.location().map(|l| l.line()), Some(2));
        let f: PimFile =
            serde_norway::from_str("version: 1\neligibilities:\n  - principal: a@x\n    role: Global Reader\n")
                .unwrap();
        assert_eq!(f.eligibilities.unwrap()[0].scope, "/");
        assert!(f.assignments.is_none(), "an absent section is not managed");
    }
}
