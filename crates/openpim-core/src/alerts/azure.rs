//! PIM security alerts for Azure resource roles (ARM `Microsoft.Authorization/
//! roleManagementAlerts`, api-version 2022-08-01-preview): the four alerts Microsoft documents
//! in "Configure security alerts for Azure roles in Privileged Identity Management", with the
//! names, texts and configuration types of the REST spec (RoleManagementAlerts.json and its
//! examples). Each is evaluated per ARM scope over the schedules made at exactly that scope, so
//! an assignment at a management group raises its alert there, not at every subscription below.
//! Incidents and dismissals reuse the directory alerts' [`Incident`] and [`super::reconcile`].

use super::evaluate::{Holding, HoldingKind, Incident, PrincipalFacts};
use super::Severity;
use crate::azure_assignment::{OWNER, USER_ACCESS_ADMINISTRATOR};
use crate::directory::ObjectKind;
use crate::error::{DomainError, DomainResult};
use crate::roles::RoleDefinition;
use crate::schedule::{AssignmentType, Kind, Schedule};
use crate::scope::ArmScope;
use crate::{Instant, ObjectId};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use uuid::uuid;

/// The scope type the alert rows of Azure scopes are stored under (the directory's are
/// `DirectoryRole`).
pub const AZURE_RESOURCE: &str = "AzureResource";

/// Azure's privileged administrator roles (Owner, Contributor, User Access Administrator,
/// Role Based Access Control Administrator): the roles an assignment outside PIM is reported for.
pub const PRIVILEGED_AZURE_ROLES: [ObjectId; 4] = [
    OWNER,
    uuid!("b24988ac-6180-42a0-ab88-20f7382dd24c"),
    USER_ACCESS_ADMINISTRATOR,
    uuid!("f58310d9-a9f6-439a-9e8d-f62e7b41a168"),
];

/// One kind of Azure alert; its [`AzureAlertKind::name`] is the ARM resource name the alert,
/// its definition and its configuration share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AzureAlertKind {
    TooManyOwners,
    TooManyPermanentOwners,
    DuplicateRoleCreated,
    RolesAssignedOutsidePim,
}

impl AzureAlertKind {
    pub const ALL: [AzureAlertKind; 4] = [
        AzureAlertKind::TooManyPermanentOwners,
        AzureAlertKind::TooManyOwners,
        AzureAlertKind::DuplicateRoleCreated,
        AzureAlertKind::RolesAssignedOutsidePim,
    ];

    /// The spec's alert (definition, configuration) name.
    pub fn name(self) -> &'static str {
        match self {
            AzureAlertKind::TooManyOwners => "TooManyOwnersAssignedToResource",
            AzureAlertKind::TooManyPermanentOwners => "TooManyPermanentOwnersAssignedToResource",
            AzureAlertKind::DuplicateRoleCreated => "DuplicateRoleCreated",
            AzureAlertKind::RolesAssignedOutsidePim => "AzureRolesAssignedOutsidePimAlert",
        }
    }

    /// The kind `name` names (case-insensitive, as ARM compares names).
    pub fn from_name(name: &str) -> Option<AzureAlertKind> {
        AzureAlertKind::ALL.into_iter().find(|k| k.name().eq_ignore_ascii_case(name))
    }

    /// `alertConfigurationType` (the discriminator of the configuration's properties).
    pub fn configuration_type(self) -> &'static str {
        match self {
            AzureAlertKind::TooManyOwners => "TooManyOwnersAssignedToResourceAlertConfiguration",
            AzureAlertKind::TooManyPermanentOwners => "TooManyPermanentOwnersAssignedToResourceAlertConfiguration",
            AzureAlertKind::DuplicateRoleCreated => "DuplicateRoleCreatedAlertConfiguration",
            AzureAlertKind::RolesAssignedOutsidePim => "AzureRolesAssignedOutsidePimAlertConfiguration",
        }
    }

    /// `alertIncidentType` (the discriminator of the incidents' properties).
    pub fn incident_type(self) -> &'static str {
        match self {
            AzureAlertKind::TooManyOwners => "TooManyOwnersAssignedToResourceAlertIncident",
            AzureAlertKind::TooManyPermanentOwners => "TooManyPermanentOwnersAssignedToResourceAlertIncident",
            AzureAlertKind::DuplicateRoleCreated => "DuplicateRoleCreatedAlertIncident",
            AzureAlertKind::RolesAssignedOutsidePim => "AzureRolesAssignedOutsidePimAlertIncident",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            AzureAlertKind::TooManyOwners => "Too many owners assigned to a resource",
            AzureAlertKind::TooManyPermanentOwners => "Too many permanent owners assigned to a resource",
            AzureAlertKind::DuplicateRoleCreated => "Duplicate role created",
            AzureAlertKind::RolesAssignedOutsidePim => {
                "Roles are being assigned outside of Privileged Identity Management"
            }
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            AzureAlertKind::TooManyOwners => "The number of users with the Owner role is too high. We recommend assigning these individuals to less privileged roles or roles more suitable to their daily needs. Take a moment to review the current assignments, and suggested changes here.",
            AzureAlertKind::TooManyPermanentOwners => "The number of users set to never expire is too high. To enhance the security of your resources, we recommend requiring activation for role use. Take a moment to review the list of users, and suggested changes here.",
            AzureAlertKind::DuplicateRoleCreated => "One or more custom roles have the same display name and/or permissions as a built-in or preexisting custom role. Please review the newly created role membership assignments and determine the appropriate action.",
            AzureAlertKind::RolesAssignedOutsidePim => "Privileged assignment(s) were made outside of Privileged Identity Management.",
        }
    }

    /// Microsoft's table: High for assignments outside PIM, Medium for the others.
    pub fn severity(self) -> Severity {
        match self {
            AzureAlertKind::RolesAssignedOutsidePim => Severity::High,
            _ => Severity::Medium,
        }
    }

    pub fn security_impact(self) -> &'static str {
        match self {
            AzureAlertKind::TooManyOwners => "As the number of users with the owner role increases, so does the potential for malicious or mistaken actions affecting your resource.",
            AzureAlertKind::TooManyPermanentOwners => "Providing users permanent access in a role may leave resources vulnerable to accidental or malicious activity.",
            AzureAlertKind::DuplicateRoleCreated => "Duplicate roles add confusion and increases the complexity of administration.",
            AzureAlertKind::RolesAssignedOutsidePim => "Privileged role assignments made outside of Privileged Identity Management are not properly monitored and may indicate an active attack.",
        }
    }

    pub fn mitigation_steps(self) -> &'static str {
        match self {
            AzureAlertKind::TooManyOwners => "To mitigate this issue, reduce the number of users in the Owner role. Review the list of users in the list, and reassign them to a less privileged role such as Contributor.",
            AzureAlertKind::TooManyPermanentOwners => "To mitigate this issue, require the user to activate the role before use.",
            AzureAlertKind::DuplicateRoleCreated => "To mitigate this issue, review the newly created role, and determine if a built-in role is suitable.",
            AzureAlertKind::RolesAssignedOutsidePim => "Review the users in the list and remove them from privileged roles assigned outside of Privileged Identity Management.",
        }
    }

    pub fn how_to_prevent(self) -> &'static str {
        match self {
            AzureAlertKind::TooManyOwners => "Choose a role that provides the fewest privileges necessary for a user or group to complete their tasks.",
            AzureAlertKind::TooManyPermanentOwners => "Enable \u{201c}Activation Required\u{201d} in the role settings menu. This will ensure newly added users must activate their role.",
            AzureAlertKind::DuplicateRoleCreated => "Prior to creating a custom role, determine if a built-in or preexisting custom role aligns to your security requirements.",
            AzureAlertKind::RolesAssignedOutsidePim => "Investigate where users are being assigned privileged roles outside of Privileged Identity Management and prohibit future assignments from there.",
        }
    }

    /// The spec's examples: the two owner alerts have thresholds, the others only `isEnabled`.
    pub fn is_configurable(self) -> bool {
        matches!(self, AzureAlertKind::TooManyOwners | AzureAlertKind::TooManyPermanentOwners)
    }

    /// The remedy link (Microsoft's page for the Azure alerts).
    pub fn remedy_url(self) -> &'static str {
        "https://learn.microsoft.com/entra/id-governance/privileged-identity-management/pim-resource-roles-configure-alerts"
    }

    /// The names of the two threshold properties of the configurable kinds (count, percentage).
    pub fn threshold_names(self) -> Option<(&'static str, &'static str)> {
        match self {
            AzureAlertKind::TooManyOwners => {
                Some(("thresholdNumberOfOwners", "thresholdPercentageOfOwnersOutOfAllRoleMembers"))
            }
            AzureAlertKind::TooManyPermanentOwners => {
                Some(("thresholdNumberOfPermanentOwners", "thresholdPercentageOfPermanentOwnersOutOfAllOwners"))
            }
            _ => None,
        }
    }
}

/// What an Azure alert is evaluated with at one scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AzureAlertConfiguration {
    pub is_enabled: bool,
    /// The owner alerts: at least `count` principals who are at least `percentage` % of the
    /// population (all role members at the scope / all owners). `None` for the other kinds.
    pub thresholds: Option<OwnerThresholds>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnerThresholds {
    pub count: u32,
    pub percentage: u32,
}

/// Ranges OpenPIM accepts: at least 2 owners (one owner is never "too many"), at most 1000;
/// 0–100 %.
const COUNT: std::ops::RangeInclusive<i64> = 2..=1000;
const PERCENTAGE: std::ops::RangeInclusive<i64> = 0..=100;

impl AzureAlertConfiguration {
    /// OpenPIM's defaults: every alert on; 3 or more owners who are at least 40 % of the
    /// scope's role members; 10 or more permanent owners who are at least 10 % of its owners
    /// (the spec example's values).
    pub fn default_for(kind: AzureAlertKind) -> Self {
        let thresholds = match kind {
            AzureAlertKind::TooManyOwners => Some(OwnerThresholds { count: 3, percentage: 40 }),
            AzureAlertKind::TooManyPermanentOwners => Some(OwnerThresholds { count: 10, percentage: 10 }),
            _ => None,
        };
        Self { is_enabled: true, thresholds }
    }
}

/// A PATCH of an Azure alert configuration: the properties the body set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AzureConfigurationPatch {
    pub is_enabled: Option<bool>,
    pub count: Option<i64>,
    pub percentage: Option<i64>,
}

fn invalid(message: String) -> DomainError {
    DomainError::invalid("InvalidAlertConfiguration", message)
}

/// Applies `patch` for an alert of `kind`: thresholds on a kind without them, or out of range,
/// are refused and nothing changes.
pub fn apply_azure(
    kind: AzureAlertKind,
    current: AzureAlertConfiguration,
    patch: &AzureConfigurationPatch,
) -> DomainResult<AzureAlertConfiguration> {
    let mut next = current;
    if let Some(enabled) = patch.is_enabled {
        next.is_enabled = enabled;
    }
    let Some((count_name, percentage_name)) = kind.threshold_names() else {
        if patch.count.is_some() || patch.percentage.is_some() {
            return Err(invalid(format!(
                "The {} has no thresholds; only 'isEnabled' can be set.",
                kind.configuration_type()
            )));
        }
        return Ok(next);
    };
    let t = next.thresholds.get_or_insert(OwnerThresholds { count: 0, percentage: 0 });
    let check = |name: &str, v: i64, range: std::ops::RangeInclusive<i64>| {
        if range.contains(&v) {
            Ok(v as u32)
        } else {
            Err(invalid(format!("'{name}' must be between {} and {}; got {v}.", range.start(), range.end())))
        }
    };
    if let Some(n) = patch.count {
        t.count = check(count_name, n, COUNT)?;
    }
    if let Some(p) = patch.percentage {
        t.percentage = check(percentage_name, p, PERCENTAGE)?;
    }
    Ok(next)
}

/// The four permission lists of a role, normalised (lower case, sorted, deduplicated) so that
/// two roles granting the same thing compare equal whatever the order or case they were written in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PermissionSet {
    pub actions: BTreeSet<String>,
    pub not_actions: BTreeSet<String>,
    pub data_actions: BTreeSet<String>,
    pub not_data_actions: BTreeSet<String>,
}

impl PermissionSet {
    pub fn of(permissions: &[crate::roles::RolePermission]) -> Self {
        let norm = |lists: &mut BTreeSet<String>, items: &[String]| {
            lists.extend(items.iter().map(|a| a.to_ascii_lowercase()));
        };
        let mut set = PermissionSet::default();
        for p in permissions {
            norm(&mut set.actions, &p.allowed_resource_actions);
            norm(&mut set.not_actions, &p.excluded_resource_actions);
            norm(&mut set.data_actions, &p.allowed_data_actions);
            norm(&mut set.not_data_actions, &p.excluded_data_actions);
        }
        set
    }
}

/// An Azure role as the alerts see it.
#[derive(Debug, Clone, PartialEq)]
pub struct AzureRoleFacts {
    pub id: ObjectId,
    pub role_name: String,
    pub is_custom: bool,
    /// Custom roles: the scope keys (lower case) it is assignable at.
    pub assignable_scopes: Vec<String>,
    pub permissions: PermissionSet,
}

/// A live schedule at an ARM scope.
#[derive(Debug, Clone, PartialEq)]
pub struct AzureHolding {
    /// The scope key (lower case) the schedule was made at.
    pub scope: String,
    pub holding: Holding,
    /// `User`, `Group` or `ServicePrincipal` (ARM's `principalType`).
    pub principal_type: String,
    /// None: permanent.
    pub end: Option<Instant>,
    /// Who made it (the requestor of an assignment made outside PIM).
    pub created_by: Option<ObjectId>,
}

impl AzureHolding {
    /// The holding a live schedule at an ARM scope is (`None` for a directory scope), classified
    /// as the directory's are: an assignment made by someone without a schedule request
    /// (`PUT roleAssignments`) is direct, i.e. outside PIM.
    pub fn of(s: &Schedule) -> Option<AzureHolding> {
        let scope = s.scope.as_arm()?;
        let kind = match (s.kind, s.assignment_type) {
            (Kind::Eligibility, _) => HoldingKind::Eligible,
            (Kind::Assignment, Some(AssignmentType::Activated)) => HoldingKind::Activated,
            (Kind::Assignment, _) if s.created_using.is_none() && s.created_by.is_some() => HoldingKind::DirectActive,
            (Kind::Assignment, _) => HoldingKind::PimActive,
        };
        Some(AzureHolding {
            scope: scope.key().to_string(),
            holding: Holding {
                schedule_id: s.id,
                principal_id: s.principal_id,
                role_id: s.role_definition_id,
                kind,
                created: s.created,
            },
            principal_type: match s.principal_kind {
                ObjectKind::User => "User",
                ObjectKind::Group => "Group",
                ObjectKind::ServicePrincipal => "ServicePrincipal",
            }
            .to_string(),
            end: s.end,
            created_by: s.created_by,
        })
    }
}

impl AzureRoleFacts {
    /// An Azure role definition as the alerts see it (assignable scopes as scope keys; one
    /// that does not parse is left out, it cannot be a scan's scope).
    pub fn of(r: &RoleDefinition) -> AzureRoleFacts {
        AzureRoleFacts {
            id: r.id,
            role_name: r.display_name.clone(),
            is_custom: !r.is_built_in,
            assignable_scopes: r
                .azure
                .assignable_scopes
                .iter()
                .filter_map(|s| ArmScope::parse(s).ok())
                .filter(|s| !s.is_root())
                .map(|s| s.key().to_string())
                .collect(),
            permissions: PermissionSet::of(&r.role_permissions),
        }
    }
}

/// Everything the Azure evaluation reads.
#[derive(Debug, Clone, Default)]
pub struct AzureFacts {
    pub roles: Vec<AzureRoleFacts>,
    pub principals: Vec<PrincipalFacts>,
    pub holdings: Vec<AzureHolding>,
}

impl AzureFacts {
    /// The scopes worth scanning: those with a live schedule or a custom role assignable there.
    pub fn scopes(&self) -> BTreeSet<String> {
        let mut out: BTreeSet<String> = self.holdings.iter().map(|h| h.scope.clone()).collect();
        out.extend(self.roles.iter().filter(|r| r.is_custom).flat_map(|r| r.assignable_scopes.iter().cloned()));
        out
    }
}

/// Why a custom role is reported as a duplicate (the incident's `reason`).
pub const DUPLICATE_REASON: &str = "The role has the same permissions as another role.";

fn principal_incident(h: &AzureHolding, principals: &HashMap<ObjectId, &PrincipalFacts>) -> Incident {
    let p = principals.get(&h.holding.principal_id);
    Incident {
        id: h.holding.principal_id.to_string(),
        assignee_id: Some(h.holding.principal_id),
        assignee_display_name: p.map(|p| p.display_name.clone()),
        assignee_user_principal_name: p.and_then(|p| p.user_principal_name.clone()),
        assignee_type: Some(h.principal_type.clone()),
        ..Incident::default()
    }
}

/// The incidents of `kind` at the scope whose key is `scope` (lower case), under `config`.
/// Sorted by id, so the same facts always give the same list.
pub fn evaluate_azure(
    kind: AzureAlertKind,
    scope: &str,
    facts: &AzureFacts,
    config: &AzureAlertConfiguration,
    now: Instant,
) -> Vec<Incident> {
    if !config.is_enabled {
        return Vec::new();
    }
    let principals: HashMap<ObjectId, &PrincipalFacts> = facts.principals.iter().map(|p| (p.id, p)).collect();
    let roles: HashMap<ObjectId, &AzureRoleFacts> = facts.roles.iter().map(|r| (r.id, r)).collect();
    let here: Vec<&AzureHolding> = facts
        .holdings
        .iter()
        .filter(|h| h.scope == scope && h.holding.created <= now && h.end.is_none_or(|e| e > now))
        .collect();
    let owners = || -> BTreeMap<ObjectId, &AzureHolding> {
        here.iter().filter(|h| h.holding.role_id == OWNER).map(|h| (h.holding.principal_id, *h)).collect()
    };
    // `count` of `of` meets both thresholds.
    let meets = |t: Option<OwnerThresholds>, count: usize, of: usize| {
        t.is_some_and(|t| {
            count as u64 >= u64::from(t.count) && of > 0 && count as u64 * 100 >= u64::from(t.percentage) * of as u64
        })
    };
    let mut out: Vec<Incident> = match kind {
        AzureAlertKind::TooManyOwners => {
            // Principals, not schedules: an owner both eligible and active counts once.
            let owners = owners();
            let members: BTreeSet<ObjectId> = here.iter().map(|h| h.holding.principal_id).collect();
            if meets(config.thresholds, owners.len(), members.len()) {
                owners.values().map(|h| principal_incident(h, &principals)).collect()
            } else {
                Vec::new()
            }
        }
        AzureAlertKind::TooManyPermanentOwners => {
            let owners = owners();
            // Permanent: an active assignment that never ends (not an activation, not an eligibility).
            let permanent: BTreeMap<ObjectId, &AzureHolding> = here
                .iter()
                .filter(|h| h.holding.role_id == OWNER && h.end.is_none())
                .filter(|h| matches!(h.holding.kind, HoldingKind::DirectActive | HoldingKind::PimActive))
                .map(|h| (h.holding.principal_id, *h))
                .collect();
            if meets(config.thresholds, permanent.len(), owners.len()) {
                permanent.values().map(|h| principal_incident(h, &principals)).collect()
            } else {
                Vec::new()
            }
        }
        AzureAlertKind::RolesAssignedOutsidePim => here
            .iter()
            .filter(|h| {
                h.holding.kind == HoldingKind::DirectActive && PRIVILEGED_AZURE_ROLES.contains(&h.holding.role_id)
            })
            .map(|h| {
                let role = roles.get(&h.holding.role_id);
                Incident {
                    id: h.holding.schedule_id.to_string(),
                    role_definition_id: Some(h.holding.role_id),
                    role_display_name: role.map(|r| r.role_name.clone()),
                    role_template_id: Some(h.holding.role_id.to_string()),
                    assignment_created: Some(h.holding.created),
                    requestor_id: h.created_by,
                    ..principal_incident(h, &principals)
                }
            })
            .collect(),
        AzureAlertKind::DuplicateRoleCreated => {
            let mut by_permissions: HashMap<&PermissionSet, Vec<&AzureRoleFacts>> = HashMap::new();
            for r in &facts.roles {
                by_permissions.entry(&r.permissions).or_default().push(r);
            }
            facts
                .roles
                .iter()
                .filter(|r| r.is_custom && r.assignable_scopes.iter().any(|s| s == scope))
                .filter_map(|r| {
                    let mut others: Vec<&str> = by_permissions[&r.permissions]
                        .iter()
                        .filter(|o| o.id != r.id)
                        .map(|o| o.role_name.as_str())
                        .collect();
                    if others.is_empty() {
                        return None;
                    }
                    others.sort_unstable();
                    Some(Incident {
                        id: r.id.to_string(),
                        role_definition_id: Some(r.id),
                        role_display_name: Some(r.role_name.clone()),
                        detail: Some(others.join(", ")),
                        ..Incident::default()
                    })
                })
                .collect()
        }
    };
    out.sort();
    out.dedup_by(|a, b| a.id == b.id);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::reconcile;
    use time::macros::datetime;
    use time::Duration;

    const T0: Instant = datetime!(2026-01-01 00:00 UTC);
    const SUB: &str = "/subscriptions/00000000-0000-0000-0000-000000000001";
    const READER: ObjectId = uuid!("acdd72a7-3385-48ef-bd42-f606fba81ae7");

    fn hold(n: u128, role: ObjectId, kind: HoldingKind, end: Option<Instant>) -> AzureHolding {
        AzureHolding {
            scope: SUB.to_string(),
            holding: Holding {
                schedule_id: ObjectId::from_u128(5000 + n + role.as_u128() % 1000),
                principal_id: ObjectId::from_u128(n),
                role_id: role,
                kind,
                created: T0,
            },
            principal_type: "User".into(),
            end,
            created_by: Some(ObjectId::from_u128(99)),
        }
    }

    fn facts(holdings: Vec<AzureHolding>) -> AzureFacts {
        AzureFacts { holdings, ..Default::default() }
    }

    fn cfg(kind: AzureAlertKind) -> AzureAlertConfiguration {
        AzureAlertConfiguration::default_for(kind)
    }

    #[test]
    fn too_many_owners_needs_count_and_percentage_at_the_scope() {
        let kind = AzureAlertKind::TooManyOwners;
        let now = T0 + Duration::hours(1);
        let two = facts((1..=2).map(|n| hold(n, OWNER, HoldingKind::Eligible, None)).collect());
        assert!(evaluate_azure(kind, SUB, &two, &cfg(kind), now).is_empty());
        let mut three = two.clone();
        three.holdings.push(hold(3, OWNER, HoldingKind::PimActive, None));
        assert_eq!(evaluate_azure(kind, SUB, &three, &cfg(kind), now).len(), 3);
        assert!(evaluate_azure(kind, "/subscriptions/other", &three, &cfg(kind), now).is_empty());
        // Three owners among ten members is 30 %: under 40 %.
        let mut diluted = three.clone();
        diluted.holdings.extend((10..17).map(|n| hold(n, READER, HoldingKind::PimActive, None)));
        assert!(evaluate_azure(kind, SUB, &diluted, &cfg(kind), now).is_empty());
        let lower =
            apply_azure(kind, cfg(kind), &AzureConfigurationPatch { percentage: Some(30), ..Default::default() })
                .unwrap();
        assert_eq!(evaluate_azure(kind, SUB, &diluted, &lower, now).len(), 3);
        // An ended schedule does not count.
        let mut ended = three.clone();
        ended.holdings[2].end = Some(T0 + Duration::minutes(30));
        assert!(evaluate_azure(kind, SUB, &ended, &cfg(kind), now).is_empty());
        let off = AzureAlertConfiguration { is_enabled: false, ..cfg(kind) };
        assert!(evaluate_azure(kind, SUB, &three, &off, now).is_empty());
    }

    #[test]
    fn permanent_owners_are_active_assignments_without_end() {
        let kind = AzureAlertKind::TooManyPermanentOwners;
        let two = AzureAlertConfiguration {
            is_enabled: true,
            thresholds: Some(OwnerThresholds { count: 2, percentage: 50 }),
        };
        let f = facts(vec![
            hold(1, OWNER, HoldingKind::PimActive, None),
            hold(2, OWNER, HoldingKind::DirectActive, None),
            hold(3, OWNER, HoldingKind::PimActive, Some(T0 + Duration::days(30))),
            hold(4, OWNER, HoldingKind::Eligible, None),
        ]);
        let found = evaluate_azure(kind, SUB, &f, &two, T0);
        assert_eq!(
            found.iter().map(|i| i.assignee_id.unwrap()).collect::<Vec<_>>(),
            vec![ObjectId::from_u128(1), ObjectId::from_u128(2)]
        );
        assert_eq!(found[0].assignee_type.as_deref(), Some("User"));
        // Two of five owners is 40 %: under 50 %.
        let mut more = f.clone();
        more.holdings.push(hold(5, OWNER, HoldingKind::Eligible, None));
        assert!(evaluate_azure(kind, SUB, &more, &two, T0).is_empty());
    }

    #[test]
    fn outside_pim_is_a_direct_assignment_to_a_privileged_role() {
        let kind = AzureAlertKind::RolesAssignedOutsidePim;
        let f = facts(vec![
            hold(1, OWNER, HoldingKind::DirectActive, None),
            hold(2, OWNER, HoldingKind::PimActive, None),
            hold(3, READER, HoldingKind::DirectActive, None),
        ]);
        let found = evaluate_azure(kind, SUB, &f, &cfg(kind), T0);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].assignee_id, Some(ObjectId::from_u128(1)));
        assert_eq!(found[0].requestor_id, Some(ObjectId::from_u128(99)));
        assert_eq!(found[0].assignment_created, Some(T0));
    }

    #[test]
    fn duplicate_roles_share_permissions_whatever_their_case_and_order() {
        let kind = AzureAlertKind::DuplicateRoleCreated;
        let perm = |actions: &[&str]| {
            PermissionSet::of(&[crate::roles::RolePermission {
                allowed_resource_actions: actions.iter().map(|s| s.to_string()).collect(),
                excluded_resource_actions: vec![],
                allowed_data_actions: vec![],
                excluded_data_actions: vec![],
                condition: None,
                condition_version: None,
            }])
        };
        let role = |n: u128, name: &str, custom: bool, actions: &[&str]| AzureRoleFacts {
            id: ObjectId::from_u128(n),
            role_name: name.into(),
            is_custom: custom,
            assignable_scopes: if custom { vec![SUB.to_string()] } else { vec!["/".into()] },
            permissions: perm(actions),
        };
        let mut f = AzureFacts {
            roles: vec![
                role(1, "Reader", false, &["*/read"]),
                role(2, "My reader", true, &["*/READ"]),
                role(3, "Unique", true, &["Microsoft.Compute/*"]),
            ],
            ..Default::default()
        };
        let found = evaluate_azure(kind, SUB, &f, &cfg(kind), T0);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].role_display_name.as_deref(), Some("My reader"));
        assert_eq!(found[0].detail.as_deref(), Some("Reader"));
        assert!(evaluate_azure(kind, "/subscriptions/other", &f, &cfg(kind), T0).is_empty());
        assert_eq!(f.scopes().into_iter().collect::<Vec<_>>(), vec![SUB.to_string()]);
        f.roles[1].permissions = perm(&["Microsoft.Storage/*"]);
        assert!(evaluate_azure(kind, SUB, &f, &cfg(kind), T0).is_empty());
    }

    #[test]
    fn configuration_patches_are_validated_per_kind() {
        let k = AzureAlertKind::TooManyOwners;
        let p = |count, percentage| AzureConfigurationPatch { is_enabled: None, count, percentage };
        assert_eq!(apply_azure(k, cfg(k), &p(Some(5), None)).unwrap().thresholds.unwrap().count, 5);
        assert!(apply_azure(k, cfg(k), &p(Some(1), None)).is_err());
        assert!(apply_azure(k, cfg(k), &p(None, Some(101))).is_err());
        let d = AzureAlertKind::DuplicateRoleCreated;
        assert!(apply_azure(d, cfg(d), &p(Some(5), None)).is_err());
        let off = AzureConfigurationPatch { is_enabled: Some(false), ..Default::default() };
        assert!(!apply_azure(d, cfg(d), &off).unwrap().is_enabled);
    }

    #[test]
    fn names_round_trip_and_dismissal_reuses_reconcile() {
        for k in AzureAlertKind::ALL {
            assert_eq!(AzureAlertKind::from_name(&k.name().to_lowercase()), Some(k));
        }
        assert_eq!(AzureAlertKind::from_name("nope"), None);
        let kind = AzureAlertKind::RolesAssignedOutsidePim;
        let f = facts(vec![hold(1, OWNER, HoldingKind::DirectActive, None)]);
        let first = reconcile(&[], evaluate_azure(kind, SUB, &f, &cfg(kind), T0));
        assert!(first.is_active);
    }
}
