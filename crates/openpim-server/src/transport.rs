//! Transport hygiene shared by every route (API and web UI): one request id per request (in the
//! response headers, the trace span, error bodies and audit records), request-line and header
//! size limits answered with Graph error bodies, and request logging that never records a token
//! passed in the query string.
//!
//! hyper has limits of its own (a URI over 64 KiB, more than 100 header lines, or about 400 KiB of
//! headers) and answers those with an empty 414/431 before any route runs. The limits here are
//! far below them, so in practice an oversized request gets a Graph-shaped answer from us.

use crate::error::ApiError;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use openpim_core::ObjectId;

/// Graph's response header naming the request (a GUID the service generates).
pub const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
/// Graph's header for the client's own id of a request (a GUID), echoed in the response.
pub const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");

/// The ids of the request being served: ours, and the client's (the client's own when it sent a
/// well-formed GUID, otherwise ours, as Graph answers).
#[derive(Debug, Clone)]
pub struct RequestIds {
    pub request_id: ObjectId,
    pub client_request_id: String,
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

/// The client's `client-request-id` if it is a GUID in its usual 8-4-4-4-12 form; anything else
/// is ignored rather than echoed into our headers, logs and error bodies.
fn client_request_id(req: &Request) -> Option<String> {
    let raw = req.headers().get(&CLIENT_REQUEST_ID)?.to_str().ok()?.trim();
    (raw.len() == 36 && ObjectId::try_parse(raw).is_ok()).then(|| raw.to_string())
}

/// Gives the request its ids (a fresh v4 GUID, and the client's), serves it with them in scope
/// and in its extensions (for the trace span), and answers with both headers.
pub async fn request_ids(mut req: Request, next: Next) -> Response {
    let request_id = ObjectId::new_v4();
    let client_request_id = client_request_id(&req).unwrap_or_else(|| request_id.to_string());
    let ids = RequestIds { request_id, client_request_id };
    req.extensions_mut().insert(ids.clone());
    let mut resp = CURRENT.scope(ids.clone(), next.run(req)).await;
    let headers = resp.headers_mut();
    headers.insert(REQUEST_ID, HeaderValue::from_str(&ids.request_id.to_string()).expect("a GUID is a header value"));
    headers.insert(CLIENT_REQUEST_ID, HeaderValue::from_str(&ids.client_request_id).expect("checked to be a GUID"));
    resp
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

/// Query parameters whose values are secrets (compared case-insensitively).
const SECRET_PARAMS: [&str; 7] =
    ["access_token", "id_token", "refresh_token", "token", "code", "client_secret", "password"];

/// The URI as it may be logged: the value of every secret query parameter is replaced by
/// `REDACTED` (e.g. a bearer token sent as `?access_token=`).
pub fn redacted_uri(uri: &Uri) -> String {
    let Some(query) = uri.query() else { return uri.path().to_string() };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| {
            let (name, _) = pair.split_once('=').unwrap_or((pair, ""));
            let decoded = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
            if SECRET_PARAMS.iter().any(|s| decoded.trim().eq_ignore_ascii_case(s)) {
                format!("{name}=REDACTED")
            } else {
                pair.to_string()
            }
        })
        .collect();
    format!("{}?{}", uri.path(), query.join("&"))
}

/// The request span of the trace layer: the request id, method and the redacted URI (never the
/// raw query). The id comes from the request's extensions, or for the web UI's in-process API
/// calls, from the browser request they serve.
pub fn request_span(req: &Request) -> tracing::Span {
    let request_id = req.extensions().get::<RequestIds>().cloned().or_else(current).map(|ids| ids.request_id);
    tracing::debug_span!(
        "request",
        request_id = %request_id.map(|id| id.to_string()).unwrap_or_default(),
        method = %req.method(),
        uri = %redacted_uri(req.uri()),
        version = ?req.version()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_the_query_are_redacted() {
        let uri: Uri = "/v1.0/me?access_token=eyJsecret&$select=id&Access%5Ftoken=x2&code=c0de&token".parse().unwrap();
        let shown = redacted_uri(&uri);
        assert_eq!(
            shown,
            "/v1.0/me?access_token=REDACTED&$select=id&Access%5Ftoken=REDACTED&code=REDACTED&token=REDACTED"
        );
        let plain: Uri = "/v1.0/users?$top=5".parse().unwrap();
        assert_eq!(redacted_uri(&plain), "/v1.0/users?$top=5");
    }
}
