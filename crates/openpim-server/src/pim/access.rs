//! The access check (`/openpim/accessCheck`): whether a principal may perform a resource action
//! at a scope right now, and which assignment grants it, from the in-memory access index.

use crate::error::ApiResult;
use crate::state::AppState;
use openpim_core::access::AccessPath;
use openpim_core::authz::{cap, AzureGranted, Granted, OwnPrincipal};
use openpim_core::roles::Permission;
use openpim_core::scope::{DirectoryScope, Scope};
use openpim_core::{Instant, ObjectId};

/// Whose access is checked. Anyone may check their own; checking another principal's reveals
/// what they hold, so it needs the right to read role assignments.
#[derive(Debug, Clone)]
pub enum AccessOf {
    Own(OwnPrincipal),
    Other(ObjectId, Granted<cap::ReadRoleAssignments>),
    /// Another principal's Azure access at an ARM scope, by a caller who may read the role
    /// assignments there (`Microsoft.Authorization/roleAssignments/read`).
    OtherAtArmScope(ObjectId, AzureGranted),
}

impl AccessOf {
    pub fn principal(&self) -> ObjectId {
        match self {
            Self::Own(own) => own.principal(),
            Self::Other(id, _) | Self::OtherAtArmScope(id, _) => *id,
        }
    }
}

/// The answer: evaluated at `at`, allowed through `path` (`None`: not allowed).
pub struct AccessAnswer {
    pub at: Instant,
    pub path: Option<AccessPath>,
}

pub async fn check(s: &AppState, of: &AccessOf, action: &str, scope: &DirectoryScope) -> ApiResult<AccessAnswer> {
    check_permission(s, of, Permission::Directory(action), &Scope::Directory(*scope)).await
}

/// The same for any permission: an Entra action at a directory scope, or an Azure action or data
/// action at an ARM scope (through the scope's ancestors and the principal's security groups).
pub async fn check_permission(
    s: &AppState,
    of: &AccessOf,
    permission: Permission<'_>,
    scope: &Scope,
) -> ApiResult<AccessAnswer> {
    let at = s.now();
    let principal = of.principal();
    // A disabled account can sign in to nothing, so whatever it holds grants nothing either.
    let disabled = crate::auth::user_by_id(s, principal).await?.is_some_and(|u| !u.account_enabled);
    let path = if disabled { None } else { s.index().check_permission(principal, permission, scope, at) };
    Ok(AccessAnswer { at, path })
}
