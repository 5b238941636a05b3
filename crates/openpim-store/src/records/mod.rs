//! The store's own formats for the values it keeps as JSON documents in a column: a policy's
//! rules, an approval's steps, a role's permission blocks, and plain string lists (outbox
//! recipients, session acrs, an Azure role's assignable scopes).
//!
//! Core's types are the domain's and may be renamed or reshaped freely; the bytes in a database
//! may not. So nothing here serialises a core type: each document has record types of its own
//! (`...V1`), whose serde names are the stored format, and explicit conversions to and from
//! core's types. Those conversions destructure every struct without `..` and match every enum
//! variant by name, so a core change that would alter what is stored (a renamed or added
//! variant, a renamed, added or removed field) stops the store from compiling until someone
//! decides how the format follows. Changing a record type itself changes the format, which the
//! golden tests (`tests/records.rs`, fixtures in `tests/fixtures/`) catch byte for byte.
//!
//! Version 1 is exactly what this code wrote before these types existed (serde's defaults on
//! core's types: externally tagged enums, snake_case fields, `time`'s tuple encodings), so every
//! existing row reads as it is, with no migration. Each v1 document is a bare JSON array. A
//! future version is written as an object `{"v": 2, ...}`; its decoder keeps reading arrays as
//! v1, so old rows stay readable without rewriting them.
//!
//! Core's policy and approval types derive no serde traits at all, so they cannot be stored (or
//! sent) by accident without going through a record type.

pub mod approval_steps;
pub mod policy_rules;
mod primitives;
pub mod role_permissions;
pub mod string_list;

use crate::{StoreError, StoreResult};
use serde::de::DeserializeOwned;
use serde::Serialize;

fn to_json<T: Serialize>(what: &str, value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn from_json<T: DeserializeOwned>(what: &str, raw: &str) -> StoreResult<T> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}
