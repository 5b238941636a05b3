//! ARM's generic resources (`GET|PUT|DELETE {resourceId}`), kept with opaque documents.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenericResource {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// The resource's `kind` (e.g. `StorageV2`), as ARM names it.
    #[serde(rename = "kind", default, skip_serializing_if = "Option::is_none")]
    pub resource_kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<Value>,
    /// Left out in lists, as ARM's resource list does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Value>,
}
