//! PIM for Azure resources (issue #16), wire-independent: schedule requests at ARM scopes go
//! through the same engine as the directory's (`pim::requests::submit_as`, `cancel`, core's
//! `schedule::decide`), and the reads place the shared schedule and request rows relative to an
//! ARM scope ("at, above and below", `atScope()`), with the management-group hierarchy of the
//! access index.
//!
//! Authorisation is Azure's: the admin request types need
//! `Microsoft.Authorization/roleAssignments/write` at the scope (Owner, User Access
//! Administrator, Role Based Access Control Administrator); the `Self*` types need the caller to
//! be the principal; reads need `Microsoft.Authorization/roleAssignments/read` at the scope, or
//! a filter that keeps only the caller's own rows (`asTarget()`, `principalId eq '{caller}'`).

use crate::arm::{ArmCaller, ArmError, ArmResult};
use crate::pim;
use crate::pim::requests::{self, RequestAuthority, AZURE_ADMIN_ACTION};
use crate::state::AppState;
use axum::http::StatusCode;
use openpim_core::authz;
use openpim_core::schedule::{Action, Kind, NewRequest, Schedule, ScheduleRequest};
use openpim_core::scope::{ArmScope, ArmScopeKind, AuthorizationResourceId, ScopeHierarchy};
use openpim_core::{Instant, ObjectId};
use std::collections::HashSet;

/// The Azure operation that lets a caller read everyone's PIM rows at a scope.
pub const READ_ACTION: &str = "Microsoft.Authorization/roleAssignments/read";

/// A list's `$filter`, as ARM's PIM endpoints take it: functions and `eq` comparisons joined
/// with `and` (and `or` between `resourceType` comparisons for eligibleChildResources).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PimFilter {
    pub as_target: bool,
    pub at_scope: bool,
    pub as_requestor: bool,
    pub as_approver: bool,
    pub assigned_to: Option<ObjectId>,
    pub principal_id: Option<ObjectId>,
    pub role_definition_id: Option<ObjectId>,
    pub requestor_id: Option<ObjectId>,
    pub status: Option<String>,
    /// Lowercased `resourceType` values (eligibleChildResources).
    pub resource_types: Vec<String>,
}

fn invalid_filter(why: impl std::fmt::Display) -> ArmError {
    ArmError::new(StatusCode::BAD_REQUEST, "InvalidFilter", format!("The $filter is not valid: {why}."))
}

/// A quoted literal `'...'`.
fn literal(raw: &str) -> ArmResult<&str> {
    let raw = raw.trim();
    raw.strip_prefix('\'')
        .and_then(|r| r.strip_suffix('\''))
        .ok_or_else(|| invalid_filter(format!("expected a quoted value, found '{raw}'")))
}

fn guid(raw: &str) -> ArmResult<ObjectId> {
    let v = literal(raw)?;
    uuid::Uuid::try_parse(v).map_err(|_| invalid_filter(format!("'{v}' is not a GUID")))
}

/// The GUID at the end of a role definition id (any form) or a bare GUID.
pub fn role_guid(raw: &str) -> Option<ObjectId> {
    AuthorizationResourceId::guid_of(raw, "roleDefinitions")
}

/// Splits `text` on a keyword surrounded by spaces, ignoring case and quoted text.
fn split_keyword<'a>(text: &'a str, keyword: &str) -> Vec<&'a str> {
    let lower = text.to_ascii_lowercase();
    let needle = format!(" {keyword} ");
    let mut parts = Vec::new();
    let (mut start, mut in_quote) = (0, false);
    let bytes = lower.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            in_quote = !in_quote;
        } else if !in_quote && lower[i..].starts_with(&needle) {
            parts.push(&text[start..i]);
            i += needle.len();
            start = i;
            continue;
        }
        i += 1;
    }
    parts.push(&text[start..]);
    parts
}

/// `term` without whitespace and enclosing parentheses: `(a eq 'x')` → `a eq 'x'`, while
/// `asTarget()` keeps its own.
fn strip_parens(mut term: &str) -> &str {
    loop {
        term = term.trim();
        let Some(inner) = term.strip_prefix('(').and_then(|t| t.strip_suffix(')')) else { return term };
        // Only when the first parenthesis closes at the very end.
        let mut depth = 0usize;
        let balanced = inner.chars().all(|c| {
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => return false,
                ')' => depth -= 1,
                _ => {}
            }
            true
        });
        if !balanced {
            return term;
        }
        term = inner;
    }
}

impl PimFilter {
    pub fn parse(raw: Option<&str>) -> ArmResult<Self> {
        let mut f = Self::default();
        let Some(raw) = raw else { return Ok(f) };
        for term in split_keyword(raw, "and") {
            let term = strip_parens(term);
            let alternatives = split_keyword(term, "or");
            if alternatives.len() > 1 {
                for alt in alternatives {
                    let (name, value) = comparison(alt)?;
                    if !name.eq_ignore_ascii_case("resourceType") {
                        return Err(invalid_filter("'or' joins only resourceType comparisons"));
                    }
                    f.resource_types.push(literal(value)?.to_ascii_lowercase());
                }
                continue;
            }
            let lower = term.to_ascii_lowercase().replace(' ', "");
            match lower.as_str() {
                "astarget()" => f.as_target = true,
                "atscope()" => f.at_scope = true,
                "asrequestor()" => f.as_requestor = true,
                "asapprover()" => f.as_approver = true,
                _ if lower.starts_with("assignedto(") && lower.ends_with(')') => {
                    let inner = &term[term.find('(').unwrap_or(0) + 1..term.rfind(')').unwrap_or(term.len())];
                    f.assigned_to = Some(guid(inner)?);
                }
                _ => {
                    let (name, value) = comparison(term)?;
                    match name.to_ascii_lowercase().as_str() {
                        "principalid" => f.principal_id = Some(guid(value)?),
                        "requestorid" => f.requestor_id = Some(guid(value)?),
                        "roledefinitionid" => {
                            let v = literal(value)?;
                            f.role_definition_id = Some(
                                role_guid(v)
                                    .ok_or_else(|| invalid_filter(format!("'{v}' is not a role definition id")))?,
                            );
                        }
                        "status" => f.status = Some(literal(value)?.to_string()),
                        "resourcetype" => f.resource_types.push(literal(value)?.to_ascii_lowercase()),
                        other => return Err(invalid_filter(format!("'{other}' cannot be filtered on"))),
                    }
                }
            }
        }
        Ok(f)
    }

    /// The principal whose rows the filter keeps, when it keeps one principal's only.
    fn pinned(&self, caller: ObjectId) -> Option<ObjectId> {
        if self.as_target || self.as_requestor {
            return Some(caller);
        }
        self.principal_id.or(self.assigned_to)
    }
}

/// `name eq 'value'`.
fn comparison(term: &str) -> ArmResult<(&str, &str)> {
    let parts = split_keyword(term.trim(), "eq");
    match parts.as_slice() {
        [name, value] => Ok((name.trim(), value.trim())),
        _ => Err(invalid_filter(format!("'{}' is not a supported expression", term.trim()))),
    }
}

/// Whose rows a list shows.
pub struct ListScope {
    /// The scope of the path (`None`: the tenant, for `asTarget()` reads).
    pub scope: Option<ArmScope>,
    /// `None`: everyone's (the caller reads role assignments at the scope). `Some`: these
    /// principals only (the caller, and for `asTarget()`/`assignedTo` the groups they are in).
    pub principals: Option<Vec<ObjectId>>,
    /// The user the list is for (its group rows show as `memberType: Group`).
    pub target: Option<ObjectId>,
    pub filter: PimFilter,
}

/// Decides what a list may show: everyone's rows for a caller who reads role assignments at the
/// scope, the caller's own when the filter pins them, else 403 `AuthorizationFailed`.
pub fn list_scope(
    s: &AppState,
    caller: &ArmCaller,
    scope: Option<&ArmScope>,
    filter: PimFilter,
) -> ArmResult<ListScope> {
    if filter.as_approver {
        // asApprover(): the requests waiting for the caller's decision, whoever they are for.
        // Which ones is the approvals' business ([`requests_list`]), not the caller's read rights.
        return Ok(ListScope { scope: scope.cloned(), principals: None, target: None, filter });
    }
    let now = s.now();
    let index = s.index();
    let reads_all = scope.is_some_and(|at| authz::grant_azure(&index, caller.id(), READ_ACTION, at, now).is_ok());
    let pinned = filter.pinned(caller.id());
    let with_groups = |p: ObjectId| -> Vec<ObjectId> {
        std::iter::once(p).chain(index.security_groups_of(p).iter().copied()).collect()
    };
    let (principals, target) = match (reads_all, pinned) {
        (true, None) => (None, None),
        (true, Some(p)) if filter.principal_id == Some(p) && !filter.as_target => (Some(vec![p]), None),
        (_, Some(p)) if p == caller.id() || reads_all => (Some(with_groups(p)), Some(p)),
        _ => {
            let at = scope.map_or("/".to_string(), |s| s.as_str().to_string());
            return Err(ArmError::authorization_failed(caller.id(), READ_ACTION, &at));
        }
    };
    Ok(ListScope { scope: scope.cloned(), principals, target, filter })
}

/// How a row at `row` relates to a list at `list`: `Some(true)` at or above it (inherited when
/// above), `Some(false)` below it, `None` unrelated.
fn placement<H: ScopeHierarchy + ?Sized>(row: &ArmScope, list: &ArmScope, hierarchy: &H) -> Option<bool> {
    if row.covers(list, hierarchy) {
        Some(true)
    } else if list.covers(row, hierarchy) {
        Some(false)
    } else {
        None
    }
}

/// A schedule as a list shows it, with ARM's `memberType`.
pub struct Placed {
    pub schedule: Schedule,
    /// `Direct`, `Group` or `Inherited`.
    pub member_type: &'static str,
}

/// Which schedules a list reads: the live ones, or the instances in effect now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Schedules,
    Instances,
}

/// The schedules (or instances) of `kind` a list at `ls` shows, in id order.
pub async fn schedules(s: &AppState, kind: Kind, window: Window, ls: &ListScope) -> ArmResult<Vec<Placed>> {
    if ls.filter.as_approver {
        return Err(invalid_filter("asApprover() applies to schedule requests, not to schedules or instances"));
    }
    let now = s.now();
    let rows = s.store.arm_schedules(kind, ls.principals.as_deref()).await?;
    let index = s.index();
    let hierarchy = index.management_groups();
    let f = &ls.filter;
    let mut out = Vec::new();
    for sched in rows {
        let Some(at) = sched.scope.as_arm() else { continue };
        let shown = match window {
            Window::Schedules => !sched.has_ended(now),
            Window::Instances => sched.is_effective(now),
        };
        if !shown {
            continue;
        }
        let above = match &ls.scope {
            Some(list) => match placement(at, list, hierarchy) {
                Some(above) => Some(above),
                None => continue,
            },
            None => None,
        };
        if f.at_scope && above == Some(false) {
            continue;
        }
        if f.role_definition_id.is_some_and(|r| r != sched.role_definition_id) {
            continue;
        }
        if f.status.as_deref().is_some_and(|st| !st.eq_ignore_ascii_case(sched.status_at(now).as_str())) {
            continue;
        }
        let via_group = ls.target.is_some_and(|t| t != sched.principal_id);
        let inherited = above == Some(true) && ls.scope.as_ref().is_some_and(|l| l != at);
        let member_type = if via_group {
            "Group"
        } else if inherited {
            "Inherited"
        } else {
            "Direct"
        };
        out.push(Placed { schedule: sched, member_type });
    }
    Ok(out)
}

/// One schedule (or instance) of `kind` named `id` at `scope`, if the caller may see it.
pub async fn schedule(
    s: &AppState,
    caller: &ArmCaller,
    kind: Kind,
    window: Window,
    scope: &ArmScope,
    id: ObjectId,
) -> ArmResult<Option<Schedule>> {
    let now = s.now();
    let Some(sched) = s.store.arm_schedule(kind, id).await? else { return Ok(None) };
    if sched.scope.as_arm() != Some(scope) {
        return Ok(None);
    }
    let shown = match window {
        Window::Schedules => !sched.has_ended(now),
        Window::Instances => sched.is_effective(now),
    };
    Ok((shown && visible(s, caller, scope, sched.principal_id)).then_some(sched))
}

/// May `caller` see a row of `principal` at `scope`? Readers of role assignments there see
/// everyone's; anyone sees their own and their groups'.
fn visible(s: &AppState, caller: &ArmCaller, scope: &ArmScope, principal: ObjectId) -> bool {
    let index = s.index();
    principal == caller.id()
        || index.security_groups_of(caller.id()).contains(&principal)
        || authz::grant_azure(&index, caller.id(), READ_ACTION, scope, s.now()).is_ok()
}

/// Requests of `kind` a list at `ls` shows, oldest first.
pub async fn requests_list(
    s: &AppState,
    caller: &ArmCaller,
    kind: Kind,
    ls: &ListScope,
) -> ArmResult<Vec<ScheduleRequest>> {
    let f = &ls.filter;
    // asRequestor(): what the caller asked for, whoever it was for.
    let principals = if f.as_requestor { None } else { ls.principals.clone() };
    // asApprover(): only the requests whose approval waits for the caller now.
    let awaiting: Option<HashSet<ObjectId>> = if f.as_approver {
        let (approvals, _) = pim::approvals::awaiting(s, &authz::own_principal(caller.0.subject())).await?;
        Some(approvals.iter().map(|a| a.request_id).collect())
    } else {
        None
    };
    let rows = s.store.arm_requests(kind, principals.as_deref()).await?;
    let index = s.index();
    let hierarchy = index.management_groups();
    Ok(rows
        .into_iter()
        .filter(|r| {
            let Some(at) = r.scope.as_arm() else { return false };
            let above = match &ls.scope {
                Some(list) => match placement(at, list, hierarchy) {
                    Some(above) => above,
                    None => return false,
                },
                None => true,
            };
            (!f.at_scope || above)
                && awaiting.as_ref().is_none_or(|ids| ids.contains(&r.id))
                && (!f.as_requestor || r.created_by == caller.id())
                && f.requestor_id.is_none_or(|id| r.created_by == id)
                && f.role_definition_id.is_none_or(|id| r.role_definition_id == id)
                && f.status.as_deref().is_none_or(|st| st.eq_ignore_ascii_case(r.status.as_str()))
        })
        .collect())
}

/// One request of `kind` named `id` at `scope`, if the caller may see it (its principal, its
/// requestor, or a reader of role assignments at the scope).
pub async fn request(
    s: &AppState,
    caller: &ArmCaller,
    kind: Kind,
    scope: &ArmScope,
    id: ObjectId,
) -> ArmResult<Option<ScheduleRequest>> {
    let Some(r) = s.store.get_request(kind, id).await? else { return Ok(None) };
    if r.scope.as_arm() != Some(scope) {
        return Ok(None);
    }
    let shown = r.created_by == caller.id() || visible(s, caller, scope, r.principal_id);
    Ok(shown.then_some(r))
}

/// Submits a schedule request named `name` at `scope` (or validates it: `req.is_validation_only`).
/// The scope must exist; the admin request types need [`AZURE_ADMIN_ACTION`] at it (a refusal
/// is audited and answered `AuthorizationFailed`); the `Self*` types are the principal's own.
pub async fn submit(
    s: &AppState,
    caller: &ArmCaller,
    scope: &ArmScope,
    name: ObjectId,
    req: NewRequest,
) -> ArmResult<ScheduleRequest> {
    let now = s.now();
    let action = req.action;
    let attempt = requests::request_audit(&req, None, caller.id(), now);
    let authority = RequestAuthority::of_arm(s, caller, scope);
    if !action.is_self() && !authority.is_admin() {
        // Answered and audited as ARM answers any missing permission.
        super::authorize(s, caller, AZURE_ADMIN_ACTION, scope, &attempt).await?;
    }
    if action.is_self() && req.principal_id != caller.id() {
        let error = ArmError::new(
            StatusCode::FORBIDDEN,
            "AuthorizationFailed",
            format!(
                "The client '{}' cannot make a '{}' request for another principal ('{}'): self requests are the \
                 principal's own.",
                caller.id(),
                action.as_str(),
                req.principal_id
            ),
        );
        let record = attempt.record(caller, now, openpim_core::audit::AuditResult::Failure, &error.message);
        s.record_audit(&record).await;
        return Err(error);
    }
    super::hierarchy::exists(s, scope).await?;
    if !req.is_validation_only && s.store.request_id_taken(name).await? {
        return Err(ArmError::new(
            StatusCode::CONFLICT,
            "RoleAssignmentRequestExists",
            format!("A schedule request with the name '{name}' already exists; request names are unique GUIDs."),
        ));
    }
    requests::submit_as(s, caller, &authority, req, name).await.map_err(|e| arm_error(action, e))
}

/// The engine's refusals in ARM's vocabulary where Azure's differs: an activation without an
/// eligibility to activate from is a failed `EligibilityRule`.
fn arm_error(action: Action, e: crate::error::ApiError) -> ArmError {
    if action == Action::SelfActivate && e.code == "RoleAssignmentDoesNotExist" {
        return ArmError::new(
            StatusCode::BAD_REQUEST,
            "RoleAssignmentRequestPolicyValidationFailed",
            format!("The following policy rules failed: [\"EligibilityRule\"]. {}", e.message),
        );
    }
    ArmError::from(e)
}

/// Cancels request `r` (found through [`request`]): its principal, its requestor or an Azure
/// administrator at its scope may; only a pending one can be.
pub async fn cancel(s: &AppState, caller: &ArmCaller, r: &ScheduleRequest) -> ArmResult<()> {
    let own = authz::own_principal(caller.subject());
    requests::cancel(s, caller, &own, r.kind, r.id).await.map_err(|e| {
        if e.status == StatusCode::NOT_FOUND {
            // Visible (it was found) but not the caller's to cancel.
            let at = r.scope.to_string();
            ArmError::authorization_failed(caller.id(), AZURE_ADMIN_ACTION, &at)
        } else {
            ArmError::from(e)
        }
    })
}

/// ARM's lowercase type of a scope in `expandedProperties` and eligibleChildResources.
pub fn scope_type(scope: &ArmScope) -> String {
    match scope.kind() {
        ArmScopeKind::Root => "root".into(),
        ArmScopeKind::ManagementGroup => "managementgroup".into(),
        ArmScopeKind::Subscription => "subscription".into(),
        ArmScopeKind::ResourceGroup => "resourcegroup".into(),
        ArmScopeKind::Resource => "resource".into(),
    }
}

/// The scopes at and below `scope` where the caller (or a group they are in) holds an
/// eligibility that can be activated: those an eligibility at or above covers. Management
/// groups, subscriptions, resource groups and resources that exist, nearest first.
pub async fn eligible_child_resources(s: &AppState, caller: &ArmCaller, scope: &ArmScope) -> ArmResult<Vec<ArmScope>> {
    super::hierarchy::exists(s, scope).await?;
    let now: Instant = s.now();
    let principals: Vec<ObjectId> = {
        let index = s.index();
        std::iter::once(caller.id()).chain(index.security_groups_of(caller.id()).iter().copied()).collect()
    };
    let eligibilities: Vec<ArmScope> = s
        .store
        .arm_schedules(Kind::Eligibility, Some(&principals))
        .await?
        .into_iter()
        .filter(|e| !e.has_ended(now))
        .filter_map(|e| e.scope.as_arm().cloned())
        .collect();
    // Every existing scope at or below `scope`.
    let mut candidates = vec![scope.clone()];
    let mut i = 0;
    while i < candidates.len() {
        let at = candidates[i].clone();
        i += 1;
        match at.kind() {
            // Below ARM's root: the tenant root management group (the one without a parent).
            ArmScopeKind::Root => {
                for g in s.store.list_management_groups().await? {
                    if g.parent_id.is_none() {
                        if let Ok(child) = g.scope() {
                            candidates.push(child);
                        }
                    }
                }
            }
            ArmScopeKind::ManagementGroup => {
                let id = super::hierarchy::management_group_id(&at).to_ascii_lowercase();
                for g in s.store.list_management_groups().await? {
                    if g.parent_id.as_deref().is_some_and(|p| p.eq_ignore_ascii_case(&id)) {
                        if let Ok(child) = g.scope() {
                            candidates.push(child);
                        }
                    }
                }
                for sub in s.store.list_subscriptions().await? {
                    if sub.management_group_id.eq_ignore_ascii_case(&id) {
                        candidates.push(sub.scope());
                    }
                }
            }
            ArmScopeKind::Subscription => {
                if let Some(sub) = at.subscription_id() {
                    for rg in s.store.list_resource_groups(sub).await? {
                        if let Ok(child) = rg.scope() {
                            candidates.push(child);
                        }
                    }
                }
            }
            ArmScopeKind::ResourceGroup => {
                for r in s.store.list_resources(&at).await? {
                    candidates.push(r.id.clone());
                }
            }
            ArmScopeKind::Resource => {}
        }
    }
    let index = s.index();
    let hierarchy = index.management_groups();
    Ok(candidates.into_iter().filter(|c| eligibilities.iter().any(|e| e.covers(c, hierarchy))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_clients_send() {
        let alice = uuid::uuid!("a3bb8764-cb92-4276-9d2a-ca1e895e55ea");
        let f = PimFilter::parse(Some("asTarget()")).unwrap();
        assert!(f.as_target && !f.at_scope);
        let f = PimFilter::parse(Some("atScope() and assignedTo('A3BB8764-CB92-4276-9D2A-CA1E895E55EA')")).unwrap();
        assert!(f.at_scope);
        assert_eq!(f.assigned_to, Some(alice));
        let f = PimFilter::parse(Some(
            "(principalId eq 'a3bb8764-cb92-4276-9d2a-ca1e895e55ea') AND status eq 'Provisioned'",
        ))
        .unwrap();
        assert_eq!(f.principal_id, Some(alice));
        assert_eq!(f.status.as_deref(), Some("Provisioned"));
        let f = PimFilter::parse(Some(
            "roleDefinitionId eq '/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c'",
        ))
        .unwrap();
        assert_eq!(f.role_definition_id, Some(uuid::uuid!("b24988ac-6180-42a0-ab88-20f7382dd24c")));
        let f = PimFilter::parse(Some("resourceType eq 'subscription' or resourceType eq 'ResourceGroup'")).unwrap();
        assert_eq!(f.resource_types, vec!["subscription".to_string(), "resourcegroup".to_string()]);
        // An 'and' inside a quoted value is not a separator.
        let f = PimFilter::parse(Some("status eq 'a and b'")).unwrap();
        assert_eq!(f.status.as_deref(), Some("a and b"));
        assert!(PimFilter::parse(None).unwrap() == PimFilter::default());
    }

    #[test]
    fn bad_filters_are_400s() {
        for bad in [
            "nonsense eq 'x'",
            "principalId eq 'not-a-guid'",
            "principalId eq a3bb8764-cb92-4276-9d2a-ca1e895e55ea",
            "status eq 'a' or principalId eq 'b'",
            "assignedTo('x')",
            "roleDefinitionId eq '/providers/Microsoft.Authorization/roleAssignments/b24988ac-6180-42a0-ab88-20f7382dd24c'",
        ] {
            let e = PimFilter::parse(Some(bad)).unwrap_err();
            assert_eq!((e.status, e.code.as_str()), (StatusCode::BAD_REQUEST, "InvalidFilter"), "{bad}");
        }
    }
}
