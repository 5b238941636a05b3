//! Strict request-body reading: typed fields with clear errors, and unknown properties rejected
//! the way Graph rejects them. `@odata.*` annotations are accepted and ignored (SDKs send them).
//!
//! Parsing itself is strict too, so every endpoint inherits it: a property named twice in one
//! object (names compare case-insensitively, as Graph matches them) is refused instead of the last
//! one silently winning; every string is at most [`MAX_STRING_CHARS`] characters
//! ([`MAX_CUSTOM_DATA_CHARS`] for `customData`); and no string may contain a bidirectional
//! control character (U+202A–U+202E, U+2066–U+2069), which can make a display name, UPN or
//! justification read differently from what it is ("Trojan Source" spoofing in lists and audit).

use crate::error::{ApiError, ApiResult};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::fmt;

/// Longest string accepted in a request body, in characters.
pub const MAX_STRING_CHARS: usize = 1024;
/// Longest `customData` (free-form data a client attaches to a schedule request), in characters.
pub const MAX_CUSTOM_DATA_CHARS: usize = 4096;

/// The bidirectional formatting characters refused in request strings.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Parses a request body into a JSON value with the checks described in the module docs.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Strict { property: None }.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Reads one JSON value; `property` is the name of the object member it is the value of (for
/// the limit that applies and for messages).
struct Strict<'a> {
    property: Option<&'a str>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        let name = self.property.unwrap_or("(value)");
        let max = match self.property {
            Some(p) if p.eq_ignore_ascii_case("customData") => MAX_CUSTOM_DATA_CHARS,
            _ => MAX_STRING_CHARS,
        };
        if v.chars().count() > max {
            return Err(E::custom(format!("property '{name}' is longer than {max} characters")));
        }
        if let Some(c) = v.chars().find(|c| is_bidi_control(*c)) {
            return Err(E::custom(format!(
                "property '{name}' contains the bidirectional control character U+{:04X}, which is not allowed",
                c as u32
            )));
        }
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.visit_str(&v)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(Strict { property: self.property })? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        let mut seen = HashSet::new();
        while let Some(key) = access.next_key::<String>()? {
            if !seen.insert(key.to_lowercase()) {
                return Err(de::Error::custom(format!("property '{key}' appears more than once")));
            }
            let value = access.next_value_seed(Strict { property: Some(&key) })?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

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
        match parse_strict(&bytes) {
            Ok(Value::Object(map)) => Ok(JsonObject(map)),
            Ok(_) => Err(ApiError::bad_request("The request body must be a JSON object.")),
            // Well-formed JSON that breaks a rule above (duplicate, too long, bidi control).
            Err(e) if e.classify() == serde_json::error::Category::Data => {
                Err(ApiError::bad_request(format!("Invalid request body: {e}.")))
            }
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
