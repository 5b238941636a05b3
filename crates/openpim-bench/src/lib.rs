//! Benchmarks for OpenPIM: a deterministic directory workload (shared with the HTTP load
//! generator) and the in-process access-check comparison with casbin-rs and cedar-policy, for Entra
//! directory roles and (in [`azure`]) Azure RBAC at ARM scopes.

pub mod agreement;
pub mod anchors;
pub mod azure;
pub mod engine;
pub mod measure;
pub mod workload;
