//! `/applications`: app registrations. An application is a directory scope
//! (`/{applicationObjectId}`), so an administrator assigned there manages this one application.

use super::object_id;
use super::ops::{found, no_content};
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::odata::OData;
use crate::state::{AppState, Audit};
use crate::wire::body::{Body, JsonObject};
use crate::wire::directory::{self as wire, APPLICATION_TYPE};
use axum::extract::{Path, State};
use axum::response::Response;
use openpim_core::applications::Application;
use openpim_core::audit::category::APPLICATION_MANAGEMENT;
use openpim_core::authz::cap;
use openpim_core::scope::DirectoryScope;
use openpim_store::schema;

async fn lookup(s: &AppState, raw: &str) -> ApiResult<Application> {
    found(s.store.get_application(object_id(raw)?).await?, "application", raw)
}

fn target(audit: Audit, a: &Application) -> Audit {
    audit.target("Application", a.id, Some(&a.display_name), None).detail("appId", a.app_id)
}

/// Where an admin may act on `app`: the tenant, or the application itself.
fn scopes(app: &Application) -> [DirectoryScope; 2] {
    [DirectoryScope::Tenant, DirectoryScope::Object(app.id)]
}

pub async fn list(State(s): State<AppState>, _caller: Caller, q: OData) -> ApiResult<Response> {
    let req = q.directory_list_request(&schema::APPLICATION)?;
    let page = s.store.list_applications(&req).await?;
    Ok(q.collection("applications", page.map(|a| wire::application(&a)), req.offset))
}

pub async fn get(State(s): State<AppState>, _caller: Caller, q: OData, Path(id): Path<String>) -> ApiResult<Response> {
    q.directory_list_request(&schema::APPLICATION)?;
    let app = lookup(&s, &id).await?;
    Ok(q.entity("applications/$entity", wire::application(&app)))
}

pub async fn create(State(s): State<AppState>, caller: Caller, q: OData, body: JsonObject) -> ApiResult<Response> {
    let new = wire::read_new_application(Body::new(body, APPLICATION_TYPE))?;
    let audit = Audit::new(APPLICATION_MANAGEMENT, "Add application", "Add");
    s.authorize::<cap::CreateApplication>(&caller, &[], &audit).await?;
    let now = s.now();
    let app = new.build(uuid::Uuid::new_v4(), uuid::Uuid::new_v4(), now)?;
    let mut tx = s.store.begin_write().await?;
    tx.insert_application(&app).await?;
    s.commit(tx, &target(audit, &app).success(&caller, now)).await?;
    Ok(q.created("applications/$entity", wire::application(&app)))
}

pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonObject,
) -> ApiResult<Response> {
    let patch = wire::read_application_patch(Body::new(body, APPLICATION_TYPE))?;
    let app = lookup(&s, &id).await?;
    let audit = target(Audit::new(APPLICATION_MANAGEMENT, "Update application", "Update"), &app);
    s.authorize::<cap::UpdateApplication>(&caller, &scopes(&app), &audit).await?;
    let next = patch.apply(&app)?;
    let mut tx = s.store.begin_write().await?;
    tx.update_application(&next).await?;
    s.commit(tx, &audit.success(&caller, s.now())).await?;
    Ok(no_content())
}

/// Deleting an application deletes its service principal (with what it holds) and every
/// assignment and eligibility scoped to the application.
pub async fn remove(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    let app = lookup(&s, &id).await?;
    let audit = target(Audit::new(APPLICATION_MANAGEMENT, "Delete application", "Delete"), &app);
    s.authorize::<cap::DeleteApplication>(&caller, &scopes(&app), &audit).await?;
    let sp = s.store.get_service_principal_by_app_id(app.app_id).await?;
    if let Some(sp) = &sp {
        // The service principal goes too: deleting it must pass the same checks as deleting it
        // directly (its own right, the protected-principal rule).
        super::service_principals::authorize_removal(&s, &caller, sp, &audit).await?;
    }
    let now = s.now();
    // The last Global Administrator is the store's invariant, checked at commit.
    let mut tx = s.store.begin_write().await?;
    let removed = tx.delete_application(&app, now).await?;
    let audit = match &sp {
        Some(sp) => audit.target("ServicePrincipal", sp.id, Some(&sp.display_name), None),
        None => audit,
    };
    let audit = if removed > 0 { audit.detail("removedScopedSchedules", removed) } else { audit };
    s.commit(tx, &audit.success(&caller, now)).await?;
    Ok(no_content())
}

/// `GET /applications/$count`
pub async fn count(State(s): State<AppState>, _caller: Caller, q: OData) -> ApiResult<Response> {
    let page = s.store.list_applications(&q.directory_count_request(&schema::APPLICATION)?).await?;
    Ok(OData::count_response(page.count))
}
