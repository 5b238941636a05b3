//! Role settings: an editor for the role's policy rules. Each changed setting is one PATCH of the
//! rule that holds it; the API validates and audits each.

use super::api::{lit, q, seg, Api, GraphError};
use super::my_roles::Requirements;
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
use openpim_proto::policies::{
    ApprovalSettingsPatch, ApprovalStagePatch, PolicyRule, PolicyRulePatch, SubjectSet,
    UnifiedRoleManagementPolicyAssignment,
};
use openpim_proto::roles::UnifiedRoleDefinition;
use serde::Deserialize;
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

struct Loaded {
    policy_id: String,
    role_name: String,
    settings: Settings,
}

fn rule<'a>(rules: &'a [PolicyRule], id: &str) -> Option<&'a PolicyRule> {
    rules.iter().find(|r| r.id() == id)
}

/// An admin expiration rule's (permanent allowed, maximum days); as a missing rule reads.
fn expiration(rules: &[PolicyRule], id: &str) -> (bool, i64) {
    match rule(rules, id) {
        Some(PolicyRule::Expiration(e)) => {
            (!e.is_expiration_required, view::duration_minutes(&e.maximum_duration) / (24 * 60))
        }
        _ => (false, 0),
    }
}

/// How people name an approver: a user by sign-in name, a group by display name.
pub(super) async fn approver_name(api: &Api<'_>, who: &ApproverRef) -> Result<String, GraphError> {
    Ok(match who {
        ApproverRef::User(id) => api.get_as::<User>(&format!("/v1.0/users/{id}")).await?.user_principal_name,
        ApproverRef::Group(id) => api.get_as::<Group>(&format!("/v1.0/groups/{id}")).await?.display_name,
    })
}

async fn load(api: &Api<'_>, role_id: &str) -> Result<Loaded, GraphError> {
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
    let reqs = Requirements::from_rules(&rules);
    let stage_approvers = match rule(&rules, "Approval_EndUser_Assignment") {
        Some(PolicyRule::Approval(a)) => {
            a.setting.approval_stages.first().map(|s| s.primary_approvers.clone()).unwrap_or_default()
        }
        _ => vec![],
    };
    let mut approvers = Vec::new();
    for a in stage_approvers {
        let who = match a {
            SubjectSet::SingleUser { user_id, .. } => ApproverRef::User(user_id),
            SubjectSet::GroupMembers { group_id, .. } => ApproverRef::Group(group_id),
        };
        approvers.push(approver_name(api, &who).await?);
    }
    let (eligible_permanent, eligible_days) = expiration(&rules, "Expiration_Admin_Eligibility");
    let (active_permanent, active_days) = expiration(&rules, "Expiration_Admin_Assignment");
    Ok(Loaded {
        policy_id,
        role_name: role.display_name,
        settings: Settings {
            activation_minutes: reqs.max_minutes,
            mfa: reqs.mfa,
            justification: reqs.justification,
            ticket: reqs.ticket,
            approval: reqs.approval,
            approvers,
            eligible_permanent,
            eligible_days,
            active_permanent,
            active_days,
        },
    })
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    page: Chrome,
    role_id: String,
    s: Settings,
}

pub async fn page(State(ui): State<UiState>, session: Session, Path(id): Path<String>) -> Response {
    let (mut chrome, _) = match page::start(&ui, &session, "roles", "Role settings").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let api = Api::new(&ui.api, &session.token);
    let loaded = match load(&api, &id).await {
        Ok(l) => l,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    chrome.title = format!("Role settings: {}", loaded.role_name);
    let page = SettingsPage { page: chrome, role_id: id, s: loaded.settings };
    session.finish(view::render(StatusCode::OK, &page))
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

/// A change as Graph's rule PATCH body.
fn graph_patch(change: Change) -> PolicyRulePatch {
    let id = change.rule_id().to_string();
    match change {
        Change::ActivationMaximum { minutes } => PolicyRulePatch::Expiration {
            id,
            is_expiration_required: None,
            maximum_duration: Some(format!("PT{minutes}M")),
        },
        Change::Enablement { enabled } => {
            PolicyRulePatch::Enablement { id, enabled_rules: enabled.iter().map(ToString::to_string).collect() }
        }
        Change::Approval { approvers: Some(approvers) } => {
            let primary_approvers = approvers
                .into_iter()
                .map(|(who, name)| match who {
                    ApproverRef::User(user_id) => {
                        SubjectSet::SingleUser { is_backup: false, user_id, description: Some(name) }
                    }
                    ApproverRef::Group(group_id) => {
                        SubjectSet::GroupMembers { is_backup: false, group_id, description: Some(name) }
                    }
                })
                .collect();
            let setting = ApprovalSettingsPatch {
                is_approval_required: true,
                approval_mode: Some(ApprovalMode::SingleStage.to_string()),
                approval_stages: Some(vec![ApprovalStagePatch { primary_approvers }]),
            };
            PolicyRulePatch::Approval { id, setting }
        }
        Change::Approval { approvers: None } => {
            let setting =
                ApprovalSettingsPatch { is_approval_required: false, approval_mode: None, approval_stages: None };
            PolicyRulePatch::Approval { id, setting }
        }
        Change::AdminExpiration { permanent, days, .. } => PolicyRulePatch::Expiration {
            id,
            is_expiration_required: Some(!permanent),
            maximum_duration: Some(format!("P{days}D")),
        },
    }
}

pub async fn save(
    State(ui): State<UiState>,
    session: Session,
    Path(id): Path<String>,
    Form(f): Form<SettingsForm>,
) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let back = format!("/roles/{}/settings", seg(&id));
    let api = Api::new(&ui.api, &session.token);
    let new = match from_form(&f) {
        Ok(s) => s,
        Err(flash) => return session.redirect(&back, flash),
    };
    let loaded = match load(&api, &id).await {
        Ok(l) => l,
        Err(e) if e.is_unauthenticated() => return super::signin::expired(&session, &e.message),
        Err(e) => return session.redirect(&back, Flash::graph(&e)),
    };
    let changes = match changes(&api, &loaded.settings, &new).await {
        Ok(c) => c,
        Err(flash) => return session.redirect(&back, flash),
    };
    if changes.is_empty() {
        return session.redirect(&back, Flash::ok("Nothing changed."));
    }
    let mut done = Vec::new();
    for change in changes {
        let rule_id = change.rule_id();
        let body = graph_patch(change);
        let path = format!("/v1.0/policies/roleManagementPolicies/{}/rules/{rule_id}", seg(&loaded.policy_id));
        if let Err(e) = api.patch_with(&path, &body).await {
            if e.is_unauthenticated() {
                return super::signin::expired(&session, &e.message);
            }
            let saved =
                if done.is_empty() { String::new() } else { format!(" (saved before it: {})", done.join(", ")) };
            return session.redirect(&back, Flash::err(format!("{rule_id}: {}{saved}", view::describe(&e))));
        }
        done.push(rule_id);
    }
    session.redirect(&back, Flash::ok(format!("Saved: {}.", done.join(", "))))
}
