//! `POST /providers/Microsoft.Authorization/elevateAccess`: a Global Administrator of the
//! directory gives themselves User Access Administrator over every management group and
//! subscription (see `azure::elevate_access`). 200 with an empty body, as ARM answers.

use super::{ArmError, ArmRequest, ArmResult};
use crate::azure::elevate_access;
use crate::state::AppState;
use axum::http::{Method, StatusCode};
use axum::response::Response;

/// The documented version is 2016-07-01; azure-mgmt-authorization's
/// `global_administrator.elevate_access()` sends 2015-07-01.
pub const API_VERSIONS: &[&str] = &["2016-07-01", "2015-07-01", "2017-05-01"];

pub async fn handle(s: AppState, req: ArmRequest) -> ArmResult<Response> {
    if req.path.parent.scope().is_some() || req.path.types.len() != 1 || !req.path.is_collection() {
        return Err(ArmError::invalid_resource_type(
            &req.path.types.join("/"),
            &req.path.namespace,
            Some(req.api_version.as_str()),
        ));
    }
    if req.method != Method::POST {
        return Err(ArmError::method_not_allowed(&req.method));
    }
    elevate_access::elevate(&s, &req.caller).await?;
    Ok(super::empty(StatusCode::OK))
}
