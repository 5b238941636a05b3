//! One family of handlers for every directory entity kind (users, groups, administrative
//! units, applications, service principals): list, get, `$count`, create, update and delete,
//! written once over [`DirectoryKind`]. A kind describes its wire type, OData schema and store
//! reads (`kinds.rs`); the changes are the entity's `crate::directory` operations, which take
//! the proof of the authorization they need. `members.rs` adds memberships, `memberOf`, `/me`.
//!
//! Reads require [`cap::ReadDirectory`] (every member user has it by default; guests need a
//! role such as Directory Readers); `/me` is open to any signed-in caller.

mod kinds;
mod members;

pub use kinds::{AdministrativeUnits, Applications, Groups, ServicePrincipals, Users};
pub use members::{add_member, me, member_of, members, my_member_of, remove_member, Membership};

use super::ops::no_content;
use crate::auth::{Authorized, Caller};
use crate::directory::{audit_of, Audited, Change, DirectoryEntity};
use crate::error::{ApiError, ApiResult};
use crate::odata::OData;
use crate::state::{AppState, Audit};
use crate::wire::body::{Body, JsonObject};
use axum::extract::{Path, State};
use axum::response::Response;
use openpim_core::authz::cap;
use openpim_odata::EntitySchema;
use openpim_store::{ListRequest, Page, Store, StoreResult};
use serde_json::Value;
use std::future::Future;

/// The route patterns of a kind's collection.
pub struct EntityPaths {
    /// `/v1.0/users`: list and create.
    pub collection: &'static str,
    /// `/v1.0/users/$count`.
    pub count: &'static str,
    /// `/v1.0/users/{id}`: get, update, delete.
    pub item: &'static str,
}

/// A directory entity kind, as the generic handlers see it: its wire form and how to find and
/// list it. Its operations (and their authorization) are the entity's [`DirectoryEntity`].
pub trait DirectoryKind: Send + Sync + 'static {
    type Entity: DirectoryEntity;

    const PATHS: EntityPaths;
    /// The entity set in `@odata.context` (`users`, `directory/administrativeUnits`).
    const ENTITY_SET: &'static str;
    /// The `@odata.type` a body may name.
    const WIRE_TYPE: &'static str;
    /// What a 404 calls it.
    const NOUN: &'static str;
    /// What `$filter`, `$select` and `$orderby` may name.
    fn schema() -> &'static EntitySchema;

    fn render(entity: &Self::Entity) -> Value;
    fn read_new(body: Body) -> ApiResult<New<Self>>;
    fn read_patch(body: Body) -> ApiResult<Patch<Self>>;

    /// The entity a path segment names (`None` when there is none; 400 for a malformed key).
    fn find(store: &Store, key: &str) -> impl Future<Output = ApiResult<Option<Self::Entity>>> + Send;
    fn list(store: &Store, req: &ListRequest<'_>) -> impl Future<Output = StoreResult<Page<Self::Entity>>> + Send;
}

type New<K> = <<K as DirectoryKind>::Entity as DirectoryEntity>::New;
type Patch<K> = <<K as DirectoryKind>::Entity as DirectoryEntity>::Patch;

/// The entity `key` names, or Graph's 404.
pub(super) async fn lookup<K: DirectoryKind>(s: &AppState, key: &str) -> ApiResult<K::Entity> {
    K::find(&s.store, key).await?.ok_or_else(|| ApiError::not_found(K::NOUN, key))
}

fn entity_context<K: DirectoryKind>() -> String {
    format!("{}/$entity", K::ENTITY_SET)
}

/// The audit record of `change` to `entity`.
fn audit_on<E: Audited>(change: Change, entity: &E) -> Audit {
    entity.target(audit_of::<E>(change))
}

pub async fn list<K: DirectoryKind>(
    State(s): State<AppState>,
    _reader: Authorized<cap::ReadDirectory>,
    q: OData,
) -> ApiResult<Response> {
    let req = q.directory_list_request(K::schema())?;
    let page = K::list(&s.store, &req).await?;
    Ok(q.collection(K::ENTITY_SET, page.map(|e| K::render(&e)), req.offset))
}

pub async fn count<K: DirectoryKind>(
    State(s): State<AppState>,
    _reader: Authorized<cap::ReadDirectory>,
    q: OData,
) -> ApiResult<Response> {
    let page = K::list(&s.store, &q.directory_count_request(K::schema())?).await?;
    Ok(OData::count_response(page.count))
}

pub async fn get<K: DirectoryKind>(
    State(s): State<AppState>,
    _reader: Authorized<cap::ReadDirectory>,
    q: OData,
    Path(key): Path<String>,
) -> ApiResult<Response> {
    q.directory_list_request(K::schema())?;
    let entity = lookup::<K>(&s, &key).await?;
    Ok(q.entity(&entity_context::<K>(), K::render(&entity)))
}

pub async fn create<K: DirectoryKind>(
    State(s): State<AppState>,
    caller: Caller,
    q: OData,
    body: JsonObject,
) -> ApiResult<Response> {
    let new = K::read_new(Body::new(body, K::WIRE_TYPE))?;
    let audit = audit_of::<K::Entity>(Change::Add);
    let granted = K::Entity::authorize_create(&s, &caller, &new, &audit).await?;
    let created = K::Entity::create(&s, &caller, &granted, new, audit).await?;
    Ok(q.created(&entity_context::<K>(), K::render(&created)))
}

pub async fn update<K: DirectoryKind>(
    State(s): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
    body: JsonObject,
) -> ApiResult<Response> {
    let patch = K::read_patch(Body::new(body, K::WIRE_TYPE))?;
    let current = lookup::<K>(&s, &key).await?;
    let audit = audit_on(Change::Update, &current);
    let granted = current.authorize_update(&s, &caller, &patch, &audit).await?;
    K::Entity::update(&s, &caller, &granted, current.id(), patch, audit).await?;
    Ok(no_content())
}

pub async fn remove<K: DirectoryKind>(
    State(s): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
) -> ApiResult<Response> {
    let current = lookup::<K>(&s, &key).await?;
    let audit = audit_on(Change::Delete, &current);
    let granted = current.authorize_delete(&s, &caller, &audit).await?;
    K::Entity::remove(&s, &caller, &granted, current.id(), audit).await?;
    Ok(no_content())
}
