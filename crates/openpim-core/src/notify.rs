//! Which events notify whom. Entra's notification rules (`Notification_{Recipient}_{Caller}_{Level}`)
//! say, per kind of recipient, whether to notify (level `None` silences), whether the default
//! recipients get it, and which extra addresses do.

use crate::policy::rules::{NotificationLevel, PolicyRule, RecipientType, RuleKind};
use crate::policy::{Caller, Level};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::Display, strum::EnumString, strum::AsRefStr, strum::IntoStaticStr,
)]
#[strum(serialize_all = "camelCase")]
pub enum Event {
    EligibilityAssigned,
    AssignmentAssigned,
    Activated,
    ApprovalRequired,
    ActivationApproved,
    ActivationDenied,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// A sentence for e-mail subjects.
    pub fn subject(self) -> &'static str {
        match self {
            Self::EligibilityAssigned => "You are eligible for a role",
            Self::AssignmentAssigned => "A role was assigned",
            Self::Activated => "A role was activated",
            Self::ApprovalRequired => "A role activation needs your approval",
            Self::ActivationApproved => "A role activation was approved",
            Self::ActivationDenied => "A role activation was denied",
        }
    }

    /// The rule target whose notification rules govern this event.
    fn target(self) -> (Caller, Level) {
        match self {
            Self::EligibilityAssigned => (Caller::Admin, Level::Eligibility),
            Self::AssignmentAssigned => (Caller::Admin, Level::Assignment),
            _ => (Caller::EndUser, Level::Assignment),
        }
    }

    fn recipient_types(self) -> &'static [RecipientType] {
        match self {
            Self::EligibilityAssigned | Self::AssignmentAssigned | Self::Activated => {
                &[RecipientType::Admin, RecipientType::Requestor]
            }
            Self::ApprovalRequired => &[RecipientType::Approver, RecipientType::Requestor],
            Self::ActivationApproved | Self::ActivationDenied => &[RecipientType::Requestor],
        }
    }
}

/// The default recipients of each kind, as e-mail addresses.
#[derive(Debug, Clone, Default)]
pub struct DefaultRecipients {
    pub admins: Vec<String>,
    pub requestor: Vec<String>,
    pub approvers: Vec<String>,
}

/// Everyone `event` should reach under `rules`, without duplicates.
pub fn recipients(rules: &[PolicyRule], event: Event, defaults: &DefaultRecipients) -> Vec<String> {
    let (caller, level) = event.target();
    let mut out: Vec<String> = Vec::new();
    for kind in event.recipient_types() {
        let rule = rules.iter().find_map(|r| match &r.kind {
            RuleKind::Notification { recipient_type, level: l, is_default_recipients_enabled, recipients }
                if r.target.caller == caller && r.target.level == level && recipient_type == kind =>
            {
                Some((*l, *is_default_recipients_enabled, recipients))
            }
            _ => None,
        });
        let (notification_level, with_defaults, extra) = match rule {
            Some(r) => r,
            None => (NotificationLevel::All, true, &Vec::new()),
        };
        if notification_level == NotificationLevel::None {
            continue;
        }
        if with_defaults {
            let defaults = match kind {
                RecipientType::Admin => &defaults.admins,
                RecipientType::Requestor => &defaults.requestor,
                RecipientType::Approver => &defaults.approvers,
            };
            out.extend(defaults.iter().cloned());
        }
        out.extend(extra.iter().cloned());
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|r| seen.insert(r.to_lowercase()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::rules::default_rules;

    fn defaults() -> DefaultRecipients {
        DefaultRecipients {
            admins: vec!["admin@x.test".into()],
            requestor: vec!["bob@x.test".into()],
            approvers: vec!["alice@x.test".into()],
        }
    }

    #[test]
    fn default_rules_notify_admins_and_requestor() {
        let r = recipients(&default_rules(), Event::Activated, &defaults());
        assert_eq!(r, vec!["admin@x.test", "bob@x.test"]);
        let r = recipients(&default_rules(), Event::ApprovalRequired, &defaults());
        assert_eq!(r, vec!["alice@x.test", "bob@x.test"]);
        let r = recipients(&default_rules(), Event::ActivationDenied, &defaults());
        assert_eq!(r, vec!["bob@x.test"]);
    }

    #[test]
    fn level_none_silences_and_extra_recipients_are_added() {
        let mut rules = default_rules();
        for r in &mut rules {
            if let RuleKind::Notification { recipient_type, level, recipients, is_default_recipients_enabled } =
                &mut r.kind
            {
                if r.id == "Notification_Admin_EndUser_Assignment" {
                    assert_eq!(*recipient_type, RecipientType::Admin);
                    *level = NotificationLevel::None;
                }
                if r.id == "Notification_Requestor_EndUser_Assignment" {
                    *is_default_recipients_enabled = false;
                    recipients.push("audit@x.test".into());
                    recipients.push("BOB@x.test".into());
                }
            }
        }
        assert_eq!(recipients(&rules, Event::Activated, &defaults()), vec!["audit@x.test", "BOB@x.test"]);
        // Other targets are unaffected.
        assert_eq!(recipients(&rules, Event::EligibilityAssigned, &defaults()), vec!["admin@x.test", "bob@x.test"]);
    }
}
