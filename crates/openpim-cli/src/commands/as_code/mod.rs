//! Policy as code: `openpim export | plan | apply | validate` (docs/POLICY_AS_CODE.md).
//!
//! `export` reads the tenant through the API and writes the file; `plan` reads the file and the
//! tenant and lists the changes that make the tenant match (exit 0 none, 2 some, 1 a file that
//! cannot be planned); `apply` makes them through the same public API, in a safe order, and
//! stops at the first refusal; `validate` checks a file without a server.

pub mod apply;
pub mod export;
pub mod model;
pub mod plan;
pub mod render;
pub mod rules;

use crate::context::Ctx;
use crate::error::{CliError, CliResult, Kind};
use crate::output::{emit, Format};
use clap::Args;
use export::Section;
use model::PimFile;
use plan::Problem;
use serde::Serialize;
use std::collections::HashMap;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;

#[derive(Args)]
pub struct ExportArgs {
    /// Only these parts (comma-separated): custom-roles, groups, settings, eligibilities,
    /// assignments, azure [default: all].
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Section>,
    /// Every rule of every role, not only those that differ from the default.
    #[arg(long)]
    all: bool,
}

#[derive(Args)]
pub struct PlanArgs {
    /// The file (- for standard input).
    file: PathBuf,
}

#[derive(Args)]
pub struct ApplyArgs {
    /// The file (- for standard input; then --auto-approve is required).
    file: PathBuf,
    /// Apply without asking for confirmation.
    #[arg(long)]
    auto_approve: bool,
    /// Apply only if the plan still has this id (the one a reviewed `openpim plan` showed).
    #[arg(long, value_name = "ID")]
    plan_id: Option<String>,
}

#[derive(Args)]
pub struct ValidateArgs {
    /// The file (- for standard input).
    #[arg(required_unless_present = "schema")]
    file: Option<PathBuf>,
    /// Print the file's JSON Schema instead (docs/pim.schema.json).
    #[arg(long, conflicts_with = "file")]
    schema: bool,
}

/// A file read and parsed, with its text for pointing problems at lines.
struct Source {
    name: String,
    text: String,
    file: PimFile,
}

fn read(path: &PathBuf) -> CliResult<Source> {
    let name = path.display().to_string();
    let text = if name == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError::local("FileUnreadable", format!("reading standard input: {e}")))?;
        s
    } else {
        std::fs::read_to_string(path).map_err(|e| CliError::local("FileUnreadable", format!("{name}: {e}")))?
    };
    match serde_norway::from_str::<PimFile>(&text) {
        Ok(file) => Ok(Source { name, text, file }),
        Err(e) => {
            let place = e.location().map_or_else(|| name.clone(), |l| format!("{name}:{}:{}", l.line(), l.column()));
            // serde_norway appends " at line L column C"; the prefix already says where.
            let message = e.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message).to_string();
            eprintln!("{place}: {message}");
            Err(CliError::local("InvalidFile", format!("{name} is not a valid OpenPIM file")))
        }
    }
}

/// Prints every problem, with its line, and the error that ends the command (exit 1).
fn refuse(src: &Source, problems: &[Problem]) -> CliError {
    for p in problems {
        match locate(&src.text, &p.at) {
            Some(line) => eprintln!("{}:{line}: {}: {}", src.name, p.at, p.message),
            None => eprintln!("{}: {}: {}", src.name, p.at, p.message),
        }
    }
    CliError::local("InvalidFile", format!("{} problem(s) in {}; nothing was changed", problems.len(), src.name))
}

pub async fn export(ctx: &Ctx, a: ExportArgs) -> CliResult<()> {
    let everything = a.only.is_empty();
    let sections = if everything { Section::ALL.to_vec() } else { a.only };
    let actual = export::load(ctx, &sections, everything).await?;
    let file = export::to_file(&actual, &sections, &rules::defaults(), a.all);
    let mut ids = HashMap::new();
    for (id, upn) in &actual.users {
        ids.insert(upn.to_lowercase(), *id);
    }
    for g in &actual.groups {
        ids.insert(g.display_name.to_lowercase(), g.id);
    }
    for (id, ..) in &actual.service_principals {
        ids.entry(actual.principal_name(*id).to_lowercase()).or_insert(*id);
    }
    // Always YAML: the file is the output, whatever --output says.
    print!("{}", render::yaml(&file, &ids));
    Ok(())
}

/// The plan for a file, or its problems (printed) as the error.
async fn make_plan(ctx: &Ctx, src: &Source) -> CliResult<(plan::Plan, plan::Actual)> {
    let offline = check(&src.file);
    if !offline.is_empty() {
        return Err(refuse(src, &offline));
    }
    let actual = export::load(ctx, &Section::of(&src.file), false).await?;
    match plan::compute(&src.file, &actual, &rules::defaults(), ctx.now) {
        Ok(p) => Ok((p, actual)),
        Err(problems) => Err(refuse(src, &problems)),
    }
}

pub async fn plan(ctx: &Ctx, a: PlanArgs) -> CliResult<()> {
    let src = read(&a.file)?;
    let (p, _) = make_plan(ctx, &src).await?;
    emit(ctx.format, &p, || render::plan(&p));
    if p.changes.is_empty() {
        Ok(())
    } else {
        Err(CliError::new(
            Kind::ChangesPending,
            "ChangesPending",
            format!("plan {} has {} change(s)", p.id, p.changes.len()),
        ))
    }
}

/// What `apply` reports (its `--output json` contract).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Applied<'a> {
    plan_id: &'a str,
    applied: &'a [plan::Change],
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped_at: Option<&'a plan::Change>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub async fn apply(ctx: &Ctx, a: ApplyArgs) -> CliResult<()> {
    let src = read(&a.file)?;
    if src.name == "-" && !a.auto_approve {
        return Err(CliError::usage("a file read from standard input needs --auto-approve"));
    }
    let (p, actual) = make_plan(ctx, &src).await?;
    if let Some(expected) = &a.plan_id {
        if !expected.eq_ignore_ascii_case(&p.id) {
            return Err(CliError::refused(
                "PlanChanged",
                format!(
                    "the plan is now {} (not {expected}): the tenant or the file changed; review `openpim plan` again",
                    p.id
                ),
            ));
        }
    }
    if p.changes.is_empty() {
        emit(ctx.format, &Applied { plan_id: &p.id, applied: &[], stopped_at: None, error: None }, || {
            "No changes. The tenant matches the file.\n".into()
        });
        return Ok(());
    }
    if ctx.format == Format::Table {
        print!("{}", render::plan(&p));
    }
    if !a.auto_approve {
        if !std::io::stdin().is_terminal() {
            eprintln!("Reading the confirmation from standard input (or pass --auto-approve).");
        }
        eprint!("Apply plan {} ({} change(s))? Only 'yes' is accepted: ", p.id, p.changes.len());
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| CliError::local("StdinUnreadable", format!("reading the confirmation: {e}")))?;
        if answer.trim() != "yes" {
            return Err(CliError::local("Cancelled", "apply cancelled; nothing was changed"));
        }
    }
    let outcome = apply::run(ctx, &p, &actual, ctx.format == Format::Table).await;
    let (stopped_at, error) = match &outcome.failed {
        Some((c, e)) => (Some(c), Some(e.to_string())),
        None => (None, None),
    };
    let report = Applied { plan_id: &p.id, applied: &outcome.applied, stopped_at, error };
    match &outcome.failed {
        None => {
            emit(ctx.format, &report, || format!("Applied {} change(s) of plan {}.\n", outcome.applied.len(), p.id));
            Ok(())
        }
        Some((change, e)) => {
            if ctx.format == Format::Json {
                emit(ctx.format, &report, String::new);
            }
            eprintln!(
                "Applied {} of {} change(s) of plan {}; stopped at: {}",
                outcome.applied.len(),
                p.changes.len(),
                p.id,
                render::change_line(change)
            );
            Err(e.clone())
        }
    }
}

pub fn validate(ctx: &Ctx, a: ValidateArgs) -> CliResult<()> {
    if a.schema {
        print!("{}", model::json_schema());
        return Ok(());
    }
    let path = a.file.ok_or_else(|| CliError::usage("give a file, or --schema"))?;
    let src = read(&path)?;
    let problems = check(&src.file);
    if !problems.is_empty() {
        return Err(refuse(&src, &problems));
    }
    let f = &src.file;
    let count = |v: Option<usize>| v.unwrap_or(0);
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Summary {
        file: String,
        valid: bool,
        custom_roles: usize,
        groups: usize,
        role_settings: usize,
        eligibilities: usize,
        assignments: usize,
        azure_custom_roles: usize,
        azure_eligibilities: usize,
        azure_assignments: usize,
    }
    let s = Summary {
        file: src.name.clone(),
        valid: true,
        custom_roles: count(f.custom_roles.as_ref().map(Vec::len)),
        groups: count(f.groups.as_ref().map(Vec::len)),
        role_settings: count(f.role_settings.as_ref().map(Vec::len)),
        eligibilities: count(f.eligibilities.as_ref().map(Vec::len)),
        assignments: count(f.assignments.as_ref().map(Vec::len)),
        azure_custom_roles: count(f.azure.as_ref().and_then(|a| a.custom_roles.as_ref()).map(Vec::len)),
        azure_eligibilities: count(f.azure.as_ref().and_then(|a| a.eligibilities.as_ref()).map(Vec::len)),
        azure_assignments: count(f.azure.as_ref().and_then(|a| a.assignments.as_ref()).map(Vec::len)),
    };
    emit(ctx.format, &s, || {
        format!(
            "{} is valid: {} custom role(s), {} group(s), {} role setting(s), {} eligibilit(ies), {} assignment(s); \
             Azure: {} custom role(s), {} eligibilit(ies), {} assignment(s).\n",
            s.file,
            s.custom_roles,
            s.groups,
            s.role_settings,
            s.eligibilities,
            s.assignments,
            s.azure_custom_roles,
            s.azure_eligibilities,
            s.azure_assignments
        )
    });
    Ok(())
}

/// What can be checked without a server: the version, dates, durations, scopes, duplicates.
pub fn check(file: &PimFile) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut problem = |at: String, message: String| out.push(Problem { at, message });
    if file.version != model::VERSION {
        problem(
            "version".into(),
            format!("version {} is not supported (this openpim reads version {})", file.version, model::VERSION),
        );
    }
    let dup = |section: &str, names: Vec<String>, problem: &mut dyn FnMut(String, String)| {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, n) in names.into_iter().enumerate() {
            if n.trim().is_empty() {
                problem(format!("{section}[{i}]"), "the name is empty".into());
            } else if let Some(first) = seen.insert(n.trim().to_lowercase(), i) {
                problem(format!("{section}[{i}]"), format!("'{}' is already listed at {section}[{first}]", n.trim()));
            }
        }
    };
    if let Some(roles) = &file.custom_roles {
        dup("customRoles", roles.iter().map(|r| r.display_name.clone()).collect(), &mut problem);
        for (i, r) in roles.iter().enumerate() {
            if r.allowed_resource_actions.iter().all(|a| a.trim().is_empty()) {
                problem(
                    format!("customRoles[{i}].allowedResourceActions"),
                    "a custom role needs at least one action".into(),
                );
            }
        }
    }
    if let Some(groups) = &file.groups {
        dup("groups", groups.iter().map(|g| g.display_name.clone()).collect(), &mut problem);
    }
    if let Some(settings) = &file.role_settings {
        dup("roleSettings", settings.iter().map(|s| s.role.clone()).collect(), &mut problem);
        for (i, s) in settings.iter().enumerate() {
            for (id, rule) in s.rules.get() {
                if let model::Rule::Expiration(model::Expiration { maximum_duration: Some(d), .. }) = &rule {
                    if crate::duration::parse(d).is_err() || !d.trim().starts_with(['P', 'p']) {
                        problem(
                            format!("roleSettings[{i}].rules.{id}.maximumDuration"),
                            format!("'{d}' is not an ISO 8601 duration, e.g. PT8H or P365D"),
                        );
                    }
                }
            }
        }
    }
    let azure = file.azure.clone().unwrap_or_default();
    if let Some(roles) = &azure.custom_roles {
        dup("azure.customRoles", roles.iter().map(|r| r.role_name.clone()).collect(), &mut problem);
        for (i, r) in roles.iter().enumerate() {
            for p in plan::azure_role_problems(r) {
                problem(format!("azure.customRoles[{i}].{}", p.at), p.message);
            }
        }
    }
    let azure_list = |l: &Option<Vec<model::AzureAssignmentSpec>>| {
        l.as_ref().map(|l| l.iter().map(model::AzureAssignmentSpec::as_spec).collect::<Vec<_>>())
    };
    for (section, list) in [
        ("eligibilities", file.eligibilities.clone()),
        ("assignments", file.assignments.clone()),
        ("azure.eligibilities", azure_list(&azure.eligibilities)),
        ("azure.assignments", azure_list(&azure.assignments)),
    ] {
        let Some(list) = list else { continue };
        let on_azure = section.starts_with("azure.");
        let mut seen: HashMap<(String, String, String), usize> = HashMap::new();
        for (i, a) in list.iter().enumerate() {
            let at = format!("{section}[{i}]");
            for (field, value) in [("start", &a.start), ("end", &a.end)] {
                let Some(value) = value else { continue };
                if time::OffsetDateTime::parse(value.trim(), &time::format_description::well_known::Rfc3339).is_err() {
                    problem(
                        format!("{at}.{field}"),
                        format!("'{value}' is not an RFC 3339 date-time, e.g. 2027-03-02T09:00:00Z"),
                    );
                }
            }
            let scope = a.scope.trim();
            if on_azure {
                if let Err(e) = plan::azure_scope(scope) {
                    problem(format!("{at}.scope"), e);
                }
            } else if !(scope == "/" || scope.starts_with("/administrativeUnits/")) {
                problem(format!("{at}.scope"), format!("'{scope}' is not / or /administrativeUnits/{{id}}"));
            }
            let scope = scope.trim_end_matches('/');
            let k = (a.principal.trim().to_lowercase(), a.role.trim().to_lowercase(), scope.to_lowercase());
            if let Some(first) = seen.insert(k, i) {
                problem(at, format!("the same assignment as {section}[{first}]"));
            }
        }
    }
    out
}

/// A `- key: v` line holds `key` two columns further in.
fn key_view<'a>(&(_, indent, content): &(usize, usize, &'a str)) -> (usize, &'a str) {
    match content.strip_prefix("- ") {
        Some(rest) => (indent + 2, rest.trim_start()),
        None => (indent, content),
    }
}

/// The line (1-based) of `path` (`eligibilities[3].principal`, `roleSettings[0].rules.X`) in a
/// block-style YAML text; `None` when it cannot be found (flow style, anchors).
pub fn locate(text: &str, path: &str) -> Option<usize> {
    // (line number, indent, content) of the lines that carry YAML.
    let lines: Vec<(usize, usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(n, l)| (n + 1, l.len() - l.trim_start().len(), l.trim_start()))
        .collect();
    let (mut lo, mut hi, mut parent, mut found) = (0usize, lines.len(), -1isize, None);
    for segment in path.split('.') {
        let (key, index) = match segment.split_once('[') {
            Some((k, rest)) => (k, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (segment, None),
        };
        let at = (lo..hi).find(|&i| {
            let (indent, content) = key_view(&lines[i]);
            indent as isize > parent && content.strip_prefix(key).is_some_and(|r| r.starts_with(':'))
        })?;
        let (indent, _) = key_view(&lines[at]);
        found = Some(lines[at].0);
        lo = at + 1;
        // A mapping's children are indented further, or a sequence at the key's own indent.
        hi = (lo..hi)
            .find(|&i| lines[i].1 < indent || (lines[i].1 == indent && !lines[i].2.starts_with("- ")))
            .unwrap_or(hi);
        parent = indent as isize;
        if let Some(n) = index {
            let dash = (lo..hi).filter(|&i| lines[i].2.starts_with("- ")).map(|i| lines[i].1).min()?;
            let items: Vec<usize> = (lo..hi).filter(|&i| lines[i].1 == dash && lines[i].2.starts_with("- ")).collect();
            let start = *items.get(n)?;
            found = Some(lines[start].0);
            hi = items.get(n + 1).copied().unwrap_or(hi);
            lo = start;
            parent = dash as isize;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
version: 1
# a comment
eligibilities:
- principal: alice@example.com  # id
  role: Global Reader
- principal: bob@example.com
  role: Global Reader
  end: tomorrow
roleSettings:
  - role: Global Reader
    rules:
      Expiration_EndUser_Assignment:
        maximumDuration: 8 hours
";

    #[test]
    fn problems_point_at_lines() {
        assert_eq!(locate(FILE, "eligibilities[1].end"), Some(8));
        assert_eq!(locate(FILE, "eligibilities[0].role"), Some(5));
        assert_eq!(locate(FILE, "eligibilities[1]"), Some(6));
        assert_eq!(locate(FILE, "roleSettings[0].rules.Expiration_EndUser_Assignment.maximumDuration"), Some(13));
        assert_eq!(locate(FILE, "version"), Some(1));
        assert_eq!(locate(FILE, "eligibilities[5]"), None);
    }

    #[test]
    fn offline_checks_list_every_problem() {
        let file: PimFile = serde_norway::from_str(FILE).unwrap();
        let problems = check(&file);
        let at: Vec<&str> = problems.iter().map(|p| p.at.as_str()).collect();
        assert_eq!(
            at,
            vec!["roleSettings[0].rules.Expiration_EndUser_Assignment.maximumDuration", "eligibilities[1].end"]
        );
    }
}
