//! API errors rendered in Graph's shape:
//! `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use openpim_core::{DomainError, ErrorKind};
use openpim_odata::ODataError;
use openpim_store::StoreError;
use serde_json::json;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// For 429: how long the client should wait (sent as `Retry-After`, in whole seconds).
    pub retry_after: Option<std::time::Duration>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { status, code: code.into(), message: message.into(), retry_after: None }
    }
    /// 429 in Graph's throttling shape, with `Retry-After`.
    pub fn too_many_requests(message: impl Into<String>, retry_after: std::time::Duration) -> Self {
        Self { retry_after: Some(retry_after), ..Self::new(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", message) }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
    }
    /// A 400 with a specific Graph code.
    pub fn bad_request_code(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present. ({what})"),
        )
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", message)
    }
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "generalException",
            "An internal error occurred. The details are in the server log.",
        )
    }
}

impl From<DomainError> for ApiError {
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

impl From<ODataError> for ApiError {
    fn from(e: ODataError) -> Self {
        if e.code == ODataError::INTERNAL {
            tracing::error!(error = %e.message, "query layer defect");
            return Self::internal();
        }
        Self::new(StatusCode::BAD_REQUEST, e.code, e.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Query(q) => q.into(),
            StoreError::Invariant(violation) => violation.into(),
            StoreError::Conflict(detail) => {
                tracing::debug!(%detail, "write conflict");
                Self::new(
                    StatusCode::CONFLICT,
                    "Request_MultipleObjectsWithSameKeyValue",
                    "Another object with the same value for a unique property already exists.",
                )
            }
            other => {
                tracing::error!(error = %other, "store failure");
                Self::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let now = time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .ok()
            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_default();
        // The ids the response's headers carry (`transport::request_ids`); an error rendered
        // outside any request (a unit test) gets a fresh id.
        let (request_id, client_request_id) = match crate::transport::current() {
            Some(ids) => (ids.request_id.to_string(), ids.client_request_id),
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                (id.clone(), id)
            }
        };
        let body = json!({"error": {
            "code": self.code,
            "message": self.message,
            "innerError": {"date": now, "request-id": request_id, "client-request-id": client_request_id}
        }});
        let mut resp = (self.status, axum::Json(body)).into_response();
        // Kept with the response so that, on an ARM path, `transport::arm_shaped` can say the
        // same error in ARM's shape.
        resp.extensions_mut().insert(self.clone());
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(wait) = self.retry_after {
            // Whole seconds, rounded up, and never 0: "retry now" would defeat the limit.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        resp
    }
}

/// Gives every error response Graph's shape: axum's own extractors (e.g. a path segment that
/// is not valid UTF-8) reject with plain text, which Graph clients cannot parse.
pub async fn graph_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    // The web UI's HTML 404 for a page path no route matched (`ui::not_found`) stays HTML.
    let is_page = resp.extensions().get::<crate::ui::HtmlPage>().is_some();
    if !(status.is_client_error() || status.is_server_error()) || is_json || is_page {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let err = if status.is_server_error() {
        tracing::error!(%status, body = %text, "non-Graph error response");
        ApiError { status, ..ApiError::internal() }
    } else {
        let message =
            if text.is_empty() { status.canonical_reason().unwrap_or("Bad request").to_string() } else { text };
        ApiError::new(status, "Request_BadRequest", message)
    };
    let mut out = err.into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}
