//! Graph's JSON shapes: request bodies in, entities out. Core never sees JSON.

pub mod audit;
pub mod body;
pub mod directory;
pub mod policies;
pub mod roles;
pub mod schedules;

use openpim_core::Instant;
use time::format_description::well_known::Rfc3339;

/// Graph's DateTimeOffset rendering: RFC 3339 in UTC with a `Z`.
pub fn datetime(t: Instant) -> String {
    t.to_offset(time::UtcOffset::UTC).format(&Rfc3339).unwrap_or_default()
}
