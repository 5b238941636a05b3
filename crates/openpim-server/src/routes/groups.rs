//! `/groups` and their members.

use super::object_id;
use super::ops::{found, member_conflict, no_content, referenced_object};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::odata::OData;
use crate::state::{AppState, Audit};
use crate::wire::body::{Body, JsonObject};
use crate::wire::directory::{self as wire, GROUP_TYPE};
use axum::extract::{Path, State};
use axum::response::Response;
use openpim_core::audit::category::GROUP_MANAGEMENT;
use openpim_core::authz::{cap, Capability};
use openpim_core::directory::{check_group_member, Group};
use openpim_store::schema;

async fn lookup(s: &AppState, raw: &str) -> ApiResult<Group> {
    found(s.store.get_group(object_id(raw)?).await?, "group", raw)
}

fn target(audit: Audit, g: &Group) -> Audit {
    audit.target("Group", g.id, Some(&g.display_name), None)
}

/// Authorises a change to `g` (a new group when `existing` is false): role-assignable groups
/// have operations of their own (see `Operation`), and an existing group is checked as a
/// principal (protected groups need the right to assign roles).
async fn authorize_change<Plain: Capability, RoleAssignable: Capability>(
    s: &AppState,
    caller: &Caller,
    g: &Group,
    existing: bool,
    audit: &Audit,
) -> ApiResult<()> {
    match (g.is_assignable_to_role, existing) {
        (false, false) => s.authorize::<Plain>(caller, &[], audit).await.map(drop),
        (true, false) => s.authorize::<RoleAssignable>(caller, &[], audit).await.map(drop),
        (false, true) => s.authorize_on_principal::<Plain>(caller, g.id, audit).await.map(drop),
        (true, true) => s.authorize_on_principal::<RoleAssignable>(caller, g.id, audit).await.map(drop),
    }
}

pub async fn list(State(s): State<AppState>, _caller: Caller, q: OData) -> ApiResult<Response> {
    let req = q.directory_list_request(&schema::GROUP)?;
    let page = s.store.list_groups(&req).await?;
    Ok(q.collection("groups", page.map(|g| wire::group(&g)), req.offset))
}

pub async fn get(State(s): State<AppState>, _caller: Caller, q: OData, Path(id): Path<String>) -> ApiResult<Response> {
    q.directory_list_request(&schema::GROUP)?;
    let g = lookup(&s, &id).await?;
    Ok(q.entity("groups/$entity", wire::group(&g)))
}

pub async fn create(State(s): State<AppState>, caller: Caller, q: OData, body: JsonObject) -> ApiResult<Response> {
    let new = wire::read_new_group(Body::new(body, GROUP_TYPE))?;
    let now = s.now();
    let group = new.build(uuid::Uuid::new_v4(), now)?;
    let audit = target(Audit::new(GROUP_MANAGEMENT, "Add group", "Add"), &group)
        .detail("isAssignableToRole", group.is_assignable_to_role);
    authorize_change::<cap::CreateGroup, cap::CreateRoleAssignableGroup>(&s, &caller, &group, false, &audit).await?;
    let mut tx = s.store.begin_write().await?;
    tx.insert_group(&group).await?;
    s.commit(tx, &audit.success(&caller, now)).await?;
    Ok(q.created("groups/$entity", wire::group(&group)))
}

pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonObject,
) -> ApiResult<Response> {
    let patch = wire::read_group_patch(Body::new(body, GROUP_TYPE))?;
    let group = lookup(&s, &id).await?;
    let audit = target(Audit::new(GROUP_MANAGEMENT, "Update group", "Update"), &group);
    authorize_change::<cap::UpdateGroup, cap::UpdateRoleAssignableGroup>(&s, &caller, &group, true, &audit).await?;
    let next = patch.apply(&group)?;
    let mut tx = s.store.begin_write().await?;
    tx.update_group(&next).await?;
    s.commit(tx, &audit.success(&caller, s.now())).await?;
    Ok(no_content())
}

pub async fn remove(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    let group = lookup(&s, &id).await?;
    let audit = target(Audit::new(GROUP_MANAGEMENT, "Delete group", "Delete"), &group);
    authorize_change::<cap::DeleteGroup, cap::DeleteRoleAssignableGroup>(&s, &caller, &group, true, &audit).await?;
    let now = s.now();
    let mut tx = s.store.begin_write().await?;
    tx.delete_group(group.id, now).await?;
    s.commit(tx, &audit.success(&caller, now)).await?;
    Ok(no_content())
}

pub async fn members(
    State(s): State<AppState>,
    _caller: Caller,
    q: OData,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let group = lookup(&s, &id).await?;
    let req = q.directory_list_request(&schema::USER)?;
    let page = s.store.list_group_members(group.id, &req).await?;
    Ok(q.collection("directoryObjects", page.map(|o| wire::directory_object(&o)), req.offset))
}

pub async fn add_member(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonObject,
) -> ApiResult<Response> {
    let member_id = wire::read_reference(&body.0)?;
    let group = lookup(&s, &id).await?;
    let member = referenced_object(&s, member_id).await?;
    let audit =
        target(Audit::new(GROUP_MANAGEMENT, "Add member to group", "Add"), &group).detail("memberId", member_id);
    // A group eligible for or approving a privileged role is protected like an account: joining
    // it is as good as holding or handing out that role.
    authorize_change::<cap::UpdateGroupMembers, cap::UpdateRoleAssignableGroup>(&s, &caller, &group, true, &audit)
        .await?;
    check_group_member(&group, member_id, member.kind())?;
    let now = s.now();
    let mut tx = s.store.begin_write().await?;
    if let Err(e) = tx.add_group_member(group.id, member_id, member.kind(), now).await {
        tx.rollback().await?;
        return Err(member_conflict(e));
    }
    s.commit(tx, &audit.success(&caller, now)).await?;
    Ok(no_content())
}

pub async fn remove_member(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, member)): Path<(String, String)>,
) -> ApiResult<Response> {
    let group = lookup(&s, &id).await?;
    let member_id = object_id(&member)?;
    let audit = target(Audit::new(GROUP_MANAGEMENT, "Remove member from group", "Delete"), &group)
        .detail("memberId", member_id);
    // A group eligible for or approving a privileged role is protected like an account: joining
    // it is as good as holding or handing out that role.
    authorize_change::<cap::UpdateGroupMembers, cap::UpdateRoleAssignableGroup>(&s, &caller, &group, true, &audit)
        .await?;
    let mut tx = s.store.begin_write().await?;
    if !tx.remove_group_member(group.id, member_id).await? {
        tx.rollback().await?;
        return Err(ApiError::not_found("member", &member));
    }
    // A member who leaves loses what it activated from the group's eligibilities.
    let eligibilities = tx.eligibility_ids_of(group.id).await?;
    let revoked = tx.revoke_activations_from(&eligibilities, Some(member_id)).await?;
    let audit = if revoked.is_empty() { audit } else { audit.detail("revokedActivations", revoked.len()) };
    s.commit(tx, &audit.success(&caller, s.now())).await?;
    Ok(no_content())
}

/// `GET /groups/$count`
pub async fn count(State(s): State<AppState>, _caller: Caller, q: OData) -> ApiResult<Response> {
    let page = s.store.list_groups(&q.directory_count_request(&schema::GROUP)?).await?;
    Ok(OData::count_response(page.count))
}
