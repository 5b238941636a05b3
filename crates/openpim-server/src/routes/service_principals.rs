//! `/servicePrincipals`: an application's identity in the tenant, a principal that can hold
//! roles (assignments, eligibilities, activations) like a user or a group.

use super::object_id;
use super::ops::{found, no_content};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::odata::OData;
use crate::state::{AppState, Audit};
use crate::wire::body::{Body, JsonObject};
use crate::wire::directory::{self as wire, SERVICE_PRINCIPAL_TYPE};
use axum::extract::{Path, State};
use axum::response::Response;
use openpim_core::applications::{parse_app_id, ServicePrincipal};
use openpim_core::audit::category::APPLICATION_MANAGEMENT;
use openpim_core::authz::{cap, Granted};
use openpim_store::{schema, StoreError};

async fn lookup(s: &AppState, raw: &str) -> ApiResult<ServicePrincipal> {
    found(s.store.get_service_principal(object_id(raw)?).await?, "servicePrincipal", raw)
}

fn target(audit: Audit, sp: &ServicePrincipal) -> Audit {
    audit.target("ServicePrincipal", sp.id, Some(&sp.display_name), None).detail("appId", sp.app_id)
}

/// The right to delete `sp`; a service principal holding privileged roles is protected like a
/// privileged user (only those who may assign roles can delete it).
pub(super) async fn authorize_removal(
    s: &AppState,
    caller: &Caller,
    sp: &ServicePrincipal,
    audit: &Audit,
) -> ApiResult<Granted<cap::DeleteServicePrincipal>> {
    s.authorize_on_principal::<cap::DeleteServicePrincipal>(caller, sp.id, audit).await
}

pub async fn list(State(s): State<AppState>, _caller: Caller, q: OData) -> ApiResult<Response> {
    let req = q.directory_list_request(&schema::SERVICE_PRINCIPAL)?;
    let page = s.store.list_service_principals(&req).await?;
    Ok(q.collection("servicePrincipals", page.map(|sp| wire::service_principal(&sp)), req.offset))
}

pub async fn get(State(s): State<AppState>, _caller: Caller, q: OData, Path(id): Path<String>) -> ApiResult<Response> {
    q.directory_list_request(&schema::SERVICE_PRINCIPAL)?;
    let sp = lookup(&s, &id).await?;
    Ok(q.entity("servicePrincipals/$entity", wire::service_principal(&sp)))
}

pub async fn create(State(s): State<AppState>, caller: Caller, q: OData, body: JsonObject) -> ApiResult<Response> {
    let new = wire::read_new_service_principal(Body::new(body, SERVICE_PRINCIPAL_TYPE))?;
    let audit = Audit::new(APPLICATION_MANAGEMENT, "Add service principal", "Add");
    s.authorize::<cap::CreateServicePrincipal>(&caller, &[], &audit).await?;
    // Look up what core needs to decide: the application named by appId, and whether it
    // already has a service principal (the unique index catches a concurrent twin).
    let app_id = new.app_id.as_deref().map(parse_app_id).transpose()?;
    let (application, existing) = match app_id {
        Some(app_id) => (
            s.store.get_application_by_app_id(app_id).await?,
            s.store.get_service_principal_by_app_id(app_id).await?.is_some(),
        ),
        None => (None, false),
    };
    let now = s.now();
    let sp = new.build(uuid::Uuid::new_v4(), application.as_ref(), existing, now)?;
    let mut tx = s.store.begin_write().await?;
    match tx.insert_service_principal(&sp).await {
        Err(StoreError::Conflict(_)) => {
            tx.rollback().await?;
            return Err(duplicate(&sp));
        }
        other => other?,
    }
    s.commit(tx, &target(audit, &sp).success(&caller, now)).await?;
    Ok(q.created("servicePrincipals/$entity", wire::service_principal(&sp)))
}

/// A service principal created concurrently for the same application: the same 409 core gives.
fn duplicate(sp: &ServicePrincipal) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::CONFLICT,
        "Request_MultipleObjectsWithSameKeyValue",
        format!("The application with appId '{}' already has a service principal.", sp.app_id),
    )
}

pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonObject,
) -> ApiResult<Response> {
    let patch = wire::read_service_principal_patch(Body::new(body, SERVICE_PRINCIPAL_TYPE))?;
    let sp = lookup(&s, &id).await?;
    let audit = target(Audit::new(APPLICATION_MANAGEMENT, "Update service principal", "Update"), &sp);
    let next = patch.apply(&sp)?;
    if (&next.display_name, &next.description) != (&sp.display_name, &sp.description) {
        s.authorize_on_principal::<cap::UpdateServicePrincipal>(&caller, sp.id, &audit).await?;
    }
    if next.account_enabled != sp.account_enabled {
        // Entra has separate actions for turning a service principal's sign-in on and off.
        if next.account_enabled {
            s.authorize_on_principal::<cap::EnableServicePrincipal>(&caller, sp.id, &audit).await?;
        } else {
            s.authorize_on_principal::<cap::DisableServicePrincipal>(&caller, sp.id, &audit).await?;
        }
    }
    if next == sp {
        // Nothing changes, but the caller must still be allowed to update it.
        s.authorize_on_principal::<cap::UpdateServicePrincipal>(&caller, sp.id, &audit).await?;
        return Ok(no_content());
    }
    let mut tx = s.store.begin_write().await?;
    tx.update_service_principal(&next).await?;
    let audit = audit.detail("accountEnabled", next.account_enabled);
    s.commit(tx, &audit.success(&caller, s.now())).await?;
    Ok(no_content())
}

/// Deleting a service principal removes its memberships, assignments and eligibilities and
/// revokes its pending requests and activations, as deleting a user does.
pub async fn remove(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    let sp = lookup(&s, &id).await?;
    let audit = target(Audit::new(APPLICATION_MANAGEMENT, "Delete service principal", "Delete"), &sp);
    authorize_removal(&s, &caller, &sp, &audit).await?;
    let now = s.now();
    let mut tx = s.store.begin_write().await?;
    tx.delete_service_principal(sp.id, now).await?;
    s.commit(tx, &audit.success(&caller, now)).await?;
    Ok(no_content())
}

/// `GET /servicePrincipals/$count`
pub async fn count(State(s): State<AppState>, _caller: Caller, q: OData) -> ApiResult<Response> {
    let page = s.store.list_service_principals(&q.directory_count_request(&schema::SERVICE_PRINCIPAL)?).await?;
    Ok(OData::count_response(page.count))
}
