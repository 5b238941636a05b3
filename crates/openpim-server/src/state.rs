//! Shared server state and the helpers every handler uses to authorise and to commit.

use crate::auth::{Caller, CallerCache, LocalIssuer};
use crate::error::{ApiError, ApiResult};
use openpim_core::access::AccessIndex;
use openpim_core::audit::{AuditRecord, AuditResult, AuditTarget, ModifiedProperty};
use openpim_core::authz::{self, Capability, Granted};
use openpim_core::error::DomainResult;
use openpim_core::scope::DirectoryScope;
use openpim_core::{Instant, ObjectId};
use openpim_store::{Store, WriteTx};
use std::sync::{Arc, RwLock, RwLockReadGuard};

/// Where "now" comes from. Production uses the system clock; tests may substitute their own.
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

pub struct SystemClock;

impl Clock for SystemClock {
    /// Truncated to microseconds, the precision the store keeps, so what a response shows at
    /// creation is exactly what a later read returns.
    fn now(&self) -> Instant {
        let t = time::OffsetDateTime::now_utc();
        t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000).unwrap_or(t)
    }
}

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Store,
    pub index: RwLock<AccessIndex>,
    pub issuer: LocalIssuer,
    /// Whether the local issuer's tokens (`openpim token`, the sign-in page's token paste) are
    /// accepted from clients. The web UI's own in-process calls use it either way.
    pub local_issuer_enabled: bool,
    /// Trusted external OpenID Connect issuers (none unless configured).
    pub external: crate::auth::external::ExternalIssuers,
    /// Verified tokens and callers' user rows, so a request does not pay for them every time.
    pub callers: CallerCache,
    pub clock: Box<dyn Clock>,
    pub tenant_id: ObjectId,
    /// Absolute base for `@odata.context`/`nextLink` when set; otherwise `listen_origin`.
    pub public_url: Option<String>,
    /// `http://{bound address}`: the base when no public URL is set (never the untrusted `Host`).
    pub listen_origin: String,
    /// Who may read `/metrics`.
    pub metrics_access: crate::metrics::MetricsAccess,
    /// The longest an activation waits for approval before it times out.
    pub approval_timeout: time::Duration,
    pub notifications: crate::notify::NotificationConfig,
    /// The last change-feed sequence number this node's index reflects.
    pub feed_position: std::sync::atomic::AtomicI64,
    /// Set by tests to stop following the feed for a while (then the node must catch up).
    pub follower_paused: std::sync::atomic::AtomicBool,
    /// The background loops' health (and their test hooks), for `/healthz`.
    pub loops: crate::supervise::Loops,
    /// Per-caller limits on refused attempts and sign-ins (`limits.rs`).
    pub limits: crate::limits::RateLimits,
    /// `/readyz`'s settings and the draining flag (`ready.rs`).
    pub readiness: crate::ready::Readiness,
    /// Sign-ins noted since the last PIM alert scan (`alerts.rs`).
    pub sign_ins: crate::alerts::SignIns,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }

    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    pub fn index(&self) -> RwLockReadGuard<'_, AccessIndex> {
        // A poisoned lock means a panic mid-update; the index would be suspect, so fail loudly.
        self.index.read().expect("access index lock poisoned")
    }

    /// Commits `tx` with its audit record and applies the resulting index updates. A write the
    /// store refuses because it would break an invariant changes nothing; the attempt is audited
    /// with result `failure` and the invariant's reason.
    pub async fn commit(&self, tx: WriteTx<'_>, record: &AuditRecord) -> ApiResult<()> {
        let record: &AuditRecord = &in_this_request(record);
        let users_changed = tx.touches("user");
        let committed = tx
            .commit(record, |updates| {
                let mut idx = self.index.write().expect("access index lock poisoned");
                for u in updates {
                    idx.apply(u);
                }
            })
            .await;
        if let Err(openpim_store::StoreError::Invariant(violation)) = &committed {
            let refused = AuditRecord {
                id: ObjectId::new_v4(),
                result: AuditResult::Failure,
                result_reason: violation.message.clone(),
                ..record.clone()
            };
            self.record_audit(&refused).await;
        }
        committed?;
        log_change(record);
        if users_changed {
            self.callers.users_changed();
        }
        Ok(())
    }

    /// Records an attempt that changes nothing else (denied, refused) through the one write
    /// path, in the group commit like every write. A record that cannot be written is logged.
    pub async fn record_audit(&self, record: &AuditRecord) {
        let record: &AuditRecord = &in_this_request(record);
        if let (AuditResult::Failure, Some(caller)) = (record.result, record.initiated_by_id) {
            // Each refusal spends the caller's budget; past it, they are answered 429 up front.
            self.limits.note_refusal(caller);
        }
        let stored = self
            .store
            .record_audit(record, |updates| {
                let mut idx = self.index.write().expect("access index lock poisoned");
                for u in updates {
                    idx.apply(u);
                }
            })
            .await;
        match stored {
            Ok(()) => log_change(record),
            Err(e) => tracing::error!(error = %e, activity = %record.activity, "could not audit a refused attempt"),
        }
    }

    /// Authorises `op` for `caller` on a target in `scopes`; a denial is audited and returned as 403.
    pub async fn authorize<C: Capability>(
        &self,
        caller: &Caller,
        scopes: &[DirectoryScope],
        audit: &Audit,
    ) -> ApiResult<Granted<C>> {
        let decision = authz::grant::<C>(&self.index(), caller.subject(), scopes, self.now());
        self.audited(caller, audit, decision).await
    }

    /// Authorises `C` on the directory object `target` (at the scopes it lives in), including
    /// the protected-account rule for privileged principals: those holding, eligible for or
    /// approving privileged roles (the last two are read from the store).
    pub async fn authorize_on_principal<C: Capability>(
        &self,
        caller: &Caller,
        target: ObjectId,
        audit: &Audit,
    ) -> ApiResult<Granted<C>> {
        let scopes = self.scopes_of(target).await?;
        let latent = self.store.latent_roles_of(target).await?;
        let decision =
            authz::grant_on_principal::<C>(&self.index(), caller.subject(), target, &scopes, &latent, self.now());
        self.audited(caller, audit, decision).await
    }

    /// `C` at the tenant, without an audit record when refused: for reads and for deciding what
    /// to show (a refused read changes nothing, and Entra does not audit it).
    pub fn permits<C: Capability>(&self, caller: &Caller) -> Option<Granted<C>> {
        authz::grant::<C>(&self.index(), caller.subject(), &[], self.now()).ok()
    }

    /// Records a denied attempt in the audit log (it changes nothing else) and returns 403.
    async fn audited<T>(&self, caller: &Caller, audit: &Audit, decision: DomainResult<T>) -> ApiResult<T> {
        let denied = match decision {
            Ok(granted) => return Ok(granted),
            Err(denied) => denied,
        };
        let record = audit.record(caller, self.now(), AuditResult::Failure, &denied.message);
        self.record_audit(&record).await;
        Err(ApiError::from(denied))
    }

    /// The scopes through which an admin may act on `object`: the tenant and its units.
    pub async fn scopes_of(&self, object: ObjectId) -> ApiResult<Vec<DirectoryScope>> {
        let mut scopes = vec![DirectoryScope::Tenant];
        scopes.extend(self.store.units_of(object).await?.into_iter().map(DirectoryScope::AdministrativeUnit));
        Ok(scopes)
    }
}

/// `record` as written during the current request: correlated with the request's id (Graph's
/// `correlationId`), whoever built it. Outside a request it keeps its own.
/// The one log line of an audited change or refused attempt, once its record is committed: what
/// (the activity, its result, the targets' ids), who (the initiator's id) and the request
/// (the correlation id; inside a request the span names it too). Never the record's details
/// or modified properties, which hold justifications and new values, nor display names.
fn log_change(record: &AuditRecord) {
    let targets = record.targets.iter().map(|t| format!("{}:{}", t.kind, t.id)).collect::<Vec<_>>().join(",");
    tracing::info!(
        target: crate::transport::CHANGE_LOG,
        activity = %record.activity,
        category = record.category,
        operation = record.operation_type,
        result = record.result.as_str(),
        actor_id = record.initiated_by_id.map(|id| id.to_string()),
        targets = %targets,
        audit_id = %record.id,
        correlation_id = %record.correlation_id,
        "change"
    );
}

fn in_this_request(record: &AuditRecord) -> std::borrow::Cow<'_, AuditRecord> {
    match crate::transport::current() {
        Some(ids) if ids.request_id != record.correlation_id => {
            std::borrow::Cow::Owned(AuditRecord { correlation_id: ids.request_id, ..record.clone() })
        }
        _ => std::borrow::Cow::Borrowed(record),
    }
}

/// Describes an operation for the audit log; turned into a record on success or denial.
pub struct Audit {
    pub category: &'static str,
    pub activity: &'static str,
    pub operation_type: &'static str,
    pub targets: Vec<AuditTarget>,
    pub details: Vec<(String, String)>,
}

impl Audit {
    pub fn new(category: &'static str, activity: &'static str, operation_type: &'static str) -> Self {
        Self { category, activity, operation_type, targets: Vec::new(), details: Vec::new() }
    }

    pub fn target(mut self, kind: &'static str, id: impl ToString, name: Option<&str>, upn: Option<&str>) -> Self {
        self.targets.push(AuditTarget::new(kind, id, name, upn));
        self
    }

    /// Records that the last target's property `name` changed from `old` to `new` (JSON text,
    /// as Graph's `modifiedProperties` carry them).
    pub fn modified(mut self, name: impl ToString, old: Option<String>, new: Option<String>) -> Self {
        if let Some(t) = self.targets.last_mut() {
            t.modified_properties.push(ModifiedProperty {
                display_name: name.to_string(),
                old_value: old,
                new_value: new,
            });
        }
        self
    }

    pub fn detail(mut self, key: &str, value: impl ToString) -> Self {
        self.details.push((key.to_string(), value.to_string()));
        self
    }

    pub fn record(&self, caller: &Caller, at: Instant, result: AuditResult, reason: &str) -> AuditRecord {
        AuditRecord {
            id: ObjectId::new_v4(),
            at,
            category: self.category,
            activity: self.activity.to_string(),
            operation_type: self.operation_type,
            result,
            result_reason: reason.to_string(),
            initiated_by_id: Some(caller.id()),
            initiated_by_upn: Some(caller.user.user_principal_name.clone()),
            initiated_by_display_name: Some(caller.user.display_name.clone()),
            targets: self.targets.clone(),
            additional_details: self.details.clone(),
            correlation_id: crate::transport::correlation_id(),
        }
    }

    pub fn success(&self, caller: &Caller, at: Instant) -> AuditRecord {
        self.record(caller, at, AuditResult::Success, "")
    }
}
