//! PIM security alerts in Graph beta's shapes (`openpim_proto::alerts`).

use super::to_json;
use openpim_core::alerts::{AlertConfiguration, AlertKind, Incident, Thresholds, DIRECTORY_ROLE};
use openpim_core::ObjectId;
use openpim_proto::alerts as proto;
use openpim_proto::odata_type;
use openpim_store::alerts::{StoredAlert, StoredAlertOperation};
use serde_json::Value;

pub const ALERT_TYPE: &str = "microsoft.graph.unifiedRoleManagementAlert";
pub const CONFIGURATION_TYPE: &str = "microsoft.graph.unifiedRoleManagementAlertConfiguration";

pub fn definition(kind: AlertKind, tenant: ObjectId) -> proto::AlertDefinition {
    proto::AlertDefinition {
        id: kind.id(tenant),
        display_name: kind.display_name().to_string(),
        scope_type: DIRECTORY_ROLE.to_string(),
        scope_id: "/".to_string(),
        description: kind.description().to_string(),
        severity_level: kind.severity().as_str().to_string(),
        security_impact: kind.security_impact().to_string(),
        mitigation_steps: kind.mitigation_steps().to_string(),
        how_to_prevent: kind.how_to_prevent().to_string(),
        is_remediatable: kind.is_remediatable(),
        is_configurable: kind.is_configurable(),
    }
}

pub fn configuration(kind: AlertKind, tenant: ObjectId, c: &AlertConfiguration) -> proto::AlertConfiguration {
    let (count, percentage, duration) = match c.thresholds {
        Thresholds::TooManyGlobalAdmins { global_admin_count, percentage_of_global_admins } => {
            (Some(global_admin_count as i32), Some(percentage_of_global_admins as i32), None)
        }
        Thresholds::Duration(d) => (None, None, Some(openpim_core::duration::format(d))),
        Thresholds::None => (None, None, None),
    };
    proto::AlertConfiguration {
        odata_type: Some(odata_type(&format!("microsoft.graph.{}", kind.configuration_type()))),
        id: kind.id(tenant),
        alert_definition_id: kind.id(tenant),
        scope_type: DIRECTORY_ROLE.to_string(),
        scope_id: "/".to_string(),
        is_enabled: c.is_enabled,
        global_admin_count_threshold: count,
        percentage_of_global_admins_out_of_roles_threshold: percentage,
        duration,
    }
}

/// An incident with the properties its kind's derived type has.
pub fn incident(kind: AlertKind, i: &Incident) -> proto::AlertIncident {
    let assignee = !matches!(kind, AlertKind::NoMfaOnRoleActivation);
    let role = !matches!(kind, AlertKind::TooManyGlobalAdmins);
    let has = |yes: bool, v: Option<String>| yes.then_some(v);
    proto::AlertIncident {
        odata_type: Some(odata_type(&format!("microsoft.graph.{}", kind.incident_type()))),
        id: i.id.clone(),
        assignee_id: has(assignee, i.assignee_id.map(|id| id.to_string())),
        assignee_display_name: has(assignee, i.assignee_display_name.clone()),
        assignee_user_principal_name: has(assignee, i.assignee_user_principal_name.clone()),
        role_definition_id: has(role && assignee, i.role_definition_id.map(|id| id.to_string())),
        role_display_name: has(role, i.role_display_name.clone()),
        role_template_id: has(role, i.role_template_id.clone()),
        assignment_created_date_time: matches!(kind, AlertKind::RolesAssignedOutsidePim | AlertKind::StaleSignIn)
            .then_some(i.assignment_created),
        last_sign_in_date_time: (kind == AlertKind::StaleSignIn).then_some(i.last_sign_in),
        last_activation_date_time: (kind == AlertKind::RedundantAssignment).then_some(i.last_activation),
    }
}

/// The alert's row; an alert never scanned yet shows inactive with no incidents.
pub fn alert(kind: AlertKind, tenant: ObjectId, stored: Option<&StoredAlert>) -> proto::RoleManagementAlert {
    proto::RoleManagementAlert {
        id: kind.id(tenant),
        alert_definition_id: kind.id(tenant),
        scope_id: "/".to_string(),
        scope_type: DIRECTORY_ROLE.to_string(),
        incident_count: stored.map_or(0, |s| s.incident_count),
        is_active: stored.is_some_and(|s| s.is_active),
        last_modified_date_time: stored.map(|s| s.last_modified),
        last_scanned_date_time: stored.map(|s| s.last_scanned),
        alert_definition: None,
        alert_configuration: None,
        alert_incidents: None,
    }
}

pub fn operation(op: &StoredAlertOperation, base: &str) -> Value {
    to_json(&proto::LongRunningOperation {
        odata_type: Some(odata_type("microsoft.graph.longRunningOperation")),
        id: op.id.to_string(),
        created_date_time: Some(op.created),
        last_action_date_time: Some(op.last_action),
        resource_location: Some(format!("{base}/identityGovernance/roleManagementAlerts/alerts")),
        status: op.status.clone(),
        status_detail: None,
    })
}
