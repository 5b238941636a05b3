//! Azure RBAC authorization: the caller must hold an Azure role whose `actions` (minus its
//! `notActions`) match the ARM operation, assigned at the target scope or any scope above it
//! (resource group, subscription, management groups), in effect now. The same access index
//! answers as for directory roles (`AccessIndex::check_permission`).

use crate::access::{AccessIndex, AccessPath};
use crate::roles::Permission;
use crate::scope::{ArmScope, Scope};
use crate::{Instant, ObjectId};

/// Proof that `caller` may perform the Azure control-plane `action` at `scope` (checked now).
/// Private fields and one constructor, [`grant_azure`]: an operation taking one cannot run
/// unchecked.
///
/// ```compile_fail
/// use openpim_core::authz::AzureGranted;
/// let forged = AzureGranted { caller: uuid::Uuid::nil(), action: "*".into(), scope: todo!(), path: todo!() };
/// ```
#[derive(Debug, Clone)]
pub struct AzureGranted {
    caller: ObjectId,
    action: String,
    scope: ArmScope,
    path: AccessPath,
}

impl AzureGranted {
    pub fn caller(&self) -> ObjectId {
        self.caller
    }
    /// The operation checked (`Microsoft.Resources/subscriptions/resourceGroups/write`).
    pub fn action(&self) -> &str {
        &self.action
    }
    /// The scope it was checked at.
    pub fn scope(&self) -> &ArmScope {
        &self.scope
    }
    /// Which assignment, role and pattern allowed it.
    pub fn path(&self) -> &AccessPath {
        &self.path
    }
}

/// Why [`grant_azure`] refused: what ARM's `AuthorizationFailed` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureDenied {
    pub caller: ObjectId,
    pub action: String,
    pub scope: ArmScope,
}

/// Checks that `caller` may perform `action` at `scope` now.
pub fn grant_azure(
    index: &AccessIndex,
    caller: ObjectId,
    action: &str,
    scope: &ArmScope,
    now: Instant,
) -> Result<AzureGranted, AzureDenied> {
    match index.check_permission(caller, Permission::AzureAction(action), &Scope::Arm(scope.clone()), now) {
        Some(path) => Ok(AzureGranted { caller, action: action.to_string(), scope: scope.clone(), path }),
        None => Err(AzureDenied { caller, action: action.to_string(), scope: scope.clone() }),
    }
}
