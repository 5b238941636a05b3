//! Small pieces the handlers share.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use openpim_core::ObjectId;
use openpim_store::directory::DirectoryObject;
use openpim_store::StoreError;

pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// Turns a lookup result into the entity or Graph's 404.
pub fn found<T>(value: Option<T>, what: &str, id: &str) -> ApiResult<T> {
    value.ok_or_else(|| ApiError::not_found(what, id))
}

/// The user or group a `$ref` body points at, or Graph's 404.
pub async fn referenced_object(s: &AppState, id: ObjectId) -> ApiResult<DirectoryObject> {
    found(s.store.find_object(id).await?, "directoryObject", &id.to_string())
}

/// Maps a failed membership insert: a duplicate is Graph's 400, anything else passes through.
pub fn member_conflict(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(_) => ApiError::bad_request(
            "One or more added object references already exist for the following modified properties: 'members'.",
        ),
        other => other.into(),
    }
}
