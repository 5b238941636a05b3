//! The Azure resource hierarchy's operations: management groups, subscriptions, resource groups
//! and resources. Each write authorises through Azure RBAC ([`super::authorize`]) or an Entra
//! capability (subscriptions), then opens the write transaction, re-reads the facts deciding
//! the outcome inside it, lets core decide, and commits with its audit record; the
//! management-group tree in the index follows through the store's index updates (and on other
//! nodes through the change feed).
//!
//! [`exists`] is what other areas call to answer ARM's errors for a scope that does not exist.

use super::{authorize, authorize_read, AUDIT_CATEGORY};
use crate::arm::{ArmCaller, ArmError, ArmResult};
use crate::state::{AppState, Audit};
use axum::http::StatusCode;
use openpim_core::audit::AuditResult;
use openpim_core::authz::{cap, Granted};
use openpim_core::azure_resources::{
    self as rules, management_group_scope, not_found, ManagementGroup, ResourceGroup, Subscription, SubscriptionState,
};
use openpim_core::scope::{ArmScope, ArmScopeKind};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The Azure operations the hierarchy checks.
pub mod actions {
    pub const MANAGEMENT_GROUP_READ: &str = "Microsoft.Management/managementGroups/read";
    pub const MANAGEMENT_GROUP_WRITE: &str = "Microsoft.Management/managementGroups/write";
    pub const MANAGEMENT_GROUP_DELETE: &str = "Microsoft.Management/managementGroups/delete";
    pub const SUBSCRIPTION_MOVE: &str = "Microsoft.Management/managementGroups/subscriptions/write";
    /// Moving a subscription needs its owner: whoever may assign roles on it.
    pub const SUBSCRIPTION_OWN: &str = "Microsoft.Authorization/roleAssignments/write";
    pub const RESOURCE_GROUP_READ: &str = "Microsoft.Resources/subscriptions/resourceGroups/read";
    pub const RESOURCE_GROUP_WRITE: &str = "Microsoft.Resources/subscriptions/resourceGroups/write";
    pub const RESOURCE_GROUP_DELETE: &str = "Microsoft.Resources/subscriptions/resourceGroups/delete";
}

/// Answers ARM's error when `scope` names something OpenPIM does not hold: a management group
/// (`ManagementGroupNotFound`), a subscription (`SubscriptionNotFound`), a resource group
/// (`ResourceGroupNotFound`) or a resource (`ResourceNotFound`), checked from the top down.
pub async fn exists(state: &AppState, scope: &ArmScope) -> ArmResult<()> {
    let store = &state.store;
    if scope.kind() == ArmScopeKind::ManagementGroup {
        let id = management_group_id(scope);
        return match store.get_management_group(id).await? {
            Some(_) => Ok(()),
            None => Err(not_found::management_group(id).into()),
        };
    }
    let Some(subscription) = scope.subscription_id() else { return Ok(()) };
    if store.get_subscription(subscription).await?.is_none() {
        return Err(not_found::subscription(&subscription.to_string()).into());
    }
    let mut resource_group = None;
    for above in std::iter::once(scope.clone()).chain(scope.ancestors(&openpim_core::scope::NoManagementGroups)) {
        if above.kind() == ArmScopeKind::ResourceGroup {
            resource_group = Some(above);
        }
    }
    if let Some(rg) = &resource_group {
        let name = last_segment(rg);
        if store.get_resource_group(subscription, name).await?.is_none() {
            return Err(not_found::resource_group(name).into());
        }
    }
    if scope.kind() == ArmScopeKind::Resource && store.get_resource(scope).await?.is_none() {
        let rg_name = resource_group.as_ref().map(last_segment).unwrap_or("");
        return Err(not_found::resource(&resource_type_of(scope), last_segment(scope), rg_name).into());
    }
    Ok(())
}

/// The id in `/providers/Microsoft.Management/managementGroups/{id}`.
pub fn management_group_id(scope: &ArmScope) -> &str {
    last_segment(scope)
}

fn last_segment(scope: &ArmScope) -> &str {
    scope.as_str().rsplit('/').next().unwrap_or("")
}

/// `{namespace}/{type}[/{childType}...]` of a resource scope.
pub fn resource_type_of(scope: &ArmScope) -> String {
    let text = scope.as_str();
    let after = text.rsplit_once("/providers/").map(|(_, rest)| rest).unwrap_or("");
    let segments: Vec<&str> = after.split('/').collect();
    let Some((namespace, rest)) = segments.split_first() else { return String::new() };
    std::iter::once(*namespace).chain(rest.iter().step_by(2).copied()).collect::<Vec<_>>().join("/")
}

fn group_audit(activity: &'static str, operation: &'static str, group: &str, display_name: Option<&str>) -> Audit {
    let id = format!("/providers/Microsoft.Management/managementGroups/{group}");
    Audit::new(AUDIT_CATEGORY, activity, operation).target("Other", id, display_name, None)
}

/// Reads a management group the caller may read.
pub async fn management_group(state: &AppState, caller: &ArmCaller, id: &str) -> ArmResult<ManagementGroup> {
    let scope = management_group_scope(id)?;
    match state.store.get_management_group(id).await? {
        Some(group) => {
            authorize_read(state, caller, actions::MANAGEMENT_GROUP_READ, &scope)?;
            Ok(group)
        }
        None => Err(missing_group(state, caller, id, &scope)),
    }
}

/// A group that does not exist: `ManagementGroupNotFound` for a caller who may read the whole
/// tree (at the tenant root group), `AuthorizationFailed` at the group for anyone else, so the
/// answer tells nobody more than they may read.
fn missing_group(state: &AppState, caller: &ArmCaller, id: &str, scope: &ArmScope) -> ArmError {
    let root = management_group_scope(&state.tenant_id.to_string());
    match root.map(|root| authorize_read(state, caller, actions::MANAGEMENT_GROUP_READ, &root)) {
        Ok(Ok(_)) => not_found::management_group(id).into(),
        _ => ArmError::authorization_failed(caller.id(), actions::MANAGEMENT_GROUP_READ, scope.as_str()),
    }
}

/// The management groups the caller may read, ordered by id.
pub async fn management_groups(state: &AppState, caller: &ArmCaller) -> ArmResult<Vec<ManagementGroup>> {
    let groups = state.store.list_management_groups().await?;
    Ok(groups
        .into_iter()
        .filter(|g| g.scope().is_ok_and(|s| authorize_read(state, caller, actions::MANAGEMENT_GROUP_READ, &s).is_ok()))
        .collect())
}

/// The direct children of a group: its management groups and subscriptions.
pub async fn children_of(
    state: &AppState,
    group: &ManagementGroup,
) -> ArmResult<(Vec<ManagementGroup>, Vec<Subscription>)> {
    let key = group.id.to_ascii_lowercase();
    let groups = state.store.list_management_groups().await?;
    let subscriptions = state.store.list_subscriptions().await?;
    Ok((
        groups.into_iter().filter(|g| g.parent_id.as_deref().is_some_and(|p| p.eq_ignore_ascii_case(&key))).collect(),
        subscriptions.into_iter().filter(|s| s.management_group_id.eq_ignore_ascii_case(&key)).collect(),
    ))
}

/// What a management group PUT asks for.
pub struct GroupInput {
    pub display_name: Option<String>,
    /// The parent's id (bare or full); the tenant root group when absent on creation.
    pub parent: Option<String>,
}

/// A parent given as `/providers/Microsoft.Management/managementGroups/{id}` or as a bare id.
fn parent_id(raw: &str) -> ArmResult<String> {
    if raw.starts_with('/') {
        let scope = crate::arm::path::parse_scope(raw)?;
        if scope.kind() != ArmScopeKind::ManagementGroup {
            return Err(ArmError::invalid_content(format!("The parent '{raw}' is not a management group.")));
        }
        return Ok(management_group_id(&scope).to_string());
    }
    rules::validate_management_group_id(raw)?;
    Ok(raw.to_string())
}

/// Creates or updates a management group. Creating needs `managementGroups/write` at the parent;
/// changing one needs it at the group, and moving it also at the new parent. Returns the group
/// and whether it was created.
pub async fn put_management_group(
    state: &AppState,
    caller: &ArmCaller,
    id: &str,
    input: GroupInput,
) -> ArmResult<(ManagementGroup, bool)> {
    let scope = management_group_scope(id)?;
    let requested_parent = input.parent.as_deref().map(parent_id).transpose()?;
    if let Some(name) = &input.display_name {
        rules::validate_display_name(name)?;
    }
    let root_id = state.tenant_id.to_string();
    let before = state.store.get_management_group(id).await?;
    let parent = match (&before, &requested_parent) {
        (_, Some(p)) => Some(p.clone()),
        (Some(existing), None) => existing.parent_id.clone(),
        (None, None) => Some(root_id.clone()),
    };
    let moves = before.as_ref().is_some_and(|b| {
        b.parent_id.as_deref().map(str::to_ascii_lowercase) != parent.as_deref().map(str::to_ascii_lowercase)
    });
    let (activity, operation) =
        if before.is_some() { ("Update management group", "Update") } else { ("Create management group", "Add") };
    let audit = group_audit(activity, operation, id, input.display_name.as_deref());
    if before.is_some() {
        authorize(state, caller, actions::MANAGEMENT_GROUP_WRITE, &scope, &audit).await?;
    }
    if before.is_none() || moves {
        let parent_scope = management_group_scope(parent.as_deref().unwrap_or(&root_id))?;
        authorize(state, caller, actions::MANAGEMENT_GROUP_WRITE, &parent_scope, &audit).await?;
    }

    let now = state.now();
    let mut tx = state.store.begin_write().await?;
    let existing = tx.management_group_for_update(id).await?;
    if existing.is_some() != before.is_some() {
        tx.rollback().await?;
        return Err(ArmError::new(StatusCode::CONFLICT, "Conflict", "The management group changed meanwhile; retry."));
    }
    let refuse = |e: openpim_core::DomainError| ArmError::from(e);
    let outcome: ArmResult<ManagementGroup> = async {
        if let Some(existing) = &existing {
            if existing.is_root() && requested_parent.is_some_and(|p| !p.eq_ignore_ascii_case(&existing.id)) {
                return Err(ArmError::new(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "The tenant root group cannot be moved.",
                ));
            }
        }
        let parent = match &existing {
            Some(e) if e.is_root() => None,
            _ => parent.clone(),
        };
        if let Some(parent) = &parent {
            if tx.management_group_for_update(parent).await?.is_none() {
                return Err(ArmError::new(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    format!("The parent management group '{parent}' could not be found."),
                ));
            }
            let tree = tx.management_group_tree().await?;
            rules::check_parent(&tree, &scope, &management_group_scope(parent)?).map_err(refuse)?;
        }
        let display_name = input
            .display_name
            .clone()
            .or_else(|| existing.as_ref().map(|e| e.display_name.clone()))
            .unwrap_or_else(|| id.to_string());
        Ok(ManagementGroup {
            id: existing.as_ref().map_or_else(|| id.to_string(), |e| e.id.clone()),
            display_name,
            parent_id: parent,
            updated: now,
            updated_by: Some(caller.id()),
        })
    }
    .await;
    let group = match outcome {
        Ok(group) => group,
        Err(e) => {
            tx.rollback().await?;
            if e.status == StatusCode::BAD_REQUEST {
                state.record_audit(&audit.record(caller, now, AuditResult::Failure, &e.message)).await;
            }
            return Err(e);
        }
    };
    tx.save_management_group(&group, existing.is_none()).await?;
    let audit = match &existing {
        Some(old) => audit
            .modified("displayName", Some(json_text(&old.display_name)), Some(json_text(&group.display_name)))
            .modified("parent", old.parent_id.as_deref().map(json_text), group.parent_id.as_deref().map(json_text)),
        None => audit,
    };
    state.commit(tx, &audit.success(caller, now)).await?;
    Ok((group, existing.is_none()))
}

fn json_text(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// Deletes an empty management group (`managementGroups/delete` at it), with the role
/// assignments made at it.
pub async fn delete_management_group(state: &AppState, caller: &ArmCaller, id: &str) -> ArmResult<ManagementGroup> {
    let scope = management_group_scope(id)?;
    if state.store.get_management_group(id).await?.is_none() {
        return Err(missing_group(state, caller, id, &scope));
    }
    let audit = group_audit("Delete management group", "Delete", id, None);
    authorize(state, caller, actions::MANAGEMENT_GROUP_DELETE, &scope, &audit).await?;
    let now = state.now();
    let mut tx = state.store.begin_write().await?;
    let Some(group) = tx.management_group_for_update(id).await? else {
        tx.rollback().await?;
        return Err(not_found::management_group(id).into());
    };
    let (groups, subscriptions) = tx.management_group_children(id).await?;
    if let Err(refused) = rules::check_deletable(&group, groups, subscriptions) {
        tx.rollback().await?;
        state.record_audit(&audit.record(caller, now, AuditResult::Failure, &refused.message)).await;
        return Err(refused.into());
    }
    tx.delete_management_group(&group).await?;
    let audit = group_audit("Delete management group", "Delete", &group.id, Some(&group.display_name));
    state.commit(tx, &audit.success(caller, now)).await?;
    Ok(group)
}

/// Registers a subscription (or renames it, or moves it to another management group): the
/// OpenPIM extension, for Global Administrators. Returns it and whether it was created.
pub async fn register_subscription(
    state: &AppState,
    caller: &crate::auth::Caller,
    _granted: &Granted<cap::RegisterAzureSubscriptions>,
    id: Uuid,
    display_name: &str,
    management_group: Option<&str>,
) -> ArmResult<(Subscription, bool)> {
    rules::validate_display_name(display_name)?;
    let group = management_group.map(parent_id).transpose()?.unwrap_or_else(|| state.tenant_id.to_string());
    let now = state.now();
    let full_id = format!("/subscriptions/{id}");
    let mut tx = state.store.begin_write().await?;
    let existing = tx.subscription_for_update(id).await?;
    let Some(group) = tx.management_group_for_update(&group).await? else {
        tx.rollback().await?;
        return Err(ArmError::from(not_found::management_group(&group)).with_status(StatusCode::BAD_REQUEST));
    };
    let subscription = Subscription {
        id,
        display_name: display_name.to_string(),
        management_group_id: group.id.clone(),
        state: existing.as_ref().map_or(SubscriptionState::Enabled, |e| e.state),
        created: existing.as_ref().map_or(now, |e| e.created),
        modified: now,
    };
    tx.save_subscription(&subscription, existing.is_none()).await?;
    let (activity, operation) = if existing.is_some() {
        ("Update Azure subscription", "Update")
    } else {
        ("Register Azure subscription", "Add")
    };
    let mut audit = Audit::new(AUDIT_CATEGORY, activity, operation)
        .target("Other", &full_id, Some(display_name), None)
        .detail("managementGroupId", &group.id);
    if let Some(old) = &existing {
        audit = audit
            .modified("displayName", Some(json_text(&old.display_name)), Some(json_text(display_name)))
            .modified("managementGroupId", Some(json_text(&old.management_group_id)), Some(json_text(&group.id)));
    }
    state.commit(tx, &audit.success(caller, now)).await?;
    Ok((subscription, existing.is_none()))
}

/// The subscriptions the caller has any role at or above (ARM's rule for `GET /subscriptions`).
pub async fn visible_subscriptions(state: &AppState, caller: &ArmCaller) -> ArmResult<Vec<Subscription>> {
    let all = state.store.list_subscriptions().await?;
    let index = state.index();
    let now = state.now();
    Ok(all.into_iter().filter(|s| index.holds_any_role_covering(caller.id(), &s.scope(), now)).collect())
}

/// One subscription, if the caller has a role at or above it; otherwise `SubscriptionNotFound`
/// whether it exists or not (a caller without access learns nothing about it).
pub async fn visible_subscription(state: &AppState, caller: &ArmCaller, id: &str) -> ArmResult<Subscription> {
    let missing = || ArmError::from(not_found::subscription(id));
    let Some(uuid) = (id.len() == 36).then(|| Uuid::try_parse(id).ok()).flatten() else {
        return Err(crate::arm::path::invalid_subscription_id(id));
    };
    let subscription = state.store.get_subscription(uuid).await?.ok_or_else(missing)?;
    if state.index().holds_any_role_covering(caller.id(), &subscription.scope(), state.now()) {
        Ok(subscription)
    } else {
        Err(missing())
    }
}

/// The subscription a resource-group or resource request names, which must exist.
async fn require_subscription(state: &AppState, id: Uuid) -> ArmResult<Subscription> {
    state.store.get_subscription(id).await?.ok_or_else(|| not_found::subscription(&id.to_string()).into())
}

fn resource_group_audit(activity: &'static str, operation: &'static str, scope: &ArmScope) -> Audit {
    Audit::new(AUDIT_CATEGORY, activity, operation).target("Other", scope.as_str(), Some(last_segment(scope)), None)
}

/// Reads a resource group (`resourceGroups/read` at it).
pub async fn resource_group(
    state: &AppState,
    caller: &ArmCaller,
    subscription: Uuid,
    name: &str,
) -> ArmResult<ResourceGroup> {
    require_subscription(state, subscription).await?;
    let scope = rules::resource_group_scope(subscription, name)?;
    authorize_read(state, caller, actions::RESOURCE_GROUP_READ, &scope)?;
    state.store.get_resource_group(subscription, name).await?.ok_or_else(|| not_found::resource_group(name).into())
}

/// The resource groups of a subscription the caller may read.
pub async fn resource_groups(
    state: &AppState,
    caller: &ArmCaller,
    subscription: Uuid,
) -> ArmResult<Vec<ResourceGroup>> {
    require_subscription(state, subscription).await?;
    let groups = state.store.list_resource_groups(subscription).await?;
    Ok(groups
        .into_iter()
        .filter(|g| g.scope().is_ok_and(|s| authorize_read(state, caller, actions::RESOURCE_GROUP_READ, &s).is_ok()))
        .collect())
}

/// What a resource group PUT asks for.
pub struct ResourceGroupInput {
    pub location: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
    pub managed_by: Option<String>,
}

/// Creates or updates a resource group (`resourceGroups/write` at it). Its location cannot
/// change. Returns it and whether it was created.
pub async fn put_resource_group(
    state: &AppState,
    caller: &ArmCaller,
    subscription: Uuid,
    name: &str,
    input: ResourceGroupInput,
) -> ArmResult<(ResourceGroup, bool)> {
    require_subscription(state, subscription).await?;
    let scope = rules::resource_group_scope(subscription, name)?;
    let audit = resource_group_audit("Create or update resource group", "Update", &scope);
    authorize(state, caller, actions::RESOURCE_GROUP_WRITE, &scope, &audit).await?;
    let location = rules::validate_location(input.location.as_deref())?;
    let tags = input.tags.unwrap_or_default();
    rules::validate_tags(&tags)?;
    let now = state.now();
    let mut tx = state.store.begin_write().await?;
    let existing = tx.resource_group_for_update(&scope).await?;
    if let Some(existing) = &existing {
        if let Err(refused) = rules::check_same_location(existing, &location) {
            tx.rollback().await?;
            return Err(refused.into());
        }
    }
    let group = ResourceGroup {
        subscription_id: subscription,
        name: existing.as_ref().map_or_else(|| name.to_string(), |e| e.name.clone()),
        location: existing.as_ref().map_or(location, |e| e.location.clone()),
        tags,
        managed_by: input.managed_by,
        created: existing.as_ref().map_or(now, |e| e.created),
        modified: now,
    };
    tx.save_resource_group(&group, existing.is_none()).await?;
    let (activity, operation) =
        if existing.is_some() { ("Update resource group", "Update") } else { ("Create resource group", "Add") };
    let audit = resource_group_audit(activity, operation, &scope).detail("location", &group.location);
    state.commit(tx, &audit.success(caller, now)).await?;
    Ok((group, existing.is_none()))
}

/// Deletes a resource group with its resources and the role assignments at or below it
/// (`resourceGroups/delete` at it).
pub async fn delete_resource_group(
    state: &AppState,
    caller: &ArmCaller,
    subscription: Uuid,
    name: &str,
) -> ArmResult<()> {
    require_subscription(state, subscription).await?;
    let scope = rules::resource_group_scope(subscription, name)?;
    let audit = resource_group_audit("Delete resource group", "Delete", &scope);
    authorize(state, caller, actions::RESOURCE_GROUP_DELETE, &scope, &audit).await?;
    let now = state.now();
    let mut tx = state.store.begin_write().await?;
    let Some(group) = tx.resource_group_for_update(&scope).await? else {
        tx.rollback().await?;
        return Err(not_found::resource_group(name).into());
    };
    let resources = tx.delete_resource_group(&group).await?;
    let audit = audit.detail("resourcesDeleted", resources);
    state.commit(tx, &audit.success(caller, now)).await?;
    Ok(())
}

/// Moves a registered subscription into management group `group` (ARM's `PUT .../managementGroups/
/// {group}/subscriptions/{id}`; `DELETE` moves it back to the root group). As Azure documents it,
/// the caller needs write rights on the subscription's old and new groups
/// (`managementGroups/subscriptions/write`) and to own the subscription (role assignments write
/// there).
/// With `from`, the subscription must be in that group now (404 `SubscriptionNotFound` if not).
pub async fn move_subscription(
    state: &AppState,
    caller: &ArmCaller,
    group: &str,
    id: &str,
    from: Option<&str>,
) -> ArmResult<Subscription> {
    let Some(subscription_id) = (id.len() == 36).then(|| Uuid::try_parse(id).ok()).flatten() else {
        return Err(crate::arm::path::invalid_subscription_id(id));
    };
    let target = management_group_scope(group)?;
    let before = require_subscription(state, subscription_id).await?;
    if from.is_some_and(|from| !from.eq_ignore_ascii_case(&before.management_group_id)) {
        return Err(not_found::subscription(id).into());
    }
    let audit = Audit::new(AUDIT_CATEGORY, "Move subscription to management group", "Update")
        .target("Other", format!("/subscriptions/{subscription_id}"), Some(&before.display_name), None)
        .detail("managementGroupId", group);
    let current = management_group_scope(&before.management_group_id)?;
    for scope in [&target, &current] {
        authorize(state, caller, actions::SUBSCRIPTION_MOVE, scope, &audit).await?;
    }
    authorize(state, caller, actions::SUBSCRIPTION_OWN, &before.scope(), &audit).await?;
    let now = state.now();
    let mut tx = state.store.begin_write().await?;
    let Some(existing) = tx.subscription_for_update(subscription_id).await? else {
        tx.rollback().await?;
        return Err(not_found::subscription(id).into());
    };
    if !existing.management_group_id.eq_ignore_ascii_case(&before.management_group_id) {
        tx.rollback().await?;
        return Err(ArmError::new(StatusCode::CONFLICT, "Conflict", "The subscription moved meanwhile; retry."));
    }
    let Some(target_group) = tx.management_group_for_update(group).await? else {
        tx.rollback().await?;
        return Err(not_found::management_group(group).into());
    };
    let moved = Subscription { management_group_id: target_group.id.clone(), modified: now, ..existing.clone() };
    tx.save_subscription(&moved, false).await?;
    let audit = audit.modified(
        "managementGroupId",
        Some(json_text(&existing.management_group_id)),
        Some(json_text(&target_group.id)),
    );
    state.commit(tx, &audit.success(caller, now)).await?;
    Ok(moved)
}

/// A subscription as seen under a management group (ARM's `GET .../managementGroups/{group}/
/// subscriptions/{id}`): `managementGroups/read` at the group, and the subscription in it.
pub async fn subscription_in_group(
    state: &AppState,
    caller: &ArmCaller,
    group: &str,
    id: &str,
) -> ArmResult<Subscription> {
    let found = management_group(state, caller, group).await?;
    let Some(subscription_id) = (id.len() == 36).then(|| Uuid::try_parse(id).ok()).flatten() else {
        return Err(crate::arm::path::invalid_subscription_id(id));
    };
    match state.store.get_subscription(subscription_id).await? {
        Some(s) if s.management_group_id.eq_ignore_ascii_case(&found.id) => Ok(s),
        _ => Err(not_found::subscription(id).into()),
    }
}
