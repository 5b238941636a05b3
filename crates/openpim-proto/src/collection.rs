//! The collection envelope: `@odata.context`, `@odata.count`, `value`, `@odata.nextLink`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Collection<T> {
    #[serde(rename = "@odata.context", default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(rename = "@odata.count", default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(rename = "@odata.nextLink", default, skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
    pub value: Vec<T>,
}

impl<T> Collection<T> {
    pub fn new(value: Vec<T>) -> Self {
        Self { context: None, count: None, value, next_link: None }
    }
}
