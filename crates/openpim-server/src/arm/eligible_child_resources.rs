//! `GET {scope}/providers/Microsoft.Authorization/eligibleChildResources?$filter=resourceType eq
//! '...'` (api-version 2020-10-01): the scopes at and below `scope` where the caller can
//! activate an eligibility (one held at that scope or above it, directly or through a group).
//! Each item's `id` is a scope a `SelfActivate` can name.

use super::{json, ArmError, ArmRequest, ArmResult};
use crate::azure::pim::{self as service, PimFilter};
use crate::azure::scope_labels;
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
    let mut items = Vec::with_capacity(scopes.len());
    for at in &scopes {
        let label = scope_labels::label(&s, at).await?;
        let wanted = filter.resource_types.is_empty()
            || filter.resource_types.iter().any(|t| scope_labels::matches_type(&label, at.kind(), t));
        if wanted {
            // Azure names each by its display name (`Pay-As-You-Go`), not its id's last segment.
            items.push(EligibleChildResource {
                id: at.to_string(),
                name: label.display_name,
                resource_type: label.scope_type,
            });
        }
    }
    Ok(json(StatusCode::OK, &req.paging()?.page(items, &req, &s)))
}
