//! Benchmarks for OpenPIM: a deterministic directory workload (shared with the HTTP load
//! generator) and the in-process access-check comparison with casbin-rs and cedar-policy.

pub mod agreement;
pub mod anchors;
pub mod engine;
pub mod measure;
pub mod workload;
