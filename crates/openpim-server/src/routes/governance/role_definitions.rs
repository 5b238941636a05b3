//! `privilegedAccess/{provider}[/resources/{id}]/roleDefinitions`: the directory roles as
//! governanceRoleDefinitions of the tenant resource (ids are the v1.0 role definition ids).

use super::{page_in_memory, resources, role_settings, Location, Provider, ALL};
use crate::auth::Authorized;
use crate::error::{ApiError, ApiResult};
use crate::odata::OData;
use crate::state::AppState;
use crate::wire::governance as wire;
use axum::extract::State;
use axum::response::Response;
use openpim_core::authz::cap;
use openpim_core::roles::azure::RoleDefinitionQuery;
use openpim_core::roles::{PermissionDialect, RoleDefinition};
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

/// Is `r` one of the location's roles? aadRoles: the directory roles; azureResources: the Azure
/// roles assignable at the resource (ARM's list at the scope), all of them at the provider level.
fn listed(s: &AppState, loc: &Location, r: &RoleDefinition) -> bool {
    match (loc.provider, &loc.azure) {
        (Provider::AadRoles, _) => r.dialect == PermissionDialect::Directory,
        (Provider::AzureResources, None) => r.dialect == PermissionDialect::Azure,
        (Provider::AzureResources, Some(res)) => {
            RoleDefinitionQuery::default().lists(r, Some(&res.scope), s.index().management_groups())
        }
    }
}

/// A role of the location by its governance id (= its v1.0 id, or the Azure role GUID).
pub async fn find(s: &AppState, loc: &Location, raw: &str) -> ApiResult<RoleDefinition> {
    let id = ObjectId::parse_str(raw).map_err(|_| role_not_found(raw))?;
    let role = match loc.provider {
        Provider::AadRoles => s.store.get_directory_role_definition(id).await?,
        Provider::AzureResources => s.store.azure_role_definition(id).await?,
    };
    role.filter(|r| listed(s, loc, r)).ok_or_else(|| role_not_found(raw))
}

/// The location's roles.
async fn all(s: &AppState, loc: &Location) -> ApiResult<Vec<RoleDefinition>> {
    let roles = match loc.provider {
        Provider::AadRoles => s.store.list_role_definitions(&ALL).await?.items,
        Provider::AzureResources => s.store.azure_role_definitions().await?,
    };
    Ok(roles.into_iter().filter(|r| listed(s, loc, r)).collect())
}

/// The location's resource, rendered (`null` at the azureResources provider level, which names
/// no resource).
fn resource_json(loc: &Location) -> Value {
    match (loc.provider, &loc.azure) {
        (Provider::AadRoles, _) => wire::json(&wire::tenant_resource(loc.resource)),
        (Provider::AzureResources, Some(r)) => wire::json(&r.render()),
        (Provider::AzureResources, None) => Value::Null,
    }
}

/// The role of a row (schedule or request) at `scope`, rendered as a role of its resource
/// `resource_id`: an Azure role at an ARM scope, a directory role at the tenant.
pub async fn of_row(
    s: &AppState,
    resource_id: ObjectId,
    scope: &openpim_core::scope::Scope,
    role: ObjectId,
) -> ApiResult<Option<Value>> {
    Ok(match scope.as_arm() {
        Some(at) => s
            .store
            .azure_role_definition(role)
            .await?
            .map(|r| wire::json(&wire::azure_role_definition(resource_id, at, &r))),
        None => s
            .store
            .get_directory_role_definition(role)
            .await?
            .map(|r| wire::json(&wire::role_definition(resource_id, &r))),
    })
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
    let mut v = match loc.provider {
        Provider::AadRoles => wire::json(&wire::role_definition(loc.resource, r)),
        Provider::AzureResources => wire::json(&wire::azure_role_definition(loc.resource, &loc.azure_scope(), r)),
    };
    if q.expands("resource") {
        v["resource"] = resource_json(loc);
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
    loc.visible_azure(&s, auth.caller.id()).await?;
    let roles = all(&s, &loc).await?;
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
    loc.visible_azure(&s, auth.caller.id()).await?;
    let r = find(&s, &loc, loc.id()).await?;
    let v = render(&s, &q, &loc, &auth.caller, &r).await?;
    Ok(q.entity(&format!("{CONTEXT}/$entity"), v))
}

/// `roleDefinitions/{id}/resource`.
pub async fn resource(
    State(s): State<AppState>,
    auth: Authorized<cap::ReadRoleDefinitions>,
    q: OData,
    loc: Location,
) -> ApiResult<Response> {
    loc.visible_azure(&s, auth.caller.id()).await?;
    find(&s, &loc, loc.id()).await?;
    Ok(q.entity(&format!("{}/$entity", resources::CONTEXT), resource_json(&loc)))
}
