//! Strict request-body reading: typed fields with clear errors, and unknown properties rejected
//! the way Graph rejects them. `@odata.*` annotations are accepted and ignored (SDKs send them).

use crate::error::{ApiError, ApiResult};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use serde_json::{Map, Value};

/// A JSON object request body, read field by field.
pub struct Body {
    map: Map<String, Value>,
    type_name: &'static str,
}

/// The raw JSON object of a request, before it is known which type it describes.
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ct) = req.headers().get(CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or("");
            if !ct.trim_start().to_ascii_lowercase().starts_with("application/json") {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Request_BadRequest",
                    "The request body must be JSON (Content-Type: application/json).",
                ));
            }
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request_EntityTooLarge", "The request body is too large.")
            } else {
                ApiError::bad_request("The request body could not be read.")
            }
        })?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(JsonObject(map)),
            Ok(_) => Err(ApiError::bad_request("The request body must be a JSON object.")),
            Err(e) => Err(ApiError::bad_request(format!(
                "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format. ({e})"
            ))),
        }
    }
}

impl Body {
    pub fn new(obj: JsonObject, type_name: &'static str) -> Self {
        Self { map: obj.0, type_name }
    }

    /// Reads a nested object with the same strictness.
    pub fn from_map(map: Map<String, Value>, type_name: &'static str) -> Self {
        Self { map, type_name }
    }

    /// Takes a property's raw JSON value (for nested objects).
    pub fn take_value(&mut self, key: &str) -> Option<Value> {
        self.take(key)
    }

    fn take(&mut self, key: &str) -> Option<Value> {
        // Graph matches property names case-insensitively.
        let found = self.map.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()?;
        self.map.remove(&found)
    }

    fn type_error(&self, key: &str, expected: &str) -> ApiError {
        ApiError::bad_request(format!(
            "Invalid value for property '{key}' of type '{}': expected {expected}.",
            self.type_name
        ))
    }

    /// A string; JSON null counts as absent.
    pub fn string(&mut self, key: &str) -> ApiResult<Option<String>> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.type_error(key, "a string")),
        }
    }

    /// A string that may be explicitly cleared: `Some(None)` for JSON null.
    pub fn nullable_string(&mut self, key: &str) -> ApiResult<Option<Option<String>>> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(s)) => Ok(Some(Some(s))),
            Some(_) => Err(self.type_error(key, "a string or null")),
        }
    }

    pub fn bool(&mut self, key: &str) -> ApiResult<Option<bool>> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(_) => Err(self.type_error(key, "a Boolean")),
        }
    }

    pub fn guid(&mut self, key: &str) -> ApiResult<Option<uuid::Uuid>> {
        match self.string(key)? {
            None => Ok(None),
            Some(s) => uuid::Uuid::parse_str(&s).map(Some).map_err(|_| {
                ApiError::bad_request(format!("Invalid value for property '{key}': '{s}' is not a valid GUID."))
            }),
        }
    }

    pub fn string_list(&mut self, key: &str) -> ApiResult<Option<Vec<String>>> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    _ => Err(self.type_error(key, "an array of strings")),
                })
                .collect::<ApiResult<Vec<_>>>()
                .map(Some),
            Some(_) => Err(self.type_error(key, "an array of strings")),
        }
    }

    /// An array of objects, each read with `read`.
    pub fn objects<T>(
        &mut self,
        key: &str,
        type_name: &'static str,
        mut read: impl FnMut(&mut Body) -> ApiResult<T>,
    ) -> ApiResult<Option<Vec<T>>> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let Value::Object(map) = item else {
                        return Err(self.type_error(key, "an array of objects"));
                    };
                    let mut inner = Body { map, type_name };
                    let v = read(&mut inner)?;
                    inner.finish()?;
                    out.push(v);
                }
                Ok(Some(out))
            }
            Some(_) => Err(self.type_error(key, "an array of objects")),
        }
    }

    /// Reads and discards a property the API accepts but does not keep (e.g. `passwordProfile`).
    pub fn ignore(&mut self, key: &str) {
        self.take(key);
    }

    /// Fails on any property left unread, other than annotations.
    pub fn finish(self) -> ApiResult<()> {
        match self.map.keys().find(|k| !k.starts_with('@') && !k.contains("@odata.")) {
            None => Ok(()),
            Some(k) => Err(ApiError::bad_request(format!(
                "Property '{k}' does not exist on type '{}' or cannot be set.",
                self.type_name
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Body {
        let Value::Object(m) = v else { unreachable!() };
        Body::new(JsonObject(m), "microsoft.graph.user")
    }

    #[test]
    fn typed_reads_and_unknown_properties() {
        let mut b = body(json!({"displayName": "A", "AccountEnabled": true, "@odata.type": "#x", "bogus": 1}));
        assert_eq!(b.string("displayName").unwrap().as_deref(), Some("A"));
        assert_eq!(b.bool("accountEnabled").unwrap(), Some(true));
        let e = b.finish().unwrap_err();
        assert!(e.message.contains("'bogus'"));
        let mut b = body(json!({"displayName": 5}));
        assert!(b.string("displayName").unwrap_err().message.contains("expected a string"));
        let mut b = body(json!({"mail": null}));
        assert_eq!(b.nullable_string("mail").unwrap(), Some(None));
        let mut b = body(json!({"id": "nope"}));
        assert!(b.guid("id").is_err());
    }
}
