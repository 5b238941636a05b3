//! Memberships of groups and administrative units (one family of handlers over [`Membership`]),
//! `memberOf`, and `/me`.

use super::{lookup, AdministrativeUnits, DirectoryKind, Groups, Users};
use crate::auth::{Authorized, Caller};
use crate::directory::{member_audit, Change, DirectoryEntity, Members};
use crate::error::ApiResult;
use crate::odata::OData;
use crate::routes::object_id;
use crate::routes::ops::no_content;
use crate::state::AppState;
use crate::wire::body::JsonObject;
use crate::wire::directory as wire;
use axum::extract::{Path, State};
use axum::response::Response;
use openpim_core::authz::cap;
use openpim_core::ObjectId;
use openpim_store::directory::DirectoryObject;
use openpim_store::{schema, ListRequest, Page, Store, StoreResult};
use std::future::Future;

/// A kind whose entities have members (`/members`, `/members/$ref`); adding and removing them
/// are the entity's [`Members`] operations.
pub trait Membership: DirectoryKind<Entity: Members> {
    /// The route patterns: `/members`, `/members/$ref`, `/members/{member}/$ref`.
    const MEMBER_PATHS: [&'static str; 3];

    fn members(
        store: &Store,
        owner: ObjectId,
        req: &ListRequest<'_>,
    ) -> impl Future<Output = StoreResult<Page<DirectoryObject>>> + Send;
}

impl Membership for Groups {
    const MEMBER_PATHS: [&'static str; 3] =
        ["/v1.0/groups/{id}/members", "/v1.0/groups/{id}/members/$ref", "/v1.0/groups/{id}/members/{member}/$ref"];
    async fn members(store: &Store, owner: ObjectId, req: &ListRequest<'_>) -> StoreResult<Page<DirectoryObject>> {
        store.list_group_members(owner, req).await
    }
}

impl Membership for AdministrativeUnits {
    const MEMBER_PATHS: [&'static str; 3] = [
        "/v1.0/directory/administrativeUnits/{id}/members",
        "/v1.0/directory/administrativeUnits/{id}/members/$ref",
        "/v1.0/directory/administrativeUnits/{id}/members/{member}/$ref",
    ];
    async fn members(store: &Store, owner: ObjectId, req: &ListRequest<'_>) -> StoreResult<Page<DirectoryObject>> {
        store.list_unit_members(owner, req).await
    }
}

pub async fn members<K: Membership>(
    State(s): State<AppState>,
    _reader: Authorized<cap::ReadDirectory>,
    q: OData,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let owner = lookup::<K>(&s, &id).await?;
    let req = q.directory_list_request(&schema::USER)?;
    let page = K::members(&s.store, owner.id(), &req).await?;
    Ok(q.collection("directoryObjects", page.map(|o| wire::directory_object(&o)), req.offset))
}

pub async fn add_member<K: Membership>(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonObject,
) -> ApiResult<Response> {
    let member = wire::read_reference(&body.0)?;
    let owner = lookup::<K>(&s, &id).await?;
    let audit = member_audit(Change::Add, &owner, member);
    let granted = owner.authorize_add(&s, &caller, member, &audit).await?;
    K::Entity::add_member(&s, &caller, &granted, owner.id(), member, audit).await?;
    Ok(no_content())
}

pub async fn remove_member<K: Membership>(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, member)): Path<(String, String)>,
) -> ApiResult<Response> {
    let owner = lookup::<K>(&s, &id).await?;
    let member = object_id(&member)?;
    let audit = member_audit(Change::Delete, &owner, member);
    let granted = owner.authorize_remove(&s, &caller, &audit).await?;
    K::Entity::remove_member(&s, &caller, &granted, owner.id(), member, audit).await?;
    Ok(no_content())
}

/// The groups `user` belongs to, as Graph's `memberOf` collection.
async fn groups_of(s: &AppState, q: &OData, user: ObjectId) -> ApiResult<Response> {
    let req = q.directory_list_request(&schema::GROUP)?;
    let page = s.store.list_member_of(user, &req).await?;
    Ok(q.collection("directoryObjects", page.map(|g| wire::group(&g)), req.offset))
}

pub async fn member_of(
    State(s): State<AppState>,
    _reader: Authorized<cap::ReadDirectory>,
    q: OData,
    Path(key): Path<String>,
) -> ApiResult<Response> {
    let user = lookup::<Users>(&s, &key).await?;
    groups_of(&s, &q, user.id).await
}

/// `/me`: any signed-in caller may read itself, guests included.
pub async fn me(caller: Caller, q: OData) -> ApiResult<Response> {
    q.directory_list_request(&schema::USER)?;
    Ok(q.entity("users/$entity", wire::user(&caller.user)))
}

/// `/me/memberOf`: the caller's own groups, open like `/me`.
pub async fn my_member_of(State(s): State<AppState>, caller: Caller, q: OData) -> ApiResult<Response> {
    groups_of(&s, &q, caller.id()).await
}
