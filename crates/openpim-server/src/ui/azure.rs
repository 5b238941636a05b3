//! Azure resources (issue #16): the resource hierarchy as a tree, a scope's eligible and active
//! assignments with the forms to add, update and remove them, and My roles' Azure part
//! (activate at a chosen child scope, deactivate). A role's settings at a scope are
//! `azure_settings`.
//!
//! As every page, these hold no rules: they call Azure Resource Manager's API in-process with
//! the session's ARM-audience token (`Session::arm_token`), so Azure RBAC, the PIM engine's
//! rules, the audit records and the error codes are the API's. Principals are found through
//! Graph (the session's Graph token), as on the Roles pages.

use super::api::{q, Api, GraphError, GraphResult};
use super::page;
use super::rows::{ActiveRow, EligibleRow, HolderForms, HolderRow, HolderSection, PendingRow};
use super::session::Session;
use super::view::{self, Chrome, Flash};
use super::UiState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::Form;
use openpim_core::policy::rules::{self as policy_rules, azure_default_rules};
use openpim_core::scope::{ArmScope, ArmScopeKind};
use openpim_proto::arm::management_groups::{ManagementGroup, ManagementGroupInfo};
use openpim_proto::arm::pim::{EligibleChildResource, Schedule, ScheduleRequest};
use openpim_proto::arm::resource_groups::ResourceGroup;
use openpim_proto::arm::resources::GenericResource;
use openpim_proto::arm::role_assignments::RoleAssignment;
use openpim_proto::arm::role_definitions::RoleDefinition;
use openpim_proto::arm::subscriptions::Subscription;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use uuid::Uuid;

/// The api-versions the pages call (each one an area serves; see `crate::arm`).
pub(super) const PIM_V: &str = "api-version=2020-10-01";
pub(super) const RBAC_V: &str = "api-version=2022-04-01";
const MG_V: &str = "api-version=2021-04-01";
const SUB_V: &str = "api-version=2022-12-01";
const RG_V: &str = "api-version=2021-04-01";
/// What the add/update/remove forms need at a scope, as Azure checks it.
const WRITE_ACTION: &str = "Microsoft.Authorization/roleAssignments/write";
/// Pages followed for one ARM list.
const MAX_PAGES: usize = 50;

/// The session user's view of ARM.
pub(super) fn arm<'a>(ui: &'a UiState, session: &'a Session) -> Api<'a> {
    Api::new(&ui.api, &session.arm_token)
}

/// Every item of an ARM list, following `nextLink` (absolute; the in-process call needs the
/// path and query).
async fn list<T: DeserializeOwned>(api: &Api<'_>, path: &str) -> GraphResult<Vec<T>> {
    let mut items = Vec::new();
    let mut next = Some(path.to_string());
    for _ in 0..MAX_PAGES {
        let Some(path) = next.take() else { break };
        let mut page = api.get(&path).await?;
        if let Value::Array(v) = page["value"].take() {
            for item in v {
                items.push(typed(item)?);
            }
        }
        next = page["nextLink"].as_str().and_then(path_of_link);
    }
    Ok(items)
}

pub(super) fn typed<T: DeserializeOwned>(v: Value) -> GraphResult<T> {
    serde_json::from_value(v).map_err(|e| {
        tracing::error!(error = %e, "an ARM answer does not fit its proto type");
        GraphError {
            status: StatusCode::BAD_GATEWAY,
            code: "UnknownError".into(),
            message: "The API response was not understood.".into(),
        }
    })
}

/// `https://host/subscriptions/...?x` → `/subscriptions/...?x`.
fn path_of_link(link: &str) -> Option<String> {
    let rest = link.split_once("://").map_or(link, |(_, r)| r);
    rest.find('/').map(|i| rest[i..].to_string())
}

/// Whether the tenant has any Azure hierarchy (the navigation shows "Azure resources" then).
pub async fn tenant_has_azure(ui: &UiState) -> bool {
    let groups = ui.app.store.list_management_groups().await.map(|g| !g.is_empty()).unwrap_or(false);
    groups || ui.app.store.list_subscriptions().await.map(|s| !s.is_empty()).unwrap_or(false)
}

/// The link to a scope's page.
pub fn scope_href(scope: &str) -> String {
    format!("/azure/scope?id={}", q(scope))
}

/// A scope as people read it: its kind and its last name.
pub fn scope_label(scope: &str) -> String {
    match ArmScope::parse(scope) {
        Ok(s) if s.is_root() => "Root (/)".to_string(),
        Ok(s) => {
            let name = s.as_str().trim_end_matches('/').rsplit('/').next().unwrap_or("").to_string();
            let kind = match s.kind() {
                ArmScopeKind::Root => "Root",
                ArmScopeKind::ManagementGroup => "Management group",
                ArmScopeKind::Subscription => "Subscription",
                ArmScopeKind::ResourceGroup => "Resource group",
                ArmScopeKind::Resource => "Resource",
            };
            format!("{kind} {name}")
        }
        Err(_) => scope.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// The tree

struct Node {
    /// 0 for the roots; the stylesheet indents up to `tree-d6`.
    depth: usize,
    label: String,
    kind: &'static str,
    href: String,
}

#[derive(Template)]
#[template(path = "azure.html")]
struct TreePage {
    page: Chrome,
    nodes: Vec<Node>,
}

/// A management group's display name, child groups and child subscriptions (lowercased ids).
type GroupNode = (String, Vec<String>, Vec<String>);
/// A subscription's display name and its resource groups with their resources.
type SubscriptionNode = (String, Vec<(ResourceGroup, Vec<GenericResource>)>);

/// What the tree is built from: groups with their children, subscriptions with their groups and
/// resources.
#[derive(Default)]
struct Hierarchy {
    groups: BTreeMap<String, GroupNode>,
    subscriptions: BTreeMap<String, SubscriptionNode>,
}

async fn load_hierarchy(api: &Api<'_>) -> GraphResult<Hierarchy> {
    let mut h = Hierarchy::default();
    let infos: Vec<ManagementGroupInfo> =
        list(api, &format!("/providers/Microsoft.Management/managementGroups?{MG_V}")).await?;
    for info in infos {
        let g: ManagementGroup = typed(
            api.get(&format!(
                "/providers/Microsoft.Management/managementGroups/{}?{MG_V}&$expand=children",
                q(&info.name)
            ))
            .await?,
        )?;
        let (mut groups, mut subs) = (Vec::new(), Vec::new());
        for c in g.properties.children.unwrap_or_default() {
            if c.kind.eq_ignore_ascii_case("/subscriptions") {
                subs.push(c.name.to_ascii_lowercase());
            } else {
                groups.push(c.name.to_ascii_lowercase());
            }
        }
        h.groups.insert(info.name.to_ascii_lowercase(), (g.properties.display_name, groups, subs));
    }
    let subs: Vec<Subscription> = list(api, &format!("/subscriptions?{SUB_V}")).await?;
    for s in subs {
        let rgs: Vec<ResourceGroup> =
            list(api, &format!("/subscriptions/{}/resourcegroups?{RG_V}", q(&s.subscription_id))).await?;
        let mut with_resources = Vec::new();
        for rg in rgs {
            let resources: Vec<GenericResource> = list(api, &format!("{}/resources?{RG_V}", rg.id)).await?;
            with_resources.push((rg, resources));
        }
        h.subscriptions.insert(s.subscription_id.to_ascii_lowercase(), (s.display_name, with_resources));
    }
    Ok(h)
}

impl Hierarchy {
    fn nodes(&self) -> Vec<Node> {
        let child_groups: HashSet<&String> = self.groups.values().flat_map(|(_, g, _)| g).collect();
        let child_subs: HashSet<&String> = self.groups.values().flat_map(|(_, _, s)| s).collect();
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for id in self.groups.keys().filter(|id| !child_groups.contains(id)) {
            self.group(id, 0, &mut out, &mut seen);
        }
        for id in self.subscriptions.keys().filter(|id| !child_subs.contains(id)) {
            self.subscription(id, 0, &mut out);
        }
        out
    }

    fn group(&self, id: &str, depth: usize, out: &mut Vec<Node>, seen: &mut HashSet<String>) {
        // A group is shown once (the hierarchy is a tree; this only guards the walk).
        if !seen.insert(id.to_string()) {
            return;
        }
        let Some((name, groups, subs)) = self.groups.get(id) else { return };
        let scope = format!("/providers/Microsoft.Management/managementGroups/{id}");
        out.push(Node { depth, label: name.clone(), kind: "Management group", href: scope_href(&scope) });
        for g in groups {
            self.group(g, depth + 1, out, seen);
        }
        for s in subs {
            self.subscription(s, depth + 1, out);
        }
    }

    fn subscription(&self, id: &str, depth: usize, out: &mut Vec<Node>) {
        let Some((name, rgs)) = self.subscriptions.get(id) else { return };
        out.push(Node {
            depth,
            label: name.clone(),
            kind: "Subscription",
            href: scope_href(&format!("/subscriptions/{id}")),
        });
        for (rg, resources) in rgs {
            out.push(Node {
                depth: depth + 1,
                label: rg.name.clone(),
                kind: "Resource group",
                href: scope_href(&rg.id),
            });
            for r in resources {
                out.push(Node { depth: depth + 2, label: r.name.clone(), kind: "Resource", href: scope_href(&r.id) });
            }
        }
    }
}

pub async fn tree(State(ui): State<UiState>, session: Session) -> Response {
    let (chrome, _) = match page::start(&ui, &session, "azure", "Azure resources").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let api = arm(&ui, &session);
    let h = match load_hierarchy(&api).await {
        Ok(h) => h,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    let nodes = h.nodes();
    session.finish(view::render(StatusCode::OK, &TreePage { page: chrome, nodes }))
}

// ---------------------------------------------------------------------------------------------
// A scope's page

struct RbacRow {
    principal: String,
    principal_type: String,
    role_name: String,
    scope_label: String,
}

struct RoleOption {
    id: String,
    name: String,
    custom: bool,
}

#[derive(Template)]
#[template(path = "azure_scope.html")]
struct ScopePage {
    page: Chrome,
    scope: String,
    kind: String,
    /// The shown tab's holders (eligible or active); empty on the RBAC tab.
    sections: Vec<HolderSection>,
    rbac: Vec<RbacRow>,
    can_write: bool,
    roles: Vec<RoleOption>,
    tabs: Vec<(String, &'static str, bool)>,
    /// `eligible`, `active` or `rbac`.
    tab: &'static str,
}

/// A scope page's tabs: (query value, label).
const SCOPE_TABS: [(&str, &str); 3] =
    [("eligible", "Eligible assignments"), ("active", "Active assignments"), ("rbac", "Role assignments (RBAC)")];

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ScopeQuery {
    id: String,
    tab: String,
}

/// The GUID of a role definition id in any ARM form.
fn role_guid(raw: &str) -> String {
    crate::azure::pim::role_guid(raw).map_or_else(|| raw.to_string(), |g| g.to_string())
}

/// Whether the permissions ARM lists for the caller at a scope allow `action` (a hint for which
/// forms to show; the API checks again on every write).
pub(super) fn allows(perms: &Value, action: &str) -> bool {
    let strings = |v: &Value, k: &str| -> Vec<String> {
        v[k].as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()).unwrap_or_default()
    };
    perms["value"].as_array().is_some_and(|ps| {
        ps.iter().any(|p| {
            strings(p, "actions").iter().any(|a| openpim_core::azure_catalog::pattern_matches(a, action))
                && !strings(p, "notActions").iter().any(|a| openpim_core::azure_catalog::pattern_matches(a, action))
        })
    })
}

/// The holder rows of a scope's page; the forms are offered on direct rows at this very scope
/// when the caller may write there.
fn holder_rows(rows: &[Schedule], here: &str, prefix: &str, can_write: bool) -> Vec<HolderRow> {
    rows.iter()
        .enumerate()
        .map(|(i, s)| {
            let p = &s.properties;
            let x = &p.expanded_properties;
            let role_id = role_guid(&p.role_definition_id);
            let direct = p.member_type == "Direct";
            HolderRow {
                key: format!("{prefix}{i}"),
                principal: x.principal.display_name.clone().unwrap_or_else(|| p.principal_id.clone()),
                principal_id: p.principal_id.clone(),
                principal_type: p.principal_type.clone(),
                role_name: x.role_definition.display_name.clone().unwrap_or_else(|| role_id.clone()),
                role_href: super::azure_settings::href(here, &role_id),
                role_id,
                member_type: p.member_type.clone(),
                assignment_type: p.assignment_type.clone().unwrap_or_default(),
                scope: p.scope.clone(),
                scope_label: scope_label(&p.scope),
                start: time_label(Some(&p.start_date_time)),
                end: time_label(p.end_date_time.as_deref()),
                editable: can_write && direct && p.scope.eq_ignore_ascii_case(here),
                note: if direct { String::new() } else { p.member_type.clone() },
            }
        })
        .collect()
}

/// An RFC 3339 time as the pages show times.
fn time_label(raw: Option<&str>) -> String {
    let parsed = raw.and_then(|r| time::OffsetDateTime::parse(r, &time::format_description::well_known::Rfc3339).ok());
    match (raw, parsed) {
        (_, Some(t)) => view::when(Some(t)),
        (Some(r), None) => r.to_string(),
        (None, None) => String::new(),
    }
}

pub async fn scope(State(ui): State<UiState>, session: Session, Query(query): Query<ScopeQuery>) -> Response {
    let (mut chrome, _) = match page::start(&ui, &session, "azure", "Azure resource").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let Ok(at) = ArmScope::parse(query.id.trim()) else {
        let e = GraphError {
            status: StatusCode::BAD_REQUEST,
            code: "InvalidScope".into(),
            message: format!("'{}' is not an Azure scope.", query.id.trim()),
        };
        return page::load_failed(&session, chrome, &e);
    };
    let here = at.as_str().to_string();
    let api = arm(&ui, &session);
    let loaded = async {
        let filter = q("atScope()");
        let eligible: Vec<Schedule> =
            list(&api, &format!("{}?{PIM_V}&$filter={filter}", at.collection_id("roleEligibilityScheduleInstances")))
                .await?;
        let active: Vec<Schedule> =
            list(&api, &format!("{}?{PIM_V}&$filter={filter}", at.collection_id("roleAssignmentScheduleInstances")))
                .await?;
        let rbac: Vec<RoleAssignment> =
            list(&api, &format!("{}?{RBAC_V}&$filter={filter}", at.collection_id("roleAssignments"))).await?;
        let perms = api.get(&format!("{}?{RBAC_V}", at.collection_id("permissions"))).await?;
        let can_write = allows(&perms, WRITE_ACTION);
        let roles: Vec<RoleDefinition> = if can_write {
            list(&api, &format!("{}?{RBAC_V}", at.collection_id("roleDefinitions"))).await?
        } else {
            Vec::new()
        };
        Ok::<_, GraphError>((eligible, active, rbac, can_write, roles))
    };
    let (eligible, active, rbac, can_write, roles) = match loaded.await {
        Ok(x) => x,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    // Role names for the RBAC table (ARM's role assignments carry the id only).
    let names: BTreeMap<String, String> = eligible
        .iter()
        .chain(active.iter())
        .map(|s| {
            let x = &s.properties.expanded_properties;
            (role_guid(&s.properties.role_definition_id), x.role_definition.display_name.clone().unwrap_or_default())
        })
        .chain(roles.iter().map(|r| (r.name.to_string(), r.properties.role_name.clone())))
        .collect();
    let principals: BTreeMap<String, String> = active
        .iter()
        .chain(eligible.iter())
        .filter_map(|s| {
            let x = &s.properties.expanded_properties;
            x.principal.display_name.clone().map(|n| (s.properties.principal_id.clone(), n))
        })
        .collect();
    let rbac = rbac
        .iter()
        .map(|a| {
            let p = &a.properties;
            let role = role_guid(&p.role_definition_id);
            RbacRow {
                principal: principals.get(&p.principal_id).cloned().unwrap_or_else(|| p.principal_id.clone()),
                principal_type: p.principal_type.clone(),
                role_name: names.get(&role).filter(|n| !n.is_empty()).cloned().unwrap_or(role),
                scope_label: scope_label(&p.scope),
            }
        })
        .collect();
    let mut roles: Vec<RoleOption> = roles
        .into_iter()
        .map(|r| RoleOption {
            id: r.name.to_string(),
            custom: r.properties.role_type == "CustomRole",
            name: r.properties.role_name,
        })
        .collect();
    roles.sort_by_key(|r| r.name.to_lowercase());
    chrome.title = scope_label(&here);
    let tab = SCOPE_TABS.iter().map(|(t, _)| *t).find(|t| *t == query.tab).unwrap_or("eligible");
    let forms = HolderForms {
        remove_action: "/azure/remove".into(),
        update_action: "/azure/update".into(),
        with_role: true,
        update_days: true,
    };
    let sections = match tab {
        "eligible" => vec![HolderSection::one(tab, holder_rows(&eligible, &here, "e", can_write), &forms)],
        "active" => vec![HolderSection::one(tab, holder_rows(&active, &here, "a", can_write), &forms)],
        _ => vec![],
    };
    let tabs = SCOPE_TABS.iter().map(|(t, label)| (tab_href(&here, t), *label, *t == tab)).collect();
    let page = ScopePage {
        page: chrome,
        kind: crate::azure::pim::scope_type(&at),
        sections,
        rbac,
        can_write,
        roles,
        tabs,
        tab,
        scope: here,
    };
    session.finish(view::render(StatusCode::OK, &page))
}

// ---------------------------------------------------------------------------------------------
// Add, update, remove

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AdminForm {
    csrf: String,
    scope: String,
    kind: String,
    role: String,
    member: String,
    principal: String,
    permanent: String,
    days: String,
    end: String,
    justification: String,
    /// `yes` once the confirmation page was confirmed (removals).
    confirmed: String,
}

fn collection(kind: &str) -> Result<&'static str, Flash> {
    match kind {
        "eligible" => Ok("roleEligibilityScheduleRequests"),
        "active" => Ok("roleAssignmentScheduleRequests"),
        _ => Err(Flash::err("Choose Eligible or Active.")),
    }
}

/// The form's expiration in ARM's `scheduleInfo`: permanent, an end time (UTC), or a number of
/// days. Whether the role's policy allows it is the API's to say.
fn schedule_info(f: &AdminForm) -> Result<Value, Flash> {
    if f.permanent == "on" {
        return Ok(json!({"expiration": {"type": "NoExpiration"}}));
    }
    if let Some(end) = super::roles::utc(&f.end, "end")? {
        let end = end
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|_| Flash::err("The end time could not be read."))?;
        return Ok(json!({"expiration": {"type": "AfterDateTime", "endDateTime": end}}));
    }
    match f.days.trim().parse::<i64>() {
        Ok(d) if (1..=3650).contains(&d) => {
            Ok(json!({"expiration": {"type": "AfterDuration", "duration": format!("P{d}D")}}))
        }
        _ if f.days.trim().is_empty() => Err(Flash::err("Give a duration in days, an end time, or tick Permanent.")),
        _ => Err(Flash::err("The duration must be a whole number of days (1 to 3650).")),
    }
}

/// A scope page's tab.
fn tab_href(scope: &str, tab: &str) -> String {
    format!("{}&tab={tab}", scope_href(scope))
}

/// Where a form about assignments of `f.kind` returns: its scope's tab of that kind.
fn back_to_tab(f: &AdminForm) -> String {
    match ArmScope::parse(f.scope.trim()) {
        Ok(_) => tab_href(f.scope.trim(), if f.kind == "active" { "active" } else { "eligible" }),
        Err(_) => "/azure".to_string(),
    }
}

/// PUTs a schedule request of `collection` at `scope` under a new name; the answer's status.
async fn put_request(api: &Api<'_>, scope: &ArmScope, collection: &str, properties: Value) -> GraphResult<String> {
    let path = format!("{}?{PIM_V}", scope.resource_id(collection, Uuid::new_v4()));
    let answer: ScheduleRequest = typed(api.call(Method::PUT, &path, Some(&json!({"properties": properties}))).await?)?;
    Ok(answer.properties.status)
}

/// The request body's role definition id at `scope`.
fn role_definition_id(scope: &ArmScope, role: Uuid) -> String {
    scope.resource_id("roleDefinitions", role)
}

/// Sends one admin request and goes back to the scope's page with the outcome.
async fn admin_request(
    session: &Session,
    ui: &UiState,
    f: &AdminForm,
    request_type: &str,
    properties: Value,
) -> Response {
    let back = back_to_tab(f);
    let Ok(set) = collection(&f.kind) else { return session.redirect(&back, Flash::err("Choose Eligible or Active.")) };
    let Ok(at) = ArmScope::parse(f.scope.trim()) else {
        return session.redirect(&back, Flash::err("The form names no Azure scope."));
    };
    let api = arm(ui, session);
    match put_request(&api, &at, set, properties).await {
        Ok(status) => session.redirect(&back, Flash::ok(format!("{request_type}: {status}."))),
        Err(e) if e.is_unauthenticated() => super::signin::expired(session, &e.message),
        Err(e) => session.redirect(&back, super::roles::refusal(&e)),
    }
}

/// The scope and role a form names; anything else is refused here with a message.
fn target(f: &AdminForm) -> Result<(ArmScope, Uuid), Flash> {
    let scope = ArmScope::parse(f.scope.trim()).map_err(|_| Flash::err("The form names no Azure scope."))?;
    let role = Uuid::parse_str(f.role.trim()).map_err(|_| Flash::err("Choose a role from the list."))?;
    Ok((scope, role))
}

fn justification(raw: &str) -> Value {
    Some(raw.trim()).filter(|t| !t.is_empty()).map_or(Value::Null, |t| Value::String(t.to_string()))
}

pub async fn assign(State(ui): State<UiState>, session: Session, Form(f): Form<AdminForm>) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let back = back_to_tab(&f);
    let prepared = async {
        let (scope, role) = target(&f)?;
        collection(&f.kind)?;
        let info = schedule_info(&f)?;
        let graph = Api::new(&ui.api, &session.token);
        let principal = super::roles::resolve_member(&graph, &f.member).await?;
        Ok::<_, Flash>(json!({
            "principalId": principal,
            "roleDefinitionId": role_definition_id(&scope, role),
            "requestType": "AdminAssign",
            "justification": justification(&f.justification),
            "scheduleInfo": info,
        }))
    };
    match prepared.await {
        Ok(props) => admin_request(&session, &ui, &f, "AdminAssign", props).await,
        Err(flash) => session.redirect(&back, flash),
    }
}

fn principal_of(f: &AdminForm) -> Result<Uuid, Flash> {
    Uuid::parse_str(f.principal.trim()).map_err(|_| Flash::err("The form names no principal."))
}

pub async fn update(State(ui): State<UiState>, session: Session, Form(f): Form<AdminForm>) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let prepared = (|| {
        let (scope, role) = target(&f)?;
        Ok::<_, Flash>(json!({
            "principalId": principal_of(&f)?,
            "roleDefinitionId": role_definition_id(&scope, role),
            "requestType": "AdminUpdate",
            "justification": justification(&f.justification),
            "scheduleInfo": schedule_info(&f)?,
        }))
    })();
    match prepared {
        Ok(props) => admin_request(&session, &ui, &f, "AdminUpdate", props).await,
        Err(flash) => session.redirect(&back_to_tab(&f), flash),
    }
}

pub async fn remove(State(ui): State<UiState>, session: Session, Form(f): Form<AdminForm>) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let prepared = (|| {
        let (scope, role) = target(&f)?;
        Ok::<_, Flash>(json!({
            "principalId": principal_of(&f)?,
            "roleDefinitionId": role_definition_id(&scope, role),
            "requestType": "AdminRemove",
            "justification": justification(&f.justification),
        }))
    })();
    match prepared {
        Ok(_) if !super::confirm::confirmed(&f.confirmed) => confirm_removal(&ui, &session, &f).await,
        Ok(props) => admin_request(&session, &ui, &f, "AdminRemove", props).await,
        Err(flash) => session.redirect(&back_to_tab(&f), flash),
    }
}

/// The confirmation page of a removal at an Azure scope: who loses which role where, named
/// through Graph (the principal) and ARM (the role) with the caller's own rights.
async fn confirm_removal(ui: &UiState, session: &Session, f: &AdminForm) -> Response {
    let graph = Api::new(&ui.api, &session.token);
    let principal = f.principal.trim();
    let who = match graph.get(&format!("/v1.0/users/{}", super::api::seg(principal))).await {
        Ok(u) => u["userPrincipalName"].as_str().unwrap_or(principal).to_string(),
        Err(_) => match graph.get(&format!("/v1.0/groups/{}", super::api::seg(principal))).await {
            Ok(g) => format!("the group {}", g["displayName"].as_str().unwrap_or(principal)),
            Err(_) => principal.to_string(),
        },
    };
    let role = match target(f) {
        Ok((scope, role)) => {
            let path = format!("{}?{RBAC_V}", role_definition_id(&scope, role));
            match arm(ui, session).get(&path).await {
                Ok(d) => d["properties"]["roleName"].as_str().unwrap_or(f.role.trim()).to_string(),
                Err(_) => f.role.trim().to_string(),
            }
        }
        Err(_) => f.role.trim().to_string(),
    };
    let at = scope_label(f.scope.trim());
    let (what, effect) = if f.kind == "active" {
        ("active assignment", format!("{who} will no longer hold {role} at {at}."))
    } else {
        ("eligible assignment", format!("{who} will no longer be able to activate {role} at {at} or below it."))
    };
    let mut effects = vec![format!("The {what} of {who} to {role} at {at} is removed."), effect];
    if !f.justification.trim().is_empty() {
        effects.push(format!("Reason recorded: {}", f.justification.trim()));
    }
    let fields = [
        ("scope", &f.scope),
        ("kind", &f.kind),
        ("role", &f.role),
        ("principal", &f.principal),
        ("justification", &f.justification),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.clone()))
    .collect();
    let c = super::confirm::Confirm {
        title: format!("Remove an {what}"),
        effects,
        warning: None,
        action: "/azure/remove".into(),
        fields,
        confirm_label: "Remove".into(),
        back: back_to_tab(f),
    };
    super::confirm::page(ui, session, "azure", c).await
}

// ---------------------------------------------------------------------------------------------
// My roles: the Azure part

/// My roles' Azure part; `None` when the tenant has no Azure hierarchy.
#[derive(Default)]
pub struct AzureMine {
    pub shown: bool,
    pub eligible: Vec<EligibleRow>,
    pub active: Vec<ActiveRow>,
    /// The user's activations waiting for approval.
    pub pending: Vec<PendingRow>,
    /// Why the part could not be loaded (the rest of the page still shows).
    pub error: Option<String>,
}

/// A row's scope as My roles shows it: its display name and type when ARM expanded them.
fn expanded_scope_label(scope: &str, x: &openpim_proto::arm::pim::ExpandedProperties) -> String {
    x.scope.display_name.clone().map_or_else(|| scope_label(scope), |n| format!("{} ({})", n, x.scope.scope_type))
}

/// The role's name as ARM expanded it, else its id.
fn expanded_role_name(role_id: &str, x: &openpim_proto::arm::pim::ExpandedProperties) -> String {
    x.role_definition.display_name.clone().unwrap_or_else(|| role_id.to_string())
}

/// What activating `role` at `scope` asks (the (role, scope)'s settings, Azure's defaults when
/// unchanged), read as `my_roles` reads a directory role's: the user's own eligibilities only.
async fn azure_requirements(ui: &UiState, role: &str, scope: &str) -> super::my_roles::Requirements {
    let (Ok(role), Ok(at)) = (Uuid::parse_str(role), ArmScope::parse(scope)) else { return Default::default() };
    let rules = match ui.app.store.arm_policy(role, &at).await {
        Ok(Some(p)) => p.rules,
        _ => azure_default_rules(),
    };
    super::my_roles::Requirements::from_policy(&policy_rules::effective(&rules))
}

/// How the user holds a row: `Direct`, `Inherited`, or `Group <name>` (the group the row is for).
fn via(s: &Schedule) -> String {
    let p = &s.properties;
    match (p.member_type.as_str(), p.expanded_properties.principal.display_name.as_deref()) {
        ("Group", Some(name)) => format!("Group {name}"),
        (other, _) => other.to_string(),
    }
}

pub async fn mine(ui: &UiState, session: &Session) -> AzureMine {
    if !tenant_has_azure(ui).await {
        return AzureMine::default();
    }
    let api = arm(ui, session);
    let filter = q("asTarget()");
    let loaded = async {
        // The caller's own rows everywhere: the lists at ARM's root with `asTarget()`.
        let root = ArmScope::root();
        let eligible: Vec<Schedule> =
            list(&api, &format!("{}?{PIM_V}&$filter={filter}", root.collection_id("roleEligibilityScheduleInstances")))
                .await?;
        let active: Vec<Schedule> = list(
            &api,
            &format!("{}?{PIM_V}&$filter={filter}", ArmScope::root().collection_id("roleAssignmentScheduleInstances")),
        )
        .await?;
        let pending_filter = q("asRequestor() and status eq 'PendingApproval'");
        let pending: Vec<ScheduleRequest> = list(
            &api,
            &format!(
                "{}?{PIM_V}&$filter={pending_filter}",
                ArmScope::root().collection_id("roleAssignmentScheduleRequests")
            ),
        )
        .await?;
        let mut rows = Vec::new();
        for (i, e) in eligible.iter().enumerate() {
            let p = &e.properties;
            // No scope, no choices: the eligibility's own scope is still offered below.
            let children: Vec<EligibleChildResource> = match ArmScope::parse(&p.scope) {
                Ok(at) => list(&api, &format!("{}?{PIM_V}", at.collection_id("eligibleChildResources")))
                    .await
                    .unwrap_or_default(),
                Err(_) => Vec::new(),
            };
            let mut options: Vec<(String, String)> =
                children.into_iter().map(|c| (c.id.clone(), scope_label(&c.id))).collect();
            if !options.iter().any(|(id, _)| id.eq_ignore_ascii_case(&p.scope)) {
                options.insert(0, (p.scope.clone(), scope_label(&p.scope)));
            }
            let role_id = role_guid(&p.role_definition_id);
            rows.push(EligibleRow {
                key: format!("z{i}"),
                reqs: azure_requirements(ui, &role_id, &p.scope).await,
                role_name: expanded_role_name(&role_id, &p.expanded_properties),
                role_id,
                scope_label: expanded_scope_label(&p.scope, &p.expanded_properties),
                scope: p.scope.clone(),
                member_type: via(e),
                end: time_label(p.end_date_time.as_deref()),
                can_extend: false,
                activate_action: "/azure/activate",
                children: options,
                level: 4,
            });
        }
        let active = active
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let p = &a.properties;
                let role_id = role_guid(&p.role_definition_id);
                let activated = p.assignment_type.as_deref() == Some("Activated");
                let role_name = expanded_role_name(&role_id, &p.expanded_properties);
                let label = expanded_scope_label(&p.scope, &p.expanded_properties);
                ActiveRow {
                    key: format!("za{i}"),
                    deactivate_action: "/azure/deactivate",
                    deactivate_label: format!("Deactivate {role_name} at {label}"),
                    role_name,
                    role_id,
                    scope: p.scope.clone(),
                    scope_label: label,
                    assignment_type: p.assignment_type.clone().unwrap_or_default(),
                    can_deactivate: activated && p.member_type == "Direct",
                    can_extend: false,
                    member_type: via(a),
                    start: time_label(Some(&p.start_date_time)),
                    end: time_label(p.end_date_time.as_deref()),
                }
            })
            .collect();
        let pending = pending
            .iter()
            .map(|r| {
                let p = &r.properties;
                let role_id = role_guid(&p.role_definition_id);
                PendingRow {
                    id: r.name.clone(),
                    role_name: expanded_role_name(&role_id, &p.expanded_properties),
                    scope: p.scope.clone(),
                    scope_label: expanded_scope_label(&p.scope, &p.expanded_properties),
                    status: p.status.clone(),
                    created: time_label(Some(&p.created_on)),
                    justification: p.justification.clone().unwrap_or_default(),
                    cancel_action: "/azure/cancel",
                }
            })
            .collect();
        Ok::<_, GraphError>((rows, active, pending))
    };
    match loaded.await {
        Ok((eligible, active, pending)) => AzureMine { shown: true, eligible, active, pending, error: None },
        Err(e) => AzureMine { shown: true, error: Some(view::describe(&e)), ..Default::default() },
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CancelForm {
    csrf: String,
    /// The request's name (a GUID) and its scope.
    id: String,
    scope: String,
}

/// Cancels one of the user's pending Azure activations (ARM's `cancel`; whether the caller may
/// is the API's call).
pub async fn cancel(State(ui): State<UiState>, session: Session, Form(f): Form<CancelForm>) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let (Ok(at), Ok(name)) = (ArmScope::parse(f.scope.trim()), Uuid::parse_str(f.id.trim())) else {
        return session.redirect("/my-roles", Flash::err("The form names no Azure request."));
    };
    let path = format!("{}/cancel?{PIM_V}", at.resource_id("roleAssignmentScheduleRequests", name));
    match arm(&ui, &session).call(Method::POST, &path, None).await {
        Ok(_) => session.redirect("/my-roles", Flash::ok("The request is canceled.")),
        Err(e) if e.is_unauthenticated() => super::signin::expired(&session, &e.message),
        Err(e) => session.redirect("/my-roles", Flash::graph(&e)),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SelfForm {
    csrf: String,
    role: String,
    scope: String,
    hours: String,
    justification: String,
    ticket_number: String,
    ticket_system: String,
}

/// Sends a self request (activate or deactivate) at the form's scope and goes back to My roles.
async fn self_request(
    ui: &UiState,
    session: &Session,
    f: &SelfForm,
    request_type: &str,
    schedule: Option<Value>,
) -> Response {
    let Ok(at) = ArmScope::parse(f.scope.trim()) else {
        return session.redirect("/my-roles", Flash::err("Choose where to activate: the form names no Azure scope."));
    };
    let Ok(role) = Uuid::parse_str(f.role.trim()) else {
        return session.redirect("/my-roles", Flash::err("Choose a role from the list."));
    };
    let graph = Api::new(&ui.api, &session.token);
    let me = match graph.get_as::<openpim_proto::directory::User>("/v1.0/me").await {
        Ok(u) => u.id,
        Err(e) if e.is_unauthenticated() => return super::signin::expired(session, &e.message),
        Err(e) => return session.redirect("/my-roles", Flash::graph(&e)),
    };
    let mut props = json!({
        "principalId": me,
        "roleDefinitionId": role_definition_id(&at, role),
        "requestType": request_type,
        "justification": justification(&f.justification),
    });
    if let Some(s) = schedule {
        props["scheduleInfo"] = s;
    }
    let number = f.ticket_number.trim();
    let system = f.ticket_system.trim();
    if !number.is_empty() || !system.is_empty() {
        props["ticketInfo"] = json!({"ticketNumber": number, "ticketSystem": system});
    }
    let api = arm(ui, session);
    let scope = at.as_str();
    match put_request(&api, &at, "roleAssignmentScheduleRequests", props).await {
        Ok(status) => {
            let what = match (request_type, status.as_str()) {
                ("SelfActivate", "Provisioned") => format!("Active at {}.", scope_label(scope)),
                ("SelfActivate", "PendingApproval") => "Your activation request is waiting for approval.".to_string(),
                ("SelfDeactivate", _) => format!("Deactivated at {}.", scope_label(scope)),
                (_, other) => format!("{request_type}: {other}."),
            };
            session.redirect("/my-roles", Flash::ok(what))
        }
        Err(e) if e.is_unauthenticated() => super::signin::expired(session, &e.message),
        Err(e) => session.redirect("/my-roles", Flash::graph(&e)),
    }
}

pub async fn activate(State(ui): State<UiState>, session: Session, Form(f): Form<SelfForm>) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    let Some(minutes) = super::my_roles::parse_hours(&f.hours) else {
        return session.redirect("/my-roles", Flash::err("The duration must be a number of hours, such as 1 or 0.5."));
    };
    let schedule = json!({"expiration": {"type": "AfterDuration", "duration": format!("PT{minutes}M")}});
    self_request(&ui, &session, &f, "SelfActivate", Some(schedule)).await
}

pub async fn deactivate(State(ui): State<UiState>, session: Session, Form(f): Form<SelfForm>) -> Response {
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    self_request(&ui, &session, &f, "SelfDeactivate", None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_links() {
        let sub = "/subscriptions/7a1c0de5-0000-4000-8000-00000000a161";
        assert_eq!(scope_label(sub), "Subscription 7a1c0de5-0000-4000-8000-00000000a161");
        assert_eq!(scope_label(&format!("{sub}/resourceGroups/web")), "Resource group web");
        // Not a scope: shown as it is.
        assert_eq!(scope_label("/subscriptions/abc"), "/subscriptions/abc");
        assert_eq!(path_of_link("https://h:1/subscriptions/x?a=b").as_deref(), Some("/subscriptions/x?a=b"));
        assert_eq!(scope_href("/subscriptions/a"), "/azure/scope?id=%2Fsubscriptions%2Fa");
    }

    #[test]
    fn write_permission_follows_wildcards_and_not_actions() {
        let owner = json!({"value": [{"actions": ["*"], "notActions": []}]});
        let contributor = json!({"value": [{"actions": ["*"], "notActions": ["Microsoft.Authorization/*/Write"]}]});
        let reader = json!({"value": [{"actions": ["*/read"], "notActions": []}]});
        assert!(allows(&owner, WRITE_ACTION));
        assert!(!allows(&contributor, WRITE_ACTION));
        assert!(!allows(&reader, WRITE_ACTION));
    }
}
