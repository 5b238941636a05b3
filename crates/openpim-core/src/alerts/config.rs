//! Alert configurations (Graph's `unifiedRoleManagementAlertConfiguration` and its derived
//! types): whether an alert is scanned, and its thresholds, with OpenPIM's defaults and the
//! ranges Microsoft documents for the Entra admin center's alert settings.

use super::AlertKind;
use crate::error::{DomainError, DomainResult};
use time::Duration;

/// What an alert is evaluated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertConfiguration {
    /// Graph's `isEnabled`: false stops scanning; the alert shows inactive with no incidents.
    pub is_enabled: bool,
    pub thresholds: Thresholds,
}

/// The thresholds of each kind (the derived configuration types' own properties).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thresholds {
    /// noMfaOnRoleActivation, rolesAssignedOutsidePrivilegedIdentityManagement: none.
    None,
    /// tooManyGlobalAdminsAssignedToTenantAlertConfiguration: the alert needs both.
    TooManyGlobalAdmins {
        /// `globalAdminCountThreshold`: at least this many Global Administrators.
        global_admin_count: u32,
        /// `percentageOfGlobalAdminsOutOfRolesThreshold`: at least this percentage of the
        /// principals holding any role hold Global Administrator.
        percentage_of_global_admins: u32,
    },
    /// redundantAssignment / staleSignIn `duration`: days without an activation / a sign-in.
    Duration(Duration),
}

/// Ranges (Microsoft's alert settings): 2–100 Global Administrators, 0–100 %, 1–365 days for
/// stale sign-ins, 1–100 days for unused eligibilities.
const GLOBAL_ADMIN_COUNT: std::ops::RangeInclusive<i64> = 2..=100;
const PERCENTAGE: std::ops::RangeInclusive<i64> = 0..=100;
const STALE_DAYS: std::ops::RangeInclusive<i64> = 1..=365;
const REDUNDANT_DAYS: std::ops::RangeInclusive<i64> = 1..=100;

impl AlertConfiguration {
    /// OpenPIM's defaults: every alert on; five or more Global Administrators who are at least
    /// 10 % of the role holders; 30 days without activating an eligible role; 30 days without
    /// signing in.
    pub fn default_for(kind: AlertKind) -> Self {
        let thresholds = match kind {
            AlertKind::TooManyGlobalAdmins => {
                Thresholds::TooManyGlobalAdmins { global_admin_count: 5, percentage_of_global_admins: 10 }
            }
            AlertKind::RedundantAssignment | AlertKind::StaleSignIn => Thresholds::Duration(Duration::days(30)),
            AlertKind::NoMfaOnRoleActivation | AlertKind::RolesAssignedOutsidePim => Thresholds::None,
        };
        Self { is_enabled: true, thresholds }
    }

    /// The duration threshold, for the kinds that have one.
    pub fn duration(&self) -> Option<Duration> {
        match self.thresholds {
            Thresholds::Duration(d) => Some(d),
            _ => None,
        }
    }
}

/// A PATCH of a configuration: the properties the body set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigurationPatch {
    pub is_enabled: Option<bool>,
    pub global_admin_count_threshold: Option<i64>,
    pub percentage_of_global_admins_out_of_roles_threshold: Option<i64>,
    pub duration: Option<Duration>,
}

fn invalid(message: String) -> DomainError {
    DomainError::invalid("InvalidAlertConfiguration", message)
}

fn in_range(name: &str, value: i64, range: std::ops::RangeInclusive<i64>) -> DomainResult<u32> {
    if range.contains(&value) {
        Ok(value as u32)
    } else {
        Err(invalid(format!("'{name}' must be between {} and {}; got {value}.", range.start(), range.end())))
    }
}

/// Applies `patch` to `current` for an alert of `kind`: a threshold the kind does not have, or
/// one out of range, is refused and nothing changes.
pub fn apply(
    kind: AlertKind,
    current: AlertConfiguration,
    patch: &ConfigurationPatch,
) -> DomainResult<AlertConfiguration> {
    let mut next = current;
    if let Some(enabled) = patch.is_enabled {
        next.is_enabled = enabled;
    }
    let not_on =
        |name: &str| invalid(format!("'{name}' is not a property of the {} configuration.", kind.configuration_type()));
    match (&mut next.thresholds, kind) {
        (Thresholds::TooManyGlobalAdmins { global_admin_count, percentage_of_global_admins }, _) => {
            if patch.duration.is_some() {
                return Err(not_on("duration"));
            }
            if let Some(n) = patch.global_admin_count_threshold {
                *global_admin_count = in_range("globalAdminCountThreshold", n, GLOBAL_ADMIN_COUNT)?;
            }
            if let Some(p) = patch.percentage_of_global_admins_out_of_roles_threshold {
                *percentage_of_global_admins = in_range("percentageOfGlobalAdminsOutOfRolesThreshold", p, PERCENTAGE)?;
            }
        }
        (thresholds, _) => {
            if patch.global_admin_count_threshold.is_some() {
                return Err(not_on("globalAdminCountThreshold"));
            }
            if patch.percentage_of_global_admins_out_of_roles_threshold.is_some() {
                return Err(not_on("percentageOfGlobalAdminsOutOfRolesThreshold"));
            }
            if let Some(d) = patch.duration {
                let Thresholds::Duration(current) = thresholds else { return Err(not_on("duration")) };
                let range = if kind == AlertKind::StaleSignIn { STALE_DAYS } else { REDUNDANT_DAYS };
                // Whole days, as the admin center sets it; `P1DT1H` would be a surprise.
                if d.whole_seconds() % 86_400 != 0 {
                    return Err(invalid("'duration' must be a whole number of days (e.g. P30D).".into()));
                }
                in_range("duration (days)", d.whole_days(), range)?;
                *current = d;
            }
        }
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_have_the_kinds_thresholds() {
        assert!(AlertKind::ALL.iter().all(|k| AlertConfiguration::default_for(*k).is_enabled));
        assert_eq!(AlertConfiguration::default_for(AlertKind::StaleSignIn).duration(), Some(Duration::days(30)));
        assert_eq!(AlertConfiguration::default_for(AlertKind::NoMfaOnRoleActivation).thresholds, Thresholds::None);
    }

    #[test]
    fn patches_are_validated_per_kind() {
        let ga = AlertConfiguration::default_for(AlertKind::TooManyGlobalAdmins);
        let p = ConfigurationPatch { global_admin_count_threshold: Some(3), ..Default::default() };
        let next = apply(AlertKind::TooManyGlobalAdmins, ga, &p).unwrap();
        assert_eq!(
            next.thresholds,
            Thresholds::TooManyGlobalAdmins { global_admin_count: 3, percentage_of_global_admins: 10 }
        );
        let p = ConfigurationPatch { global_admin_count_threshold: Some(1), ..Default::default() };
        assert!(apply(AlertKind::TooManyGlobalAdmins, ga, &p).is_err());
        let p =
            ConfigurationPatch { percentage_of_global_admins_out_of_roles_threshold: Some(101), ..Default::default() };
        assert!(apply(AlertKind::TooManyGlobalAdmins, ga, &p).is_err());
        let p = ConfigurationPatch { duration: Some(Duration::days(3)), ..Default::default() };
        assert!(apply(AlertKind::TooManyGlobalAdmins, ga, &p).is_err());

        let stale = AlertConfiguration::default_for(AlertKind::StaleSignIn);
        let next = apply(AlertKind::StaleSignIn, stale, &p).unwrap();
        assert_eq!(next.duration(), Some(Duration::days(3)));
        let p = ConfigurationPatch { duration: Some(Duration::days(366)), ..Default::default() };
        assert!(apply(AlertKind::StaleSignIn, stale, &p).is_err());
        let p = ConfigurationPatch { duration: Some(Duration::hours(36)), ..Default::default() };
        assert!(apply(AlertKind::StaleSignIn, stale, &p).is_err());

        let mfa = AlertConfiguration::default_for(AlertKind::NoMfaOnRoleActivation);
        let p = ConfigurationPatch { duration: Some(Duration::days(3)), ..Default::default() };
        assert!(apply(AlertKind::NoMfaOnRoleActivation, mfa, &p).is_err());
        let p = ConfigurationPatch { is_enabled: Some(false), ..Default::default() };
        assert!(!apply(AlertKind::NoMfaOnRoleActivation, mfa, &p).unwrap().is_enabled);
    }
}
