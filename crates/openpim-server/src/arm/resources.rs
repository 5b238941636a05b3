//! Generic resources: `PUT|GET|DELETE /subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/
//! {type}/{name}[/{childType}/{childName}...]?api-version=*` (any well-formed version: OpenPIM
//! does not know the providers), and the lists `GET /subscriptions/{s}/resources` and
//! `GET .../resourceGroups/{rg}/resources` with ARM's `$filter` (`azure_list_filter`) and `$top`.
//! Namespaces ARM itself serves (`Microsoft.Authorization`, `Microsoft.Management`,
//! `Microsoft.Resources`, `Microsoft.Subscription`) are not generic resources.
//!
//! PUT answers 201 (created) or 200 (replaced); DELETE 200, or 204 when there was nothing to
//! delete, as ARM does; the SDK's `begin_*_by_id` accept these without polling.

use super::{empty, json, ArmBody, ArmError, ArmRequest, ArmResult};
use crate::azure::resources::{self as service, ResourceInput};
use crate::state::AppState;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use openpim_core::azure_list_filter::ResourceFilter;
use openpim_core::azure_resources::Resource;
use openpim_core::scope::{ArmScope, ArmScopeKind};
use openpim_proto::arm::resources::GenericResource;
use serde_json::Value;

/// ARM's own namespaces: never generic resources.
const RESERVED_NAMESPACES: [&str; 4] =
    ["Microsoft.Authorization", "Microsoft.Management", "Microsoft.Resources", "Microsoft.Subscription"];

pub const API_VERSIONS: &[&str] = &[super::api_version::ANY];

/// `GET /subscriptions/{s}/resources` and `GET .../resourceGroups/{rg}/resources`: the
/// resources the caller may read there (as the resource-group list shows the groups the caller
/// may read), filtered, `$top` a page.
pub async fn handle_list(state: AppState, req: ArmRequest) -> ArmResult<Response> {
    let container = match req.path.parent.scope() {
        Some(scope)
            if matches!(scope.kind(), ArmScopeKind::ResourceGroup | ArmScopeKind::Subscription)
                && req.path.is_collection()
                && req.path.types.len() == 1 =>
        {
            scope.clone()
        }
        _ => return Err(unknown_type(&req)),
    };
    if req.method != Method::GET {
        return Err(ArmError::method_not_allowed(&req.method));
    }
    let filter = ResourceFilter::parse(req.query.filter())?;
    let paging = super::resource_groups::paging_with_top(&req)?;
    let all = match container.kind() {
        ArmScopeKind::Subscription => service::resources_in_subscription(&state, &req.caller, &container).await?,
        _ => service::resources_in(&state, &req.caller, &container).await?,
    };
    let items: Vec<GenericResource> = all
        .iter()
        .filter(|r| filter.keeps(&service::facts(r)))
        .map(|r| {
            let mut item = render(r, false);
            if filter.hides_tags() {
                // ARM: "the original tags for each resource will not be returned".
                item.tags = Default::default();
            }
            item
        })
        .collect();
    Ok(json(StatusCode::OK, &paging.page(items, &req, &state)))
}

/// One generic resource, by its id.
pub async fn handle(state: AppState, req: ArmRequest) -> ArmResult<Response> {
    let in_resource_group = req.path.parent.scope().is_some_and(|s| s.kind() == ArmScopeKind::ResourceGroup);
    if !in_resource_group || req.path.is_collection() || RESERVED_NAMESPACES.iter().any(|ns| req.path.in_namespace(ns))
    {
        return Err(unknown_type(&req));
    }
    let Some(id_text) = req.path.resource_id() else { return Err(unknown_type(&req)) };
    let id = super::path::parse_scope(&id_text)?;
    match req.method {
        Method::GET => Ok(json(StatusCode::OK, &render(&service::resource(&state, &req.caller, &id).await?, true))),
        Method::PUT => put(&state, &req, &id).await,
        Method::DELETE => {
            let deleted = service::delete_resource(&state, &req.caller, &id).await?;
            Ok(empty(if deleted { StatusCode::OK } else { StatusCode::NO_CONTENT }))
        }
        ref method => Err(ArmError::method_not_allowed(method)),
    }
}

fn unknown_type(req: &ArmRequest) -> ArmError {
    ArmError::invalid_resource_type(&req.path.types.join("/"), &req.path.namespace, Some(req.api_version.as_str()))
}

/// An opaque document: a JSON object kept as its text.
fn opaque_object(body: &mut ArmBody, key: &str) -> ArmResult<Option<String>> {
    match body.opaque(key) {
        None => Ok(None),
        Some(v @ Value::Object(_)) => Ok(Some(v.to_string())),
        Some(_) => Err(body.invalid(key, "expected a JSON object.")),
    }
}

async fn put(state: &AppState, req: &ArmRequest, id: &ArmScope) -> ArmResult<Response> {
    let mut body = req.json_body("GenericResource")?;
    for read_only in ["id", "name", "type"] {
        body.ignore(read_only);
    }
    let input = ResourceInput {
        location: body.string("location")?,
        tags: body.string_map("tags")?,
        kind: body.string("kind")?,
        sku: opaque_object(&mut body, "sku")?,
        properties: opaque_object(&mut body, "properties")?,
    };
    // ARM's other top-level members of generic resources are accepted and not kept.
    for ignored in ["plan", "identity", "managedBy", "extendedLocation", "zones", "etag"] {
        body.ignore(ignored);
    }
    body.finish()?;
    let (resource, created) = service::put_resource(state, &req.caller, id, input).await?;
    Ok(json(if created { StatusCode::CREATED } else { StatusCode::OK }, &render(&resource, true)))
}

fn render(r: &Resource, with_properties: bool) -> GenericResource {
    let parse = |text: &Option<String>| text.as_deref().and_then(|t| serde_json::from_str(t).ok());
    GenericResource {
        id: r.id.as_str().to_string(),
        name: r.name.clone(),
        kind: r.resource_type.clone(),
        location: r.location.clone(),
        tags: r.tags.clone(),
        resource_kind: r.kind.clone(),
        sku: parse(&r.sku),
        properties: if with_properties {
            Some(parse(&r.properties).unwrap_or_else(|| Value::Object(Default::default())))
        } else {
            None
        },
    }
}
