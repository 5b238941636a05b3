//! ARM's list envelope. Clients follow `nextLink` verbatim until it is absent or null
//! (`x-ms-pageable.nextLinkName: nextLink` in every Azure spec).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmList<T> {
    pub value: Vec<T>,
    #[serde(rename = "nextLink", default, skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
}

impl<T> ArmList<T> {
    pub fn new(value: Vec<T>) -> Self {
        Self { value, next_link: None }
    }
}
