//! Graph's vocabulary as core spells and reads it (strum derives): the spellings Graph sends, any
//! casing where Graph accepts any, exact spelling for what the store writes.

use openpim_core::approval::ReviewResult;
use openpim_core::audit::AuditResult;
use openpim_core::directory::{ObjectKind, UserType};
use openpim_core::policy::rules::{ApprovalMode, Enablement, NotificationLevel, RecipientType};
use openpim_core::policy::{Caller, Level};
use openpim_core::schedule::{Action, AssignmentType, ExpirationType, MemberType, RequestStatus, ScheduleStatus};

#[test]
fn spellings_are_graphs() {
    assert_eq!(Action::SelfActivate.as_str(), "selfActivate");
    assert_eq!(Action::AdminRenew.to_string(), "adminRenew");
    assert_eq!(ExpirationType::AfterDuration.as_str(), "afterDuration");
    assert_eq!(ExpirationType::NotSpecified.as_str(), "notSpecified");
    assert_eq!(RequestStatus::PendingAdminDecision.as_str(), "PendingAdminDecision");
    assert_eq!(ScheduleStatus::Provisioned.as_str(), "Provisioned");
    assert_eq!(AssignmentType::Activated.as_str(), "Activated");
    assert_eq!(MemberType::Group.as_str(), "Group");
    assert_eq!(Enablement::MultiFactorAuthentication.to_string(), "MultiFactorAuthentication");
    assert_eq!(ApprovalMode::SingleStage.as_str(), "SingleStage");
    assert_eq!(NotificationLevel::Critical.as_str(), "Critical");
    assert_eq!(RecipientType::Requestor.as_str(), "Requestor");
    assert_eq!(Caller::EndUser.to_string(), "EndUser");
    assert_eq!(Level::Eligibility.to_string(), "Eligibility");
    assert_eq!(AuditResult::Failure.as_str(), "failure");
    assert_eq!(ObjectKind::ServicePrincipal.as_str(), "servicePrincipal");
    assert_eq!(UserType::Guest.as_str(), "Guest");
    assert_eq!(ReviewResult::NotReviewed.as_str(), "NotReviewed");
}

#[test]
fn every_action_reads_back_in_any_casing() {
    for a in Action::ALL {
        assert_eq!(a.as_str().parse::<Action>(), Ok(a));
        assert_eq!(a.as_str().to_ascii_uppercase().parse::<Action>(), Ok(a));
    }
    assert!("selfActivated".parse::<Action>().is_err());
    assert_eq!("NoExpiration".parse::<ExpirationType>(), Ok(ExpirationType::NoExpiration));
    assert_eq!("enduser".parse::<Caller>(), Ok(Caller::EndUser));
    assert_eq!("ticketing".parse::<Enablement>(), Ok(Enablement::Ticketing));
    assert_eq!("member".parse::<UserType>(), Ok(UserType::Member));
}

#[test]
fn stored_values_read_exactly() {
    // What the store wrote is read back as written; another casing is a corrupt row.
    assert_eq!("PendingApproval".parse::<RequestStatus>(), Ok(RequestStatus::PendingApproval));
    assert!("pendingapproval".parse::<RequestStatus>().is_err());
    assert!("expired".parse::<ScheduleStatus>().is_err());
    assert_eq!("group".parse::<ObjectKind>(), Ok(ObjectKind::Group));
    assert!("Group".parse::<ObjectKind>().is_err());
}

#[test]
fn a_decision_is_approve_or_deny() {
    assert_eq!(ReviewResult::parse("approve"), Some(ReviewResult::Approve));
    assert_eq!(ReviewResult::parse("Deny"), Some(ReviewResult::Deny));
    assert_eq!(ReviewResult::parse("NotReviewed"), None);
    assert_eq!(ReviewResult::parse("maybe"), None);
}
