//! Small pieces the handlers share.

use crate::error::{ApiError, ApiResult};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// Turns a lookup result into the entity or Graph's 404.
pub fn found<T>(value: Option<T>, what: &str, id: &str) -> ApiResult<T> {
    value.ok_or_else(|| ApiError::not_found(what, id))
}
