//! PIM for Azure resources (issue #16), the engine's rules on every write path: a custom role's
//! `assignableScopes` bound PIM requests as they bound RBAC assignments (and a narrowed role
//! refuses updates, extensions, renewals and activations outside its new scopes while removals
//! still work); eligibilities held through nested security groups are activatable inside the
//! write, and no longer once the nesting is undone; an activation below its eligibility is
//! notified under the eligibility scope's settings; every ARM PIM step is audited. Fake clock;
//! SQLite always, PostgreSQL too when `OPENPIM_TEST_POSTGRES_URL` is set.

use crate::arm_approvals::{approval_path, custom_role, patch_rules, pending_activation, require_approval, stage_path};
use crate::arm_pim_requests::{
    actions_at, arm_token, assert_arm_error, assignment, azure, call, eligibility, guid, make_eligible, rbac_assign,
    request_body, rg, schedule_for, sub, OTHER_SUB, READER, V,
};
use crate::common::ADMIN_UPN;
use crate::pim::Pim;
use openpim_server::notify::NotificationConfig;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use time::Duration;

fn other_sub() -> String {
    format!("/subscriptions/{OTHER_SUB}")
}

/// PUTs the custom role `role` again with `assignable` as its assignable scopes (at the first,
/// as Microsoft's REST how-to does).
async fn set_assignable_scopes(pim: &Pim, admin: &str, role: &str, assignable: &[String]) {
    let body = json!({"properties": {
        "roleName": "Web Deployer",
        "description": "Deploys web apps",
        "type": "CustomRole",
        "permissions": [{"actions": ["Microsoft.Web/sites/read", "Microsoft.Web/sites/write"], "notActions": [], "dataActions": [], "notDataActions": []}],
        "assignableScopes": assignable,
    }});
    let path =
        format!("{}/providers/Microsoft.Authorization/roleDefinitions/{role}?api-version=2022-04-01", assignable[0]);
    let (status, resp) = call(pim, Method::PUT, &path, admin, Some(&body)).await;
    // ARM answers every role definition PUT 201 (create or update).
    assert_eq!(status, StatusCode::CREATED, "{resp}");
    assert_eq!(resp["properties"]["assignableScopes"], json!(assignable), "{resp}");
}

/// The live schedules of `collection` (`roleEligibilitySchedules`, `roleAssignmentSchedules`)
/// at or below `scope`, of `principal`, as (scope, role GUID) pairs.
async fn schedules_of(pim: &Pim, admin: &str, collection: &str, scope: &str, principal: &str) -> Vec<String> {
    let path =
        format!("{scope}/providers/Microsoft.Authorization/{collection}?{V}&$filter=principalId%20eq%20'{principal}'");
    let (status, body) = call(pim, Method::GET, &path, admin, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["value"]
        .as_array()
        .expect("value")
        .iter()
        .map(|s| s["properties"]["scope"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_custom_roles_assignable_scopes_bound_every_pim_write() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;
    let role = custom_role(&pim, &admin).await; // assignable at SUB only
    let (alice, _) = pim.user("alice").await;
    let (bob, _) = pim.user("bob").await;
    let alice_arm = arm_token(&pim, &alice);
    // The admin may write role assignments at the other subscription too (elevated at `/`).
    let outside = other_sub();

    // RBAC refuses an assignment outside the assignable scopes; PIM refuses the same, for both
    // request kinds, with the same code, and writes nothing.
    let name = guid();
    let (status, body) = call(
        &pim,
        Method::PUT,
        &format!("{outside}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version=2022-04-01"),
        &admin,
        Some(&json!({"properties": {
            "roleDefinitionId": format!("/providers/Microsoft.Authorization/roleDefinitions/{role}"),
            "principalId": alice,
        }})),
    )
    .await;
    assert_arm_error(status, &body, 400, "InvalidRoleAssignmentScope");
    let assign = |principal: &str| request_body("AdminAssign", principal, &role, Some(schedule_for("P30D")));
    let (status, body) = eligibility(&pim, &admin, &outside, &assign(&alice)).await;
    assert_arm_error(status, &body, 400, "InvalidRoleAssignmentScope");
    let (status, body) = assignment(&pim, &admin, &outside, &assign(&alice)).await;
    assert_arm_error(status, &body, 400, "InvalidRoleAssignmentScope");
    assert!(schedules_of(&pim, &admin, "roleEligibilitySchedules", &outside, &alice).await.is_empty());
    assert!(schedules_of(&pim, &admin, "roleAssignmentSchedules", &outside, &alice).await.is_empty());
    let audits = pim.audits().await;
    assert!(
        audits.iter().any(|a| a["activityDisplayName"] == "Add eligible member to role in PIM"
            && a["result"] == "failure"
            && a["resultReason"].as_str().is_some_and(|r| r.contains("InvalidRoleAssignmentScope"))),
        "the refused eligibility is audited"
    );

    // Inside them: an eligibility for alice at the subscription, an active assignment for bob
    // at the resource group `data`.
    make_eligible(&pim, &admin, &sub(), &alice, &role, "P30D").await;
    let (status, body) = assignment(&pim, &admin, &rg("data"), &assign(&bob)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The role is narrowed to the resource group `web` (existing schedules stay, as RBAC
    // assignments do).
    set_assignable_scopes(&pim, &admin, &role, &[rg("web")]).await;
    pim.advance(Duration::minutes(10));

    // Activating outside the new scopes is refused; inside them it works.
    let activate = request_body("SelfActivate", &alice, &role, Some(schedule_for("PT1H")));
    let (status, body) = assignment(&pim, &alice_arm, &rg("data"), &activate).await;
    assert_arm_error(status, &body, 400, "InvalidRoleAssignmentScope");
    let (status, body) = assignment(&pim, &alice_arm, &rg("web"), &activate).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["properties"]["status"], "Provisioned", "{body}");

    // Updating, extending or renewing a schedule left outside is refused with the same code.
    for request_type in ["AdminUpdate", "AdminExtend", "AdminRenew"] {
        let body = request_body(request_type, &alice, &role, Some(schedule_for("P60D")));
        let (status, resp) = eligibility(&pim, &admin, &sub(), &body).await;
        assert_arm_error(status, &resp, 400, "InvalidRoleAssignmentScope");
        let body = request_body(request_type, &bob, &role, Some(schedule_for("P60D")));
        let (status, resp) = assignment(&pim, &admin, &rg("data"), &body).await;
        assert_arm_error(status, &resp, 400, "InvalidRoleAssignmentScope");
    }
    // Removing them still works.
    let (status, body) = eligibility(&pim, &admin, &sub(), &request_body("AdminRemove", &alice, &role, None)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = assignment(&pim, &admin, &rg("data"), &request_body("AdminRemove", &bob, &role, None)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(schedules_of(&pim, &admin, "roleEligibilitySchedules", &sub(), &alice).await.is_empty());
    assert!(schedules_of(&pim, &admin, "roleAssignmentSchedules", &rg("data"), &bob).await.is_empty());
    pim.stop().await;
}

#[tokio::test]
async fn an_approval_completing_after_the_role_was_narrowed_grants_nothing() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;
    let role = custom_role(&pim, &admin).await;
    let (contractor, _) = pim.user("contractor").await;
    let (carol, _) = pim.user("carol").await;
    require_approval(&pim, &admin, &sub(), &role, json!([{"id": carol, "userType": "User", "isBackup": false}])).await;
    let (request, approval) = pending_activation(&pim, &admin, &contractor, &role).await; // at `web`
    set_assignable_scopes(&pim, &admin, &role, &[rg("data")]).await;

    let carol_arm = arm_token(&pim, &carol);
    let (status, a) = call(&pim, Method::GET, &approval_path(&approval), &carol_arm, None).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    let stage = a["properties"]["stages"][0]["name"].as_str().unwrap().to_string();
    let approve = json!({"properties": {"reviewResult": "Approve", "justification": "ok"}});
    let (status, body) = call(&pim, Method::PATCH, &stage_path(&approval, &stage), &carol_arm, Some(&approve)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Approved, but the role is no longer assignable at `web`: the request fails, nothing is granted.
    let name = request["name"].as_str().unwrap();
    let path = format!("{}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/{name}?{V}", rg("web"));
    let (status, got) = call(&pim, Method::GET, &path, &admin, None).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["properties"]["status"], "Failed", "{got}");
    assert!(actions_at(&pim, &arm_token(&pim, &contractor), &rg("web")).await.is_empty());
    pim.stop().await;
}

#[tokio::test]
async fn an_eligibility_held_through_nested_groups_is_activated_until_the_nesting_ends() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;
    let (user, _) = pim.user("nested").await;
    let user_arm = arm_token(&pim, &user);
    let outer = pim.group("platform team", false).await;
    let inner = pim.group("web squad", false).await;
    pim.add_member(&outer, &inner).await;
    pim.add_member(&inner, &user).await;
    // A cycle back to the inner group does not trap the walk.
    pim.add_member(&inner, &outer).await;
    make_eligible(&pim, &admin, &sub(), &outer, READER, "P30D").await;
    pim.advance(Duration::minutes(1));

    let activate = request_body("SelfActivate", &user, READER, Some(schedule_for("PT1H")));
    let (status, body) = assignment(&pim, &user_arm, &rg("web"), &activate).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["properties"]["status"], "Provisioned", "{body}");
    assert_eq!(actions_at(&pim, &user_arm, &rg("web")).await, ["*/read"]);

    // The inner group leaves the outer one: the eligibility no longer reaches the user, and what
    // the user activated through it is revoked in the same write.
    pim.remove_member(&outer, &inner).await;
    assert!(actions_at(&pim, &user_arm, &rg("web")).await.is_empty(), "the activation is revoked");
    pim.remove_member(&inner, &outer).await;
    let (status, body) = assignment(&pim, &user_arm, &rg("data"), &activate).await;
    assert_arm_error(status, &body, 400, "RoleAssignmentRequestPolicyValidationFailed");
    assert!(body["error"]["message"].as_str().unwrap().contains("EligibilityRule"), "{body}");

    // Nested again, the user activates; deleting the inner group revokes that activation too.
    pim.add_member(&outer, &inner).await;
    let (status, body) = assignment(&pim, &user_arm, &rg("data"), &activate).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(actions_at(&pim, &user_arm, &rg("data")).await, ["*/read"]);
    let (status, body) = pim.client.delete(&format!("/v1.0/groups/{inner}"), &pim.admin_token()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(actions_at(&pim, &user_arm, &rg("data")).await.is_empty(), "the activation is revoked");
    pim.stop().await;
}

/// The notifications queued so far (pending in the outbox), as their payloads.
async fn queued(pim: &Pim) -> Vec<Value> {
    let later = pim.now() + Duration::days(1);
    let items = pim.server.state.store.outbox_due(later, 100).await.expect("outbox");
    items.iter().map(|i| serde_json::from_str(&i.payload).expect("payload")).collect()
}

#[tokio::test]
async fn an_activation_below_its_eligibility_is_notified_under_the_eligibility_scopes_rules() {
    // Nothing listens there: deliveries stay in the outbox, where the test reads them.
    let config = NotificationConfig { webhook_url: Some("http://127.0.0.1:9/hook".into()), smtp: None };
    let pim = Pim::start_with(config).await;
    let admin = azure(&pim).await;
    let (alice, _) = pim.user("alice").await;
    // At the subscription (not at the resource group), admins are not told about activations;
    // the security team is.
    let rule = json!({
        "id": "Notification_Admin_EndUser_Assignment", "ruleType": "RoleManagementPolicyNotificationRule",
        "target": {"caller": "EndUser", "operations": ["All"], "level": "Assignment"},
        "notificationType": "Email", "recipientType": "Admin", "notificationLevel": "All",
        "isDefaultRecipientsEnabled": false, "notificationRecipients": ["secops@mail.test"]
    });
    patch_rules(&pim, &admin, &sub(), READER, json!([rule])).await;
    make_eligible(&pim, &admin, &sub(), &alice, READER, "P30D").await;
    pim.advance(Duration::minutes(1));

    let activate = request_body("SelfActivate", &alice, READER, Some(schedule_for("PT1H")));
    let (status, body) = assignment(&pim, &arm_token(&pim, &alice), &rg("web"), &activate).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let activated: Vec<Value> = queued(&pim).await.into_iter().filter(|p| p["event"] == "activated").collect();
    assert_eq!(activated.len(), 1, "{activated:?}");
    assert_eq!(activated[0]["directoryScopeId"], rg("web"));
    let recipients = activated[0]["recipients"].as_array().expect("recipients");
    assert!(recipients.contains(&json!("secops@mail.test")), "the subscription's rule applies: {recipients:?}");
    assert!(!recipients.contains(&json!(ADMIN_UPN)), "default admins are off at the subscription: {recipients:?}");
    pim.stop().await;
}

#[tokio::test]
async fn every_arm_pim_step_is_audited() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;
    let role = custom_role(&pim, &admin).await;
    let (contractor, _) = pim.user("contractor").await;
    let (carol, _) = pim.user("carol").await;
    let contractor_arm = arm_token(&pim, &contractor);
    // Policy PATCH.
    require_approval(&pim, &admin, &sub(), &role, json!([{"id": carol, "userType": "User", "isBackup": false}])).await;
    // Eligibility request, then an activation waiting for approval.
    let (_, approval) = pending_activation(&pim, &admin, &contractor, &role).await;
    // Approval decision.
    let (status, a) = call(&pim, Method::GET, &approval_path(&approval), &arm_token(&pim, &carol), None).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    let stage = a["properties"]["stages"][0]["name"].as_str().unwrap().to_string();
    let approve = json!({"properties": {"reviewResult": "Approve", "justification": "ok"}});
    let (status, body) =
        call(&pim, Method::PATCH, &stage_path(&approval, &stage), &arm_token(&pim, &carol), Some(&approve)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Deactivation (after the 5-minute lock).
    pim.advance(Duration::minutes(10));
    let (status, body) =
        assignment(&pim, &contractor_arm, &rg("web"), &request_body("SelfDeactivate", &contractor, &role, None)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Another activation, canceled while it waits.
    let activate = request_body("SelfActivate", &contractor, &role, Some(schedule_for("PT1H")));
    let name = guid();
    let path = format!("{}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/{name}", rg("data"));
    let (status, body) = call(&pim, Method::PUT, &format!("{path}?{V}"), &contractor_arm, Some(&activate)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = call(&pim, Method::POST, &format!("{path}/cancel?{V}"), &contractor_arm, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // An RBAC assignment (the same engine's rows).
    rbac_assign(&pim, &admin, &rg("web"), READER, &carol).await;

    let audits = pim.audits().await;
    let successes = |activity: &str| {
        audits.iter().filter(|a| a["activityDisplayName"] == activity && a["result"] == "success").count()
    };
    for (activity, at_least) in [
        ("Update role setting in PIM", 1),
        ("Add eligible member to role in PIM", 1),
        ("Add member to role (PIM activation)", 2),
        ("Approve role activation request in PIM", 1),
        ("Remove member from role (PIM deactivation)", 1),
        ("Cancel request in PIM", 1),
        ("Add Azure role assignment", 2),
    ] {
        assert!(successes(activity) >= at_least, "{activity}: {} record(s) in {audits:#?}", successes(activity));
    }
    // The records name the ARM scope they happened at.
    let canceled = audits.iter().find(|a| a["activityDisplayName"] == "Cancel request in PIM").unwrap();
    assert!(canceled.to_string().contains(&rg("data")), "{canceled}");
    pim.stop().await;
}
