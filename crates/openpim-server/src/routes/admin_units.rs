//! `/directory/administrativeUnits`: the scopes for delegated administration.

use super::object_id;
use super::ops::{found, member_conflict, no_content, referenced_object};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::odata::OData;
use crate::state::{AppState, Audit};
use crate::wire::body::{Body, JsonObject};
use crate::wire::directory::{self as wire, AU_TYPE};
use axum::extract::{Path, State};
use axum::response::Response;
use openpim_core::audit::category::DIRECTORY_MANAGEMENT;
use openpim_core::authz::cap;
use openpim_core::directory::{check_au_member, AdministrativeUnit};
use openpim_store::schema;

const CONTEXT: &str = "directory/administrativeUnits";

async fn lookup(s: &AppState, raw: &str) -> ApiResult<AdministrativeUnit> {
    found(s.store.get_administrative_unit(object_id(raw)?).await?, "administrativeUnit", raw)
}

fn target(audit: Audit, u: &AdministrativeUnit) -> Audit {
    audit.target("Other", u.id, Some(&u.display_name), None)
}

pub async fn list(State(s): State<AppState>, _caller: Caller, q: OData) -> ApiResult<Response> {
    let req = q.directory_list_request(&schema::ADMINISTRATIVE_UNIT)?;
    let page = s.store.list_administrative_units(&req).await?;
    Ok(q.collection(CONTEXT, page.map(|u| wire::administrative_unit(&u)), req.offset))
}

pub async fn get(State(s): State<AppState>, _caller: Caller, q: OData, Path(id): Path<String>) -> ApiResult<Response> {
    q.directory_list_request(&schema::ADMINISTRATIVE_UNIT)?;
    let unit = lookup(&s, &id).await?;
    Ok(q.entity(&format!("{CONTEXT}/$entity"), wire::administrative_unit(&unit)))
}

pub async fn create(State(s): State<AppState>, caller: Caller, q: OData, body: JsonObject) -> ApiResult<Response> {
    let new = wire::read_new_administrative_unit(Body::new(body, AU_TYPE))?;
    let now = s.now();
    let unit = new.build(uuid::Uuid::new_v4(), now)?;
    let audit = target(Audit::new(DIRECTORY_MANAGEMENT, "Add administrative unit", "Add"), &unit);
    s.authorize::<cap::ManageAdministrativeUnits>(&caller, &[], &audit).await?;
    let mut tx = s.store.begin_write().await?;
    tx.insert_administrative_unit(&unit).await?;
    s.commit(tx, &audit.success(&caller, now)).await?;
    Ok(q.created(&format!("{CONTEXT}/$entity"), wire::administrative_unit(&unit)))
}

pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonObject,
) -> ApiResult<Response> {
    let mut b = Body::new(body, AU_TYPE);
    let display_name = b.string("displayName")?;
    let description = b.nullable_string("description")?;
    b.ignore("visibility");
    b.finish()?;
    let unit = lookup(&s, &id).await?;
    let audit = target(Audit::new(DIRECTORY_MANAGEMENT, "Update administrative unit", "Update"), &unit);
    s.authorize::<cap::ManageAdministrativeUnits>(&caller, &[], &audit).await?;
    let mut next = unit.clone();
    if let Some(name) = display_name {
        if name.trim().is_empty() {
            return Err(ApiError::bad_request("displayName cannot be empty."));
        }
        next.display_name = name;
    }
    if let Some(d) = description {
        next.description = d;
    }
    let mut tx = s.store.begin_write().await?;
    tx.update_administrative_unit(&next).await?;
    s.commit(tx, &audit.success(&caller, s.now())).await?;
    Ok(no_content())
}

pub async fn remove(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    let unit = lookup(&s, &id).await?;
    let audit = target(Audit::new(DIRECTORY_MANAGEMENT, "Delete administrative unit", "Delete"), &unit);
    s.authorize::<cap::ManageAdministrativeUnits>(&caller, &[], &audit).await?;
    let mut tx = s.store.begin_write().await?;
    let removed = tx.delete_administrative_unit(unit.id).await?;
    let audit = audit.detail("removedSchedules", removed);
    s.commit(tx, &audit.success(&caller, s.now())).await?;
    Ok(no_content())
}

pub async fn members(
    State(s): State<AppState>,
    _caller: Caller,
    q: OData,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let unit = lookup(&s, &id).await?;
    let req = q.directory_list_request(&schema::USER)?;
    let page = s.store.list_unit_members(unit.id, &req).await?;
    Ok(q.collection("directoryObjects", page.map(|o| wire::directory_object(&o)), req.offset))
}

pub async fn add_member(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonObject,
) -> ApiResult<Response> {
    let member_id = wire::read_reference(&body.0)?;
    let unit = lookup(&s, &id).await?;
    let member = referenced_object(&s, member_id).await?;
    let audit = target(Audit::new(DIRECTORY_MANAGEMENT, "Add member to administrative unit", "Add"), &unit)
        .detail("memberId", member_id);
    // Putting an account in a unit hands it to the unit's scoped admins: protected accounts need
    // someone who may assign roles.
    s.authorize_on_principal::<cap::ManageAdministrativeUnits>(&caller, member_id, &audit).await?;
    check_au_member(member.kind())?;
    let now = s.now();
    let mut tx = s.store.begin_write().await?;
    if let Err(e) = tx.add_unit_member(unit.id, member_id, member.kind(), now).await {
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
    let unit = lookup(&s, &id).await?;
    let member_id = object_id(&member)?;
    let audit = target(Audit::new(DIRECTORY_MANAGEMENT, "Remove member from administrative unit", "Delete"), &unit)
        .detail("memberId", member_id);
    s.authorize::<cap::ManageAdministrativeUnits>(&caller, &[], &audit).await?;
    let mut tx = s.store.begin_write().await?;
    if !tx.remove_unit_member(unit.id, member_id).await? {
        tx.rollback().await?;
        return Err(ApiError::not_found("member", &member));
    }
    s.commit(tx, &audit.success(&caller, s.now())).await?;
    Ok(no_content())
}

/// `GET /directory/administrativeUnits/$count`
pub async fn count(State(s): State<AppState>, _caller: Caller, q: OData) -> ApiResult<Response> {
    let page = s.store.list_administrative_units(&q.directory_count_request(&schema::ADMINISTRATIVE_UNIT)?).await?;
    Ok(OData::count_response(page.count))
}
