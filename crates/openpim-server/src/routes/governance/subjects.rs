//! governanceSubject: the principal of an assignment or request (user, group or service
//! principal), by its object id.

use crate::auth::Authorized;
use crate::error::{ApiError, ApiResult};
use crate::odata::OData;
use crate::state::AppState;
use crate::wire::governance as wire;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use openpim_core::authz::cap;
use openpim_core::ObjectId;
use serde_json::Value;

pub const CONTEXT: &str = "governanceSubjects";

/// `SubjectNotFound` (400), as the beta docs answer a request for an unknown subject.
pub fn subject_not_found(id: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "SubjectNotFound", format!("The subject '{id}' was not found."))
}

/// The subject rendered, `null` when the principal no longer exists.
pub async fn render(s: &AppState, id: ObjectId) -> ApiResult<Value> {
    Ok(s.store.find_object(id).await?.map(|o| wire::json(&wire::subject(&o))).unwrap_or(Value::Null))
}

/// `GET /beta/governanceSubjects/{id}`: reading principals is reading the directory.
pub async fn get(
    State(s): State<AppState>,
    _auth: Authorized<cap::ReadDirectory>,
    q: OData,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let oid = ObjectId::parse_str(&id).map_err(|_| subject_not_found(&id))?;
    let v = render(&s, oid).await?;
    if v.is_null() {
        return Err(ApiError::not_found("governanceSubject", &id));
    }
    Ok(q.entity(&format!("{CONTEXT}/$entity"), v))
}
