//! PIM security alerts: the facts their evaluation reads, and their persisted state (alert
//! rows, incidents, configuration overrides, refresh operations, last sign-ins).
//!
//! Alert state is derived data, rewritten by every scan: it is written through the pool in
//! short transactions of its own (like UI sessions), not through [`crate::WriteTx`], so a scan
//! neither queues behind directory writers nor adds an audit record every few minutes. Each
//! transaction starts with a write (on SQLite that takes the write lock before anything is
//! read) and, on PostgreSQL, locks the alert row, so a scan and a dismissal of the same alert
//! never interleave.

use crate::codec::{flag, id_text, micros, RowExt};
use crate::{Store, StoreError, StoreResult};
use openpim_core::alerts::{Facts, Holding, HoldingKind, Incident, PrincipalFacts, Reconciled, RoleFacts};
use openpim_core::policy::rules::{effective, PolicyRule};
use openpim_core::schedule::{Action, RequestStatus};
use openpim_core::{Instant, ObjectId};
use std::collections::HashMap;

/// An alert's persisted row.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAlert {
    pub id: String,
    pub scope_id: String,
    pub scope_type: String,
    pub is_active: bool,
    pub incident_count: i64,
    pub last_modified: Instant,
    pub last_scanned: Instant,
    pub dismissed: Option<(Instant, Option<ObjectId>)>,
}

/// A configuration override (absent: the kind's default).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAlertConfiguration {
    pub id: String,
    pub is_enabled: bool,
    pub global_admin_count: Option<i64>,
    pub percentage_of_global_admins: Option<i64>,
    pub duration_seconds: Option<i64>,
}

/// A refresh operation (Graph's `longRunningOperation`).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAlertOperation {
    pub id: ObjectId,
    pub scope_id: String,
    pub scope_type: String,
    pub alert_id: Option<String>,
    /// notStarted | running | succeeded | failed
    pub status: String,
    pub created: Instant,
    pub last_action: Instant,
}

/// Live rows at the tenant scope `/`.
const LIVE_AT_ROOT: &str = "directory_scope_id = '/' AND status <> 'Expired' AND start_at <= $1 \
                            AND (end_at IS NULL OR end_at > $1)";

fn db(e: sqlx::Error) -> StoreError {
    StoreError::Db(e)
}

fn incident_from(r: &sqlx::any::AnyRow) -> StoreResult<(Incident, bool)> {
    Ok((
        Incident {
            id: r.text("id")?,
            assignee_id: r.opt_id("assignee_id")?,
            assignee_display_name: r.opt_text("assignee_display_name")?,
            assignee_user_principal_name: r.opt_text("assignee_upn")?,
            role_definition_id: r.opt_id("role_definition_id")?,
            role_display_name: r.opt_text("role_display_name")?,
            role_template_id: r.opt_text("role_template_id")?,
            assignment_created: r.opt_time("assignment_created_at")?,
            last_sign_in: r.opt_time("last_sign_in_at")?,
            last_activation: r.opt_time("last_activation_at")?,
            assignee_type: r.opt_text("assignee_type")?,
            requestor_id: r.opt_id("requestor_id")?,
            detail: r.opt_text("detail")?,
        },
        r.bool("dismissed")?,
    ))
}

fn alert_from(r: &sqlx::any::AnyRow) -> StoreResult<StoredAlert> {
    let dismissed = match r.opt_time("dismissed_at")? {
        Some(at) => Some((at, r.opt_id("dismissed_by")?)),
        None => None,
    };
    Ok(StoredAlert {
        id: r.text("id")?,
        scope_id: r.text("scope_id")?,
        scope_type: r.text("scope_type")?,
        is_active: r.bool("is_active")?,
        incident_count: r.int("incident_count")?,
        last_modified: r.time("last_modified_at")?,
        last_scanned: r.time("last_scanned_at")?,
        dismissed,
    })
}

fn operation_from(r: &sqlx::any::AnyRow) -> StoreResult<StoredAlertOperation> {
    Ok(StoredAlertOperation {
        id: r.id("id")?,
        scope_id: r.text("scope_id")?,
        scope_type: r.text("scope_type")?,
        alert_id: r.opt_text("alert_id")?,
        status: r.text("status")?,
        created: r.time("created_at")?,
        last_action: r.time("last_action_at")?,
    })
}

impl Store {
    /// What the directory-role alerts are evaluated on, at `now`.
    pub async fn alert_facts(&self, now: Instant) -> StoreResult<Facts> {
        let pool = self.pool();
        let mut roles = Vec::new();
        for r in sqlx::query("SELECT id, template_id, display_name, is_privileged FROM role_definitions")
            .fetch_all(pool)
            .await
            .map_err(db)?
        {
            let id = r.id("id")?;
            let is_privileged = r.bool("is_privileged")?;
            // Only privileged roles' policies matter to the alerts.
            let requires_mfa_on_activation = if is_privileged {
                let rules: Vec<PolicyRule> = self.policy_rules_of(id).await?.unwrap_or_default();
                let set = effective(&rules).end_user_assignment;
                set.enablement.multi_factor_authentication || set.authentication_context.is_some()
            } else {
                true
            };
            roles.push(RoleFacts {
                id,
                template_id: r.text("template_id")?,
                display_name: r.text("display_name")?,
                is_privileged,
                requires_mfa_on_activation,
            });
        }
        let mut holdings = Vec::new();
        let sql = format!(
            "SELECT id, principal_id, role_definition_id, assignment_type, created_using, created_by, created_at \
             FROM role_assignments WHERE {LIVE_AT_ROOT}"
        );
        for r in sqlx::query(&sql).bind(micros(now)).fetch_all(pool).await.map_err(db)? {
            let kind = if r.opt_text("assignment_type")?.as_deref() == Some("Activated") {
                HoldingKind::Activated
            } else if r.opt_text("created_using")?.is_none() && r.opt_text("created_by")?.is_some() {
                // Made by someone, not through a schedule request: `POST roleAssignments`. The
                // bootstrap's first administrator has no creator and is not "outside PIM".
                HoldingKind::DirectActive
            } else {
                HoldingKind::PimActive
            };
            holdings.push(Holding {
                schedule_id: r.id("id")?,
                principal_id: r.id("principal_id")?,
                role_id: r.id("role_definition_id")?,
                kind,
                created: r.time("created_at")?,
            });
        }
        let sql = format!(
            "SELECT id, principal_id, role_definition_id, created_at FROM role_eligibilities WHERE {LIVE_AT_ROOT}"
        );
        for r in sqlx::query(&sql).bind(micros(now)).fetch_all(pool).await.map_err(db)? {
            holdings.push(Holding {
                schedule_id: r.id("id")?,
                principal_id: r.id("principal_id")?,
                role_id: r.id("role_definition_id")?,
                kind: HoldingKind::Eligible,
                created: r.time("created_at")?,
            });
        }
        let mut principals = Vec::new();
        let holders = "(SELECT principal_id FROM role_assignments UNION SELECT principal_id FROM role_eligibilities)";
        let sql = format!(
            "SELECT u.id, u.display_name, u.user_principal_name, u.account_enabled, s.last_sign_in_at \
             FROM users u LEFT JOIN user_sign_ins s ON s.user_id = u.id WHERE u.id IN {holders}"
        );
        for r in sqlx::query(&sql).fetch_all(pool).await.map_err(db)? {
            principals.push(PrincipalFacts {
                id: r.id("id")?,
                display_name: r.text("display_name")?,
                user_principal_name: Some(r.text("user_principal_name")?),
                is_user: true,
                account_enabled: r.bool("account_enabled")?,
                last_sign_in: r.opt_time("last_sign_in_at")?,
            });
        }
        let sql = format!(
            "SELECT id, display_name FROM directory_groups WHERE id IN {holders} \
             UNION ALL SELECT id, display_name FROM service_principals WHERE id IN {holders}"
        );
        for r in sqlx::query(&sql).fetch_all(pool).await.map_err(db)? {
            principals.push(PrincipalFacts {
                id: r.id("id")?,
                display_name: r.text("display_name")?,
                user_principal_name: None,
                is_user: false,
                account_enabled: true,
                last_sign_in: None,
            });
        }
        let mut last_activations = HashMap::new();
        let rows = sqlx::query(
            "SELECT principal_id, role_definition_id, MAX(created_at) AS last FROM schedule_requests \
             WHERE kind = 'assignment' AND action = $1 AND status IN ($2, $3) AND directory_scope_id = '/' \
             GROUP BY principal_id, role_definition_id",
        )
        .bind(Action::SelfActivate.as_str())
        .bind(RequestStatus::Provisioned.as_str())
        .bind(RequestStatus::Granted.as_str())
        .fetch_all(pool)
        .await
        .map_err(db)?;
        for r in rows {
            last_activations.insert((r.id("principal_id")?, r.id("role_definition_id")?), r.time("last")?);
        }
        Ok(Facts { roles, principals, holdings, last_activations })
    }

    /// Remembers users' last sign-ins (keeping the later of the stored and the given time).
    pub async fn record_sign_ins(&self, seen: &[(ObjectId, Instant)]) -> StoreResult<()> {
        if seen.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool().begin().await.map_err(db)?;
        for (user, at) in seen {
            sqlx::query(
                "INSERT INTO user_sign_ins (user_id, last_sign_in_at) VALUES ($1, $2) \
                 ON CONFLICT (user_id) DO UPDATE SET last_sign_in_at = CASE \
                 WHEN excluded.last_sign_in_at > user_sign_ins.last_sign_in_at THEN excluded.last_sign_in_at \
                 ELSE user_sign_ins.last_sign_in_at END",
            )
            .bind(id_text(*user))
            .bind(micros(*at))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    pub async fn alerts(&self) -> StoreResult<Vec<StoredAlert>> {
        let rows =
            sqlx::query("SELECT * FROM role_management_alerts ORDER BY id").fetch_all(self.pool()).await.map_err(db)?;
        rows.iter().map(alert_from).collect()
    }

    /// An alert's incidents, each with whether a dismissal covers it.
    pub async fn alert_incidents(&self, alert_id: &str) -> StoreResult<Vec<(Incident, bool)>> {
        let rows = sqlx::query("SELECT * FROM role_management_alert_incidents WHERE alert_id = $1 ORDER BY id")
            .bind(alert_id.to_string())
            .fetch_all(self.pool())
            .await
            .map_err(db)?;
        rows.iter().map(incident_from).collect()
    }

    /// Writes one scan's result for `alert_id`: `reconcile` gets the incidents stored now (with
    /// their dismissed flags, read under the row's lock) and returns the new state. Returns
    /// whether the alert was active before, and the state written.
    pub async fn save_alert_scan(
        &self,
        alert_id: &str,
        scope: (&str, &str),
        now: Instant,
        reconcile: impl FnOnce(&[(Incident, bool)]) -> Reconciled,
    ) -> StoreResult<(bool, Reconciled)> {
        let mut tx = self.pool().begin().await.map_err(db)?;
        // First a write: creates the row on the first scan, and takes SQLite's write lock.
        sqlx::query(
            "INSERT INTO role_management_alerts (id, scope_id, scope_type, is_active, incident_count, \
             last_modified_at, last_scanned_at) VALUES ($1, $2, $3, 0, 0, $4, $4) ON CONFLICT (id) DO NOTHING",
        )
        .bind(alert_id.to_string())
        .bind(scope.0.to_string())
        .bind(scope.1.to_string())
        .bind(micros(now))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let lock = if self.backend() == crate::Backend::Postgres { " FOR UPDATE" } else { "" };
        let row = sqlx::query(&format!("SELECT is_active FROM role_management_alerts WHERE id = $1{lock}"))
            .bind(alert_id.to_string())
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        let was_active = row.bool("is_active")?;
        let previous = sqlx::query("SELECT * FROM role_management_alert_incidents WHERE alert_id = $1")
            .bind(alert_id.to_string())
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?
            .iter()
            .map(incident_from)
            .collect::<StoreResult<Vec<_>>>()?;
        let next = reconcile(&previous);
        if next.changed {
            sqlx::query("DELETE FROM role_management_alert_incidents WHERE alert_id = $1")
                .bind(alert_id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            for (i, dismissed) in &next.incidents {
                sqlx::query(
                    "INSERT INTO role_management_alert_incidents (alert_id, id, assignee_id, assignee_display_name, \
                     assignee_upn, role_definition_id, role_display_name, role_template_id, assignment_created_at, \
                     last_sign_in_at, last_activation_at, dismissed, assignee_type, requestor_id, detail) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                )
                .bind(alert_id.to_string())
                .bind(i.id.clone())
                .bind(i.assignee_id.map(id_text))
                .bind(i.assignee_display_name.clone())
                .bind(i.assignee_user_principal_name.clone())
                .bind(i.role_definition_id.map(id_text))
                .bind(i.role_display_name.clone())
                .bind(i.role_template_id.clone())
                .bind(i.assignment_created.map(micros))
                .bind(i.last_sign_in.map(micros))
                .bind(i.last_activation.map(micros))
                .bind(flag(*dismissed))
                .bind(i.assignee_type.clone())
                .bind(i.requestor_id.map(id_text))
                .bind(i.detail.clone())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
        }
        sqlx::query(
            "UPDATE role_management_alerts SET is_active = $2, incident_count = $3, last_scanned_at = $4, \
             last_modified_at = CASE WHEN $5 = 1 THEN $4 ELSE last_modified_at END, \
             dismissed_at = CASE WHEN $3 = 0 THEN NULL ELSE dismissed_at END, \
             dismissed_by = CASE WHEN $3 = 0 THEN NULL ELSE dismissed_by END WHERE id = $1",
        )
        .bind(alert_id.to_string())
        .bind(flag(next.is_active))
        .bind(next.incidents.len() as i64)
        .bind(micros(now))
        .bind(flag(next.changed || next.is_active != was_active))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok((was_active, next))
    }

    /// Dismisses an alert: its current incidents are marked dismissed and it shows inactive
    /// until a scan finds an incident the dismissal did not cover. False if the alert has not
    /// been scanned yet (nothing to dismiss).
    pub async fn dismiss_alert(&self, alert_id: &str, by: ObjectId, now: Instant) -> StoreResult<bool> {
        let mut tx = self.pool().begin().await.map_err(db)?;
        let done = sqlx::query(
            "UPDATE role_management_alerts SET is_active = 0, dismissed_at = $2, dismissed_by = $3, \
             last_modified_at = $2 WHERE id = $1",
        )
        .bind(alert_id.to_string())
        .bind(micros(now))
        .bind(id_text(by))
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected()
            > 0;
        sqlx::query("UPDATE role_management_alert_incidents SET dismissed = 1 WHERE alert_id = $1")
            .bind(alert_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done)
    }

    pub async fn alert_configurations(&self) -> StoreResult<Vec<StoredAlertConfiguration>> {
        let rows = sqlx::query("SELECT * FROM role_management_alert_configurations")
            .fetch_all(self.pool())
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(StoredAlertConfiguration {
                    id: r.text("id")?,
                    is_enabled: r.bool("is_enabled")?,
                    global_admin_count: r.opt_int("global_admin_count")?,
                    percentage_of_global_admins: r.opt_int("percentage_of_global_admins")?,
                    duration_seconds: r.opt_int("duration_seconds")?,
                })
            })
            .collect()
    }

    pub async fn save_alert_configuration(
        &self,
        c: &StoredAlertConfiguration,
        by: ObjectId,
        now: Instant,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO role_management_alert_configurations (id, is_enabled, global_admin_count, \
             percentage_of_global_admins, duration_seconds, modified_at, modified_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET is_enabled = excluded.is_enabled, \
             global_admin_count = excluded.global_admin_count, \
             percentage_of_global_admins = excluded.percentage_of_global_admins, \
             duration_seconds = excluded.duration_seconds, modified_at = excluded.modified_at, \
             modified_by = excluded.modified_by",
        )
        .bind(c.id.clone())
        .bind(flag(c.is_enabled))
        .bind(c.global_admin_count)
        .bind(c.percentage_of_global_admins)
        .bind(c.duration_seconds)
        .bind(micros(now))
        .bind(id_text(by))
        .execute(self.pool())
        .await
        .map_err(db)?;
        Ok(())
    }

    pub async fn insert_alert_operation(&self, op: &StoredAlertOperation, by: ObjectId) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO role_management_alert_operations (id, scope_id, scope_type, alert_id, status, created_at, \
             last_action_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id_text(op.id))
        .bind(op.scope_id.clone())
        .bind(op.scope_type.clone())
        .bind(op.alert_id.clone())
        .bind(op.status.clone())
        .bind(micros(op.created))
        .bind(micros(op.last_action))
        .bind(id_text(by))
        .execute(self.pool())
        .await
        .map_err(db)?;
        Ok(())
    }

    pub async fn alert_operation(&self, id: ObjectId) -> StoreResult<Option<StoredAlertOperation>> {
        let row = sqlx::query("SELECT * FROM role_management_alert_operations WHERE id = $1")
            .bind(id_text(id))
            .fetch_optional(self.pool())
            .await
            .map_err(db)?;
        row.as_ref().map(operation_from).transpose()
    }

    /// Marks every unfinished refresh operation created up to `started` (when the scan that
    /// served them began) as finished with `status`.
    pub async fn finish_alert_operations(&self, started: Instant, status: &str, now: Instant) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE role_management_alert_operations SET status = $1, last_action_at = $2 \
             WHERE status IN ('notStarted', 'running') AND created_at <= $3",
        )
        .bind(status.to_string())
        .bind(micros(now))
        .bind(micros(started))
        .execute(self.pool())
        .await
        .map_err(db)?;
        Ok(done.rows_affected())
    }
}
