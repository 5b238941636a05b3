//! The ARM caller: the same token verification and user lookup as Graph's `Caller`, for tokens
//! whose audience is Azure Resource Manager's (`auth::ARM_AUDIENCES`, or a configured external
//! audience), with refusals in ARM's shape: no `Authorization` header is 401
//! `AuthenticationFailed`, a token that does not verify 401 `InvalidAuthenticationToken`.

use super::error::{ArmError, ArmResult};
use crate::auth::{Caller, Surface};
use crate::state::AppState;
use axum::http::{header, HeaderMap};

/// A signed-in ARM caller. Derefs to the directory user's [`Caller`].
#[derive(Debug, Clone)]
pub struct ArmCaller(pub Caller);

impl ArmCaller {
    pub async fn authenticate(headers: &HeaderMap, state: &AppState) -> ArmResult<Self> {
        if !headers.contains_key(header::AUTHORIZATION) {
            return Err(ArmError::authentication_failed(
                "Authentication failed. The 'Authorization' header is missing.",
            ));
        }
        Caller::authenticate(headers, state, Surface::Arm).await.map(Self).map_err(ArmError::from)
    }
}

impl std::ops::Deref for ArmCaller {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.0
    }
}
