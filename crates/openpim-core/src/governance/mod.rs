//! The Graph beta "iteration 2" PIM API (`/beta/privilegedAccess/{aadRoles|azureResources}`,
//! `governanceRole*`) as a second view over the same engine: these are the pure mappings between
//! its vocabulary and the schedule/policy model the v1.0 and ARM surfaces already use.
//!
//! - [`request`]: a request's `type` + `assignmentState` ↔ schedule [`Action`](crate::schedule::Action)
//!   and [`Kind`](crate::schedule::Kind); `governanceSchedule` ↔ `scheduleInfo`; an engine status
//!   ↔ `{status, subStatus, statusDetails}`.
//! - [`settings`]: a roleSetting's four lists of `{ruleIdentifier, setting}` (the setting a
//!   JSON-encoded string) ↔ the policy's rules, both ways, with `InvalidRoleSetting` errors.
//! - [`ids`]: the governance ids (resources, role definitions, settings, assignments).

pub mod errors;
pub mod ids;
pub mod request;
pub mod settings;
