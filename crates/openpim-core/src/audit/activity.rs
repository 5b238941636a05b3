//! What an audit record is about, in a few fixed classes: the labels of the server's change
//! counters. Every change (and every refused attempt) is audited through the one write path,
//! so classifying the record counts each event once, whichever surface (Graph, governance,
//! ARM, web UI) caused it. The classes are closed enums: no label value ever comes from a
//! record's free text (ids, names, scopes).

use super::{category, detail, AuditRecord};
use crate::scope::Scope;

/// Which role world a change belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum World {
    /// Entra: directory roles, their settings, and the directory itself.
    Directory,
    /// Azure resources: ARM role assignments, PIM for Azure roles, the resource hierarchy.
    Azure,
}

/// What kind of change a record describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum ActivityKind {
    /// A principal activating an eligible role.
    Activation,
    /// A principal ending its own activation early.
    Deactivation,
    /// An eligibility added, updated, removed, extended or renewed (admin or self requests).
    Eligibility,
    /// An active assignment added, updated, removed, extended or renewed (admin or self
    /// requests, direct `roleAssignments`, ARM role assignments, elevate access).
    Assignment,
    /// An approver's decision on an activation request, or its time-out.
    Approval,
    /// A schedule reaching its end (assignment or eligibility expired, by the tidy-up job).
    Expiry,
    /// Another status move of the tidy-up job (a schedule starting, a request provisioned).
    Lifecycle,
    /// A request canceled by its requester.
    Cancellation,
    /// A role setting (PIM policy rule) changed.
    Policy,
    /// A role definition added, changed or deleted (Entra custom roles, Azure roles).
    RoleDefinition,
    /// Directory objects (users, groups, units, applications) and Azure resources.
    Directory,
    /// Reads that are audited when refused (audit logs, metrics) and anything else.
    Other,
}

/// How an approver decided (or time decided).
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum ApprovalOutcome {
    Approved,
    Denied,
    TimedOut,
}

/// The classes of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classified {
    pub world: World,
    pub kind: ActivityKind,
    /// For [`ActivityKind::Approval`] records.
    pub approval: Option<ApprovalOutcome>,
}

/// Classifies `record` by its category, its activity name (the fixed vocabulary the writers
/// use, Entra's names where Entra has them) and, for role-management records, the scope it
/// names: PIM for Azure roles writes role-management records with an ARM scope.
pub fn classify(record: &AuditRecord) -> Classified {
    let world = if record.category == category::AZURE_RESOURCE_MANAGEMENT
        || record
            .detail(detail::DIRECTORY_SCOPE_ID)
            .and_then(|s| Scope::parse(s).ok())
            .is_some_and(|s| s.as_arm().is_some())
    {
        World::Azure
    } else {
        World::Directory
    };
    let a = record.activity.as_str();
    let approval = if a.starts_with("Approve ") {
        Some(ApprovalOutcome::Approved)
    } else if a.starts_with("Deny ") {
        Some(ApprovalOutcome::Denied)
    } else if a.contains("timed out waiting for approval") {
        Some(ApprovalOutcome::TimedOut)
    } else {
        None
    };
    let kind = if approval.is_some() {
        ActivityKind::Approval
    } else if a.contains("(PIM activation)") {
        ActivityKind::Activation
    } else if a.contains("(PIM deactivation)") {
        ActivityKind::Deactivation
    } else if a.contains("expired)") {
        ActivityKind::Expiry
    } else if a == "Role schedule started (PIM)" || a == "Schedule request provisioned (PIM)" {
        ActivityKind::Lifecycle
    } else if a.starts_with("Cancel request") {
        ActivityKind::Cancellation
    } else if a.starts_with("Update role setting") {
        ActivityKind::Policy
    } else if a.contains("role definition") {
        ActivityKind::RoleDefinition
    } else if a.contains("eligible") {
        ActivityKind::Eligibility
    } else if a.contains("member to role")
        || a.contains("member of role")
        || a.contains("member from role")
        || a.contains("role assignment")
        || a == "Elevate access"
    {
        ActivityKind::Assignment
    } else if a.starts_with("Read ") {
        ActivityKind::Other
    } else if record.category != category::ROLE_MANAGEMENT {
        ActivityKind::Directory
    } else {
        ActivityKind::Other
    };
    Classified { world, kind, approval }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditResult;
    use crate::ObjectId;

    fn record(category: &'static str, activity: &str, scope: Option<&str>) -> AuditRecord {
        AuditRecord {
            id: ObjectId::nil(),
            at: time::macros::datetime!(2026-01-01 00:00 UTC),
            category,
            activity: activity.to_string(),
            operation_type: "Update",
            result: AuditResult::Success,
            result_reason: String::new(),
            initiated_by_id: None,
            initiated_by_upn: None,
            initiated_by_display_name: None,
            targets: Vec::new(),
            additional_details: scope
                .map(|s| vec![(detail::DIRECTORY_SCOPE_ID.to_string(), s.to_string())])
                .unwrap_or_default(),
            correlation_id: ObjectId::nil(),
        }
    }

    fn kind(category: &'static str, activity: &str, scope: Option<&str>) -> (World, ActivityKind) {
        let c = classify(&record(category, activity, scope));
        (c.world, c.kind)
    }

    #[test]
    fn the_writers_activity_names_fall_in_their_classes() {
        use ActivityKind as K;
        use World as W;
        let rm = category::ROLE_MANAGEMENT;
        let az = category::AZURE_RESOURCE_MANAGEMENT;
        let sub = "/subscriptions/00000000-0000-0000-0000-000000000001";
        for (cat, activity, scope, expected) in [
            (rm, "Add member to role (PIM activation)", Some("/"), (W::Directory, K::Activation)),
            (rm, "Add member to role (PIM activation)", Some(sub), (W::Azure, K::Activation)),
            (rm, "Remove member from role (PIM deactivation)", Some("/"), (W::Directory, K::Deactivation)),
            (rm, "Add eligible member to role in PIM", Some("/"), (W::Directory, K::Eligibility)),
            (rm, "Remove eligible member from role in PIM", Some(sub), (W::Azure, K::Eligibility)),
            (rm, "Request to renew eligible role assignment", Some("/"), (W::Directory, K::Eligibility)),
            (rm, "Add member to role in PIM", Some("/"), (W::Directory, K::Assignment)),
            (rm, "Add member to role", Some("/"), (W::Directory, K::Assignment)),
            (rm, "Remove member from role", None, (W::Directory, K::Assignment)),
            (rm, "Extend role assignment in PIM", Some("/"), (W::Directory, K::Assignment)),
            (az, "Add Azure role assignment", None, (W::Azure, K::Assignment)),
            (az, "Elevate access", None, (W::Azure, K::Assignment)),
            (rm, "Approve role activation request in PIM", Some("/"), (W::Directory, K::Approval)),
            (rm, "Deny role activation request in PIM", Some(sub), (W::Azure, K::Approval)),
            (rm, "Role activation request timed out waiting for approval (PIM)", None, (W::Directory, K::Approval)),
            (rm, "Remove member from role (PIM assignment expired)", Some("/"), (W::Directory, K::Expiry)),
            (rm, "Remove eligible member from role (PIM eligibility expired)", Some(sub), (W::Azure, K::Expiry)),
            (rm, "Role schedule started (PIM)", None, (W::Directory, K::Lifecycle)),
            (rm, "Schedule request provisioned (PIM)", None, (W::Directory, K::Lifecycle)),
            (rm, "Cancel request in PIM", Some("/"), (W::Directory, K::Cancellation)),
            (rm, "Update role setting in PIM", None, (W::Directory, K::Policy)),
            (az, "Update role setting in PIM", None, (W::Azure, K::Policy)),
            (rm, "Add role definition", None, (W::Directory, K::RoleDefinition)),
            (az, "Delete Azure role definition", None, (W::Azure, K::RoleDefinition)),
            (category::USER_MANAGEMENT, "Add user", None, (W::Directory, K::Directory)),
            (az, "Register Azure subscription", None, (W::Azure, K::Directory)),
            (category::DIRECTORY_MANAGEMENT, "Read audit logs", None, (W::Directory, K::Other)),
        ] {
            assert_eq!(kind(cat, activity, scope), expected, "{activity} ({scope:?})");
        }
    }

    #[test]
    fn approvals_carry_their_outcome() {
        let rm = category::ROLE_MANAGEMENT;
        let outcome = |a: &str| classify(&record(rm, a, None)).approval;
        assert_eq!(outcome("Approve role activation request in PIM"), Some(ApprovalOutcome::Approved));
        assert_eq!(outcome("Deny role activation request in PIM"), Some(ApprovalOutcome::Denied));
        assert_eq!(
            outcome("Role activation request timed out waiting for approval (PIM)"),
            Some(ApprovalOutcome::TimedOut)
        );
        assert_eq!(outcome("Add member to role (PIM activation)"), None);
    }

    #[test]
    fn an_unparseable_scope_is_the_directory_world() {
        assert_eq!(kind(category::ROLE_MANAGEMENT, "Add member to role", Some("not a scope")).0, World::Directory);
    }
}
