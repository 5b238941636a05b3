//! `/auditLogs/directoryAudits`.

use super::object_id;
use super::ops::found;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::odata::OData;
use crate::state::{AppState, Audit};
use crate::wire::audit::directory_audit;
use axum::extract::{Path, State};
use axum::response::Response;
use openpim_core::audit::category::DIRECTORY_MANAGEMENT;
use openpim_core::authz::Operation;
use openpim_odata::OrderBy;
use openpim_store::{schema, ListRequest};

const CONTEXT: &str = "auditLogs/directoryAudits";

async fn authorize(s: &AppState, caller: &Caller) -> ApiResult<()> {
    let audit = Audit::new(DIRECTORY_MANAGEMENT, "Read audit logs", "Read");
    s.authorize(caller, Operation::ReadAuditLogs, &[], &audit).await
}

pub async fn list(State(s): State<AppState>, caller: Caller, q: OData) -> ApiResult<Response> {
    authorize(&s, &caller).await?;
    let req = q.list_request(&schema::DIRECTORY_AUDIT)?;
    // Newest first unless the client asks otherwise, as Graph returns audit logs.
    let newest_first = [OrderBy { prop: "activityDateTime".into(), descending: true }];
    let req = if req.orderby.is_empty() { ListRequest { orderby: &newest_first, ..req } } else { req };
    let page = s.store.list_audit(&req).await?;
    Ok(q.collection(CONTEXT, page.map(|a| directory_audit(&a)), req.offset))
}

pub async fn get(State(s): State<AppState>, caller: Caller, q: OData, Path(id): Path<String>) -> ApiResult<Response> {
    authorize(&s, &caller).await?;
    let a = found(s.store.get_audit(object_id(&id)?).await?, "directoryAudit", &id)?;
    Ok(q.entity(&format!("{CONTEXT}/$entity"), directory_audit(&a)))
}
