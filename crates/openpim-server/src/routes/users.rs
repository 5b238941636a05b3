//! `/users` and `/me`.

use super::ops::{found, no_content};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::odata::OData;
use crate::state::{AppState, Audit};
use crate::wire::body::{Body, JsonObject};
use crate::wire::directory::{self as wire, USER_TYPE};
use axum::extract::{Path, State};
use axum::response::Response;
use openpim_core::audit::category::USER_MANAGEMENT;
use openpim_core::authz::cap;
use openpim_core::directory::User;
use openpim_store::{schema, StoreError};

/// Finds a user by object id or by userPrincipalName, as Graph's `/users/{id|upn}` does.
async fn lookup(state: &AppState, key: &str) -> ApiResult<User> {
    let user = match uuid::Uuid::parse_str(key) {
        Ok(id) => state.store.get_user(id).await?,
        Err(_) => state.store.get_user_by_upn(key).await?,
    };
    found(user, "user", key)
}

/// Graph answers a clash on userPrincipalName with 400, on create and on update alike.
fn duplicate_upn(upn: &str) -> ApiError {
    ApiError::bad_request(format!(
        "Another object with the same value for property userPrincipalName already exists: '{upn}'."
    ))
}

fn unique_upn(upn: &str) -> impl FnOnce(StoreError) -> ApiError + '_ {
    move |e| match e {
        StoreError::Conflict(_) => duplicate_upn(upn),
        other => other.into(),
    }
}

fn target(audit: Audit, u: &User) -> Audit {
    audit.target("User", u.id, Some(&u.display_name), Some(&u.user_principal_name))
}

pub async fn list(State(s): State<AppState>, _caller: Caller, q: OData) -> ApiResult<Response> {
    let req = q.directory_list_request(&schema::USER)?;
    let page = s.store.list_users(&req).await?;
    Ok(q.collection("users", page.map(|u| wire::user(&u)), req.offset))
}

pub async fn get(State(s): State<AppState>, _caller: Caller, q: OData, Path(key): Path<String>) -> ApiResult<Response> {
    q.directory_list_request(&schema::USER)?;
    let user = lookup(&s, &key).await?;
    Ok(q.entity("users/$entity", wire::user(&user)))
}

pub async fn me(caller: Caller, q: OData) -> ApiResult<Response> {
    q.directory_list_request(&schema::USER)?;
    Ok(q.entity("users/$entity", wire::user(&caller.user)))
}

pub async fn create(State(s): State<AppState>, caller: Caller, q: OData, body: JsonObject) -> ApiResult<Response> {
    let new = wire::read_new_user(Body::new(body, USER_TYPE))?;
    let audit = Audit::new(USER_MANAGEMENT, "Add user", "Add");
    s.authorize::<cap::CreateUser>(&caller, &[], &audit).await?;
    let now = s.now();
    let user = new.build(uuid::Uuid::new_v4(), now)?;
    if s.store.get_user_by_upn(&user.user_principal_name).await?.is_some() {
        return Err(duplicate_upn(&user.user_principal_name));
    }
    let mut tx = s.store.begin_write().await?;
    tx.insert_user(&user).await.map_err(unique_upn(&user.user_principal_name))?;
    s.commit(tx, &target(audit, &user).success(&caller, now)).await?;
    Ok(q.created("users/$entity", wire::user(&user)))
}

pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
    body: JsonObject,
) -> ApiResult<Response> {
    let patch = wire::read_user_patch(Body::new(body, USER_TYPE))?;
    let user = lookup(&s, &key).await?;
    let audit = target(Audit::new(USER_MANAGEMENT, "Update user", "Update"), &user);
    s.authorize_on_principal::<cap::UpdateUser>(&caller, user.id, &audit).await?;
    let now = s.now();
    let mut tx = s.store.begin_write().await?;
    // Apply the patch to the user as it is inside the write, so a concurrent PATCH of other
    // properties is not overwritten with what was read before it committed.
    let current = match tx.user_for_update(user.id).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            tx.rollback().await?;
            return Err(ApiError::not_found("user", &key));
        }
        Err(e) => {
            tx.rollback().await?;
            return Err(e.into());
        }
    };
    let next = match patch.apply(&current) {
        Ok(next) => next,
        Err(e) => {
            tx.rollback().await?;
            return Err(e.into());
        }
    };
    if let Err(e) = tx.update_user(&next).await {
        tx.rollback().await?;
        return Err(unique_upn(&next.user_principal_name)(e));
    }
    s.commit(tx, &audit.success(&caller, now)).await?;
    Ok(no_content())
}

pub async fn remove(State(s): State<AppState>, caller: Caller, Path(key): Path<String>) -> ApiResult<Response> {
    let user = lookup(&s, &key).await?;
    let audit = target(Audit::new(USER_MANAGEMENT, "Delete user", "Delete"), &user);
    if user.id == caller.id() {
        return Err(ApiError::bad_request("You cannot delete your own account."));
    }
    s.authorize_on_principal::<cap::DeleteUser>(&caller, user.id, &audit).await?;
    let now = s.now();
    let mut tx = s.store.begin_write().await?;
    tx.delete_user(user.id, now).await?;
    s.commit(tx, &audit.success(&caller, now)).await?;
    Ok(no_content())
}

pub async fn member_of(
    State(s): State<AppState>,
    _caller: Caller,
    q: OData,
    Path(key): Path<String>,
) -> ApiResult<Response> {
    let user = lookup(&s, &key).await?;
    let req = q.directory_list_request(&schema::GROUP)?;
    let page = s.store.list_member_of(user.id, &req).await?;
    Ok(q.collection("directoryObjects", page.map(|g| wire::group(&g)), req.offset))
}

pub async fn my_member_of(State(s): State<AppState>, caller: Caller, q: OData) -> ApiResult<Response> {
    let req = q.directory_list_request(&schema::GROUP)?;
    let page = s.store.list_member_of(caller.id(), &req).await?;
    Ok(q.collection("directoryObjects", page.map(|g| wire::group(&g)), req.offset))
}

/// `GET /users/$count`
pub async fn count(State(s): State<AppState>, _caller: Caller, q: OData) -> ApiResult<Response> {
    let page = s.store.list_users(&q.directory_count_request(&schema::USER)?).await?;
    Ok(OData::count_response(page.count))
}
