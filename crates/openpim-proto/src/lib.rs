//! Graph's JSON shapes for the entities OpenPIM serves, as serde types shared by the server (which
//! renders through them), the web UI and the CLI (which read responses into them and build request
//! bodies from them).
//!
//! The server's output is the contract: a property Graph sends as `null` is a plain `Option` here
//! (serialised as `null`), one Graph leaves out is `skip_serializing_if = "Option::is_none"`.
//! Vocabulary values (statuses, actions, member types...) are strings: their typed form is core's
//! enums (`openpim_core`, strum-derived with Graph's spellings), and this crate stays free of the
//! domain so that clients can depend on it alone.

pub mod alerts;
pub mod approvals;
pub mod arm;
pub mod audit;
pub mod collection;
pub mod datetime;
pub mod directory;
pub mod error;
pub mod governance;
pub mod policies;
pub mod roles;
pub mod schedules;
pub mod signin;

pub use collection::Collection;
pub use error::GraphError;

/// `@odata.type` values are written with a leading `#`.
pub fn odata_type(name: &str) -> String {
    format!("#{name}")
}
