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

//!
//! Authorization is in the signatures: every operation that changes or reveals PIM state takes
//! the proof it needs ([`Granted`] from `authz::grant`, or [`OwnPrincipal`] for what is the
//! caller's own), so a handler that forgot the check does not compile.

pub mod access;
pub mod approvals;
pub mod assignments;
pub mod policies;
pub mod reads;
pub mod requests;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Audit};
use openpim_core::audit::AuditResult;
use openpim_core::authz::{cap, Granted, OwnPrincipal};
use openpim_core::error::DomainError;
use openpim_core::{Instant, ObjectId};

/// Whose role assignments, schedules, instances and requests a read may return. Who may
/// enumerate who holds or can become Global Administrator is itself sensitive: Entra requires
/// a role that reads role assignments (Directory Readers, Global Reader, role administrators);
/// everyone reads their own.
#[derive(Debug, Clone)]
pub enum Visibility {
    /// Everyone's: the caller reads role assignments tenant-wide.
    Everyone(Granted<cap::ReadRoleAssignments>),
    /// Only the caller's own principal (`filterByCurrentUser`, a `$filter` naming only them, or
    /// a single item that turns out to be theirs).
    Own(OwnPrincipal),
}

impl Visibility {
    /// The principal a read is restricted to (`None`: everyone's).
    pub fn holder(&self) -> Option<ObjectId> {
        match self {
            Self::Everyone(_) => None,
            Self::Own(own) => Some(own.principal()),
        }
    }

    /// May this read show an item of `principal`?
    pub fn shows(&self, principal: ObjectId) -> bool {
        self.holder().is_none_or(|own| own == principal)
    }
}

/// Audits a refused attempt (it changes nothing else) and returns the error to answer with.
async fn refused(s: &AppState, caller: &Caller, audit: &Audit, now: Instant, e: DomainError) -> ApiError {
    let record = audit.record(caller, now, AuditResult::Failure, &format!("{}: {}", e.code, e.message));
    s.record_audit(&record).await;
    e.into()
}

impl Visibility {
    /// The caller's own items only.
    pub fn own(caller: &Caller) -> Self {
        Self::Own(openpim_core::authz::own_principal(caller.subject()))
    }

    /// For one item by id: everyone's when the caller may read them, else their own (the
    /// operation answers anyone else's item as not found).
    pub fn for_item(s: &AppState, caller: &Caller) -> Self {
        s.permits::<cap::ReadRoleAssignments>(caller).map_or_else(|| Self::own(caller), Self::Everyone)
    }

    /// For a list of `set`: everyone's when the caller may read them, their own when `filter`
    /// keeps only items whose `principalId` is the caller's; anything else is refused (403)
    /// rather than silently narrowed, so a client never mistakes its own rows for everyone's.
    pub fn for_list(s: &AppState, caller: &Caller, filter: Option<&openpim_odata::Expr>, set: &str) -> ApiResult<Self> {
        if let Some(granted) = s.permits::<cap::ReadRoleAssignments>(caller) {
            return Ok(Self::Everyone(granted));
        }
        if reads::filter_pins(filter, "principalId", caller.id()) {
            return Ok(Self::own(caller));
        }
        Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            format!(
                "Listing everyone's {set} needs a role that reads role assignments \
                 ('microsoft.directory/roleAssignments/standard/read': Directory Readers, Global Reader, \
                 role administrators). Filter on your own principalId, or use filterByCurrentUser where \
                 the collection has it."
            ),
        ))
    }
}
