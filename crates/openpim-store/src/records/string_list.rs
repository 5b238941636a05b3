//! A list of strings (a notification's recipients, a session's authentication contexts):
//! stored as a JSON array of strings.

use crate::StoreResult;

pub fn encode(items: &[String]) -> StoreResult<String> {
    super::to_json("string list", &items)
}

pub fn decode(raw: &str) -> StoreResult<Vec<String>> {
    super::from_json("string list", raw)
}
