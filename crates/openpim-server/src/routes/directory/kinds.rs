//! The five directory entity kinds: their wire form, OData schema and store reads.

use super::{DirectoryKind, EntityPaths};
use crate::error::ApiResult;
use crate::routes::object_id;
use crate::wire::body::Body;
use crate::wire::directory as wire;
use openpim_core::applications::{
    Application, ApplicationPatch, NewApplication, NewServicePrincipal, ServicePrincipal, ServicePrincipalPatch,
};
use openpim_core::directory::{
    AdministrativeUnit, AdministrativeUnitPatch, Group, GroupPatch, NewAdministrativeUnit, NewGroup, NewUser, User,
    UserPatch,
};
use openpim_core::ObjectId;
use openpim_odata::EntitySchema;
use openpim_store::{schema, ListRequest, Page, Store, StoreResult};
use serde_json::Value;
use std::future::Future;

pub struct Users;
pub struct Groups;
pub struct AdministrativeUnits;
pub struct Applications;
pub struct ServicePrincipals;

/// Finds by an object id key: a malformed one is Graph's 400.
async fn by_object_id<T, F: Future<Output = StoreResult<Option<T>>>>(
    key: &str,
    get: impl FnOnce(ObjectId) -> F,
) -> ApiResult<Option<T>> {
    Ok(get(object_id(key)?).await?)
}

impl DirectoryKind for Users {
    type Entity = User;
    const PATHS: EntityPaths =
        EntityPaths { collection: "/v1.0/users", count: "/v1.0/users/$count", item: "/v1.0/users/{id}" };
    const ENTITY_SET: &'static str = "users";
    const WIRE_TYPE: &'static str = wire::USER_TYPE;
    const NOUN: &'static str = "user";
    fn schema() -> &'static EntitySchema {
        &schema::USER
    }
    fn render(u: &User) -> Value {
        wire::user(u)
    }
    fn read_new(body: Body) -> ApiResult<NewUser> {
        wire::read_new_user(body)
    }
    fn read_patch(body: Body) -> ApiResult<UserPatch> {
        wire::read_user_patch(body)
    }
    /// Graph's `/users/{id | userPrincipalName}`.
    async fn find(store: &Store, key: &str) -> ApiResult<Option<User>> {
        Ok(match uuid::Uuid::parse_str(key) {
            Ok(id) => store.get_user(id).await?,
            Err(_) => store.get_user_by_upn(key).await?,
        })
    }
    async fn list(store: &Store, req: &ListRequest<'_>) -> StoreResult<Page<User>> {
        store.list_users(req).await
    }
}

impl DirectoryKind for Groups {
    type Entity = Group;
    const PATHS: EntityPaths =
        EntityPaths { collection: "/v1.0/groups", count: "/v1.0/groups/$count", item: "/v1.0/groups/{id}" };
    const ENTITY_SET: &'static str = "groups";
    const WIRE_TYPE: &'static str = wire::GROUP_TYPE;
    const NOUN: &'static str = "group";
    fn schema() -> &'static EntitySchema {
        &schema::GROUP
    }
    fn render(g: &Group) -> Value {
        wire::group(g)
    }
    fn read_new(body: Body) -> ApiResult<NewGroup> {
        wire::read_new_group(body)
    }
    fn read_patch(body: Body) -> ApiResult<GroupPatch> {
        wire::read_group_patch(body)
    }
    async fn find(store: &Store, key: &str) -> ApiResult<Option<Group>> {
        by_object_id(key, |id| store.get_group(id)).await
    }
    async fn list(store: &Store, req: &ListRequest<'_>) -> StoreResult<Page<Group>> {
        store.list_groups(req).await
    }
}

impl DirectoryKind for AdministrativeUnits {
    type Entity = AdministrativeUnit;
    const PATHS: EntityPaths = EntityPaths {
        collection: "/v1.0/directory/administrativeUnits",
        count: "/v1.0/directory/administrativeUnits/$count",
        item: "/v1.0/directory/administrativeUnits/{id}",
    };
    const ENTITY_SET: &'static str = "directory/administrativeUnits";
    const WIRE_TYPE: &'static str = wire::AU_TYPE;
    const NOUN: &'static str = "administrativeUnit";
    fn schema() -> &'static EntitySchema {
        &schema::ADMINISTRATIVE_UNIT
    }
    fn render(u: &AdministrativeUnit) -> Value {
        wire::administrative_unit(u)
    }
    fn read_new(body: Body) -> ApiResult<NewAdministrativeUnit> {
        wire::read_new_administrative_unit(body)
    }
    fn read_patch(body: Body) -> ApiResult<AdministrativeUnitPatch> {
        wire::read_administrative_unit_patch(body)
    }
    async fn find(store: &Store, key: &str) -> ApiResult<Option<AdministrativeUnit>> {
        by_object_id(key, |id| store.get_administrative_unit(id)).await
    }
    async fn list(store: &Store, req: &ListRequest<'_>) -> StoreResult<Page<AdministrativeUnit>> {
        store.list_administrative_units(req).await
    }
}

impl DirectoryKind for Applications {
    type Entity = Application;
    const PATHS: EntityPaths = EntityPaths {
        collection: "/v1.0/applications",
        count: "/v1.0/applications/$count",
        item: "/v1.0/applications/{id}",
    };
    const ENTITY_SET: &'static str = "applications";
    const WIRE_TYPE: &'static str = wire::APPLICATION_TYPE;
    const NOUN: &'static str = "application";
    fn schema() -> &'static EntitySchema {
        &schema::APPLICATION
    }
    fn render(a: &Application) -> Value {
        wire::application(a)
    }
    fn read_new(body: Body) -> ApiResult<NewApplication> {
        wire::read_new_application(body)
    }
    fn read_patch(body: Body) -> ApiResult<ApplicationPatch> {
        wire::read_application_patch(body)
    }
    async fn find(store: &Store, key: &str) -> ApiResult<Option<Application>> {
        by_object_id(key, |id| store.get_application(id)).await
    }
    async fn list(store: &Store, req: &ListRequest<'_>) -> StoreResult<Page<Application>> {
        store.list_applications(req).await
    }
}

impl DirectoryKind for ServicePrincipals {
    type Entity = ServicePrincipal;
    const PATHS: EntityPaths = EntityPaths {
        collection: "/v1.0/servicePrincipals",
        count: "/v1.0/servicePrincipals/$count",
        item: "/v1.0/servicePrincipals/{id}",
    };
    const ENTITY_SET: &'static str = "servicePrincipals";
    const WIRE_TYPE: &'static str = wire::SERVICE_PRINCIPAL_TYPE;
    const NOUN: &'static str = "servicePrincipal";
    fn schema() -> &'static EntitySchema {
        &schema::SERVICE_PRINCIPAL
    }
    fn render(sp: &ServicePrincipal) -> Value {
        wire::service_principal(sp)
    }
    fn read_new(body: Body) -> ApiResult<NewServicePrincipal> {
        wire::read_new_service_principal(body)
    }
    fn read_patch(body: Body) -> ApiResult<ServicePrincipalPatch> {
        wire::read_service_principal_patch(body)
    }
    async fn find(store: &Store, key: &str) -> ApiResult<Option<ServicePrincipal>> {
        by_object_id(key, |id| store.get_service_principal(id)).await
    }
    async fn list(store: &Store, req: &ListRequest<'_>) -> StoreResult<Page<ServicePrincipal>> {
        store.list_service_principals(req).await
    }
}
