//! Direct role assignments (`roleAssignments`): granting a role permanently to a principal at a
//! scope, and removing such an assignment. Both need `ManageRoleAssignments` at the scope, proven
//! by the [`Granted`] the caller passes.

use crate::auth::Caller;
use crate::bootstrap::direct_assignment;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Audit};
use openpim_core::assignment::{check_new_assignment, PrincipalRef};
use openpim_core::audit::category::ROLE_MANAGEMENT;
use openpim_core::authz::{cap, check_assignable_at, Granted};
use openpim_core::directory::ObjectKind;
use openpim_core::schedule::{Kind, Schedule};
use openpim_core::scope::DirectoryScope;
use openpim_core::scope::NoManagementGroups;
use openpim_core::ObjectId;
use openpim_store::directory::DirectoryObject;
use openpim_store::{StoreError, WriteTx};

/// A role assignment as asked for.
#[derive(Debug, Clone, Copy)]
pub struct NewAssignment {
    pub principal_id: ObjectId,
    pub role_definition_id: ObjectId,
    pub scope: DirectoryScope,
}

/// Graph's audit `targetResources.type` for a principal.
fn principal_type(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::User => "User",
        ObjectKind::Group => "Group",
        ObjectKind::ServicePrincipal => "ServicePrincipal",
    }
}

/// The audit record of adding or removing `a`.
fn audit_of(activity: &'static str, operation: &'static str, a: &Schedule, role_name: Option<&str>) -> Audit {
    Audit::new(ROLE_MANAGEMENT, activity, operation)
        .target("Role", a.role_definition_id, role_name, None)
        .target(principal_type(a.principal_kind), a.principal_id, None, None)
        .detail("directoryScopeId", &a.scope)
        .detail("roleAssignmentId", a.id)
}

/// The audit record of an attempt to add an assignment, before anything is known of it.
pub fn creation_attempt(input: &NewAssignment) -> Audit {
    Audit::new(ROLE_MANAGEMENT, "Add member to role", "Assign")
        .target("Role", input.role_definition_id, None, None)
        .detail("principalId", input.principal_id)
        .detail("directoryScopeId", input.scope)
}

/// Assigns the role. The principal, the role and the scope are read inside the write (locked on
/// PostgreSQL), so one deleted meanwhile is granted nothing; an identical live assignment is a
/// 409 `RoleAssignmentExists`, whether found here or caught by the database's unique index.
pub async fn create(
    s: &AppState,
    _granted: &Granted<cap::ManageRoleAssignments>,
    caller: &Caller,
    input: NewAssignment,
) -> ApiResult<Schedule> {
    // The full object (a group's name and flag for the rules' messages); its existence is
    // confirmed again inside the write.
    let principal = s.store.find_object(input.principal_id).await?;
    let now = s.now();
    let principal_kind = principal.as_ref().map(DirectoryObject::kind).unwrap_or(ObjectKind::User);
    let assignment = direct_assignment(
        input.principal_id,
        principal_kind,
        input.role_definition_id,
        input.scope,
        Some(caller.id()),
        now,
    );
    let mut tx = s.store.begin_write().await?;
    match create_in(&mut tx, &input, principal.as_ref(), &assignment, now).await {
        Ok(role_name) => {
            let audit = audit_of("Add member to role", "Assign", &assignment, Some(&role_name));
            s.commit(tx, &audit.success(caller, now)).await?;
            Ok(assignment)
        }
        Err(e) => {
            tx.rollback().await?;
            Err(e)
        }
    }
}

/// Reads the facts inside `tx`, checks them and inserts; returns the role's name.
async fn create_in(
    tx: &mut WriteTx<'_>,
    input: &NewAssignment,
    principal: Option<&DirectoryObject>,
    assignment: &Schedule,
    now: openpim_core::Instant,
) -> ApiResult<String> {
    let role = tx.role_definition(input.role_definition_id).await?;
    if let Some(role) = &role {
        // Entra allows only some roles at an administrative unit's scope.
        check_assignable_at(role, &input.scope.into(), &NoManagementGroups)?;
    }
    if !tx.scope_exists(&input.scope).await? {
        return Err(ApiError::bad_request(format!("The directory scope '{}' does not exist.", input.scope)));
    }
    let principal_ref = match tx.principal_facts(input.principal_id).await? {
        Some(_) => principal.map(|p| match p {
            DirectoryObject::User(u) => PrincipalRef::User(u),
            DirectoryObject::Group(g) => PrincipalRef::Group(g),
            DirectoryObject::ServicePrincipal(sp) => PrincipalRef::ServicePrincipal(sp),
        }),
        None => None,
    };
    let (live, _) = tx
        .live_schedule_at(Kind::Assignment, input.principal_id, input.role_definition_id, &input.scope.into(), now)
        .await?;
    check_new_assignment(input.principal_id, principal_ref, input.role_definition_id, role.as_ref(), live.is_some())?;
    tx.insert_schedule(assignment).await.map_err(|e| match e {
        StoreError::Conflict(_) => ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "RoleAssignmentExists",
            "The role assignment already exists: this principal already holds this role at this scope.",
        ),
        other => other.into(),
    })?;
    Ok(role.map(|r| r.display_name).unwrap_or_default())
}

/// The assignment a removal names, in effect now. Read before the caller's right to remove it
/// is checked, since that right depends on its scope: a caller without it learns that it
/// exists (403 rather than 404), and nothing else.
pub async fn to_remove(s: &AppState, id: ObjectId) -> ApiResult<Option<Schedule>> {
    Ok(s.store.get_role_assignment(id, s.now()).await?)
}

/// The audit record of removing `a` (also the record of a refused attempt).
pub async fn removal_audit(s: &AppState, a: &Schedule) -> ApiResult<Audit> {
    let role_name = s.store.get_role_definition(a.role_definition_id).await?.map(|r| r.display_name);
    Ok(audit_of("Remove member from role", "Unassign", a, role_name.as_deref()))
}

/// Removes the assignment `a`. Removing the last Global Administrator is refused by the store's
/// invariants at commit.
pub async fn remove(
    s: &AppState,
    _granted: &Granted<cap::ManageRoleAssignments>,
    caller: &Caller,
    a: &Schedule,
    audit: Audit,
) -> ApiResult<()> {
    let mut tx = s.store.begin_write().await?;
    if let Err(e) = tx.remove_schedule(a).await {
        tx.rollback().await?;
        return Err(e.into());
    }
    s.commit(tx, &audit.success(caller, s.now())).await
}
