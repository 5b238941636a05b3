//! Azure workloads for the in-process benchmark (issue #15): Azure RBAC role assignments at ARM
//! scopes — a management-group tree, subscriptions, resource groups and resources; users and
//! nested security groups; the built-in Azure roles (actions, notActions, dataActions) and
//! custom roles with wildcards — and the question "may principal P perform operation A (control
//! or data plane) at scope S?", answered three ways:
//!
//! * [`engine::OpenPimAzure`]: OpenPIM's access index (`AccessIndex::allows_permission`, the code
//!   behind ARM's `permissions` API and `accessCheck` with an ARM `scope`), loaded with the same
//!   `IndexUpdate`s the store's loader produces;
//! * [`casbin::CasbinAzure`]: casbin-rs, scopes and groups as two role graphs, wildcards as
//!   casbin's `regexMatch`;
//! * [`cedar::CedarAzure`]: cedar-policy, scopes and groups as entity parents, one template per
//!   role linked once per assignment, wildcards as Cedar's `like`.
//!
//! Each module's docs give its encoding and what, if anything, happens outside the timed region.
//! The agreement check ([`crate::agreement`]) and the timed loop ([`crate::measure::rate`]) are the
//! directory benchmark's, generic over the query type.

pub mod casbin;
pub mod cedar;
pub mod engine;
pub mod measure;
pub mod workload;

pub use workload::{AzureQuery, AzureSpec, AzureWorkload, Intent, Plane};
