//! `/roleManagement/directory/roleDefinitions`: the built-in catalog and custom roles.

use super::object_id;
use super::ops::{found, no_content};
use crate::auth::{Authorized, Caller};
use crate::error::{ApiError, ApiResult};
use crate::odata::OData;
use crate::state::{AppState, Audit};
use crate::wire::body::{Body, JsonObject};
use crate::wire::roles::{self as wire, ROLE_DEFINITION_TYPE};
use axum::extract::{Path, State};
use axum::response::Response;
use openpim_core::audit::category::ROLE_MANAGEMENT;
use openpim_core::authz::cap;
use openpim_core::catalog;
use openpim_core::roles::{built_in_read_only, RoleDefinition};
use openpim_core::ObjectId;
use openpim_store::{schema, Page, StoreError};
use serde_json::Value;
use std::collections::HashMap;

const CONTEXT: &str = "roleManagement/directory/roleDefinitions";

async fn lookup(s: &AppState, raw: &str) -> ApiResult<RoleDefinition> {
    found(s.store.get_directory_role_definition(object_id(raw)?).await?, "unifiedRoleDefinition", raw)
}

fn target(audit: Audit, r: &RoleDefinition) -> Audit {
    audit.target("Role", r.id, Some(&r.display_name), None)
}

/// Renders roles, expanding `inheritsPermissionsFrom` to the built-in roles each one inherits
/// from (the catalog's documented facts; custom roles inherit nothing, so they get `[]`).
async fn render_all(s: &AppState, q: &OData, roles: Vec<RoleDefinition>) -> ApiResult<Vec<Value>> {
    let mut parents: HashMap<ObjectId, Value> = HashMap::new();
    let mut out = Vec::with_capacity(roles.len());
    for r in roles {
        let mut v = wire::role_definition(&r);
        if q.expands("inheritsPermissionsFrom") {
            let mut expanded = Vec::new();
            for parent in catalog::inherits_permissions_from(r.template_id) {
                if !parents.contains_key(parent) {
                    // A built-in parent is always in the store (bootstrap writes the whole catalog).
                    let Some(p) = s.store.get_directory_role_definition(*parent).await? else { continue };
                    parents.insert(*parent, wire::role_definition(&p));
                }
                expanded.push(parents[parent].clone());
            }
            v["inheritsPermissionsFrom"] = Value::Array(expanded);
        }
        out.push(v);
    }
    Ok(out)
}

fn duplicate_name(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(_) => {
            ApiError::bad_request("A role definition with the same displayName or id already exists.")
        }
        other => other.into(),
    }
}

pub async fn list(
    State(s): State<AppState>,
    _reader: Authorized<cap::ReadRoleDefinitions>,
    q: OData,
) -> ApiResult<Response> {
    q.check_expand(ROLE_DEFINITION_TYPE, &["inheritsPermissionsFrom"])?;
    let req = q.list_request(&schema::ROLE_DEFINITION)?;
    let page = s.store.list_role_definitions(&req).await?;
    let items = render_all(&s, &q, page.items).await?;
    Ok(q.collection(CONTEXT, Page { items, has_more: page.has_more, count: page.count }, req.offset))
}

pub async fn get(
    State(s): State<AppState>,
    _reader: Authorized<cap::ReadRoleDefinitions>,
    q: OData,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    q.check_expand(ROLE_DEFINITION_TYPE, &["inheritsPermissionsFrom"])?;
    q.list_request(&schema::ROLE_DEFINITION)?;
    let role = lookup(&s, &id).await?;
    let rendered = render_all(&s, &q, vec![role]).await?.pop().unwrap_or_default();
    Ok(q.entity(&format!("{CONTEXT}/$entity"), rendered))
}

pub async fn create(State(s): State<AppState>, caller: Caller, q: OData, body: JsonObject) -> ApiResult<Response> {
    let input = wire::read_custom_role(Body::new(body, ROLE_DEFINITION_TYPE))?;
    let audit = Audit::new(ROLE_MANAGEMENT, "Add role definition", "Add");
    s.authorize::<cap::ManageRoleDefinitions>(&caller, &[], &audit).await?;
    let now = s.now();
    let role = input.build(uuid::Uuid::new_v4(), now)?;
    let audit = target(audit, &role);
    let mut tx = s.store.begin_write().await?;
    tx.insert_role_definition(&role).await.map_err(duplicate_name)?;
    // Every role gets its policy at '/' with Entra's default rules.
    tx.insert_policy(s.tenant_id, role.id, &openpim_core::policy::rules::default_rules()).await?;
    s.commit(tx, &audit.success(&caller, now)).await?;
    Ok(q.created(&format!("{CONTEXT}/$entity"), wire::role_definition(&role)))
}

pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonObject,
) -> ApiResult<Response> {
    let input = wire::read_custom_role(Body::new(body, ROLE_DEFINITION_TYPE))?;
    let role = lookup(&s, &id).await?;
    let audit = target(Audit::new(ROLE_MANAGEMENT, "Update role definition", "Update"), &role);
    s.authorize::<cap::ManageRoleDefinitions>(&caller, &[], &audit).await?;
    let now = s.now();
    let next = input.apply(&role, now)?;
    let mut tx = s.store.begin_write().await?;
    tx.update_role_definition(&next).await.map_err(duplicate_name)?;
    s.commit(tx, &audit.success(&caller, now)).await?;
    Ok(no_content())
}

pub async fn remove(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    let role = lookup(&s, &id).await?;
    let audit = target(Audit::new(ROLE_MANAGEMENT, "Delete role definition", "Delete"), &role);
    s.authorize::<cap::ManageRoleDefinitions>(&caller, &[], &audit).await?;
    if role.is_built_in {
        return Err(built_in_read_only(&role).into());
    }
    if s.store.count_assignments_of_role(role.id).await? > 0 {
        return Err(ApiError::bad_request(
            "The role definition still has assignments. Remove them before deleting the role.",
        ));
    }
    let mut tx = s.store.begin_write().await?;
    tx.delete_policy_of(role.id).await?;
    tx.delete_role_definition(role.id).await?;
    s.commit(tx, &audit.success(&caller, s.now())).await?;
    Ok(no_content())
}

/// `GET /roleManagement/directory/roleDefinitions/$count`
pub async fn count(
    State(s): State<AppState>,
    _reader: Authorized<cap::ReadRoleDefinitions>,
    q: OData,
) -> ApiResult<Response> {
    let page = s.store.list_role_definitions(&q.count_request(q.list_request(&schema::ROLE_DEFINITION)?)).await?;
    Ok(OData::count_response(page.count))
}
