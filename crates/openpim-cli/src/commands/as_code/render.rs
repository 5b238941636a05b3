//! Text for people: the file as commented YAML, and a plan as a readable diff.

use super::model::{PimFile, Rule};
use super::plan::{rfc3339, Change, Plan};
use crate::duration;
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;

const HEADER: &str = "\
# OpenPIM policy as code (docs/POLICY_AS_CODE.md). Check it with `openpim validate`,
# preview changes with `openpim plan`, apply them with `openpim apply`. Editors validate it
# against docs/pim.schema.json with a `# yaml-language-server: $schema=PATH` line.
";

/// The file as YAML: serde's output (sorted by [`super::export::to_file`]), then a comment after
/// every ISO 8601 duration (`PT8H  # 8h`) and after every principal that has an id (`# <id>`).
pub fn yaml(file: &PimFile, ids: &HashMap<String, Uuid>) -> String {
    let body = serde_norway::to_string(file).expect("the file model serialises");
    let mut out = String::from(HEADER);
    for line in body.lines() {
        out.push_str(line);
        if let Some(comment) = comment_for(line, ids) {
            out.push_str("  # ");
            out.push_str(&comment);
        }
        out.push('\n');
    }
    out
}

/// The scalar of a `key: value` or `- value` line, unquoted.
fn scalar(line: &str) -> Option<(&str, String)> {
    let t = line.trim_start().trim_start_matches("- ");
    let (k, v) = match t.split_once(": ") {
        Some((k, v)) => (k, v),
        None if line.trim_start().starts_with("- ") => ("", t),
        None => return None,
    };
    let v = v.trim();
    let v = v
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .map(|v| v.replace("''", "'"))
        .or_else(|| v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).map(str::to_string))
        .unwrap_or_else(|| v.to_string());
    Some((k, v))
}

fn comment_for(line: &str, ids: &HashMap<String, Uuid>) -> Option<String> {
    let (k, v) = scalar(line)?;
    if k == "maximumDuration" {
        return duration::parse(&v).ok().map(duration::human);
    }
    let principal_key = matches!(k, "principal" | "");
    principal_key.then(|| ids.get(&v.to_lowercase()).map(Uuid::to_string)).flatten()
}

fn end_text(end: Option<OffsetDateTime>) -> String {
    end.map_or_else(|| "permanent".into(), rfc3339)
}

fn rule_text(rule: &Rule) -> String {
    serde_json::to_string(rule).unwrap_or_default()
}

/// `+[added] -[removed]` between two lists.
fn list_diff(before: &[String], after: &[String]) -> String {
    let added: Vec<&String> = after.iter().filter(|a| !before.contains(a)).collect();
    let removed: Vec<&String> = before.iter().filter(|a| !after.contains(a)).collect();
    format!("+{added:?} -{removed:?}")
}

/// One line per change, `+` create, `~` update (old → new), `-` remove.
pub fn change_line(c: &Change) -> String {
    match c {
        Change::CreateCustomRole { role } => format!(
            "+ custom role '{}' ({} action(s){})",
            role.display_name,
            role.allowed_resource_actions.len(),
            if role.is_enabled { "" } else { ", disabled" }
        ),
        Change::UpdateCustomRole { before, after, .. } => {
            let mut parts = Vec::new();
            if before.description != after.description {
                parts.push(format!("description {:?} → {:?}", before.description, after.description));
            }
            if before.is_enabled != after.is_enabled {
                parts.push(format!("enabled {} → {}", before.is_enabled, after.is_enabled));
            }
            if before.allowed_resource_actions != after.allowed_resource_actions {
                parts.push(format!(
                    "actions {}",
                    list_diff(&before.allowed_resource_actions, &after.allowed_resource_actions)
                ));
            }
            format!("~ custom role '{}': {}", after.display_name, parts.join("; "))
        }
        Change::CreateGroup { display_name, .. } => format!("+ group '{display_name}' (role-assignable)"),
        Change::UpdateGroup { display_name, before, after, .. } => {
            format!("~ group '{display_name}': description {before:?} → {after:?}")
        }
        Change::AddMember { group, member } => format!("+ member {member} of group '{group}'"),
        Change::UpdateRule { role, rule_id, before, after } => {
            format!("~ setting {rule_id} of '{role}': {} → {}", rule_text(before), rule_text(after))
        }
        Change::CreateAssignment { kind, principal, role, scope, start, end } => {
            let from = start.map(|s| format!("from {}, ", rfc3339(s))).unwrap_or_default();
            format!("+ {} {principal} → {role} at {scope} ({from}{})", kind.label(), end_text(*end))
        }
        Change::UpdateAssignment { kind, principal, role, scope, before, after, start } => {
            let mut parts = Vec::new();
            if let Some(s) = start {
                let text = |t: Option<time::OffsetDateTime>| t.map_or_else(|| "now".to_string(), rfc3339);
                parts.push(format!("start {} → {}", text(s.before), text(s.after)));
            }
            if before != after {
                parts.push(format!("end {} → {}", end_text(*before), end_text(*after)));
            }
            format!("~ {} {principal} → {role} at {scope}: {}", kind.label(), parts.join(", "))
        }
        Change::RemoveAssignment { kind, principal, role, scope, .. } => {
            format!("- {} {principal} → {role} at {scope}", kind.label())
        }
        Change::RemoveMember { group, member, .. } => format!("- member {member} of group '{group}'"),
        Change::RemoveGroup { display_name, .. } => format!("- group '{display_name}'"),
        Change::RemoveCustomRole { display_name, .. } => format!("- custom role '{display_name}'"),
        Change::CreateAzureRole { role } => format!(
            "+ Azure custom role '{}' ({} action(s), {} data action(s), assignable at {})",
            role.role_name,
            role.actions.len(),
            role.data_actions.len(),
            role.assignable_scopes.join(", ")
        ),
        Change::UpdateAzureRole { before, after, .. } => {
            let mut parts = Vec::new();
            if before.description != after.description {
                parts.push(format!("description {:?} → {:?}", before.description, after.description));
            }
            for (label, b, a) in [
                ("assignable scopes", &before.assignable_scopes, &after.assignable_scopes),
                ("actions", &before.actions, &after.actions),
                ("not actions", &before.not_actions, &after.not_actions),
                ("data actions", &before.data_actions, &after.data_actions),
                ("not data actions", &before.not_data_actions, &after.not_data_actions),
            ] {
                if a != b {
                    parts.push(format!("{label} {}", list_diff(b, a)));
                }
            }
            format!("~ Azure custom role '{}': {}", after.role_name, parts.join("; "))
        }
        Change::RemoveAzureRole { role_name, .. } => format!("- Azure custom role '{role_name}'"),
    }
}

/// The whole plan for people.
pub fn plan(p: &Plan) -> String {
    if p.changes.is_empty() {
        return "No changes. The tenant matches the file.\n".into();
    }
    let mut out = format!("Plan {}:\n", p.id);
    for c in &p.changes {
        out.push_str("  ");
        out.push_str(&change_line(c));
        out.push('\n');
    }
    let count = |f: fn(&Change) -> bool| p.changes.iter().filter(|c| f(c)).count();
    let creates = count(|c| {
        matches!(
            c,
            Change::CreateCustomRole { .. }
                | Change::CreateAzureRole { .. }
                | Change::CreateGroup { .. }
                | Change::AddMember { .. }
                | Change::CreateAssignment { .. }
        )
    });
    let removes = count(Change::is_removal);
    out.push_str(&format!(
        "{} to create, {} to update, {} to remove.\n",
        creates,
        p.changes.len() - creates - removes,
        removes
    ));
    for w in &p.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::as_code::model::{AssignmentSpec, Expiration, RoleSettings, Rules};

    #[test]
    fn durations_and_principals_get_comments() {
        let mut rules = Rules::default();
        rules.set(
            "Expiration_EndUser_Assignment",
            Rule::Expiration(Expiration { maximum_duration: Some("PT2H".into()), is_expiration_required: None }),
        );
        let file = PimFile {
            version: 1,
            role_settings: Some(vec![RoleSettings { role: "Global Reader".into(), rules }]),
            eligibilities: Some(vec![AssignmentSpec {
                principal: "alice@example.com".into(),
                role: "Global Reader".into(),
                scope: "/".into(),
                start: None,
                end: None,
            }]),
            ..PimFile::default()
        };
        let id = Uuid::nil();
        let text = yaml(&file, &HashMap::from([("alice@example.com".to_string(), id)]));
        assert!(text.contains("maximumDuration: PT2H  # 2h\n"), "{text}");
        assert!(text.contains(&format!("principal: alice@example.com  # {id}\n")), "{text}");
        // Comments do not change what the file says.
        let back: PimFile = serde_norway::from_str(&text).unwrap();
        assert_eq!(back, file);
    }
}
