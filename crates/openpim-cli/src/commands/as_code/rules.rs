//! Role-setting rules in the file's terms: converting Graph's rules (ids) to the file's (names)
//! and back, overlaying a partial rule on its default, keeping only what differs from it, and a
//! normal form so two spellings of the same rule (`PT480M` and `PT8H`, approvers in another
//! order) compare equal.

use super::model::{
    Approval, ApprovalMode, ApprovalStage, AuthenticationContext, Enablement, EnablementName, Expiration, Notification,
    NotificationLevel, Rule,
};
use crate::duration;
use openpim_proto::policies as proto;
use uuid::Uuid;

/// The canonical ISO 8601 form of a duration (the text itself when it does not parse).
pub fn canonical_duration(raw: &str) -> String {
    duration::parse(raw).map(duration::to_iso).unwrap_or_else(|_| raw.to_string())
}

fn differs<T: PartialEq + Clone>(value: &Option<T>, base: &Option<T>) -> Option<T> {
    if value != base {
        value.clone()
    } else {
        None
    }
}

impl Rule {
    /// `self` with the fields it leaves out taken from `base` (the default rule, complete).
    pub fn overlay(&self, base: &Rule) -> Rule {
        match (self, base) {
            (Rule::Expiration(r), Rule::Expiration(b)) => Rule::Expiration(Expiration {
                maximum_duration: r.maximum_duration.clone().or_else(|| b.maximum_duration.clone()),
                is_expiration_required: r.is_expiration_required.or(b.is_expiration_required),
            }),
            (Rule::Enablement(r), _) => Rule::Enablement(r.clone()),
            (Rule::Approval(r), Rule::Approval(b)) => Rule::Approval(Approval {
                is_approval_required: r.is_approval_required.or(b.is_approval_required),
                is_approval_required_for_extension: r
                    .is_approval_required_for_extension
                    .or(b.is_approval_required_for_extension),
                is_requestor_justification_required: r
                    .is_requestor_justification_required
                    .or(b.is_requestor_justification_required),
                approval_mode: r.approval_mode.or(b.approval_mode),
                approval_stages: r.approval_stages.clone().or_else(|| b.approval_stages.clone()),
            }),
            (Rule::AuthenticationContext(r), Rule::AuthenticationContext(b)) => {
                Rule::AuthenticationContext(AuthenticationContext {
                    is_enabled: r.is_enabled.or(b.is_enabled),
                    claim_value: r.claim_value.clone().or_else(|| b.claim_value.clone()),
                })
            }
            (Rule::Notification(r), Rule::Notification(b)) => Rule::Notification(Notification {
                notification_level: r.notification_level.or(b.notification_level),
                is_default_recipients_enabled: r.is_default_recipients_enabled.or(b.is_default_recipients_enabled),
                notification_recipients: r
                    .notification_recipients
                    .clone()
                    .or_else(|| b.notification_recipients.clone()),
            }),
            // Types that do not match cannot happen (the file's fields are typed by rule id).
            (r, _) => r.clone(),
        }
    }

    /// Only the fields of `self` (complete) that differ from `base` (complete).
    pub fn only_differences(&self, base: &Rule) -> Rule {
        match (self, base) {
            (Rule::Expiration(r), Rule::Expiration(b)) => Rule::Expiration(Expiration {
                maximum_duration: differs(&r.maximum_duration, &b.maximum_duration),
                is_expiration_required: differs(&r.is_expiration_required, &b.is_expiration_required),
            }),
            (Rule::Approval(r), Rule::Approval(b)) => Rule::Approval(Approval {
                is_approval_required: differs(&r.is_approval_required, &b.is_approval_required),
                is_approval_required_for_extension: differs(
                    &r.is_approval_required_for_extension,
                    &b.is_approval_required_for_extension,
                ),
                is_requestor_justification_required: differs(
                    &r.is_requestor_justification_required,
                    &b.is_requestor_justification_required,
                ),
                approval_mode: differs(&r.approval_mode, &b.approval_mode),
                approval_stages: differs(&r.approval_stages, &b.approval_stages),
            }),
            (Rule::AuthenticationContext(r), Rule::AuthenticationContext(b)) => {
                Rule::AuthenticationContext(AuthenticationContext {
                    is_enabled: differs(&r.is_enabled, &b.is_enabled),
                    claim_value: differs(&r.claim_value, &b.claim_value),
                })
            }
            (Rule::Notification(r), Rule::Notification(b)) => Rule::Notification(Notification {
                notification_level: differs(&r.notification_level, &b.notification_level),
                is_default_recipients_enabled: differs(
                    &r.is_default_recipients_enabled,
                    &b.is_default_recipients_enabled,
                ),
                notification_recipients: differs(&r.notification_recipients, &b.notification_recipients),
            }),
            (r, _) => r.clone(),
        }
    }

    /// The normal form: canonical durations, requirements and approvers sorted, no duplicates.
    pub fn normalized(&self) -> Rule {
        match self {
            Rule::Expiration(r) => Rule::Expiration(Expiration {
                maximum_duration: r.maximum_duration.as_deref().map(canonical_duration),
                is_expiration_required: r.is_expiration_required,
            }),
            Rule::Enablement(r) => {
                let mut enabled_rules = r.enabled_rules.clone();
                enabled_rules.sort();
                enabled_rules.dedup();
                Rule::Enablement(Enablement { enabled_rules })
            }
            Rule::Approval(r) => Rule::Approval(Approval {
                approval_stages: r.approval_stages.as_ref().map(|stages| {
                    stages
                        .iter()
                        .map(|s| ApprovalStage {
                            primary_approvers: sorted_names(&s.primary_approvers),
                            escalation_approvers: sorted_names(&s.escalation_approvers),
                            ..s.clone()
                        })
                        .collect()
                }),
                ..r.clone()
            }),
            Rule::AuthenticationContext(r) => Rule::AuthenticationContext(r.clone()),
            Rule::Notification(r) => Rule::Notification(Notification {
                notification_recipients: r.notification_recipients.as_ref().map(|list| sorted_names(list)),
                ..r.clone()
            }),
        }
    }

    /// Whether the rule sets nothing (every field left to the default).
    pub fn is_empty(&self) -> bool {
        match self {
            Rule::Expiration(r) => r == &Expiration::default(),
            Rule::Enablement(_) => false,
            Rule::Approval(r) => r == &Approval::default(),
            Rule::AuthenticationContext(r) => r == &AuthenticationContext::default(),
            Rule::Notification(r) => r == &Notification::default(),
        }
    }

    /// Every principal name the rule refers to (approvers).
    pub fn approvers(&self) -> Vec<&str> {
        match self {
            Rule::Approval(a) => a
                .approval_stages
                .iter()
                .flatten()
                .flat_map(|s| s.primary_approvers.iter().chain(&s.escalation_approvers))
                .map(String::as_str)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The same rule with every approver name passed through `f` (to their canonical spelling).
    pub fn map_approvers(&self, f: impl Fn(&str) -> String) -> Rule {
        match self {
            Rule::Approval(a) => Rule::Approval(Approval {
                approval_stages: a.approval_stages.as_ref().map(|stages| {
                    stages
                        .iter()
                        .map(|s| ApprovalStage {
                            primary_approvers: s.primary_approvers.iter().map(|n| f(n)).collect(),
                            escalation_approvers: s.escalation_approvers.iter().map(|n| f(n)).collect(),
                            ..s.clone()
                        })
                        .collect()
                }),
                ..a.clone()
            }),
            other => other.clone(),
        }
    }
}

fn sorted_names(list: &[String]) -> Vec<String> {
    let mut out = list.to_vec();
    out.sort_by_key(|n| n.to_lowercase());
    out.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    out
}

fn enablement_name(raw: &str) -> Option<EnablementName> {
    match raw {
        "MultiFactorAuthentication" => Some(EnablementName::MultiFactorAuthentication),
        "Justification" => Some(EnablementName::Justification),
        "Ticketing" => Some(EnablementName::Ticketing),
        _ => None,
    }
}

fn approval_mode(raw: &str) -> Option<ApprovalMode> {
    match raw {
        "SingleStage" => Some(ApprovalMode::SingleStage),
        "Serial" => Some(ApprovalMode::Serial),
        "Parallel" => Some(ApprovalMode::Parallel),
        "NoApproval" => Some(ApprovalMode::NoApproval),
        _ => None,
    }
}

fn notification_level(raw: &str) -> Option<NotificationLevel> {
    match raw {
        "None" => Some(NotificationLevel::None),
        "Critical" => Some(NotificationLevel::Critical),
        "All" => Some(NotificationLevel::All),
        _ => None,
    }
}

/// A Graph rule in the file's terms (complete, approvers named by `name_of`).
pub fn from_proto(rule: &proto::PolicyRule, name_of: &dyn Fn(Uuid) -> String) -> Rule {
    let approver = |s: &proto::SubjectSet| match s {
        proto::SubjectSet::SingleUser { user_id, .. } => name_of(*user_id),
        proto::SubjectSet::GroupMembers { group_id, .. } => name_of(*group_id),
    };
    match rule {
        proto::PolicyRule::Expiration(r) => Rule::Expiration(Expiration {
            maximum_duration: Some(canonical_duration(&r.maximum_duration)),
            is_expiration_required: Some(r.is_expiration_required),
        }),
        proto::PolicyRule::Enablement(r) => Rule::Enablement(Enablement {
            enabled_rules: r.enabled_rules.iter().filter_map(|n| enablement_name(n)).collect(),
        }),
        proto::PolicyRule::Approval(r) => Rule::Approval(Approval {
            is_approval_required: Some(r.setting.is_approval_required),
            is_approval_required_for_extension: Some(r.setting.is_approval_required_for_extension),
            is_requestor_justification_required: Some(r.setting.is_requestor_justification_required),
            approval_mode: approval_mode(&r.setting.approval_mode),
            approval_stages: Some(
                r.setting
                    .approval_stages
                    .iter()
                    .map(|s| ApprovalStage {
                        approval_stage_time_out_in_days: s.approval_stage_time_out_in_days,
                        is_approver_justification_required: s.is_approver_justification_required,
                        escalation_time_in_minutes: s.escalation_time_in_minutes,
                        is_escalation_enabled: s.is_escalation_enabled,
                        primary_approvers: s.primary_approvers.iter().map(approver).collect(),
                        escalation_approvers: s.escalation_approvers.iter().map(approver).collect(),
                    })
                    .collect(),
            ),
        }),
        proto::PolicyRule::AuthenticationContext(r) => Rule::AuthenticationContext(AuthenticationContext {
            is_enabled: Some(r.is_enabled),
            claim_value: r.claim_value.clone(),
        }),
        proto::PolicyRule::Notification(r) => Rule::Notification(Notification {
            notification_level: notification_level(&r.notification_level),
            is_default_recipients_enabled: Some(r.is_default_recipients_enabled),
            notification_recipients: Some(r.notification_recipients.clone()),
        }),
    }
}

/// An approver for the wire: a user or the members of a group.
pub enum Subject {
    User(Uuid),
    Group(Uuid),
}

/// The PATCH body that makes `current` (the server's rule) what `wanted` (complete) says.
/// `subject` resolves approver names; a name it cannot resolve is returned as the error.
pub fn to_proto(
    current: &proto::PolicyRule,
    wanted: &Rule,
    subject: &dyn Fn(&str) -> Option<Subject>,
) -> Result<proto::PolicyRule, String> {
    let set = |names: &[String]| -> Result<Vec<proto::SubjectSet>, String> {
        names
            .iter()
            .map(|n| match subject(n) {
                Some(Subject::User(user_id)) => {
                    Ok(proto::SubjectSet::SingleUser { is_backup: false, user_id, description: None })
                }
                Some(Subject::Group(group_id)) => {
                    Ok(proto::SubjectSet::GroupMembers { is_backup: false, group_id, description: None })
                }
                None => Err(n.clone()),
            })
            .collect()
    };
    Ok(match (current, wanted) {
        (proto::PolicyRule::Expiration(r), Rule::Expiration(w)) => {
            proto::PolicyRule::Expiration(proto::ExpirationRule {
                is_expiration_required: w.is_expiration_required.unwrap_or(r.is_expiration_required),
                maximum_duration: w.maximum_duration.clone().unwrap_or_else(|| r.maximum_duration.clone()),
                ..r.clone()
            })
        }
        (proto::PolicyRule::Enablement(r), Rule::Enablement(w)) => {
            proto::PolicyRule::Enablement(proto::EnablementRule {
                enabled_rules: w.enabled_rules.iter().map(|e| format!("{e:?}")).collect(),
                ..r.clone()
            })
        }
        (proto::PolicyRule::Approval(r), Rule::Approval(w)) => {
            let s = &r.setting;
            let stages = match &w.approval_stages {
                None => s.approval_stages.clone(),
                Some(stages) => stages
                    .iter()
                    .map(|st| {
                        Ok(proto::ApprovalStage {
                            approval_stage_time_out_in_days: st.approval_stage_time_out_in_days,
                            is_approver_justification_required: st.is_approver_justification_required,
                            escalation_time_in_minutes: st.escalation_time_in_minutes,
                            is_escalation_enabled: st.is_escalation_enabled,
                            primary_approvers: set(&st.primary_approvers)?,
                            escalation_approvers: set(&st.escalation_approvers)?,
                        })
                    })
                    .collect::<Result<_, String>>()?,
            };
            proto::PolicyRule::Approval(proto::ApprovalRule {
                setting: proto::ApprovalSettings {
                    is_approval_required: w.is_approval_required.unwrap_or(s.is_approval_required),
                    is_approval_required_for_extension: w
                        .is_approval_required_for_extension
                        .unwrap_or(s.is_approval_required_for_extension),
                    is_requestor_justification_required: w
                        .is_requestor_justification_required
                        .unwrap_or(s.is_requestor_justification_required),
                    approval_mode: w.approval_mode.map_or_else(|| s.approval_mode.clone(), |m| format!("{m:?}")),
                    approval_stages: stages,
                },
                ..r.clone()
            })
        }
        (proto::PolicyRule::AuthenticationContext(r), Rule::AuthenticationContext(w)) => {
            proto::PolicyRule::AuthenticationContext(proto::AuthenticationContextRule {
                is_enabled: w.is_enabled.unwrap_or(r.is_enabled),
                claim_value: w.claim_value.clone().or_else(|| r.claim_value.clone()),
                ..r.clone()
            })
        }
        (proto::PolicyRule::Notification(r), Rule::Notification(w)) => {
            proto::PolicyRule::Notification(proto::NotificationRule {
                notification_level: w
                    .notification_level
                    .map_or_else(|| r.notification_level.clone(), |l| format!("{l:?}")),
                is_default_recipients_enabled: w
                    .is_default_recipients_enabled
                    .unwrap_or(r.is_default_recipients_enabled),
                notification_recipients: w
                    .notification_recipients
                    .clone()
                    .unwrap_or_else(|| r.notification_recipients.clone()),
                ..r.clone()
            })
        }
        _ => return Err(format!("rule {} is of another type on the server", current.id())),
    })
}

/// The default rules of a directory role, as the server defines them (core's `default_rules`,
/// rendered by the server's own wire code), in the file's terms.
pub fn defaults() -> Vec<(String, Rule)> {
    openpim_core::policy::rules::default_rules()
        .iter()
        .filter_map(|r| {
            let wire = openpim_server::wire::policies::rule(r);
            let typed: proto::PolicyRule = serde_json::from_value(wire).ok()?;
            Some((r.id.clone(), from_proto(&typed, &|id| id.to_string()).normalized()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_cover_every_rule_of_the_file() {
        let d = defaults();
        assert_eq!(d.len(), 17);
        for id in super::super::model::Rules::IDS {
            assert!(d.iter().any(|(i, _)| i == id), "{id} has a default");
        }
    }

    #[test]
    fn overlay_and_differences_are_inverse() {
        let base =
            Rule::Expiration(Expiration { maximum_duration: Some("PT8H".into()), is_expiration_required: Some(true) });
        let partial =
            Rule::Expiration(Expiration { maximum_duration: Some("PT120M".into()), is_expiration_required: None });
        let full = partial.overlay(&base).normalized();
        assert_eq!(
            full,
            Rule::Expiration(Expiration { maximum_duration: Some("PT2H".into()), is_expiration_required: Some(true) })
        );
        let diff = full.only_differences(&base);
        assert_eq!(
            diff,
            Rule::Expiration(Expiration { maximum_duration: Some("PT2H".into()), is_expiration_required: None })
        );
        assert!(base.only_differences(&base).is_empty());
    }
}
