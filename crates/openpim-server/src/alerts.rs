//! PIM security alerts, the server side: gathers the facts (`Store::alert_facts`), runs core's
//! evaluation (`openpim_core::alerts`) for each alert with its configuration, persists the result
//! and, when an alert becomes active, audits it and queues a notification to the Global and
//! Privileged Role Administrators through the outbox. A supervised loop scans every
//! [`INTERVAL`]; `refresh` scans at once. Scans take the cluster-wide job lock, so one node
//! scans at a time; each alert's write is one transaction that reads the previous incidents
//! under the row's lock, so a dismissal and a scan never interleave.
//!
//! Sign-ins: the store keeps each user's last sign-in (`user_sign_ins`). Authenticating a
//! request notes the user and the time in memory ([`SignIns`], a map insert); each scan writes
//! the notes out first. So there is no write per request, and the "stale account" alert sees
//! every sign-in up to its own scan.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use openpim_core::alerts::{
    self, AlertConfiguration, AlertKind, AzureAlertConfiguration, AzureAlertKind, AzureConfigurationPatch, AzureFacts,
    AzureHolding, AzureRoleFacts, OwnerThresholds, PrincipalFacts, Severity, Thresholds, AZURE_RESOURCE,
    DIRECTORY_ROLE,
};
use openpim_core::audit::{category, AuditRecord, AuditResult, AuditTarget};
use openpim_core::catalog::{GLOBAL_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR};
use openpim_core::schedule::Kind;
use openpim_core::{Instant, ObjectId};
use openpim_store::alerts::{StoredAlertConfiguration, StoredAlertOperation};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// How often the alerts are scanned.
pub const INTERVAL: Duration = Duration::from_secs(300);
/// The loop's name in `/healthz`.
pub const LOOP: &str = "pimAlerts";
/// Cluster-wide lock key of the scan.
pub const ALERTS_LOCK: i64 = 0x0_9e11_0019;
/// The only scope alerts are evaluated at (Graph: `scopeId eq '/' and scopeType eq 'DirectoryRole'`).
pub const ROOT: &str = "/";
/// How long a refresh waits for a scan another node is running: `TRIES` times `WAIT`.
const REFRESH_LOCK_TRIES: u32 = 50;
const REFRESH_LOCK_WAIT: Duration = Duration::from_millis(100);
/// The outbox event of an alert that became active.
pub const EVENT: &str = "roleManagementAlertRaised";

/// Sign-ins noted since the last scan: user → latest time.
#[derive(Default)]
pub struct SignIns(Mutex<HashMap<ObjectId, Instant>>);

impl SignIns {
    /// Notes that `user` was signed in at `at` (called for every authenticated request).
    pub fn seen(&self, user: ObjectId, at: Instant) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let slot = map.entry(user).or_insert(at);
        if *slot < at {
            *slot = at;
        }
    }

    fn take(&self) -> Vec<(ObjectId, Instant)> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner())).into_iter().collect()
    }

    fn put_back(&self, seen: Vec<(ObjectId, Instant)>) {
        for (user, at) in seen {
            self.seen(user, at);
        }
    }
}

/// Writes the noted sign-ins to the store (kept in memory for the next try if that fails).
pub async fn flush_sign_ins(state: &AppState) -> anyhow::Result<()> {
    let seen = state.sign_ins.take();
    if let Err(e) = state.store.record_sign_ins(&seen).await {
        state.sign_ins.put_back(seen);
        return Err(e.into());
    }
    Ok(())
}

/// The configuration of `kind`: the stored override, else the default.
pub fn configuration(stored: &[StoredAlertConfiguration], tenant: ObjectId, kind: AlertKind) -> AlertConfiguration {
    let default = AlertConfiguration::default_for(kind);
    let id = kind.id(tenant);
    let Some(s) = stored.iter().find(|c| c.id.eq_ignore_ascii_case(&id)) else { return default };
    let thresholds = match default.thresholds {
        Thresholds::TooManyGlobalAdmins { global_admin_count, percentage_of_global_admins } => {
            Thresholds::TooManyGlobalAdmins {
                global_admin_count: s.global_admin_count.map_or(global_admin_count, |n| n as u32),
                percentage_of_global_admins: s
                    .percentage_of_global_admins
                    .map_or(percentage_of_global_admins, |n| n as u32),
            }
        }
        Thresholds::Duration(d) => Thresholds::Duration(s.duration_seconds.map_or(d, time::Duration::seconds)),
        Thresholds::None => Thresholds::None,
    };
    AlertConfiguration { is_enabled: s.is_enabled, thresholds }
}

/// The stored form of a configuration.
pub fn stored_configuration(kind: AlertKind, tenant: ObjectId, c: &AlertConfiguration) -> StoredAlertConfiguration {
    let (count, percentage, duration) = match c.thresholds {
        Thresholds::TooManyGlobalAdmins { global_admin_count, percentage_of_global_admins } => {
            (Some(i64::from(global_admin_count)), Some(i64::from(percentage_of_global_admins)), None)
        }
        Thresholds::Duration(d) => (None, None, Some(d.whole_seconds())),
        Thresholds::None => (None, None, None),
    };
    StoredAlertConfiguration {
        id: kind.id(tenant),
        is_enabled: c.is_enabled,
        global_admin_count: count,
        percentage_of_global_admins: percentage,
        duration_seconds: duration,
    }
}

/// What a scan found.
#[derive(Debug, Default)]
pub struct ScanOutcome {
    /// Alerts that became active in this scan.
    pub raised: Vec<AlertKind>,
    /// Azure alerts that became active in this scan, with their scope's key.
    pub raised_azure: Vec<(String, AzureAlertKind)>,
}

/// The stored id of an Azure alert, of its configuration override and its operations' alert:
/// the scope's case-folded key and the alert's name (ARM ids are rendered from the request's scope).
pub fn azure_id(scope_key: &str, kind: AzureAlertKind) -> String {
    format!("{AZURE_RESOURCE}:{scope_key}:{}", kind.name())
}

/// The configuration of an Azure alert at a scope: the stored override, else the default.
/// Settings are per scope, as Azure's alert settings are per resource.
pub fn azure_configuration(
    stored: &[StoredAlertConfiguration],
    scope_key: &str,
    kind: AzureAlertKind,
) -> AzureAlertConfiguration {
    let default = AzureAlertConfiguration::default_for(kind);
    let id = azure_id(scope_key, kind);
    let Some(s) = stored.iter().find(|c| c.id == id) else { return default };
    // The owner alerts' count and percentage sit in 0019's threshold columns (see migration 0020).
    let thresholds = default.thresholds.map(|d| OwnerThresholds {
        count: s.global_admin_count.map_or(d.count, |n| n as u32),
        percentage: s.percentage_of_global_admins.map_or(d.percentage, |n| n as u32),
    });
    AzureAlertConfiguration { is_enabled: s.is_enabled, thresholds }
}

/// The stored form of an Azure alert configuration.
pub fn stored_azure_configuration(
    kind: AzureAlertKind,
    scope_key: &str,
    c: &AzureAlertConfiguration,
) -> StoredAlertConfiguration {
    StoredAlertConfiguration {
        id: azure_id(scope_key, kind),
        is_enabled: c.is_enabled,
        global_admin_count: c.thresholds.map(|t| i64::from(t.count)),
        percentage_of_global_admins: c.thresholds.map(|t| i64::from(t.percentage)),
        duration_seconds: None,
    }
}

/// Applies a PATCH to the configuration of `kind` at a scope and stores it; returns the result.
pub async fn configure_azure(
    state: &AppState,
    scope_key: &str,
    kind: AzureAlertKind,
    patch: &AzureConfigurationPatch,
    by: ObjectId,
) -> ApiResult<AzureAlertConfiguration> {
    let stored = state.store.alert_configurations().await?;
    let next = alerts::apply_azure(kind, azure_configuration(&stored, scope_key, kind), patch)?;
    state.store.save_alert_configuration(&stored_azure_configuration(kind, scope_key, &next), by, state.now()).await?;
    Ok(next)
}

/// What a raised alert's notification and audit record name.
struct Raised<'a> {
    id: String,
    display_name: &'a str,
    severity: Severity,
    scope_id: &'a str,
    scope_type: &'a str,
    remedy_url: String,
}

/// One scan of every alert. Finishes the refresh operations created before it started.
pub async fn scan(state: &AppState) -> anyhow::Result<ScanOutcome> {
    flush_sign_ins(state).await?;
    let now = state.now();
    let facts = state.store.alert_facts(now).await?;
    let stored = state.store.alert_configurations().await?;
    let mut outcome = ScanOutcome::default();
    for kind in AlertKind::ALL {
        let config = configuration(&stored, state.tenant_id, kind);
        let incidents = alerts::evaluate(kind, &facts, &config, now);
        let raised = Raised {
            id: kind.id(state.tenant_id),
            display_name: kind.display_name(),
            severity: kind.severity(),
            scope_id: ROOT,
            scope_type: DIRECTORY_ROLE,
            remedy_url: kind.remedy_url(),
        };
        if save_and_raise(state, &raised, incidents, now).await? {
            outcome.raised.push(kind);
        }
    }
    scan_azure(state, now, facts.principals, &stored, &mut outcome).await?;
    state.store.finish_alert_operations(now, "succeeded", state.now()).await?;
    Ok(outcome)
}

/// The Azure part of a scan: every ARM scope with a live schedule made there, a custom role
/// assignable there, or an alert stored there (so alerts clear when their scope empties).
async fn scan_azure(
    state: &AppState,
    now: Instant,
    principals: Vec<PrincipalFacts>,
    stored: &[StoredAlertConfiguration],
    outcome: &mut ScanOutcome,
) -> anyhow::Result<()> {
    let mut holdings = Vec::new();
    for kind in [Kind::Assignment, Kind::Eligibility] {
        let live = state.store.arm_schedules(kind, None).await?.into_iter().filter(|s| s.is_effective(now));
        holdings.extend(live.filter_map(|s| AzureHolding::of(&s)));
    }
    let roles = state.store.azure_role_definitions().await?.iter().map(AzureRoleFacts::of).collect();
    let facts = AzureFacts { roles, principals, holdings };
    let mut scopes = facts.scopes();
    scopes
        .extend(state.store.alerts().await?.into_iter().filter(|a| a.scope_type == AZURE_RESOURCE).map(|a| a.scope_id));
    for scope in &scopes {
        for kind in AzureAlertKind::ALL {
            let config = azure_configuration(stored, scope, kind);
            let incidents = alerts::evaluate_azure(kind, scope, &facts, &config, now);
            let raised = Raised {
                id: azure_id(scope, kind),
                display_name: kind.display_name(),
                severity: kind.severity(),
                scope_id: scope,
                scope_type: AZURE_RESOURCE,
                remedy_url: kind.remedy_url().to_string(),
            };
            if save_and_raise(state, &raised, incidents, now).await? {
                outcome.raised_azure.push((scope.clone(), kind));
            }
        }
    }
    Ok(())
}

/// Stores one alert's scan (reconciled with its stored incidents and dismissals) and raises it
/// when it became active. True when it was raised.
async fn save_and_raise(
    state: &AppState,
    alert: &Raised<'_>,
    incidents: Vec<alerts::Incident>,
    now: Instant,
) -> anyhow::Result<bool> {
    let (was_active, next) = state
        .store
        .save_alert_scan(&alert.id, (alert.scope_id, alert.scope_type), now, |previous| {
            alerts::reconcile(previous, incidents)
        })
        .await?;
    let raised = next.is_active && !was_active;
    if raised {
        raise(state, alert, next.incidents.len(), now).await?;
    }
    Ok(raised)
}

/// Audits an alert that became active and queues its notification, in one write.
async fn raise(state: &AppState, alert: &Raised<'_>, incidents: usize, now: Instant) -> anyhow::Result<()> {
    let id = alert.id.clone();
    let mut tx = state.store.begin_write().await?;
    if state.notifications.enabled() {
        let recipients =
            tx.addresses_of_role_holders(&[GLOBAL_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR], now).await?;
        let payload = serde_json::json!({
            "event": EVENT,
            "occurredDateTime": crate::wire::datetime(now),
            "alertId": id,
            "alertDisplayName": alert.display_name,
            "severityLevel": alert.severity.as_str(),
            "incidentCount": incidents,
            "scopeId": alert.scope_id,
            "scopeType": alert.scope_type,
            "remedyUrl": alert.remedy_url,
            "recipients": recipients,
        })
        .to_string();
        if state.notifications.webhook_url.is_some() {
            tx.enqueue_notification("webhook", EVENT, &payload, &recipients, now).await?;
        }
        if state.notifications.smtp.is_some() && !recipients.is_empty() {
            tx.enqueue_notification("email", EVENT, &payload, &recipients, now).await?;
        }
    }
    let record = AuditRecord {
        id: ObjectId::new_v4(),
        at: now,
        category: category::ROLE_MANAGEMENT,
        activity: "PIM security alert raised".to_string(),
        operation_type: "Update",
        result: AuditResult::Success,
        result_reason: String::new(),
        initiated_by_id: None,
        initiated_by_upn: None,
        initiated_by_display_name: None,
        targets: vec![AuditTarget {
            id: id.clone(),
            display_name: Some(alert.display_name.to_string()),
            kind: "Other",
            user_principal_name: None,
            modified_properties: Vec::new(),
        }],
        additional_details: vec![("incidentCount".into(), incidents.to_string())],
        correlation_id: ObjectId::new_v4(),
    };
    state.commit(tx, &record).await.map_err(|e| anyhow::anyhow!("{}", e.message))
}

/// Starts a refresh: records the operation and scans now if this node gets the job lock;
/// otherwise the node holding it, or this node's loop right after, finishes it.
pub async fn refresh(state: &AppState, by: ObjectId, alert: Option<String>) -> ApiResult<StoredAlertOperation> {
    refresh_at(state, by, (ROOT, DIRECTORY_ROLE), alert).await
}

/// [`refresh`] of the alerts at `scope` (`(scopeId, scopeType)`; an Azure scope's key and
/// `AzureResource`). Every scan evaluates every scope, so the operation is the scope's own
/// only in what it reports.
pub async fn refresh_at(
    state: &AppState,
    by: ObjectId,
    scope: (&str, &str),
    alert: Option<String>,
) -> ApiResult<StoredAlertOperation> {
    let now = state.now();
    let op = StoredAlertOperation {
        id: ObjectId::new_v4(),
        scope_id: scope.0.to_string(),
        scope_type: scope.1.to_string(),
        alert_id: alert,
        status: "running".to_string(),
        created: now,
        last_action: now,
    };
    state.store.insert_alert_operation(&op, by).await?;
    // A scan takes milliseconds: when another node (or this node's loop) holds the lock, wait
    // for it a little rather than answer with an operation that only the next tick finishes.
    for _ in 0..REFRESH_LOCK_TRIES {
        match crate::jobs::locked(state, ALERTS_LOCK, scan(state)).await {
            Ok(Some(_)) => return Ok(state.store.alert_operation(op.id).await?.unwrap_or(op)),
            Ok(None) => tokio::time::sleep(REFRESH_LOCK_WAIT).await,
            Err(e) => {
                tracing::warn!(error = %e, "alert refresh failed; the loop will retry");
                break;
            }
        }
    }
    state.loops.poke(LOOP);
    Ok(state.store.alert_operation(op.id).await?.unwrap_or(op))
}

/// The alert kind `id` names (Graph's 404 otherwise).
pub fn kind_of(state: &AppState, id: &str, what: &str) -> ApiResult<AlertKind> {
    AlertKind::parse_id(id, state.tenant_id).ok_or_else(|| ApiError::not_found(what, id))
}

/// Scans every [`INTERVAL`], and when poked (a refresh another node's lock held off), until stopped.
pub async fn run(state: AppState, stop: tokio::sync::watch::Receiver<bool>) {
    let st = &state;
    crate::supervise::every(st, LOOP, INTERVAL, stop, move || async move {
        // Every node writes its own sign-in notes, whichever node gets to scan.
        if let Err(e) = flush_sign_ins(st).await {
            tracing::warn!(error = %e, "could not record sign-ins; will retry");
        }
        crate::jobs::locked(st, ALERTS_LOCK, scan(st)).await.map(drop)
    })
    .await
}
