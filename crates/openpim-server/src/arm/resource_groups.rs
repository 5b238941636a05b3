//! `/subscriptions/{s}/resourcegroups[/{rg}]`: list, get, check existence (HEAD), create or
//! update, delete. Authorization is Azure RBAC: `Microsoft.Resources/subscriptions/
//! resourceGroups/read|write|delete` at the resource group (Owner, Contributor and Reader grant
//! them through their wildcards, from the group, the subscription or a management group above).
//!
//! PUT answers 201 when it created the group and 200 when it updated it; DELETE is synchronous
//! and answers 200 (azure-mgmt-resource's `begin_delete` accepts 200 and finishes without
//! polling).

use super::{empty, json, ArmError, ArmRequest, ArmResult};
use crate::azure::hierarchy::{self, ResourceGroupInput};
use crate::state::AppState;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use openpim_core::azure_list_filter::ResourceGroupFilter;
use openpim_core::azure_resources::ResourceGroup;
use openpim_core::scope::ArmScopeKind;
use openpim_proto::arm::resource_groups::{self as wire, TYPE};
use uuid::Uuid;

/// Microsoft.Resources versions in use by the SDKs and the `az` CLI.
pub const API_VERSIONS: &[&str] = &[
    "2021-04-01",
    "2016-02-01",
    "2016-09-01",
    "2017-05-10",
    "2018-02-01",
    "2018-05-01",
    "2019-03-01",
    "2019-05-01",
    "2019-05-10",
    "2019-07-01",
    "2019-08-01",
    "2019-10-01",
    "2020-06-01",
    "2020-10-01",
    "2021-01-01",
    "2022-09-01",
    "2023-07-01",
    "2024-03-01",
    "2024-07-01",
    "2024-11-01",
    "2025-03-01",
    "2025-04-01",
];

pub async fn handle(state: AppState, req: ArmRequest) -> ArmResult<Response> {
    let subscription = match req.path.parent.scope() {
        Some(scope) if scope.kind() == ArmScopeKind::Subscription && req.path.types.len() == 1 => {
            scope.subscription_id().unwrap_or_default()
        }
        _ => {
            return Err(ArmError::invalid_resource_type(
                &req.path.types.join("/"),
                &req.path.namespace,
                Some(req.api_version.as_str()),
            ))
        }
    };
    match (req.method.clone(), req.path.name().map(str::to_string)) {
        (Method::GET, None) => {
            // ARM filters resource groups by tag only (`ResourceGroups_List`); `$top` is the page size.
            let filter = ResourceGroupFilter::parse(req.query.filter())?;
            let paging = paging_with_top(&req)?;
            let groups = hierarchy::resource_groups(&state, &req.caller, subscription).await?;
            let items: Vec<wire::ResourceGroup> = groups.iter().filter(|g| filter.keeps(&g.tags)).map(render).collect();
            Ok(json(StatusCode::OK, &paging.page(items, &req, &state)))
        }
        (Method::GET, Some(name)) => {
            let group = hierarchy::resource_group(&state, &req.caller, subscription, &name).await?;
            Ok(json(StatusCode::OK, &render(&group)))
        }
        (Method::HEAD, Some(name)) => head(&state, &req, subscription, &name).await,
        (Method::PUT, Some(name)) => put(&state, &req, subscription, &name).await,
        (Method::DELETE, Some(name)) => {
            hierarchy::delete_resource_group(&state, &req.caller, subscription, &name).await?;
            Ok(empty(StatusCode::OK))
        }
        (method, _) => Err(ArmError::method_not_allowed(&method)),
    }
}

/// The page a list request asks for, `$top` items long when it gives one.
pub(super) fn paging_with_top(req: &ArmRequest) -> ArmResult<super::Paging> {
    let paging = req.paging()?;
    Ok(match req.query.top()? {
        Some(top) => paging.with_size(top),
        None => paging,
    })
}

/// 204 when the group exists, 404 when not (ARM's `checkExistence`; no body either way).
async fn head(state: &AppState, req: &ArmRequest, subscription: Uuid, name: &str) -> ArmResult<Response> {
    match hierarchy::resource_group(state, &req.caller, subscription, name).await {
        Ok(_) => Ok(empty(StatusCode::NO_CONTENT)),
        Err(e) if e.status == StatusCode::NOT_FOUND => Ok(empty(StatusCode::NOT_FOUND)),
        Err(e) => Err(e),
    }
}

async fn put(state: &AppState, req: &ArmRequest, subscription: Uuid, name: &str) -> ArmResult<Response> {
    let mut body = req.json_body("ResourceGroup")?;
    for read_only in ["id", "name", "type"] {
        body.ignore(read_only);
    }
    let input = ResourceGroupInput {
        location: body.string("location")?,
        tags: body.string_map("tags")?,
        managed_by: body.string("managedBy")?,
    };
    if let Some(mut props) = body.object("properties", "ResourceGroupProperties")? {
        props.ignore("provisioningState");
        props.finish()?;
    }
    body.finish()?;
    let (group, created) = hierarchy::put_resource_group(state, &req.caller, subscription, name, input).await?;
    Ok(json(if created { StatusCode::CREATED } else { StatusCode::OK }, &render(&group)))
}

pub fn render(g: &ResourceGroup) -> wire::ResourceGroup {
    wire::ResourceGroup {
        id: format!("/subscriptions/{}/resourceGroups/{}", g.subscription_id, g.name),
        name: g.name.clone(),
        kind: TYPE.into(),
        location: g.location.clone(),
        managed_by: g.managed_by.clone(),
        tags: g.tags.clone(),
        properties: wire::ResourceGroupProperties { provisioning_state: "Succeeded".into() },
    }
}
