//! `directoryAudit`.

use super::to_json;
use openpim_proto::audit as proto;
use openpim_store::audit::StoredAudit;
use serde_json::Value;

pub fn directory_audit(a: &StoredAudit) -> Value {
    let r = &a.record;
    to_json(&proto::DirectoryAudit {
        id: r.id,
        category: r.category.to_string(),
        correlation_id: r.correlation_id,
        result: r.result.to_string(),
        result_reason: r.result_reason.clone(),
        activity_display_name: r.activity.clone(),
        activity_date_time: r.at,
        logged_by_service: a.logged_by_service.clone(),
        operation_type: r.operation_type.to_string(),
        initiated_by: proto::AuditActivityInitiator {
            app: None,
            user: Some(proto::UserIdentity {
                id: r.initiated_by_id,
                display_name: r.initiated_by_display_name.clone(),
                user_principal_name: r.initiated_by_upn.clone(),
                ip_address: None,
            }),
        },
        target_resources: r
            .targets
            .iter()
            .map(|t| proto::TargetResource {
                id: t.id.clone(),
                display_name: t.display_name.clone(),
                kind: t.kind.to_string(),
                user_principal_name: t.user_principal_name.clone(),
                group_type: None,
                modified_properties: t
                    .modified_properties
                    .iter()
                    .map(|p| proto::ModifiedProperty {
                        display_name: p.display_name.clone(),
                        old_value: p.old_value.clone(),
                        new_value: p.new_value.clone(),
                    })
                    .collect(),
            })
            .collect(),
        additional_details: r
            .additional_details
            .iter()
            .map(|(key, value)| proto::KeyValue { key: key.clone(), value: value.clone() })
            .collect(),
        chain_seq: a.chain_seq,
        chain_hash: a.chain_hash.clone(),
    })
}
