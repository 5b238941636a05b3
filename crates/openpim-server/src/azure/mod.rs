//! Azure resource operations (issue #15), wire-independent as `directory` and `pim` are: each
//! owns its write (the write transaction opens first, the facts deciding the outcome are read
//! inside it, core decides, the commit carries the audit record) and takes the proof of the
//! check it needs ([`AzureGranted`] for Azure RBAC, `Granted<C>` for Entra capabilities).
//! The ARM handlers (`crate::arm`) only parse, authorise through [`authorize`], call one
//! operation and render.

pub mod role_definitions;

use crate::arm::{ArmCaller, ArmError, ArmResult};
use crate::state::{AppState, Audit};
use openpim_core::audit::AuditResult;
use openpim_core::authz::{self, AzureGranted};
use openpim_core::scope::ArmScope;

pub mod elevate_access;
pub mod hierarchy;
pub mod pim;
pub mod policies;
pub mod resources;
pub mod role_assignments;
pub mod scope_labels;

/// The audit category of Azure resource changes.
pub const AUDIT_CATEGORY: &str = openpim_core::audit::category::AZURE_RESOURCE_MANAGEMENT;

/// Checks Azure RBAC: `caller` needs `action` at `scope` (through a role assigned there or
/// above). A refusal is audited (result `failure`, as every refused write is) and answered 403
/// `AuthorizationFailed` naming the action and scope.
pub async fn authorize(
    state: &AppState,
    caller: &ArmCaller,
    action: &str,
    scope: &ArmScope,
    audit: &Audit,
) -> ArmResult<AzureGranted> {
    let decision = authz::grant_azure(&state.index(), caller.id(), action, scope, state.now());
    match decision {
        Ok(granted) => Ok(granted),
        Err(denied) => {
            let error = ArmError::authorization_failed(denied.caller, &denied.action, denied.scope.as_str());
            let record = audit.record(caller, state.now(), AuditResult::Failure, &error.message);
            state.record_audit(&record).await;
            Err(error)
        }
    }
}

/// [`authorize`] for a read: refused reads change nothing and are not audited (as on the
/// directory side).
pub fn authorize_read(state: &AppState, caller: &ArmCaller, action: &str, scope: &ArmScope) -> ArmResult<AzureGranted> {
    authz::grant_azure(&state.index(), caller.id(), action, scope, state.now())
        .map_err(|d| ArmError::authorization_failed(d.caller, &d.action, d.scope.as_str()))
}
