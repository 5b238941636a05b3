//! How ARM's PIM answers name a scope (`expandedProperties.scope`, `eligibleChildResources`,
//! `policyProperties.scope`): Azure gives the resource's display name and type, not its id's last
//! segment, so they are read from the hierarchy the server holds: a management group's and a
//! subscription's `displayName`, a resource group's name as created, a resource's name and type.
//! A scope that no longer exists (a schedule outliving its resource group) falls back to its
//! id's last segment, and the type its kind implies.

use super::hierarchy::{management_group_id, resource_type_of};
use crate::arm::ArmResult;
use crate::state::AppState;
use openpim_core::scope::{ArmScope, ArmScopeKind};

/// A scope's `displayName` and `type` as Azure writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeLabel {
    pub display_name: String,
    /// `managementgroup`, `subscription`, `resourcegroup`, a resource's type
    /// (`Microsoft.Compute/virtualMachines`), or `root` for ARM's root.
    pub scope_type: String,
}

/// The label of `scope`: one primary-key read of the store (none at the root).
pub async fn label(state: &AppState, scope: &ArmScope) -> ArmResult<ScopeLabel> {
    let store = &state.store;
    let last = || scope.as_str().rsplit('/').next().unwrap_or_default().to_string();
    let (display_name, scope_type) = match scope.kind() {
        // ARM's root has no resource behind it; the web UI and the policies call it Root.
        ArmScopeKind::Root => ("Root".to_string(), "root".to_string()),
        ArmScopeKind::ManagementGroup => {
            let group = store.get_management_group(management_group_id(scope)).await?;
            (group.map_or_else(last, |g| g.display_name), "managementgroup".to_string())
        }
        ArmScopeKind::Subscription => {
            let subscription = match scope.subscription_id() {
                Some(id) => store.get_subscription(id).await?,
                None => None,
            };
            (subscription.map_or_else(last, |s| s.display_name), "subscription".to_string())
        }
        ArmScopeKind::ResourceGroup => {
            let group = match scope.subscription_id() {
                Some(id) => store.get_resource_group(id, &last()).await?,
                None => None,
            };
            (group.map_or_else(last, |g| g.name), "resourcegroup".to_string())
        }
        ArmScopeKind::Resource => match store.get_resource(scope).await? {
            Some(resource) => (resource.name, resource.resource_type),
            None => (last(), resource_type_of(scope)),
        },
    };
    Ok(ScopeLabel { display_name, scope_type })
}

/// True when `label` answers a `resourceType eq '...'` filter value (lowercased by the parser):
/// its own type, or `resource` for any resource, the kind OpenPIM answered before resources
/// carried their type.
pub fn matches_type(label: &ScopeLabel, kind: ArmScopeKind, wanted: &str) -> bool {
    label.scope_type.eq_ignore_ascii_case(wanted) || (kind == ArmScopeKind::Resource && wanted == "resource")
}
