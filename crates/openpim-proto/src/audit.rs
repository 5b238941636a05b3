//! `directoryAudit`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryAudit {
    pub id: Uuid,
    pub category: String,
    pub correlation_id: Uuid,
    /// `success` or `failure` (core's `AuditResult`).
    pub result: String,
    pub result_reason: String,
    pub activity_display_name: String,
    #[serde(with = "crate::datetime")]
    pub activity_date_time: OffsetDateTime,
    pub logged_by_service: String,
    pub operation_type: String,
    pub initiated_by: AuditActivityInitiator,
    pub target_resources: Vec<TargetResource>,
    pub additional_details: Vec<KeyValue>,
    /// OpenPIM extension: the record's place in the tamper-evident audit chain. Read-only, like
    /// the whole record. Sent only when `$select` names it: Graph's SDKs check that they can map
    /// every property of a `directoryAudit`, so the default shape stays Graph's own.
    #[serde(rename = "openpim_chainSeq", default, skip_serializing_if = "Option::is_none")]
    pub chain_seq: Option<i64>,
    /// OpenPIM extension: the record's chain hash (lowercase hex SHA-256); like `chain_seq`.
    #[serde(rename = "openpim_chainHash", default, skip_serializing_if = "Option::is_none")]
    pub chain_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditActivityInitiator {
    pub app: Option<serde_json::Value>,
    pub user: Option<UserIdentity>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    pub id: Option<Uuid>,
    pub display_name: Option<String>,
    pub user_principal_name: Option<String>,
    pub ip_address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetResource {
    pub id: String,
    pub display_name: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub user_principal_name: Option<String>,
    pub group_type: Option<String>,
    pub modified_properties: Vec<ModifiedProperty>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModifiedProperty {
    pub display_name: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}
