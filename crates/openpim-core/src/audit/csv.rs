//! The one CSV format of the audit log (RFC 4180), served by the API and used as is by the CLI
//! and the web UI.
//!
//! Every field is quoted (quotes doubled), records end with CRLF, and the first line is
//! [`HEADER`]. A field starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a
//! leading `'`, so a spreadsheet shows it as text instead of running it as a formula (OWASP's
//! advice on CSV injection); audit fields carry user-chosen text such as justifications.

use super::AuditRecord;
use time::format_description::well_known::Rfc3339;

/// The columns, in order.
pub const HEADER: [&str; 15] = [
    "activityDateTime",
    "category",
    "activityDisplayName",
    "operationType",
    "result",
    "resultReason",
    "initiatedByUserId",
    "initiatedByUserPrincipalName",
    "initiatedByUserDisplayName",
    "targetResources",
    "modifiedProperties",
    "additionalDetails",
    "loggedByService",
    "correlationId",
    "id",
];

/// The media type the API serves the CSV with.
pub const CONTENT_TYPE: &str = "text/csv; charset=utf-8";

/// One field: defused if a spreadsheet would read it as a formula, then quoted.
pub fn field(raw: &str) -> String {
    let defused = raw.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let mut out = String::with_capacity(raw.len() + 3);
    out.push('"');
    if defused {
        out.push('\'');
    }
    out.push_str(&raw.replace('"', "\"\""));
    out.push('"');
    out
}

/// One record (fields quoted, comma separated, CRLF terminated).
pub fn line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut out = fields.iter().map(|f| field(f.as_ref())).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    out
}

/// The header line.
pub fn header_line() -> String {
    line(&HEADER)
}

/// `Role: User Administrator (id); User: Bob Smith <bob@x> (id)`.
fn targets(r: &AuditRecord) -> String {
    r.targets
        .iter()
        .map(|t| {
            let name = t.display_name.as_deref().unwrap_or("");
            match &t.user_principal_name {
                Some(upn) => format!("{}: {name} <{upn}> ({})", t.kind, t.id),
                None => format!("{}: {name} ({})", t.kind, t.id),
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `Role.ruleId: old -> new` for every modified property of every target.
fn modified(r: &AuditRecord) -> String {
    r.targets
        .iter()
        .flat_map(|t| {
            t.modified_properties.iter().map(move |p| {
                format!(
                    "{}: {} -> {}",
                    p.display_name,
                    p.old_value.as_deref().unwrap_or("(none)"),
                    p.new_value.as_deref().unwrap_or("(none)")
                )
            })
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn details(r: &AuditRecord) -> String {
    r.additional_details.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
}

/// The CSV line of one record, in the columns of [`HEADER`].
pub fn record_line(r: &AuditRecord) -> String {
    let at = r.at.to_offset(time::UtcOffset::UTC).format(&Rfc3339).unwrap_or_default();
    line(&[
        at,
        r.category.to_string(),
        r.activity.clone(),
        r.operation_type.to_string(),
        r.result.as_str().to_string(),
        r.result_reason.clone(),
        r.initiated_by_id.map(|id| id.to_string()).unwrap_or_default(),
        r.initiated_by_upn.clone().unwrap_or_default(),
        r.initiated_by_display_name.clone().unwrap_or_default(),
        targets(r),
        modified(r),
        details(r),
        r.logged_by_service().to_string(),
        r.correlation_id.to_string(),
        r.id.to_string(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{category, AuditResult, AuditTarget, ModifiedProperty};
    use time::macros::datetime;

    #[test]
    fn every_field_is_quoted_and_quotes_doubled() {
        assert_eq!(field("plain"), "\"plain\"");
        assert_eq!(field(""), "\"\"");
        assert_eq!(field("say \"hi\", twice"), "\"say \"\"hi\"\", twice\"");
        assert_eq!(field("two\r\nlines"), "\"two\r\nlines\"");
        assert_eq!(line(&["a", "b"]), "\"a\",\"b\"\r\n");
    }

    #[test]
    fn formulas_are_defused() {
        for raw in ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            let f = field(raw);
            assert!(f.starts_with("\"'"), "{raw:?} -> {f:?}");
        }
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        // Only a leading character counts.
        assert_eq!(field("a=b"), "\"a=b\"");
    }

    #[test]
    fn a_record_becomes_one_line_in_header_order() {
        let mut role = AuditTarget::new("Role", "r1", Some("User Administrator"), None);
        role.modified_properties.push(ModifiedProperty {
            display_name: "Expiration_EndUser_Assignment.maximumDuration".into(),
            old_value: Some("\"PT8H\"".into()),
            new_value: Some("\"PT2H\"".into()),
        });
        let r = AuditRecord {
            id: uuid::Uuid::nil(),
            at: datetime!(2026-03-02 09:00:00 UTC),
            category: category::ROLE_MANAGEMENT,
            activity: "Update role setting in PIM".into(),
            operation_type: "Update",
            result: AuditResult::Success,
            result_reason: String::new(),
            initiated_by_id: Some(uuid::Uuid::nil()),
            initiated_by_upn: Some("admin@x".into()),
            initiated_by_display_name: Some("Admin".into()),
            targets: vec![role, AuditTarget::new("User", "u1", Some("Bob"), Some("bob@x"))],
            additional_details: vec![("justification".into(), "-ticket 7".into())],
            correlation_id: uuid::Uuid::nil(),
        };
        let nil = "00000000-0000-0000-0000-000000000000";
        assert_eq!(
            record_line(&r),
            format!(
                "\"2026-03-02T09:00:00Z\",\"RoleManagement\",\"Update role setting in PIM\",\"Update\",\"success\",\"\",\
                 \"{nil}\",\"admin@x\",\"Admin\",\"Role: User Administrator (r1); User: Bob <bob@x> (u1)\",\
                 \"Expiration_EndUser_Assignment.maximumDuration: \"\"PT8H\"\" -> \"\"PT2H\"\"\",\
                 \"justification=-ticket 7\",\"PIM\",\"{nil}\",\"{nil}\"\r\n"
            )
        );
        assert_eq!(header_line().matches(',').count(), HEADER.len() - 1);
    }
}
