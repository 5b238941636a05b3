//! The approval workflow: when a role's policy requires approval, an activation waits in
//! `PendingApproval` until the listed approvers decide, stage by stage. Nobody approves their
//! own request; only listed approvers (or members of a listed group) decide; a denied,
//! canceled or timed-out request never grants.

use crate::error::{DomainError, DomainResult};
use crate::policy::rules::{ApprovalSettings, Approver};
use crate::{Instant, ObjectId};
use time::Duration;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::Display, strum::EnumString, strum::AsRefStr, strum::IntoStaticStr,
)]
pub enum StepStatus {
    NotStarted,
    InProgress,
    Completed,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::Display, strum::EnumString, strum::AsRefStr, strum::IntoStaticStr,
)]
#[strum(ascii_case_insensitive)]
pub enum ReviewResult {
    NotReviewed,
    Approve,
    Deny,
}

impl ReviewResult {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
    /// A reviewer's decision: `Approve` or `Deny`, in any casing; `NotReviewed` is a state, not a
    /// decision.
    pub fn parse(raw: &str) -> Option<Self> {
        raw.parse().ok().filter(|r| *r != Self::NotReviewed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Denied,
    TimedOut,
    Canceled,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalStep {
    pub id: ObjectId,
    pub approvers: Vec<Approver>,
    pub is_approver_justification_required: bool,
    pub status: StepStatus,
    pub review_result: ReviewResult,
    pub reviewed_by: Option<ObjectId>,
    pub reviewed_at: Option<Instant>,
    pub justification: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub id: ObjectId,
    pub request_id: ObjectId,
    pub requester: ObjectId,
    pub status: ApprovalStatus,
    pub steps: Vec<ApprovalStep>,
    pub created: Instant,
    pub expires: Instant,
}

/// Starts an approval for `request_id`: one step per stage, the first one in progress.
/// It expires after the first stage's timeout, capped by `max_wait` (server configuration).
pub fn start(
    request_id: ObjectId,
    requester: ObjectId,
    settings: &ApprovalSettings,
    now: Instant,
    max_wait: Duration,
) -> Approval {
    let steps: Vec<ApprovalStep> = settings
        .stages
        .iter()
        .enumerate()
        .map(|(i, stage)| ApprovalStep {
            id: ObjectId::new_v4(),
            approvers: stage.primary_approvers.clone(),
            is_approver_justification_required: stage.is_approver_justification_required,
            status: if i == 0 { StepStatus::InProgress } else { StepStatus::NotStarted },
            review_result: ReviewResult::NotReviewed,
            reviewed_by: None,
            reviewed_at: None,
            justification: None,
        })
        .collect();
    let stage_wait = settings.stages.first().map_or(max_wait, |s| Duration::days(i64::from(s.timeout_in_days)));
    Approval {
        id: ObjectId::new_v4(),
        request_id,
        requester,
        status: ApprovalStatus::Pending,
        steps,
        created: now,
        // Saturating: a huge configured wait means "never", not a panic.
        expires: crate::schedule::add_saturating(now, stage_wait.min(max_wait)),
    }
}

/// Every user and group a role's policy lists as an approver (primary or escalation, any stage).
pub fn listed_approvers(rules: &[crate::policy::rules::PolicyRule]) -> Vec<ObjectId> {
    rules
        .iter()
        .filter_map(|r| match &r.kind {
            crate::policy::rules::RuleKind::Approval(settings) => Some(settings),
            _ => None,
        })
        .flat_map(|s| &s.stages)
        .flat_map(|stage| stage.primary_approvers.iter().chain(&stage.escalation_approvers))
        .map(Approver::object_id)
        .collect()
}

/// Is `who` (a member of `groups`) one of the approvers of `step`?
pub fn is_approver(step: &ApprovalStep, who: ObjectId, groups: &[ObjectId]) -> bool {
    step.approvers.iter().any(|a| match a {
        Approver::SingleUser { user_id, .. } => *user_id == who,
        Approver::GroupMembers { group_id, .. } => groups.contains(group_id),
    })
}

/// How someone takes part in an approval. ARM's `roleAssignmentApprovals` list filters by it
/// (`asApprover()`, `asCreatedBy()`, `asTarget()`; none: either). An approval is started for a
/// self-activation, whose creator is its target, so both of those name the requester.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The requester or an approver of any stage.
    Any,
    /// Listed as an approver of a stage, directly or through a group (whether or not it is that
    /// stage's turn, and even when the caller is also the requester: they see it, never decide it).
    Approver,
    /// The principal who asked for the activation.
    Requester,
}

impl Approval {
    /// The step waiting for a decision, if any.
    pub fn current_step(&self) -> Option<&ApprovalStep> {
        self.steps.iter().find(|s| s.status == StepStatus::InProgress)
    }

    /// Has `who` already decided a stage of this approval?
    pub fn decided_by(&self, who: ObjectId) -> bool {
        self.steps.iter().any(|s| s.reviewed_by == Some(who))
    }

    /// Is `step` assigned to `who`: a listed approver who is not the requester and did not decide
    /// another stage of this approval (the step `who` decided stays assigned to them).
    pub fn assigned_to(&self, step: &ApprovalStep, who: ObjectId, groups: &[ObjectId]) -> bool {
        who != self.requester
            && is_approver(step, who, groups)
            && (step.reviewed_by == Some(who) || !self.decided_by(who))
    }

    /// May `who` see this approval: its requester and anyone listed as an approver of a stage
    /// (directly or through `groups`)? Others need a role that reads everyone's requests.
    pub fn concerns(&self, who: ObjectId, groups: &[ObjectId]) -> bool {
        self.takes_part(who, groups, Part::Any)
    }

    /// Does `who` take part in this approval as `part` says (ARM's list filters)?
    pub fn takes_part(&self, who: ObjectId, groups: &[ObjectId], part: Part) -> bool {
        let requester = who == self.requester;
        let approver = || self.steps.iter().any(|s| is_approver(s, who, groups));
        match part {
            Part::Any => requester || approver(),
            Part::Approver => approver(),
            Part::Requester => requester,
        }
    }

    /// May `who` decide the current step now? Never the requester, and nobody who decided an
    /// earlier stage: each stage is meant to be a different person's judgement.
    pub fn awaits(&self, who: ObjectId, groups: &[ObjectId], now: Instant) -> bool {
        self.status == ApprovalStatus::Pending
            && now < self.expires
            && who != self.requester
            && !self.decided_by(who)
            && self.current_step().is_some_and(|s| is_approver(s, who, groups))
    }
}

/// Records `who`'s decision on `step_id`. Returns the updated approval; its status says whether
/// the request is now approved, denied, or still waiting for a later stage.
pub fn review(
    approval: &Approval,
    step_id: ObjectId,
    who: ObjectId,
    groups: &[ObjectId],
    result: ReviewResult,
    justification: Option<String>,
    now: Instant,
) -> DomainResult<Approval> {
    if who == approval.requester {
        return Err(DomainError::forbidden("Nobody can approve or deny their own request."));
    }
    if approval.status != ApprovalStatus::Pending {
        return Err(DomainError::invalid("ApprovalNotPending", "This request has already been decided or canceled."));
    }
    if now >= approval.expires {
        return Err(DomainError::invalid("ApprovalExpired", "This approval request has expired."));
    }
    let index = approval
        .steps
        .iter()
        .position(|s| s.id == step_id)
        .ok_or_else(|| DomainError::not_found(format!("Approval step '{step_id}' does not exist.")))?;
    let step = &approval.steps[index];
    if !is_approver(step, who, groups) {
        return Err(DomainError::forbidden("Only the approvers listed for this stage can decide it."));
    }
    if step.status != StepStatus::InProgress {
        return Err(DomainError::invalid(
            "ApprovalStepNotActive",
            "This approval stage is not the one waiting for a decision.",
        ));
    }
    if approval.decided_by(who) {
        return Err(DomainError::forbidden(
            "You already decided an earlier stage of this request; another approver must decide this one.",
        ));
    }
    if result == ReviewResult::NotReviewed {
        return Err(DomainError::bad_request("reviewResult must be Approve or Deny."));
    }
    let justification = justification.filter(|j| !j.trim().is_empty());
    if step.is_approver_justification_required && justification.is_none() {
        return Err(DomainError::invalid(
            "ApproverJustificationRequired",
            "A justification is required to decide this request.",
        ));
    }
    let mut next = approval.clone();
    let s = &mut next.steps[index];
    s.status = StepStatus::Completed;
    s.review_result = result;
    s.reviewed_by = Some(who);
    s.reviewed_at = Some(now);
    s.justification = justification;
    match result {
        ReviewResult::Deny => next.status = ApprovalStatus::Denied,
        _ => match next.steps.get_mut(index + 1) {
            Some(following) => following.status = StepStatus::InProgress,
            None => next.status = ApprovalStatus::Approved,
        },
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::rules::{ApprovalMode, ApprovalStage};
    use time::macros::datetime;

    const T0: Instant = datetime!(2026-05-01 12:00 UTC);

    fn settings(stages: Vec<Vec<Approver>>) -> ApprovalSettings {
        ApprovalSettings {
            is_approval_required: true,
            is_approval_required_for_extension: false,
            is_requestor_justification_required: true,
            approval_mode: if stages.len() > 1 { ApprovalMode::Serial } else { ApprovalMode::SingleStage },
            stages: stages
                .into_iter()
                .map(|approvers| ApprovalStage {
                    timeout_in_days: 1,
                    is_approver_justification_required: true,
                    escalation_time_in_minutes: 0,
                    is_escalation_enabled: false,
                    primary_approvers: approvers,
                    escalation_approvers: vec![],
                })
                .collect(),
        }
    }

    fn user(id: ObjectId) -> Approver {
        Approver::SingleUser { user_id: id, description: None }
    }

    #[test]
    fn single_stage_approve_and_deny() {
        let (bob, alice, eve) = (ObjectId::new_v4(), ObjectId::new_v4(), ObjectId::new_v4());
        let a = start(ObjectId::new_v4(), bob, &settings(vec![vec![user(alice)]]), T0, Duration::hours(24));
        assert_eq!(a.expires, T0 + Duration::hours(24));
        let step = a.steps[0].id;
        assert!(a.awaits(alice, &[], T0) && !a.awaits(eve, &[], T0) && !a.awaits(bob, &[], T0));
        let e = review(&a, step, eve, &[], ReviewResult::Approve, Some("ok".into()), T0).unwrap_err();
        assert_eq!(e.code, "Authorization_RequestDenied");
        let e = review(&a, step, alice, &[], ReviewResult::Approve, None, T0).unwrap_err();
        assert_eq!(e.code, "ApproverJustificationRequired");
        let approved = review(&a, step, alice, &[], ReviewResult::Approve, Some("ok".into()), T0).unwrap();
        assert_eq!(approved.status, ApprovalStatus::Approved);
        let e = review(&approved, step, alice, &[], ReviewResult::Deny, Some("no".into()), T0).unwrap_err();
        assert_eq!(e.code, "ApprovalNotPending");
        let denied = review(&a, step, alice, &[], ReviewResult::Deny, Some("no".into()), T0).unwrap();
        assert_eq!(denied.status, ApprovalStatus::Denied);
    }

    #[test]
    fn an_approval_concerns_its_requester_and_every_stages_approvers_only() {
        let (bob, alice, carol, eve) = (ObjectId::new_v4(), ObjectId::new_v4(), ObjectId::new_v4(), ObjectId::new_v4());
        let group = ObjectId::new_v4();
        let through_group = Approver::GroupMembers { group_id: group, description: None };
        let a = start(
            ObjectId::new_v4(),
            bob,
            &settings(vec![vec![user(alice)], vec![user(carol), through_group]]),
            T0,
            Duration::hours(24),
        );
        assert!(a.concerns(bob, &[]), "the requester");
        assert!(a.concerns(alice, &[]) && a.concerns(carol, &[]), "approvers of any stage, not only the current one");
        assert!(a.concerns(eve, &[group]), "an approver through a group");
        assert!(!a.concerns(eve, &[]) && !a.concerns(eve, &[ObjectId::new_v4()]));
        // ARM's filters: approvers (any stage, any route) for asApprover(), the requester only
        // for asCreatedBy()/asTarget().
        assert!(!a.takes_part(bob, &[], Part::Approver) && a.takes_part(bob, &[], Part::Requester));
        for approver in [(alice, vec![]), (carol, vec![]), (eve, vec![group])] {
            assert!(a.takes_part(approver.0, &approver.1, Part::Approver));
            assert!(!a.takes_part(approver.0, &approver.1, Part::Requester));
        }
        assert!(!a.takes_part(eve, &[], Part::Approver) && !a.takes_part(eve, &[], Part::Any));
    }

    #[test]
    fn nobody_approves_their_own_request_even_as_a_listed_approver() {
        let bob = ObjectId::new_v4();
        let a = start(ObjectId::new_v4(), bob, &settings(vec![vec![user(bob)]]), T0, Duration::hours(24));
        let e = review(&a, a.steps[0].id, bob, &[], ReviewResult::Approve, Some("me".into()), T0).unwrap_err();
        assert!(e.message.contains("own request"));
        assert!(!a.awaits(bob, &[], T0));
    }

    #[test]
    fn group_approvers_and_serial_stages() {
        let (bob, carol, dave, group) =
            (ObjectId::new_v4(), ObjectId::new_v4(), ObjectId::new_v4(), ObjectId::new_v4());
        let s = settings(vec![vec![Approver::GroupMembers { group_id: group, description: None }], vec![user(dave)]]);
        let a = start(ObjectId::new_v4(), bob, &s, T0, Duration::hours(24));
        let e = review(&a, a.steps[1].id, dave, &[], ReviewResult::Approve, Some("x".into()), T0).unwrap_err();
        assert_eq!(e.code, "ApprovalStepNotActive");
        let first = review(&a, a.steps[0].id, carol, &[group], ReviewResult::Approve, Some("x".into()), T0).unwrap();
        assert_eq!(first.status, ApprovalStatus::Pending);
        assert!(first.awaits(dave, &[], T0));
        let done = review(&first, a.steps[1].id, dave, &[], ReviewResult::Approve, Some("y".into()), T0).unwrap();
        assert_eq!(done.status, ApprovalStatus::Approved);
    }

    #[test]
    fn one_person_decides_at_most_one_stage() {
        // Carol is listed in both stages (directly in the second, through a group in the first).
        let (bob, carol, dave, group) =
            (ObjectId::new_v4(), ObjectId::new_v4(), ObjectId::new_v4(), ObjectId::new_v4());
        let s = settings(vec![
            vec![Approver::GroupMembers { group_id: group, description: None }],
            vec![user(carol), user(dave)],
        ]);
        let a = start(ObjectId::new_v4(), bob, &s, T0, Duration::hours(24));
        let first = review(&a, a.steps[0].id, carol, &[group], ReviewResult::Approve, Some("x".into()), T0).unwrap();
        assert!(first.decided_by(carol));
        assert!(!first.awaits(carol, &[group], T0), "the second stage does not wait for carol");
        let e =
            review(&first, a.steps[1].id, carol, &[group], ReviewResult::Approve, Some("y".into()), T0).unwrap_err();
        assert_eq!(e.code, "Authorization_RequestDenied");
        assert!(e.message.contains("earlier stage"), "{e}");
        // Another listed approver decides it.
        let done = review(&first, a.steps[1].id, dave, &[], ReviewResult::Approve, Some("y".into()), T0).unwrap();
        assert_eq!(done.status, ApprovalStatus::Approved);
    }

    #[test]
    fn the_requester_never_decides_any_stage_even_through_an_approver_group() {
        let (bob, carol, group) = (ObjectId::new_v4(), ObjectId::new_v4(), ObjectId::new_v4());
        let by_group = Approver::GroupMembers { group_id: group, description: None };
        let s = settings(vec![vec![user(carol)], vec![by_group]]);
        let a = start(ObjectId::new_v4(), bob, &s, T0, Duration::hours(24));
        let first = review(&a, a.steps[0].id, carol, &[], ReviewResult::Approve, Some("x".into()), T0).unwrap();
        assert!(!first.awaits(bob, &[group], T0));
        let e = review(&first, a.steps[1].id, bob, &[group], ReviewResult::Approve, Some("me".into()), T0).unwrap_err();
        assert!(e.message.contains("own request"), "{e}");
    }

    #[test]
    fn expired_approvals_cannot_be_decided() {
        let (bob, alice) = (ObjectId::new_v4(), ObjectId::new_v4());
        let a = start(ObjectId::new_v4(), bob, &settings(vec![vec![user(alice)]]), T0, Duration::hours(2));
        assert_eq!(a.expires, T0 + Duration::hours(2), "capped by the configured maximum");
        let later = T0 + Duration::hours(2);
        assert!(!a.awaits(alice, &[], later));
        let e = review(&a, a.steps[0].id, alice, &[], ReviewResult::Approve, Some("x".into()), later).unwrap_err();
        assert_eq!(e.code, "ApprovalExpired");
    }
}
