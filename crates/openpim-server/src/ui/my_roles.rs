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

/// My roles' tabs (`?tab=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Eligible,
    Active,
    Expired,
}

impl Tab {
    fn read(raw: &str) -> Self {
        match raw {
            "active" => Tab::Active,
            "expired" => Tab::Expired,
            _ => Tab::Eligible,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Tab::Eligible => "eligible",
            Tab::Active => "active",
            Tab::Expired => "expired",
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TabQuery {
    tab: String,
}

/// A role the user is eligible for, as a row of the Eligible tab.
pub struct EligibleLine {
    pub role_name: String,
    pub scope_label: String,
    pub membership: String,
    pub start: String,
    pub end: String,
    pub remaining: String,
    /// Already active at this scope: no Activate button.
    pub active: bool,
    /// The focused activation form (`/my-roles/activate?...`).
    pub activate_href: String,
    /// The extension form, when Extend applies (direct, ends within 14 days).
    pub extend_href: String,
    /// Why there is no Extend (held through a group), or nothing.
    pub note: String,
}

/// An active role, as a row of the Active tab.
pub struct ActiveLine {
    pub role_id: String,
    pub role_name: String,
    pub scope: String,
    pub scope_label: String,
    pub assignment_type: String,
    pub membership: String,
    pub start: String,
    pub end: String,
    pub remaining: String,
    pub can_deactivate: bool,
    pub extend_href: String,
    /// Why Deactivate is not offered (the 5-minute rule, a group's or an administrator's
    /// assignment), or nothing.
    pub note: String,
}

/// An eligibility or assignment that ended, as a row of the Expired tab.
pub struct ExpiredLine {
    pub role_name: String,
    pub scope_label: String,
    pub kind: &'static str,
    pub end: String,
    pub renew_href: String,
}

#[derive(Template)]
#[template(path = "my_roles.html")]
struct MyRolesPage {
    page: Chrome,
    tab: Tab,
    eligible: Vec<EligibleLine>,
    active: Vec<ActiveLine>,
    expired: Vec<ExpiredLine>,
    /// Azure resource roles (`ui/azure.rs`), on the Eligible tab.
    azure: super::azure::AzureMine,
}

impl MyRolesPage {
    fn tab_current(&self, key: &str) -> &'static str {
        if self.tab.key() == key {
            "page"
        } else {
            "false"
        }
    }
}

/// The role's name when the API expanded it (`$expand=roleDefinition`), else its id.
fn role_name(expanded: Option<&UnifiedRoleDefinition>, id: Uuid) -> String {
    expanded.map_or_else(|| id.to_string(), |d| d.display_name.clone())
}

/// Whether a time-bound schedule ends within Extend's window (14 days).
fn ends_soon(end: Option<time::OffsetDateTime>, now: time::OffsetDateTime) -> bool {
    end.is_some_and(|e| e - now <= openpim_core::schedule::EXTEND_WINDOW)
}

/// Whether a vocabulary value the API sent is `value`.
fn is<T: std::str::FromStr + PartialEq>(raw: &str, value: T) -> bool {
    raw.parse().ok() == Some(value)
}

/// A span of time in words, to the minute: "3 days 4 h", "1 h 20 min", "4 min".
pub(super) fn span_words(d: time::Duration) -> String {
    let mins = d.whole_minutes().max(0);
    let (days, hours, m) = (mins / (24 * 60), (mins / 60) % 24, mins % 60);
    match (days, hours) {
        (0, 0) => format!("{m} min"),
        (0, h) if m == 0 => format!("{h} h"),
        (0, h) => format!("{h} h {m} min"),
        (d, 0) => format!("{d} {}", if d == 1 { "day" } else { "days" }),
        (d, h) => format!("{d} {} {h} h", if d == 1 { "day" } else { "days" }),
    }
}

/// Time left until `end` ("Permanent" without one).
fn remaining(end: Option<time::OffsetDateTime>, now: time::OffsetDateTime) -> String {
    match end {
        Some(e) => span_words(e - now),
        None => "Permanent".to_string(),
    }
}

/// A query string's value.
fn qv(raw: &str) -> String {
    super::api::q(raw)
}

/// Names the groups roles are held through: "Direct", or the group's display name (the API's
/// instances name the group as their principal when held through it).
struct Memberships<'a> {
    api: &'a Api<'a>,
    me: Uuid,
    known: HashMap<Uuid, String>,
}

impl Memberships<'_> {
    /// "Direct", or the group's name when `group` (or the row's principal, when it is not the
    /// user) names it; "Group" when the API does not say which group.
    async fn of(&mut self, member_type: &str, principal: Uuid, group: Option<Uuid>) -> String {
        if is(member_type, MemberType::Direct) {
            return "Direct".to_string();
        }
        let Some(group) = group.or(Some(principal).filter(|p| *p != self.me)) else {
            return member_type.to_string();
        };
        if let Some(n) = self.known.get(&group) {
            return n.clone();
        }
        let name = match self.api.get(&format!("/v1.0/groups/{group}")).await {
            Ok(g) => format!("Group: {}", g["displayName"].as_str().unwrap_or("(unnamed)")),
            Err(_) => "Group".to_string(),
        };
        self.known.insert(group, name.clone());
        name
    }
}

/// The groups the user holds active roles through now, by role and scope, from the user's access
/// history (`/v1.0/openpim/accessHistory`, whose intervals name the group); instances do not.
/// Missing history leaves the rows saying "Group".
async fn active_via_groups(api: &Api<'_>, me: Uuid, now: time::OffsetDateTime) -> HashMap<(Uuid, String), Uuid> {
    let at = |v: &serde_json::Value| {
        v.as_str().and_then(|s| time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok())
    };
    let items = api.list_all(&format!("/v1.0/openpim/accessHistory?principalId={me}")).await.unwrap_or_default();
    items
        .iter()
        .filter(|i| at(&i["startDateTime"]).is_some_and(|s| s <= now) && at(&i["endDateTime"]).is_none_or(|e| e > now))
        .filter_map(|i| {
            let group = Uuid::parse_str(i["groupId"].as_str()?).ok()?;
            let role = Uuid::parse_str(i["roleDefinitionId"].as_str()?).ok()?;
            Some(((role, i["directoryScopeId"].as_str()?.to_string()), group))
        })
        .collect()
}

const MINE: &str = "filterByCurrentUser(on='principal')?$expand=roleDefinition";

/// The signed-in user's eligible and active instances.
async fn my_instances(
    api: &Api<'_>,
) -> Result<
    (Vec<UnifiedRoleEligibilityScheduleInstance>, Vec<UnifiedRoleAssignmentScheduleInstance>),
    super::api::GraphError,
> {
    let eligible = api.list_all_as(&format!("{RM}/roleEligibilityScheduleInstances/{MINE}")).await?;
    let active = api.list_all_as(&format!("{RM}/roleAssignmentScheduleInstances/{MINE}")).await?;
    Ok((eligible, active))
}

/// When a request's schedule ends: its end time, or its start plus its duration.
pub(super) fn request_end(r: &UnifiedRoleScheduleRequest) -> Option<time::OffsetDateTime> {
    let info = r.schedule_info.as_ref()?;
    let start = info.start_date_time.or(r.completed_date_time).unwrap_or(r.created_date_time);
    match info.expiration.kind.parse().ok()? {
        openpim_core::schedule::ExpirationType::AfterDateTime => info.expiration.end_date_time,
        openpim_core::schedule::ExpirationType::AfterDuration => {
            Some(start + duration::parse(info.expiration.duration.as_deref()?)?)
        }
        _ => None,
    }
}

/// The user's eligibilities and assignments that ended within Renew's window (30 days) and hold
/// no longer: the last granting request of each role and scope, from the API's request lists
/// (the schedule lists show live schedules only). Whether Renew applies is the API's call.
async fn expired_lines(
    api: &Api<'_>,
    now: time::OffsetDateTime,
    live: &[(Uuid, String, &'static str)],
) -> Result<Vec<ExpiredLine>, super::api::GraphError> {
    let mut out = Vec::new();
    for (kind, set) in
        [("eligibility", "roleEligibilityScheduleRequests"), ("assignment", "roleAssignmentScheduleRequests")]
    {
        let requests: Vec<UnifiedRoleScheduleRequest> = api.list_all_as(&format!("{RM}/{set}/{MINE}")).await?;
        // The latest granting request per role and scope says when that schedule ends.
        let mut last: HashMap<(Uuid, String), &UnifiedRoleScheduleRequest> = HashMap::new();
        for r in &requests {
            let grants = matches!(
                r.action.parse(),
                Ok(Action::AdminAssign | Action::AdminUpdate | Action::AdminExtend | Action::AdminRenew)
            ) && matches!(r.status.parse(), Ok(RequestStatus::Provisioned | RequestStatus::Granted));
            let removes = is(&r.action, Action::AdminRemove) && is(&r.status, RequestStatus::Revoked);
            if !(grants || removes) {
                continue;
            }
            match last.entry((r.role_definition_id, r.directory_scope_id.clone())) {
                Entry::Occupied(mut o) if o.get().created_date_time < r.created_date_time => {
                    o.insert(r);
                }
                Entry::Occupied(_) => {}
                Entry::Vacant(v) => {
                    v.insert(r);
                }
            }
        }
        for ((role, scope), r) in last {
            if is(&r.action, Action::AdminRemove) || live.iter().any(|l| l.0 == role && l.1 == scope && l.2 == kind) {
                continue;
            }
            let Some(end) = request_end(r).filter(|e| *e <= now && now - *e <= openpim_core::schedule::RENEW_WINDOW)
            else {
                continue;
            };
            let def = api.get_as::<UnifiedRoleDefinition>(&format!("{RM}/roleDefinitions/{role}")).await.ok();
            out.push(ExpiredLine {
                role_name: role_name(def.as_ref(), role),
                scope_label: view::scope_label(&scope),
                kind: if kind == "eligibility" { "Eligible" } else { "Active" },
                end: view::when(Some(end)),
                renew_href: format!("/my-roles/request?action=renew&kind={kind}&role={role}&scope={}", qv(&scope)),
            });
        }
    }
    out.sort_by(|a, b| a.role_name.cmp(&b.role_name));
    Ok(out)
}

pub async fn page(
    State(ui): State<UiState>,
    session: Session,
    axum::extract::Query(query): axum::extract::Query<TabQuery>,
) -> Response {
    let (chrome, me) = match page::start(&ui, &session, "my", "My roles").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let tab = Tab::read(&query.tab);
    let api = Api::new(&ui.api, &session.token);
    let now = ui.app.now();
    let (eligible, active) = match my_instances(&api).await {
        Ok(x) => x,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    let mut names = Memberships { api: &api, me: me.id, known: HashMap::new() };
    let mut eligible_lines = Vec::new();
    let mut active_lines = Vec::new();
    let mut expired = Vec::new();
    let mut azure = super::azure::AzureMine::default();
    match tab {
        Tab::Eligible => {
            for e in &eligible {
                let direct = is(&e.member_type, MemberType::Direct);
                let scope = &e.directory_scope_id;
                let is_active = active
                    .iter()
                    .any(|a| a.role_definition_id == e.role_definition_id && &a.directory_scope_id == scope);
                let query = format!("role={}&scope={}", e.role_definition_id, qv(scope));
                eligible_lines.push(EligibleLine {
                    role_name: role_name(e.role_definition.as_ref(), e.role_definition_id),
                    scope_label: view::scope_label(scope),
                    membership: names.of(&e.member_type, e.principal_id, None).await,
                    start: view::when(e.start_date_time),
                    end: view::when(e.end_date_time),
                    remaining: remaining(e.end_date_time, now),
                    active: is_active,
                    activate_href: format!("/my-roles/activate?{query}"),
                    extend_href: if direct && ends_soon(e.end_date_time, now) {
                        format!("/my-roles/request?action=extend&kind=eligibility&{query}")
                    } else {
                        String::new()
                    },
                    note: if direct {
                        String::new()
                    } else {
                        "Held through a group: its administrator extends it.".into()
                    },
                });
            }
            azure = super::azure::mine(&ui, &session).await;
        }
        Tab::Active => {
            let via = active_via_groups(&api, me.id, now).await;
            for a in &active {
                let direct = is(&a.member_type, MemberType::Direct);
                let activated = a.assignment_type.as_deref().is_some_and(|t| is(t, AssignmentType::Activated));
                let name = role_name(a.role_definition.as_ref(), a.role_definition_id);
                let unlocks = a.start_date_time.map(|s| s + openpim_core::schedule::MINIMUM_DURATION);
                let locked = unlocks.is_some_and(|u| u > now);
                let note = if !direct {
                    "Held through a group: it ends with the group's assignment.".to_string()
                } else if !activated {
                    "Assigned by an administrator: only an administrator removes it.".to_string()
                } else if locked {
                    format!("Can be deactivated from {}: an activation lasts at least 5 minutes.", view::when(unlocks))
                } else {
                    String::new()
                };
                let query = format!("role={}&scope={}", a.role_definition_id, qv(&a.directory_scope_id));
                active_lines.push(ActiveLine {
                    role_id: a.role_definition_id.to_string(),
                    role_name: name,
                    scope: a.directory_scope_id.clone(),
                    scope_label: view::scope_label(&a.directory_scope_id),
                    assignment_type: a.assignment_type.clone().unwrap_or_default(),
                    membership: names
                        .of(
                            &a.member_type,
                            a.principal_id,
                            via.get(&(a.role_definition_id, a.directory_scope_id.clone())).copied(),
                        )
                        .await,
                    start: view::when(a.start_date_time),
                    end: view::when(a.end_date_time),
                    remaining: remaining(a.end_date_time, now),
                    can_deactivate: direct && activated && !locked,
                    extend_href: if direct && !activated && ends_soon(a.end_date_time, now) {
                        format!("/my-roles/request?action=extend&kind=assignment&{query}")
                    } else {
                        String::new()
                    },
                    note,
                });
            }
        }
        Tab::Expired => {
            let mut live: Vec<(Uuid, String, &'static str)> =
                eligible.iter().map(|e| (e.role_definition_id, e.directory_scope_id.clone(), "eligibility")).collect();
            live.extend(active.iter().map(|a| (a.role_definition_id, a.directory_scope_id.clone(), "assignment")));
            expired = match expired_lines(&api, now, &live).await {
                Ok(x) => x,
                Err(e) => return page::load_failed(&session, chrome, &e),
            };
        }
    }
    let page = MyRolesPage { page: chrome, tab, eligible: eligible_lines, active: active_lines, expired, azure };
    session.finish(view::render(StatusCode::OK, &page))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TargetQuery {
    role: String,
    scope: String,
    action: String,
    kind: String,
}

/// A duration preset of the activation form.
pub struct Preset {
    pub minutes: i64,
    pub label: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "activate.html")]
struct ActivatePage {
    page: Chrome,
    role_id: String,
    role_name: String,
    scope: String,
    scope_label: String,
    membership: String,
    eligible_until: String,
    reqs: Requirements,
    presets: Vec<Preset>,
    /// MFA is required and this session has none.
    mfa_missing: bool,
    /// The session's provider can step up to MFA (see `oidc::step_up`).
    step_up: bool,
}

/// The presets offered: the common durations up to the policy's maximum, and the maximum.
fn presets(max_minutes: i64) -> Vec<Preset> {
    let mut out: Vec<Preset> = [30, 60, 120, 240, 480]
        .into_iter()
        .filter(|m| *m < max_minutes)
        .map(|minutes| Preset { minutes, label: span_words(time::Duration::minutes(minutes)), checked: false })
        .collect();
    if max_minutes > 0 {
        out.push(Preset {
            minutes: max_minutes,
            label: format!("{} (maximum)", span_words(time::Duration::minutes(max_minutes))),
            checked: false,
        });
    }
    // One hour by default, else the longest offered below it.
    let default = out.iter().rposition(|p| p.minutes <= 60).unwrap_or(0);
    if let Some(p) = out.get_mut(default) {
        p.checked = true;
    }
    out
}

/// The focused activation form of one eligibility: what the effective policy requires, duration
/// presets and a custom value, a later start, and the justification and ticket fields.
pub async fn activate_form(
    State(ui): State<UiState>,
    session: Session,
    axum::extract::Query(q): axum::extract::Query<TargetQuery>,
) -> Response {
    let (chrome, me) = match page::start(&ui, &session, "my", "Activate a role").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let Some(target) = Target::read(&q.role, &q.scope) else { return unknown_role(&session) };
    let api = Api::new(&ui.api, &session.token);
    let loaded = async {
        let (eligible, active) = my_instances(&api).await?;
        let reqs = activation_requirements(&ui, target.role).await?;
        Ok::<_, super::api::GraphError>((eligible, active, reqs))
    };
    let (eligible, active, reqs) = match loaded.await {
        Ok(x) => x,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    let same = |role: Uuid, scope: &str| role == target.role && scope == target.scope;
    let Some(e) = eligible.iter().find(|e| same(e.role_definition_id, &e.directory_scope_id)) else {
        return session.redirect("/my-roles", Flash::err("You are not eligible for that role at that scope."));
    };
    if active.iter().any(|a| same(a.role_definition_id, &a.directory_scope_id)) {
        // A message the form was sent back with (a refused second activation) is kept.
        let flash = session.flash.clone().unwrap_or_else(|| Flash::err("That role is already active."));
        return session.redirect("/my-roles?tab=active", flash);
    }
    let membership =
        Memberships { api: &api, me: me.id, known: HashMap::new() }.of(&e.member_type, e.principal_id, None).await;
    let name = role_name(e.role_definition.as_ref(), e.role_definition_id);
    let page = ActivatePage {
        page: Chrome { title: format!("Activate {name}"), ..chrome },
        role_id: target.role.to_string(),
        role_name: name,
        scope_label: view::scope_label(&target.scope),
        scope: target.scope,
        membership,
        eligible_until: match e.end_date_time {
            Some(t) => view::when(Some(t)),
            None => "Permanent".into(),
        },
        presets: presets(reqs.max_minutes),
        mfa_missing: reqs.mfa && !session.mfa,
        step_up: super::oidc::can_step_up(&ui, &session),
        reqs,
    };
    session.finish(view::render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "my_request.html")]
struct RequestPage {
    page: Chrome,
    /// `/extend` or `/renew`.
    action: &'static str,
    kind: &'static str,
    role_id: String,
    scope: String,
    what: String,
    days: i64,
}

/// The form to extend (ending within 14 days) or renew (ended within 30 days) one of the user's
/// eligibilities or assignments; the API decides whether it applies.
pub async fn request_form(
    State(ui): State<UiState>,
    session: Session,
    axum::extract::Query(q): axum::extract::Query<TargetQuery>,
) -> Response {
    let (action, verb) = match q.action.as_str() {
        "extend" => ("/extend", "Extend"),
        "renew" => ("/renew", "Renew"),
        _ => return session.redirect("/my-roles", Flash::err("Choose Extend or Renew from the list.")),
    };
    let kind = match q.kind.as_str() {
        "eligibility" => "eligibility",
        "assignment" => "assignment",
        _ => return unknown_role(&session),
    };
    let Some(target) = Target::read(&q.role, &q.scope) else { return unknown_role(&session) };
    let (chrome, _) = match page::start(&ui, &session, "my", verb).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let api = Api::new(&ui.api, &session.token);
    let def = api.get_as::<UnifiedRoleDefinition>(&format!("{RM}/roleDefinitions/{}", target.role)).await.ok();
    let name = role_name(def.as_ref(), target.role);
    let what = format!(
        "{verb} your {} {name} at {}",
        if kind == "eligibility" { "eligibility for" } else { "assignment of" },
        view::scope_label(&target.scope)
    );
    let page = RequestPage {
        page: Chrome { title: what.clone(), ..chrome },
        action,
        kind,
        role_id: target.role.to_string(),
        scope: target.scope,
        what,
        days: if kind == "eligibility" { 90 } else { 30 },
    };
    session.finish(view::render(StatusCode::OK, &page))
}

fn unknown_role(session: &Session) -> Response {
    session.redirect("/my-roles", Flash::err("Choose a role from the list."))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ActivateForm {
    csrf: String,
    role: String,
    scope: String,
    /// A preset's minutes, or `custom` for `hours`.
    preset: String,
    hours: String,
    /// A later start (`datetime-local`, UTC); empty: now.
    start: String,
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

/// Ends after `duration` (ISO 8601), starting at `start` (now when `None`).
fn for_duration(start: Option<time::OffsetDateTime>, duration: String) -> Option<NewRequestSchedule> {
    Some(NewRequestSchedule { start_date_time: start, expiration: NewExpiration::AfterDuration { duration } })
}

/// A `datetime-local` value read as UTC ("2026-12-01T09:30", seconds optional).
pub(super) fn parse_local_utc(raw: &str) -> Option<time::OffsetDateTime> {
    let raw = raw.trim();
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let fmt_s = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let t = time::PrimitiveDateTime::parse(raw, &fmt).or_else(|_| time::PrimitiveDateTime::parse(raw, &fmt_s)).ok()?;
    Some(t.assume_utc())
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
    back: &str,
    set: &str,
    body: impl FnOnce(Uuid) -> NewScheduleRequest,
) -> Response {
    match send_self_request(ui, &session.token, set, body).await {
        Ok((role, status)) => session.redirect(back, outcome(&role, &status)),
        Err(e) if e.is_unauthenticated() => super::signin::expired(session, &e.message),
        Err(e) => session.redirect(back, Flash::graph(&e)),
    }
}

/// An activation as the form asked for it: what an MFA step-up keeps while the user signs in
/// again at their provider, to complete it afterwards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingActivation {
    role: Uuid,
    scope: String,
    minutes: i64,
    /// A later start; `None`: now.
    #[serde(default, with = "openpim_proto::datetime::option")]
    start: Option<time::OffsetDateTime>,
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
            schedule_info: for_duration(self.start, format!("PT{}M", self.minutes)),
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
    // The API's refusal goes back to the form, beside what the policy requires. A malformed
    // field goes to My roles: the form redirects away when the role is active already.
    let back = format!("/my-roles/activate?role={}&scope={}", qv(f.role.trim()), qv(f.scope.trim()));
    let minutes = match f.preset.trim() {
        "" | "custom" => parse_hours(&f.hours),
        preset => preset.parse::<i64>().ok().filter(|m| (1..=366 * 24 * 60).contains(m)),
    };
    let Some(minutes) = minutes else {
        return session.redirect("/my-roles", Flash::err("The duration must be a number of hours, such as 1 or 0.5."));
    };
    let start = match f.start.trim() {
        "" => None,
        raw => match parse_local_utc(raw) {
            Some(t) => Some(t),
            None => {
                return session.redirect(
                    "/my-roles",
                    Flash::err("The start must be a date and time, such as 2026-12-01T09:30 (UTC)."),
                )
            }
        },
    };
    let Some(target) = Target::read(&f.role, &f.scope) else { return unknown_role(&session) };
    let pending = PendingActivation {
        role: target.role,
        scope: target.scope,
        minutes,
        start,
        justification: f.justification,
        ticket_number: non_empty(&f.ticket_number),
        ticket_system: non_empty(&f.ticket_system),
    };
    match send_self_request(&ui, &session.token, "roleAssignmentScheduleRequests", |me| pending.request(me)).await {
        Ok((role, status)) => {
            let to = if is(&status, RequestStatus::PendingApproval) { "/my-requests" } else { "/my-roles?tab=active" };
            session.redirect(to, outcome(&role, &status))
        }
        Err(e) if e.is_unauthenticated() => super::signin::expired(&session, &e.message),
        // Step-up: the session's provider can ask for MFA; the activation completes on return.
        Err(e) if wants_mfa_only(&e) && !session.mfa => match super::oidc::step_up(&ui, &session, &pending).await {
            Some(to_provider) => to_provider,
            None => session.redirect(&back, Flash::graph(&e)),
        },
        Err(e) => session.redirect(&back, Flash::graph(&e)),
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
    confirmed: String,
}

/// The role's display name, for a confirmation page (its id when the API does not name it).
async fn role_called(ui: &UiState, session: &Session, role: Uuid) -> String {
    let api = Api::new(&ui.api, &session.token);
    let def = api.get_as::<UnifiedRoleDefinition>(&format!("{RM}/roleDefinitions/{role}")).await.ok();
    role_name(def.as_ref(), role)
}

pub async fn deactivate(State(ui): State<UiState>, session: Session, Form(f): Form<RoleForm>) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let Some(target) = Target::read(&f.role, &f.scope) else { return unknown_role(&session) };
    if !super::confirm::confirmed(&f.confirmed) {
        let name = role_called(&ui, &session, target.role).await;
        let c = super::confirm::Confirm {
            title: format!("Deactivate {name}"),
            effects: vec![format!(
                "Your activation of {name} at {} ends now, and you lose its permissions. You stay eligible and can activate it again.",
                view::scope_label(&target.scope)
            )],
            warning: None,
            action: "/deactivate".into(),
            fields: vec![
                ("role".into(), f.role.clone()),
                ("scope".into(), f.scope.clone()),
                ("justification".into(), f.justification.clone()),
            ],
            confirm_label: format!("Deactivate {name}"),
            back: "/my-roles?tab=active".into(),
        };
        return super::confirm::page(&ui, &session, "my", c).await;
    }
    self_request(&session, &ui, "/my-roles?tab=active", "roleAssignmentScheduleRequests", |me| {
        target.request(Action::SelfDeactivate, me, &f.justification)
    })
    .await
}

/// Extend or renew (`action`): a request for `days` more, which the API checks and may send
/// for approval.
async fn lengthen(ui: UiState, session: Session, f: RoleForm, action: Action) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let (set, tab) = match f.kind.as_str() {
        "eligibility" => ("roleEligibilityScheduleRequests", "eligible"),
        "assignment" => ("roleAssignmentScheduleRequests", "active"),
        _ => {
            return session.redirect("/my-roles", Flash::err("Choose what to extend: an eligibility or an assignment."))
        }
    };
    let back =
        if action == Action::SelfRenew { "/my-roles?tab=expired".to_string() } else { format!("/my-roles?tab={tab}") };
    let days: i64 = match f.days.trim().parse() {
        Ok(d) if (1..=3650).contains(&d) => d,
        _ => return session.redirect(&back, Flash::err("The extension must be a whole number of days (1 to 3650).")),
    };
    let Some(target) = Target::read(&f.role, &f.scope) else { return unknown_role(&session) };
    self_request(&session, &ui, &back, set, |me| NewScheduleRequest {
        schedule_info: for_duration(None, format!("P{days}D")),
        ..target.request(action, me, &f.justification)
    })
    .await
}

pub async fn extend(State(ui): State<UiState>, session: Session, Form(f): Form<RoleForm>) -> Response {
    lengthen(ui, session, f, Action::SelfExtend).await
}

pub async fn renew(State(ui): State<UiState>, session: Session, Form(f): Form<RoleForm>) -> Response {
    lengthen(ui, session, f, Action::SelfRenew).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CancelForm {
    csrf: String,
    id: String,
    /// `eligibility` for a request about an eligibility (extend, renew); else an activation's.
    kind: String,
    confirmed: String,
}

pub async fn cancel(State(ui): State<UiState>, session: Session, Form(f): Form<CancelForm>) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let api = Api::new(&ui.api, &session.token);
    let set =
        if f.kind == "eligibility" { "roleEligibilityScheduleRequests" } else { "roleAssignmentScheduleRequests" };
    let request = format!("{RM}/{set}/{}", seg(f.id.trim()));
    if !super::confirm::confirmed(&f.confirmed) {
        let r = match api.get_as::<UnifiedRoleScheduleRequest>(&format!("{request}?$expand=roleDefinition")).await {
            Ok(r) => r,
            Err(e) if e.is_unauthenticated() => return super::signin::expired(&session, &e.message),
            Err(e) => return session.redirect("/my-requests", Flash::graph(&e)),
        };
        let name = role_name(r.role_definition.as_ref(), r.role_definition_id);
        let c = super::confirm::Confirm {
            title: format!("Cancel your request for {name}"),
            effects: vec![format!(
                "Your request of {} for {name} at {} is withdrawn: approvers no longer see it, and nothing is activated.",
                view::when(Some(r.created_date_time)),
                view::scope_label(&r.directory_scope_id)
            )],
            warning: None,
            action: "/cancel".into(),
            fields: vec![("id".into(), f.id.clone()), ("kind".into(), f.kind.clone())],
            confirm_label: "Cancel the request".into(),
            back: "/my-requests".into(),
        };
        return super::confirm::page(&ui, &session, "requests", c).await;
    }
    match api.post(&format!("{request}/cancel"), &serde_json::json!({})).await {
        Ok(_) => session.redirect("/my-requests?status=canceled", Flash::ok("The request is canceled.")),
        Err(e) if e.is_unauthenticated() => super::signin::expired(&session, &e.message),
        Err(e) => session.redirect("/my-requests", Flash::graph(&e)),
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
