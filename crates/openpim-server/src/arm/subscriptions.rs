//! `GET /subscriptions` and `GET /subscriptions/{id}`. A caller sees the subscriptions it has any
//! Azure role at or above (at the subscription, or a management group above it), as ARM lists
//! them; a subscription it cannot see answers `SubscriptionNotFound`, whether it exists or not.
//! Subscriptions are registered through the OpenPIM extension (`routes::azure_subscriptions`),
//! not through ARM.

use super::{json, ArmError, ArmParent, ArmRequest, ArmResult};
use crate::azure::hierarchy;
use crate::state::AppState;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use openpim_core::azure_resources::Subscription;
use openpim_proto::arm::subscriptions as wire;

pub const API_VERSIONS: &[&str] = &["2022-12-01", "2020-01-01", "2021-01-01", "2016-06-01", "2019-11-01"];

pub async fn handle(state: AppState, req: ArmRequest) -> ArmResult<Response> {
    if req.path.parent != ArmParent::Tenant || req.path.types.len() > 1 {
        return Err(ArmError::invalid_resource_type(
            &req.path.types.join("/"),
            &req.path.namespace,
            Some(req.api_version.as_str()),
        ));
    }
    if req.method != Method::GET {
        return Err(ArmError::method_not_allowed(&req.method));
    }
    match req.path.name() {
        None => {
            let items: Vec<wire::Subscription> = hierarchy::visible_subscriptions(&state, &req.caller)
                .await?
                .iter()
                .map(|s| render(&state, s))
                .collect();
            Ok(json(StatusCode::OK, &req.paging()?.page(items, &req, &state)))
        }
        Some(id) => {
            let subscription = hierarchy::visible_subscription(&state, &req.caller, id).await?;
            Ok(json(StatusCode::OK, &render(&state, &subscription)))
        }
    }
}

/// ARM's subscription shape. The policies are fixed values: OpenPIM has no billing or regions,
/// and clients read these as opaque strings.
pub fn render(state: &AppState, s: &Subscription) -> wire::Subscription {
    wire::Subscription {
        id: format!("/subscriptions/{}", s.id),
        subscription_id: s.id.to_string(),
        tenant_id: state.tenant_id.to_string(),
        display_name: s.display_name.clone(),
        state: s.state.to_string(),
        subscription_policies: wire::SubscriptionPolicies {
            location_placement_id: "Public_2014-09-01".into(),
            quota_id: "OpenPIM_2026-01-01".into(),
            spending_limit: "Off".into(),
        },
        authorization_source: "RoleBased".into(),
        management_group_id: Some(s.management_group_id.clone()),
    }
}
