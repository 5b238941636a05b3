//! Generic resources in resource groups (`PUT|GET|DELETE {resourceId}`): OpenPIM keeps what
//! roles are scoped to, not what the resources do, so the type and name come from the path and
//! `location`, `tags`, `kind`, `sku` and `properties` are kept as sent. The Azure operation
//! checked is the resource type's own (`Microsoft.Storage/storageAccounts/write`), as ARM checks
//! it, at the resource's id.

use super::hierarchy::resource_type_of;
use super::{authorize, authorize_read, AUDIT_CATEGORY};
use crate::arm::{ArmCaller, ArmError, ArmResult};
use crate::state::{AppState, Audit};
use axum::http::StatusCode;
use openpim_core::azure_list_filter::ResourceFacts;
use openpim_core::azure_resources::{self as rules, not_found, Resource};
use openpim_core::scope::{ArmScope, ArmScopeKind, NoManagementGroups};
use std::collections::BTreeMap;

/// What a resource PUT asks for; documents are JSON text, checked to be bounded.
pub struct ResourceInput {
    pub location: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
    pub kind: Option<String>,
    pub sku: Option<String>,
    pub properties: Option<String>,
}

/// The resource group a resource id sits in.
fn resource_group_of(id: &ArmScope) -> Option<ArmScope> {
    id.ancestors(&NoManagementGroups).find(|s| s.kind() == ArmScopeKind::ResourceGroup)
}

fn name_of(id: &ArmScope) -> &str {
    id.as_str().rsplit('/').next().unwrap_or("")
}

fn group_name(rg: &ArmScope) -> &str {
    name_of(rg)
}

fn action(id: &ArmScope, verb: &str) -> String {
    format!("{}/{verb}", resource_type_of(id))
}

/// The resource group must exist (`ResourceGroupNotFound`), and so must a child resource's
/// parent (ARM's `ParentResourceNotFound`).
async fn check_container(state: &AppState, id: &ArmScope) -> ArmResult<ArmScope> {
    let rg = resource_group_of(id).ok_or_else(|| {
        ArmError::invalid_resource_type(&resource_type_of(id), "", None).with_status(StatusCode::BAD_REQUEST)
    })?;
    let subscription = id.subscription_id().unwrap_or_default();
    if state.store.get_subscription(subscription).await?.is_none() {
        return Err(not_found::subscription(&subscription.to_string()).into());
    }
    if state.store.get_resource_group(subscription, group_name(&rg)).await?.is_none() {
        return Err(not_found::resource_group(group_name(&rg)).into());
    }
    if let Some(parent) = id.parent().filter(|p| p.kind() == ArmScopeKind::Resource) {
        if state.store.get_resource(&parent).await?.is_none() {
            return Err(ArmError::new(
                StatusCode::NOT_FOUND,
                "ParentResourceNotFound",
                format!(
                    "Can not perform requested operation on nested resource. Parent resource '{}' not found.",
                    name_of(&parent)
                ),
            ));
        }
    }
    Ok(rg)
}

/// Reads a resource (`{type}/read` at it).
pub async fn resource(state: &AppState, caller: &ArmCaller, id: &ArmScope) -> ArmResult<Resource> {
    let rg = check_container(state, id).await?;
    authorize_read(state, caller, &action(id, "read"), id)?;
    state
        .store
        .get_resource(id)
        .await?
        .ok_or_else(|| not_found::resource(&resource_type_of(id), name_of(id), group_name(&rg)).into())
}

/// The resources of a resource group the caller may read (`resourceGroups/read` there, then
/// each resource's own read).
pub async fn resources_in(state: &AppState, caller: &ArmCaller, rg: &ArmScope) -> ArmResult<Vec<Resource>> {
    let subscription = rg.subscription_id().unwrap_or_default();
    if state.store.get_subscription(subscription).await?.is_none() {
        return Err(not_found::subscription(&subscription.to_string()).into());
    }
    authorize_read(state, caller, super::hierarchy::actions::RESOURCE_GROUP_READ, rg)?;
    if state.store.get_resource_group(subscription, group_name(rg)).await?.is_none() {
        return Err(not_found::resource_group(group_name(rg)).into());
    }
    let all = state.store.list_resources(rg).await?;
    Ok(all.into_iter().filter(|r| authorize_read(state, caller, &action(&r.id, "read"), &r.id).is_ok()).collect())
}

/// The resources of a subscription the caller may read (each resource's own read, at it or
/// above it). The subscription must exist (`SubscriptionNotFound`); as for the resource-group
/// list, a caller who may read nothing there gets an empty list.
pub async fn resources_in_subscription(
    state: &AppState,
    caller: &ArmCaller,
    subscription: &ArmScope,
) -> ArmResult<Vec<Resource>> {
    let id = subscription.subscription_id().unwrap_or_default();
    if state.store.get_subscription(id).await?.is_none() {
        return Err(not_found::subscription(&id.to_string()).into());
    }
    let all = state.store.list_resources_in_subscription(id).await?;
    Ok(all.into_iter().filter(|r| authorize_read(state, caller, &action(&r.id, "read"), &r.id).is_ok()).collect())
}

/// What a list `$filter` looks at in a resource.
pub fn facts(r: &Resource) -> ResourceFacts<'_> {
    ResourceFacts {
        resource_type: &r.resource_type,
        name: &r.name,
        location: r.location.as_deref(),
        resource_group: resource_group_name(&r.id),
        tags: &r.tags,
    }
}

/// The name of the resource group a resource id sits in (`""` if none).
fn resource_group_name(id: &ArmScope) -> &str {
    let text = id.as_str();
    let lower = id.key();
    lower
        .find("/resourcegroups/")
        .map(|at| {
            let start = at + "/resourcegroups/".len();
            let end = text[start..].find('/').map_or(text.len(), |e| start + e);
            &text[start..end]
        })
        .unwrap_or("")
}

/// Creates or replaces a resource (`{type}/write` at it). Returns it and whether it was created.
pub async fn put_resource(
    state: &AppState,
    caller: &ArmCaller,
    id: &ArmScope,
    input: ResourceInput,
) -> ArmResult<(Resource, bool)> {
    let rg = check_container(state, id).await?;
    let audit = Audit::new(AUDIT_CATEGORY, "Create or update resource", "Update").target(
        "Other",
        id.as_str(),
        Some(name_of(id)),
        None,
    );
    authorize(state, caller, &action(id, "write"), id, &audit).await?;
    for segment in id.as_str().rsplit_once("/providers/").map(|(_, r)| r).unwrap_or("").split('/').skip(1) {
        rules::validate_resource_name(segment)?;
    }
    let tags = input.tags.unwrap_or_default();
    rules::validate_tags(&tags)?;
    for (property, text) in [("properties", &input.properties), ("sku", &input.sku)] {
        if let Some(text) = text {
            rules::validate_opaque_size(property, text)?;
        }
    }
    let now = state.now();
    let mut tx = state.store.begin_write().await?;
    let existing = tx.resource_for_update(id).await?;
    let resource = Resource {
        id: existing.as_ref().map_or_else(|| id.clone(), |e| e.id.clone()),
        resource_type: resource_type_of(id),
        name: name_of(id).to_string(),
        location: input.location.map(|l| l.trim().to_string()).filter(|l| !l.is_empty()),
        tags,
        kind: input.kind,
        properties: input.properties,
        sku: input.sku,
        created: existing.as_ref().map_or(now, |e| e.created),
        modified: now,
    };
    tx.save_resource(&resource, &rg, existing.is_none()).await?;
    let (activity, operation) =
        if existing.is_some() { ("Update resource", "Update") } else { ("Create resource", "Add") };
    let audit = Audit::new(AUDIT_CATEGORY, activity, operation)
        .target("Other", resource.id.as_str(), Some(&resource.name), None)
        .detail("resourceType", &resource.resource_type);
    state.commit(tx, &audit.success(caller, now)).await?;
    Ok((resource, existing.is_none()))
}

/// Deletes a resource with its child resources and the role assignments at them (`{type}/delete`
/// at it). `false` when there was nothing to delete.
pub async fn delete_resource(state: &AppState, caller: &ArmCaller, id: &ArmScope) -> ArmResult<bool> {
    check_container(state, id).await?;
    let audit =
        Audit::new(AUDIT_CATEGORY, "Delete resource", "Delete").target("Other", id.as_str(), Some(name_of(id)), None);
    authorize(state, caller, &action(id, "delete"), id, &audit).await?;
    let now = state.now();
    let mut tx = state.store.begin_write().await?;
    let Some(resource) = tx.resource_for_update(id).await? else {
        tx.rollback().await?;
        return Ok(false);
    };
    let children = tx.delete_resource(&resource).await?;
    let audit = audit.detail("childResourcesDeleted", children);
    state.commit(tx, &audit.success(caller, now)).await?;
    Ok(true)
}
