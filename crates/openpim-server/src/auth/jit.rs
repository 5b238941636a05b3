//! Just-in-time users: an issuer configured for it creates the directory user on its first
//! sign-in instead of refusing the token. The user gets no roles or groups (those are granted in
//! OpenPIM), and the creation is audited like any other "Add user".

use super::JitUser;
use crate::error::ApiError;
use crate::state::AppState;
use openpim_core::audit::category;
use openpim_core::directory::{validate_upn, User};

/// Graph's limit on a display name.
const MAX_DISPLAY_NAME: usize = 256;

/// Creates `new` and returns it. A concurrent first sign-in of the same person may have created
/// it meanwhile; then that user is returned. A name taken by a user the token does not map to is
/// refused, never handed over.
pub async fn provision(state: &AppState, new: &JitUser) -> Result<User, ApiError> {
    validate_upn(&new.upn).map_err(|_| {
        ApiError::unauthorized(format!(
            "The token's user does not exist in this directory, and '{}' is not a user principal name to create \
             it with.",
            new.upn
        ))
    })?;
    let now = state.now();
    let alias = new.upn.split('@').next().unwrap_or_default().to_string();
    let user = User {
        id: new.id.unwrap_or_else(uuid::Uuid::new_v4),
        user_principal_name: new.upn.clone(),
        display_name: new.display_name.chars().take(MAX_DISPLAY_NAME).collect(),
        mail_nickname: alias,
        given_name: None,
        surname: None,
        mail: None,
        job_title: None,
        department: None,
        account_enabled: true,
        user_type: Default::default(),
        im_addresses: Vec::new(),
        created: now,
    };
    let record = crate::bootstrap::system_record(
        now,
        category::USER_MANAGEMENT,
        "Add user",
        "Add",
        &user,
        vec![("provisionedBy".into(), "just-in-time sign-in".into()), ("issuer".into(), new.issuer.clone())],
    );
    let mut tx = state.store.begin_write().await?;
    if let Err(e) = tx.insert_user(&user).await {
        tx.rollback().await?;
        tracing::info!(upn = %user.user_principal_name, error = %e, "just-in-time user not created");
        return match super::user_by_id(state, user.id).await? {
            Some(existing) if existing.user_principal_name.eq_ignore_ascii_case(&user.user_principal_name) => {
                Ok(existing)
            }
            _ => Err(ApiError::unauthorized(
                "The token's user does not exist in this directory, and its name belongs to another user.",
            )),
        };
    }
    state.commit(tx, &record).await?;
    tracing::info!(upn = %user.user_principal_name, id = %user.id, issuer = %new.issuer, "just-in-time user created");
    Ok(user)
}
