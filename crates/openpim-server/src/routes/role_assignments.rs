//! `/roleManagement/directory/roleAssignments`: direct (non-PIM) active assignments.

use super::object_id;
use super::ops::{found, no_content};
use crate::auth::Caller;
use crate::bootstrap::direct_assignment;
use crate::error::{ApiError, ApiResult};
use crate::odata::OData;
use crate::state::{AppState, Audit};
use crate::wire::body::{Body, JsonObject};
use crate::wire::directory::{directory_object, scope_object};
use crate::wire::roles::{self as wire, ROLE_ASSIGNMENT_TYPE};
use axum::extract::{Path, State};
use axum::response::Response;
use openpim_core::assignment::{check_new_assignment, PrincipalRef};
use openpim_core::audit::category::ROLE_MANAGEMENT;
use openpim_core::authz::cap;
use openpim_core::directory::ObjectKind;
use openpim_core::schedule::{Kind, Schedule};
use openpim_core::scope::DirectoryScope;
use openpim_store::directory::DirectoryObject;
use openpim_store::{schema, StoreError};
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
        let r = s.store.get_role_definition(a.role_definition_id).await?;
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

/// Graph's audit `targetResources.type` for a principal.
pub(super) fn principal_type(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::User => "User",
        ObjectKind::Group => "Group",
        ObjectKind::ServicePrincipal => "ServicePrincipal",
    }
}

fn target(audit: Audit, a: &Schedule, role_name: &str) -> Audit {
    audit
        .target("Role", a.role_definition_id, Some(role_name), None)
        .target(principal_type(a.principal_kind), a.principal_id, None, None)
        .detail("directoryScopeId", &a.scope)
        .detail("roleAssignmentId", a.id)
}

pub async fn list(State(s): State<AppState>, _caller: Caller, q: OData) -> ApiResult<Response> {
    q.check_expand(ROLE_ASSIGNMENT_TYPE, &EXPANDABLE)?;
    let req = q.list_request(&schema::ROLE_ASSIGNMENT)?;
    let page = s.store.list_role_assignments(s.now(), &req).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for a in &page.items {
        items.push(render(&s, &q, a).await?);
    }
    let page = openpim_store::Page { items, has_more: page.has_more, count: page.count };
    Ok(q.collection(CONTEXT, page, req.offset))
}

pub async fn get(State(s): State<AppState>, _caller: Caller, q: OData, Path(id): Path<String>) -> ApiResult<Response> {
    q.check_expand(ROLE_ASSIGNMENT_TYPE, &EXPANDABLE)?;
    q.list_request(&schema::ROLE_ASSIGNMENT)?;
    let a = found(s.store.get_role_assignment(object_id(&id)?, s.now()).await?, "unifiedRoleAssignment", &id)?;
    Ok(q.entity(&format!("{CONTEXT}/$entity"), render(&s, &q, &a).await?))
}

/// Checks that a narrow scope names something that exists, and that `role` may be granted there
/// (only some roles can be scoped to an administrative unit: `authz::check_assignable_at`).
pub(super) async fn check_scope_exists(
    s: &AppState,
    role: openpim_core::ObjectId,
    scope: &DirectoryScope,
) -> ApiResult<()> {
    if let Some(role) = s.store.get_role_definition(role).await? {
        openpim_core::authz::check_assignable_at(&role, &(*scope).into())?;
    }
    let exists = match scope {
        DirectoryScope::Tenant => true,
        DirectoryScope::AdministrativeUnit(id) => s.store.get_administrative_unit(*id).await?.is_some(),
        // An object scope names a principal or an application (Entra's app-scoped assignments).
        DirectoryScope::Object(id) => s.store.find_scope_object(*id).await?.is_some(),
    };
    if exists {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!("The directory scope '{scope}' does not exist.")))
    }
}

pub async fn create(State(s): State<AppState>, caller: Caller, q: OData, body: JsonObject) -> ApiResult<Response> {
    let input = wire::read_new_assignment(Body::new(body, ROLE_ASSIGNMENT_TYPE))?;
    let scope = DirectoryScope::parse(&input.directory_scope_id)?;
    let attempt = Audit::new(ROLE_MANAGEMENT, "Add member to role", "Assign")
        .target("Role", input.role_definition_id, None, None)
        .detail("principalId", input.principal_id)
        .detail("directoryScopeId", scope);
    s.authorize::<cap::ManageRoleAssignments>(&caller, &[scope], &attempt).await?;
    check_scope_exists(&s, input.role_definition_id, &scope).await?;
    let principal = s.store.find_object(input.principal_id).await?;
    let role = s.store.get_role_definition(input.role_definition_id).await?;
    let principal_ref = principal.as_ref().map(|p| match p {
        DirectoryObject::User(u) => PrincipalRef::User(u),
        DirectoryObject::Group(g) => PrincipalRef::Group(g),
        DirectoryObject::ServicePrincipal(sp) => PrincipalRef::ServicePrincipal(sp),
    });
    let now = s.now();
    let principal_kind = principal.as_ref().map(DirectoryObject::kind).unwrap_or(ObjectKind::User);
    let assignment =
        direct_assignment(input.principal_id, principal_kind, input.role_definition_id, scope, Some(caller.id()), now);
    let mut tx = s.store.begin_write().await?;
    // The principal and the scope are read again inside the write (row-locked on PostgreSQL): a
    // principal or scope deleted since the reads above is granted nothing.
    let principal_ref = match tx.principal_facts(input.principal_id).await? {
        Some(_) => principal_ref,
        None => None,
    };
    if !tx.scope_exists(&scope).await? {
        tx.rollback().await?;
        return Err(ApiError::bad_request(format!("The directory scope '{scope}' does not exist.")));
    }
    let (live, _) =
        tx.live_schedule_at(Kind::Assignment, input.principal_id, input.role_definition_id, &scope.into(), now).await?;
    let duplicate = live.is_some();
    if let Err(e) =
        check_new_assignment(input.principal_id, principal_ref, input.role_definition_id, role.as_ref(), duplicate)
    {
        tx.rollback().await?;
        return Err(e.into());
    }
    let role_name = role.map(|r| r.display_name).unwrap_or_default();
    match tx.insert_schedule(&assignment).await {
        Err(StoreError::Conflict(_)) => {
            tx.rollback().await?;
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "RoleAssignmentExists",
                "The role assignment already exists: this principal already holds this role at this scope.",
            ));
        }
        other => other?,
    }
    s.commit(
        tx,
        &target(Audit::new(ROLE_MANAGEMENT, "Add member to role", "Assign"), &assignment, &role_name)
            .success(&caller, now),
    )
    .await?;
    Ok(q.created(&format!("{CONTEXT}/$entity"), wire::role_assignment(&assignment)))
}

pub async fn remove(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    let a = found(s.store.get_role_assignment(object_id(&id)?, s.now()).await?, "unifiedRoleAssignment", &id)?;
    let role_name =
        s.store.get_role_definition(a.role_definition_id).await?.map(|r| r.display_name).unwrap_or_default();
    let audit = target(Audit::new(ROLE_MANAGEMENT, "Remove member from role", "Unassign"), &a, &role_name);
    s.authorize::<cap::ManageRoleAssignments>(&caller, &[a.scope.require_directory()?], &audit).await?;
    // Removing the last Global Administrator is refused by the store's invariants at commit.
    let mut tx = s.store.begin_write().await?;
    tx.remove_schedule(&a).await?;
    s.commit(tx, &audit.success(&caller, s.now())).await?;
    Ok(no_content())
}

/// `GET /roleManagement/directory/roleAssignments/$count`
pub async fn count(State(s): State<AppState>, _caller: Caller, q: OData) -> ApiResult<Response> {
    let req = q.count_request(q.list_request(&schema::ROLE_ASSIGNMENT)?);
    let page = s.store.list_role_assignments(s.now(), &req).await?;
    Ok(OData::count_response(page.count))
}
