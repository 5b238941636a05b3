//! A role's settings at an Azure scope (issue #16): the editor for callers who may change them,
//! the rules read-only for everyone else who may read the scope.
//!
//! The form, its parsing and the mapping to rule changes are the directory editor's
//! (`super::settings`); the write is one ARM PATCH of the (role, scope)'s policy, sent
//! in-process with the session's ARM token, so `crate::azure::policies::update` validates,
//! stores and audits it, and Azure's rights check (`roleManagementPolicies/write` at the scope)
//! is the API's. All rules change together or none does.

use super::api::{q, Api, GraphError};
use super::azure::{allows, arm, scope_href, scope_label, typed, PIM_V, RBAC_V};
use super::page;
use super::session::Session;
use super::settings::{self, ApproverRef, Change, Settings, SettingsForm};
use super::view::{self, Chrome, Flash};
use super::UiState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::Form;
use openpim_core::policy::rules::{self as policy_rules, azure_default_rules, Approver, PolicyRule, RuleKind};
use openpim_core::scope::ArmScope;
use openpim_proto::arm::role_definitions::RoleDefinition;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

/// The api-version of role management policies the editor writes with.
const POLICY_V: &str = "api-version=2020-10-01";

struct RuleRow {
    name: String,
    value: String,
}

#[derive(Template)]
#[template(path = "azure_settings.html")]
struct SettingsPage {
    page: Chrome,
    scope: String,
    scope_href: String,
    /// Where the editor posts (`/azure/settings?scope=..&role=..`).
    action: String,
    changed: bool,
    rules: Vec<RuleRow>,
    /// The caller may change the settings here: the editor instead of the table.
    can_write: bool,
    s: Settings,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SettingsQuery {
    scope: String,
    role: String,
}

impl SettingsQuery {
    fn parse(&self) -> Result<(ArmScope, Uuid), String> {
        let at = ArmScope::parse(self.scope.trim()).map_err(|_| "The page names no Azure scope.".to_string())?;
        let role = Uuid::parse_str(self.role.trim()).map_err(|_| "The page names no role.".to_string())?;
        Ok((at, role))
    }
}

/// The page of `role`'s settings at `scope`.
pub fn href(scope: &str, role: &str) -> String {
    format!("/azure/settings?scope={}&role={}", q(scope), q(role))
}

fn yes_no(b: bool) -> String {
    if b { "Yes" } else { "No" }.to_string()
}

fn expiry(required: bool, max: time::Duration) -> String {
    if required {
        format!("Required, at most {}", view::duration_words(&openpim_core::duration::format(max)))
    } else {
        "Permanent allowed".to_string()
    }
}

/// The rules the engine applies at (role, scope): the stored ones, else Azure's defaults; and
/// whether they were changed. Read from the store after the API's read check (the page's) or
/// before the API's write check (the save's, which the PATCH then makes).
async fn rules_at(ui: &UiState, role: Uuid, at: &ArmScope) -> Result<(bool, Vec<PolicyRule>), GraphError> {
    let stored = ui.app.store.arm_policy(role, at).await.map_err(|e| GraphError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        code: "UnknownError".into(),
        message: format!("The role's settings could not be read: {e}"),
    })?;
    Ok(match stored {
        Some(p) => (true, p.rules),
        None => (false, azure_default_rules()),
    })
}

/// The rules as the shared editor reads them; approvers by the names people type (via Graph).
async fn settings_of(graph: &Api<'_>, rules: &[PolicyRule]) -> Result<Settings, GraphError> {
    let policy = policy_rules::effective(rules);
    let act = &policy.end_user_assignment;
    let stage = rules.iter().find_map(|r| match &r.kind {
        RuleKind::Approval(a) if r.id == "Approval_EndUser_Assignment" => a.stages.first().cloned(),
        _ => None,
    });
    let mut approvers = Vec::new();
    for a in stage.map(|s| s.primary_approvers).unwrap_or_default() {
        let who = match a {
            Approver::SingleUser { user_id, .. } => ApproverRef::User(user_id),
            Approver::GroupMembers { group_id, .. } => ApproverRef::Group(group_id),
        };
        approvers.push(settings::approver_name(graph, &who).await?);
    }
    let days = |d: time::Duration| d.whole_days();
    Ok(Settings {
        activation_minutes: act.expiration.maximum_duration.whole_minutes(),
        mfa: act.enablement.multi_factor_authentication,
        justification: act.enablement.justification,
        ticket: act.enablement.ticketing,
        approval: act.approval_required,
        approvers,
        eligible_permanent: !policy.admin_eligibility.expiration.is_expiration_required,
        eligible_days: days(policy.admin_eligibility.expiration.maximum_duration),
        active_permanent: !policy.admin_assignment.expiration.is_expiration_required,
        active_days: days(policy.admin_assignment.expiration.maximum_duration),
    })
}

/// The read-only table of the rules.
fn rows(rules: &[PolicyRule]) -> Vec<RuleRow> {
    let policy = policy_rules::effective(rules);
    let act = &policy.end_user_assignment;
    vec![
        RuleRow {
            name: "Activation maximum duration".into(),
            value: view::duration_words(&openpim_core::duration::format(act.expiration.maximum_duration)),
        },
        RuleRow {
            name: "Multi-factor authentication on activation".into(),
            value: yes_no(act.enablement.multi_factor_authentication),
        },
        RuleRow { name: "Justification on activation".into(), value: yes_no(act.enablement.justification) },
        RuleRow { name: "Ticket information on activation".into(), value: yes_no(act.enablement.ticketing) },
        RuleRow { name: "Approval to activate".into(), value: yes_no(act.approval_required) },
        RuleRow {
            name: "Eligible assignments expire".into(),
            value: expiry(
                policy.admin_eligibility.expiration.is_expiration_required,
                policy.admin_eligibility.expiration.maximum_duration,
            ),
        },
        RuleRow {
            name: "Active assignments expire".into(),
            value: expiry(
                policy.admin_assignment.expiration.is_expiration_required,
                policy.admin_assignment.expiration.maximum_duration,
            ),
        },
    ]
}

/// A role's settings at a scope. Shown to callers the API lets read the PIM rows at the scope
/// (`roleEligibilityScheduleInstances` answers them); editable for those whose permissions at
/// the scope allow `roleManagementPolicies/write` (a hint: the PATCH checks again).
pub async fn page(State(ui): State<UiState>, session: Session, Query(query): Query<SettingsQuery>) -> Response {
    let (mut chrome, _) = match page::start(&ui, &session, "azure", "Role settings").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let (at, role) = match query.parse() {
        Ok(x) => x,
        Err(m) => {
            let e = GraphError { status: StatusCode::BAD_REQUEST, code: "InvalidRequest".into(), message: m };
            return page::load_failed(&session, chrome, &e);
        }
    };
    let api = arm(&ui, &session);
    let graph = Api::new(&ui.api, &session.token);
    let here = at.as_str().to_string();
    let loaded = async {
        // The API's read check at the scope stands for this page's.
        let instances = at.collection_id("roleEligibilityScheduleInstances");
        api.get(&format!("{instances}?{PIM_V}&$filter={}", q("atScope()"))).await?;
        let def: RoleDefinition =
            typed(api.get(&format!("{}?{RBAC_V}", at.resource_id("roleDefinitions", role))).await?)?;
        let perms = api.get(&format!("{}?{RBAC_V}", at.collection_id("permissions"))).await?;
        // Role settings live below the root only (ARM refuses a policy at '/').
        let can_write = !at.is_root() && allows(&perms, crate::azure::policies::WRITE);
        let (changed, rules) = rules_at(&ui, role, &at).await?;
        let s = if can_write { settings_of(&graph, &rules).await? } else { Settings::default() };
        Ok::<_, GraphError>((def, changed, rules, can_write, s))
    };
    let (def, changed, rules, can_write, s) = match loaded.await {
        Ok(x) => x,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    chrome.title = format!("{} at {}", def.properties.role_name, scope_label(&here));
    let page = SettingsPage {
        page: chrome,
        scope_href: scope_href(&here),
        action: href(&here, &role.to_string()),
        scope: here,
        changed,
        rules: rows(&rules),
        can_write,
        s,
    };
    session.finish(view::render(StatusCode::OK, &page))
}

/// A change as one rule of ARM's policy PATCH (properties left out keep their values).
fn arm_rule(change: &Change) -> Value {
    let id = change.rule_id();
    match change {
        Change::ActivationMaximum { minutes } => json!({
            "id": id,
            "ruleType": "RoleManagementPolicyExpirationRule",
            "maximumDuration": format!("PT{minutes}M"),
        }),
        Change::Enablement { enabled } => json!({
            "id": id,
            "ruleType": "RoleManagementPolicyEnablementRule",
            "enabledRules": enabled.iter().map(ToString::to_string).collect::<Vec<_>>(),
        }),
        Change::Approval { approvers: Some(approvers) } => {
            let primary: Vec<Value> = approvers
                .iter()
                .map(|(who, name)| {
                    let (id, user_type) = match who {
                        ApproverRef::User(id) => (id, "User"),
                        ApproverRef::Group(id) => (id, "Group"),
                    };
                    json!({"id": id, "userType": user_type, "isBackup": false, "description": name})
                })
                .collect();
            json!({
                "id": id,
                "ruleType": "RoleManagementPolicyApprovalRule",
                "setting": {
                    "isApprovalRequired": true,
                    "approvalMode": "SingleStage",
                    "approvalStages": [{"primaryApprovers": primary}],
                },
            })
        }
        Change::Approval { approvers: None } => json!({
            "id": id,
            "ruleType": "RoleManagementPolicyApprovalRule",
            "setting": {"isApprovalRequired": false},
        }),
        Change::AdminExpiration { permanent, days, .. } => json!({
            "id": id,
            "ruleType": "RoleManagementPolicyExpirationRule",
            "isExpirationRequired": !permanent,
            "maximumDuration": format!("P{days}D"),
        }),
    }
}

/// Saves the editor: the changed rules in one PATCH of the policy. Bad input is refused here or
/// by the API, and then nothing is written.
pub async fn save(
    State(ui): State<UiState>,
    session: Session,
    Query(query): Query<SettingsQuery>,
    Form(f): Form<SettingsForm>,
) -> Response {
    if let Some(refused) = session.csrf_refusal(f.csrf()) {
        return refused;
    }
    let (at, role) = match query.parse() {
        Ok(x) => x,
        Err(m) => return session.redirect("/azure", Flash::err(m)),
    };
    let back = href(at.as_str(), &role.to_string());
    let new = match settings::from_form(&f) {
        Ok(s) => s,
        Err(flash) => return session.redirect(&back, flash),
    };
    let graph = Api::new(&ui.api, &session.token);
    let old = match rules_at(&ui, role, &at).await {
        Ok((_, rules)) => settings_of(&graph, &rules).await,
        Err(e) => Err(e),
    };
    let old = match old {
        Ok(s) => s,
        Err(e) if e.is_unauthenticated() => return super::signin::expired(&session, &e.message),
        Err(e) => return session.redirect(&back, Flash::graph(&e)),
    };
    let changes = match settings::changes(&graph, &old, &new).await {
        Ok(c) => c,
        Err(flash) => return session.redirect(&back, flash),
    };
    if changes.is_empty() {
        return session.redirect(&back, Flash::ok("Nothing changed."));
    }
    let name = crate::azure::policies::policy_id(role, &at);
    let path = format!("{}?{POLICY_V}", at.resource_id("roleManagementPolicies", name));
    let body = json!({"properties": {"rules": changes.iter().map(arm_rule).collect::<Vec<_>>()}});
    match arm(&ui, &session).call(Method::PATCH, &path, Some(&body)).await {
        Ok(_) => {
            let done: Vec<&str> = changes.iter().map(Change::rule_id).collect();
            session.redirect(&back, Flash::ok(format!("Saved: {}.", done.join(", "))))
        }
        Err(e) if e.is_unauthenticated() => super::signin::expired(&session, &e.message),
        Err(e) => session.redirect(&back, Flash::err(format!("Nothing was saved: {}", view::describe(&e)))),
    }
}
