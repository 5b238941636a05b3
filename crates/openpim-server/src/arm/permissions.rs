//! `GET {scope}/providers/Microsoft.Authorization/permissions`: the caller's own permissions at
//! ARM's root `/` (no scope in the path), a management group, subscription, resource group or
//! resource, one entry per permission block
//! of each Azure role assigned to them (or to a security group they are in) at the scope or
//! above. Anyone may ask about themselves, as in Azure.

use super::{json, ArmError, ArmRequest, ArmResult};
use crate::state::AppState;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use openpim_core::azure_assignment::{permissions_at, PermissionBlock};
use openpim_core::scope::ArmScope;
use openpim_proto::arm::permissions::Permission;

pub const API_VERSIONS: &[&str] =
    &["2022-04-01", "2015-07-01", "2018-01-01-preview", "2018-07-01", "2018-09-01-preview", "2022-05-01-preview"];

pub async fn handle(s: AppState, req: ArmRequest) -> ArmResult<Response> {
    if req.method != Method::GET {
        return Err(ArmError::method_not_allowed(&req.method));
    }
    if req.path.types.len() != 1 || !req.path.is_collection() {
        return Err(ArmError::invalid_resource_type(
            &req.path.types.join("/"),
            &req.path.namespace,
            Some(req.api_version.as_str()),
        ));
    }
    let scope = req.path.parent.scope().cloned().unwrap_or_else(ArmScope::root);
    let blocks = {
        let index = s.index();
        // A disabled account holds nothing (as the access check answers).
        permissions_at(&index, req.caller.id(), &scope, s.now())
    };
    let all: Vec<Permission> = blocks.into_iter().map(render).collect();
    let page = req.paging()?.page(all, &req, &s);
    Ok(json(StatusCode::OK, &page))
}

fn render(b: PermissionBlock) -> Permission {
    Permission {
        actions: b.actions,
        not_actions: b.not_actions,
        data_actions: b.data_actions,
        not_data_actions: b.not_data_actions,
    }
}
