//! Transport hygiene shared by every route (API and web UI): request-line and header size limits
//! answered with Graph error bodies, and request logging that never records a token passed in
//! the query string.
//!
//! hyper has limits of its own (a URI over 64 KiB, more than 100 header lines, or about 400 KiB of
//! headers) and answers those with an empty 414/431 before any route runs. The limits here are
//! far below them, so in practice an oversized request gets a Graph-shaped answer from us.

use crate::error::ApiError;
use axum::extract::Request;
use axum::http::{StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

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

/// The request span of the trace layer: method and the redacted URI (never the raw query).
pub fn request_span(req: &Request) -> tracing::Span {
    tracing::debug_span!("request", method = %req.method(), uri = %redacted_uri(req.uri()), version = ?req.version())
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
