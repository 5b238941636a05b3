//! `privilegedAccess/{provider}[/resources/{id}]/roleSettings`: each role's policy as a
//! governanceRoleSetting (its id is the v1.0 policy id). A PATCH becomes rule updates through
//! the one policy write path (`pim::policies::update_rules`: validation, audit, all or none).

use super::{beta_error, page_in_memory, role_definitions, Location};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::odata::OData;
use crate::pim::policies::PolicyReader;
use crate::pim::{self};
use crate::routes::ops::no_content;
use crate::state::{AppState, Audit};
use crate::wire::body::{Body, JsonObject};
use crate::wire::governance as wire;
use crate::wire::policies::rule as v1_rule;
use axum::extract::State;
use axum::response::Response;
use openpim_core::audit::category::ROLE_MANAGEMENT;
use openpim_core::audit::detail;
use openpim_core::authz::cap;
use openpim_core::governance::settings::{self, ApproverNames};
use openpim_core::ObjectId;
use openpim_odata::{EntitySchema, PropType, Property};
use openpim_store::directory::DirectoryObject;
use openpim_store::policies::StoredPolicy;
use serde_json::Value;
use std::collections::HashMap;

pub const CONTEXT: &str = "governanceRoleSettings";
const NAVIGATION: &[&str] = &["resource", "roleDefinition"];

const fn p(name: &'static str, ty: PropType) -> Property {
    Property::new(name, name, ty)
}

pub static SCHEMA: EntitySchema = EntitySchema {
    type_name: wire::ROLE_SETTING_TYPE,
    key_column: "id",
    properties: &[
        p("id", PropType::String).case_insensitive(),
        p("resourceId", PropType::Guid),
        p("roleDefinitionId", PropType::Guid),
        p("isDefault", PropType::Bool),
        p("lastUpdatedDateTime", PropType::DateTime),
        p("lastUpdatedBy", PropType::String).case_insensitive(),
    ],
};

fn setting_not_found(id: &str) -> ApiError {
    ApiError::bad_request_code("RoleSettingNotFound", format!("The role setting '{id}' was not found."))
}

/// The approvers' names and mail, read before rendering (ApprovalRule lists them).
struct Names(HashMap<ObjectId, (String, String)>);

impl ApproverNames for Names {
    fn describe(&self, id: ObjectId) -> Option<(String, String)> {
        self.0.get(&id).cloned()
    }
}

async fn names(s: &AppState, p: &StoredPolicy) -> ApiResult<Names> {
    let mut found = HashMap::new();
    for id in openpim_core::approval::listed_approvers(&p.rules) {
        let described = match s.store.find_object(id).await? {
            Some(DirectoryObject::User(u)) => Some((u.display_name, u.mail.unwrap_or(u.user_principal_name))),
            Some(DirectoryObject::Group(g)) => Some((g.display_name, String::new())),
            _ => None,
        };
        if let Some(d) = described {
            found.insert(id, d);
        }
    }
    Ok(Names(found))
}

async fn render(s: &AppState, q: &OData, loc: &Location, p: &StoredPolicy) -> ApiResult<Value> {
    let mut v = wire::json(&wire::role_setting(loc.resource, p, &names(s, p).await?));
    if q.expands("resource") {
        v["resource"] = wire::json(&wire::tenant_resource(loc.resource));
    }
    if q.expands("roleDefinition") {
        let role = s.store.get_directory_role_definition(p.role_definition_id).await?;
        v["roleDefinition"] = match role {
            Some(r) => {
                let mut d = wire::json(&wire::role_definition(loc.resource, &r));
                // `roleDefinition($expand=resource)`.
                if nested_expands(q, "roleDefinition", "resource") {
                    d["resource"] = wire::json(&wire::tenant_resource(loc.resource));
                }
                d
            }
            None => Value::Null,
        };
    }
    Ok(v)
}

/// Does `$expand=outer($expand=inner)` ask for `inner`?
pub fn nested_expands(q: &OData, outer: &str, inner: &str) -> bool {
    q.options
        .expand
        .iter()
        .filter(|e| e.name.eq_ignore_ascii_case(outer))
        .any(|e| e.options.expand.iter().any(|i| i.name.eq_ignore_ascii_case(inner)))
}

/// The rendered setting of `role`, if the caller may read it (a role's `roleSetting`).
pub async fn of_role(s: &AppState, loc: &Location, caller: &Caller, role: ObjectId) -> ApiResult<Option<Value>> {
    let readable = pim::policies::readable(s, &PolicyReader::of(s, caller)).await?;
    Ok(match readable.iter().find(|p| p.role_definition_id == role) {
        Some(p) => Some(wire::json(&wire::role_setting(loc.resource, p, &names(s, p).await?))),
        None => None,
    })
}

pub async fn list(State(s): State<AppState>, caller: Caller, q: OData, loc: Location) -> ApiResult<Response> {
    loc.aad_roles_only()?;
    q.check_expand(wire::ROLE_SETTING_TYPE, NAVIGATION)?;
    let policies = pim::policies::readable(&s, &PolicyReader::of(&s, &caller)).await?;
    let mut items = Vec::with_capacity(policies.len());
    for p in &policies {
        items.push(render(&s, &q, &loc, p).await?);
    }
    let (page, offset) = page_in_memory(&q, items, &SCHEMA)?;
    Ok(q.collection(CONTEXT, page, offset))
}

async fn find(s: &AppState, caller: &Caller, id: &str) -> ApiResult<StoredPolicy> {
    let p = pim::policies::get(s, &PolicyReader::of(s, caller), id).await?;
    p.filter(|p| p.scope_id == "/").ok_or_else(|| setting_not_found(id))
}

pub async fn get(State(s): State<AppState>, caller: Caller, q: OData, loc: Location) -> ApiResult<Response> {
    loc.aad_roles_only()?;
    q.check_expand(wire::ROLE_SETTING_TYPE, NAVIGATION)?;
    let p = find(&s, &caller, loc.id()).await?;
    let v = render(&s, &q, &loc, &p).await?;
    Ok(q.entity(&format!("{CONTEXT}/$entity"), v))
}

/// `roleSettings/{id}/roleDefinition`.
pub async fn role_definition(
    State(s): State<AppState>,
    caller: Caller,
    q: OData,
    loc: Location,
) -> ApiResult<Response> {
    loc.aad_roles_only()?;
    q.check_expand(wire::ROLE_DEFINITION_TYPE, &["resource", "roleSetting"])?;
    let p = find(&s, &caller, loc.id()).await?;
    let r = role_definitions::find(&s, &loc, &p.role_definition_id.to_string()).await?;
    let v = role_definitions::render(&s, &q, &loc, &caller, &r).await?;
    Ok(q.entity(&format!("{}/$entity", role_definitions::CONTEXT), v))
}

/// PATCH: the lists sent replace the rules they map to; 204.
pub async fn update(State(s): State<AppState>, caller: Caller, loc: Location, body: JsonObject) -> ApiResult<Response> {
    loc.aad_roles_only()?;
    let id = loc.id();
    let p = s.store.get_policy(id).await?.filter(|p| p.scope_id == "/").ok_or_else(|| setting_not_found(id))?;
    let audit = Audit::new(ROLE_MANAGEMENT, "Update role setting in PIM", "Update")
        .target("Role", p.role_definition_id, None, None)
        .detail(detail::POLICY_ID, &p.id);
    let granted = s.authorize::<cap::ManageRolePolicies>(&caller, &[], &audit).await?;
    let patch = wire::read_setting_patch(Body::new(body, wire::ROLE_SETTING_TYPE))?;
    let incoming = settings::to_rules(&p.rules, &patch)?;
    if incoming.is_empty() {
        return Ok(no_content());
    }
    let audited = |changes: &[pim::policies::RuleChange]| {
        changes.iter().fold(audit, |a, c| {
            crate::audit_detail::rule_change(a, &c.updated.id, &v1_rule(&c.before), &v1_rule(&c.updated))
        })
    };
    pim::policies::update_rules(&s, &granted, &caller, &p.id, incoming, audited).await.map_err(beta_error)?;
    Ok(no_content())
}
