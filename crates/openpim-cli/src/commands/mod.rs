//! The client commands, one module per area, and what several of them share: request windows
//! and schedule rows.

pub mod access;
pub mod activation;
pub mod alerts;
pub mod alerts_azure;
pub mod approvals;
pub mod as_code;
pub mod assignments;
pub mod audit;
pub mod azure;
pub mod azure_approvals;
pub mod azure_pim;
pub mod azure_policy;
pub mod policy;
pub mod requests;
pub mod roles;
pub mod session;

use crate::context::Ctx;
use crate::duration;
use crate::output::{end_time, time, Table};
use openpim_core::schedule::{Action, ScheduleStatus};
use openpim_proto::schedules::{
    NewExpiration, NewRequestSchedule, NewScheduleRequest, RequestSchedule, TicketInfo,
    UnifiedRoleAssignmentScheduleInstance, UnifiedRoleEligibilityScheduleInstance, UnifiedRoleSchedule,
};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

pub const RM: &str = "/v1.0/roleManagement/directory";

/// The two PIM collections: eligibilities and active assignments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AssignmentType {
    Eligible,
    Active,
}

impl AssignmentType {
    pub fn label(self) -> &'static str {
        match self {
            AssignmentType::Eligible => "eligible",
            AssignmentType::Active => "active",
        }
    }

    /// The collection name under /roleManagement/directory, with `suffix` (`ScheduleRequests`, ...).
    pub fn collection(self, suffix: &str) -> String {
        match self {
            AssignmentType::Eligible => format!("{RM}/roleEligibility{suffix}"),
            AssignmentType::Active => format!("{RM}/roleAssignment{suffix}"),
        }
    }
}

/// clap parser for RFC 3339 instants.
pub fn rfc3339_arg(raw: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(raw.trim(), &Rfc3339)
        .map_err(|_| format!("'{raw}' is not an RFC 3339 date-time, e.g. 2026-03-02T09:00:00Z"))
}

/// clap parser for durations, in seconds.
pub fn duration_arg(raw: &str) -> Result<u64, String> {
    duration::parse(raw)
}

/// A request's `scheduleInfo`: starting at `start` (now when absent) and ending after
/// `duration` seconds, at `until`, or never.
pub fn schedule_info(
    start: Option<OffsetDateTime>,
    duration: Option<u64>,
    until: Option<OffsetDateTime>,
) -> NewRequestSchedule {
    let expiration = match (duration, until) {
        (Some(d), _) => NewExpiration::AfterDuration { duration: duration::to_iso(d) },
        (None, Some(end_date_time)) => NewExpiration::AfterDateTime { end_date_time },
        (None, None) => NewExpiration::NoExpiration,
    };
    NewRequestSchedule { start_date_time: start, expiration }
}

/// `ticketInfo` when a ticket was given.
pub fn ticket_info(number: Option<&str>, system: Option<&str>) -> Option<TicketInfo> {
    (number.is_some() || system.is_some())
        .then(|| TicketInfo { ticket_number: number.map(str::to_string), ticket_system: system.map(str::to_string) })
}

/// A self-service or admin request for `principal` in `role` at `scope`, with nothing else set.
pub fn request(
    action: Action,
    principal: Uuid,
    role: Uuid,
    scope: &str,
    justification: Option<String>,
) -> NewScheduleRequest {
    NewScheduleRequest {
        action: action.to_string(),
        principal_id: principal,
        role_definition_id: role,
        directory_scope_id: scope.to_string(),
        justification,
        schedule_info: None,
        ticket_info: None,
    }
}

/// The end of a schedule: its `endDateTime`, or start + duration for `afterDuration`.
fn schedule_end(info: &RequestSchedule) -> Option<OffsetDateTime> {
    if let Some(end) = info.expiration.end_date_time {
        return Some(end);
    }
    let secs = duration::parse(info.expiration.duration.as_deref()?).ok()?;
    Some(info.start_date_time? + time::Duration::seconds(i64::try_from(secs).ok()?))
}

/// What the CLI shows of a schedule or an instance: one holder of one role at one scope.
pub struct Held {
    id: String,
    principal_id: Uuid,
    role_definition_id: Uuid,
    directory_scope_id: String,
    member_type: String,
    assignment_type: Option<String>,
    /// Schedules only (instances are in effect by definition).
    status: Option<String>,
    start: Option<OffsetDateTime>,
    end: Option<OffsetDateTime>,
}

impl From<UnifiedRoleSchedule> for Held {
    fn from(s: UnifiedRoleSchedule) -> Self {
        Self {
            end: schedule_end(&s.schedule_info),
            start: s.schedule_info.start_date_time,
            id: s.id,
            principal_id: s.principal_id,
            role_definition_id: s.role_definition_id,
            directory_scope_id: s.directory_scope_id,
            member_type: s.member_type,
            assignment_type: s.assignment_type,
            status: Some(s.status),
        }
    }
}

impl From<UnifiedRoleEligibilityScheduleInstance> for Held {
    fn from(i: UnifiedRoleEligibilityScheduleInstance) -> Self {
        Self {
            id: i.id,
            principal_id: i.principal_id,
            role_definition_id: i.role_definition_id,
            directory_scope_id: i.directory_scope_id,
            member_type: i.member_type,
            assignment_type: None,
            status: None,
            start: i.start_date_time,
            end: i.end_date_time,
        }
    }
}

impl From<UnifiedRoleAssignmentScheduleInstance> for Held {
    fn from(i: UnifiedRoleAssignmentScheduleInstance) -> Self {
        Self {
            id: i.id,
            principal_id: i.principal_id,
            role_definition_id: i.role_definition_id,
            directory_scope_id: i.directory_scope_id,
            member_type: i.member_type,
            assignment_type: i.assignment_type,
            status: None,
            start: i.start_date_time,
            end: i.end_date_time,
        }
    }
}

/// A schedule or instance row as the CLI prints it (its JSON is the `--output json` contract),
/// with names resolved.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleRow {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    pub principal_id: Uuid,
    pub principal: String,
    pub role_definition_id: Uuid,
    pub role: String,
    pub directory_scope_id: String,
    pub member_type: String,
    pub assignment_type: Option<String>,
    pub status: Option<String>,
    #[serde(with = "openpim_proto::datetime::option")]
    pub start_date_time: Option<OffsetDateTime>,
    #[serde(with = "openpim_proto::datetime::option")]
    pub end_date_time: Option<OffsetDateTime>,
    /// `my roles` only: when it ends, for people and scripts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ends: Option<String>,
}

pub async fn schedule_row(ctx: &Ctx, h: Held, kind: AssignmentType) -> ScheduleRow {
    ScheduleRow {
        kind: kind.label(),
        principal: ctx.principal_name(h.principal_id).await,
        role: ctx.role_name(h.role_definition_id).await,
        id: h.id,
        principal_id: h.principal_id,
        role_definition_id: h.role_definition_id,
        directory_scope_id: h.directory_scope_id,
        member_type: h.member_type,
        assignment_type: h.assignment_type,
        status: h.status,
        start_date_time: h.start,
        end_date_time: h.end,
        ends: None,
    }
}

/// "eligible", "active (activated)", "active (assigned)".
pub fn type_label(row: &ScheduleRow) -> String {
    match &row.assignment_type {
        Some(t) if row.kind == AssignmentType::Active.label() => format!("active ({})", t.to_lowercase()),
        _ => row.kind.to_string(),
    }
}

/// The table of schedule rows; `with_principal` adds the holder's column.
pub fn schedule_table(ctx: &Ctx, rows: &[ScheduleRow], with_principal: bool) -> String {
    let mut headers = vec!["TYPE"];
    if with_principal {
        headers.push("PRINCIPAL");
    }
    headers.extend(["ROLE", "SCOPE", "MEMBER", "STATUS", "START", "END"]);
    let mut t = Table::new(&headers);
    for r in rows {
        let mut cells = vec![type_label(r)];
        if with_principal {
            cells.push(r.principal.clone());
        }
        cells.extend([
            r.role.clone(),
            r.directory_scope_id.clone(),
            r.member_type.clone(),
            r.status.clone().unwrap_or_else(|| ScheduleStatus::Provisioned.to_string()),
            r.start_date_time.map(time).unwrap_or_default(),
            end_time(r.end_date_time, ctx.now),
        ]);
        t.row(cells);
    }
    t.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    #[test]
    fn windows_become_schedule_info() {
        let json = |info: NewRequestSchedule| serde_json::to_value(info).unwrap();
        assert_eq!(json(schedule_info(None, None, None)), json!({"expiration": {"type": "noExpiration"}}));
        assert_eq!(
            json(schedule_info(Some(datetime!(2026-03-02 09:00 UTC)), Some(8 * 3600), None)),
            json!({"startDateTime": "2026-03-02T09:00:00Z", "expiration": {"type": "afterDuration", "duration": "PT8H"}})
        );
        assert_eq!(
            json(schedule_info(None, None, Some(datetime!(2026-03-03 09:00 UTC)))),
            json!({"expiration": {"type": "afterDateTime", "endDateTime": "2026-03-03T09:00:00Z"}})
        );
        assert!(rfc3339_arg("yesterday").is_err());
        assert_eq!(rfc3339_arg("2026-03-02T10:00:00+01:00").unwrap(), datetime!(2026-03-02 09:00 UTC));
    }

    #[test]
    fn schedule_end_from_duration() {
        let info = |v| serde_json::from_value::<RequestSchedule>(v).unwrap();
        let v = info(json!({"startDateTime": "2026-03-02T09:00:00Z", "recurrence": null,
                       "expiration": {"type": "afterDuration", "endDateTime": null, "duration": "PT2H"}}));
        assert_eq!(schedule_end(&v), Some(datetime!(2026-03-02 11:00 UTC)));
        let v = info(json!({"startDateTime": "2026-03-02T09:00:00Z", "recurrence": null,
                       "expiration": {"type": "noExpiration", "endDateTime": null, "duration": null}}));
        assert_eq!(schedule_end(&v), None);
    }
}
