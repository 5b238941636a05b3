//! The HTTP side of the client commands: one server, one bearer token, Graph error bodies turned
//! into [`CliError`]s, and collections read to the end through `@odata.nextLink`.

use crate::error::{CliError, CliResult, Kind};
use openpim_proto::Collection;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// Everything but RFC 3986's unreserved characters is encoded, in paths and query values alike.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Percent-encodes one path segment or query value.
pub fn enc(raw: &str) -> String {
    utf8_percent_encode(raw, ENCODE).to_string()
}

/// An OData string literal: single quotes doubled, as OData escapes them.
pub fn literal(raw: &str) -> String {
    format!("'{}'", raw.replace('\'', "''"))
}

/// Longest a collection is followed, so a server that keeps answering with next links cannot
/// keep the client busy forever.
const MAX_PAGES: usize = 10_000;

pub struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    pub fn new(base: &str, token: Option<String>) -> CliResult<Self> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(CliError::local("InvalidServerUrl", format!("'{base}' is not an http:// or https:// URL")));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("openpim-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CliError::local("HttpClient", e.to_string()))?;
        Ok(Self { base, token, http })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// `path` is relative to the server (`/v1.0/me`). A next link is absolute: only its path and
    /// query are kept, so the token only ever goes to the server the user named, whatever host
    /// the server believes it has.
    fn url(&self, path: &str) -> String {
        let relative = match path.split_once("://") {
            Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
            None => path,
        };
        format!("{}{}", self.base, relative)
    }

    fn token(&self) -> CliResult<&str> {
        self.token.as_deref().ok_or_else(|| {
            CliError::new(
                Kind::Auth,
                "NotSignedIn",
                "no token: pass --token, set OPENPIM_TOKEN, or run `openpim login --server URL --token TOKEN`",
            )
        })
    }

    /// GETs a non-JSON resource (the audit CSV) and copies its body to `out` chunk by chunk as
    /// it arrives. Returns the bytes written; an error answer is the server's Graph error.
    pub async fn download(&self, path: &str, out: &mut (dyn std::io::Write + Send)) -> CliResult<u64> {
        let unreachable = |e: reqwest::Error| {
            CliError::new(Kind::Server, "ServerUnreachable", format!("cannot reach {}: {}", self.base, root_cause(&e)))
        };
        let mut resp = self.http.get(self.url(path)).bearer_auth(self.token()?).send().await.map_err(unreachable)?;
        let status = resp.status();
        if !status.is_success() {
            let bytes = resp.bytes().await.map_err(unreachable)?;
            let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            return Err(graph_error(status, &value, &bytes));
        }
        let mut written = 0;
        while let Some(chunk) = resp.chunk().await.map_err(unreachable)? {
            out.write_all(&chunk).map_err(|e| CliError::local("WriteFailed", e.to_string()))?;
            written += chunk.len() as u64;
        }
        out.flush().map_err(|e| CliError::local("WriteFailed", e.to_string()))?;
        Ok(written)
    }

    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> CliResult<(StatusCode, Value)> {
        let req = self.http.request(method, self.url(path)).bearer_auth(self.token()?);
        self.exchange(req, body).await
    }

    /// GETs a resource served without a token (the sign-in configuration) into its type.
    pub async fn get_public_as<T: DeserializeOwned>(&self, path: &str) -> CliResult<T> {
        let (_, value) = self.exchange(self.http.get(self.url(path)), None).await?;
        typed(path, value)
    }

    async fn exchange(&self, mut req: reqwest::RequestBuilder, body: Option<&Value>) -> CliResult<(StatusCode, Value)> {
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|e| {
            CliError::new(Kind::Server, "ServerUnreachable", format!("cannot reach {}: {}", self.base, root_cause(&e)))
        })?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| {
            CliError::new(Kind::Server, "ServerUnreachable", format!("reading the answer failed: {}", root_cause(&e)))
        })?;
        let value = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        if status.is_success() {
            if value.is_null() && !bytes.is_empty() {
                return Err(CliError::new(Kind::Server, "BadResponse", "the server's answer is not JSON"));
            }
            return Ok((status, value));
        }
        Err(graph_error(status, &value, &bytes))
    }

    pub async fn get(&self, path: &str) -> CliResult<Value> {
        Ok(self.send(Method::GET, path, None).await?.1)
    }

    /// GET that answers `None` on 404 (for "is it this kind of thing?" look-ups).
    pub async fn get_opt(&self, path: &str) -> CliResult<Option<Value>> {
        match self.send(Method::GET, path, None).await {
            Ok((_, v)) => Ok(Some(v)),
            Err(e) if e.kind == Kind::NotFound => Ok(None),
            // A malformed id is a 400 on some routes: that also means "not this".
            Err(e) if e.code == "Request_BadRequest" => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn post(&self, path: &str, body: &Value) -> CliResult<Value> {
        Ok(self.send(Method::POST, path, Some(body)).await?.1)
    }

    pub async fn patch(&self, path: &str, body: &Value) -> CliResult<Value> {
        Ok(self.send(Method::PATCH, path, Some(body)).await?.1)
    }

    /// DELETE (Graph answers 204).
    pub async fn delete(&self, path: &str) -> CliResult<()> {
        self.send(Method::DELETE, path, None).await.map(drop)
    }

    /// GET into the answer's proto type.
    pub async fn get_as<T: DeserializeOwned>(&self, path: &str) -> CliResult<T> {
        typed(path, self.get(path).await?)
    }

    /// [`Client::get_opt`] into the answer's proto type.
    pub async fn get_opt_as<T: DeserializeOwned>(&self, path: &str) -> CliResult<Option<T>> {
        self.get_opt(path).await?.map(|v| typed(path, v)).transpose()
    }

    /// POSTs a proto request body and reads the answer into its proto type.
    pub async fn post_as<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> CliResult<T> {
        let body = serde_json::to_value(body)
            .map_err(|e| CliError::new(Kind::Local, "BadRequestBody", format!("the request body: {e}")))?;
        typed(path, self.post(path, &body).await?)
    }

    /// PUTs a proto request body and reads the answer into its proto type.
    pub async fn put_as<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> CliResult<T> {
        let body = serde_json::to_value(body)
            .map_err(|e| CliError::new(Kind::Local, "BadRequestBody", format!("the request body: {e}")))?;
        typed(path, self.send(Method::PUT, path, Some(&body)).await?.1)
    }

    /// PATCHes a proto body and reads the answer into its proto type (ARM answers the resource).
    pub async fn patch_as<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> CliResult<T> {
        let body = serde_json::to_value(body)
            .map_err(|e| CliError::new(Kind::Local, "BadRequestBody", format!("the request body: {e}")))?;
        typed(path, self.patch(path, &body).await?)
    }

    /// PATCHes a proto body (Graph answers 204).
    pub async fn patch_with<B: Serialize>(&self, path: &str, body: &B) -> CliResult<()> {
        let body = serde_json::to_value(body)
            .map_err(|e| CliError::new(Kind::Local, "BadRequestBody", format!("the request body: {e}")))?;
        self.patch(path, &body).await.map(drop)
    }

    /// POSTs an action Graph answers `202 Accepted` with its operation's URL in `Location`
    /// (`roleManagementAlerts/alerts/refresh`); returns that URL.
    pub async fn post_accepted<B: Serialize>(&self, path: &str, body: &B) -> CliResult<Option<String>> {
        let body = serde_json::to_value(body)
            .map_err(|e| CliError::new(Kind::Local, "BadRequestBody", format!("the request body: {e}")))?;
        let req = self.http.post(self.url(path)).bearer_auth(self.token()?).json(&body);
        let resp = req.send().await.map_err(|e| {
            CliError::new(Kind::Server, "ServerUnreachable", format!("cannot reach {}: {}", self.base, root_cause(&e)))
        })?;
        let status = resp.status();
        let location = resp.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_string);
        let bytes = resp.bytes().await.map_err(|e| {
            CliError::new(Kind::Server, "ServerUnreachable", format!("reading the answer failed: {}", root_cause(&e)))
        })?;
        if status.is_success() {
            return Ok(location);
        }
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Err(graph_error(status, &value, &bytes))
    }

    /// Every item of a collection in its proto type.
    pub async fn get_all_as<T: DeserializeOwned>(&self, path: &str) -> CliResult<Vec<T>> {
        self.get_all(path).await?.into_iter().map(|v| typed(path, v)).collect()
    }

    /// Every item of a collection, following `@odata.nextLink`.
    pub async fn get_all(&self, path: &str) -> CliResult<Vec<Value>> {
        let mut items = Vec::new();
        let mut next = Some(path.to_string());
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(CliError::new(
                    Kind::Server,
                    "TooManyPages",
                    format!("{path} did not end after {MAX_PAGES} pages"),
                ));
            }
            let page: Collection<Value> = serde_json::from_value(self.get(&url).await?)
                .map_err(|_| CliError::new(Kind::Server, "BadResponse", format!("{path} is not a collection")))?;
            items.extend(page.value);
            next = page.next_link;
        }
        Ok(items)
    }
}

impl Client {
    /// Every item of an ARM list (`{"value": [...], "nextLink": ...}`), following `nextLink`
    /// (kept to this server, as [`Client::url`] keeps Graph's next links).
    pub async fn get_all_arm_as<T: DeserializeOwned>(&self, path: &str) -> CliResult<Vec<T>> {
        let mut items = Vec::new();
        let mut next = Some(path.to_string());
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(CliError::new(
                    Kind::Server,
                    "TooManyPages",
                    format!("{path} did not end after {MAX_PAGES} pages"),
                ));
            }
            let page: openpim_proto::arm::ArmList<Value> = serde_json::from_value(self.get(&url).await?)
                .map_err(|_| CliError::new(Kind::Server, "BadResponse", format!("{path} is not an ARM list")))?;
            for v in page.value {
                items.push(typed(path, v)?);
            }
            next = page.next_link.filter(|l| !l.is_empty());
        }
        Ok(items)
    }
}

/// An answer in its proto type; one that does not fit means the server speaks another version.
fn typed<T: DeserializeOwned>(path: &str, value: Value) -> CliResult<T> {
    serde_json::from_value(value).map_err(|e| {
        CliError::new(Kind::Server, "BadResponse", format!("the answer to {path} is not what this client expects: {e}"))
    })
}

/// The innermost cause of a transport error (reqwest's top level says little, e.g. "error
/// sending request").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// A Graph error body (`{"error":{"code","message"}}`) as a typed error; anything else by status.
fn graph_error(status: StatusCode, value: &Value, bytes: &[u8]) -> CliError {
    let kind = Kind::of_status(status.as_u16());
    match openpim_proto::GraphError::deserialize(value) {
        Ok(body) => CliError::new(kind, &body.error.code, body.error.message),
        Err(_) => {
            let text = String::from_utf8_lossy(bytes);
            let text = text.trim();
            let message = if text.is_empty() {
                status.canonical_reason().unwrap_or("error").to_string()
            } else {
                text.chars().take(300).collect()
            };
            CliError::new(kind, &format!("Http{}", status.as_u16()), message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_stay_on_the_named_server() {
        let c = Client::new("http://127.0.0.1:9/", Some("t".into())).unwrap();
        assert_eq!(c.url("/v1.0/me"), "http://127.0.0.1:9/v1.0/me");
        assert_eq!(c.url("https://evil.example/v1.0/users?$skiptoken=x"), "http://127.0.0.1:9/v1.0/users?$skiptoken=x");
        assert_eq!(c.url("https://evil.example"), "http://127.0.0.1:9/");
    }

    #[test]
    fn encodes_values_and_literals() {
        assert_eq!(enc("a b'c/d"), "a%20b%27c%2Fd");
        assert_eq!(literal("O'Brien"), "'O''Brien'");
        assert!(Client::new("ftp://x", None).is_err());
    }

    #[test]
    fn graph_errors_keep_the_servers_code() {
        let body = serde_json::json!({"error": {"code": "RoleAssignmentExists", "message": "exists"}});
        let e = graph_error(StatusCode::CONFLICT, &body, b"");
        assert_eq!((e.kind, e.code.as_str(), e.message.as_str()), (Kind::Refused, "RoleAssignmentExists", "exists"));
        let e = graph_error(StatusCode::BAD_GATEWAY, &Value::Null, b"upstream down");
        assert_eq!((e.kind, e.code.as_str(), e.message.as_str()), (Kind::Server, "Http502", "upstream down"));
    }
}
