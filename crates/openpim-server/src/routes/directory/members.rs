//! Memberships of groups and administrative units (one family of handlers over [`Membership`]),
//! `memberOf`, and `/me`.

use super::{lookup, AdministrativeUnits, DirectoryKind, Groups, Users};
use crate::auth::{Authorized, Caller};
use crate::directory::{self, Audited, Change, DirectoryEntity};
use crate::error::ApiResult;
use crate::odata::OData;
use crate::routes::object_id;
use crate::routes::ops::no_content;
use crate::state::{AppState, Audit};
use crate::wire::body::JsonObject;
use crate::wire::directory as wire;
use axum::extract::{Path, State};
use axum::response::Response;
use openpim_core::authz::cap;
use openpim_core::directory::{AdministrativeUnit, Group};
use openpim_core::ObjectId;
use openpim_store::directory::DirectoryObject;
use openpim_store::{schema, ListRequest, Page, Store, StoreResult};
use std::future::Future;

/// A kind whose entities have members (`/members`, `/members/$ref`).
pub trait Membership: DirectoryKind {
    type AddGrant: Send + Sync + 'static;
    type RemoveGrant: Send + Sync + 'static;
    /// Entra's activities for adding and removing a member.
    const ACTIVITIES: [&'static str; 2];
    /// The route patterns: `/members`, `/members/$ref`, `/members/{member}/$ref`.
    const MEMBER_PATHS: [&'static str; 3];

    fn members(
        store: &Store,
        owner: ObjectId,
        req: &ListRequest<'_>,
    ) -> impl Future<Output = StoreResult<Page<DirectoryObject>>> + Send;
    fn authorize_add(
        s: &AppState,
        caller: &Caller,
        owner: &Self::Entity,
        member: ObjectId,
        audit: &Audit,
    ) -> impl Future<Output = ApiResult<Self::AddGrant>> + Send;
    fn authorize_remove(
        s: &AppState,
        caller: &Caller,
        owner: &Self::Entity,
        audit: &Audit,
    ) -> impl Future<Output = ApiResult<Self::RemoveGrant>> + Send;
    fn add_member(
        s: &AppState,
        caller: &Caller,
        granted: &Self::AddGrant,
        owner: ObjectId,
        member: ObjectId,
        audit: Audit,
    ) -> impl Future<Output = ApiResult<()>> + Send;
    fn remove_member(
        s: &AppState,
        caller: &Caller,
        granted: &Self::RemoveGrant,
        owner: ObjectId,
        member: ObjectId,
        audit: Audit,
    ) -> impl Future<Output = ApiResult<()>> + Send;
}

/// The audit record of adding `member` to (or removing it from) `owner`.
fn member_audit<K: Membership>(change: Change, owner: &K::Entity, member: ObjectId) -> Audit {
    let activity = if change == Change::Add { K::ACTIVITIES[0] } else { K::ACTIVITIES[1] };
    let audit = Audit::new(<K::Entity as Audited>::CATEGORY, activity, change.operation_type());
    owner.target(audit).detail("memberId", member)
}

impl Membership for Groups {
    type AddGrant = directory::groups::MembersGrant;
    type RemoveGrant = directory::groups::MembersGrant;
    const ACTIVITIES: [&'static str; 2] = ["Add member to group", "Remove member from group"];
    const MEMBER_PATHS: [&'static str; 3] =
        ["/v1.0/groups/{id}/members", "/v1.0/groups/{id}/members/$ref", "/v1.0/groups/{id}/members/{member}/$ref"];
    async fn members(store: &Store, owner: ObjectId, req: &ListRequest<'_>) -> StoreResult<Page<DirectoryObject>> {
        store.list_group_members(owner, req).await
    }
    /// A group eligible for or approving a privileged role is protected like an account:
    /// joining it is as good as holding or handing out that role.
    async fn authorize_add(s: &AppState, c: &Caller, g: &Group, _: ObjectId, a: &Audit) -> ApiResult<Self::AddGrant> {
        directory::groups::authorize(s, c, Some(g.id), g.is_assignable_to_role, a).await
    }
    async fn authorize_remove(s: &AppState, c: &Caller, g: &Group, a: &Audit) -> ApiResult<Self::RemoveGrant> {
        directory::groups::authorize(s, c, Some(g.id), g.is_assignable_to_role, a).await
    }
    async fn add_member(
        s: &AppState,
        c: &Caller,
        g: &Self::AddGrant,
        owner: ObjectId,
        member: ObjectId,
        a: Audit,
    ) -> ApiResult<()> {
        directory::groups::add_member(s, c, g, owner, member, a).await
    }
    async fn remove_member(
        s: &AppState,
        c: &Caller,
        g: &Self::RemoveGrant,
        owner: ObjectId,
        member: ObjectId,
        a: Audit,
    ) -> ApiResult<()> {
        directory::groups::remove_member(s, c, g, owner, member, a).await.map(drop)
    }
}

impl Membership for AdministrativeUnits {
    type AddGrant = directory::units::Grant;
    type RemoveGrant = directory::units::Grant;
    const ACTIVITIES: [&'static str; 2] =
        ["Add member to administrative unit", "Remove member from administrative unit"];
    const MEMBER_PATHS: [&'static str; 3] = [
        "/v1.0/directory/administrativeUnits/{id}/members",
        "/v1.0/directory/administrativeUnits/{id}/members/$ref",
        "/v1.0/directory/administrativeUnits/{id}/members/{member}/$ref",
    ];
    async fn members(store: &Store, owner: ObjectId, req: &ListRequest<'_>) -> StoreResult<Page<DirectoryObject>> {
        store.list_unit_members(owner, req).await
    }
    /// Putting an account in a unit hands it to the unit's scoped admins: checked on the member,
    /// so a protected account needs someone who may assign roles.
    async fn authorize_add(
        s: &AppState,
        c: &Caller,
        _: &AdministrativeUnit,
        member: ObjectId,
        a: &Audit,
    ) -> ApiResult<Self::AddGrant> {
        s.authorize_on_principal(c, member, a).await
    }
    async fn authorize_remove(
        s: &AppState,
        c: &Caller,
        _: &AdministrativeUnit,
        a: &Audit,
    ) -> ApiResult<Self::RemoveGrant> {
        directory::units::authorize(s, c, a).await
    }
    async fn add_member(
        s: &AppState,
        c: &Caller,
        g: &Self::AddGrant,
        owner: ObjectId,
        member: ObjectId,
        a: Audit,
    ) -> ApiResult<()> {
        directory::units::add_member(s, c, g, owner, member, a).await
    }
    async fn remove_member(
        s: &AppState,
        c: &Caller,
        g: &Self::RemoveGrant,
        owner: ObjectId,
        member: ObjectId,
        a: Audit,
    ) -> ApiResult<()> {
        directory::units::remove_member(s, c, g, owner, member, a).await
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
    let audit = member_audit::<K>(Change::Add, &owner, member);
    let granted = K::authorize_add(&s, &caller, &owner, member, &audit).await?;
    K::add_member(&s, &caller, &granted, owner.id(), member, audit).await?;
    Ok(no_content())
}

pub async fn remove_member<K: Membership>(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, member)): Path<(String, String)>,
) -> ApiResult<Response> {
    let owner = lookup::<K>(&s, &id).await?;
    let member = object_id(&member)?;
    let audit = member_audit::<K>(Change::Delete, &owner, member);
    let granted = K::authorize_remove(&s, &caller, &owner, &audit).await?;
    K::remove_member(&s, &caller, &granted, owner.id(), member, audit).await?;
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
