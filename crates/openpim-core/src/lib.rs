//! OpenPIM's domain: the directory, the role catalog, scopes, assignments and the access index.
//!
//! Rules live here and nowhere else. Nothing in this crate does IO, spawns tasks or reads the
//! system clock: callers pass `now` in, so tests can drive time explicitly.

pub mod access;
pub mod alerts;
pub mod applications;
pub mod approval;
pub mod assignment;
pub mod audit;
pub mod authz;
pub mod azure_assignment;
pub mod azure_catalog;
pub mod azure_list_filter;
pub mod azure_resources;
pub mod catalog;
pub mod change;
pub mod directory;
pub mod duration;
pub mod error;
pub mod governance;
pub mod history;
pub mod notify;
pub mod policy;
pub mod roles;
pub mod schedule;
pub mod scope;

pub use error::{DomainError, ErrorKind};

/// Object ids are GUIDs rendered lowercase with hyphens, as Graph does.
pub type ObjectId = uuid::Uuid;

/// Instants are UTC `OffsetDateTime`s; the store keeps them as microseconds since the epoch.
pub type Instant = time::OffsetDateTime;
