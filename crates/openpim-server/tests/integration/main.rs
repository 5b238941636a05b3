//! The server's integration suite, as one test binary: every module starts real servers on
//! random ports (in-process) and talks to them over HTTP. One binary rather than one per file
//! because each binary links the whole server: thirty-odd copies cost minutes of linking and
//! gigabytes of disk in CI. Tests that change process-wide state (the global tracing subscriber,
//! the metrics recorder, SIGHUP) stay in binaries of their own: `transport`, `health_metrics`,
//! `tls`.
//!
//! Run one area with a filter: `cargo test -p openpim-server --test integration schedules::`.

#[path = "../common/mod.rs"]
mod common;
#[path = "../pim/mod.rs"]
mod pim;

mod access_check;
mod access_history;
mod activation_concurrency;
mod admin_units;
mod adversarial;
mod alerts;
mod alerts_azure;
mod applications;
mod approvals;
mod arm_approvals;
mod arm_foundation;
mod arm_hierarchy;
mod arm_lists;
mod arm_permissions;
mod arm_pim_requests;
mod arm_pim_rules;
mod arm_policies;
mod arm_role_assignments;
mod arm_role_definitions;
mod arm_scope_labels;
mod audit;
mod audit_chain;
mod auth;
mod bad_input;
mod beta;
mod directory;
mod governance;
mod governance_azure;
mod groups;
mod invariants;
mod lifecycle;
mod multi_node;
mod notifications;
mod odata;
mod oidc;
mod oidc_ui;
mod policies;
mod races;
mod read_access;
mod request_ids;
mod role_assignments;
mod role_definitions;
mod schedules;
mod schedules_lists;
mod supervision;
mod ui;
mod ui_azure;
mod ui_azure_settings;
mod users;
