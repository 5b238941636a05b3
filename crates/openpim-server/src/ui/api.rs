//! The UI's Graph client: requests carrying the signed-in user's token, sent in-process through
//! the router that serves `/v1.0`. Nothing here decides who may do what; the API does.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use openpim_proto::Collection;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tower::ServiceExt;

/// Largest API response the UI reads (a page of a collection is far smaller).
const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;
/// Pages followed when the UI needs a whole collection (the role catalog, an audit export).
pub const MAX_PAGES: usize = 50;

/// A Graph error as the API returned it.
#[derive(Debug, Clone)]
pub struct GraphError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for GraphError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl GraphError {
    fn local(message: &str) -> Self {
        Self { status: StatusCode::INTERNAL_SERVER_ERROR, code: "UnknownError".into(), message: message.into() }
    }

    pub fn is_unauthenticated(&self) -> bool {
        self.status == StatusCode::UNAUTHORIZED
    }

    pub fn is_forbidden(&self) -> bool {
        self.status == StatusCode::FORBIDDEN
    }
}

pub type GraphResult<T> = Result<T, GraphError>;

/// One signed-in user's view of the API.
pub struct Api<'a> {
    router: &'a Router,
    token: &'a str,
}

impl<'a> Api<'a> {
    pub fn new(router: &'a Router, token: &'a str) -> Self {
        Self { router, token }
    }

    /// GETs `path` and hands back a successful response as it is, body unread (a CSV the UI
    /// passes through to the browser); an error response becomes a [`GraphError`].
    pub async fn get_raw(&self, path: &str) -> GraphResult<axum::response::Response> {
        let req = Request::builder()
            .extension(crate::auth::InProcessCall)
            .method(Method::GET)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .body(Body::empty())
            .map_err(|_| GraphError::local("The request could not be built."))?;
        let resp = match self.router.clone().oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), MAX_RESPONSE_BYTES)
            .await
            .map_err(|_| GraphError::local("The API response could not be read."))?;
        Err(graph_error(status, &serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> GraphResult<Value> {
        let mut req = Request::builder()
            .extension(crate::auth::InProcessCall)
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            // `$count` on directory objects needs it, as in Graph; harmless elsewhere.
            .header("ConsistencyLevel", "eventual");
        let body = match body {
            Some(b) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        let req = req.body(body).map_err(|_| GraphError::local("The request could not be built."))?;
        let resp = match self.router.clone().oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), MAX_RESPONSE_BYTES)
            .await
            .map_err(|_| GraphError::local("The API response could not be read."))?;
        let json: Value =
            if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        if status.is_success() {
            return Ok(json);
        }
        Err(graph_error(status, &json))
    }

    pub async fn get(&self, path: &str) -> GraphResult<Value> {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> GraphResult<Value> {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> GraphResult<Value> {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> GraphResult<()> {
        self.call(Method::DELETE, path, None).await.map(drop)
    }

    /// GETs `path` into its proto type.
    pub async fn get_as<T: DeserializeOwned>(&self, path: &str) -> GraphResult<T> {
        typed(self.get(path).await?)
    }

    /// POSTs a proto request body and reads the answer into its proto type.
    pub async fn post_as<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> GraphResult<T> {
        typed(self.post(path, &json_body(body)?).await?)
    }

    /// PATCHes a proto body; PATCH answers 204, so there is nothing to read.
    pub async fn patch_with<B: Serialize>(&self, path: &str, body: &B) -> GraphResult<()> {
        self.patch(path, &json_body(body)?).await.map(drop)
    }

    /// Every item of a collection, in its proto type (see [`Api::list_all`]).
    pub async fn list_all_as<T: DeserializeOwned>(&self, path: &str) -> GraphResult<Vec<T>> {
        self.list_all(path).await?.into_iter().map(typed).collect()
    }

    /// A collection's first page, in its proto type.
    pub async fn list_as<T: DeserializeOwned>(&self, path: &str) -> GraphResult<Vec<T>> {
        Ok(typed::<Collection<T>>(self.get(path).await?)?.value)
    }

    /// Every item of a collection, following `@odata.nextLink` (at most [`MAX_PAGES`] pages).
    pub async fn list_all(&self, path: &str) -> GraphResult<Vec<Value>> {
        let mut items = Vec::new();
        let mut next = Some(path.to_string());
        for _ in 0..MAX_PAGES {
            let Some(path) = next.take() else { break };
            let mut page = self.get(&path).await?;
            if let Value::Array(v) = page["value"].take() {
                items.extend(v);
            }
            next = page["@odata.nextLink"].as_str().and_then(relative_link);
        }
        Ok(items)
    }
}

/// An API answer in its proto type. The API and the proto types are one contract, so an answer
/// that does not fit is a defect; the page says so instead of showing half-read data.
fn typed<T: DeserializeOwned>(json: Value) -> GraphResult<T> {
    serde_json::from_value(json).map_err(|e| {
        tracing::error!(error = %e, "an API answer does not fit its proto type");
        GraphError::local("The API response was not understood.")
    })
}

fn json_body<B: Serialize>(body: &B) -> GraphResult<Value> {
    serde_json::to_value(body).map_err(|_| GraphError::local("The request could not be built."))
}

/// The error a Graph error body describes (`openpim_proto::GraphError`); a body of another shape
/// is reported as an unknown error with the response's status.
fn graph_error(status: StatusCode, json: &Value) -> GraphError {
    match openpim_proto::GraphError::deserialize(json) {
        Ok(body) => GraphError { status, code: body.error.code, message: body.error.message },
        Err(_) => GraphError { status, code: "UnknownError".into(), message: "The request failed.".into() },
    }
}

/// Next links are absolute (built from the public URL or `Host`); the in-process call needs the
/// path and query only.
fn relative_link(link: &str) -> Option<String> {
    link.find("/v1.0/").map(|i| link[i..].to_string())
}

/// Percent-encodes a query parameter value (an OData `$filter`, a search string).
pub fn q(raw: &str) -> String {
    percent_encoding::utf8_percent_encode(raw, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// An OData string literal: quotes doubled, as the grammar requires.
pub fn lit(raw: &str) -> String {
    format!("'{}'", raw.replace('\'', "''"))
}

/// A path segment (ids and UPNs from forms).
pub fn seg(raw: &str) -> String {
    percent_encoding::utf8_percent_encode(raw, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_become_paths() {
        assert_eq!(
            relative_link("http://h:1/v1.0/users?$skiptoken=abc").as_deref(),
            Some("/v1.0/users?$skiptoken=abc")
        );
        assert_eq!(relative_link("garbage"), None);
    }

    #[test]
    fn literals_double_quotes() {
        assert_eq!(lit("O'Brien"), "'O''Brien'");
        assert_eq!(q("a b'&"), "a%20b%27%26");
    }
}
