//! `directoryAudit`.

use super::datetime;
use openpim_store::audit::StoredAudit;
use serde_json::{json, Value};

pub fn directory_audit(a: &StoredAudit) -> Value {
    let r = &a.record;
    json!({
        "id": r.id,
        "category": r.category,
        "correlationId": r.correlation_id,
        "result": r.result.as_str(),
        "resultReason": r.result_reason,
        "activityDisplayName": r.activity,
        "activityDateTime": datetime(r.at),
        "loggedByService": a.logged_by_service,
        "operationType": r.operation_type,
        "initiatedBy": {
            "app": null,
            "user": {
                "id": r.initiated_by_id,
                "displayName": r.initiated_by_display_name,
                "userPrincipalName": r.initiated_by_upn,
                "ipAddress": null,
            },
        },
        "targetResources": r.targets.iter().map(|t| json!({
            "id": t.id,
            "displayName": t.display_name,
            "type": t.kind,
            "userPrincipalName": t.user_principal_name,
            "groupType": null,
            "modifiedProperties": t.modified_properties.iter().map(|p| json!({
                "displayName": p.display_name,
                "oldValue": p.old_value,
                "newValue": p.new_value,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "additionalDetails": r.additional_details.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
    })
}
