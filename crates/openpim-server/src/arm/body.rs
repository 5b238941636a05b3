//! ARM request bodies: JSON objects read property by property, names matched ignoring case (the
//! official REST samples send `Properties`, `RoleDefinitionId`), values with strict types.
//!
//! Parsing is Graph's strict parser (`wire::body::parse_strict`: no property twice, bounded
//! strings, no bidirectional control characters). A body that is not JSON, or not an object, is
//! 400 `InvalidRequestFormat`; JSON that does not fit the operation (wrong type, unknown or
//! missing property) is 400 `InvalidRequestContent` naming the property by its path
//! (`properties.details.parent.id`), as ARM's deserializer does.

use super::error::{ArmError, ArmResult};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A JSON object of a request body (or a nested object of one), read field by field.
#[derive(Debug)]
pub struct ArmBody {
    map: Map<String, Value>,
    /// Where this object sits in the body (`""` at the top, `properties`, ...), for messages.
    path: String,
    /// The ARM model this object is read as (`ManagementGroup`, `ResourceGroup`), for messages.
    type_name: &'static str,
}

impl ArmBody {
    /// Parses a whole request body. An empty body reads as `{}`: ARM's PUTs without properties
    /// (a subscription moved into a management group) send none.
    pub fn parse(bytes: &[u8], type_name: &'static str) -> ArmResult<Self> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self { map: Map::new(), path: String::new(), type_name });
        }
        match crate::wire::body::parse_strict(bytes) {
            Ok(Value::Object(map)) => Ok(Self { map, path: String::new(), type_name }),
            Ok(_) => Err(ArmError::invalid_format("The request content must be a JSON object.")),
            Err(e) if e.classify() == serde_json::error::Category::Data => Err(ArmError::invalid_content(format!(
                "The request content was invalid and could not be deserialized: '{e}'."
            ))),
            Err(e) => Err(ArmError::invalid_format(format!("The request content is not valid JSON: '{e}'."))),
        }
    }

    fn at(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn take(&mut self, key: &str) -> Option<Value> {
        let found = self.map.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()?;
        self.map.remove(&found)
    }

    fn type_error(&self, key: &str, expected: &str) -> ArmError {
        let at = self.at(key);
        ArmError::invalid_content(format!(
            "The request content was invalid and could not be deserialized: 'Error converting value at path \
             '{at}': expected {expected}.'"
        ))
        .with_target(at)
    }

    /// A required property that is absent (or null).
    pub fn missing(&self, key: &str) -> ArmError {
        let at = self.at(key);
        ArmError::invalid_content(format!(
            "The request content was invalid and could not be deserialized: 'Required property '{at}' not found \
             in JSON.'"
        ))
        .with_target(at)
    }

    /// A property with a value of the right type that the operation still refuses.
    pub fn invalid(&self, key: &str, why: impl std::fmt::Display) -> ArmError {
        let at = self.at(key);
        ArmError::invalid_content(format!("The value of property '{at}' is invalid: {why}")).with_target(at)
    }

    /// A string; JSON null counts as absent.
    pub fn string(&mut self, key: &str) -> ArmResult<Option<String>> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.type_error(key, "a string")),
        }
    }

    /// A string that must be there.
    pub fn required_string(&mut self, key: &str) -> ArmResult<String> {
        self.string(key)?.ok_or_else(|| self.missing(key))
    }

    pub fn bool(&mut self, key: &str) -> ArmResult<Option<bool>> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(_) => Err(self.type_error(key, "a Boolean")),
        }
    }

    /// A whole number that fits an `i32` (ARM's `int32` properties).
    pub fn int(&mut self, key: &str) -> ArmResult<Option<i32>> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => match n.as_i64().and_then(|v| i32::try_from(v).ok()) {
                Some(v) => Ok(Some(v)),
                None => Err(self.type_error(key, "a 32-bit integer")),
            },
            Some(_) => Err(self.type_error(key, "an integer")),
        }
    }

    /// A GUID in its hyphenated form.
    pub fn guid(&mut self, key: &str) -> ArmResult<Option<uuid::Uuid>> {
        match self.string(key)? {
            None => Ok(None),
            Some(s) => match (s.len() == 36).then(|| uuid::Uuid::try_parse(&s).ok()).flatten() {
                Some(id) => Ok(Some(id)),
                None => Err(self.invalid(key, format_args!("'{s}' is not a GUID."))),
            },
        }
    }

    pub fn string_list(&mut self, key: &str) -> ArmResult<Option<Vec<String>>> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    _ => Err(self.type_error(key, "an array of strings")),
                })
                .collect::<ArmResult<Vec<_>>>()
                .map(Some),
            Some(_) => Err(self.type_error(key, "an array of strings")),
        }
    }

    /// An object of string values (ARM's `tags`).
    pub fn string_map(&mut self, key: &str) -> ArmResult<Option<BTreeMap<String, String>>> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => map
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k, s)),
                    _ => Err(self.type_error(key, "an object of strings")),
                })
                .collect::<ArmResult<BTreeMap<_, _>>>()
                .map(Some),
            Some(_) => Err(self.type_error(key, "an object of strings")),
        }
    }

    /// A nested object, read with the same rules (call [`ArmBody::finish`] on it too).
    pub fn object(&mut self, key: &str, type_name: &'static str) -> ArmResult<Option<ArmBody>> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => Ok(Some(ArmBody { map, path: self.at(key), type_name })),
            Some(_) => Err(self.type_error(key, "an object")),
        }
    }

    /// An array of objects (a role definition's `permissions`), each read with the same rules
    /// (call [`ArmBody::finish`] on each); messages name the item (`properties.permissions[0]`).
    pub fn objects(&mut self, key: &str, type_name: &'static str) -> ArmResult<Option<Vec<ArmBody>>> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::Object(map) => Ok(ArmBody { map, path: format!("{}[{i}]", self.at(key)), type_name }),
                    _ => Err(self.type_error(key, "an array of objects")),
                })
                .collect::<ArmResult<Vec<_>>>()
                .map(Some),
            Some(_) => Err(self.type_error(key, "an array of objects")),
        }
    }

    /// A property kept as opaque JSON (a resource's `properties`), as sent.
    pub fn opaque(&mut self, key: &str) -> Option<Value> {
        self.take(key).filter(|v| !v.is_null())
    }

    /// Reads and discards a property ARM accepts but ignores in a request (the read-only `id`,
    /// `name`, `type` of a resource sent back as read).
    pub fn ignore(&mut self, key: &str) {
        self.take(key);
    }

    /// Fails on any property left unread.
    pub fn finish(self) -> ArmResult<()> {
        match self.map.keys().next() {
            None => Ok(()),
            Some(k) => {
                let at = self.at(k);
                Err(ArmError::invalid_content(format!(
                    "The request content was invalid and could not be deserialized: 'Could not find member '{k}' on \
                     object of type '{}'. Path '{at}'.'",
                    self.type_name
                ))
                .with_target(at))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn names_match_ignoring_case_and_paths_name_the_property() {
        let mut b = ArmBody::parse(
            br#"{"Properties":{"DisplayName":"A","details":{"parent":{"ID":"x"}}},"id":"i"}"#,
            "ManagementGroup",
        )
        .unwrap();
        b.ignore("id");
        let mut props = b.object("properties", "Properties").unwrap().unwrap();
        assert_eq!(props.string("displayName").unwrap().as_deref(), Some("A"));
        let mut details = props.object("details", "Details").unwrap().unwrap();
        let mut parent = details.object("parent", "Parent").unwrap().unwrap();
        assert_eq!(parent.string("id").unwrap().as_deref(), Some("x"));
        parent.finish().unwrap();
        details.finish().unwrap();
        props.finish().unwrap();
        b.finish().unwrap();

        let mut b = ArmBody::parse(br#"{"properties":{"displayName":5,"bogus":1}}"#, "ManagementGroup").unwrap();
        let mut props = b.object("properties", "Properties").unwrap().unwrap();
        let e = props.string("displayName").unwrap_err();
        assert_eq!(
            (e.status, e.code.as_str(), e.target.as_deref()),
            (StatusCode::BAD_REQUEST, "InvalidRequestContent", Some("properties.displayName"))
        );
        let e = props.finish().unwrap_err();
        assert!(e.message.contains("'bogus'") && e.message.contains("'properties.bogus'"), "{}", e.message);
    }

    #[test]
    fn malformed_bodies_are_format_errors() {
        assert_eq!(ArmBody::parse(b"{", "X").unwrap_err().code, "InvalidRequestFormat");
        assert_eq!(ArmBody::parse(b"[1]", "X").unwrap_err().code, "InvalidRequestFormat");
        assert_eq!(ArmBody::parse(br#"{"a":1,"A":2}"#, "X").unwrap_err().code, "InvalidRequestContent");
        assert!(ArmBody::parse(b"  ", "X").unwrap().finish().is_ok());
        let mut b = ArmBody::parse(br#"{"tags":{"a":"b"},"n":"1"}"#, "X").unwrap();
        assert_eq!(b.string_map("tags").unwrap().unwrap().get("a").map(String::as_str), Some("b"));
        assert!(b.guid("n").is_err());
    }
}
