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

/// The store's precision: instants are kept in microseconds, so a question about a finer
/// instant is asked about its microsecond.
pub fn to_store_precision(t: Instant) -> Instant {
    let micros = t.nanosecond() / 1_000 * 1_000;
    t.replace_nanosecond(micros).unwrap_or(t)
}

/// When the access history began (the first start after it was deployed): answers about earlier
/// instants cannot see what was granted and ended before it.
pub async fn history_start(s: &AppState) -> ApiResult<Instant> {
    Ok(s.store.access_history_start().await?.unwrap_or_else(|| s.now()))
}

/// The access check as it was at `at` (not after now: the caller checks), from the access
/// history: the principal's groups and the grants they and it held then, with today's role
/// definitions. The explanation names the grant's window in the history (its interval then).
/// A disabled account's past is not kept, so the answer does not consider it.
pub async fn check_permission_at(
    s: &AppState,
    of: &AccessOf,
    permission: Permission<'_>,
    scope: &Scope,
    at: Instant,
) -> ApiResult<AccessAnswer> {
    let principal = of.principal();
    let instant = openpim_core::history::Interval::new(at, Some(at + time::Duration::microseconds(1)));
    let facts = s.store.history_of_principal(principal, instant).await?;
    let path = s.index().as_of(&facts, at).check_permission(principal, permission, scope, at);
    Ok(AccessAnswer { at, path })
}
