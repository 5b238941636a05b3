//! My roles: what the signed-in user is eligible for and holds now, with Activate (showing what
//! the role's policy asks first), Deactivate, Extend, and pending requests to cancel.

use super::api::{seg, Api};
use super::page;
use super::session::Session;
use super::view::{self, Chrome, Flash};
use super::UiState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use openpim_core::duration;
use openpim_core::policy::{rules, RolePolicy};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::hash_map::Entry;
use std::collections::HashMap;

const RM: &str = "/v1.0/roleManagement/directory";

/// What activating a role asks, read from the role's policy (end-user activation rules).
#[derive(Debug, Clone, Default)]
pub struct Requirements {
    pub max_minutes: i64,
    pub max_words: String,
    pub mfa: bool,
    pub justification: bool,
    pub ticket: bool,
    pub approval: bool,
    pub auth_context: Option<String>,
}

impl Requirements {
    pub fn from_rules(rules: &[Value]) -> Self {
        let mut r = Requirements::default();
        for rule in rules {
            match rule["id"].as_str().unwrap_or_default() {
                "Expiration_EndUser_Assignment" => {
                    let max = view::s(&rule["maximumDuration"]);
                    r.max_minutes = view::duration_minutes(&max);
                    r.max_words = view::duration_words(&max);
                }
                "Enablement_EndUser_Assignment" => {
                    let enabled: Vec<&str> = rule["enabledRules"]
                        .as_array()
                        .map(|a| a.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    r.mfa = enabled.contains(&"MultiFactorAuthentication");
                    r.justification = enabled.contains(&"Justification");
                    r.ticket = enabled.contains(&"Ticketing");
                }
                "Approval_EndUser_Assignment" => {
                    r.approval = rule["setting"]["isApprovalRequired"].as_bool().unwrap_or(false);
                }
                "AuthenticationContext_EndUser_Assignment" if rule["isEnabled"].as_bool() == Some(true) => {
                    r.auth_context = rule["claimValue"].as_str().map(str::to_string);
                }
                _ => {}
            }
        }
        r
    }

    /// What core enforces on an activation: the end-user assignment rules of the role's
    /// effective policy (`openpim_core::policy::rules::effective`, or Entra's defaults when the
    /// role has no policy), exactly as the API checks a request. So the form cannot say
    /// "optional" where the API says "required" (an approval rule demanding the requester's
    /// justification, say).
    pub fn from_policy(policy: &RolePolicy) -> Self {
        let rules = &policy.end_user_assignment;
        let max = duration::format(rules.expiration.maximum_duration);
        Requirements {
            max_minutes: rules.expiration.maximum_duration.whole_minutes(),
            max_words: view::duration_words(&max),
            mfa: rules.enablement.multi_factor_authentication,
            justification: rules.enablement.justification,
            ticket: rules.enablement.ticketing,
            approval: rules.approval_required,
            auth_context: rules.authentication_context.clone(),
        }
    }

    /// The largest duration offered in the form, in hours (the form's `max`).
    pub fn max_hours(&self) -> String {
        trim_number(self.max_minutes as f64 / 60.0)
    }

    /// The form's default: one hour, or the maximum if that is shorter.
    pub fn default_hours(&self) -> String {
        trim_number((self.max_minutes.min(60) as f64 / 60.0).max(0.25))
    }
}

fn trim_number(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// What activating `role_id` requires, from the rules the API enforces. Read from the store, not
/// through the API: role settings are for Entra's PIM readers there (docs/SECURITY.md), but a
/// member may know what activating a role they are eligible for asks of them, and this page
/// only asks for the roles of their own eligibilities.
async fn activation_requirements(ui: &UiState, role_id: &str) -> Result<Requirements, super::api::GraphError> {
    let Ok(role) = uuid::Uuid::parse_str(role_id) else { return Ok(Requirements::default()) };
    let stored = ui.app.store.policy_rules_of(role).await.map_err(|e| super::api::GraphError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        code: "UnknownError".into(),
        message: format!("The role's policy could not be read: {e}"),
    })?;
    let policy = stored.as_deref().map(rules::effective).unwrap_or_else(RolePolicy::entra_default);
    Ok(Requirements::from_policy(&policy))
}

struct EligibleRow {
    role_id: String,
    role_name: String,
    scope: String,
    scope_label: String,
    member_type: String,
    end: String,
    can_extend: bool,
    reqs: Requirements,
    /// A unique id prefix for this row's form fields.
    key: String,
}

struct ActiveRow {
    role_id: String,
    role_name: String,
    scope: String,
    scope_label: String,
    assignment_type: String,
    member_type: String,
    start: String,
    end: String,
    can_deactivate: bool,
    can_extend: bool,
    key: String,
}

struct PendingRow {
    id: String,
    role_name: String,
    status: String,
    created: String,
    justification: String,
}

#[derive(Template)]
#[template(path = "my_roles.html")]
struct MyRolesPage {
    page: Chrome,
    eligible: Vec<EligibleRow>,
    active: Vec<ActiveRow>,
    pending: Vec<PendingRow>,
    mfa_note: bool,
}

fn role_name(v: &Value) -> String {
    v["roleDefinition"]["displayName"].as_str().map(str::to_string).unwrap_or_else(|| view::s(&v["roleDefinitionId"]))
}

/// Whether a time-bound schedule ends within 14 days, when Extend applies.
fn ends_soon(end: &Value, now: time::OffsetDateTime) -> bool {
    end.as_str()
        .and_then(|s| time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok())
        .is_some_and(|e| e - now <= time::Duration::days(14))
}

pub async fn page(State(ui): State<UiState>, session: Session) -> Response {
    let (chrome, _me) = match page::start(&ui, &session, "my", "My roles").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let api = Api::new(&ui.api, &session.token);
    let mine = "filterByCurrentUser(on='principal')?$expand=roleDefinition";
    let loaded = async {
        let eligible = api.list_all(&format!("{RM}/roleEligibilityScheduleInstances/{mine}")).await?;
        let active = api.list_all(&format!("{RM}/roleAssignmentScheduleInstances/{mine}")).await?;
        let requests = api.list_all(&format!("{RM}/roleAssignmentScheduleRequests/{mine}")).await?;
        let mut policies: HashMap<String, Requirements> = HashMap::new();
        for e in &eligible {
            let id = view::s(&e["roleDefinitionId"]);
            if let Entry::Vacant(slot) = policies.entry(id) {
                let reqs = activation_requirements(&ui, slot.key()).await?;
                slot.insert(reqs);
            }
        }
        Ok::<_, super::api::GraphError>((eligible, active, requests, policies))
    };
    let (eligible, active, requests, policies) = match loaded.await {
        Ok(x) => x,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    let now = ui.app.now();
    let eligible: Vec<EligibleRow> = eligible
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let role_id = view::s(&e["roleDefinitionId"]);
            let scope = view::s(&e["directoryScopeId"]);
            let direct = e["memberType"].as_str() == Some("Direct");
            EligibleRow {
                reqs: policies.get(&role_id).cloned().unwrap_or_default(),
                role_name: role_name(e),
                scope_label: view::scope_label(&scope),
                member_type: view::s(&e["memberType"]),
                end: view::when(&e["endDateTime"]),
                can_extend: direct && ends_soon(&e["endDateTime"], now),
                key: format!("e{i}"),
                role_id,
                scope,
            }
        })
        .collect();
    let active: Vec<ActiveRow> = active
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let scope = view::s(&a["directoryScopeId"]);
            let direct = a["memberType"].as_str() == Some("Direct");
            let activated = a["assignmentType"].as_str() == Some("Activated");
            ActiveRow {
                role_id: view::s(&a["roleDefinitionId"]),
                role_name: role_name(a),
                scope_label: view::scope_label(&scope),
                assignment_type: view::s(&a["assignmentType"]),
                member_type: view::s(&a["memberType"]),
                start: view::when(&a["startDateTime"]),
                end: view::when(&a["endDateTime"]),
                can_deactivate: direct && activated,
                can_extend: direct && !activated && ends_soon(&a["endDateTime"], now),
                key: format!("a{i}"),
                scope,
            }
        })
        .collect();
    let pending = requests
        .iter()
        .filter(|r| r["status"].as_str() == Some("PendingApproval"))
        .map(|r| PendingRow {
            id: view::s(&r["id"]),
            role_name: role_name(r),
            status: view::s(&r["status"]),
            created: view::when(&r["createdDateTime"]),
            justification: view::s(&r["justification"]),
        })
        .collect();
    let mfa_note = eligible.iter().any(|e| e.reqs.mfa);
    session.finish(view::render(StatusCode::OK, &MyRolesPage { page: chrome, eligible, active, pending, mfa_note }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ActivateForm {
    csrf: String,
    role: String,
    scope: String,
    hours: String,
    justification: String,
    ticket_number: String,
    ticket_system: String,
}

/// Minutes in a duration typed as hours ("1", "0.5", "1,5").
fn parse_hours(raw: &str) -> Option<i64> {
    let h: f64 = raw.trim().replace(',', ".").parse().ok()?;
    if !h.is_finite() || h <= 0.0 || h > 24.0 * 366.0 {
        return None;
    }
    Some((h * 60.0).round() as i64)
}

/// The signed-in user's id, needed as `principalId` in self-service requests.
async fn my_id(api: &Api<'_>) -> Result<String, super::api::GraphError> {
    Ok(view::s(&api.get("/v1.0/me").await?["id"]))
}

fn non_empty(s: &str) -> Value {
    match s.trim() {
        "" => Value::Null,
        t => Value::from(t),
    }
}

/// Sends a self-service request and turns the answer into a flash message.
async fn self_request(session: &Session, ui: &UiState, set: &str, body: impl FnOnce(String) -> Value) -> Response {
    let api = Api::new(&ui.api, &session.token);
    let result = async {
        let me = my_id(&api).await?;
        let mut r = api.post(&format!("{RM}/{set}"), &body(me)).await?;
        // The request's answer has the role's id only; its name reads better in the message.
        let role = format!("{RM}/roleDefinitions/{}", seg(&view::s(&r["roleDefinitionId"])));
        if let Ok(def) = api.get(&role).await {
            r["roleDefinition"] = def;
        }
        Ok::<_, super::api::GraphError>(r)
    }
    .await;
    match result {
        Ok(r) => {
            let role = role_name(&r);
            let text = match r["status"].as_str().unwrap_or_default() {
                "Revoked" => format!("{role} is deactivated."),
                "Provisioned" => format!("{role} is active."),
                "Granted" => format!("{role} is granted and starts later."),
                "PendingApproval" => format!("Your request for {role} is waiting for approval."),
                "PendingAdminDecision" => format!("Your request for {role} is waiting for an administrator."),
                other => format!("Request for {role}: {other}."),
            };
            session.redirect("/", Flash::ok(text))
        }
        Err(e) if e.is_unauthenticated() => super::signin::expired(session, &e.message),
        Err(e) => session.redirect("/", Flash::graph(&e)),
    }
}

pub async fn activate(State(ui): State<UiState>, session: Session, Form(f): Form<ActivateForm>) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let Some(minutes) = parse_hours(&f.hours) else {
        return session.redirect("/", Flash::err("The duration must be a number of hours, such as 1 or 0.5."));
    };
    let ticket = if f.ticket_number.trim().is_empty() && f.ticket_system.trim().is_empty() {
        Value::Null
    } else {
        json!({"ticketNumber": non_empty(&f.ticket_number), "ticketSystem": non_empty(&f.ticket_system)})
    };
    self_request(&session, &ui, "roleAssignmentScheduleRequests", |me| {
        json!({
            "action": "selfActivate",
            "principalId": me,
            "roleDefinitionId": f.role.trim(),
            "directoryScopeId": f.scope.trim(),
            "justification": non_empty(&f.justification),
            "scheduleInfo": {"startDateTime": null, "expiration": {"type": "afterDuration", "duration": format!("PT{minutes}M")}},
            "ticketInfo": ticket,
        })
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RoleForm {
    csrf: String,
    role: String,
    scope: String,
    kind: String,
    days: String,
    justification: String,
}

pub async fn deactivate(State(ui): State<UiState>, session: Session, Form(f): Form<RoleForm>) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    self_request(&session, &ui, "roleAssignmentScheduleRequests", |me| {
        json!({
            "action": "selfDeactivate",
            "principalId": me,
            "roleDefinitionId": f.role.trim(),
            "directoryScopeId": f.scope.trim(),
            "justification": non_empty(&f.justification),
        })
    })
    .await
}

pub async fn extend(State(ui): State<UiState>, session: Session, Form(f): Form<RoleForm>) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let set = match f.kind.as_str() {
        "eligibility" => "roleEligibilityScheduleRequests",
        "assignment" => "roleAssignmentScheduleRequests",
        _ => return session.redirect("/", Flash::err("Choose what to extend: an eligibility or an assignment.")),
    };
    let days: i64 = match f.days.trim().parse() {
        Ok(d) if (1..=3650).contains(&d) => d,
        _ => return session.redirect("/", Flash::err("The extension must be a whole number of days (1 to 3650).")),
    };
    self_request(&session, &ui, set, |me| {
        json!({
            "action": "selfExtend",
            "principalId": me,
            "roleDefinitionId": f.role.trim(),
            "directoryScopeId": f.scope.trim(),
            "justification": non_empty(&f.justification),
            "scheduleInfo": {"startDateTime": null, "expiration": {"type": "afterDuration", "duration": format!("P{days}D")}},
        })
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CancelForm {
    csrf: String,
    id: String,
}

pub async fn cancel(State(ui): State<UiState>, session: Session, Form(f): Form<CancelForm>) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let api = Api::new(&ui.api, &session.token);
    match api.post(&format!("{RM}/roleAssignmentScheduleRequests/{}/cancel", seg(f.id.trim())), &json!({})).await {
        Ok(_) => session.redirect("/", Flash::ok("The request is canceled.")),
        Err(e) if e.is_unauthenticated() => super::signin::expired(&session, &e.message),
        Err(e) => session.redirect("/", Flash::graph(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_parse() {
        assert_eq!(parse_hours("1"), Some(60));
        assert_eq!(parse_hours("0,5"), Some(30));
        assert_eq!(parse_hours(" 2.25 "), Some(135));
        for bad in ["", "x", "-1", "0", "NaN", "inf", "1e9"] {
            assert_eq!(parse_hours(bad), None, "{bad}");
        }
    }

    #[test]
    fn requirements_from_rules() {
        let rules = vec![
            json!({"id": "Expiration_EndUser_Assignment", "maximumDuration": "PT8H"}),
            json!({"id": "Enablement_EndUser_Assignment", "enabledRules": ["MultiFactorAuthentication", "Justification"]}),
            json!({"id": "Approval_EndUser_Assignment", "setting": {"isApprovalRequired": true}}),
        ];
        let r = Requirements::from_rules(&rules);
        assert_eq!((r.max_minutes, r.mfa, r.justification, r.ticket, r.approval), (480, true, true, false, true));
        assert_eq!(r.max_hours(), "8");
        assert_eq!(r.default_hours(), "1");
    }
}
