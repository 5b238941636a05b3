//! The audit log table.

use crate::codec::{id_text, micros, RowExt};
use crate::list::{list, ListRequest, Page};
use crate::{schema, Store, StoreError, StoreResult};
use openpim_core::audit::{AuditRecord, AuditResult, AuditTarget};
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

pub(crate) async fn insert(conn: &mut AnyConnection, r: &AuditRecord) -> StoreResult<()> {
    let targets: Vec<Value> = r
        .targets
        .iter()
        .map(|t| {
            json!({"id": t.id, "displayName": t.display_name, "type": t.kind,
                   "userPrincipalName": t.user_principal_name})
        })
        .collect();
    let details: Vec<Value> = r.additional_details.iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
    sqlx::query(
        "INSERT INTO audit_log (id, activity_at, category, activity_display_name, operation_type, result, \
         result_reason, initiated_by_user_id, initiated_by_upn, target_resources, additional_details, \
         correlation_id, logged_by_service) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
    )
    .bind(id_text(r.id))
    .bind(micros(r.at))
    .bind(r.category)
    .bind(r.activity.clone())
    .bind(r.operation_type)
    .bind(r.result.as_str())
    .bind(r.result_reason.clone())
    .bind(r.initiated_by_id.map(id_text))
    .bind(r.initiated_by_upn.clone())
    .bind(Value::Array(targets).to_string())
    .bind(Value::Array(details).to_string())
    .bind(id_text(r.correlation_id))
    .bind(if r.category == openpim_core::audit::category::ROLE_MANAGEMENT { "PIM" } else { "Core Directory" })
    .execute(conn)
    .await
    .map_err(StoreError::Db)?;
    Ok(())
}

/// An audit row as stored; the server renders it as a `directoryAudit`.
#[derive(Debug, Clone)]
pub struct StoredAudit {
    pub record: AuditRecord,
    pub logged_by_service: String,
}

fn static_str(s: &str, allowed: &[&'static str]) -> &'static str {
    allowed.iter().find(|a| **a == s).copied().unwrap_or("Other")
}

fn decode(row: &AnyRow) -> StoreResult<StoredAudit> {
    use openpim_core::audit::category::*;
    let targets: Vec<Value> = serde_json::from_str(&row.text("target_resources")?)
        .map_err(|e| StoreError::Corrupt(format!("target_resources: {e}")))?;
    let details: Vec<Value> = serde_json::from_str(&row.text("additional_details")?)
        .map_err(|e| StoreError::Corrupt(format!("additional_details: {e}")))?;
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    Ok(StoredAudit {
        record: AuditRecord {
            id: row.id("id")?,
            at: row.time("activity_at")?,
            category: static_str(
                &row.text("category")?,
                &[USER_MANAGEMENT, GROUP_MANAGEMENT, ROLE_MANAGEMENT, DIRECTORY_MANAGEMENT],
            ),
            activity: row.text("activity_display_name")?,
            operation_type: static_str(
                &row.text("operation_type")?,
                &["Add", "Update", "Delete", "Assign", "Unassign", "Read"],
            ),
            result: if row.text("result")? == "success" { AuditResult::Success } else { AuditResult::Failure },
            result_reason: row.text("result_reason")?,
            initiated_by_id: row.opt_text("initiated_by_user_id")?.map(|s| crate::codec::parse_id(&s)).transpose()?,
            initiated_by_upn: row.opt_text("initiated_by_upn")?,
            targets: targets
                .iter()
                .map(|t| AuditTarget {
                    id: s(t, "id").unwrap_or_default(),
                    display_name: s(t, "displayName"),
                    kind: static_str(
                        &s(t, "type").unwrap_or_default(),
                        &["User", "Group", "Role", "Directory", "Other"],
                    ),
                    user_principal_name: s(t, "userPrincipalName"),
                })
                .collect(),
            additional_details: details
                .iter()
                .map(|d| (s(d, "key").unwrap_or_default(), s(d, "value").unwrap_or_default()))
                .collect(),
            correlation_id: row.id("correlation_id")?,
        },
        logged_by_service: row.text("logged_by_service")?,
    })
}

impl Store {
    /// Records an event that changes nothing else (a denied or failed attempt), through the one
    /// write path. `apply` gets the index updates of whatever group commit it joins, exactly as
    /// for [`crate::WriteTx::commit`].
    pub async fn record_audit(
        &self,
        record: &AuditRecord,
        apply: impl FnOnce(Vec<openpim_core::change::IndexUpdate>),
    ) -> StoreResult<()> {
        crate::write::record_only(self, record, apply).await
    }

    pub async fn list_audit(&self, req: &ListRequest<'_>) -> StoreResult<Page<StoredAudit>> {
        list(self.pool(), "audit_log", &schema::DIRECTORY_AUDIT, None, req, decode).await
    }

    pub async fn get_audit(&self, id: openpim_core::ObjectId) -> StoreResult<Option<StoredAudit>> {
        let row = sqlx::query("SELECT * FROM audit_log WHERE id = $1")
            .bind(id_text(id))
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::Db)?;
        row.as_ref().map(decode).transpose()
    }
}
