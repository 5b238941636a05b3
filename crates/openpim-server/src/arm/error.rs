//! ARM's error responses: `{"error":{"code":..,"message":..}}` with ARM's request-id headers.
//!
//! Codes are ARM's own where a source gives them (docs/shared/azure/arm-pim-api.md §8); the
//! constructors below are the ones every area shares. Area-specific codes
//! (`RoleAssignmentExists`, `ResourceGroupNotFound`, ...) are built with [`ArmError::new`].

use crate::error::ApiError;
use crate::transport::{RequestIds, MS_CLIENT_REQUEST_ID, MS_CORRELATION_REQUEST_ID, MS_REQUEST_ID};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use openpim_core::{DomainError, ErrorKind};
use openpim_proto::arm::{ArmAdditionalInfo, ArmErrorBody, ArmErrorDetail};
use openpim_store::StoreError;

pub type ArmResult<T> = Result<T, ArmError>;

/// An error as ARM answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// The property or parameter at fault, when one is.
    pub target: Option<String>,
    /// For 429: seconds to wait (`Retry-After`).
    pub retry_after_secs: Option<u64>,
}

impl ArmError {
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { status, code: code.into(), message: message.into(), target: None, retry_after_secs: None }
    }

    /// The same error with another status (ARM answers some codes with a status of their own).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub fn with_target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// 400 `InvalidRequestContent`: a body that is JSON but not what the operation takes.
    pub fn invalid_content(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidRequestContent", message)
    }

    /// 400 `InvalidRequestFormat`: a body that is not JSON, or not an object.
    pub fn invalid_format(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidRequestFormat", message)
    }

    /// 401 `AuthenticationFailed`: no credentials at all.
    pub fn authentication_failed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "AuthenticationFailed", message)
    }

    /// 401 `InvalidAuthenticationToken`: credentials that do not verify.
    pub fn invalid_token(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", message)
    }

    /// 403 `AuthorizationFailed` in ARM's words, naming the action and the scope.
    pub fn authorization_failed(caller: openpim_core::ObjectId, action: &str, scope: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "AuthorizationFailed",
            format!(
                "The client '{caller}' with object id '{caller}' does not have authorization to perform action \
                 '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please \
                 refresh your credentials."
            ),
        )
    }

    /// 404 `InvalidResourceType`: no area serves this namespace and type.
    pub fn invalid_resource_type(resource_type: &str, namespace: &str, api_version: Option<&str>) -> Self {
        let version = api_version.map(|v| format!(" for api version '{v}'")).unwrap_or_default();
        Self::new(
            StatusCode::NOT_FOUND,
            "InvalidResourceType",
            format!("The resource type '{resource_type}' could not be found in the namespace '{namespace}'{version}."),
        )
    }

    /// 405: the resource exists in ARM's surface but not with this method.
    pub fn method_not_allowed(method: &axum::http::Method) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("The HTTP method '{method}' is not supported on this resource."),
        )
    }

    /// 500 without detail for the client; the cause goes to the server log.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "An internal error occurred. The details are in the server log.",
        )
    }

    pub fn body(&self) -> ArmErrorBody {
        ArmErrorBody {
            error: ArmErrorDetail {
                code: self.code.clone(),
                message: self.message.clone(),
                target: self.target.clone(),
                details: Vec::new(),
                additional_info: request_ids_info().into_iter().collect(),
            },
        }
    }
}

/// Core's refusals keep their code; the status follows the kind.
impl From<DomainError> for ArmError {
    fn from(e: DomainError) -> Self {
        let status = match e.kind {
            ErrorKind::Invalid => StatusCode::BAD_REQUEST,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
        };
        Self::new(status, e.code, e.message)
    }
}

/// What the shared machinery (token verification, the store, the rate limiter) answers in
/// Graph's terms, said in ARM's: the status and message stay, 401s take ARM's code, and a 429
/// keeps its `Retry-After`.
impl From<ApiError> for ArmError {
    fn from(e: ApiError) -> Self {
        if e.status.is_server_error() {
            return Self::internal();
        }
        let code = match e.status {
            StatusCode::UNAUTHORIZED => "InvalidAuthenticationToken".to_string(),
            StatusCode::TOO_MANY_REQUESTS => "TooManyRequests".to_string(),
            _ => e.code,
        };
        let retry_after_secs = e.retry_after.map(|d| (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1));
        Self { retry_after_secs, ..Self::new(e.status, code, e.message) }
    }
}

impl From<StoreError> for ArmError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invariant(violation) => violation.into(),
            StoreError::Conflict(detail) => {
                tracing::debug!(%detail, "write conflict");
                Self::new(StatusCode::CONFLICT, "Conflict", "The resource was changed by another request; retry.")
            }
            other => ApiError::from(other).into(),
        }
    }
}

impl IntoResponse for ArmError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.body())).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            // ARM names the authority; we name the scheme (the token's issuer is configurable).
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after_secs {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// The request's ids for an error body, in common-types `additionalInfo` (ARM's error schema has
/// no `innerError`): the same ids the response headers carry, so a client that kept only the
/// body can still name the request. An OpenPIM extension (docs/API.md).
fn request_ids_info() -> Option<ArmAdditionalInfo> {
    let ids = crate::transport::current()?;
    let date = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok());
    let mut info = serde_json::json!({
        "requestId": ids.request_id,
        "clientRequestId": ids.client_request_id,
        "correlationRequestId": correlation_request_id(&ids),
        "date": date,
    });
    if let Some(client) = &ids.ms_client_request_id {
        info["msClientRequestId"] = client.clone().into();
    }
    Some(ArmAdditionalInfo { kind: "OpenPIM.RequestIds".into(), info })
}

/// ARM's correlation id: the client's when it sent a GUID, else the request id.
fn correlation_request_id(ids: &RequestIds) -> String {
    ids.ms_correlation_request_id.clone().unwrap_or_else(|| ids.request_id.to_string())
}

/// Adds ARM's `x-ms-request-id` (this request's id), `x-ms-correlation-request-id` (the
/// client's when it sent a GUID, else ours) and echoes `x-ms-client-request-id` (a GUID only) to
/// the response to an ARM path (`transport::request_ids` calls it for every one).
pub fn insert_request_ids(headers: &mut HeaderMap, ids: &RequestIds) {
    if let Ok(v) = HeaderValue::from_str(&ids.request_id.to_string()) {
        headers.insert(MS_REQUEST_ID, v);
    }
    if let Ok(v) = HeaderValue::from_str(&correlation_request_id(ids)) {
        headers.insert(MS_CORRELATION_REQUEST_ID, v);
    }
    if let Some(Ok(v)) = ids.ms_client_request_id.as_deref().map(HeaderValue::from_str) {
        headers.insert(MS_CLIENT_REQUEST_ID, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_failed_names_caller_action_and_scope() {
        let caller = uuid::Uuid::nil();
        let e = ArmError::authorization_failed(
            caller,
            "Microsoft.Resources/subscriptions/resourceGroups/write",
            "/subscriptions/x",
        );
        assert_eq!(e.status, StatusCode::FORBIDDEN);
        assert_eq!(e.code, "AuthorizationFailed");
        assert!(e.message.starts_with(&format!("The client '{caller}' with object id '{caller}'")));
        assert!(e
            .message
            .contains("'Microsoft.Resources/subscriptions/resourceGroups/write' over scope '/subscriptions/x'"));
    }

    #[test]
    fn graph_errors_keep_status_and_take_arm_codes() {
        let e: ArmError = ApiError::unauthorized("Signature validation failed.").into();
        assert_eq!((e.status, e.code.as_str()), (StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken"));
        let e: ArmError = ApiError::too_many_requests("slow down", std::time::Duration::from_millis(1500)).into();
        assert_eq!((e.status, e.retry_after_secs), (StatusCode::TOO_MANY_REQUESTS, Some(2)));
        let e: ArmError = ApiError::internal().into();
        assert_eq!(e.code, "InternalServerError");
    }
}
