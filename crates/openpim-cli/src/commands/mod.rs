//! The client commands, one module per area, and what several of them share: request windows
//! and schedule rows.

pub mod activation;
pub mod approvals;
pub mod assignments;
pub mod audit;
pub mod policy;
pub mod requests;
pub mod roles;
pub mod session;

use crate::context::Ctx;
use crate::duration;
use crate::output::{end_time, parse_time, s, time, Table};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

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

/// clap parser for RFC 3339 instants; hands them on normalised.
pub fn rfc3339_arg(raw: &str) -> Result<String, String> {
    OffsetDateTime::parse(raw.trim(), &Rfc3339)
        .map_err(|_| format!("'{raw}' is not an RFC 3339 date-time, e.g. 2026-03-02T09:00:00Z"))
        .and_then(|t| t.format(&Rfc3339).map_err(|e| e.to_string()))
}

/// clap parser for durations, in seconds.
pub fn duration_arg(raw: &str) -> Result<u64, String> {
    duration::parse(raw)
}

/// A request's `scheduleInfo`: starting at `start` (now when absent) and ending after
/// `duration`, at `until`, or never.
pub fn schedule_info(start: Option<&str>, duration: Option<u64>, until: Option<&str>) -> Value {
    let expiration = match (duration, until) {
        (Some(d), _) => json!({"type": "afterDuration", "duration": duration::to_iso(d)}),
        (None, Some(end)) => json!({"type": "afterDateTime", "endDateTime": end}),
        (None, None) => json!({"type": "noExpiration"}),
    };
    let mut info = json!({"expiration": expiration});
    if let Some(st) = start {
        info["startDateTime"] = json!(st);
    }
    info
}

/// `ticketInfo` when a ticket was given.
pub fn ticket_info(number: Option<&str>, system: Option<&str>) -> Option<Value> {
    (number.is_some() || system.is_some()).then(|| json!({"ticketNumber": number, "ticketSystem": system}))
}

/// The end of a schedule: its `endDateTime`, or start + duration for `afterDuration`.
fn schedule_end(v: &Value) -> Option<String> {
    let info = &v["scheduleInfo"];
    if let Some(end) = info["expiration"]["endDateTime"].as_str() {
        return Some(end.to_string());
    }
    let start = parse_time(info["startDateTime"].as_str()?)?;
    let secs = duration::parse(info["expiration"]["duration"].as_str()?).ok()?;
    (start + time::Duration::seconds(i64::try_from(secs).ok()?)).format(&Rfc3339).ok()
}

/// A schedule or instance row as the CLI shows it, with names resolved.
pub async fn schedule_row(ctx: &Ctx, v: &Value, kind: AssignmentType) -> Value {
    let (start, end) = if v.get("scheduleInfo").is_some() {
        (v["scheduleInfo"]["startDateTime"].as_str().map(str::to_string), schedule_end(v))
    } else {
        (v["startDateTime"].as_str().map(str::to_string), v["endDateTime"].as_str().map(str::to_string))
    };
    let role_id = s(v, "roleDefinitionId");
    let principal_id = s(v, "principalId");
    json!({
        "type": kind.label(),
        "id": v["id"],
        "principalId": principal_id,
        "principal": ctx.principal_name(principal_id).await,
        "roleDefinitionId": role_id,
        "role": ctx.role_name(role_id).await,
        "directoryScopeId": v["directoryScopeId"],
        "memberType": v["memberType"],
        "assignmentType": v.get("assignmentType").cloned().unwrap_or(Value::Null),
        "status": v.get("status").cloned().unwrap_or(Value::Null),
        "startDateTime": start,
        "endDateTime": end,
    })
}

/// "eligible", "active (activated)", "active (assigned)".
pub fn type_label(row: &Value) -> String {
    match row["assignmentType"].as_str() {
        Some(t) if s(row, "type") == "active" => format!("active ({})", t.to_lowercase()),
        _ => s(row, "type").to_string(),
    }
}

/// The table of schedule rows; `with_principal` adds the holder's column.
pub fn schedule_table(ctx: &Ctx, rows: &[Value], with_principal: bool) -> String {
    let mut headers = vec!["TYPE"];
    if with_principal {
        headers.push("PRINCIPAL");
    }
    headers.extend(["ROLE", "SCOPE", "MEMBER", "STATUS", "START", "END"]);
    let mut t = Table::new(&headers);
    for r in rows {
        let mut cells = vec![type_label(r)];
        if with_principal {
            cells.push(s(r, "principal").into());
        }
        cells.extend([
            s(r, "role").to_string(),
            s(r, "directoryScopeId").to_string(),
            s(r, "memberType").to_string(),
            r["status"].as_str().unwrap_or("Provisioned").to_string(),
            time(s(r, "startDateTime")),
            end_time(r["endDateTime"].as_str(), ctx.now),
        ]);
        t.row(cells);
    }
    t.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_become_schedule_info() {
        assert_eq!(schedule_info(None, None, None), json!({"expiration": {"type": "noExpiration"}}));
        assert_eq!(
            schedule_info(Some("2026-03-02T09:00:00Z"), Some(8 * 3600), None),
            json!({"startDateTime": "2026-03-02T09:00:00Z", "expiration": {"type": "afterDuration", "duration": "PT8H"}})
        );
        assert_eq!(
            schedule_info(None, None, Some("2026-03-03T09:00:00Z")),
            json!({"expiration": {"type": "afterDateTime", "endDateTime": "2026-03-03T09:00:00Z"}})
        );
        assert!(rfc3339_arg("yesterday").is_err());
        assert_eq!(rfc3339_arg("2026-03-02T10:00:00+01:00").unwrap(), "2026-03-02T10:00:00+01:00");
    }

    #[test]
    fn schedule_end_from_duration() {
        let v = json!({"scheduleInfo": {"startDateTime": "2026-03-02T09:00:00Z",
                       "expiration": {"type": "afterDuration", "endDateTime": null, "duration": "PT2H"}}});
        assert_eq!(schedule_end(&v).as_deref(), Some("2026-03-02T11:00:00Z"));
        let v = json!({"scheduleInfo": {"startDateTime": "2026-03-02T09:00:00Z",
                       "expiration": {"type": "noExpiration", "endDateTime": null, "duration": null}}});
        assert_eq!(schedule_end(&v), None);
    }
}
