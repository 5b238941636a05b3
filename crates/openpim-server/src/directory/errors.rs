//! The errors directory operations answer with, including the store's conflicts mapped to what
//! Graph answers for them.

use crate::error::ApiError;
use axum::http::StatusCode;
use openpim_core::ObjectId;
use openpim_store::StoreError;

/// Maps a store conflict (a unique index caught a twin, possibly committed on another node) to
/// `conflict`; any other store error passes through.
pub fn on_conflict(conflict: impl FnOnce() -> ApiError) -> impl FnOnce(StoreError) -> ApiError {
    move |e| match e {
        StoreError::Conflict(_) => conflict(),
        other => other.into(),
    }
}

/// Graph answers a clash on userPrincipalName with 400, on create and on update alike.
pub fn duplicate_upn(upn: &str) -> ApiError {
    ApiError::bad_request(format!(
        "Another object with the same value for property userPrincipalName already exists: '{upn}'."
    ))
}

/// Adding a member that is already there.
pub fn member_exists() -> ApiError {
    ApiError::bad_request(
        "One or more added object references already exist for the following modified properties: 'members'.",
    )
}

/// Removing a member that is not there.
pub fn not_a_member(member: ObjectId) -> ApiError {
    ApiError::not_found("member", &member.to_string())
}

/// A service principal created concurrently for the same application: the 409 core gives.
pub fn duplicate_service_principal(app_id: ObjectId) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "Request_MultipleObjectsWithSameKeyValue",
        format!("The application with appId '{app_id}' already has a service principal."),
    )
}

/// The target changed between the authorization check and the write so that the proof the
/// caller was given no longer covers the change (say, a service principal was created for an
/// application being deleted): nothing is written, and the client may retry.
pub fn changed_since_authorized() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "The object changed while the request was being authorized; retry the request.",
    )
}

/// The entity is gone (deleted since it was looked up).
pub fn gone(what: &str, id: ObjectId) -> ApiError {
    ApiError::not_found(what, &id.to_string())
}
