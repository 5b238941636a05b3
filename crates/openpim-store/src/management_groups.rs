//! The management groups above an ARM scope, read from the store inside a write (for invariants,
//! which run on the transaction's own view and cannot ask the in-memory index).

use crate::codec::RowExt;
use crate::{StoreError, StoreResult};
use openpim_core::scope::{ArmScope, ArmScopeKind, NoManagementGroups, MAX_MANAGEMENT_GROUP_DEPTH};
use sqlx::AnyConnection;

/// The key prefix of a management group's scope (`ArmScope::key` of
/// `/providers/Microsoft.Management/managementGroups/{id}`).
const GROUP_KEY_PREFIX: &str = "/providers/microsoft.management/managementgroups/";

/// The keys of `scope` and of every scope above it, nearest first: those its string names, then
/// the management groups above its subscription (or above the management group itself), from
/// `azure_subscriptions` and `azure_management_groups`. Bounded like the index's walk.
pub(crate) async fn self_and_ancestor_keys(conn: &mut AnyConnection, scope: &ArmScope) -> StoreResult<Vec<String>> {
    let mut keys: Vec<String> = scope.self_and_ancestor_keys(&NoManagementGroups).map(str::to_string).collect();
    let mut group = match (scope.kind(), scope.subscription_id()) {
        (ArmScopeKind::ManagementGroup, _) => parent_of_group(conn, &scope.key()[GROUP_KEY_PREFIX.len()..]).await?,
        (_, Some(subscription)) => {
            let row = sqlx::query("SELECT management_group_key FROM azure_subscriptions WHERE id = $1")
                .bind(subscription.to_string())
                .fetch_optional(&mut *conn)
                .await
                .map_err(StoreError::Db)?;
            row.map(|r| r.text("management_group_key")).transpose()?
        }
        _ => None,
    };
    while let Some(id_key) = group.take() {
        if keys.len() > MAX_MANAGEMENT_GROUP_DEPTH + 8 {
            break;
        }
        keys.push(format!("{GROUP_KEY_PREFIX}{id_key}"));
        group = parent_of_group(conn, &id_key).await?;
    }
    Ok(keys)
}

async fn parent_of_group(conn: &mut AnyConnection, id_key: &str) -> StoreResult<Option<String>> {
    let row = sqlx::query("SELECT parent_key FROM azure_management_groups WHERE id_key = $1")
        .bind(id_key.to_string())
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::Db)?;
    Ok(row.map(|r| r.opt_text("parent_key")).transpose()?.flatten())
}
