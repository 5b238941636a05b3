//! The access check (`/openpim/accessCheck`): whether a principal may perform a resource action
//! at a scope right now, and which assignment grants it, from the in-memory access index.

use crate::error::ApiResult;
use crate::state::AppState;
use openpim_core::access::AccessPath;
use openpim_core::authz::{cap, Granted, OwnPrincipal};
use openpim_core::scope::DirectoryScope;
use openpim_core::{Instant, ObjectId};

/// Whose access is checked. Anyone may check their own; checking another principal's reveals
/// what they hold, so it needs the right to read role assignments.
#[derive(Debug, Clone)]
pub enum AccessOf {
    Own(OwnPrincipal),
    Other(ObjectId, Granted<cap::ReadRoleAssignments>),
}

impl AccessOf {
    pub fn principal(&self) -> ObjectId {
        match self {
            Self::Own(own) => own.principal(),
            Self::Other(id, _) => *id,
        }
    }
}

/// The answer: evaluated at `at`, allowed through `path` (`None`: not allowed).
pub struct AccessAnswer {
    pub at: Instant,
    pub path: Option<AccessPath>,
}

pub async fn check(s: &AppState, of: &AccessOf, action: &str, scope: &DirectoryScope) -> ApiResult<AccessAnswer> {
    let at = s.now();
    let principal = of.principal();
    // A disabled account can sign in to nothing, so whatever it holds grants nothing either.
    let disabled = crate::auth::user_by_id(s, principal).await?.is_some_and(|u| !u.account_enabled);
    let path = if disabled { None } else { s.index().check(principal, action, scope, at) };
    Ok(AccessAnswer { at, path })
}
