//! `/roleManagement/directory/roleAssignments`: direct (non-PIM) active assignments.

use super::object_id;
use super::ops::{found, no_content};
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::odata::OData;
use crate::pim::assignments::{self, NewAssignment};
use crate::pim::{self, Visibility};
use crate::state::AppState;
use crate::wire::body::{Body, JsonObject};
use crate::wire::directory::{directory_object, scope_object};
use crate::wire::roles::{self as wire, ROLE_ASSIGNMENT_TYPE};
use axum::extract::{Path, State};
use axum::response::Response;
use openpim_core::authz::cap;
use openpim_core::schedule::Schedule;
use openpim_core::scope::DirectoryScope;
use openpim_store::schema;
use serde_json::Value;

const CONTEXT: &str = "roleManagement/directory/roleAssignments";
/// unifiedRoleAssignment's navigation properties, as Graph's docs list them.
const EXPANDABLE: [&str; 4] = ["appScope", "directoryScope", "principal", "roleDefinition"];

/// Renders an assignment with the navigation properties `$expand` asked for.
async fn render(s: &AppState, q: &OData, a: &Schedule) -> ApiResult<Value> {
    let mut v = wire::role_assignment(a);
    if q.expands("principal") {
        let p = s.store.find_object(a.principal_id).await?;
        v["principal"] = p.as_ref().map(directory_object).unwrap_or(Value::Null);
    }
    if q.expands("roleDefinition") {
        let r = s.store.get_directory_role_definition(a.role_definition_id).await?;
        v["roleDefinition"] = r.as_ref().map(wire::role_definition).unwrap_or(Value::Null);
    }
    if q.expands("directoryScope") {
        v["directoryScope"] = directory_scope_object(s, &a.scope.require_directory()?).await?;
    }
    if q.expands("appScope") {
        // OpenPIM has directory scopes only: no app scope is ever set.
        v["appScope"] = Value::Null;
    }
    Ok(v)
}

/// The `directoryScope` navigation property: the unit or object a scope names (`null` for the
/// tenant, as Graph answers for `/`).
pub(super) async fn directory_scope_object(s: &AppState, scope: &DirectoryScope) -> ApiResult<Value> {
    Ok(match *scope {
        DirectoryScope::AdministrativeUnit(id) => s
            .store
            .get_administrative_unit(id)
            .await?
            .as_ref()
            .map(crate::wire::directory::administrative_unit)
            .unwrap_or(Value::Null),
        DirectoryScope::Object(id) => {
            s.store.find_scope_object(id).await?.as_ref().map(scope_object).unwrap_or(Value::Null)
        }
        DirectoryScope::Tenant => Value::Null,
    })
}

pub async fn list(State(s): State<AppState>, caller: Caller, q: OData) -> ApiResult<Response> {
    q.check_expand(ROLE_ASSIGNMENT_TYPE, &EXPANDABLE)?;
    let req = q.list_request(&schema::ROLE_ASSIGNMENT)?;
    let visibility = Visibility::for_list(&s, &caller, req.filter, "role assignments")?;
    let page = pim::reads::role_assignments(&s, &visibility, &req).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for a in &page.items {
        items.push(render(&s, &q, a).await?);
    }
    let page = openpim_store::Page { items, has_more: page.has_more, count: page.count };
    Ok(q.collection(CONTEXT, page, req.offset))
}

pub async fn get(State(s): State<AppState>, caller: Caller, q: OData, Path(id): Path<String>) -> ApiResult<Response> {
    q.check_expand(ROLE_ASSIGNMENT_TYPE, &EXPANDABLE)?;
    q.list_request(&schema::ROLE_ASSIGNMENT)?;
    let visibility = Visibility::for_item(&s, &caller);
    let a = found(pim::reads::role_assignment(&s, &visibility, object_id(&id)?).await?, "unifiedRoleAssignment", &id)?;
    Ok(q.entity(&format!("{CONTEXT}/$entity"), render(&s, &q, &a).await?))
}

pub async fn create(State(s): State<AppState>, caller: Caller, q: OData, body: JsonObject) -> ApiResult<Response> {
    let body = wire::read_new_assignment(Body::new(body, ROLE_ASSIGNMENT_TYPE))?;
    let input = NewAssignment {
        principal_id: body.principal_id,
        role_definition_id: body.role_definition_id,
        scope: DirectoryScope::parse(&body.directory_scope_id)?,
    };
    let attempt = assignments::creation_attempt(&input);
    let granted = s.authorize::<cap::ManageRoleAssignments>(&caller, &[input.scope], &attempt).await?;
    let assignment = assignments::create(&s, &granted, &caller, input).await?;
    Ok(q.created(&format!("{CONTEXT}/$entity"), wire::role_assignment(&assignment)))
}

pub async fn remove(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    let a = found(assignments::to_remove(&s, object_id(&id)?).await?, "unifiedRoleAssignment", &id)?;
    let audit = assignments::removal_audit(&s, &a).await?;
    let granted = s.authorize::<cap::ManageRoleAssignments>(&caller, &[a.scope.require_directory()?], &audit).await?;
    assignments::remove(&s, &granted, &caller, &a, audit).await?;
    Ok(no_content())
}

/// `GET /roleManagement/directory/roleAssignments/$count`
pub async fn count(State(s): State<AppState>, caller: Caller, q: OData) -> ApiResult<Response> {
    let req = q.count_request(q.list_request(&schema::ROLE_ASSIGNMENT)?);
    let visibility = Visibility::for_list(&s, &caller, req.filter, "role assignments")?;
    let page = pim::reads::role_assignments(&s, &visibility, &req).await?;
    Ok(OData::count_response(page.count))
}
