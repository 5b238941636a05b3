//! `GET {scope}/providers/Microsoft.Authorization/eligibleChildResources?$filter=resourceType eq
//! '...'` (api-version 2020-10-01): the scopes at and below `scope` where the caller can
//! activate an eligibility (one held at that scope or above it, directly or through a group).
//! Each item's `id` is a scope a `SelfActivate` can name.

use super::{json, ArmError, ArmRequest, ArmResult};
use crate::azure::pim::{self as service, PimFilter};
use crate::state::AppState;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use openpim_proto::arm::pim::EligibleChildResource;

pub use super::schedule_requests::API_VERSIONS;

pub async fn handle(s: AppState, req: ArmRequest) -> ArmResult<Response> {
    if req.path.types.len() != 1 || req.path.name().is_some() {
        return Err(ArmError::invalid_resource_type(
            &req.path.types.join("/"),
            &req.path.namespace,
            Some(req.api_version.as_str()),
        ));
    }
    if req.method != Method::GET {
        return Err(ArmError::method_not_allowed(&req.method));
    }
    let scope = req.path.parent.scope().cloned().ok_or_else(|| {
        ArmError::new(
            StatusCode::BAD_REQUEST,
            "InvalidScope",
            "eligibleChildResources is read at a management group, subscription, resource group or resource.",
        )
    })?;
    let filter = PimFilter::parse(req.query.filter())?;
    let scopes = service::eligible_child_resources(&s, &req.caller, &scope).await?;
    let items: Vec<EligibleChildResource> = scopes
        .iter()
        .map(|at| {
            let resource_type = service::scope_type(at);
            EligibleChildResource {
                id: at.to_string(),
                name: at.as_str().rsplit('/').next().unwrap_or_default().to_string(),
                resource_type,
            }
        })
        .filter(|item| filter.resource_types.is_empty() || filter.resource_types.contains(&item.resource_type))
        .collect();
    Ok(json(StatusCode::OK, &req.paging()?.page(items, &req, &s)))
}
