//! The PIM security alerts OpenPIM evaluates, with Graph beta's texts and identifiers
//! (`unifiedRoleManagementAlertDefinition`, as `GET /beta/identityGovernance/roleManagementAlerts/
//! alertDefinitions` returns them for Microsoft Entra roles).

use crate::ObjectId;

/// One kind of alert. Its [`AlertKind::key`] is the last part of Graph's ids
/// (`DirectoryRole_{tenantId}_{key}`), which the alert, its definition and its configuration share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertKind {
    TooManyGlobalAdmins,
    RolesAssignedOutsidePim,
    NoMfaOnRoleActivation,
    RedundantAssignment,
    StaleSignIn,
}

/// `severityLevel` (Graph's `alertSeverity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

/// The scope type directory-role alerts are served under (the only one Graph supports for
/// Microsoft Entra roles).
pub const DIRECTORY_ROLE: &str = "DirectoryRole";

/// Where the web UI and notifications point for the remedy of each alert (Microsoft's page
/// for the alert, which explains the fix).
const DOCS: &str = "https://learn.microsoft.com/entra/id-governance/privileged-identity-management/pim-how-to-configure-security-alerts";

impl AlertKind {
    pub const ALL: [AlertKind; 5] = [
        AlertKind::NoMfaOnRoleActivation,
        AlertKind::RedundantAssignment,
        AlertKind::RolesAssignedOutsidePim,
        AlertKind::StaleSignIn,
        AlertKind::TooManyGlobalAdmins,
    ];

    /// The last segment of Graph's alert/definition/configuration ids.
    pub fn key(self) -> &'static str {
        match self {
            AlertKind::TooManyGlobalAdmins => "TooManyGlobalAdminsAssignedToTenantAlert",
            AlertKind::RolesAssignedOutsidePim => "RolesAssignedOutsidePimAlert",
            AlertKind::NoMfaOnRoleActivation => "NoMfaOnRoleActivationAlert",
            AlertKind::RedundantAssignment => "RedundantAssignmentAlert",
            AlertKind::StaleSignIn => "StaleSignInAlert",
        }
    }

    pub fn from_key(key: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.key().eq_ignore_ascii_case(key))
    }

    /// `DirectoryRole_{tenant}_{key}`: the id of the alert, of its definition and of its
    /// configuration alike (as in Graph's examples).
    pub fn id(self, tenant: ObjectId) -> String {
        format!("{DIRECTORY_ROLE}_{tenant}_{}", self.key())
    }

    /// The kind an id names, if it is one of `tenant`'s (case-insensitive, as Graph compares keys).
    pub fn parse_id(id: &str, tenant: ObjectId) -> Option<AlertKind> {
        let prefix = format!("{DIRECTORY_ROLE}_{tenant}_");
        let head = id.get(..prefix.len())?;
        if !head.eq_ignore_ascii_case(&prefix) {
            return None;
        }
        AlertKind::from_key(&id[prefix.len()..])
    }

    /// The `@odata.type` of this kind's configuration (without `#microsoft.graph.`).
    pub fn configuration_type(self) -> &'static str {
        match self {
            AlertKind::TooManyGlobalAdmins => "tooManyGlobalAdminsAssignedToTenantAlertConfiguration",
            AlertKind::RolesAssignedOutsidePim => "rolesAssignedOutsidePrivilegedIdentityManagementAlertConfiguration",
            AlertKind::NoMfaOnRoleActivation => "noMfaOnRoleActivationAlertConfiguration",
            AlertKind::RedundantAssignment => "redundantAssignmentAlertConfiguration",
            AlertKind::StaleSignIn => "staleSignInAlertConfiguration",
        }
    }

    /// The `@odata.type` of this kind's incidents (without `#microsoft.graph.`).
    pub fn incident_type(self) -> &'static str {
        match self {
            AlertKind::TooManyGlobalAdmins => "tooManyGlobalAdminsAssignedToTenantAlertIncident",
            AlertKind::RolesAssignedOutsidePim => "rolesAssignedOutsidePrivilegedIdentityManagementAlertIncident",
            AlertKind::NoMfaOnRoleActivation => "noMfaOnRoleActivationAlertIncident",
            AlertKind::RedundantAssignment => "redundantAssignmentAlertIncident",
            AlertKind::StaleSignIn => "staleSignInAlertIncident",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            AlertKind::TooManyGlobalAdmins => "There are too many global administrators",
            AlertKind::RolesAssignedOutsidePim => "Roles are being assigned outside of Privileged Identity Management",
            AlertKind::NoMfaOnRoleActivation => "Roles don't require multi-factor authentication for activation",
            AlertKind::RedundantAssignment => "Eligible administrators aren't activating their privileged role",
            AlertKind::StaleSignIn => "Potential stale accounts in a privileged role",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            AlertKind::TooManyGlobalAdmins => "The percentage of global administrators is high, relative to other privileged roles. It is recommended to use least privileged roles, with just enough privileges to perform the required tasks.",
            AlertKind::RolesAssignedOutsidePim => "{0} privileged assignment(s) were made outside of Privileged Identity Management",
            AlertKind::NoMfaOnRoleActivation => "Roles are configured for activation without requiring multifactor authentication. This is highly discouraged.",
            AlertKind::RedundantAssignment => "{0} user(s) haven't activated their privileged roles in the past {1} days",
            AlertKind::StaleSignIn => "{0} account(s) in privileged roles that have not signed in in the past {1} day(s)",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            AlertKind::TooManyGlobalAdmins | AlertKind::RedundantAssignment => Severity::Low,
            AlertKind::NoMfaOnRoleActivation | AlertKind::StaleSignIn => Severity::Medium,
            AlertKind::RolesAssignedOutsidePim => Severity::High,
        }
    }

    pub fn security_impact(self) -> &'static str {
        match self {
            AlertKind::TooManyGlobalAdmins => "Global administrator is the highest privileged role. If a Global Administrator is compromised, the attacker gains access to all of their permissions, which puts your whole system at risk.",
            AlertKind::RolesAssignedOutsidePim => "Privileged role assignments made outside of Privileged Identity Management are not properly monitored and may indicate an active attack.",
            AlertKind::NoMfaOnRoleActivation => "Without multi-factor authentication, compromised users can activate privileged roles.",
            AlertKind::RedundantAssignment => "Users that have been assigned privileged roles they don't need increases the chance of an attack. It is also easier for attackers to remain unnoticed in accounts that are not actively being used.",
            AlertKind::StaleSignIn => "Accounts in a privileged role have not signed in recently. These accounts might be service or shared accounts that aren't being maintained and are vulnerable to attackers.",
        }
    }

    pub fn mitigation_steps(self) -> &'static str {
        match self {
            AlertKind::TooManyGlobalAdmins => "·Review the users in the list and remove any that do not absolutely need the Global Administrator role.·Assign lower privileged roles to these users instead.",
            AlertKind::RolesAssignedOutsidePim => "Review the users in the list and remove them from privileged roles assigned outside of Privileged Identity Management.",
            AlertKind::NoMfaOnRoleActivation => "Review the list of roles and require multi-factor authentication for every role.",
            AlertKind::RedundantAssignment => "Review the users in the list and remove them from privileged roles they do not need.",
            AlertKind::StaleSignIn => "Review the accounts in the list. If they no longer need access, remove them from their privileged roles.",
        }
    }

    pub fn how_to_prevent(self) -> &'static str {
        match self {
            AlertKind::TooManyGlobalAdmins => "Assign users the least privileged role they need.",
            AlertKind::RolesAssignedOutsidePim => "Investigate where users are being assigned privileged roles outside of Privileged Identity Management and prohibit future assignments from there.",
            AlertKind::NoMfaOnRoleActivation => "Every privileged role should be configured to require MFA for activation.",
            AlertKind::RedundantAssignment => "·Assign privileged roles to users that have a business justification.·Schedule regular access reviews to verify that users still need their access.",
            AlertKind::StaleSignIn => "Regularly review accounts with privileged roles using access reviews and remove role assignments which are no longer needed.",
        }
    }

    /// Graph's `isRemediatable`: the portal offers a one-click fix.
    pub fn is_remediatable(self) -> bool {
        true
    }

    /// Graph's `isConfigurable`: the configuration has thresholds beyond `isEnabled`.
    pub fn is_configurable(self) -> bool {
        matches!(self, AlertKind::TooManyGlobalAdmins | AlertKind::RedundantAssignment | AlertKind::StaleSignIn)
    }

    /// The remedy link shown with the alert (an OpenPIM extension: Graph has no such property).
    pub fn remedy_url(self) -> String {
        let anchor = match self {
            AlertKind::TooManyGlobalAdmins => "there-are-too-many-global-administrators",
            AlertKind::RolesAssignedOutsidePim => "roles-are-being-assigned-outside-of-privileged-identity-management",
            AlertKind::NoMfaOnRoleActivation => "roles-dont-require-multifactor-authentication-for-activation",
            AlertKind::RedundantAssignment => "administrators-arent-using-their-privileged-roles",
            AlertKind::StaleSignIn => "potential-stale-accounts-in-a-privileged-role",
        };
        format!("{DOCS}#{anchor}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_are_case_insensitive() {
        let tenant = uuid::uuid!("19356be4-7e93-4ed6-a7c6-0ae28454d125");
        for kind in AlertKind::ALL {
            assert_eq!(AlertKind::parse_id(&kind.id(tenant), tenant), Some(kind));
            assert_eq!(AlertKind::parse_id(&kind.id(tenant).to_lowercase(), tenant), Some(kind));
        }
        assert_eq!(
            AlertKind::TooManyGlobalAdmins.id(tenant),
            "DirectoryRole_19356be4-7e93-4ed6-a7c6-0ae28454d125_TooManyGlobalAdminsAssignedToTenantAlert"
        );
        assert_eq!(AlertKind::parse_id("DirectoryRole_other_StaleSignInAlert", tenant), None);
        assert_eq!(AlertKind::parse_id(&format!("DirectoryRole_{tenant}_Nope"), tenant), None);
        assert_eq!(AlertKind::parse_id("x", tenant), None);
    }
}
