//! What PIM's audit records say, in the detail vocabulary of `openpim_core::audit::detail`:
//! the request (requestor, role, scope, justification, ticket, requested window), what was
//! granted, each approver's decision, and a policy rule's old and new values. The request flow,
//! the approval handler and the policy handler call these, so every PIM record carries the same
//! facts under the same keys. Names are not resolved here: the store's write path adds them.

use crate::state::Audit;
use openpim_core::approval::{Approval, ReviewResult};
use openpim_core::audit::detail as d;
use openpim_core::duration;
use openpim_core::schedule::{NewRequest, RequestSchedule, Schedule, ScheduleRequest, Ticket};
use openpim_core::scope::Scope;
use openpim_core::{Instant, ObjectId};
use serde_json::Value;

fn rfc3339(t: Instant) -> String {
    crate::wire::datetime(t)
}

/// The facts of a request as it was asked, shared by new and stored requests.
#[allow(clippy::too_many_arguments)]
fn asked(
    mut audit: Audit,
    requestor: ObjectId,
    principal: ObjectId,
    role: ObjectId,
    scope: &Scope,
    justification: Option<&str>,
    ticket: &Ticket,
    schedule: Option<&RequestSchedule>,
    asked_at: Instant,
) -> Audit {
    audit = audit
        .detail(d::REQUESTOR_ID, requestor)
        .detail(d::PRINCIPAL_ID, principal)
        .detail(d::ROLE_DEFINITION_ID, role)
        .detail(d::DIRECTORY_SCOPE_ID, scope)
        .detail(d::JUSTIFICATION, justification.unwrap_or_default());
    if let Some(number) = &ticket.number {
        audit = audit.detail(d::TICKET_NUMBER, number);
    }
    if let Some(system) = &ticket.system {
        audit = audit.detail(d::TICKET_SYSTEM, system);
    }
    if let Some(sched) = schedule {
        // A request without a start asks for "now".
        let start = sched.start.unwrap_or(asked_at);
        audit = audit.detail(d::REQUESTED_START, rfc3339(start));
        // Checked: a request at the end of the calendar is described, then refused, never a panic.
        let end = sched.expiration.end.or_else(|| sched.expiration.duration.and_then(|dur| start.checked_add(dur)));
        if let Some(end) = end {
            audit = audit.detail(d::REQUESTED_END, rfc3339(end));
        }
        if let Some(dur) = sched.expiration.duration.or_else(|| end.map(|e| e - start)) {
            audit = audit.detail(d::REQUESTED_DURATION, duration::format(dur));
        }
    }
    audit
}

/// A request as the client sent it (recorded before it is decided, so refusals carry it too).
pub fn new_request(audit: Audit, r: &NewRequest, requestor: ObjectId, now: Instant) -> Audit {
    asked(
        audit.detail(d::ACTION, r.action.as_str()),
        requestor,
        r.principal_id,
        r.role_definition_id,
        &r.scope,
        r.justification.as_deref(),
        &r.ticket,
        r.schedule.as_ref(),
        now,
    )
}

/// A stored request (for the records of later events about it: approvals, cancellations).
pub fn stored_request(audit: Audit, r: &ScheduleRequest) -> Audit {
    asked(
        audit.detail(d::REQUEST_ID, r.id).detail(d::ACTION, r.action.as_str()),
        r.created_by,
        r.principal_id,
        r.role_definition_id,
        &r.scope,
        r.justification.as_deref(),
        &r.ticket,
        r.schedule.as_ref(),
        r.created,
    )
}

/// The outcome of a decided request: its id and status, and the approval it waits for.
pub fn outcome(mut audit: Audit, r: &ScheduleRequest) -> Audit {
    audit = audit.detail(d::REQUEST_ID, r.id).detail(d::STATUS, r.status.as_str());
    if let Some(approval) = &r.approval_id {
        audit = audit.detail(d::APPROVAL_ID, approval);
    }
    audit
}

/// The window granted (a permanent grant has no end and no duration).
pub fn granted(mut audit: Audit, s: &Schedule) -> Audit {
    audit = audit.detail(d::SCHEDULE_ID, s.id).detail(d::GRANTED_START, rfc3339(s.start));
    if let Some(end) = s.end {
        audit = audit.detail(d::GRANTED_END, rfc3339(end)).detail(d::GRANTED_DURATION, duration::format(end - s.start));
    }
    audit
}

/// One approver's decision on one stage of `approval` (the stage's 1-based number).
pub fn decision(
    audit: Audit,
    approval: &Approval,
    stage: usize,
    approver: ObjectId,
    result: ReviewResult,
    reason: Option<&str>,
) -> Audit {
    audit
        .detail(d::APPROVAL_ID, approval.id)
        .detail(d::APPROVAL_STAGE, stage)
        .detail(d::APPROVER_ID, approver)
        .detail(d::APPROVAL_RESULT, result.as_str())
        .detail(d::APPROVAL_REASON, reason.unwrap_or_default())
}

/// A policy rule changed from `old` to `new` (both in their Graph JSON form): one modified
/// property `{ruleId}.{property}` per property whose value differs, on the last target.
pub fn rule_change(mut audit: Audit, rule_id: &str, old: &Value, new: &Value) -> Audit {
    let empty = serde_json::Map::new();
    let old_props = old.as_object().unwrap_or(&empty);
    let new_props = new.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = new_props.keys().collect();
    keys.extend(old_props.keys().filter(|k| !new_props.contains_key(*k)));
    for key in keys {
        let (before, after) = (old_props.get(key), new_props.get(key));
        if before != after {
            audit =
                audit.modified(format!("{rule_id}.{key}"), before.map(Value::to_string), after.map(Value::to_string));
        }
    }
    audit
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_rule_change_lists_each_changed_property_with_old_and_new_values() {
        let audit =
            Audit::new("RoleManagement", "Update role setting in PIM", "Update").target("Role", "r", None, None);
        let old =
            json!({"id": "Expiration_EndUser_Assignment", "isExpirationRequired": true, "maximumDuration": "PT8H"});
        let new =
            json!({"id": "Expiration_EndUser_Assignment", "isExpirationRequired": true, "maximumDuration": "PT2H"});
        let audit = rule_change(audit, "Expiration_EndUser_Assignment", &old, &new);
        let props = &audit.targets[0].modified_properties;
        assert_eq!(props.len(), 1, "{props:?}");
        assert_eq!(props[0].display_name, "Expiration_EndUser_Assignment.maximumDuration");
        assert_eq!(props[0].old_value.as_deref(), Some("\"PT8H\""));
        assert_eq!(props[0].new_value.as_deref(), Some("\"PT2H\""));
    }
}
