//! `privilegedAccess/{provider}[/resources/{id}]/roleDefinitions`: the directory roles as
//! governanceRoleDefinitions of the tenant resource (ids are the v1.0 role definition ids).

use super::{page_in_memory, resources, role_settings, Location, ALL};
use crate::auth::Authorized;
use crate::error::{ApiError, ApiResult};
use crate::odata::OData;
use crate::state::AppState;
use crate::wire::governance as wire;
use axum::extract::State;
use axum::response::Response;
use openpim_core::authz::cap;
use openpim_core::roles::RoleDefinition;
use openpim_core::ObjectId;
use openpim_odata::{EntitySchema, PropType, Property};
use serde_json::Value;

pub const CONTEXT: &str = "governanceRoleDefinitions";
const NAVIGATION: &[&str] = &["resource", "roleSetting"];

const fn p(name: &'static str, ty: PropType) -> Property {
    Property::new(name, name, ty)
}

pub static SCHEMA: EntitySchema = EntitySchema {
    type_name: wire::ROLE_DEFINITION_TYPE,
    key_column: "id",
    properties: &[
        p("id", PropType::Guid),
        p("resourceId", PropType::Guid),
        p("externalId", PropType::String).case_insensitive(),
        p("templateId", PropType::String).case_insensitive(),
        p("displayName", PropType::String).case_insensitive(),
    ],
};

/// `RoleNotFound` (400), as the beta docs answer an unknown role.
pub fn role_not_found(id: &str) -> ApiError {
    ApiError::bad_request_code("RoleNotFound", format!("The role definition '{id}' was not found."))
}

/// A directory role by its governance id (= its v1.0 id).
pub async fn find(s: &AppState, raw: &str) -> ApiResult<RoleDefinition> {
    let id = ObjectId::parse_str(raw).map_err(|_| role_not_found(raw))?;
    s.store.get_directory_role_definition(id).await?.ok_or_else(|| role_not_found(raw))
}

/// A role rendered with the navigation properties `q` expands (`roleSetting` only for callers
/// who may read it).
pub async fn render(
    s: &AppState,
    q: &OData,
    loc: &Location,
    caller: &crate::auth::Caller,
    r: &RoleDefinition,
) -> ApiResult<Value> {
    let mut v = wire::json(&wire::role_definition(loc.resource, r));
    if q.expands("resource") {
        v["resource"] = wire::json(&wire::tenant_resource(loc.resource));
    }
    if q.expands("roleSetting") {
        v["roleSetting"] = role_settings::of_role(s, loc, caller, r.id).await?.unwrap_or(Value::Null);
    }
    Ok(v)
}

pub async fn list(
    State(s): State<AppState>,
    auth: Authorized<cap::ReadRoleDefinitions>,
    q: OData,
    loc: Location,
) -> ApiResult<Response> {
    q.check_expand(wire::ROLE_DEFINITION_TYPE, NAVIGATION)?;
    let roles = s.store.list_role_definitions(&ALL).await?.items;
    let mut items = Vec::with_capacity(roles.len());
    for r in &roles {
        items.push(render(&s, &q, &loc, &auth.caller, r).await?);
    }
    let (page, offset) = page_in_memory(&q, items, &SCHEMA)?;
    Ok(q.collection(CONTEXT, page, offset))
}

pub async fn get(
    State(s): State<AppState>,
    auth: Authorized<cap::ReadRoleDefinitions>,
    q: OData,
    loc: Location,
) -> ApiResult<Response> {
    q.check_expand(wire::ROLE_DEFINITION_TYPE, NAVIGATION)?;
    let r = find(&s, loc.id()).await?;
    let v = render(&s, &q, &loc, &auth.caller, &r).await?;
    Ok(q.entity(&format!("{CONTEXT}/$entity"), v))
}

/// `roleDefinitions/{id}/resource`.
pub async fn resource(
    State(s): State<AppState>,
    _auth: Authorized<cap::ReadRoleDefinitions>,
    q: OData,
    loc: Location,
) -> ApiResult<Response> {
    find(&s, loc.id()).await?;
    Ok(q.entity(&format!("{}/$entity", resources::CONTEXT), wire::json(&wire::tenant_resource(loc.resource))))
}
