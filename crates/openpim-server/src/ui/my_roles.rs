//! My roles: what the signed-in user is eligible for and holds now, with Activate (showing what
//! the role's policy asks first), Deactivate, Extend, and pending requests to cancel.

use super::api::{seg, Api};
use super::page;
use super::rows::{ActiveRow, EligibleRow, PendingRow};
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
use openpim_core::schedule::{Action, AssignmentType, MemberType, RequestStatus};
use openpim_proto::policies::PolicyRule;
use openpim_proto::roles::UnifiedRoleDefinition;
use openpim_proto::schedules::{
    NewExpiration, NewRequestSchedule, NewScheduleRequest, TicketInfo, UnifiedRoleAssignmentScheduleInstance,
    UnifiedRoleEligibilityScheduleInstance, UnifiedRoleScheduleRequest,
};
use serde::{Deserialize, Serialize};
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use uuid::Uuid;

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
    pub fn from_rules(rules: &[PolicyRule]) -> Self {
        let mut r = Requirements::default();
        for rule in rules {
            match (rule.id(), rule) {
                ("Expiration_EndUser_Assignment", PolicyRule::Expiration(e)) => {
                    r.max_minutes = view::duration_minutes(&e.maximum_duration);
                    r.max_words = view::duration_words(&e.maximum_duration);
                }
                ("Enablement_EndUser_Assignment", PolicyRule::Enablement(e)) => {
                    let enabled = |which: rules::Enablement| e.enabled_rules.iter().any(|r| r.parse() == Ok(which));
                    r.mfa = enabled(rules::Enablement::MultiFactorAuthentication);
                    r.justification = enabled(rules::Enablement::Justification);
                    r.ticket = enabled(rules::Enablement::Ticketing);
                }
                ("Approval_EndUser_Assignment", PolicyRule::Approval(a)) => {
                    r.approval = a.setting.is_approval_required;
                }
                ("AuthenticationContext_EndUser_Assignment", PolicyRule::AuthenticationContext(c)) if c.is_enabled => {
                    r.auth_context = c.claim_value.clone();
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

pub(super) fn trim_number(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// What activating `role` requires, from the rules the API enforces. Read from the store, not
/// through the API: role settings are for Entra's PIM readers there (docs/SECURITY.md), but a
/// member may know what activating a role they are eligible for asks of them, and this page
/// only asks for the roles of their own eligibilities.
async fn activation_requirements(ui: &UiState, role: Uuid) -> Result<Requirements, super::api::GraphError> {
    let stored = ui.app.store.policy_rules_of(role).await.map_err(|e| super::api::GraphError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        code: "UnknownError".into(),
        message: format!("The role's policy could not be read: {e}"),
    })?;
    let policy = stored.as_deref().map(rules::effective).unwrap_or_else(RolePolicy::entra_default);
    Ok(Requirements::from_policy(&policy))
}

#[derive(Template)]
#[template(path = "my_roles.html")]
struct MyRolesPage {
    page: Chrome,
    eligible: Vec<EligibleRow>,
    active: Vec<ActiveRow>,
    pending: Vec<PendingRow>,
    mfa_note: bool,
    /// The session's provider can step up to MFA (see `oidc::step_up`).
    step_up: bool,
    /// Azure resource roles (`ui/azure.rs`).
    azure: super::azure::AzureMine,
}

/// The role's name when the API expanded it (`$expand=roleDefinition`), else its id.
fn role_name(expanded: Option<&UnifiedRoleDefinition>, id: Uuid) -> String {
    expanded.map_or_else(|| id.to_string(), |d| d.display_name.clone())
}

/// Whether a time-bound schedule ends within 14 days, when Extend applies.
fn ends_soon(end: Option<time::OffsetDateTime>, now: time::OffsetDateTime) -> bool {
    end.is_some_and(|e| e - now <= time::Duration::days(14))
}

/// Whether a vocabulary value the API sent is `value`.
fn is<T: std::str::FromStr + PartialEq>(raw: &str, value: T) -> bool {
    raw.parse().ok() == Some(value)
}

pub async fn page(State(ui): State<UiState>, session: Session) -> Response {
    let (chrome, _me) = match page::start(&ui, &session, "my", "My roles").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let api = Api::new(&ui.api, &session.token);
    let mine = "filterByCurrentUser(on='principal')?$expand=roleDefinition";
    let loaded = async {
        let eligible: Vec<UnifiedRoleEligibilityScheduleInstance> =
            api.list_all_as(&format!("{RM}/roleEligibilityScheduleInstances/{mine}")).await?;
        let active: Vec<UnifiedRoleAssignmentScheduleInstance> =
            api.list_all_as(&format!("{RM}/roleAssignmentScheduleInstances/{mine}")).await?;
        let requests: Vec<UnifiedRoleScheduleRequest> =
            api.list_all_as(&format!("{RM}/roleAssignmentScheduleRequests/{mine}")).await?;
        let mut policies: HashMap<Uuid, Requirements> = HashMap::new();
        for e in &eligible {
            if let Entry::Vacant(slot) = policies.entry(e.role_definition_id) {
                let reqs = activation_requirements(&ui, *slot.key()).await?;
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
            let direct = is(&e.member_type, MemberType::Direct);
            EligibleRow {
                activate_action: "/activate",
                children: Vec::new(),
                level: 3,
                reqs: policies.get(&e.role_definition_id).cloned().unwrap_or_default(),
                role_name: role_name(e.role_definition.as_ref(), e.role_definition_id),
                scope_label: view::scope_label(&e.directory_scope_id),
                member_type: e.member_type.clone(),
                end: view::when(e.end_date_time),
                can_extend: direct && ends_soon(e.end_date_time, now),
                key: format!("e{i}"),
                role_id: e.role_definition_id.to_string(),
                scope: e.directory_scope_id.clone(),
            }
        })
        .collect();
    let active: Vec<ActiveRow> = active
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let direct = is(&a.member_type, MemberType::Direct);
            let activated = a.assignment_type.as_deref().is_some_and(|t| is(t, AssignmentType::Activated));
            ActiveRow {
                deactivate_action: "/deactivate",
                deactivate_label: format!("Deactivate {}", role_name(a.role_definition.as_ref(), a.role_definition_id)),
                role_id: a.role_definition_id.to_string(),
                role_name: role_name(a.role_definition.as_ref(), a.role_definition_id),
                scope_label: view::scope_label(&a.directory_scope_id),
                assignment_type: a.assignment_type.clone().unwrap_or_default(),
                member_type: a.member_type.clone(),
                start: view::when(a.start_date_time),
                end: view::when(a.end_date_time),
                can_deactivate: direct && activated,
                can_extend: direct && !activated && ends_soon(a.end_date_time, now),
                key: format!("a{i}"),
                scope: a.directory_scope_id.clone(),
            }
        })
        .collect();
    let pending = requests
        .iter()
        .filter(|r| is(&r.status, RequestStatus::PendingApproval))
        .map(|r| PendingRow {
            cancel_action: "/cancel",
            scope: r.directory_scope_id.clone(),
            scope_label: view::scope_label(&r.directory_scope_id),
            id: r.id.to_string(),
            role_name: role_name(r.role_definition.as_ref(), r.role_definition_id),
            status: r.status.clone(),
            created: view::when(Some(r.created_date_time)),
            justification: r.justification.clone().unwrap_or_default(),
        })
        .collect();
    let mfa_note = eligible.iter().any(|e| e.reqs.mfa);
    let step_up = super::oidc::can_step_up(&ui, &session);
    let azure = super::azure::mine(&ui, &session).await;
    let page = MyRolesPage { page: chrome, eligible, active, pending, mfa_note, step_up, azure };
    session.finish(view::render(StatusCode::OK, &page))
}

fn unknown_role(session: &Session) -> Response {
    session.redirect("/", Flash::err("Choose a role from the list."))
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
pub(super) fn parse_hours(raw: &str) -> Option<i64> {
    let h: f64 = raw.trim().replace(',', ".").parse().ok()?;
    if !h.is_finite() || h <= 0.0 || h > 24.0 * 366.0 {
        return None;
    }
    Some((h * 60.0).round() as i64)
}

/// The signed-in user's id, needed as `principalId` in self-service requests.
async fn my_id(api: &Api<'_>) -> Result<Uuid, super::api::GraphError> {
    Ok(api.get_as::<openpim_proto::directory::User>("/v1.0/me").await?.id)
}

fn non_empty(s: &str) -> Option<String> {
    Some(s.trim()).filter(|t| !t.is_empty()).map(str::to_string)
}

/// The role and scope a form names, as a self-service request's target.
struct Target {
    role: Uuid,
    scope: String,
}

impl Target {
    /// The form's role must be a role id (the page only offers those); anything else is refused
    /// here with a message rather than sent on.
    fn read(role: &str, scope: &str) -> Option<Self> {
        Some(Self { role: Uuid::parse_str(role.trim()).ok()?, scope: scope.trim().to_string() })
    }

    fn request(self, action: Action, me: Uuid, justification: &str) -> NewScheduleRequest {
        NewScheduleRequest {
            action: action.to_string(),
            principal_id: me,
            role_definition_id: self.role,
            directory_scope_id: self.scope,
            justification: non_empty(justification),
            schedule_info: None,
            ticket_info: None,
        }
    }
}

/// Ends after `duration` (ISO 8601), starting now.
fn for_duration(duration: String) -> Option<NewRequestSchedule> {
    Some(NewRequestSchedule { start_date_time: None, expiration: NewExpiration::AfterDuration { duration } })
}

/// Sends a self-service request with `token`: the role's name and the request's status.
async fn send_self_request(
    ui: &UiState,
    token: &str,
    set: &str,
    body: impl FnOnce(Uuid) -> NewScheduleRequest,
) -> Result<(String, String), super::api::GraphError> {
    let api = Api::new(&ui.api, token);
    let me = my_id(&api).await?;
    let r: UnifiedRoleScheduleRequest = api.post_as(&format!("{RM}/{set}"), &body(me)).await?;
    // The request's answer has the role's id only; its name reads better in the message.
    let role = format!("{RM}/roleDefinitions/{}", r.role_definition_id);
    let def = api.get_as::<UnifiedRoleDefinition>(&role).await.ok();
    Ok((role_name(def.as_ref(), r.role_definition_id), r.status))
}

/// What the user reads about a request the API accepted.
fn outcome(role: &str, status: &str) -> Flash {
    Flash::ok(match status.parse::<RequestStatus>() {
        Ok(RequestStatus::Revoked) => format!("{role} is deactivated."),
        Ok(RequestStatus::Provisioned) => format!("{role} is active."),
        Ok(RequestStatus::Granted) => format!("{role} is granted and starts later."),
        Ok(RequestStatus::PendingApproval) => format!("Your request for {role} is waiting for approval."),
        Ok(RequestStatus::PendingAdminDecision) => format!("Your request for {role} is waiting for an administrator."),
        _ => format!("Request for {role}: {status}."),
    })
}

/// Sends a self-service request and turns the answer into a flash message.
async fn self_request(
    session: &Session,
    ui: &UiState,
    set: &str,
    body: impl FnOnce(Uuid) -> NewScheduleRequest,
) -> Response {
    match send_self_request(ui, &session.token, set, body).await {
        Ok((role, status)) => session.redirect("/", outcome(&role, &status)),
        Err(e) if e.is_unauthenticated() => super::signin::expired(session, &e.message),
        Err(e) => session.redirect("/", Flash::graph(&e)),
    }
}

/// An activation as the form asked for it: what an MFA step-up keeps while the user signs in
/// again at their provider, to complete it afterwards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingActivation {
    role: Uuid,
    scope: String,
    minutes: i64,
    justification: String,
    ticket_number: Option<String>,
    ticket_system: Option<String>,
}

impl PendingActivation {
    fn request(&self, me: Uuid) -> NewScheduleRequest {
        let (ticket_number, ticket_system) = (self.ticket_number.clone(), self.ticket_system.clone());
        let ticket_info =
            (ticket_number.is_some() || ticket_system.is_some()).then_some(TicketInfo { ticket_number, ticket_system });
        NewScheduleRequest {
            schedule_info: for_duration(format!("PT{}M", self.minutes)),
            ticket_info,
            ..Target { role: self.role, scope: self.scope.clone() }.request(
                Action::SelfActivate,
                me,
                &self.justification,
            )
        }
    }

    /// Sends the activation with `token` (after a step-up: the new session's) and says how it went.
    pub async fn complete(&self, ui: &UiState, token: &str) -> Flash {
        match send_self_request(ui, token, "roleAssignmentScheduleRequests", |me| self.request(me)).await {
            Ok((role, status)) => outcome(&role, &status),
            Err(e) => Flash::graph(&e),
        }
    }
}

/// Whether the API refused an activation only for want of multi-factor authentication in the
/// session ("RoleAssignmentRequestPolicyValidationFailed" naming the MfaRule alone), which a
/// sign-in with MFA at the provider can fix.
fn wants_mfa_only(e: &super::api::GraphError) -> bool {
    e.code == "RoleAssignmentRequestPolicyValidationFailed" && e.message.contains("failed: [\"MfaRule\"]")
}

pub async fn activate(State(ui): State<UiState>, session: Session, Form(f): Form<ActivateForm>) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let Some(minutes) = parse_hours(&f.hours) else {
        return session.redirect("/", Flash::err("The duration must be a number of hours, such as 1 or 0.5."));
    };
    let Some(target) = Target::read(&f.role, &f.scope) else { return unknown_role(&session) };
    let pending = PendingActivation {
        role: target.role,
        scope: target.scope,
        minutes,
        justification: f.justification,
        ticket_number: non_empty(&f.ticket_number),
        ticket_system: non_empty(&f.ticket_system),
    };
    match send_self_request(&ui, &session.token, "roleAssignmentScheduleRequests", |me| pending.request(me)).await {
        Ok((role, status)) => session.redirect("/", outcome(&role, &status)),
        Err(e) if e.is_unauthenticated() => super::signin::expired(&session, &e.message),
        // Step-up: the session's provider can ask for MFA; the activation completes on return.
        Err(e) if wants_mfa_only(&e) && !session.mfa => match super::oidc::step_up(&ui, &session, &pending).await {
            Some(to_provider) => to_provider,
            None => session.redirect("/", Flash::graph(&e)),
        },
        Err(e) => session.redirect("/", Flash::graph(&e)),
    }
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
    let Some(target) = Target::read(&f.role, &f.scope) else { return unknown_role(&session) };
    self_request(&session, &ui, "roleAssignmentScheduleRequests", |me| {
        target.request(Action::SelfDeactivate, me, &f.justification)
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
    let Some(target) = Target::read(&f.role, &f.scope) else { return unknown_role(&session) };
    self_request(&session, &ui, set, |me| NewScheduleRequest {
        schedule_info: for_duration(format!("P{days}D")),
        ..target.request(Action::SelfExtend, me, &f.justification)
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
    let path = format!("{RM}/roleAssignmentScheduleRequests/{}/cancel", seg(f.id.trim()));
    match api.post(&path, &serde_json::json!({})).await {
        Ok(_) => session.redirect("/", Flash::ok("The request is canceled.")),
        Err(e) if e.is_unauthenticated() => super::signin::expired(&session, &e.message),
        Err(e) => session.redirect("/", Flash::graph(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_refusal_for_mfa_alone_asks_for_a_step_up() {
        let refusal = |code: &str, message: &str| super::super::api::GraphError {
            status: StatusCode::BAD_REQUEST,
            code: code.into(),
            message: message.into(),
        };
        let code = "RoleAssignmentRequestPolicyValidationFailed";
        assert!(wants_mfa_only(&refusal(code, "The following policy rules failed: [\"MfaRule\"]")));
        // A missing justification is not fixed by signing in again.
        assert!(!wants_mfa_only(&refusal(
            code,
            "The following policy rules failed: [\"JustificationRule\",\"MfaRule\"]"
        )));
        assert!(!wants_mfa_only(&refusal("Forbidden", "The following policy rules failed: [\"MfaRule\"]")));
    }

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
        let target = |level: &str| {
            serde_json::json!({"caller": "EndUser", "operations": ["all"], "level": level,
                               "inheritableSettings": [], "enforcedSettings": []})
        };
        let rules: Vec<PolicyRule> = serde_json::from_value(serde_json::json!([
            {"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
             "id": "Expiration_EndUser_Assignment", "target": target("Assignment"),
             "isExpirationRequired": true, "maximumDuration": "PT8H"},
            {"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule",
             "id": "Enablement_EndUser_Assignment", "target": target("Assignment"),
             "enabledRules": ["MultiFactorAuthentication", "Justification"]},
            {"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule",
             "id": "Approval_EndUser_Assignment", "target": target("Assignment"),
             "setting": {"isApprovalRequired": true, "isApprovalRequiredForExtension": false,
                         "isRequestorJustificationRequired": true, "approvalMode": "SingleStage",
                         "approvalStages": []}},
            // The same settings aimed at eligibility: not what activation asks.
            {"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule",
             "id": "Enablement_EndUser_Eligibility", "target": target("Eligibility"),
             "enabledRules": ["Ticketing"]},
        ]))
        .unwrap();
        let r = Requirements::from_rules(&rules);
        assert_eq!((r.max_minutes, r.mfa, r.justification, r.ticket, r.approval), (480, true, true, false, true));
        assert_eq!(r.max_hours(), "8");
        assert_eq!(r.default_hours(), "1");
    }
}
