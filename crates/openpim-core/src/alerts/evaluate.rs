//! Evaluation: the facts the server gathers about privileged roles at the tenant scope in,
//! each alert's incidents out. Pure; `now` is an argument.

use super::{AlertConfiguration, AlertKind, Thresholds};
use crate::{Instant, ObjectId};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A role as the alerts see it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleFacts {
    pub id: ObjectId,
    pub template_id: String,
    pub display_name: String,
    pub is_privileged: bool,
    /// The role's policy asks for multi-factor authentication (or an authentication context,
    /// which the tenant's Conditional Access binds to a strong method) on activation.
    pub requires_mfa_on_activation: bool,
}

/// A principal holding a role.
#[derive(Debug, Clone, PartialEq)]
pub struct PrincipalFacts {
    pub id: ObjectId,
    pub display_name: String,
    /// Users only.
    pub user_principal_name: Option<String>,
    pub is_user: bool,
    pub account_enabled: bool,
    /// The last time the user was seen signed in (a token's use), if ever.
    pub last_sign_in: Option<Instant>,
}

/// How a principal holds a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldingKind {
    /// An active assignment made directly (`POST roleAssignments`), not through a PIM request.
    DirectActive,
    /// An active assignment made through a PIM schedule request (`adminAssign`), or the
    /// bootstrap's first administrator.
    PimActive,
    /// An activation of an eligibility.
    Activated,
    /// An eligibility.
    Eligible,
}

/// One live schedule at the tenant scope `/` (in effect now).
#[derive(Debug, Clone, PartialEq)]
pub struct Holding {
    /// The assignment or eligibility schedule's id: the incident id where one schedule is the cause.
    pub schedule_id: ObjectId,
    pub principal_id: ObjectId,
    pub role_id: ObjectId,
    pub kind: HoldingKind,
    pub created: Instant,
}

/// Everything evaluation reads.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub roles: Vec<RoleFacts>,
    pub principals: Vec<PrincipalFacts>,
    pub holdings: Vec<Holding>,
    /// The last activation of a role by a principal (any time, even if ended).
    pub last_activations: HashMap<(ObjectId, ObjectId), Instant>,
}

/// One incident: Graph's derived incident types share these properties; each kind renders the
/// ones its type has.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Incident {
    pub id: String,
    pub assignee_id: Option<ObjectId>,
    pub assignee_display_name: Option<String>,
    pub assignee_user_principal_name: Option<String>,
    pub role_definition_id: Option<ObjectId>,
    pub role_display_name: Option<String>,
    pub role_template_id: Option<String>,
    pub assignment_created: Option<Instant>,
    pub last_sign_in: Option<Instant>,
    pub last_activation: Option<Instant>,
    /// Azure alerts: ARM's `assigneeType` (`User`, `Group`, `ServicePrincipal`).
    pub assignee_type: Option<String>,
    /// Azure alerts: who made an assignment outside PIM (`requestorId`).
    pub requestor_id: Option<ObjectId>,
    /// Azure alerts: the other roles a duplicate role duplicates (`duplicateRoles`).
    pub detail: Option<String>,
}

impl Incident {
    fn for_role(role: &RoleFacts) -> Self {
        Incident {
            id: role.id.to_string(),
            assignee_id: None,
            assignee_display_name: None,
            assignee_user_principal_name: None,
            role_definition_id: Some(role.id),
            role_display_name: Some(role.display_name.clone()),
            role_template_id: Some(role.template_id.clone()),
            ..Incident::default()
        }
    }

    fn for_holding(h: &Holding, p: Option<&PrincipalFacts>, role: &RoleFacts) -> Self {
        Incident {
            id: h.schedule_id.to_string(),
            assignee_id: Some(h.principal_id),
            assignee_display_name: p.map(|p| p.display_name.clone()),
            assignee_user_principal_name: p.and_then(|p| p.user_principal_name.clone()),
            ..Incident::for_role(role)
        }
    }
}

/// The incidents of alert `kind` under `config` at `now` (none when the alert is disabled).
/// Sorted by id, so the same facts always give the same list.
pub fn evaluate(kind: AlertKind, facts: &Facts, config: &AlertConfiguration, now: Instant) -> Vec<Incident> {
    if !config.is_enabled {
        return Vec::new();
    }
    let roles: HashMap<ObjectId, &RoleFacts> = facts.roles.iter().map(|r| (r.id, r)).collect();
    let principals: HashMap<ObjectId, &PrincipalFacts> = facts.principals.iter().map(|p| (p.id, p)).collect();
    let privileged = |h: &&Holding| roles.get(&h.role_id).is_some_and(|r| r.is_privileged);
    let mut out: Vec<Incident> = match (kind, config.thresholds) {
        (
            AlertKind::TooManyGlobalAdmins,
            Thresholds::TooManyGlobalAdmins { global_admin_count, percentage_of_global_admins },
        ) => {
            // Principals, not schedules: an administrator who is both eligible and active counts once.
            let holders: BTreeSet<ObjectId> = facts.holdings.iter().map(|h| h.principal_id).collect();
            let admins: BTreeMap<ObjectId, &Holding> = facts
                .holdings
                .iter()
                .filter(|h| h.role_id == crate::catalog::GLOBAL_ADMINISTRATOR)
                .map(|h| (h.principal_id, h))
                .collect();
            let count = admins.len() as u64;
            let percentage_met =
                !holders.is_empty() && count * 100 >= u64::from(percentage_of_global_admins) * holders.len() as u64;
            if count >= u64::from(global_admin_count) && percentage_met {
                admins
                    .keys()
                    .map(|id| {
                        let p = principals.get(id);
                        Incident {
                            id: id.to_string(),
                            assignee_id: Some(*id),
                            assignee_display_name: p.map(|p| p.display_name.clone()),
                            assignee_user_principal_name: p.and_then(|p| p.user_principal_name.clone()),
                            ..Incident::default()
                        }
                    })
                    .collect()
            } else {
                Vec::new()
            }
        }
        (AlertKind::RolesAssignedOutsidePim, _) => facts
            .holdings
            .iter()
            .filter(privileged)
            .filter(|h| h.kind == HoldingKind::DirectActive)
            .map(|h| Incident {
                assignment_created: Some(h.created),
                ..Incident::for_holding(h, principals.get(&h.principal_id).copied(), roles[&h.role_id])
            })
            .collect(),
        (AlertKind::NoMfaOnRoleActivation, _) => facts
            .roles
            .iter()
            .filter(|r| r.is_privileged && !r.requires_mfa_on_activation)
            .map(Incident::for_role)
            .collect(),
        (AlertKind::RedundantAssignment, Thresholds::Duration(window)) => {
            let cutoff = now - window;
            facts
                .holdings
                .iter()
                .filter(privileged)
                // A new eligibility has had no chance to be used yet.
                .filter(|h| h.kind == HoldingKind::Eligible && h.created <= cutoff)
                .filter_map(|h| {
                    let last = facts.last_activations.get(&(h.principal_id, h.role_id)).copied();
                    last.is_none_or(|t| t <= cutoff).then(|| Incident {
                        last_activation: last,
                        ..Incident::for_holding(h, principals.get(&h.principal_id).copied(), roles[&h.role_id])
                    })
                })
                .collect()
        }
        (AlertKind::StaleSignIn, Thresholds::Duration(window)) => {
            let cutoff = now - window;
            facts
                .holdings
                .iter()
                .filter(privileged)
                // An activation is the eligibility's use, which is reported through the eligibility.
                .filter(|h| h.kind != HoldingKind::Activated && h.created <= cutoff)
                .filter_map(|h| {
                    let p = principals.get(&h.principal_id)?;
                    // Groups and service principals do not sign in; a disabled account cannot.
                    if !p.is_user || !p.account_enabled || p.last_sign_in.is_some_and(|t| t > cutoff) {
                        return None;
                    }
                    Some(Incident {
                        assignment_created: Some(h.created),
                        last_sign_in: p.last_sign_in,
                        ..Incident::for_holding(h, Some(p), roles[&h.role_id])
                    })
                })
                .collect()
        }
        // A configuration whose thresholds do not fit its kind (cannot be built through `apply`).
        _ => Vec::new(),
    };
    out.sort();
    out.dedup_by(|a, b| a.id == b.id);
    out
}

/// An alert's state after a scan.
#[derive(Debug, Clone, PartialEq)]
pub struct Reconciled {
    /// The incidents, each with whether it was dismissed.
    pub incidents: Vec<(Incident, bool)>,
    /// Graph's `isActive`: some incident was not dismissed.
    pub is_active: bool,
    /// The incidents differ from the previous scan's (Graph's `lastModifiedDateTime` moves).
    pub changed: bool,
}

/// Entra's dismissal semantics: dismissing an alert hides its current incidents; the alert is
/// active again when an incident that was not there at the dismissal appears (incidents that
/// disappear and come back are new). `previous` is the last scan's incidents with their
/// dismissed flags.
pub fn reconcile(previous: &[(Incident, bool)], incidents: Vec<Incident>) -> Reconciled {
    let dismissed: HashMap<&str, bool> = previous.iter().map(|(i, d)| (i.id.as_str(), *d)).collect();
    let incidents: Vec<(Incident, bool)> = incidents
        .into_iter()
        .map(|i| {
            let d = dismissed.get(i.id.as_str()).copied().unwrap_or(false);
            (i, d)
        })
        .collect();
    let before: BTreeSet<&Incident> = previous.iter().map(|(i, _)| i).collect();
    let after: BTreeSet<&Incident> = incidents.iter().map(|(i, _)| i).collect();
    let changed = before != after;
    Reconciled { is_active: incidents.iter().any(|(_, d)| !d), changed, incidents }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::{apply, ConfigurationPatch};
    use crate::catalog::{GLOBAL_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR};
    use time::macros::datetime;
    use time::Duration;

    const READER: ObjectId = uuid::uuid!("00000000-0000-0000-0000-0000000000aa");

    fn role(id: ObjectId, privileged: bool, mfa: bool) -> RoleFacts {
        RoleFacts {
            id,
            template_id: id.to_string(),
            display_name: format!("role {id}"),
            is_privileged: privileged,
            requires_mfa_on_activation: mfa,
        }
    }

    fn user(n: u128, last_sign_in: Option<Instant>) -> PrincipalFacts {
        PrincipalFacts {
            id: ObjectId::from_u128(n),
            display_name: format!("user {n}"),
            user_principal_name: Some(format!("u{n}@x")),
            is_user: true,
            account_enabled: true,
            last_sign_in,
        }
    }

    fn hold(n: u128, role: ObjectId, kind: HoldingKind, created: Instant) -> Holding {
        Holding {
            schedule_id: ObjectId::from_u128(1000 + n + role.as_u128() % 100),
            principal_id: ObjectId::from_u128(n),
            role_id: role,
            kind,
            created,
        }
    }

    fn facts(holdings: Vec<Holding>, principals: Vec<PrincipalFacts>) -> Facts {
        Facts {
            roles: vec![
                role(GLOBAL_ADMINISTRATOR, true, true),
                role(PRIVILEGED_ROLE_ADMINISTRATOR, true, true),
                role(READER, false, false),
            ],
            principals,
            holdings,
            last_activations: HashMap::new(),
        }
    }

    const T0: Instant = datetime!(2026-01-01 00:00 UTC);

    fn cfg(kind: AlertKind) -> AlertConfiguration {
        AlertConfiguration::default_for(kind)
    }

    #[test]
    fn too_many_global_admins_needs_count_and_percentage() {
        let ga = |n| hold(n, GLOBAL_ADMINISTRATOR, HoldingKind::PimActive, T0);
        let kind = AlertKind::TooManyGlobalAdmins;
        let four = facts((1..=4).map(ga).collect(), vec![]);
        assert!(evaluate(kind, &four, &cfg(kind), T0).is_empty());
        let five = facts((1..=5).map(ga).collect(), vec![user(1, None)]);
        let found = evaluate(kind, &five, &cfg(kind), T0);
        assert_eq!(found.len(), 5);
        assert_eq!(found[0].assignee_display_name.as_deref(), Some("user 1"));
        // Five of 100 holders is 5 %: under the 10 % threshold.
        let mut many = five.clone();
        many.holdings.extend((10..105).map(|n| hold(n, READER, HoldingKind::PimActive, T0)));
        assert!(evaluate(kind, &many, &cfg(kind), T0).is_empty());
        let lower = apply(
            kind,
            cfg(kind),
            &ConfigurationPatch { percentage_of_global_admins_out_of_roles_threshold: Some(5), ..Default::default() },
        )
        .unwrap();
        assert_eq!(evaluate(kind, &many, &lower, T0).len(), 5);
        let off = AlertConfiguration { is_enabled: false, ..cfg(kind) };
        assert!(evaluate(kind, &five, &off, T0).is_empty());
    }

    #[test]
    fn outside_pim_is_a_direct_active_assignment_to_a_privileged_role() {
        let kind = AlertKind::RolesAssignedOutsidePim;
        let f = facts(
            vec![
                hold(1, PRIVILEGED_ROLE_ADMINISTRATOR, HoldingKind::DirectActive, T0),
                hold(2, PRIVILEGED_ROLE_ADMINISTRATOR, HoldingKind::PimActive, T0),
                hold(3, READER, HoldingKind::DirectActive, T0),
            ],
            vec![],
        );
        let found = evaluate(kind, &f, &cfg(kind), T0);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].assignee_id, Some(ObjectId::from_u128(1)));
        assert_eq!(found[0].assignment_created, Some(T0));
    }

    #[test]
    fn no_mfa_lists_privileged_roles_without_mfa() {
        let kind = AlertKind::NoMfaOnRoleActivation;
        let mut f = facts(vec![], vec![]);
        assert!(evaluate(kind, &f, &cfg(kind), T0).is_empty());
        f.roles[1].requires_mfa_on_activation = false;
        let found = evaluate(kind, &f, &cfg(kind), T0);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].role_definition_id, Some(PRIVILEGED_ROLE_ADMINISTRATOR));
    }

    #[test]
    fn redundant_assignment_counts_days_without_activation() {
        let kind = AlertKind::RedundantAssignment;
        let mut f = facts(vec![hold(1, GLOBAL_ADMINISTRATOR, HoldingKind::Eligible, T0)], vec![user(1, None)]);
        assert!(evaluate(kind, &f, &cfg(kind), T0 + Duration::days(29)).is_empty());
        let found = evaluate(kind, &f, &cfg(kind), T0 + Duration::days(31));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].last_activation, None);
        f.last_activations.insert((ObjectId::from_u128(1), GLOBAL_ADMINISTRATOR), T0 + Duration::days(30));
        assert!(evaluate(kind, &f, &cfg(kind), T0 + Duration::days(31)).is_empty());
        let found = evaluate(kind, &f, &cfg(kind), T0 + Duration::days(61));
        assert_eq!(found[0].last_activation, Some(T0 + Duration::days(30)));
    }

    #[test]
    fn stale_sign_in_skips_recent_users_groups_and_disabled_accounts() {
        let kind = AlertKind::StaleSignIn;
        let now = T0 + Duration::days(40);
        let mut group = user(3, None);
        group.is_user = false;
        let mut disabled = user(4, None);
        disabled.account_enabled = false;
        let f = facts(
            vec![
                hold(1, GLOBAL_ADMINISTRATOR, HoldingKind::PimActive, T0),
                hold(2, GLOBAL_ADMINISTRATOR, HoldingKind::PimActive, T0),
                hold(3, GLOBAL_ADMINISTRATOR, HoldingKind::PimActive, T0),
                hold(4, GLOBAL_ADMINISTRATOR, HoldingKind::PimActive, T0),
                hold(5, GLOBAL_ADMINISTRATOR, HoldingKind::PimActive, now),
            ],
            vec![user(1, Some(T0)), user(2, Some(now - Duration::days(1))), group, disabled, user(5, None)],
        );
        let found = evaluate(kind, &f, &cfg(kind), now);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].assignee_id, Some(ObjectId::from_u128(1)));
        assert_eq!(found[0].last_sign_in, Some(T0));
    }

    #[test]
    fn dismissal_holds_until_a_new_incident_appears() {
        let a = Incident::for_role(&role(GLOBAL_ADMINISTRATOR, true, false));
        let b = Incident::for_role(&role(PRIVILEGED_ROLE_ADMINISTRATOR, true, false));
        let first = reconcile(&[], vec![a.clone()]);
        assert!(first.is_active && first.changed);
        let dismissed: Vec<_> = first.incidents.iter().map(|(i, _)| (i.clone(), true)).collect();
        let again = reconcile(&dismissed, vec![a.clone()]);
        assert!(!again.is_active && !again.changed);
        let grown = reconcile(&again.incidents, vec![a.clone(), b]);
        assert!(grown.is_active && grown.changed);
        let cleared = reconcile(&again.incidents, vec![]);
        assert!(!cleared.is_active && cleared.changed);
        let back = reconcile(&cleared.incidents, vec![a]);
        assert!(back.is_active);
    }
}
