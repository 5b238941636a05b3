//! PIM operations, independent of any wire format: the Graph handlers (and any future surface)
//! parse a request, call one operation here, and render what it returns.
//!
//! Each operation owns the whole write: it opens the one write transaction first, reads inside
//! it every fact that decides the outcome (the principal, the role, the policy rules, group
//! memberships, live and expired schedules, eligibilities, pending requests), calls the pure
//! rules in `openpim_core`, maps store conflicts to Graph errors and commits with the audit
//! record. Reading the facts inside the transaction is what makes the decision hold at commit:
//! on SQLite the transaction owns the database's write lock from `BEGIN IMMEDIATE`, and on
//! PostgreSQL the rows read are locked (`FOR SHARE`/`FOR UPDATE`) until commit. A fact read
//! before the transaction could change before the commit — a member removed from a group
//! while activating through it kept the role.

pub mod approvals;
pub mod requests;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::{AppState, Audit};
use openpim_core::audit::AuditResult;
use openpim_core::error::DomainError;
use openpim_core::Instant;

/// Audits a refused attempt (it changes nothing else) and returns the error to answer with.
async fn refused(s: &AppState, caller: &Caller, audit: &Audit, now: Instant, e: DomainError) -> ApiError {
    let record = audit.record(caller, now, AuditResult::Failure, &format!("{}: {}", e.code, e.message));
    s.record_audit(&record).await;
    e.into()
}
