//! What Graph omits and what it sends as null, in the shapes that are not in Graph's examples:
//! request bodies the clients build, and principals told apart by their properties.

use openpim_proto::directory::DirectoryObject;
use openpim_proto::policies::{ApprovalSettingsPatch, PolicyRulePatch};
use openpim_proto::schedules::{NewExpiration, NewRequestSchedule, NewScheduleRequest, TicketInfo};
use openpim_proto::GraphError;
use serde_json::json;
use uuid::Uuid;

#[test]
fn request_bodies_send_only_what_the_client_sets() {
    let principal = Uuid::from_u128(1);
    let role = Uuid::from_u128(2);
    let body = NewScheduleRequest {
        action: "selfActivate".into(),
        principal_id: principal,
        role_definition_id: role,
        directory_scope_id: "/".into(),
        justification: None,
        schedule_info: Some(NewRequestSchedule {
            start_date_time: None,
            expiration: NewExpiration::AfterDuration { duration: "PT1H".into() },
        }),
        ticket_info: Some(TicketInfo { ticket_number: Some("T-1".into()), ticket_system: None }),
    };
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        json!({
            "action": "selfActivate",
            "principalId": principal,
            "roleDefinitionId": role,
            "directoryScopeId": "/",
            "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "PT1H"}},
            "ticketInfo": {"ticketNumber": "T-1", "ticketSystem": null},
        })
    );
}

#[test]
fn rule_patches_carry_their_type_and_only_the_changes() {
    let patch = PolicyRulePatch::Expiration {
        id: "Expiration_EndUser_Assignment".into(),
        is_expiration_required: None,
        maximum_duration: Some("PT2H".into()),
    };
    assert_eq!(
        serde_json::to_value(&patch).unwrap(),
        json!({"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
               "id": "Expiration_EndUser_Assignment", "maximumDuration": "PT2H"})
    );
    let off = PolicyRulePatch::Approval {
        id: "Approval_EndUser_Assignment".into(),
        setting: ApprovalSettingsPatch { is_approval_required: false, approval_mode: None, approval_stages: None },
    };
    assert_eq!(
        serde_json::to_value(&off).unwrap(),
        json!({"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule",
               "id": "Approval_EndUser_Assignment", "setting": {"isApprovalRequired": false}})
    );
}

#[test]
fn principals_are_told_apart() {
    let group = json!({"@odata.type": "#microsoft.graph.group", "id": Uuid::from_u128(3), "displayName": "Ops",
        "description": null, "mailNickname": "ops", "mailEnabled": false, "securityEnabled": true,
        "isAssignableToRole": true, "groupTypes": [], "visibility": "Private",
        "createdDateTime": "2026-01-01T00:00:00Z"});
    let o: DirectoryObject = serde_json::from_value(group).unwrap();
    assert!(matches!(o, DirectoryObject::Group(_)), "{o:?}");
    assert_eq!((o.display_name(), o.user_principal_name()), ("Ops", None));
    let sp = json!({"@odata.type": "#microsoft.graph.servicePrincipal", "id": Uuid::from_u128(4),
        "appId": Uuid::from_u128(5), "appDisplayName": null, "displayName": "Robot", "description": null,
        "servicePrincipalType": "Application", "accountEnabled": true});
    assert!(matches!(serde_json::from_value(sp).unwrap(), DirectoryObject::ServicePrincipal(_)));
}

#[test]
fn graph_errors_read_with_or_without_inner_error() {
    let e: GraphError = serde_json::from_value(json!({"error": {"code": "Request_BadRequest", "message": "no",
        "innerError": {"date": "2026-01-01T00:00:00", "request-id": "r", "client-request-id": "r"}}}))
    .unwrap();
    assert_eq!((e.error.code.as_str(), e.error.message.as_str()), ("Request_BadRequest", "no"));
    assert_eq!(e.error.inner_error.unwrap().request_id, "r");
    assert!(serde_json::from_value::<GraphError>(json!({"error": {"code": "X", "message": "y"}})).is_ok());
    assert!(serde_json::from_value::<GraphError>(json!({"value": []})).is_err());
}
