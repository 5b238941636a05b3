//! Role settings: the directory role's editor of every policy rule (below), and the simpler
//! settings model the Azure editor (`azure_settings`) shares: activation, approval, expiry.

use super::api::{lit, q, seg, Api, GraphError};
use super::page;
use super::session::Session;
use super::view::{self, Chrome, Flash};
use super::UiState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use openpim_core::policy::rules::{ApprovalMode, Enablement};
use openpim_proto::directory::{Group, User};
use openpim_proto::policies::{ApprovalStage, PolicyRule, SubjectSet, UnifiedRoleManagementPolicyAssignment};
use openpim_proto::roles::UnifiedRoleDefinition;
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;

/// The settings the editor shows, as read from (or to be written to) the rules. Shared by the
/// directory's editor and the Azure one (`azure_settings`): the same form, the same parsing and
/// the same mapping to rule changes; only the wire of the write differs.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Settings {
    pub activation_minutes: i64,
    pub mfa: bool,
    pub justification: bool,
    pub ticket: bool,
    pub approval: bool,
    /// Approvers as people type them: UPNs of users, names of groups.
    pub approvers: Vec<String>,
    pub eligible_permanent: bool,
    pub eligible_days: i64,
    pub active_permanent: bool,
    pub active_days: i64,
}

impl Settings {
    /// The activation maximum as the form shows it (hours, without trailing zeros).
    pub fn activation_hours(&self) -> String {
        super::my_roles::trim_number(self.activation_minutes as f64 / 60.0)
    }

    /// The approvers as the form shows them.
    pub fn approvers_text(&self) -> String {
        self.approvers.join(", ")
    }
}

/// How people name an approver: a user by sign-in name, a group by display name.
pub(super) async fn approver_name(api: &Api<'_>, who: &ApproverRef) -> Result<String, GraphError> {
    Ok(match who {
        ApproverRef::User(id) => api.get_as::<User>(&format!("/v1.0/users/{id}")).await?.user_principal_name,
        ApproverRef::Group(id) => api.get_as::<Group>(&format!("/v1.0/groups/{id}")).await?.display_name,
    })
}

/// The editor's form (both editors post the same fields).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SettingsForm {
    csrf: String,
    activation_hours: String,
    mfa: String,
    justification: String,
    ticket: String,
    approval: String,
    approvers: String,
    eligible_permanent: String,
    eligible_days: String,
    active_permanent: String,
    active_days: String,
}

impl SettingsForm {
    pub fn csrf(&self) -> &str {
        &self.csrf
    }
}

fn whole(raw: &str, what: &str) -> Result<i64, Flash> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|d| (1..=3650).contains(d))
        .ok_or_else(|| Flash::err(format!("{what} must be a whole number of days from 1 to 3650.")))
}

pub(super) fn from_form(f: &SettingsForm) -> Result<Settings, Flash> {
    let hours: f64 = f
        .activation_hours
        .trim()
        .replace(',', ".")
        .parse()
        .ok()
        .filter(|h: &f64| h.is_finite() && *h > 0.0 && *h <= 24.0)
        .ok_or_else(|| Flash::err("The maximum activation must be a number of hours, at most 24."))?;
    Ok(Settings {
        activation_minutes: (hours * 60.0).round() as i64,
        mfa: f.mfa == "on",
        justification: f.justification == "on",
        ticket: f.ticket == "on",
        approval: f.approval == "on",
        approvers: f
            .approvers
            .split([',', ';', '\n'])
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect(),
        eligible_permanent: f.eligible_permanent == "on",
        eligible_days: whole(&f.eligible_days, "The maximum eligibility")?,
        active_permanent: f.active_permanent == "on",
        active_days: whole(&f.active_days, "The maximum active assignment")?,
    })
}

/// An approver, resolved: a user or a group, by object id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum ApproverRef {
    User(Uuid),
    Group(Uuid),
}

/// A user (by UPN) or a group (by name) as an approver, found through Graph.
async fn approver(api: &Api<'_>, who: &str) -> Result<ApproverRef, Flash> {
    if who.contains('@') {
        let u: User = api
            .get_as(&format!("/v1.0/users/{}", seg(who)))
            .await
            .map_err(|_| Flash::err(format!("There is no user '{who}' to approve.")))?;
        return Ok(ApproverRef::User(u.id));
    }
    let filter = q(&format!("displayName eq {}", lit(who)));
    let groups: Vec<Group> =
        api.list_as(&format!("/v1.0/groups?$filter={filter}")).await.map_err(|e| Flash::graph(&e))?;
    match groups.as_slice() {
        [g] => Ok(ApproverRef::Group(g.id)),
        _ => Err(Flash::err(format!("There is no single group named '{who}' (users are given by sign-in name)."))),
    }
}

/// One rule to change, as the editor sees it; each wire renders it as its own rule patch.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Change {
    /// `Expiration_EndUser_Assignment`: the activation maximum.
    ActivationMaximum { minutes: i64 },
    /// `Enablement_EndUser_Assignment`: what an activation must carry.
    Enablement { enabled: Vec<Enablement> },
    /// `Approval_EndUser_Assignment`: single-stage approval by these approvers, or none
    /// (each with the name it was typed as, kept as the approver's description).
    Approval { approvers: Option<Vec<(ApproverRef, String)>> },
    /// `Expiration_Admin_Eligibility` / `Expiration_Admin_Assignment`.
    AdminExpiration { rule: &'static str, permanent: bool, days: i64 },
}

impl Change {
    pub fn rule_id(&self) -> &'static str {
        match self {
            Change::ActivationMaximum { .. } => "Expiration_EndUser_Assignment",
            Change::Enablement { .. } => "Enablement_EndUser_Assignment",
            Change::Approval { .. } => "Approval_EndUser_Assignment",
            Change::AdminExpiration { rule, .. } => rule,
        }
    }
}

/// The rule changes that turn `old` into `new`, in a fixed order; approvers are looked up
/// through Graph (the caller's view), so an unknown one is an error before anything is written.
pub(super) async fn changes(api: &Api<'_>, old: &Settings, new: &Settings) -> Result<Vec<Change>, Flash> {
    let mut out = Vec::new();
    if old.activation_minutes != new.activation_minutes {
        out.push(Change::ActivationMaximum { minutes: new.activation_minutes });
    }
    if (old.mfa, old.justification, old.ticket) != (new.mfa, new.justification, new.ticket) {
        let enabled = [
            (new.mfa, Enablement::MultiFactorAuthentication),
            (new.justification, Enablement::Justification),
            (new.ticket, Enablement::Ticketing),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, rule)| rule)
        .collect();
        out.push(Change::Enablement { enabled });
    }
    if old.approval != new.approval || (new.approval && old.approvers != new.approvers) {
        let approvers = if new.approval {
            let mut found = Vec::new();
            for who in &new.approvers {
                found.push((approver(api, who).await?, who.clone()));
            }
            Some(found)
        } else {
            None
        };
        out.push(Change::Approval { approvers });
    }
    for (rule, old_perm, old_days, permanent, days) in [
        (
            "Expiration_Admin_Eligibility",
            old.eligible_permanent,
            old.eligible_days,
            new.eligible_permanent,
            new.eligible_days,
        ),
        ("Expiration_Admin_Assignment", old.active_permanent, old.active_days, new.active_permanent, new.active_days),
    ] {
        if (old_perm, old_days) != (permanent, days) {
            out.push(Change::AdminExpiration { rule, permanent, days });
        }
    }
    Ok(out)
}

// ---- The directory role's editor (`/roles/{id}/settings`) ----------------------------------
//
// It edits the policy's rules as Graph returns them: every rule the API has (activation
// maximum, what an activation and an active assignment must carry, the authentication context,
// approval with one or two stages and their escalation, the assignment expiry rules and the
// nine notification rules). Saving is two steps without JavaScript: the form posts to a review
// of what changes (old → new), whose Save re-posts the same fields with `confirmed=yes`; each
// changed rule is then one PATCH of the whole rule, so the API validates and audits it.

const RULE_ACTIVATION: &str = "Expiration_EndUser_Assignment";
const RULE_ACTIVATION_NEEDS: &str = "Enablement_EndUser_Assignment";
const RULE_AUTH_CONTEXT: &str = "AuthenticationContext_EndUser_Assignment";
const RULE_APPROVAL: &str = "Approval_EndUser_Assignment";
const RULE_ELIGIBLE_EXPIRY: &str = "Expiration_Admin_Eligibility";
const RULE_ACTIVE_EXPIRY: &str = "Expiration_Admin_Assignment";
const RULE_ACTIVE_NEEDS: &str = "Enablement_Admin_Assignment";

/// The notification rules: (events, id suffix) × (recipient, its label), as Entra groups them.
const NOTIFY_EVENTS: [(&str, &str); 3] = [
    ("Members assigned as eligible", "Admin_Eligibility"),
    ("Members assigned as active", "Admin_Assignment"),
    ("Members activating the role", "EndUser_Assignment"),
];
const NOTIFY_RECIPIENTS: [(&str, &str); 3] = [
    ("Admin", "Role assignment alert (admins)"),
    ("Requestor", "The assigned or requesting user"),
    ("Approver", "Approvers"),
];
/// At most two approval stages (the API's limit: `Serial` with two stages).
const MAX_STAGES: usize = 2;

/// One approval stage as the form edits it (people by sign-in name, groups by name).
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct StageEdit {
    /// 1-based, for the field names.
    pub n: usize,
    pub approvers: String,
    pub timeout_days: String,
    pub approver_justification: bool,
    pub escalation: bool,
    pub escalation_minutes: String,
    pub escalation_approvers: String,
}

/// One notification rule as the form edits it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct NotifyEdit {
    pub rule: String,
    pub event: &'static str,
    pub recipient: &'static str,
    /// `All`, `Critical` or `None`.
    pub level: String,
    pub default_recipients: bool,
    /// Additional recipients' e-mail addresses, comma-separated.
    pub recipients: String,
}

/// Every setting the directory editor shows, as text the form round-trips exactly.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Editor {
    pub activation_hours: String,
    pub mfa: bool,
    pub justification: bool,
    pub ticket: bool,
    pub auth_context: bool,
    pub claim: String,
    pub approval: bool,
    pub stages: Vec<StageEdit>,
    pub eligible_permanent: bool,
    pub eligible_days: String,
    pub active_permanent: bool,
    pub active_days: String,
    pub active_mfa: bool,
    pub active_justification: bool,
    pub notifications: Vec<NotifyEdit>,
}

fn find<'a>(rules: &'a [PolicyRule], id: &str) -> Option<&'a PolicyRule> {
    rules.iter().find(|r| r.id().eq_ignore_ascii_case(id))
}

fn enabled_in(rules: &[PolicyRule], id: &str, which: Enablement) -> bool {
    match find(rules, id) {
        Some(PolicyRule::Enablement(e)) => e.enabled_rules.iter().any(|r| r.parse() == Ok(which)),
        _ => false,
    }
}

/// An expiration rule as (permanent allowed, its maximum in minutes).
fn expiry(rules: &[PolicyRule], id: &str) -> (bool, i64) {
    match find(rules, id) {
        Some(PolicyRule::Expiration(e)) => (!e.is_expiration_required, view::duration_minutes(&e.maximum_duration)),
        _ => (false, 0),
    }
}

fn subject_ref(s: &SubjectSet) -> ApproverRef {
    match s {
        SubjectSet::SingleUser { user_id, .. } => ApproverRef::User(*user_id),
        SubjectSet::GroupMembers { group_id, .. } => ApproverRef::Group(*group_id),
    }
}

/// Approvers as the form shows them: a user's sign-in name, a group's name (the id when the
/// caller cannot read it).
async fn names_of(api: &Api<'_>, set: &[SubjectSet]) -> String {
    let mut names = Vec::with_capacity(set.len());
    for s in set {
        let who = subject_ref(s);
        names.push(match approver_name(api, &who).await {
            Ok(n) => n,
            Err(_) => match who {
                ApproverRef::User(id) | ApproverRef::Group(id) => id.to_string(),
            },
        });
    }
    names.join(", ")
}

fn split_names(raw: &str) -> Vec<String> {
    raw.split([',', ';', '\n']).map(str::trim).filter(|a| !a.is_empty()).map(str::to_string).collect()
}

impl Editor {
    /// The editor's values from the policy's rules.
    async fn from_rules(api: &Api<'_>, rules: &[PolicyRule]) -> Self {
        // What an activation needs, read as My roles reads it.
        let needs = super::my_roles::Requirements::from_rules(rules);
        let (eligible_permanent, eligible) = expiry(rules, RULE_ELIGIBLE_EXPIRY);
        let (active_permanent, active) = expiry(rules, RULE_ACTIVE_EXPIRY);
        let (auth_context, claim) = match find(rules, RULE_AUTH_CONTEXT) {
            Some(PolicyRule::AuthenticationContext(c)) => (c.is_enabled, c.claim_value.clone().unwrap_or_default()),
            _ => (false, String::new()),
        };
        let (approval, mut stages) = match find(rules, RULE_APPROVAL) {
            Some(PolicyRule::Approval(a)) => {
                let mut stages = Vec::new();
                for (i, st) in a.setting.approval_stages.iter().enumerate().take(MAX_STAGES) {
                    stages.push(StageEdit {
                        n: i + 1,
                        approvers: names_of(api, &st.primary_approvers).await,
                        timeout_days: st.approval_stage_time_out_in_days.to_string(),
                        approver_justification: st.is_approver_justification_required,
                        escalation: st.is_escalation_enabled,
                        escalation_minutes: st.escalation_time_in_minutes.to_string(),
                        escalation_approvers: names_of(api, &st.escalation_approvers).await,
                    });
                }
                (a.setting.is_approval_required && a.setting.approval_mode != "NoApproval", stages)
            }
            _ => (false, vec![]),
        };
        // The form always offers both stages; an unused one is empty.
        while stages.len() < MAX_STAGES {
            let n = stages.len() + 1;
            stages.push(StageEdit {
                n,
                timeout_days: "1".into(),
                approver_justification: true,
                escalation_minutes: "0".into(),
                ..Default::default()
            });
        }
        let mut notifications = Vec::new();
        for (event, suffix) in NOTIFY_EVENTS {
            for (kind, recipient) in NOTIFY_RECIPIENTS {
                let rule = format!("Notification_{kind}_{suffix}");
                if let Some(PolicyRule::Notification(n)) = find(rules, &rule) {
                    notifications.push(NotifyEdit {
                        rule,
                        event,
                        recipient,
                        level: n.notification_level.clone(),
                        default_recipients: n.is_default_recipients_enabled,
                        recipients: n.notification_recipients.join(", "),
                    });
                }
            }
        }
        Editor {
            activation_hours: super::my_roles::trim_number(needs.max_minutes as f64 / 60.0),
            mfa: needs.mfa,
            justification: needs.justification,
            ticket: needs.ticket,
            auth_context,
            claim,
            approval,
            stages,
            eligible_permanent,
            eligible_days: (eligible / (24 * 60)).to_string(),
            active_permanent,
            active_days: (active / (24 * 60)).to_string(),
            active_mfa: enabled_in(rules, RULE_ACTIVE_NEEDS, Enablement::MultiFactorAuthentication),
            active_justification: enabled_in(rules, RULE_ACTIVE_NEEDS, Enablement::Justification),
            notifications,
        }
    }

    /// The editor's values as posted over `old` (which also gives the notification rules the
    /// form had). A stage or notification rule the form does not carry at all (no decision-time
    /// or level field) stays as it is, so a client posting part of the form changes that part.
    fn from_form(f: &HashMap<String, String>, old: &Editor) -> Self {
        let text = |k: &str| f.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
        let on = |k: &str| f.get(k).is_some_and(|v| v == "on");
        let stages = old
            .stages
            .iter()
            .map(|was| {
                let n = was.n;
                if !f.contains_key(&format!("stage{n}_timeout")) {
                    return was.clone();
                }
                StageEdit {
                    n,
                    approvers: text(&format!("stage{n}_approvers")),
                    timeout_days: text(&format!("stage{n}_timeout")),
                    approver_justification: on(&format!("stage{n}_approver_justification")),
                    escalation: on(&format!("stage{n}_escalation")),
                    escalation_minutes: text(&format!("stage{n}_escalation_minutes")),
                    escalation_approvers: text(&format!("stage{n}_escalation_approvers")),
                }
            })
            .collect();
        let notifications = old
            .notifications
            .iter()
            .map(|n| match f.get(&format!("{}_level", n.rule)) {
                None => n.clone(),
                Some(level) => NotifyEdit {
                    level: level.trim().to_string(),
                    default_recipients: on(&format!("{}_default", n.rule)),
                    recipients: text(&format!("{}_recipients", n.rule)),
                    ..n.clone()
                },
            })
            .collect();
        Editor {
            activation_hours: text("activation_hours"),
            mfa: on("mfa"),
            justification: on("justification"),
            ticket: on("ticket"),
            auth_context: on("auth_context"),
            claim: text("claim"),
            approval: on("approval"),
            stages,
            eligible_permanent: on("eligible_permanent"),
            eligible_days: text("eligible_days"),
            active_permanent: on("active_permanent"),
            active_days: text("active_days"),
            active_mfa: on("active_mfa"),
            active_justification: on("active_justification"),
            notifications,
        }
    }

    /// The form's fields as (name, value), for the review page to re-post exactly: text as it
    /// is (empty too), a ticked checkbox as `on`, an unticked one left out as browsers do.
    fn fields(&self) -> Vec<(String, String)> {
        let mut texts: Vec<(String, &str)> = vec![
            ("activation_hours".into(), &self.activation_hours),
            ("claim".into(), &self.claim),
            ("eligible_days".into(), &self.eligible_days),
            ("active_days".into(), &self.active_days),
        ];
        let mut checks: Vec<(String, bool)> = vec![
            ("mfa".into(), self.mfa),
            ("justification".into(), self.justification),
            ("ticket".into(), self.ticket),
            ("auth_context".into(), self.auth_context),
            ("approval".into(), self.approval),
            ("eligible_permanent".into(), self.eligible_permanent),
            ("active_permanent".into(), self.active_permanent),
            ("active_mfa".into(), self.active_mfa),
            ("active_justification".into(), self.active_justification),
        ];
        for s in &self.stages {
            let n = s.n;
            texts.push((format!("stage{n}_approvers"), &s.approvers));
            texts.push((format!("stage{n}_timeout"), &s.timeout_days));
            texts.push((format!("stage{n}_escalation_minutes"), &s.escalation_minutes));
            texts.push((format!("stage{n}_escalation_approvers"), &s.escalation_approvers));
            checks.push((format!("stage{n}_approver_justification"), s.approver_justification));
            checks.push((format!("stage{n}_escalation"), s.escalation));
        }
        for n in &self.notifications {
            texts.push((format!("{}_level", n.rule), &n.level));
            texts.push((format!("{}_recipients", n.rule), &n.recipients));
            checks.push((format!("{}_default", n.rule), n.default_recipients));
        }
        let mut out: Vec<(String, String)> = texts.into_iter().map(|(k, v)| (k, v.to_string())).collect();
        out.extend(checks.into_iter().filter(|(_, on)| *on).map(|(k, _)| (k, "on".to_string())));
        out
    }

    /// The stages an approval uses: the first, and the second when it names approvers.
    fn used_stages(&self) -> impl Iterator<Item = &StageEdit> {
        self.stages.iter().filter(|s| s.n == 1 || !s.approvers.is_empty())
    }

    /// Every setting as (label, value in words), in the page's order: the review lists those
    /// whose words differ.
    fn facts(&self) -> Vec<(String, String)> {
        let yes = |b: bool| if b { "Yes" } else { "No" }.to_string();
        let hours = |raw: &str| match raw.replace(',', ".").parse::<f64>() {
            Ok(h) if h.is_finite() => view::duration_words(&format!("PT{}M", (h * 60.0).round() as i64)),
            _ => raw.to_string(),
        };
        let days = |permanent: bool, raw: &str| {
            if permanent {
                "Permanent allowed".to_string()
            } else {
                format!("Expire after {raw} days")
            }
        };
        let mut out = vec![
            ("Activation maximum".to_string(), hours(&self.activation_hours)),
            ("Activation requires multi-factor authentication".to_string(), yes(self.mfa)),
            ("Activation requires a justification".to_string(), yes(self.justification)),
            ("Activation requires ticket information".to_string(), yes(self.ticket)),
            (
                "Activation requires an authentication context".to_string(),
                if self.auth_context { format!("Yes ({})", self.claim) } else { "No".to_string() },
            ),
            ("Activation requires approval".to_string(), yes(self.approval)),
        ];
        if self.approval {
            for s in self.used_stages() {
                let n = s.n;
                out.push((format!("Stage {n} approvers"), s.approvers.clone()));
                out.push((format!("Stage {n} decides within (days)"), s.timeout_days.clone()));
                out.push((format!("Stage {n} approvers must justify"), yes(s.approver_justification)));
                let escalation = if s.escalation {
                    format!("After {} minutes to {}", s.escalation_minutes, s.escalation_approvers)
                } else {
                    "No".to_string()
                };
                out.push((format!("Stage {n} escalation"), escalation));
            }
        }
        out.push(("Eligible assignments".to_string(), days(self.eligible_permanent, &self.eligible_days)));
        out.push(("Active assignments".to_string(), days(self.active_permanent, &self.active_days)));
        out.push(("Active assignment requires multi-factor authentication".to_string(), yes(self.active_mfa)));
        out.push(("Active assignment requires a justification".to_string(), yes(self.active_justification)));
        for n in &self.notifications {
            let extra = if n.recipients.is_empty() { String::new() } else { format!(", also {}", n.recipients) };
            let default = if n.default_recipients { "default recipients" } else { "no default recipients" };
            out.push((format!("{}: {}", n.event, n.recipient), format!("{} ({default}{extra})", n.level)));
        }
        out
    }
}

/// One line of the review: a setting, its value now and after saving.
pub(super) struct Diff {
    pub label: String,
    pub old: String,
    pub new: String,
}

/// The settings whose words differ between `old` and `new` (a setting only one side has reads
/// "—" on the other).
pub(super) fn diff(old: &Editor, new: &Editor) -> Vec<Diff> {
    let before: HashMap<String, String> = old.facts().into_iter().collect();
    let after = new.facts();
    let mut out: Vec<Diff> = after
        .iter()
        .filter(|(label, value)| before.get(label) != Some(value))
        .map(|(label, value)| Diff {
            label: label.clone(),
            old: before.get(label).cloned().unwrap_or_else(|| "—".into()),
            new: value.clone(),
        })
        .collect();
    let now: HashMap<&String, &String> = after.iter().map(|(l, v)| (l, v)).collect();
    for (label, value) in old.facts() {
        if !now.contains_key(&label) {
            out.push(Diff { label, old: value, new: "—".into() });
        }
    }
    out
}

fn number<T: std::str::FromStr + PartialOrd>(
    raw: &str,
    range: std::ops::RangeInclusive<T>,
    what: &str,
) -> Result<T, String> {
    raw.trim()
        .parse::<T>()
        .ok()
        .filter(|v| range.contains(v))
        .ok_or_else(|| format!("{what}: '{}' is not allowed.", raw.trim()))
}

async fn subjects(api: &Api<'_>, raw: &str) -> Result<Vec<SubjectSet>, String> {
    let mut out = Vec::new();
    for who in split_names(raw) {
        out.push(match approver(api, &who).await.map_err(|f| f.text)? {
            ApproverRef::User(user_id) => SubjectSet::SingleUser { is_backup: false, user_id, description: Some(who) },
            ApproverRef::Group(group_id) => {
                SubjectSet::GroupMembers { is_backup: false, group_id, description: Some(who) }
            }
        });
    }
    Ok(out)
}

fn same_subjects(a: &[SubjectSet], b: &[SubjectSet]) -> bool {
    a.iter().map(subject_ref).collect::<Vec<_>>() == b.iter().map(subject_ref).collect::<Vec<_>>()
}

fn set_enablement(rule: &mut PolicyRule, wanted: &[(bool, Enablement)]) {
    if let PolicyRule::Enablement(e) = rule {
        let is = |which: Enablement| e.enabled_rules.iter().any(|r| r.parse() == Ok(which));
        if wanted.iter().any(|(on, which)| *on != is(*which)) {
            e.enabled_rules = wanted.iter().filter(|(on, _)| *on).map(|(_, w)| w.to_string()).collect();
        }
    }
}

fn set_expiry(rule: &mut PolicyRule, permanent: bool, minutes: i64, iso: String) {
    if let PolicyRule::Expiration(e) = rule {
        e.is_expiration_required = !permanent;
        if view::duration_minutes(&e.maximum_duration) != minutes {
            e.maximum_duration = iso;
        }
    }
}

/// The rules `ed` changes, each whole as it will be PATCHed; numbers the form cannot mean and
/// approvers that cannot be found are refused here, everything else is the API's to judge.
async fn changed_rules(api: &Api<'_>, rules: &[PolicyRule], ed: &Editor) -> Result<Vec<PolicyRule>, String> {
    let hours: f64 = number(&ed.activation_hours.replace(',', "."), 0.05..=24.0, "Maximum activation (hours)")?;
    let activation = (hours * 60.0).round() as i64;
    let eligible_days: i64 = number(&ed.eligible_days, 1..=3650, "Maximum eligibility (days)")?;
    let active_days: i64 = number(&ed.active_days, 1..=3650, "Maximum active assignment (days)")?;
    let mut stages = Vec::new();
    if ed.approval {
        for s in ed.used_stages() {
            let n = s.n;
            stages.push(ApprovalStage {
                approval_stage_time_out_in_days: number(
                    &s.timeout_days,
                    1..=30,
                    &format!("Stage {n} decision time (days)"),
                )?,
                is_approver_justification_required: s.approver_justification,
                escalation_time_in_minutes: if s.escalation {
                    number(&s.escalation_minutes, 0..=43200, &format!("Stage {n} escalation (minutes)"))?
                } else {
                    0
                },
                is_escalation_enabled: s.escalation,
                primary_approvers: subjects(api, &s.approvers).await?,
                escalation_approvers: if s.escalation { subjects(api, &s.escalation_approvers).await? } else { vec![] },
            });
        }
    }
    let mut out = Vec::new();
    for old in rules {
        let mut rule = old.clone();
        match rule.id() {
            RULE_ACTIVATION => set_expiry(&mut rule, !old_required(old), activation, format!("PT{activation}M")),
            RULE_ELIGIBLE_EXPIRY => {
                set_expiry(&mut rule, ed.eligible_permanent, eligible_days * 24 * 60, format!("P{eligible_days}D"))
            }
            RULE_ACTIVE_EXPIRY => {
                set_expiry(&mut rule, ed.active_permanent, active_days * 24 * 60, format!("P{active_days}D"))
            }
            RULE_ACTIVATION_NEEDS => set_enablement(
                &mut rule,
                &[
                    (ed.mfa, Enablement::MultiFactorAuthentication),
                    (ed.justification, Enablement::Justification),
                    (ed.ticket, Enablement::Ticketing),
                ],
            ),
            RULE_ACTIVE_NEEDS => set_enablement(
                &mut rule,
                &[
                    (ed.active_mfa, Enablement::MultiFactorAuthentication),
                    (ed.active_justification, Enablement::Justification),
                ],
            ),
            _ => {}
        }
        match &mut rule {
            PolicyRule::AuthenticationContext(c) => {
                c.is_enabled = ed.auth_context;
                if ed.auth_context || !ed.claim.is_empty() {
                    c.claim_value = Some(ed.claim.clone());
                }
            }
            PolicyRule::Approval(a) => {
                a.setting.is_approval_required = ed.approval;
                if ed.approval {
                    let same = a.setting.approval_stages.len() == stages.len()
                        && a.setting.approval_stages.iter().zip(&stages).all(|(x, y)| {
                            same_subjects(&x.primary_approvers, &y.primary_approvers)
                                && same_subjects(&x.escalation_approvers, &y.escalation_approvers)
                                && (x.approval_stage_time_out_in_days, x.is_approver_justification_required)
                                    == (y.approval_stage_time_out_in_days, y.is_approver_justification_required)
                                && (x.is_escalation_enabled, x.escalation_time_in_minutes)
                                    == (y.is_escalation_enabled, y.escalation_time_in_minutes)
                        });
                    let mode = if stages.len() > 1 { ApprovalMode::Serial } else { ApprovalMode::SingleStage };
                    a.setting.approval_mode = mode.to_string();
                    if !same {
                        a.setting.approval_stages = stages.clone();
                    }
                }
            }
            PolicyRule::Notification(n) => {
                if let Some(edit) = ed.notifications.iter().find(|e| e.rule.eq_ignore_ascii_case(&n.id)) {
                    n.notification_level = edit.level.clone();
                    n.is_default_recipients_enabled = edit.default_recipients;
                    n.notification_recipients = split_names(&edit.recipients);
                }
            }
            _ => {}
        }
        if &rule != old {
            out.push(rule);
        }
    }
    Ok(out)
}

/// The activation maximum's rule keeps its own `isExpirationRequired` (activations always end).
fn old_required(old: &PolicyRule) -> bool {
    match old {
        PolicyRule::Expiration(e) => e.is_expiration_required,
        _ => true,
    }
}

/// The role's name, its policy's id and rules.
async fn load_rules(api: &Api<'_>, role_id: &str) -> Result<(String, String, Vec<PolicyRule>), GraphError> {
    let role: UnifiedRoleDefinition =
        api.get_as(&format!("/v1.0/roleManagement/directory/roleDefinitions/{}", seg(role_id))).await?;
    let filter = format!("scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq {}", lit(role_id));
    let path = format!(
        "/v1.0/policies/roleManagementPolicyAssignments?$filter={}&$expand={}",
        q(&filter),
        q("policy($expand=rules)")
    );
    let assignment = api.list_as::<UnifiedRoleManagementPolicyAssignment>(&path).await?.into_iter().next();
    let policy_id = assignment.as_ref().map(|a| a.policy_id.clone()).unwrap_or_default();
    let rules = assignment.and_then(|a| a.policy).and_then(|p| p.rules).unwrap_or_default();
    Ok((role.display_name, policy_id, rules))
}

#[derive(Template)]
#[template(path = "settings.html")]
struct EditorPage {
    page: Chrome,
    role_id: String,
    ed: Editor,
    /// Why the last attempt was refused (the API's or the form's words), next to the form.
    problem: Option<String>,
}

#[derive(Template)]
#[template(path = "settings_review.html")]
struct ReviewPage {
    page: Chrome,
    role_id: String,
    changes: Vec<Diff>,
    /// The rules the save PATCHes.
    rules: Vec<String>,
    fields: Vec<(String, String)>,
}

pub async fn page(State(ui): State<UiState>, session: Session, Path(id): Path<String>) -> Response {
    let (mut chrome, _) = match page::start(&ui, &session, "roles", "Role settings").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let api = Api::new(&ui.api, &session.token);
    let (name, _, rules) = match load_rules(&api, &id).await {
        Ok(l) => l,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    chrome.title = format!("Role settings: {name}");
    let ed = Editor::from_rules(&api, &rules).await;
    session.finish(view::render(StatusCode::OK, &EditorPage { page: chrome, role_id: id, ed, problem: None }))
}

/// The editor's post: `edit=yes` shows the form again with these values, without
/// `confirmed=yes` the review of the changes, with it the save.
pub async fn save(
    State(ui): State<UiState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = session.csrf_refusal(f.get("csrf").map_or("", String::as_str)) {
        return refused;
    }
    let back = format!("/roles/{}/settings", seg(&id));
    let (mut chrome, _) = match page::start(&ui, &session, "roles", "Role settings").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let api = Api::new(&ui.api, &session.token);
    let (name, policy_id, rules) = match load_rules(&api, &id).await {
        Ok(l) => l,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    chrome.title = format!("Role settings: {name}");
    let old = Editor::from_rules(&api, &rules).await;
    let ed = Editor::from_form(&f, &old);
    let editor = |chrome: Chrome, ed: Editor, problem: Option<String>| {
        let status = if problem.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
        session.finish(view::render(status, &EditorPage { page: chrome, role_id: id.clone(), ed, problem }))
    };
    if f.get("edit").is_some_and(|v| v == "yes") {
        return editor(chrome, ed, None);
    }
    let changed = match changed_rules(&api, &rules, &ed).await {
        Ok(c) => c,
        Err(problem) => return editor(chrome, ed, Some(problem)),
    };
    if changed.is_empty() {
        return session.redirect(&back, Flash::ok("Nothing changed."));
    }
    if !super::confirm::confirmed(f.get("confirmed").map_or("", String::as_str)) {
        chrome.title = format!("Review changes: {name}");
        let page = ReviewPage {
            page: chrome,
            role_id: id.clone(),
            changes: diff(&old, &ed),
            rules: changed.iter().map(|r| r.id().to_string()).collect(),
            fields: ed.fields(),
        };
        return session.finish(view::render(StatusCode::OK, &page));
    }
    let mut done = Vec::new();
    for rule in changed {
        let rule_id = rule.id().to_string();
        let path = format!("/v1.0/policies/roleManagementPolicies/{}/rules/{}", seg(&policy_id), seg(&rule_id));
        if let Err(e) = api.patch_with(&path, &rule).await {
            if e.is_unauthenticated() {
                return super::signin::expired(&session, &e.message);
            }
            let saved = if done.is_empty() { String::new() } else { format!(" Saved before it: {}.", done.join(", ")) };
            return editor(chrome, ed, Some(format!("{rule_id} was refused: {}.{saved}", view::describe(&e))));
        }
        done.push(rule_id);
    }
    session.redirect(&back, Flash::ok(format!("Saved: {}.", done.join(", "))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn editor() -> Editor {
        let notify = |rule: &str| NotifyEdit {
            rule: rule.to_string(),
            event: "Members activating the role",
            recipient: "Approvers",
            level: "All".into(),
            default_recipients: true,
            recipients: String::new(),
        };
        Editor {
            activation_hours: "8".into(),
            mfa: true,
            justification: true,
            stages: (1..=MAX_STAGES)
                .map(|n| StageEdit {
                    n,
                    timeout_days: "1".into(),
                    escalation_minutes: "0".into(),
                    ..Default::default()
                })
                .collect(),
            eligible_days: "365".into(),
            active_days: "180".into(),
            notifications: vec![notify("Notification_Approver_EndUser_Assignment")],
            ..Default::default()
        }
    }

    #[test]
    fn the_form_round_trips_through_the_review() {
        let mut ed = editor();
        ed.approval = true;
        ed.stages[0].approvers = "pat@x.test".into();
        ed.stages[1].approvers = "Helpdesk Leads".into();
        ed.stages[0].escalation = true;
        ed.notifications[0].level = "Critical".into();
        ed.notifications[0].recipients = "sec@x.test".into();
        let posted: HashMap<String, String> = ed.fields().into_iter().collect();
        assert_eq!(Editor::from_form(&posted, &editor()), ed);
    }

    #[test]
    fn the_review_lists_what_changes_old_to_new() {
        let old = editor();
        let mut new = editor();
        assert!(diff(&old, &new).is_empty());
        new.activation_hours = "4".into();
        new.approval = true;
        new.stages[0].approvers = "pat@x.test".into();
        new.stages[1].approvers = "Helpdesk Leads".into();
        new.notifications[0].level = "Critical".into();
        let lines: Vec<(String, String, String)> =
            diff(&old, &new).into_iter().map(|d| (d.label, d.old, d.new)).collect();
        let line = |l: &str, o: &str, n: &str| (l.to_string(), o.to_string(), n.to_string());
        assert!(lines.contains(&line("Activation maximum", "8 hours", "4 hours")), "{lines:?}");
        assert!(lines.contains(&line("Activation requires approval", "No", "Yes")));
        assert!(lines.contains(&line("Stage 1 approvers", "—", "pat@x.test")));
        assert!(lines.contains(&line("Stage 2 approvers", "—", "Helpdesk Leads")));
        assert!(lines.contains(&line(
            "Members activating the role: Approvers",
            "All (default recipients)",
            "Critical (default recipients)"
        )));
        // Only stage 1 is used without stage 2 approvers; a setting that goes away reads "—".
        let lines = diff(&new, &Editor { approval: false, ..new.clone() });
        assert!(lines.iter().any(|d| d.label == "Stage 2 approvers" && d.new == "—"));
    }
}
