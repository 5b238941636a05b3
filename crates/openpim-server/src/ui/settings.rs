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

/// The settings the editor shows, as read from (or to be written to) the rules.
#[derive(Debug, Clone, PartialEq)]
struct Settings {
    activation_minutes: i64,
    mfa: bool,
    justification: bool,
    ticket: bool,
    approval: bool,
    /// Approvers as people type them: UPNs of users, names of groups.
    approvers: Vec<String>,
    eligible_permanent: bool,
    eligible_days: i64,
    active_permanent: bool,
    active_days: i64,
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
        approvers.push(match a {
            SubjectSet::SingleUser { user_id, .. } => {
                api.get_as::<User>(&format!("/v1.0/users/{user_id}")).await?.user_principal_name
            }
            SubjectSet::GroupMembers { group_id, .. } => {
                api.get_as::<Group>(&format!("/v1.0/groups/{group_id}")).await?.display_name
            }
        });
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
    activation_hours: String,
    s: Settings,
    approvers: String,
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
    let s = loaded.settings;
    let hours = format!("{:.2}", s.activation_minutes as f64 / 60.0);
    let page = SettingsPage {
        page: chrome,
        role_id: id,
        activation_hours: hours.trim_end_matches('0').trim_end_matches('.').to_string(),
        approvers: s.approvers.join(", "),
        s,
    };
    session.finish(view::render(StatusCode::OK, &page))
}

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

fn whole(raw: &str, what: &str) -> Result<i64, Flash> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|d| (1..=3650).contains(d))
        .ok_or_else(|| Flash::err(format!("{what} must be a whole number of days from 1 to 3650.")))
}

fn from_form(f: &SettingsForm) -> Result<Settings, Flash> {
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

/// A user (by UPN) or a group (by name) as an approver.
async fn approver(api: &Api<'_>, who: &str) -> Result<SubjectSet, Flash> {
    let description = Some(who.to_string());
    if who.contains('@') {
        let u: User = api
            .get_as(&format!("/v1.0/users/{}", seg(who)))
            .await
            .map_err(|_| Flash::err(format!("There is no user '{who}' to approve.")))?;
        return Ok(SubjectSet::SingleUser { is_backup: false, user_id: u.id, description });
    }
    let filter = q(&format!("displayName eq {}", lit(who)));
    let groups: Vec<Group> =
        api.list_as(&format!("/v1.0/groups?$filter={filter}")).await.map_err(|e| Flash::graph(&e))?;
    match groups.as_slice() {
        [g] => Ok(SubjectSet::GroupMembers { is_backup: false, group_id: g.id, description }),
        _ => Err(Flash::err(format!("There is no single group named '{who}' (users are given by sign-in name)."))),
    }
}

/// The rule PATCHes that turn `old` into `new`, in a fixed order.
async fn patches(api: &Api<'_>, old: &Settings, new: &Settings) -> Result<Vec<(&'static str, PolicyRulePatch)>, Flash> {
    let mut out = Vec::new();
    if old.activation_minutes != new.activation_minutes {
        let id = "Expiration_EndUser_Assignment";
        out.push((
            id,
            PolicyRulePatch::Expiration {
                id: id.into(),
                is_expiration_required: None,
                maximum_duration: Some(format!("PT{}M", new.activation_minutes)),
            },
        ));
    }
    if (old.mfa, old.justification, old.ticket) != (new.mfa, new.justification, new.ticket) {
        let enabled_rules = [
            (new.mfa, Enablement::MultiFactorAuthentication),
            (new.justification, Enablement::Justification),
            (new.ticket, Enablement::Ticketing),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, rule)| rule.to_string())
        .collect();
        let id = "Enablement_EndUser_Assignment";
        out.push((id, PolicyRulePatch::Enablement { id: id.into(), enabled_rules }));
    }
    if old.approval != new.approval || (new.approval && old.approvers != new.approvers) {
        let setting = if new.approval {
            let mut primary_approvers = Vec::new();
            for who in &new.approvers {
                primary_approvers.push(approver(api, who).await?);
            }
            ApprovalSettingsPatch {
                is_approval_required: true,
                approval_mode: Some(ApprovalMode::SingleStage.to_string()),
                approval_stages: Some(vec![ApprovalStagePatch { primary_approvers }]),
            }
        } else {
            ApprovalSettingsPatch { is_approval_required: false, approval_mode: None, approval_stages: None }
        };
        let id = "Approval_EndUser_Assignment";
        out.push((id, PolicyRulePatch::Approval { id: id.into(), setting }));
    }
    for (id, old_perm, old_days, perm, days) in [
        (
            "Expiration_Admin_Eligibility",
            old.eligible_permanent,
            old.eligible_days,
            new.eligible_permanent,
            new.eligible_days,
        ),
        ("Expiration_Admin_Assignment", old.active_permanent, old.active_days, new.active_permanent, new.active_days),
    ] {
        if (old_perm, old_days) != (perm, days) {
            out.push((
                id,
                PolicyRulePatch::Expiration {
                    id: id.into(),
                    is_expiration_required: Some(!perm),
                    maximum_duration: Some(format!("P{days}D")),
                },
            ));
        }
    }
    Ok(out)
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
    let changes = match patches(&api, &loaded.settings, &new).await {
        Ok(c) => c,
        Err(flash) => return session.redirect(&back, flash),
    };
    if changes.is_empty() {
        return session.redirect(&back, Flash::ok("Nothing changed."));
    }
    let mut done = Vec::new();
    for (rule_id, body) in changes {
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
