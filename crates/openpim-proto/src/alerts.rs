//! Graph beta PIM security alerts (`/beta/identityGovernance/roleManagementAlerts`):
//! unifiedRoleManagementAlert, its definition, its configuration family (`@odata.type`-tagged,
//! each derived type with its own thresholds), its incident family, and the refresh's
//! longRunningOperation. A derived type's property is sent (null when it has no value); a
//! property the type does not have is left out, hence the `Option<Option<_>>`s.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// unifiedRoleManagementAlert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleManagementAlert {
    pub id: String,
    pub alert_definition_id: String,
    pub scope_id: String,
    pub scope_type: String,
    pub incident_count: i64,
    pub is_active: bool,
    #[serde(default, with = "crate::datetime::option")]
    pub last_modified_date_time: Option<OffsetDateTime>,
    #[serde(default, with = "crate::datetime::option")]
    pub last_scanned_date_time: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_definition: Option<AlertDefinition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_configuration: Option<AlertConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_incidents: Option<Vec<AlertIncident>>,
}

/// unifiedRoleManagementAlertDefinition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertDefinition {
    pub id: String,
    pub display_name: String,
    pub scope_type: String,
    pub scope_id: String,
    pub description: String,
    /// low | medium | high | informational | unknownFutureValue
    pub severity_level: String,
    pub security_impact: String,
    pub mitigation_steps: String,
    pub how_to_prevent: String,
    pub is_remediatable: bool,
    pub is_configurable: bool,
}

/// unifiedRoleManagementAlertConfiguration and its derived types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertConfiguration {
    #[serde(rename = "@odata.type", default, skip_serializing_if = "Option::is_none")]
    pub odata_type: Option<String>,
    pub id: String,
    pub alert_definition_id: String,
    pub scope_type: String,
    pub scope_id: String,
    pub is_enabled: bool,
    /// tooManyGlobalAdminsAssignedToTenantAlertConfiguration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_admin_count_threshold: Option<i32>,
    /// tooManyGlobalAdminsAssignedToTenantAlertConfiguration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage_of_global_admins_out_of_roles_threshold: Option<i32>,
    /// staleSignInAlertConfiguration, redundantAssignmentAlertConfiguration: ISO 8601 (`P30D`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
}

/// unifiedRoleManagementAlertIncident and its derived types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertIncident {
    #[serde(rename = "@odata.type", default, skip_serializing_if = "Option::is_none")]
    pub odata_type: Option<String>,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_display_name: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_user_principal_name: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_definition_id: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_display_name: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_template_id: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "nullable_time")]
    pub assignment_created_date_time: Option<Option<OffsetDateTime>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "nullable_time")]
    pub last_sign_in_date_time: Option<Option<OffsetDateTime>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "nullable_time")]
    pub last_activation_date_time: Option<Option<OffsetDateTime>>,
}

/// The body of `POST .../alerts/refresh`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshAlerts {
    pub scope_id: String,
    pub scope_type: String,
}

/// longRunningOperation (`.../roleManagementAlerts/operations/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LongRunningOperation {
    #[serde(rename = "@odata.type", default, skip_serializing_if = "Option::is_none")]
    pub odata_type: Option<String>,
    pub id: String,
    #[serde(default, with = "crate::datetime::option")]
    pub created_date_time: Option<OffsetDateTime>,
    #[serde(default, with = "crate::datetime::option")]
    pub last_action_date_time: Option<OffsetDateTime>,
    pub resource_location: Option<String>,
    /// notStarted | running | succeeded | failed
    pub status: String,
    pub status_detail: Option<String>,
}

/// A property a derived type has (sent, `null` when empty) or not (left out).
mod nullable_time {
    use serde::{Deserializer, Serializer};
    use time::OffsetDateTime;

    pub fn serialize<S: Serializer>(t: &Option<Option<OffsetDateTime>>, s: S) -> Result<S::Ok, S::Error> {
        crate::datetime::option::serialize(&t.flatten(), s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<OffsetDateTime>>, D::Error> {
        crate::datetime::option::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Graph's documented list-alerts response (expanded), trimmed to one incident.
    #[test]
    fn reads_the_documented_alert() {
        let doc = r##"{
            "id": "DirectoryRole_19356be4-7e93-4ed6-a7c6-0ae28454d125_TooManyGlobalAdminsAssignedToTenantAlert",
            "alertDefinitionId": "DirectoryRole_19356be4-7e93-4ed6-a7c6-0ae28454d125_TooManyGlobalAdminsAssignedToTenantAlert",
            "scopeId": "/", "scopeType": "DirectoryRole", "incidentCount": 2, "isActive": true,
            "lastModifiedDateTime": "2023-05-27T19:16:09.643Z", "lastScannedDateTime": "2023-06-11T23:01:35.21Z",
            "alertConfiguration": {
                "@odata.type": "#microsoft.graph.tooManyGlobalAdminsAssignedToTenantAlertConfiguration",
                "id": "DirectoryRole_19356be4-7e93-4ed6-a7c6-0ae28454d125_TooManyGlobalAdminsAssignedToTenantAlert",
                "alertDefinitionId": "DirectoryRole_19356be4-7e93-4ed6-a7c6-0ae28454d125_TooManyGlobalAdminsAssignedToTenantAlert",
                "scopeType": "DirectoryRole", "scopeId": "/", "isEnabled": true,
                "globalAdminCountThreshold": 2, "percentageOfGlobalAdminsOutOfRolesThreshold": 4
            },
            "alertIncidents": [{
                "@odata.type": "#microsoft.graph.tooManyGlobalAdminsAssignedToTenantAlertIncident",
                "id": "f5417b06-cdae-417f-9589-a334104206cf",
                "assigneeId": "f5417b06-cdae-417f-9589-a334104206cf",
                "assigneeDisplayName": "testUser1",
                "assigneeUserPrincipalName": "testuser1@anujcoffice.onmicrosoft.com"
            }]
        }"##;
        let a: RoleManagementAlert = serde_json::from_str(doc).unwrap();
        assert_eq!(a.incident_count, 2);
        assert_eq!(a.alert_configuration.as_ref().unwrap().global_admin_count_threshold, Some(2));
        let i = &a.alert_incidents.as_ref().unwrap()[0];
        assert_eq!(i.assignee_display_name, Some(Some("testUser1".into())));
        assert_eq!(i.last_sign_in_date_time, None);
        let back = serde_json::to_value(i).unwrap();
        assert!(back.get("lastSignInDateTime").is_none());
        let stale = AlertIncident { last_sign_in_date_time: Some(None), ..i.clone() };
        assert_eq!(serde_json::to_value(&stale).unwrap()["lastSignInDateTime"], serde_json::Value::Null);
    }
}
