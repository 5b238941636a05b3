//! Role management policies ("role settings"): what a schedule request must satisfy.
//!
//! Each role has one policy whose rules are selected by who asks (an admin or the end user) and
//! what is asked for (an eligibility or an active assignment), as in Entra. The defaults are
//! Entra's defaults for a fresh directory role.

use crate::error::DomainError;
use time::Duration;

pub mod rules;

/// `Admin` for admin* actions, `EndUser` for self* actions.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, strum::Display, strum::EnumString, strum::AsRefStr, strum::IntoStaticStr,
)]
#[strum(ascii_case_insensitive)]
pub enum Caller {
    Admin,
    EndUser,
}

/// `Eligibility` for eligibility requests, `Assignment` for assignment requests.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, strum::Display, strum::EnumString, strum::AsRefStr, strum::IntoStaticStr,
)]
#[strum(ascii_case_insensitive)]
pub enum Level {
    Eligibility,
    Assignment,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpirationRule {
    pub is_expiration_required: bool,
    pub maximum_duration: Duration,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnablementRule {
    pub multi_factor_authentication: bool,
    pub justification: bool,
    pub ticketing: bool,
}

/// The rules that apply to one (caller, level) pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSet {
    pub expiration: ExpirationRule,
    pub enablement: EnablementRule,
    /// Authentication context claim the session must carry (`acrs`), when enabled.
    pub authentication_context: Option<String>,
    pub approval_required: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePolicy {
    pub admin_eligibility: RuleSet,
    pub admin_assignment: RuleSet,
    pub end_user_assignment: RuleSet,
}

impl RolePolicy {
    /// Entra's defaults: eligibility up to a year and may be permanent; active assignments up to
    /// 180 days, may be permanent, need a justification; activation up to 8 hours, always
    /// time-bound, needs MFA and a justification; no approval.
    pub fn entra_default() -> Self {
        let rules = |required, max, enablement| RuleSet {
            expiration: ExpirationRule { is_expiration_required: required, maximum_duration: max },
            enablement,
            authentication_context: None,
            approval_required: false,
        };
        Self {
            admin_eligibility: rules(false, Duration::days(365), EnablementRule::default()),
            admin_assignment: rules(
                false,
                Duration::days(180),
                EnablementRule { justification: true, ..Default::default() },
            ),
            end_user_assignment: rules(
                true,
                Duration::hours(8),
                EnablementRule { multi_factor_authentication: true, justification: true, ticketing: false },
            ),
        }
    }

    /// The rules for a request, or `None` where Entra has none (end-user eligibility requests).
    pub fn rules_for(&self, caller: Caller, level: Level) -> Option<&RuleSet> {
        match (caller, level) {
            (Caller::Admin, Level::Eligibility) => Some(&self.admin_eligibility),
            (Caller::Admin, Level::Assignment) => Some(&self.admin_assignment),
            (Caller::EndUser, Level::Assignment) => Some(&self.end_user_assignment),
            (Caller::EndUser, Level::Eligibility) => None,
        }
    }
}

/// What the policy is checked against.
#[derive(Debug, Clone)]
pub struct PolicyInput<'a> {
    /// `None` for a permanent (no expiration) request.
    pub duration: Option<Duration>,
    pub justification: Option<&'a str>,
    pub ticket_number: Option<&'a str>,
    pub ticket_system: Option<&'a str>,
    pub mfa: bool,
    pub acrs: &'a [String],
}

fn present(s: Option<&str>) -> bool {
    s.is_some_and(|v| !v.trim().is_empty())
}

impl RuleSet {
    /// Checks a request against the rules; every failed rule is named, as Entra does.
    pub fn check(&self, input: &PolicyInput<'_>) -> Result<(), DomainError> {
        if let Some(claim) = &self.authentication_context {
            if !input.acrs.iter().any(|a| a == claim) {
                return Err(DomainError::invalid(
                    "RoleAssignmentRequestAcrsValidationFailed",
                    format!("The session must satisfy authentication context '{claim}' (token claim acrs)."),
                ));
            }
        }
        let mut failed = Vec::new();
        // maximumDuration bounds a schedule only when expiration is required. When it is not
        // ("allow permanent"), any end is accepted, as a permanent schedule would be: Graph's own
        // example creates a 2-year eligibility under the default rules (not required, P365D) and
        // shows it Provisioned.
        match input.duration {
            None if self.expiration.is_expiration_required => failed.push("ExpirationRule"),
            Some(d) if self.expiration.is_expiration_required && d > self.expiration.maximum_duration => {
                failed.push("ExpirationRule")
            }
            _ => {}
        }
        if self.enablement.justification && !present(input.justification) {
            failed.push("JustificationRule");
        }
        if self.enablement.ticketing && !(present(input.ticket_number) && present(input.ticket_system)) {
            failed.push("TicketingRule");
        }
        if self.enablement.multi_factor_authentication && !input.mfa {
            failed.push("MfaRule");
        }
        if failed.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = failed.iter().map(|f| format!("\"{f}\"")).collect();
        let mut message = format!("The following policy rules failed: [{}]", names.join(","));
        if failed.contains(&"ExpirationRule") {
            message.push_str(&format!(
                ". Expiration is {}required and the maximum duration is {}",
                if self.expiration.is_expiration_required { "" } else { "not " },
                crate::duration::format(self.expiration.maximum_duration)
            ));
        }
        Err(DomainError::invalid("RoleAssignmentRequestPolicyValidationFailed", message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(duration: Option<Duration>) -> PolicyInput<'static> {
        PolicyInput {
            duration,
            justification: Some("because"),
            ticket_number: None,
            ticket_system: None,
            mfa: true,
            acrs: &[],
        }
    }

    #[test]
    fn default_activation_rules() {
        let p = RolePolicy::entra_default();
        let r = p.rules_for(Caller::EndUser, Level::Assignment).unwrap();
        r.check(&input(Some(Duration::hours(8)))).unwrap();
        let e = r.check(&input(Some(Duration::hours(9)))).unwrap_err();
        assert_eq!(e.code, "RoleAssignmentRequestPolicyValidationFailed");
        assert!(e.message.contains("\"ExpirationRule\""), "{e}");
        let e = r.check(&input(None)).unwrap_err();
        assert!(e.message.contains("ExpirationRule"));
        let e = r
            .check(&PolicyInput { justification: Some("  "), mfa: false, ..input(Some(Duration::hours(1))) })
            .unwrap_err();
        assert!(e.message.contains("[\"JustificationRule\",\"MfaRule\"]"), "{e}");
    }

    #[test]
    fn ticketing_and_auth_context() {
        let mut r = RolePolicy::entra_default().end_user_assignment;
        r.enablement.ticketing = true;
        let e = r.check(&input(Some(Duration::hours(1)))).unwrap_err();
        assert!(e.message.contains("TicketingRule"));
        r.check(&PolicyInput {
            ticket_number: Some("T-1"),
            ticket_system: Some("Jira"),
            ..input(Some(Duration::hours(1)))
        })
        .unwrap();
        r.authentication_context = Some("c1".into());
        let acrs = vec!["c1".to_string()];
        let e = r.check(&input(Some(Duration::hours(1)))).unwrap_err();
        assert_eq!(e.code, "RoleAssignmentRequestAcrsValidationFailed");
        r.check(&PolicyInput {
            acrs: &acrs,
            ticket_number: Some("T-1"),
            ticket_system: Some("Jira"),
            ..input(Some(Duration::hours(1)))
        })
        .unwrap();
    }

    /// Under the defaults (expiration not required), an admin may make a permanent schedule or
    /// one of any length, as Graph's 2-year eligibility example shows; before, anything over
    /// maximumDuration was refused. Once expiration is required, maximumDuration caps the end.
    #[test]
    fn admin_rules_cap_time_bound_schedules_only_when_expiration_is_required() {
        let p = RolePolicy::entra_default();
        let r = p.rules_for(Caller::Admin, Level::Eligibility).unwrap();
        r.check(&input(None)).unwrap();
        r.check(&input(Some(Duration::days(731)))).unwrap();
        let mut required = r.clone();
        required.expiration.is_expiration_required = true;
        required.check(&input(Some(Duration::days(365)))).unwrap();
        let e = required.check(&input(Some(Duration::days(366)))).unwrap_err();
        assert!(e.message.contains("ExpirationRule"), "{e}");
        assert!(required.check(&input(None)).is_err());
        assert!(p.rules_for(Caller::EndUser, Level::Eligibility).is_none());
    }
}
