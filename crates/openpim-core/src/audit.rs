//! Audit records: who did what to which target, when, and with what result.
//! Rendered by the server in Graph's `directoryAudit` shape and, for spreadsheets, as the one
//! CSV format of [`csv`]. The keys of `additionalDetails` are the vocabulary of [`detail`].

pub mod activity;
pub mod chain;
pub mod csv;
pub mod detail;

use crate::{Instant, ObjectId};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::Display, strum::EnumString, strum::AsRefStr, strum::IntoStaticStr,
)]
#[strum(serialize_all = "lowercase")]
pub enum AuditResult {
    Success,
    Failure,
}

impl AuditResult {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Graph's audit categories that OpenPIM writes.
pub mod category {
    pub const USER_MANAGEMENT: &str = "UserManagement";
    pub const GROUP_MANAGEMENT: &str = "GroupManagement";
    pub const ROLE_MANAGEMENT: &str = "RoleManagement";
    pub const DIRECTORY_MANAGEMENT: &str = "DirectoryManagement";
    pub const APPLICATION_MANAGEMENT: &str = "ApplicationManagement";
    /// Azure resource roles and the resource hierarchy (OpenPIM's own category: Entra's audit
    /// log has none for Azure resources, whose changes Azure records in its activity log).
    pub const AZURE_RESOURCE_MANAGEMENT: &str = "AzureResourceManagement";
}

/// Graph's `modifiedProperty`: one changed property of a target, old and new values as the
/// JSON text Graph puts there (`None` when the property did not exist before or after).
#[derive(Debug, Clone, PartialEq)]
pub struct ModifiedProperty {
    pub display_name: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditTarget {
    pub id: String,
    /// Filled by the store's write path when the writer did not know it, so no stored record
    /// names a target by id alone.
    pub display_name: Option<String>,
    /// Graph's `type`: "User", "Group", "Role", "Directory", "Application", "ServicePrincipal", "Other".
    pub kind: &'static str,
    pub user_principal_name: Option<String>,
    pub modified_properties: Vec<ModifiedProperty>,
}

impl AuditTarget {
    /// A target known by id (and maybe name) with nothing modified.
    pub fn new(kind: &'static str, id: impl ToString, display_name: Option<&str>, upn: Option<&str>) -> Self {
        Self {
            id: id.to_string(),
            display_name: display_name.map(str::to_string),
            kind,
            user_principal_name: upn.map(str::to_string),
            modified_properties: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub id: ObjectId,
    pub at: Instant,
    pub category: &'static str,
    /// Human-readable, like Entra's: "Add member to role", "Update user".
    pub activity: String,
    /// "Add", "Update", "Delete", "Assign", "Unassign".
    pub operation_type: &'static str,
    pub result: AuditResult,
    pub result_reason: String,
    pub initiated_by_id: Option<ObjectId>,
    pub initiated_by_upn: Option<String>,
    /// The initiator's display name; the store's write path fills it from the directory when
    /// the writer left it out.
    pub initiated_by_display_name: Option<String>,
    pub targets: Vec<AuditTarget>,
    /// Keys from [`detail`].
    pub additional_details: Vec<(String, String)>,
    pub correlation_id: ObjectId,
}

impl AuditRecord {
    /// Graph's `loggedByService`: PIM for role management, the directory for the rest.
    pub fn logged_by_service(&self) -> &'static str {
        if self.category == category::ROLE_MANAGEMENT {
            "PIM"
        } else {
            "Core Directory"
        }
    }

    /// The value of the first detail named `key`.
    pub fn detail(&self, key: &str) -> Option<&str> {
        self.additional_details.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}
