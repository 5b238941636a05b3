//! PIM schedules: eligibility and assignment schedule requests, the schedules they create and the
//! rules that decide every action. `decide` is pure: the caller gathers the facts (the live
//! schedule for the same principal/role/scope, the eligibility to activate from, the policy),
//! passes `now`, and persists the `Effect` it gets back.

use crate::access::{Grant, GrantSource};
use crate::directory::ObjectKind;
use crate::error::{DomainError, DomainResult};
use crate::policy::{self, PolicyInput, RolePolicy};
use crate::roles::RoleDefinition;
use crate::scope::Scope;
use crate::{Instant, ObjectId};
use time::Duration;

/// Nothing is shorter than this, and nothing can be removed sooner than this after it was made.
pub const MINIMUM_DURATION: Duration = Duration::minutes(5);
/// Extend applies to schedules that end within this window.
pub const EXTEND_WINDOW: Duration = Duration::days(14);
/// Renew applies to schedules that ended at most this long ago (Entra and Azure keep expired
/// assignments renewable for 30 days).
pub const RENEW_WINDOW: Duration = Duration::days(30);
const MAX_JUSTIFICATION: usize = 500;
const MAX_TICKET_FIELD: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Eligibility,
    Assignment,
}

impl Kind {
    pub fn level(self) -> policy::Level {
        match self {
            Self::Eligibility => policy::Level::Eligibility,
            Self::Assignment => policy::Level::Assignment,
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, strum::Display, strum::EnumString, strum::AsRefStr, strum::IntoStaticStr,
)]
#[strum(serialize_all = "camelCase", ascii_case_insensitive)]
pub enum Action {
    AdminAssign,
    AdminUpdate,
    AdminRemove,
    AdminExtend,
    AdminRenew,
    SelfActivate,
    SelfDeactivate,
    SelfExtend,
    SelfRenew,
}

impl Action {
    pub const ALL: [Action; 9] = [
        Self::AdminAssign,
        Self::AdminUpdate,
        Self::AdminRemove,
        Self::AdminExtend,
        Self::AdminRenew,
        Self::SelfActivate,
        Self::SelfDeactivate,
        Self::SelfExtend,
        Self::SelfRenew,
    ];

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn is_self(self) -> bool {
        matches!(self, Self::SelfActivate | Self::SelfDeactivate | Self::SelfExtend | Self::SelfRenew)
    }

    pub fn caller(self) -> policy::Caller {
        if self.is_self() {
            policy::Caller::EndUser
        } else {
            policy::Caller::Admin
        }
    }

    /// Eligibilities are never activated or deactivated; everything else applies to both.
    pub fn allowed_for(self, kind: Kind) -> bool {
        kind == Kind::Assignment || !matches!(self, Self::SelfActivate | Self::SelfDeactivate)
    }

    fn needs_schedule(self) -> bool {
        !matches!(self, Self::AdminRemove | Self::SelfDeactivate)
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, strum::Display, strum::EnumString, strum::AsRefStr, strum::IntoStaticStr,
)]
#[strum(serialize_all = "camelCase", ascii_case_insensitive)]
pub enum ExpirationType {
    NotSpecified,
    NoExpiration,
    AfterDateTime,
    AfterDuration,
}

impl ExpirationType {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expiration {
    pub kind: ExpirationType,
    pub end: Option<Instant>,
    pub duration: Option<Duration>,
}

/// `scheduleInfo` as requested (and, in responses, as resolved).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestSchedule {
    pub start: Option<Instant>,
    pub expiration: Expiration,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ticket {
    pub number: Option<String>,
    pub system: Option<String>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, strum::Display, strum::EnumString, strum::AsRefStr, strum::IntoStaticStr,
)]
pub enum RequestStatus {
    Provisioned,
    Granted,
    Revoked,
    Canceled,
    Denied,
    Failed,
    PendingApproval,
    PendingAdminDecision,
    TimedOut,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
    /// Requests that are still waiting for something (a start time, a decision) can be canceled.
    pub fn is_cancelable(self) -> bool {
        matches!(self, Self::Granted | Self::PendingApproval | Self::PendingAdminDecision)
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, strum::Display, strum::EnumString, strum::AsRefStr, strum::IntoStaticStr,
)]
pub enum AssignmentType {
    Assigned,
    Activated,
}

impl AssignmentType {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, strum::Display, strum::EnumString, strum::AsRefStr, strum::IntoStaticStr,
)]
pub enum MemberType {
    Direct,
    Group,
}

impl MemberType {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, strum::Display, strum::EnumString, strum::AsRefStr, strum::IntoStaticStr,
)]
pub enum ScheduleStatus {
    /// In effect now (or permanently).
    Provisioned,
    /// Accepted, starts in the future.
    Granted,
    /// Ended; kept so it can be renewed.
    Expired,
}

impl ScheduleStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// An eligibility or assignment schedule: a principal holds (or may activate) a role at a scope
/// during [start, end).
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub id: ObjectId,
    pub kind: Kind,
    pub principal_id: ObjectId,
    pub principal_kind: ObjectKind,
    pub role_definition_id: ObjectId,
    pub scope: Scope,
    /// Assignments only: made by an admin, or activated from an eligibility.
    pub assignment_type: Option<AssignmentType>,
    pub start: Instant,
    pub end: Option<Instant>,
    pub expiration_type: ExpirationType,
    pub duration: Option<Duration>,
    pub status: ScheduleStatus,
    /// The request that created it (None for direct role assignments).
    pub created_using: Option<ObjectId>,
    /// For activations: the eligibility schedule it was activated from.
    pub activated_using: Option<ObjectId>,
    pub created: Instant,
    pub modified: Instant,
    pub created_by: Option<ObjectId>,
}

impl Schedule {
    /// In effect at `now`: [start, end) contains `now` and it has not been expired.
    pub fn is_effective(&self, now: Instant) -> bool {
        self.status != ScheduleStatus::Expired && self.start <= now && self.end.is_none_or(|e| now < e)
    }

    pub fn has_ended(&self, now: Instant) -> bool {
        self.status == ScheduleStatus::Expired || self.end.is_some_and(|e| e <= now)
    }

    /// The status this schedule should show at `now` (what the tidy-up job converges to).
    pub fn status_at(&self, now: Instant) -> ScheduleStatus {
        if self.has_ended(now) {
            ScheduleStatus::Expired
        } else if self.start > now {
            ScheduleStatus::Granted
        } else {
            ScheduleStatus::Provisioned
        }
    }

    /// The access-index view of an assignment schedule.
    pub fn to_grant(&self) -> Grant {
        Grant {
            id: self.id,
            principal_id: self.principal_id,
            role_definition_id: self.role_definition_id,
            scope: self.scope.clone(),
            start: Some(self.start),
            end: self.end,
            source: match self.assignment_type {
                Some(AssignmentType::Activated) => GrantSource::Activated,
                _ => GrantSource::Assigned,
            },
        }
    }
}

/// A request as stored and rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleRequest {
    pub id: ObjectId,
    pub kind: Kind,
    pub action: Action,
    pub principal_id: ObjectId,
    pub role_definition_id: ObjectId,
    pub scope: Scope,
    pub justification: Option<String>,
    pub schedule: Option<RequestSchedule>,
    pub ticket: Ticket,
    pub status: RequestStatus,
    pub created: Instant,
    pub completed: Option<Instant>,
    pub created_by: ObjectId,
    pub target_schedule_id: Option<ObjectId>,
    pub approval_id: Option<String>,
    pub is_validation_only: bool,
    pub custom_data: Option<String>,
}

/// A request as a client sends it.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub kind: Kind,
    pub action: Action,
    pub principal_id: ObjectId,
    pub role_definition_id: ObjectId,
    pub scope: Scope,
    pub justification: Option<String>,
    pub schedule: Option<RequestSchedule>,
    pub ticket: Ticket,
    pub is_validation_only: bool,
    pub custom_data: Option<String>,
}

/// What the directory says about the principal of a request.
#[derive(Debug, Clone, Copy)]
pub struct PrincipalFacts {
    pub kind: ObjectKind,
    pub is_assignable_to_role: bool,
}

/// Everything `decide` needs to know besides the request.
pub struct Context<'a> {
    pub now: Instant,
    pub request_id: ObjectId,
    pub caller: ObjectId,
    /// The caller may take admin actions at the request's scope.
    pub caller_is_admin: bool,
    pub mfa: bool,
    pub acrs: &'a [String],
    pub principal: Option<PrincipalFacts>,
    pub role: Option<&'a RoleDefinition>,
    /// The live (not expired) schedule of the request's kind for the same principal, role, scope.
    pub live: Option<&'a Schedule>,
    /// The most recently expired one, for renewals.
    pub expired: Option<&'a Schedule>,
    /// For selfActivate: the principal's live eligibilities for the role and scope, held directly
    /// or through role-assignable groups; `decide` activates from the best of them for the
    /// requested window (see [`best_eligibility`]).
    pub eligibilities: &'a [Schedule],
    /// For selfActivate: an activation of the same role and scope by the same principal is
    /// already waiting for approval.
    pub pending_activation: bool,
    pub policy: &'a RolePolicy,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Nothing changes yet (pending a decision, or validation only).
    Nothing,
    Create(Schedule),
    Replace(Schedule),
    Remove(Schedule),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub request: ScheduleRequest,
    pub effect: Effect,
    /// An admin's extension or renewal does what the principal asked for: their pending
    /// request of this action (`selfExtend`/`selfRenew`) for the same role and scope is answered.
    pub answers_self_requests: Option<Action>,
}

impl Outcome {
    /// The notification an accepted request announces, as Entra notifies: an admin's new
    /// eligibility or assignment, an activation that took effect, or one waiting for approvers.
    /// Extensions, renewals, updates and removals announce nothing.
    pub fn notification(&self) -> Option<crate::notify::Event> {
        use crate::notify::Event;
        let r = &self.request;
        match (&self.effect, r.kind, r.action) {
            (Effect::Create(_), Kind::Eligibility, Action::AdminAssign) => Some(Event::EligibilityAssigned),
            (Effect::Create(_), Kind::Assignment, Action::AdminAssign) => Some(Event::AssignmentAssigned),
            (Effect::Create(_), Kind::Assignment, Action::SelfActivate) => Some(Event::Activated),
            (Effect::Nothing, _, Action::SelfActivate) if r.status == RequestStatus::PendingApproval => {
                Some(Event::ApprovalRequired)
            }
            _ => None,
        }
    }
}

impl ScheduleRequest {
    /// Is this request `who`'s own business: its principal or its creator? They see and may
    /// cancel it without any role.
    pub fn concerns(&self, who: ObjectId) -> bool {
        self.principal_id == who || self.created_by == who
    }
}

/// The status an approved activation's request moves to once its schedule exists, and when it
/// completed: `Granted` while a future-dated activation waits for its start (completing then),
/// `Provisioned` when it is in effect now.
pub fn approved_request_status(activation: &Schedule, now: Instant) -> (RequestStatus, Instant) {
    let status = if activation.start > now { RequestStatus::Granted } else { RequestStatus::Provisioned };
    (status, activation.start.max(now))
}

/// What canceling a request withdraws besides the request itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Cancellation {
    /// The future-dated schedule this request created and that has not started yet: it is
    /// withdrawn with its request (one already in effect stays; removing it is a deactivation).
    pub withdraw: Option<Schedule>,
}

/// Cancels `request`, which must still be waiting (for its start or a decision). `target` is
/// the schedule it points at (`targetScheduleId`), when there is one.
pub fn cancel(request: &ScheduleRequest, target: Option<&Schedule>, now: Instant) -> DomainResult<Cancellation> {
    if !request.status.is_cancelable() {
        return Err(bad(
            "RequestNotCancelable",
            format!("A request with status '{}' cannot be canceled.", request.status.as_str()),
        ));
    }
    let withdraw = target
        .filter(|_| request.status == RequestStatus::Granted)
        .filter(|t| t.start > now && t.created_using == Some(request.id))
        .cloned();
    Ok(Cancellation { withdraw })
}

fn bad(code: &'static str, message: impl Into<String>) -> DomainError {
    DomainError::invalid(code, message)
}

fn exists_error(kind: Kind) -> DomainError {
    let what = if kind == Kind::Eligibility { "role eligibility" } else { "role assignment" };
    bad("RoleAssignmentExists", format!("The {what} already exists for this principal, role and scope."))
}

fn missing_error(kind: Kind) -> DomainError {
    let what = if kind == Kind::Eligibility { "role eligibility" } else { "role assignment" };
    bad("RoleAssignmentDoesNotExist", format!("The {what} does not exist for this principal, role and scope."))
}

fn too_short(kind: Kind) -> DomainError {
    match kind {
        // Microsoft's message, typo included, so clients matching on it keep working.
        Kind::Assignment => {
            bad("ActiveDurationTooShort", "The Active duration is too short. Miniumum Required is 5 minutes.")
        }
        Kind::Eligibility => {
            bad("EligibleDurationTooShort", "The Eligible duration is too short. Minimum required is 5 minutes.")
        }
    }
}

/// `t + d`, or a 400 when it would pass the last instant the calendar can hold (year 9999):
/// a client may send any start and duration, and none of them may panic the server.
pub fn add_checked(t: Instant, d: Duration) -> DomainResult<Instant> {
    t.checked_add(d).ok_or_else(|| {
        bad(
            "InvalidRoleAssignmentRequestSchedule",
            "The schedule would end after 9999-12-31T23:59:59Z, the latest date that can be stored.",
        )
    })
}

/// `t + d`, or the latest representable instant when that would overflow (for internal
/// deadlines such as an approval's expiry, where "never" is the right reading).
pub fn add_saturating(t: Instant, d: Duration) -> Instant {
    t.checked_add(d).unwrap_or(if d.is_negative() { EARLIEST } else { LATEST })
}

/// The first and last instants the calendar (and so the store) can hold.
pub const EARLIEST: Instant = time::macros::datetime!(-9999-01-01 0:00 UTC);
pub const LATEST: Instant = time::macros::datetime!(9999-12-31 23:59:59.999_999_999 UTC);

/// RFC 3339 (`2026-03-01T09:05:00Z`) for messages that tell a client when to come back.
fn rfc3339(t: Instant) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// Resolves a requested schedule to [start, end): a past or missing start becomes `now`.
fn resolve_window(s: &RequestSchedule, now: Instant, kind: Kind) -> DomainResult<(Instant, Option<Instant>)> {
    let start = s.start.filter(|t| *t > now).unwrap_or(now);
    let invalid = |m: &str| bad("InvalidRoleAssignmentRequestSchedule", m.to_string());
    let end = match s.expiration.kind {
        ExpirationType::NoExpiration | ExpirationType::NotSpecified => {
            match (s.expiration.end, s.expiration.duration) {
                (None, None) => None,
                // notSpecified with an end or duration: honour what was given.
                (Some(e), _) if s.expiration.kind == ExpirationType::NotSpecified => Some(e),
                (None, Some(d)) if s.expiration.kind == ExpirationType::NotSpecified => Some(add_checked(start, d)?),
                _ => return Err(invalid("expiration type noExpiration cannot carry an endDateTime or duration.")),
            }
        }
        ExpirationType::AfterDateTime => {
            Some(s.expiration.end.ok_or_else(|| invalid("expiration type afterDateTime requires endDateTime."))?)
        }
        ExpirationType::AfterDuration => {
            let d = s.expiration.duration.ok_or_else(|| invalid("expiration type afterDuration requires duration."))?;
            Some(add_checked(start, d)?)
        }
    };
    if let Some(e) = end {
        if e <= now {
            return Err(invalid("The schedule ends in the past."));
        }
        if e <= start || e - start < MINIMUM_DURATION {
            return Err(too_short(kind));
        }
    }
    Ok((start, end))
}

fn check_text(req: &NewRequest) -> DomainResult<()> {
    if req.justification.as_deref().is_some_and(|j| j.chars().count() > MAX_JUSTIFICATION) {
        return Err(DomainError::bad_request(format!("justification is longer than {MAX_JUSTIFICATION} characters.")));
    }
    for f in [&req.ticket.number, &req.ticket.system].into_iter().flatten() {
        if f.chars().count() > MAX_TICKET_FIELD {
            return Err(DomainError::bad_request(format!(
                "ticketInfo fields are limited to {MAX_TICKET_FIELD} characters."
            )));
        }
    }
    Ok(())
}

/// Decides a schedule request: validates it against the rules and the facts, and says what to do.
pub fn decide(req: NewRequest, ctx: &Context<'_>) -> DomainResult<Outcome> {
    let now = ctx.now;
    if !req.action.allowed_for(req.kind) {
        return Err(bad(
            "InvalidScheduleRequestAction",
            format!("The action '{}' is not supported for role eligibility schedule requests.", req.action.as_str()),
        ));
    }
    if req.action.is_self() {
        if req.principal_id != ctx.caller {
            return Err(DomainError::forbidden(format!(
                "The action '{}' can only be requested by the principal for itself.",
                req.action.as_str()
            )));
        }
    } else if !ctx.caller_is_admin {
        return Err(DomainError::forbidden(
            "Insufficient privileges to complete the operation. Admin actions need a role that grants \
             'microsoft.directory/roleAssignments/allProperties/allTasks' at this scope.",
        ));
    }
    check_text(&req)?;
    let role = ctx.role.ok_or_else(|| {
        bad("RoleDefinitionDoesNotExist", format!("The role definition '{}' does not exist.", req.role_definition_id))
    })?;
    let principal = ctx.principal.ok_or_else(|| {
        DomainError::bad_request(format!(
            "The principal '{}' does not exist or is not a user or group.",
            req.principal_id
        ))
    })?;
    // A role's dialect says where it applies: directory roles at directory scopes, Azure roles
    // at ARM scopes. The other family does not know the role.
    let is_azure_role = role.dialect == crate::roles::PermissionDialect::Azure;
    if is_azure_role != req.scope.as_arm().is_some() {
        return Err(bad(
            "RoleDefinitionDoesNotExist",
            format!("The specified role definition with ID '{}' does not exist at scope '{}'.", role.id, req.scope),
        ));
    }
    // Entra grants directory roles only to role-assignable groups; Azure RBAC takes any group.
    if principal.kind == ObjectKind::Group && !principal.is_assignable_to_role && !is_azure_role {
        return Err(DomainError::bad_request(
            "Only groups created with isAssignableToRole set to true can be eligible for or assigned a directory role.",
        ));
    }
    let window = match (&req.schedule, req.action.needs_schedule()) {
        (Some(s), true) => Some(resolve_window(s, now, req.kind)?),
        (None, true) => {
            return Err(bad("InvalidRoleAssignmentRequestSchedule", "scheduleInfo is required for this action."));
        }
        (_, false) => None,
    };
    let policy_check = |start: Instant, end: Option<Instant>| -> DomainResult<()> {
        match ctx.policy.rules_for(req.action.caller(), req.kind.level()) {
            Some(rules) => rules.check(&PolicyInput {
                duration: end.map(|e| e - start.max(now)),
                justification: req.justification.as_deref(),
                ticket_number: req.ticket.number.as_deref(),
                ticket_system: req.ticket.system.as_deref(),
                mfa: ctx.mfa,
                acrs: ctx.acrs,
            }),
            None => Ok(()),
        }
    };
    let new_schedule = |start: Instant, end: Option<Instant>, assignment_type, activated_using| {
        let s = req.schedule.as_ref();
        Schedule {
            id: ctx.request_id,
            kind: req.kind,
            principal_id: req.principal_id,
            principal_kind: principal.kind,
            role_definition_id: role.id,
            scope: req.scope.clone(),
            assignment_type: (req.kind == Kind::Assignment).then_some(assignment_type),
            start,
            end,
            expiration_type: s.map_or(ExpirationType::NoExpiration, |s| s.expiration.kind),
            duration: s.and_then(|s| s.expiration.duration),
            status: if start > now { ScheduleStatus::Granted } else { ScheduleStatus::Provisioned },
            created_using: Some(ctx.request_id),
            activated_using,
            created: now,
            modified: now,
            created_by: Some(ctx.caller),
        }
    };
    let removal_lock = |live: &Schedule| -> DomainResult<()> {
        if now - live.created < MINIMUM_DURATION {
            let mut e = too_short(req.kind);
            // Say when it becomes possible, so a client (or a person) need not guess.
            e.message =
                format!("{}; retry after {}", e.message, rfc3339(add_saturating(live.created, MINIMUM_DURATION)));
            return Err(e);
        }
        Ok(())
    };
    let renewable = |expired: &Schedule| -> DomainResult<()> {
        match expired.end {
            Some(end) if now - end > RENEW_WINDOW => Err(bad(
                "InvalidRenewRequest",
                format!(
                    "Only schedules that ended within the last 30 days can be renewed; this one ended at {}.",
                    rfc3339(end)
                ),
            )),
            _ => Ok(()),
        }
    };
    let expiring = |live: &Schedule| -> DomainResult<Instant> {
        match live.end {
            Some(end) if end - now <= EXTEND_WINDOW => Ok(end),
            Some(_) => Err(bad("InvalidExtendRequest", "Only schedules that end within 14 days can be extended.")),
            None => Err(bad("InvalidExtendRequest", "A permanent schedule cannot be extended.")),
        }
    };

    let effect = match req.action {
        Action::AdminAssign => {
            if ctx.live.is_some() {
                return Err(exists_error(req.kind));
            }
            let (start, end) = window.expect("needs_schedule");
            policy_check(start, end)?;
            Effect::Create(new_schedule(start, end, AssignmentType::Assigned, None))
        }
        Action::AdminUpdate => {
            let live = ctx.live.ok_or_else(|| missing_error(req.kind))?;
            let (start, end) = window.expect("needs_schedule");
            // A start in the past keeps the schedule's own start rather than resetting it.
            let start = if start <= now { live.start.min(now) } else { start };
            if let Some(e) = end {
                if e - start < MINIMUM_DURATION {
                    return Err(too_short(req.kind));
                }
            }
            policy_check(start, end)?;
            let s = req.schedule.as_ref().expect("needs_schedule");
            Effect::Replace(Schedule {
                start,
                end,
                expiration_type: s.expiration.kind,
                duration: s.expiration.duration,
                status: if start > now { ScheduleStatus::Granted } else { ScheduleStatus::Provisioned },
                modified: now,
                ..live.clone()
            })
        }
        Action::AdminRemove => {
            let live = ctx.live.ok_or_else(|| missing_error(req.kind))?;
            removal_lock(live)?;
            Effect::Remove(live.clone())
        }
        Action::AdminExtend => {
            let live = ctx.live.ok_or_else(|| missing_error(req.kind))?;
            let old_end = expiring(live)?;
            let (_, end) = window.expect("needs_schedule");
            let new_end = end.ok_or_else(|| {
                bad("InvalidExtendRequest", "An extension needs an end (afterDateTime or afterDuration).")
            })?;
            if new_end <= old_end {
                return Err(bad("InvalidExtendRequest", "The extended end must be later than the current end."));
            }
            policy_check(now, Some(new_end))?;
            Effect::Replace(Schedule {
                end: Some(new_end),
                expiration_type: ExpirationType::AfterDateTime,
                duration: None,
                modified: now,
                ..live.clone()
            })
        }
        Action::AdminRenew => {
            if ctx.live.is_some_and(|l| !l.has_ended(now)) {
                return Err(bad("InvalidRenewRequest", "The schedule has not expired; extend it instead."));
            }
            let expired = ctx
                .expired
                .or(ctx.live)
                .ok_or_else(|| bad("InvalidRenewRequest", "There is no expired schedule to renew."))?;
            renewable(expired)?;
            let (start, end) = window.expect("needs_schedule");
            policy_check(start, end)?;
            let s = req.schedule.as_ref().expect("needs_schedule");
            Effect::Replace(Schedule {
                start,
                end,
                expiration_type: s.expiration.kind,
                duration: s.expiration.duration,
                status: if start > now { ScheduleStatus::Granted } else { ScheduleStatus::Provisioned },
                modified: now,
                ..expired.clone()
            })
        }
        Action::SelfActivate => {
            if ctx.pending_activation {
                return Err(bad(
                    "PendingRoleAssignmentRequest",
                    "An activation request for this role and scope is already waiting for approval.",
                ));
            }
            if ctx.live.is_some_and(|l| !l.has_ended(now)) {
                return Err(exists_error(req.kind));
            }
            let (start, end) = window.expect("needs_schedule");
            let eligibility = best_eligibility(ctx.eligibilities, start, end, now).ok_or_else(|| {
                bad("RoleAssignmentDoesNotExist", "The principal is not eligible for this role at this scope.")
            })?;
            if eligibility.start > start {
                return Err(bad(
                    "InvalidRoleAssignmentRequestSchedule",
                    "The activation would start before the eligibility does.",
                ));
            }
            if let Some(elig_end) = eligibility.end {
                if end.is_none_or(|e| e > elig_end) {
                    return Err(bad(
                        "InvalidRoleAssignmentRequestSchedule",
                        format!("The activation cannot outlive the eligibility, which ends at {elig_end}."),
                    ));
                }
            }
            policy_check(start, end)?;
            let rules = ctx.policy.rules_for(policy::Caller::EndUser, policy::Level::Assignment);
            if rules.is_some_and(|r| r.approval_required) {
                Effect::Nothing
            } else {
                Effect::Create(new_schedule(start, end, AssignmentType::Activated, Some(eligibility.id)))
            }
        }
        Action::SelfDeactivate => {
            let live = ctx.live.filter(|l| !l.has_ended(now)).ok_or_else(|| missing_error(req.kind))?;
            if live.assignment_type != Some(AssignmentType::Activated) {
                return Err(bad(
                    "RoleAssignmentDoesNotExist",
                    "There is no activation to deactivate: this role was assigned by an administrator.",
                ));
            }
            removal_lock(live)?;
            Effect::Remove(live.clone())
        }
        Action::SelfExtend => {
            let live = ctx.live.ok_or_else(|| missing_error(req.kind))?;
            expiring(live)?;
            Effect::Nothing
        }
        Action::SelfRenew => {
            if ctx.live.is_some_and(|l| !l.has_ended(now)) {
                return Err(bad("InvalidRenewRequest", "The schedule has not expired; extend it instead."));
            }
            let expired = ctx
                .expired
                .or(ctx.live)
                .ok_or_else(|| bad("InvalidRenewRequest", "There is no expired schedule to renew."))?;
            renewable(expired)?;
            Effect::Nothing
        }
    };

    let (status, completed, target, schedule_info) = match &effect {
        Effect::Create(s) | Effect::Replace(s) => {
            let pending = s.start > now;
            (
                if pending { RequestStatus::Granted } else { RequestStatus::Provisioned },
                Some(if pending { s.start } else { now }),
                Some(s.id),
                Some(RequestSchedule {
                    start: Some(s.start),
                    expiration: req.schedule.as_ref().map(|r| r.expiration.clone()).unwrap_or(Expiration {
                        kind: s.expiration_type,
                        end: s.end,
                        duration: s.duration,
                    }),
                }),
            )
        }
        Effect::Remove(_) => (RequestStatus::Revoked, Some(now), None, None),
        Effect::Nothing => {
            let status = if req.action == Action::SelfActivate {
                RequestStatus::PendingApproval
            } else {
                RequestStatus::PendingAdminDecision
            };
            let target = if req.action == Action::SelfActivate {
                Some(ctx.request_id)
            } else {
                ctx.live.or(ctx.expired).map(|s| s.id)
            };
            let info = window.map(|(start, _)| RequestSchedule {
                start: Some(start),
                expiration: req.schedule.as_ref().map(|r| r.expiration.clone()).expect("needs_schedule"),
            });
            (status, None, target, info)
        }
    };
    let answers_self_requests = match (&effect, req.action) {
        (Effect::Replace(_), Action::AdminExtend) => Some(Action::SelfExtend),
        (Effect::Replace(_), Action::AdminRenew) => Some(Action::SelfRenew),
        _ => None,
    };
    Ok(Outcome {
        request: ScheduleRequest {
            id: ctx.request_id,
            kind: req.kind,
            action: req.action,
            principal_id: req.principal_id,
            role_definition_id: req.role_definition_id,
            scope: req.scope,
            justification: req.justification,
            schedule: schedule_info,
            ticket: req.ticket,
            status,
            created: now,
            completed,
            created_by: ctx.caller,
            target_schedule_id: target,
            approval_id: None,
            is_validation_only: req.is_validation_only,
            custom_data: req.custom_data,
        },
        effect,
        answers_self_requests,
    })
}

/// Of the eligibilities a principal holds for a role and scope (directly or through groups),
/// the one to activate from for the window [`start`, `end`): not ended; first those that cover
/// the whole window, then those in effect when it starts (one that has not started yet cannot
/// be activated from, however long it lasts), then the one lasting longest (permanent first).
pub fn best_eligibility(
    candidates: &[Schedule],
    start: Instant,
    end: Option<Instant>,
    now: Instant,
) -> Option<&Schedule> {
    let in_effect_at_start = |e: &Schedule| e.start <= start;
    let covers = |e: &Schedule| {
        in_effect_at_start(e)
            && match (e.end, end) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(e_end), Some(w_end)) => w_end <= e_end,
            }
    };
    candidates
        .iter()
        .filter(|e| !e.has_ended(now))
        .max_by_key(|e| (covers(e), in_effect_at_start(e), e.end.map_or(i128::MAX, |t| t.unix_timestamp_nanos())))
}

/// Turns an approved activation request into its schedule. The activation starts at the
/// approval (or the requested start, if later), keeps the requested length, and is capped by the
/// policy's maximum and by the eligibility it comes from.
pub fn activate_approved(
    request: &ScheduleRequest,
    principal_kind: ObjectKind,
    eligibilities: &[Schedule],
    live: Option<&Schedule>,
    policy: &RolePolicy,
    approved_at: Instant,
) -> DomainResult<Schedule> {
    let now = approved_at;
    if live.is_some_and(|l| !l.has_ended(now)) {
        return Err(exists_error(Kind::Assignment));
    }
    let requested = request
        .schedule
        .as_ref()
        .ok_or_else(|| bad("InvalidRoleAssignmentRequestSchedule", "The request has no schedule."))?;
    let requested_start = requested.start.unwrap_or(request.created);
    let start = requested_start.max(now);
    let length = match requested.expiration.kind {
        ExpirationType::AfterDuration => requested.expiration.duration,
        ExpirationType::AfterDateTime => requested.expiration.end.map(|e| e - requested_start),
        _ => None,
    };
    let max = policy.end_user_assignment.expiration.maximum_duration;
    let mut end = add_checked(start, length.unwrap_or(max).min(max))?;
    let eligibility = best_eligibility(eligibilities, start, Some(end), now).ok_or_else(|| {
        bad("RoleAssignmentDoesNotExist", "The eligibility this request was made from no longer exists.")
    })?;
    if let Some(elig_end) = eligibility.end {
        end = end.min(elig_end);
    }
    if end - start < MINIMUM_DURATION {
        return Err(too_short(Kind::Assignment));
    }
    Ok(Schedule {
        id: request.id,
        kind: Kind::Assignment,
        principal_id: request.principal_id,
        principal_kind,
        role_definition_id: request.role_definition_id,
        scope: request.scope.clone(),
        assignment_type: Some(AssignmentType::Activated),
        start,
        end: Some(end),
        expiration_type: ExpirationType::AfterDateTime,
        duration: None,
        status: if start > now { ScheduleStatus::Granted } else { ScheduleStatus::Provisioned },
        created_using: Some(request.id),
        activated_using: Some(eligibility.id),
        created: now,
        modified: now,
        created_by: Some(request.created_by),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{self, USER_ADMINISTRATOR};
    use time::macros::datetime;

    const T0: Instant = datetime!(2026-03-01 09:00 UTC);

    struct World {
        role: RoleDefinition,
        policy: RolePolicy,
        admin: ObjectId,
        alice: ObjectId,
    }

    impl World {
        fn new() -> Self {
            let role = catalog::builtin_roles(T0).into_iter().find(|r| r.id == USER_ADMINISTRATOR).unwrap();
            Self { role, policy: RolePolicy::entra_default(), admin: ObjectId::new_v4(), alice: ObjectId::new_v4() }
        }

        fn ctx<'a>(
            &'a self,
            now: Instant,
            caller: ObjectId,
            live: Option<&'a Schedule>,
            eligibility: Option<&'a Schedule>,
        ) -> Context<'a> {
            Context {
                now,
                request_id: ObjectId::new_v4(),
                caller,
                caller_is_admin: caller == self.admin,
                mfa: true,
                acrs: &[],
                principal: Some(PrincipalFacts { kind: ObjectKind::User, is_assignable_to_role: false }),
                role: Some(&self.role),
                live,
                expired: None,
                eligibilities: eligibility.map(std::slice::from_ref).unwrap_or(&[]),
                pending_activation: false,
                policy: &self.policy,
            }
        }

        fn req(&self, kind: Kind, action: Action, schedule: Option<RequestSchedule>) -> NewRequest {
            NewRequest {
                kind,
                action,
                principal_id: self.alice,
                role_definition_id: self.role.id,
                scope: Scope::TENANT,
                justification: Some("ticket 42".into()),
                schedule,
                ticket: Ticket::default(),
                is_validation_only: false,
                custom_data: None,
            }
        }
    }

    fn after(start: Option<Instant>, d: Duration) -> Option<RequestSchedule> {
        Some(RequestSchedule {
            start,
            expiration: Expiration { kind: ExpirationType::AfterDuration, end: None, duration: Some(d) },
        })
    }

    fn permanent() -> Option<RequestSchedule> {
        Some(RequestSchedule {
            start: None,
            expiration: Expiration { kind: ExpirationType::NoExpiration, end: None, duration: None },
        })
    }

    fn created(o: Outcome) -> Schedule {
        match o.effect {
            Effect::Create(s) | Effect::Replace(s) => s,
            other => panic!("expected a schedule, got {other:?}"),
        }
    }

    fn eligible(w: &World, now: Instant) -> Schedule {
        created(
            decide(w.req(Kind::Eligibility, Action::AdminAssign, permanent()), &w.ctx(now, w.admin, None, None))
                .unwrap(),
        )
    }

    #[test]
    fn admin_assigns_a_permanent_eligibility_now() {
        let w = World::new();
        let ctx = w.ctx(T0, w.admin, None, None);
        let out = decide(w.req(Kind::Eligibility, Action::AdminAssign, permanent()), &ctx).unwrap();
        assert_eq!(out.request.status, RequestStatus::Provisioned);
        assert_eq!(out.request.target_schedule_id, Some(ctx.request_id), "targetScheduleId is the request id");
        let s = created(out);
        assert_eq!((s.start, s.end, s.status), (T0, None, ScheduleStatus::Provisioned));
        assert_eq!(s.assignment_type, None);
    }

    #[test]
    fn a_past_start_becomes_now_and_a_future_start_is_granted_until_then() {
        let w = World::new();
        let past = decide(
            w.req(Kind::Assignment, Action::AdminAssign, after(Some(T0 - Duration::days(3)), Duration::days(10))),
            &w.ctx(T0, w.admin, None, None),
        )
        .unwrap();
        assert_eq!(past.request.schedule.as_ref().unwrap().start, Some(T0));
        let start = T0 + Duration::hours(2);
        let out = decide(
            w.req(Kind::Assignment, Action::AdminAssign, after(Some(start), Duration::days(1))),
            &w.ctx(T0, w.admin, None, None),
        )
        .unwrap();
        assert_eq!(out.request.status, RequestStatus::Granted);
        assert_eq!(out.request.completed, Some(start));
        let s = created(out);
        assert_eq!(s.status, ScheduleStatus::Granted);
        let g = s.to_grant();
        assert!(!g.is_effective(start - Duration::SECOND));
        assert!(g.is_effective(start));
        assert!(g.is_effective(start + Duration::days(1) - Duration::SECOND));
        assert!(!g.is_effective(start + Duration::days(1)), "expires at the exact second");
    }

    #[test]
    fn activation_from_an_eligibility() {
        let w = World::new();
        let elig = eligible(&w, T0);
        let now = T0 + Duration::hours(1);
        let out = decide(
            w.req(Kind::Assignment, Action::SelfActivate, after(None, Duration::hours(2))),
            &w.ctx(now, w.alice, None, Some(&elig)),
        )
        .unwrap();
        let s = created(out);
        assert_eq!(s.assignment_type, Some(AssignmentType::Activated));
        assert_eq!(s.activated_using, Some(elig.id));
        assert_eq!(s.end, Some(now + Duration::hours(2)));
    }

    #[test]
    fn activation_rules() {
        let w = World::new();
        let now = T0 + Duration::hours(1);
        let act = |dur| w.req(Kind::Assignment, Action::SelfActivate, after(None, dur));
        // No eligibility.
        let e = decide(act(Duration::hours(1)), &w.ctx(now, w.alice, None, None)).unwrap_err();
        assert_eq!(e.code, "RoleAssignmentDoesNotExist");
        let elig = eligible(&w, T0);
        // Somebody else's principal.
        let bob = ObjectId::new_v4();
        let e = decide(act(Duration::hours(1)), &w.ctx(now, bob, None, Some(&elig))).unwrap_err();
        assert_eq!(e.code, "Authorization_RequestDenied");
        // Over the 8h maximum, or permanent.
        let e = decide(act(Duration::hours(9)), &w.ctx(now, w.alice, None, Some(&elig))).unwrap_err();
        assert_eq!(e.code, "RoleAssignmentRequestPolicyValidationFailed");
        let e =
            decide(w.req(Kind::Assignment, Action::SelfActivate, permanent()), &w.ctx(now, w.alice, None, Some(&elig)))
                .unwrap_err();
        assert!(e.message.contains("ExpirationRule"));
        // Under five minutes.
        let e = decide(act(Duration::minutes(4)), &w.ctx(now, w.alice, None, Some(&elig))).unwrap_err();
        assert_eq!(e.code, "ActiveDurationTooShort");
        // Without MFA or justification.
        let mut ctx = w.ctx(now, w.alice, None, Some(&elig));
        ctx.mfa = false;
        let mut r = act(Duration::hours(1));
        r.justification = None;
        let e = decide(r, &ctx).unwrap_err();
        assert!(e.message.contains("JustificationRule") && e.message.contains("MfaRule"), "{e}");
        // Already active: a second overlapping activation is refused.
        let active = created(decide(act(Duration::hours(1)), &w.ctx(now, w.alice, None, Some(&elig))).unwrap());
        let e = decide(act(Duration::hours(1)), &w.ctx(now, w.alice, Some(&active), Some(&elig))).unwrap_err();
        assert_eq!(e.code, "RoleAssignmentExists");
        // Once that activation has ended it no longer blocks.
        let later = now + Duration::hours(1);
        decide(act(Duration::hours(1)), &w.ctx(later, w.alice, Some(&active), Some(&elig))).unwrap();
    }

    #[test]
    fn an_activation_cannot_outlive_its_eligibility() {
        let w = World::new();
        let elig = created(
            decide(
                w.req(Kind::Eligibility, Action::AdminAssign, after(None, Duration::hours(3))),
                &w.ctx(T0, w.admin, None, None),
            )
            .unwrap(),
        );
        let now = T0 + Duration::hours(2);
        let e = decide(
            w.req(Kind::Assignment, Action::SelfActivate, after(None, Duration::hours(2))),
            &w.ctx(now, w.alice, None, Some(&elig)),
        )
        .unwrap_err();
        assert_eq!(e.code, "InvalidRoleAssignmentRequestSchedule");
        decide(
            w.req(Kind::Assignment, Action::SelfActivate, after(None, Duration::minutes(30))),
            &w.ctx(now, w.alice, None, Some(&elig)),
        )
        .unwrap();
        // After the eligibility ended, nothing to activate from.
        let e = decide(
            w.req(Kind::Assignment, Action::SelfActivate, after(None, Duration::minutes(30))),
            &w.ctx(T0 + Duration::hours(3), w.alice, None, Some(&elig)),
        )
        .unwrap_err();
        assert_eq!(e.code, "RoleAssignmentDoesNotExist");
    }

    #[test]
    fn removal_is_locked_for_five_minutes() {
        let w = World::new();
        let elig = eligible(&w, T0);
        let active = created(
            decide(
                w.req(Kind::Assignment, Action::SelfActivate, after(None, Duration::hours(1))),
                &w.ctx(T0, w.alice, None, Some(&elig)),
            )
            .unwrap(),
        );
        let deactivate = || w.req(Kind::Assignment, Action::SelfDeactivate, None);
        let e = decide(deactivate(), &w.ctx(T0 + Duration::minutes(4), w.alice, Some(&active), None)).unwrap_err();
        assert_eq!(e.code, "ActiveDurationTooShort");
        let out = decide(deactivate(), &w.ctx(T0 + Duration::minutes(5), w.alice, Some(&active), None)).unwrap();
        assert_eq!(out.request.status, RequestStatus::Revoked);
        assert!(out.request.schedule.is_none() && out.request.target_schedule_id.is_none());
        assert!(matches!(out.effect, Effect::Remove(_)));
        let e = decide(
            w.req(Kind::Eligibility, Action::AdminRemove, None),
            &w.ctx(T0 + Duration::minutes(1), w.admin, Some(&elig), None),
        )
        .unwrap_err();
        assert_eq!(e.code, "EligibleDurationTooShort");
        decide(
            w.req(Kind::Eligibility, Action::AdminRemove, None),
            &w.ctx(T0 + Duration::minutes(6), w.admin, Some(&elig), None),
        )
        .unwrap();
    }

    #[test]
    fn admin_assigned_roles_cannot_be_self_deactivated() {
        let w = World::new();
        let assigned = created(
            decide(w.req(Kind::Assignment, Action::AdminAssign, permanent()), &w.ctx(T0, w.admin, None, None)).unwrap(),
        );
        let e = decide(
            w.req(Kind::Assignment, Action::SelfDeactivate, None),
            &w.ctx(T0 + Duration::hours(1), w.alice, Some(&assigned), None),
        )
        .unwrap_err();
        assert_eq!(e.code, "RoleAssignmentDoesNotExist");
    }

    #[test]
    fn eligibility_requests_do_not_take_activation_actions() {
        let w = World::new();
        for action in [Action::SelfActivate, Action::SelfDeactivate] {
            let e = decide(
                w.req(Kind::Eligibility, action, after(None, Duration::hours(1))),
                &w.ctx(T0, w.alice, None, None),
            )
            .unwrap_err();
            assert_eq!(e.code, "InvalidScheduleRequestAction");
        }
    }

    #[test]
    fn only_admins_take_admin_actions() {
        let w = World::new();
        for action in
            [Action::AdminAssign, Action::AdminUpdate, Action::AdminRemove, Action::AdminExtend, Action::AdminRenew]
        {
            let e = decide(w.req(Kind::Assignment, action, permanent()), &w.ctx(T0, w.alice, None, None)).unwrap_err();
            assert_eq!(e.code, "Authorization_RequestDenied", "{action:?}");
        }
    }

    #[test]
    fn duplicates_updates_and_missing_targets() {
        let w = World::new();
        let elig = eligible(&w, T0);
        let e =
            decide(w.req(Kind::Eligibility, Action::AdminAssign, permanent()), &w.ctx(T0, w.admin, Some(&elig), None))
                .unwrap_err();
        assert_eq!(e.code, "RoleAssignmentExists");
        for action in [Action::AdminUpdate, Action::AdminRemove, Action::AdminExtend] {
            let e = decide(
                w.req(Kind::Eligibility, action, after(None, Duration::days(1))),
                &w.ctx(T0, w.admin, None, None),
            )
            .unwrap_err();
            assert_eq!(e.code, "RoleAssignmentDoesNotExist", "{action:?}");
        }
        let now = T0 + Duration::days(1);
        let updated = created(
            decide(
                w.req(Kind::Eligibility, Action::AdminUpdate, after(None, Duration::days(30))),
                &w.ctx(now, w.admin, Some(&elig), None),
            )
            .unwrap(),
        );
        assert_eq!(updated.id, elig.id, "an update keeps the schedule");
        assert_eq!(updated.start, T0, "a past start keeps the original start");
        assert_eq!(updated.end, Some(now + Duration::days(30)));
    }

    #[test]
    fn extend_and_renew() {
        let w = World::new();
        let elig = created(
            decide(
                w.req(Kind::Eligibility, Action::AdminAssign, after(None, Duration::days(30))),
                &w.ctx(T0, w.admin, None, None),
            )
            .unwrap(),
        );
        let extend = |d| w.req(Kind::Eligibility, Action::AdminExtend, after(None, d));
        // Not yet within 14 days of its end.
        let e =
            decide(extend(Duration::days(60)), &w.ctx(T0 + Duration::days(1), w.admin, Some(&elig), None)).unwrap_err();
        assert_eq!(e.code, "InvalidExtendRequest");
        let now = T0 + Duration::days(20);
        let extended = created(decide(extend(Duration::days(60)), &w.ctx(now, w.admin, Some(&elig), None)).unwrap());
        assert_eq!((extended.id, extended.start), (elig.id, T0));
        assert_eq!(extended.end, Some(now + Duration::days(60)));
        // An extension that shortens is refused.
        let e = decide(extend(Duration::days(5)), &w.ctx(now, w.admin, Some(&elig), None)).unwrap_err();
        assert_eq!(e.code, "InvalidExtendRequest");
        // The user asks; an admin decides.
        let asked = decide(
            w.req(Kind::Eligibility, Action::SelfExtend, after(None, Duration::days(60))),
            &w.ctx(now, w.alice, Some(&elig), None),
        )
        .unwrap();
        assert_eq!(asked.request.status, RequestStatus::PendingAdminDecision);
        assert_eq!(asked.effect, Effect::Nothing);
        // Renew once it has expired.
        let expired_at = T0 + Duration::days(31);
        let renew = w.req(Kind::Eligibility, Action::AdminRenew, after(None, Duration::days(90)));
        let e = decide(renew.clone(), &w.ctx(now, w.admin, Some(&elig), None)).unwrap_err();
        assert_eq!(e.code, "InvalidRenewRequest");
        let renewed = created(decide(renew, &w.ctx(expired_at, w.admin, Some(&elig), None)).unwrap());
        assert_eq!((renewed.start, renewed.end), (expired_at, Some(expired_at + Duration::days(90))));
        assert_eq!(renewed.status, ScheduleStatus::Provisioned);
    }

    #[test]
    fn group_principals_must_be_role_assignable() {
        let w = World::new();
        let mut ctx = w.ctx(T0, w.admin, None, None);
        ctx.principal = Some(PrincipalFacts { kind: ObjectKind::Group, is_assignable_to_role: false });
        let e = decide(w.req(Kind::Eligibility, Action::AdminAssign, permanent()), &ctx).unwrap_err();
        assert!(e.message.contains("isAssignableToRole"));
        ctx.principal = Some(PrincipalFacts { kind: ObjectKind::Group, is_assignable_to_role: true });
        decide(w.req(Kind::Eligibility, Action::AdminAssign, permanent()), &ctx).unwrap();
    }

    #[test]
    fn approval_required_leaves_the_activation_pending() {
        let mut w = World::new();
        w.policy.end_user_assignment.approval_required = true;
        let elig = eligible(&w, T0);
        let out = decide(
            w.req(Kind::Assignment, Action::SelfActivate, after(None, Duration::hours(1))),
            &w.ctx(T0, w.alice, None, Some(&elig)),
        )
        .unwrap();
        assert_eq!(out.request.status, RequestStatus::PendingApproval);
        assert_eq!(out.effect, Effect::Nothing);
    }

    #[test]
    fn approved_activations_start_at_approval_and_are_capped() {
        let mut w = World::new();
        w.policy.end_user_assignment.approval_required = true;
        let elig = eligible(&w, T0);
        let out = decide(
            w.req(Kind::Assignment, Action::SelfActivate, after(None, Duration::hours(2))),
            &w.ctx(T0, w.alice, None, Some(&elig)),
        )
        .unwrap();
        let approved_at = T0 + Duration::hours(3);
        let s = activate_approved(
            &out.request,
            ObjectKind::User,
            std::slice::from_ref(&elig),
            None,
            &w.policy,
            approved_at,
        )
        .unwrap();
        assert_eq!((s.start, s.end), (approved_at, Some(approved_at + Duration::hours(2))));
        assert_eq!(s.id, out.request.id);
        // The policy shrank to one hour while the request waited: the cap applies.
        w.policy.end_user_assignment.expiration.maximum_duration = Duration::hours(1);
        let s = activate_approved(
            &out.request,
            ObjectKind::User,
            std::slice::from_ref(&elig),
            None,
            &w.policy,
            approved_at,
        )
        .unwrap();
        assert_eq!(s.end, Some(approved_at + Duration::hours(1)));
        // The eligibility went away: nothing to activate.
        let e = activate_approved(&out.request, ObjectKind::User, &[], None, &w.policy, approved_at).unwrap_err();
        assert_eq!(e.code, "RoleAssignmentDoesNotExist");
    }

    #[test]
    fn the_longest_live_eligibility_is_activated_from() {
        let w = World::new();
        let short = created(
            decide(
                w.req(Kind::Eligibility, Action::AdminAssign, after(None, Duration::days(1))),
                &w.ctx(T0, w.admin, None, None),
            )
            .unwrap(),
        );
        let long = created(
            decide(
                w.req(Kind::Eligibility, Action::AdminAssign, after(None, Duration::days(9))),
                &w.ctx(T0, w.admin, None, None),
            )
            .unwrap(),
        );
        let forever = eligible(&w, T0);
        let hour = Some(T0 + Duration::hours(1));
        assert_eq!(best_eligibility(&[short.clone(), long.clone()], T0, hour, T0).unwrap().id, long.id);
        assert_eq!(
            best_eligibility(&[short.clone(), forever.clone(), long.clone()], T0, hour, T0).unwrap().id,
            forever.id
        );
        let later = T0 + Duration::days(2);
        assert!(best_eligibility(&[short], later, Some(later + Duration::hours(1)), later).is_none());
    }

    #[test]
    fn windows_and_expirations_are_validated() {
        let w = World::new();
        let bad_end = Some(RequestSchedule {
            start: None,
            expiration: Expiration { kind: ExpirationType::AfterDateTime, end: None, duration: None },
        });
        let e = decide(w.req(Kind::Eligibility, Action::AdminAssign, bad_end), &w.ctx(T0, w.admin, None, None))
            .unwrap_err();
        assert_eq!(e.code, "InvalidRoleAssignmentRequestSchedule");
        let past_end = Some(RequestSchedule {
            start: None,
            expiration: Expiration {
                kind: ExpirationType::AfterDateTime,
                end: Some(T0 - Duration::hours(1)),
                duration: None,
            },
        });
        let e = decide(w.req(Kind::Eligibility, Action::AdminAssign, past_end), &w.ctx(T0, w.admin, None, None))
            .unwrap_err();
        assert_eq!(e.code, "InvalidRoleAssignmentRequestSchedule");
        let e =
            decide(w.req(Kind::Eligibility, Action::AdminAssign, None), &w.ctx(T0, w.admin, None, None)).unwrap_err();
        assert!(e.message.contains("scheduleInfo"));
        let e = decide(
            w.req(Kind::Assignment, Action::AdminAssign, after(None, Duration::minutes(2))),
            &w.ctx(T0, w.admin, None, None),
        )
        .unwrap_err();
        assert_eq!(e.code, "ActiveDurationTooShort");
    }

    #[test]
    fn status_converges_with_time() {
        let w = World::new();
        let s = created(
            decide(
                w.req(Kind::Assignment, Action::AdminAssign, after(Some(T0 + Duration::hours(1)), Duration::hours(1))),
                &w.ctx(T0, w.admin, None, None),
            )
            .unwrap(),
        );
        assert_eq!(s.status_at(T0), ScheduleStatus::Granted);
        assert_eq!(s.status_at(T0 + Duration::hours(1)), ScheduleStatus::Provisioned);
        assert_eq!(s.status_at(T0 + Duration::hours(2)), ScheduleStatus::Expired);
    }

    #[test]
    fn an_eligibility_in_effect_for_the_window_is_preferred_to_a_later_longer_one() {
        let w = World::new();
        // In effect now, ends in a week.
        let current = created(
            decide(
                w.req(Kind::Eligibility, Action::AdminAssign, after(None, Duration::days(7))),
                &w.ctx(T0, w.admin, None, None),
            )
            .unwrap(),
        );
        // Ends last, but starts only tomorrow (e.g. held through a group).
        let future = Schedule {
            id: ObjectId::new_v4(),
            start: T0 + Duration::days(1),
            end: Some(T0 + Duration::days(60)),
            status: ScheduleStatus::Granted,
            ..current.clone()
        };
        let hour = Some(T0 + Duration::hours(1));
        let both = [future.clone(), current.clone()];
        assert_eq!(best_eligibility(&both, T0, hour, T0).unwrap().id, current.id);
        // So activating now works (it used to pick `future` and refuse).
        let ctx = Context { eligibilities: &both, ..w.ctx(T0, w.alice, None, None) };
        let out = decide(w.req(Kind::Assignment, Action::SelfActivate, after(None, Duration::hours(1))), &ctx).unwrap();
        assert_eq!(created(out).activated_using, Some(current.id));
        // For a window that starts once `future` is in effect and outlasts `current`, `future` wins.
        let later = T0 + Duration::days(6);
        assert_eq!(best_eligibility(&both, later, Some(later + Duration::days(2)), T0).unwrap().id, future.id);
    }

    #[test]
    fn a_pending_activation_blocks_another_and_an_admin_extend_answers_the_self_request() {
        let w = World::new();
        let elig = eligible(&w, T0);
        let ctx = Context { pending_activation: true, ..w.ctx(T0, w.alice, None, Some(&elig)) };
        let e =
            decide(w.req(Kind::Assignment, Action::SelfActivate, after(None, Duration::hours(1))), &ctx).unwrap_err();
        assert_eq!(e.code, "PendingRoleAssignmentRequest");
        let expiring = created(
            decide(
                w.req(Kind::Eligibility, Action::AdminAssign, after(None, Duration::days(3))),
                &w.ctx(T0, w.admin, None, None),
            )
            .unwrap(),
        );
        let extend = decide(
            w.req(Kind::Eligibility, Action::AdminExtend, after(None, Duration::days(30))),
            &w.ctx(T0 + Duration::days(1), w.admin, Some(&expiring), None),
        )
        .unwrap();
        assert_eq!(extend.answers_self_requests, Some(Action::SelfExtend));
        let assign =
            decide(w.req(Kind::Eligibility, Action::AdminAssign, permanent()), &w.ctx(T0, w.admin, None, None))
                .unwrap();
        assert_eq!(assign.answers_self_requests, None);
    }

    #[test]
    fn accepted_requests_announce_what_entra_notifies() {
        use crate::notify::Event;
        let w = World::new();
        let assign =
            decide(w.req(Kind::Eligibility, Action::AdminAssign, permanent()), &w.ctx(T0, w.admin, None, None))
                .unwrap();
        assert_eq!(assign.notification(), Some(Event::EligibilityAssigned));
        let active =
            decide(w.req(Kind::Assignment, Action::AdminAssign, permanent()), &w.ctx(T0, w.admin, None, None)).unwrap();
        assert_eq!(active.notification(), Some(Event::AssignmentAssigned));
        let elig = eligible(&w, T0);
        let activation = decide(
            w.req(Kind::Assignment, Action::SelfActivate, after(None, Duration::hours(1))),
            &w.ctx(T0, w.alice, None, Some(&elig)),
        )
        .unwrap();
        assert_eq!(activation.notification(), Some(Event::Activated));
        // A pending activation asks its approvers; an extension announces nothing.
        let mut pending = activation.clone();
        pending.effect = Effect::Nothing;
        pending.request.status = RequestStatus::PendingApproval;
        assert_eq!(pending.notification(), Some(Event::ApprovalRequired));
        let expiring = created(
            decide(
                w.req(Kind::Eligibility, Action::AdminAssign, after(None, Duration::days(3))),
                &w.ctx(T0, w.admin, None, None),
            )
            .unwrap(),
        );
        let extend = decide(
            w.req(Kind::Eligibility, Action::AdminExtend, after(None, Duration::days(30))),
            &w.ctx(T0 + Duration::days(1), w.admin, Some(&expiring), None),
        )
        .unwrap();
        assert_eq!(extend.notification(), None);
    }

    #[test]
    fn an_approved_activation_is_granted_until_it_starts() {
        let w = World::new();
        let elig = eligible(&w, T0);
        let activation = created(
            decide(
                w.req(Kind::Assignment, Action::SelfActivate, after(None, Duration::hours(1))),
                &w.ctx(T0, w.alice, None, Some(&elig)),
            )
            .unwrap(),
        );
        assert_eq!(approved_request_status(&activation, T0), (RequestStatus::Provisioned, T0));
        // Approved before its requested start: granted now, completed when it starts.
        let before_start = T0 - Duration::minutes(30);
        assert_eq!(approved_request_status(&activation, before_start), (RequestStatus::Granted, activation.start));
    }

    #[test]
    fn canceling_withdraws_only_a_future_grant_the_request_made() {
        let w = World::new();
        let outcome = decide(
            w.req(Kind::Eligibility, Action::AdminAssign, after(Some(T0 + Duration::days(1)), Duration::days(3))),
            &w.ctx(T0, w.admin, None, None),
        )
        .unwrap();
        let request = outcome.request.clone();
        assert_eq!(request.status, RequestStatus::Granted);
        assert!(request.concerns(w.admin) && !request.concerns(ObjectId::new_v4()));
        let sched = created(outcome);
        // Before it starts: withdrawn with its request.
        assert_eq!(cancel(&request, Some(&sched), T0).unwrap().withdraw, Some(sched.clone()));
        // Once in effect it stays, and a schedule another request made is never withdrawn.
        assert_eq!(cancel(&request, Some(&sched), T0 + Duration::days(2)).unwrap().withdraw, None);
        let other = Schedule { created_using: Some(ObjectId::new_v4()), ..sched.clone() };
        assert_eq!(cancel(&request, Some(&other), T0).unwrap().withdraw, None);
        // A request already done cannot be canceled.
        let done = ScheduleRequest { status: RequestStatus::Provisioned, ..request };
        assert_eq!(cancel(&done, Some(&sched), T0).unwrap_err().code, "RequestNotCancelable");
    }

    #[test]
    fn the_removal_lock_says_when_to_retry() {
        let w = World::new();
        let elig = eligible(&w, T0);
        let e = decide(
            w.req(Kind::Eligibility, Action::AdminRemove, None),
            &w.ctx(T0 + Duration::minutes(1), w.admin, Some(&elig), None),
        )
        .unwrap_err();
        assert_eq!(e.code, "EligibleDurationTooShort");
        assert!(e.message.ends_with("; retry after 2026-03-01T09:05:00Z"), "{}", e.message);
    }

    #[test]
    fn the_end_of_the_calendar_is_refused_not_a_panic() {
        let w = World::new();
        let last = LATEST;
        let e = decide(
            w.req(Kind::Eligibility, Action::AdminAssign, after(Some(last), Duration::hours(1))),
            &w.ctx(T0, w.admin, None, None),
        )
        .unwrap_err();
        assert_eq!(e.code, "InvalidRoleAssignmentRequestSchedule");
        assert_eq!(add_saturating(last, Duration::days(1)), last);
    }

    mod extremes {
        use super::*;
        use proptest::prelude::*;

        /// Any instant the calendar can hold (a far wider range than clients are likely to send).
        fn instant() -> impl Strategy<Value = Instant> {
            let (lo, hi) = (EARLIEST.unix_timestamp(), LATEST.unix_timestamp());
            prop_oneof![
                lo..=hi,
                (hi - 1_000_000)..=hi,
                Just(hi),
                (T0.unix_timestamp() - 1_000)..(T0.unix_timestamp() + 1_000_000),
            ]
            .prop_map(|s| Instant::from_unix_timestamp(s).expect("in range"))
        }

        fn duration() -> impl Strategy<Value = Duration> {
            prop_oneof![0i64..=600, 0i64..=(10_000 * 366 * 86_400), Just(i64::MAX / 2)].prop_map(Duration::seconds)
        }

        fn expiration() -> impl Strategy<Value = (ExpirationType, Option<Instant>, Option<Duration>)> {
            (
                prop_oneof![
                    Just(ExpirationType::AfterDuration),
                    Just(ExpirationType::AfterDateTime),
                    Just(ExpirationType::NotSpecified),
                    Just(ExpirationType::NoExpiration)
                ],
                proptest::option::of(instant()),
                proptest::option::of(duration()),
            )
        }

        proptest! {
            /// Whatever instants and durations a request carries, and whatever the clock says,
            /// every action is decided (accepted or refused with an error), never a panic; and an
            /// approved activation is computed without one either.
            #[test]
            fn decide_never_panics_on_extreme_instants(
                now in instant(),
                start in proptest::option::of(instant()),
                (kind, end, length) in expiration(),
                live_end in proptest::option::of(instant()),
                action in proptest::sample::select(Action::ALL.to_vec()),
                approved_at in instant(),
            ) {
                let w = World::new();
                let schedule = Some(RequestSchedule { start, expiration: Expiration { kind, end, duration: length } });
                let mut live = eligible(&w, T0);
                live.start = now.min(live_end.unwrap_or(now));
                live.end = live_end;
                live.created = live.start;
                let caller = if action.is_self() { w.alice } else { w.admin };
                let kinds = if action.allowed_for(Kind::Eligibility) { vec![Kind::Eligibility, Kind::Assignment] } else { vec![Kind::Assignment] };
                for k in kinds {
                    let mut live = live.clone();
                    live.kind = k;
                    let ctx = Context { expired: Some(&live), ..w.ctx(now, caller, Some(&live), Some(&live)) };
                    let decided = decide(w.req(k, action, schedule.clone()), &ctx);
                    if let Ok(out) = decided {
                        let _ = activate_approved(&out.request, ObjectKind::User, std::slice::from_ref(&live), None, &w.policy, approved_at);
                    }
                }
            }

            #[test]
            fn approval_deadlines_saturate(now in instant(), wait in duration()) {
                let t = add_saturating(now, wait);
                prop_assert!(t >= now);
            }
        }
    }
}
