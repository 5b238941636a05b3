//! Audit records: who did what to which target, when, and with what result.
//! Rendered by the server in Graph's `directoryAudit` shape.

use crate::{Instant, ObjectId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditResult {
    Success,
    Failure,
}

impl AuditResult {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

/// Graph's audit categories that OpenPIM writes.
pub mod category {
    pub const USER_MANAGEMENT: &str = "UserManagement";
    pub const GROUP_MANAGEMENT: &str = "GroupManagement";
    pub const ROLE_MANAGEMENT: &str = "RoleManagement";
    pub const DIRECTORY_MANAGEMENT: &str = "DirectoryManagement";
    pub const APPLICATION_MANAGEMENT: &str = "ApplicationManagement";
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditTarget {
    pub id: String,
    pub display_name: Option<String>,
    /// Graph's `type`: "User", "Group", "Role", "Directory", "Application", "ServicePrincipal", "Other".
    pub kind: &'static str,
    pub user_principal_name: Option<String>,
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
    pub targets: Vec<AuditTarget>,
    pub additional_details: Vec<(String, String)>,
    pub correlation_id: ObjectId,
}
