//! Graph's JSON shapes: request bodies in, entities out. Core never sees JSON.
//!
//! Entities are rendered by building their `openpim_proto` type from the domain value and
//! serialising it; bodies are read strictly through [`body::Body`], whose errors name the property.

pub mod alerts;
pub mod approvals;
pub mod audit;
pub mod body;
pub mod directory;
pub mod governance;
pub mod policies;
pub mod roles;
pub mod schedules;

use openpim_core::Instant;
use serde::Serialize;
use serde_json::Value;

/// Graph's DateTimeOffset rendering: RFC 3339 in UTC with a `Z`.
pub fn datetime(t: Instant) -> String {
    openpim_proto::datetime::format(t)
}

/// A proto entity as the JSON the OData layer projects (`$select`) and wraps. The proto types
/// have string keys and infallible fields, so this cannot fail; were a defect to make it fail,
/// the entity renders as `null` and the defect is logged rather than taking the request down.
pub fn to_json<T: Serialize>(entity: &T) -> Value {
    serde_json::to_value(entity).unwrap_or_else(|e| {
        tracing::error!(error = %e, "a proto entity failed to serialise");
        Value::Null
    })
}
