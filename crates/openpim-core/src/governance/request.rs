//! governanceRoleAssignmentRequest ↔ schedule requests.
//!
//! A beta request names its action with two properties, `type` (who does what) and
//! `assignmentState` (to an eligibility or an active assignment); the engine has one
//! [`Action`] and one [`Kind`]. The beta schedule is `{type: Once, startDateTime, endDateTime,
//! duration}` where v1.0 nests an `expiration`; its status is a pair `{status, subStatus}` plus
//! per-rule `statusDetails` where v1.0 has one status.

use crate::error::{DomainError, DomainResult};
use crate::schedule::{Action, Expiration, ExpirationType, Kind, RequestSchedule, RequestStatus};
use crate::Instant;
use time::Duration;

/// The beta request `type`. Microsoft's docs and clients spell them in PascalCase; the seed
/// documents send `AdminRemove` and clients have been seen sending other casings, so parsing
/// ignores case.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, strum::Display, strum::EnumString, strum::AsRefStr, strum::IntoStaticStr,
)]
#[strum(ascii_case_insensitive)]
pub enum RequestType {
    AdminAdd,
    AdminUpdate,
    AdminRemove,
    AdminExtend,
    AdminRenew,
    UserAdd,
    UserUpdate,
    UserRemove,
    UserExtend,
    UserRenew,
}

impl RequestType {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The docs' post page: a schedule is required for these.
    pub fn needs_schedule(self) -> bool {
        matches!(self, Self::UserAdd | Self::AdminAdd | Self::AdminUpdate | Self::AdminExtend)
    }
}

/// `assignmentState`: the beta name of the engine's [`Kind`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, strum::Display, strum::EnumString, strum::AsRefStr, strum::IntoStaticStr,
)]
#[strum(ascii_case_insensitive)]
pub enum AssignmentState {
    Eligible,
    Active,
}

impl AssignmentState {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn kind(self) -> Kind {
        match self {
            Self::Eligible => Kind::Eligibility,
            Self::Active => Kind::Assignment,
        }
    }

    pub fn of(kind: Kind) -> Self {
        match kind {
            Kind::Eligibility => Self::Eligible,
            Kind::Assignment => Self::Active,
        }
    }
}

fn bad(message: impl Into<String>) -> DomainError {
    DomainError::invalid("InvalidRoleAssignmentRequest", message)
}

/// The engine action and kind a beta request stands for. `UserUpdate` has no engine (or v1.0,
/// or ARM) counterpart, and activating or deactivating an eligibility means nothing: both are
/// refused rather than guessed.
pub fn to_action(ty: RequestType, state: AssignmentState) -> DomainResult<(Action, Kind)> {
    let action = match ty {
        RequestType::AdminAdd => Action::AdminAssign,
        RequestType::AdminUpdate => Action::AdminUpdate,
        RequestType::AdminRemove => Action::AdminRemove,
        RequestType::AdminExtend => Action::AdminExtend,
        RequestType::AdminRenew => Action::AdminRenew,
        RequestType::UserAdd => Action::SelfActivate,
        RequestType::UserRemove => Action::SelfDeactivate,
        RequestType::UserExtend => Action::SelfExtend,
        RequestType::UserRenew => Action::SelfRenew,
        RequestType::UserUpdate => {
            return Err(bad("Request type 'UserUpdate' is not supported: a user cannot change an assignment's schedule; ask an administrator (AdminUpdate) or extend it (UserExtend)."))
        }
    };
    let kind = state.kind();
    if !action.allowed_for(kind) {
        return Err(bad(format!(
            "Request type '{}' applies to Active assignments only, not '{}'.",
            ty.as_str(),
            state.as_str()
        )));
    }
    Ok((action, kind))
}

/// The beta `type` and `assignmentState` of an engine request (whichever surface made it).
pub fn from_action(action: Action, kind: Kind) -> (RequestType, AssignmentState) {
    let ty = match action {
        Action::AdminAssign => RequestType::AdminAdd,
        Action::AdminUpdate => RequestType::AdminUpdate,
        Action::AdminRemove => RequestType::AdminRemove,
        Action::AdminExtend => RequestType::AdminExtend,
        Action::AdminRenew => RequestType::AdminRenew,
        Action::SelfActivate => RequestType::UserAdd,
        Action::SelfDeactivate => RequestType::UserRemove,
        Action::SelfExtend => RequestType::UserExtend,
        Action::SelfRenew => RequestType::UserRenew,
    };
    (ty, AssignmentState::of(kind))
}

/// governanceSchedule's `type`: the docs and the SDK know `Once` only.
pub fn check_schedule_type(raw: Option<&str>) -> DomainResult<()> {
    match raw {
        None => Ok(()),
        Some(t) if t.eq_ignore_ascii_case("Once") => Ok(()),
        Some(t) => Err(bad(format!("Schedule type '{t}' is not supported; the only schedule type is 'Once'."))),
    }
}

/// A governanceSchedule as read from a body (type already checked).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GovernanceSchedule {
    pub start: Option<Instant>,
    pub end: Option<Instant>,
    pub duration: Option<Duration>,
}

/// Graph's responses echo placeholders for the half of the schedule that was not given
/// (`duration: PT0S` next to an end, `endDateTime: 0001-01-01T00:00:00Z` next to a duration);
/// clients that read a request back and resend it send them too, so they mean "not given".
fn is_placeholder_end(end: Instant) -> bool {
    end.year() <= 1
}

impl GovernanceSchedule {
    /// The engine's schedule: an end means `afterDateTime`, a duration `afterDuration`, neither
    /// a permanent assignment (`noExpiration`; `endDateTime: null` is how beta says permanent).
    pub fn to_request_schedule(&self) -> DomainResult<RequestSchedule> {
        let end = self.end.filter(|e| !is_placeholder_end(*e));
        let duration = self.duration.filter(|d| !d.is_zero());
        let expiration = match (end, duration) {
            (Some(_), Some(_)) => {
                return Err(bad("A schedule takes an endDateTime or a duration, not both."));
            }
            (Some(end), None) => Expiration { kind: ExpirationType::AfterDateTime, end: Some(end), duration: None },
            (None, Some(d)) => {
                if d.is_negative() {
                    return Err(bad("A schedule's duration cannot be negative."));
                }
                Expiration { kind: ExpirationType::AfterDuration, end: None, duration: Some(d) }
            }
            (None, None) => Expiration { kind: ExpirationType::NoExpiration, end: None, duration: None },
        };
        Ok(RequestSchedule { start: self.start, expiration })
    }

    /// The beta view of an engine schedule: the end or the duration it was asked with.
    pub fn from_request_schedule(s: &RequestSchedule) -> Self {
        let e = &s.expiration;
        match e.kind {
            ExpirationType::AfterDateTime => Self { start: s.start, end: e.end, duration: None },
            ExpirationType::AfterDuration => Self { start: s.start, end: None, duration: e.duration },
            ExpirationType::NoExpiration | ExpirationType::NotSpecified => {
                Self { start: s.start, end: e.end, duration: e.duration }
            }
        }
    }
}

/// governanceRoleAssignmentRequestStatus.status.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, strum::Display, strum::EnumString, strum::AsRefStr, strum::IntoStaticStr,
)]
pub enum Progress {
    InProgress,
    Closed,
}

/// governanceRoleAssignmentRequestStatus as derived from the engine's request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GovernanceStatus {
    pub status: Progress,
    pub sub_status: &'static str,
    /// `(rule, result)` pairs: the rules the request was evaluated against.
    pub details: Vec<(&'static str, &'static str)>,
}

/// The beta subStatus of an engine status. Beta names every wait for an approver
/// `PendingAdminDecision` (the state `updateRequest` acts on and the documented pending-approvals
/// filter names); the engine tells activations waiting for approval (`PendingApproval`) from
/// extensions waiting for an administrator (`PendingAdminDecision`). Everything else keeps its name.
pub fn sub_status(status: RequestStatus) -> &'static str {
    match status {
        RequestStatus::PendingApproval | RequestStatus::PendingAdminDecision => "PendingAdminDecision",
        other => other.as_str(),
    }
}

/// The engine statuses a beta subStatus stands for (for `$filter` on `status/subStatus`);
/// empty for beta subStatuses the engine never reaches (`PendingEvaluation`, ...).
pub fn statuses_of_sub_status(raw: &str) -> Vec<RequestStatus> {
    use RequestStatus::*;
    const ALL: [RequestStatus; 9] =
        [Provisioned, Granted, Revoked, Canceled, Denied, Failed, PendingApproval, PendingAdminDecision, TimedOut];
    let raw = if raw.eq_ignore_ascii_case("AdminDenied") { "Denied" } else { raw };
    ALL.into_iter()
        .filter(|s| sub_status(*s).eq_ignore_ascii_case(raw) || s.as_str().eq_ignore_ascii_case(raw))
        .collect()
}

/// `{status, subStatus, statusDetails}` of an engine request. A request is `Closed` once nothing
/// more will happen to it (provisioned, revoked, canceled, denied, failed, timed out) and
/// `InProgress` while it waits for its start or a decision. statusDetails lists the rules the
/// request passed, with the keys Microsoft's examples show for admin and user requests; removals
/// are evaluated against nothing and list none (as in the docs' AdminRemove example).
pub fn status(action: Action, status: RequestStatus) -> GovernanceStatus {
    let progress = match status {
        RequestStatus::Granted | RequestStatus::PendingApproval | RequestStatus::PendingAdminDecision => {
            Progress::InProgress
        }
        _ => Progress::Closed,
    };
    let passed = matches!(
        status,
        RequestStatus::Granted
            | RequestStatus::Provisioned
            | RequestStatus::PendingApproval
            | RequestStatus::PendingAdminDecision
    );
    let rules: &[&'static str] = match action {
        Action::AdminRemove | Action::SelfDeactivate => &[],
        a if a.is_self() => {
            &["EligibilityRule", "ExpirationRule", "MfaRule", "JustificationRule", "ActivationDayRule", "ApprovalRule"]
        }
        _ => &["AdminRequestRule", "ExpirationRule", "MfaRule"],
    };
    let details = if passed {
        rules
            .iter()
            .map(|&rule| {
                let waiting = rule == "ApprovalRule"
                    && matches!(status, RequestStatus::PendingApproval | RequestStatus::PendingAdminDecision);
                (rule, if waiting { "PendingAdminDecision" } else { "Grant" })
            })
            .collect()
    } else {
        Vec::new()
    };
    GovernanceStatus { status: progress, sub_status: sub_status(status), details }
}

/// `updateRequest`'s `decision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::AsRefStr)]
#[strum(ascii_case_insensitive)]
pub enum Decision {
    AdminApproved,
    AdminDenied,
}

impl Decision {
    pub fn approves(self) -> bool {
        self == Self::AdminApproved
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn every_engine_action_round_trips_through_type_and_state() {
        for action in Action::ALL {
            for kind in [Kind::Eligibility, Kind::Assignment] {
                if !action.allowed_for(kind) {
                    continue;
                }
                let (ty, state) = from_action(action, kind);
                assert_eq!(to_action(ty, state).unwrap(), (action, kind), "{action:?} {kind:?}");
            }
        }
    }

    #[test]
    fn documented_types_map_to_v1_actions() {
        let cases = [
            ("AdminAdd", "Eligible", Action::AdminAssign, Kind::Eligibility),
            ("UserAdd", "Active", Action::SelfActivate, Kind::Assignment),
            ("UserRemove", "Active", Action::SelfDeactivate, Kind::Assignment),
            ("AdminRemove", "Eligible", Action::AdminRemove, Kind::Eligibility),
            ("adminremove", "eligible", Action::AdminRemove, Kind::Eligibility),
            ("AdminExtend", "Active", Action::AdminExtend, Kind::Assignment),
            ("UserRenew", "Eligible", Action::SelfRenew, Kind::Eligibility),
        ];
        for (ty, state, action, kind) in cases {
            let got = to_action(ty.parse().unwrap(), state.parse().unwrap()).unwrap();
            assert_eq!(got, (action, kind), "{ty} {state}");
        }
    }

    #[test]
    fn meaningless_combinations_are_refused() {
        for (ty, state) in [
            (RequestType::UserAdd, AssignmentState::Eligible),
            (RequestType::UserRemove, AssignmentState::Eligible),
            (RequestType::UserUpdate, AssignmentState::Active),
        ] {
            let e = to_action(ty, state).unwrap_err();
            assert_eq!(e.code, "InvalidRoleAssignmentRequest");
        }
        assert!("AdminDelete".parse::<RequestType>().is_err());
        assert!("Permanent".parse::<AssignmentState>().is_err());
    }

    #[test]
    fn schedule_end_duration_and_permanent() {
        let start = datetime!(2018-05-12 23:37:43.356 UTC);
        let end = datetime!(2018-11-08 23:37:43.356 UTC);
        let s =
            GovernanceSchedule { start: Some(start), end: Some(end), duration: None }.to_request_schedule().unwrap();
        assert_eq!(s.expiration.kind, ExpirationType::AfterDateTime);
        assert_eq!(s.expiration.end, Some(end));
        assert_eq!(GovernanceSchedule::from_request_schedule(&s).end, Some(end));

        let s = GovernanceSchedule { start: Some(start), end: None, duration: Some(Duration::hours(9)) }
            .to_request_schedule()
            .unwrap();
        assert_eq!(s.expiration.kind, ExpirationType::AfterDuration);
        assert_eq!(s.expiration.duration, Some(Duration::hours(9)));
        assert_eq!(GovernanceSchedule::from_request_schedule(&s).duration, Some(Duration::hours(9)));

        let s = GovernanceSchedule { start: Some(start), end: None, duration: None }.to_request_schedule().unwrap();
        assert_eq!(s.expiration.kind, ExpirationType::NoExpiration);
        let back = GovernanceSchedule::from_request_schedule(&s);
        assert_eq!((back.end, back.duration), (None, None));
    }

    #[test]
    fn schedule_placeholders_mean_not_given_and_both_is_refused() {
        let start = datetime!(2018-05-12 23:28:43.537 UTC);
        let echoed = GovernanceSchedule {
            start: Some(start),
            end: Some(datetime!(0001-01-01 0:00 UTC)),
            duration: Some(Duration::hours(9)),
        };
        assert_eq!(echoed.to_request_schedule().unwrap().expiration.kind, ExpirationType::AfterDuration);
        let end = datetime!(2018-06-01 0:00 UTC);
        let echoed = GovernanceSchedule { start: Some(start), end: Some(end), duration: Some(Duration::ZERO) };
        assert_eq!(echoed.to_request_schedule().unwrap().expiration.kind, ExpirationType::AfterDateTime);
        let both = GovernanceSchedule { start: Some(start), end: Some(end), duration: Some(Duration::hours(1)) };
        assert!(both.to_request_schedule().is_err());
        let negative = GovernanceSchedule { start: None, end: None, duration: Some(Duration::hours(-1)) };
        assert!(negative.to_request_schedule().is_err());
        assert!(check_schedule_type(Some("Once")).is_ok());
        assert!(check_schedule_type(Some("once")).is_ok());
        assert!(check_schedule_type(Some("Recurring")).is_err());
    }

    #[test]
    fn statuses_follow_the_documented_examples() {
        let granted = status(Action::AdminAssign, RequestStatus::Granted);
        assert_eq!((granted.status, granted.sub_status), (Progress::InProgress, "Granted"));
        assert_eq!(granted.details[0], ("AdminRequestRule", "Grant"));

        let removed = status(Action::AdminRemove, RequestStatus::Revoked);
        assert_eq!((removed.status, removed.sub_status), (Progress::Closed, "Revoked"));
        assert!(removed.details.is_empty());

        let activation = status(Action::SelfActivate, RequestStatus::Provisioned);
        assert_eq!((activation.status, activation.sub_status), (Progress::Closed, "Provisioned"));
        assert!(activation.details.contains(&("EligibilityRule", "Grant")));

        let pending = status(Action::SelfActivate, RequestStatus::PendingApproval);
        assert_eq!((pending.status, pending.sub_status), (Progress::InProgress, "PendingAdminDecision"));
        assert!(pending.details.contains(&("ApprovalRule", "PendingAdminDecision")));

        let canceled = status(Action::SelfActivate, RequestStatus::Canceled);
        assert_eq!((canceled.status, canceled.sub_status), (Progress::Closed, "Canceled"));
        assert!(canceled.details.is_empty());
    }

    #[test]
    fn sub_status_filters_name_engine_statuses() {
        assert_eq!(
            statuses_of_sub_status("PendingAdminDecision"),
            vec![RequestStatus::PendingApproval, RequestStatus::PendingAdminDecision]
        );
        assert_eq!(statuses_of_sub_status("AdminDenied"), vec![RequestStatus::Denied]);
        assert_eq!(statuses_of_sub_status("provisioned"), vec![RequestStatus::Provisioned]);
        assert!(statuses_of_sub_status("PendingEvaluation").is_empty());
    }

    #[test]
    fn decisions_parse() {
        assert!("AdminApproved".parse::<Decision>().unwrap().approves());
        assert!(!"admindenied".parse::<Decision>().unwrap().approves());
        assert!("Approve".parse::<Decision>().is_err());
    }
}
