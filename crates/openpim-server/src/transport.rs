//! Transport hygiene shared by every route (API and web UI): one request id per request (in the
//! response headers, the trace span, error bodies and audit records), request-line and header
//! size limits answered with Graph error bodies, and one log line per request that never records
//! the query string (it may carry a token) or any header.
//!
//! hyper has limits of its own (a URI over 64 KiB, more than 100 header lines, or about 400 KiB of
//! headers) and answers those with an empty 414/431 before any route runs. The limits here are
//! far below them, so in practice an oversized request gets a Graph-shaped answer from us.

use crate::error::ApiError;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use openpim_core::ObjectId;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;
use tracing::Instrument;

/// Graph's response header naming the request (a GUID the service generates).
pub const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
/// Graph's header for the client's own id of a request (a GUID), echoed in the response.
pub const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");
/// ARM's name for the request id, on every response (ARM clients read this one).
pub const MS_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-request-id");
/// Azure SDKs' name for the client's id of a request.
pub const MS_CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-client-request-id");
/// Azure SDKs' id correlating the calls of one client operation.
pub const MS_CORRELATION_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-correlation-request-id");

/// The ids of the request being served: ours, and the client's (the client's own when it sent a
/// well-formed GUID, otherwise ours, as Graph answers).
#[derive(Debug, Clone)]
pub struct RequestIds {
    pub request_id: ObjectId,
    pub client_request_id: String,
    /// The client's `x-ms-client-request-id`, when it sent a GUID (ARM echoes it as sent).
    pub ms_client_request_id: Option<String>,
    /// The client's `x-ms-correlation-request-id`, when it sent a GUID.
    pub ms_correlation_request_id: Option<String>,
    /// What the request's one log line reports that only code deep inside learns.
    facts: Arc<Facts>,
}

/// Learned while the request is served, reported in its log line.
#[derive(Debug, Default)]
struct Facts {
    /// The matched route pattern (`/v1.0/users/{id}`): the first one noted, so a web UI page's
    /// in-process API calls do not replace the page's own.
    route: OnceLock<String>,
    /// The authenticated caller's object id.
    caller: Mutex<Option<ObjectId>>,
}

tokio::task_local! {
    /// Set for the whole of a request's handling, so code far from the request (error bodies,
    /// audit records) finds its ids without every function passing them along. The web UI's
    /// in-process API calls run inside the browser request's scope and so share its id.
    static CURRENT: RequestIds;
}

/// The ids of the request this code runs for, if it runs for one (not in a background job).
pub fn current() -> Option<RequestIds> {
    CURRENT.try_with(Clone::clone).ok()
}

/// The correlation id of an audit record written now: the request's id, or a fresh one outside
/// any request (background jobs, start-up).
pub fn correlation_id() -> ObjectId {
    current().map_or_else(ObjectId::new_v4, |ids| ids.request_id)
}

/// Notes the authenticated caller of the request being served, for its log line.
pub fn note_caller(id: ObjectId) {
    let _ = CURRENT.try_with(|ids| *ids.facts.caller.lock().unwrap_or_else(|e| e.into_inner()) = Some(id));
}

/// Notes the route pattern the request matched, for its log line (the first noted stays).
pub fn note_route(pattern: impl Into<String>) {
    let _ = CURRENT.try_with(|ids| ids.facts.route.set(pattern.into()));
}

/// `route_layer` middleware noting axum's matched route pattern.
pub async fn matched_route(req: Request, next: Next) -> Response {
    if let Some(path) = req.extensions().get::<MatchedPath>() {
        note_route(path.as_str());
    }
    next.run(req).await
}

/// The value of header `name` if it is a GUID in its usual 8-4-4-4-12 form; anything else is
/// ignored rather than echoed into our headers, logs and error bodies.
fn guid_header(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let raw = headers.get(name)?.to_str().ok()?.trim();
    (raw.len() == 36 && ObjectId::try_parse(raw).is_ok()).then(|| raw.to_string())
}

/// Gives the request its ids (a fresh v4 GUID, and the client's: `client-request-id` as Graph
/// clients send it, else `x-ms-client-request-id` as Azure SDKs do), serves it with them in
/// scope, in its extensions and in a trace span (so every line logged while it is served names
/// it), answers with the id headers, and logs one line for it.
///
/// Outermost, so every response (a 414 or 431 too, a caught panic, a 429) carries the ids, and
/// an error on an ARM path is said in ARM's shape whichever layer raised it.
pub async fn request_ids(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = ObjectId::new_v4();
    let ms_client_request_id = guid_header(req.headers(), &MS_CLIENT_REQUEST_ID);
    let client_request_id = guid_header(req.headers(), &CLIENT_REQUEST_ID)
        .or_else(|| ms_client_request_id.clone())
        .unwrap_or_else(|| request_id.to_string());
    let ids = RequestIds {
        request_id,
        client_request_id,
        ms_client_request_id,
        ms_correlation_request_id: guid_header(req.headers(), &MS_CORRELATION_REQUEST_ID),
        facts: Arc::default(),
    };
    req.extensions_mut().insert(ids.clone());
    let method = req.method().clone();
    // The path only: a query string may carry a token (`?access_token=`, an OIDC `code`).
    let path = req.uri().path().to_string();
    let is_arm = crate::arm::is_arm_path(&path);
    let span = request_span(&ids);
    let serve = async move {
        let resp = next.run(req).await;
        // Inside the scope: the ARM body names the request's ids.
        if is_arm {
            arm_shaped(resp)
        } else {
            resp
        }
    };
    let mut resp = CURRENT.scope(ids.clone(), serve.instrument(span)).await;
    let headers = resp.headers_mut();
    let id = HeaderValue::from_str(&ids.request_id.to_string()).expect("a GUID is a header value");
    headers.insert(REQUEST_ID, id.clone());
    headers.insert(MS_REQUEST_ID, id);
    headers.insert(CLIENT_REQUEST_ID, HeaderValue::from_str(&ids.client_request_id).expect("checked to be a GUID"));
    if is_arm {
        crate::arm::error::insert_request_ids(headers, &ids);
    }
    let caller = *ids.facts.caller.lock().unwrap_or_else(|e| e.into_inner());
    tracing::info!(
        target: REQUEST_LOG,
        method = %method,
        route = ids.facts.route.get().map_or("unmatched", String::as_str),
        path = %path,
        status = resp.status().as_u16(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        caller_id = caller.map(|c| c.to_string()),
        request_id = %ids.request_id,
        client_request_id = %ids.client_request_id,
        "request"
    );
    resp
}

/// The target of the one line logged per request (`OPENPIM_LOG=openpim::request=off` silences
/// them).
pub const REQUEST_LOG: &str = "openpim::request";
/// The target of the one line logged per audited change or refusal.
pub const CHANGE_LOG: &str = "openpim::change";

/// An error response rendered from an [`ApiError`] (a panic caught, a body over the limit, a 429
/// from shared code) on an ARM path becomes the same error in ARM's shape: ARM clients parse
/// only that.
pub fn arm_shaped(resp: Response) -> Response {
    match resp.extensions().get::<ApiError>() {
        Some(error) => {
            let mut out = crate::arm::error::ArmError::from(error.clone()).into_response();
            // Keep what other layers added (the UI's security headers, `Allow`, ...).
            for (name, value) in resp.headers() {
                if name != axum::http::header::CONTENT_LENGTH && !out.headers().contains_key(name) {
                    out.headers_mut().insert(name.clone(), value.clone());
                }
            }
            out
        }
        None => resp,
    }
}

/// [`arm_shaped`] for the responses to ARM paths.
pub async fn arm_errors(req: Request, next: Next) -> Response {
    let is_arm = crate::arm::is_arm_path(req.uri().path());
    let resp = next.run(req).await;
    if is_arm {
        arm_shaped(resp)
    } else {
        resp
    }
}

/// Logs a panic caught by `CatchPanicLayer` inside the request's span (the default panic hook
/// prints it too, but without the request id).
pub fn log_panic(payload: &(dyn std::any::Any + Send)) {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "a request handler panicked");
}

/// Longest accepted request target (path and query), in bytes: room for the longest query the
/// OData layer reads (which answers a too-long query with its own 400) plus a long path, and well
/// under hyper's 64 KiB.
pub const MAX_URI_BYTES: usize = openpim_odata::MAX_QUERY_LEN + 16 * 1024;
/// Largest accepted total of header names and values, in bytes.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Refuses an over-long URI (414) or oversized headers (431) with a Graph error.
pub async fn limits(req: Request, next: Next) -> Response {
    let uri_len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if uri_len > MAX_URI_BYTES {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            "Request_UriTooLong",
            format!("The request URI is {uri_len} bytes; at most {MAX_URI_BYTES} are accepted."),
        )
        .into_response();
    }
    let header_bytes: usize = req.headers().iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
    if header_bytes > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Request_HeaderFieldsTooLarge",
            format!("The request headers total {header_bytes} bytes; at most {MAX_HEADER_BYTES} are accepted."),
        )
        .into_response();
    }
    next.run(req).await
}

/// The span every line logged while a request is served runs in: its request id, and the
/// client's id when the client sent one of its own.
fn request_span(ids: &RequestIds) -> tracing::Span {
    let span = tracing::info_span!("request", request_id = %ids.request_id, client_request_id = tracing::field::Empty);
    if ids.client_request_id != ids.request_id.to_string() {
        span.record("client_request_id", ids.client_request_id.as_str());
    }
    span
}

/// Runs `f` as if it served a request (its ids in scope), for unit tests of code that reads them.
#[cfg(test)]
pub(crate) async fn in_request<F: std::future::Future>(f: F) -> (RequestIds, F::Output) {
    let ids = RequestIds {
        request_id: ObjectId::new_v4(),
        client_request_id: String::new(),
        ms_client_request_id: None,
        ms_correlation_request_id: None,
        facts: Arc::default(),
    };
    let out = CURRENT.scope(ids.clone(), f).await;
    (ids, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn json_of(resp: Response) -> serde_json::Value {
        serde_json::from_slice(&axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap()).unwrap()
    }

    /// What a caught panic or a shared layer's 429 answers becomes ARM's shape on an ARM path,
    /// keeping its status, `Retry-After` and the request's ids.
    #[tokio::test]
    async fn graph_errors_are_restated_in_arms_shape() {
        let (ids, resp) = in_request(async { arm_shaped(ApiError::internal().into_response()) }).await;
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = json_of(resp).await;
        assert_eq!(body["error"]["code"], "InternalServerError", "{body}");
        assert!(body["error"].get("innerError").is_none(), "{body}");
        assert_eq!(body["error"]["additionalInfo"][0]["info"]["requestId"], ids.request_id.to_string(), "{body}");

        let throttled = ApiError::too_many_requests("slow down", std::time::Duration::from_secs(3));
        let (_, resp) = in_request(async { arm_shaped(throttled.into_response()) }).await;
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers()[axum::http::header::RETRY_AFTER], "3");
        assert_eq!(json_of(resp).await["error"]["code"], "TooManyRequests");

        // A response that is not an ApiError's is left alone.
        let (_, resp) = in_request(async { arm_shaped(StatusCode::NO_CONTENT.into_response()) }).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    }
}
