//! `/policies/roleManagementPolicies` and `/policies/roleManagementPolicyAssignments`:
//! each role's settings, readable by Entra's PIM readers and role administrators
//! (`ReadRolePolicies`) and, for the roles they are eligible for, by anyone; changed
//! rule by rule by those who may assign roles.

use super::ops::{found, no_content};
use crate::auth::{Authorized, Caller};
use crate::error::{ApiError, ApiResult};
use crate::odata::OData;
use crate::pim;
use crate::pim::policies::{PolicyReader, RuleChange};
use crate::state::{AppState, Audit};
use crate::wire::body::{Body, JsonObject};
use crate::wire::policies as wire;
use axum::extract::{Path, State};
use axum::response::Response;
use openpim_core::audit::category::ROLE_MANAGEMENT;
use openpim_core::authz::cap;
use openpim_odata::Expr;
use openpim_store::policies::StoredPolicy;
use openpim_store::{schema, Page};
use serde_json::Value;

const POLICIES: &str = "policies/roleManagementPolicies";
const ASSIGNMENTS: &str = "policies/roleManagementPolicyAssignments";

/// Does `expr` constrain `prop` anywhere?
fn mentions(expr: &Expr, prop: &str) -> bool {
    match expr {
        Expr::Compare { prop: p, .. }
        | Expr::In { prop: p, .. }
        | Expr::StartsWith { prop: p, .. }
        | Expr::EndsWith { prop: p, .. }
        | Expr::Contains { prop: p, .. }
        | Expr::Any { prop: p, .. } => p.eq_ignore_ascii_case(prop),
        Expr::And(a, b) | Expr::Or(a, b) => mentions(a, prop) || mentions(b, prop),
        Expr::Not(a) => mentions(a, prop),
    }
}

/// Graph requires these collections to be filtered by scope: `scopeId eq '/' and scopeType eq 'DirectoryRole'`.
fn require_scope_filter(q: &OData) -> ApiResult<()> {
    match &q.options.filter {
        Some(f) if mentions(f, "scopeId") && mentions(f, "scopeType") => Ok(()),
        _ => Err(ApiError::bad_request(
            "A $filter on scopeId and scopeType is required, e.g. $filter=scopeId eq '/' and scopeType eq 'DirectoryRole'.",
        )),
    }
}

fn expand_flags(q: &OData) -> ApiResult<(bool, bool)> {
    q.check_expand(wire::POLICY_TYPE, &["rules", "effectiveRules"])?;
    Ok((q.expands("rules"), q.expands("effectiveRules")))
}

pub async fn list(
    State(s): State<AppState>,
    reader: Authorized<cap::ReadRolePolicies>,
    q: OData,
) -> ApiResult<Response> {
    require_scope_filter(&q)?;
    let (rules, effective) = expand_flags(&q)?;
    let req = q.list_request(&schema::POLICY)?;
    let page = pim::policies::list(&s, &reader.granted, &req).await?;
    Ok(q.collection(POLICIES, page.map(|p| wire::policy(&p, rules, effective)), req.offset))
}

/// The policy `id`, if the caller may read it.
async fn policy(s: &AppState, caller: &Caller, id: &str) -> ApiResult<StoredPolicy> {
    let reader = PolicyReader::of(s, caller);
    found(pim::policies::get(s, &reader, id).await?, "unifiedRoleManagementPolicy", id)
}

pub async fn get(State(s): State<AppState>, caller: Caller, q: OData, Path(id): Path<String>) -> ApiResult<Response> {
    let (rules, effective) = expand_flags(&q)?;
    let p = policy(&s, &caller, &id).await?;
    Ok(q.entity(&format!("{POLICIES}/$entity"), wire::policy(&p, rules, effective)))
}

pub async fn list_rules(
    State(s): State<AppState>,
    caller: Caller,
    q: OData,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let p = policy(&s, &caller, &id).await?;
    if q.options.filter.is_some() || !q.options.orderby.is_empty() {
        return Err(ApiError::bad_request("$filter and $orderby are not supported on policy rules."));
    }
    let items: Vec<Value> = p.rules.iter().map(wire::rule).collect();
    let page = Page { items, has_more: false, count: q.options.count.then_some(p.rules.len() as u64) };
    Ok(q.collection(&format!("{POLICIES}('{}')/rules", p.id), page, 0))
}

pub async fn get_rule(
    State(s): State<AppState>,
    caller: Caller,
    q: OData,
    Path((id, rule)): Path<(String, String)>,
) -> ApiResult<Response> {
    let p = policy(&s, &caller, &id).await?;
    let r = found(p.rules.iter().find(|r| r.id.eq_ignore_ascii_case(&rule)), "unifiedRoleManagementPolicyRule", &rule)?;
    Ok(q.entity(&format!("{POLICIES}('{}')/rules/$entity", p.id), wire::rule(r)))
}

pub async fn update_rule(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, rule_id)): Path<(String, String)>,
    body: JsonObject,
) -> ApiResult<Response> {
    let (p, existing) = pim::policies::rule_to_update(&s, &id, &rule_id).await?;
    let audit = Audit::new(ROLE_MANAGEMENT, "Update role setting in PIM", "Update")
        .target("Role", p.role_definition_id, None, None)
        .detail(openpim_core::audit::detail::POLICY_ID, &p.id)
        .detail(openpim_core::audit::detail::RULE_ID, &existing.id);
    let granted = s.authorize::<cap::ManageRolePolicies>(&caller, &[], &audit).await?;
    let incoming = wire::read_rule(Body::new(body, "microsoft.graph.unifiedRoleManagementPolicyRule"), &existing)?;
    // The changed properties with their old and new values, as Entra's audit shows them.
    let audited = |c: &RuleChange| {
        crate::audit_detail::rule_change(audit, &c.updated.id, &wire::rule(&c.before), &wire::rule(&c.updated))
    };
    pim::policies::update_rule(&s, &granted, &caller, (&p.id, &existing), incoming, audited).await?;
    Ok(no_content())
}

fn render_assignment(q: &OData, p: &StoredPolicy) -> Value {
    let mut v = wire::assignment(p);
    if q.expands("policy") {
        // `policy($expand=rules)` names what to expand inside; `$expand=*` expands the policy alone.
        let item = q.options.expand.iter().find(|e| e.name.eq_ignore_ascii_case("policy"));
        let nested =
            |name: &str| item.is_some_and(|i| i.options.expand.iter().any(|e| e.name.eq_ignore_ascii_case(name)));
        v["policy"] = wire::policy(p, nested("rules"), nested("effectiveRules"));
    }
    v
}

fn check_assignment_expand(q: &OData) -> ApiResult<()> {
    q.check_expand(wire::ASSIGNMENT_TYPE, &["policy"])?;
    for item in &q.options.expand {
        for inner in &item.options.expand {
            if !["rules", "effectiveRules"].iter().any(|n| n.eq_ignore_ascii_case(&inner.name)) {
                return Err(ApiError::bad_request(format!(
                    "Could not find a navigation property named '{}' on type '{}'.",
                    inner.name,
                    wire::POLICY_TYPE
                )));
            }
        }
    }
    Ok(())
}

pub async fn list_assignments(State(s): State<AppState>, caller: Caller, q: OData) -> ApiResult<Response> {
    require_scope_filter(&q)?;
    check_assignment_expand(&q)?;
    let req = q.list_request(&schema::POLICY_ASSIGNMENT)?;
    let page = pim::policies::list_assignments(&s, &PolicyReader::of(&s, &caller), &req).await?;
    Ok(q.collection(ASSIGNMENTS, page.map(|p| render_assignment(&q, &p)), req.offset))
}

pub async fn get_assignment(
    State(s): State<AppState>,
    caller: Caller,
    q: OData,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    check_assignment_expand(&q)?;
    let (policy_id, role) =
        id.rsplit_once('_').ok_or_else(|| ApiError::not_found("unifiedRoleManagementPolicyAssignment", &id))?;
    let p = pim::policies::get(&s, &PolicyReader::of(&s, &caller), policy_id)
        .await?
        .filter(|p| p.role_definition_id.to_string().eq_ignore_ascii_case(role))
        .ok_or_else(|| ApiError::not_found("unifiedRoleManagementPolicyAssignment", &id))?;
    Ok(q.entity(&format!("{ASSIGNMENTS}/$entity"), render_assignment(&q, &p)))
}
