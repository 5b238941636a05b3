//! Graph beta PIM iteration 2, provider `azureResources` (`/beta/privilegedAccess/azureResources`):
//! a view over the Azure hierarchy and ARM PIM. The set-up is the ARM PIM suite's
//! (`arm_pim_requests::azure`): the admin elevated, subscriptions `SUB` (owned by the admin, with
//! resource groups `web` and `data`) and `OTHER_SUB`. SQLite always; PostgreSQL too when
//! `OPENPIM_TEST_POSTGRES_URL` is set.

use crate::arm_pim_requests::{
    actions_at, arm_token, azure, call, rbac_assign, rg, sub, CONTRIBUTOR, OTHER_SUB, READER, SUB, V,
};
use crate::common::{assert_graph_error, USER_ADMINISTRATOR};
use crate::pim::{rfc3339, Pim};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use time::Duration;

const AZ: &str = "/beta/privilegedAccess/azureResources";

async fn get(pim: &Pim, path: &str, token: &str) -> (StatusCode, Value) {
    pim.client.get(&format!("{AZ}{path}"), token).await
}

async fn post(pim: &Pim, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    pim.client.post(&format!("{AZ}{path}"), token, body).await
}

/// The governanceResource with externalId `scope` among `items`.
fn by_external_id<'a>(items: &'a [Value], scope: &str) -> Option<&'a Value> {
    items.iter().find(|r| r["externalId"].as_str().is_some_and(|e| e.eq_ignore_ascii_case(scope)))
}

/// The governance id of the resource at `scope`, read from `token`'s list.
async fn resource_id(pim: &Pim, token: &str, scope: &str) -> String {
    let items = pim.list(&format!("{AZ}/resources"), token).await;
    let r = by_external_id(&items, scope).unwrap_or_else(|| panic!("{scope} not in {items:?}"));
    r["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn resources_are_the_azure_scopes_the_caller_holds_a_role_on() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;
    let (bob, bob_t) = pim.user("bob").await;
    rbac_assign(&pim, &admin, &sub(), READER, &bob).await;

    // Bob reads SUB and what is in it, not OTHER_SUB nor the management groups above.
    let items = pim.list(&format!("{AZ}/resources"), &bob_t).await;
    let s = by_external_id(&items, &sub()).expect("the subscription");
    assert_eq!(s["type"], "subscription");
    assert_eq!(s["status"], "Active");
    assert_eq!(s["displayName"], format!("sub {SUB}"));
    assert_eq!(s["registeredRoot"], sub());
    assert!(s["registeredDateTime"].as_str().is_some_and(|t| t.ends_with('Z')), "{s}");
    let web = by_external_id(&items, &rg("web")).expect("rg web");
    assert_eq!(web["type"], "resourcegroup");
    assert_eq!(web["displayName"], "web");
    assert_eq!(web["registeredRoot"], sub());
    assert!(by_external_id(&items, &rg("data")).is_some());
    assert!(by_external_id(&items, &format!("/subscriptions/{OTHER_SUB}")).is_none(), "{items:?}");
    assert!(items.iter().all(|r| r["type"] != "managementgroup"), "{items:?}");

    // The admin (User Access Administrator at `/`) sees everything, the tenant root group too.
    let all = pim.list(&format!("{AZ}/resources"), &pim.admin_token()).await;
    assert!(by_external_id(&all, &format!("/subscriptions/{OTHER_SUB}")).is_some());
    assert!(all.iter().any(|r| r["type"] == "managementgroup"), "{all:?}");

    // Ids are stable: the same resource has the same id for every caller; get and $filter work.
    let web_id = web["id"].as_str().unwrap();
    assert_eq!(by_external_id(&all, &rg("web")).unwrap()["id"], web_id);
    let (status, got) = get(&pim, &format!("/resources/{web_id}?$expand=parent"), &bob_t).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["externalId"], rg("web"));
    assert_eq!(got["parent"]["externalId"], sub());
    assert_eq!(got["parent"]["id"], s["id"]);
    // The list with parents: the subscription's management group is not bob's to see.
    let with_parents = pim.list(&format!("{AZ}/resources?$expand=parent"), &bob_t).await;
    assert_eq!(by_external_id(&with_parents, &rg("web")).unwrap()["parent"]["externalId"], sub());
    assert_eq!(by_external_id(&with_parents, &sub()).unwrap()["parent"], Value::Null);
    let filtered = pim.list(&format!("{AZ}/resources?$filter=type eq 'resourcegroup'"), &bob_t).await;
    assert_eq!(filtered.len(), 2, "{filtered:?}");

    // A resource bob holds nothing on answers as a missing one: 404 in Graph's shape.
    let other_id = by_external_id(&all, &format!("/subscriptions/{OTHER_SUB}")).unwrap()["id"].as_str().unwrap();
    let (status, body) = get(&pim, &format!("/resources/{other_id}"), &bob_t).await;
    assert_graph_error(status, &body, 404, "ResourceNotFound");
    let (status, body) = get(&pim, &format!("/resources/{}/roleDefinitions", uuid::Uuid::new_v4()), &bob_t).await;
    assert_graph_error(status, &body, 404, "ResourceNotFound");
    let (status, body) = get(&pim, "/resources/not-a-guid", &bob_t).await;
    assert_graph_error(status, &body, 404, "ResourceNotFound");

    // register: 200 for an existing scope bob holds a role on (any casing); the documented
    // error for one he does not, one that does not exist, and one that is not a scope.
    let (status, body) = post(&pim, "/resources/register", &bob_t, json!({"externalId": sub().to_uppercase()})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for bad in [format!("/subscriptions/{OTHER_SUB}"), rg("missing"), "nonsense".to_string()] {
        let (status, body) = post(&pim, "/resources/register", &bob_t, json!({"externalId": bad})).await;
        assert_graph_error(status, &body, 400, "ResourceNotFound");
    }
    pim.stop().await;
}

#[tokio::test]
async fn role_definitions_are_the_azure_roles_assignable_at_the_resource() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;
    let (bob, bob_t) = pim.user("bob").await;
    rbac_assign(&pim, &admin, &sub(), READER, &bob).await;
    let sub_id = resource_id(&pim, &bob_t, &sub()).await;

    let path = format!("{AZ}/resources/{sub_id}/roleDefinitions?$filter=displayName eq 'Reader'");
    let roles = pim.list(&path, &bob_t).await;
    assert_eq!(roles.len(), 1, "{roles:?}");
    let reader = &roles[0];
    assert_eq!(reader["templateId"], READER);
    assert_eq!(reader["id"], READER);
    assert_eq!(reader["displayName"], "Reader");
    assert_eq!(reader["resourceId"], sub_id.as_str());
    assert_eq!(reader["externalId"], format!("{}/providers/Microsoft.Authorization/roleDefinitions/{READER}", sub()));
    // Azure roles only: no directory role is a role of an Azure resource.
    let path = format!("{AZ}/resources/{sub_id}/roleDefinitions?$filter=id eq '{USER_ADMINISTRATOR}'");
    assert!(pim.list(&path, &bob_t).await.is_empty(), "a directory role listed");

    let path = format!("/resources/{sub_id}/roleDefinitions/{READER}?$expand=resource");
    let (status, one) = get(&pim, &path, &bob_t).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["externalId"], reader["externalId"]);
    assert_eq!(one["resource"]["externalId"], sub());
    // Its roleSetting: Reader's ARM policy at the subscription (bob reads policies there).
    let path = format!("/resources/{sub_id}/roleDefinitions/{READER}?$expand=roleSetting");
    let (status, with_setting) = get(&pim, &path, &bob_t).await;
    assert_eq!(status, StatusCode::OK, "{with_setting}");
    assert_eq!(with_setting["roleSetting"]["roleDefinitionId"], READER);
    assert_eq!(with_setting["roleSetting"]["resourceId"], sub_id.as_str());
    // Someone who cannot read policies at the subscription gets no setting.
    let (_, dave_t) = pim.user("dave").await;
    let (status, r) = get(&pim, &format!("/roleDefinitions/{READER}?$expand=roleSetting"), &dave_t).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["roleSetting"], Value::Null);
    let (status, body) = get(&pim, &format!("/resources/{sub_id}/roleDefinitions/{USER_ADMINISTRATOR}"), &bob_t).await;
    assert_graph_error(status, &body, 400, "RoleNotFound");

    // The provider level lists every Azure role, read at ARM's root.
    let (status, top) = get(&pim, &format!("/roleDefinitions/{READER}"), &bob_t).await;
    assert_eq!(status, StatusCode::OK, "{top}");
    assert_eq!(top["externalId"], format!("/providers/Microsoft.Authorization/roleDefinitions/{READER}"));
    pim.stop().await;
}

/// A governanceRoleAssignmentRequest body for Contributor at the resource `resource`.
fn body(ty: &str, state: &str, resource: &str, subject: &str, schedule: Option<Value>) -> Value {
    let mut v = json!({
        "roleDefinitionId": CONTRIBUTOR,
        "resourceId": resource,
        "subjectId": subject,
        "assignmentState": state,
        "type": ty,
        "reason": "Deploying the web tier",
    });
    if let Some(s) = schedule {
        v["schedule"] = s;
    }
    v
}

/// Contributor's actions include `*`: what the permissions API lists for bob at the subscription.
async fn bob_contributes(pim: &Pim, bob_arm: &str) -> bool {
    actions_at(pim, bob_arm, &sub()).await.iter().any(|a| a == "*")
}

#[tokio::test]
async fn eligible_then_activate_deactivate_and_remove_at_a_subscription() {
    let pim = Pim::start().await;
    let admin_arm = azure(&pim).await;
    let admin = pim.admin_token();
    let (bob, bob_t) = pim.user("bob").await;
    let bob_arm = arm_token(&pim, &bob);
    let sub_id = resource_id(&pim, &admin, &sub()).await;

    // A Reader of the subscription may not make anyone eligible: ARM's rights, 403.
    let (carol, carol_t) = pim.user("carol").await;
    rbac_assign(&pim, &admin_arm, &sub(), READER, &carol).await;
    let year = json!({"type": "Once", "startDateTime": rfc3339(pim.now()), "duration": "P365D"});
    let add = |resource: &str| body("AdminAdd", "Eligible", resource, &bob, Some(year.clone()));
    let (status, r) = post(&pim, "/roleAssignmentRequests", &carol_t, add(&sub_id)).await;
    assert_graph_error(status, &r, 403, "AuthorizationFailed");
    // A resource that does not exist: the documented 400.
    let (status, r) = post(&pim, "/roleAssignmentRequests", &admin, add(&uuid::Uuid::new_v4().to_string())).await;
    assert_graph_error(status, &r, 400, "ResourceNotFound");

    // The admin (Owner of the subscription) makes bob eligible for a year, under the resource.
    let path = format!("/resources/{sub_id}/roleAssignmentRequests");
    let (status, eligible) = post(&pim, &path, &admin, add(&sub_id)).await;
    assert_eq!(status, StatusCode::CREATED, "{eligible}");
    assert_eq!(eligible["resourceId"], sub_id.as_str());
    assert_eq!(eligible["roleDefinitionId"], CONTRIBUTOR);
    assert_eq!(eligible["status"]["subStatus"], "Provisioned");
    assert!(!bob_contributes(&pim, &bob_arm).await);
    // Eligible only, bob sees the subscription (what he may activate) and his own rows there.
    let seen = pim.list(&format!("{AZ}/resources"), &bob_t).await;
    assert!(by_external_id(&seen, &sub()).is_some(), "{seen:?}");
    assert!(by_external_id(&seen, &format!("/subscriptions/{OTHER_SUB}")).is_none(), "{seen:?}");
    let own = format!("{AZ}/resources/{sub_id}/roleAssignments?$filter=subjectId eq '{bob}'");
    let rows = pim.list(&own, &bob_t).await;
    assert!(rows.len() == 1 && rows[0]["assignmentState"] == "Eligible", "{rows:?}");
    // Everyone's needs roleAssignments/read at the scope: ARM's 403.
    let (status, r) = get(&pim, &format!("/resources/{sub_id}/roleAssignments"), &bob_t).await;
    assert_graph_error(status, &r, 403, "AuthorizationFailed");

    // Bob activates for an hour with a reason.
    let hour = json!({"type": "Once", "startDateTime": rfc3339(pim.now()), "duration": "PT1H"});
    let (status, active) =
        post(&pim, "/roleAssignmentRequests", &bob_t, body("UserAdd", "Active", &sub_id, &bob, Some(hour))).await;
    assert_eq!(status, StatusCode::CREATED, "{active}");
    assert_eq!(active["status"]["subStatus"], "Provisioned", "{active}");
    assert_eq!(active["reason"], "Deploying the web tier");

    // ARM sees the activation: an assignment schedule instance at the subscription, and the
    // permissions API lists Contributor's actions.
    let instances =
        format!("{}/providers/Microsoft.Authorization/roleAssignmentScheduleInstances?{V}&$filter=asTarget()", sub());
    let (status, list) = call(&pim, Method::GET, &instances, &bob_arm, None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let rows = list["value"].as_array().expect("value");
    let activation = rows.iter().find(|r| r["properties"]["assignmentType"] == "Activated").expect("activation");
    assert_eq!(activation["properties"]["scope"], sub());
    assert!(activation["properties"]["roleDefinitionId"].as_str().unwrap().ends_with(CONTRIBUTOR));
    assert!(bob_contributes(&pim, &bob_arm).await);

    // The Graph view: bob's eligible and active assignments at the subscription.
    let mine = pim.list(&format!("{AZ}/resources/{sub_id}/roleAssignments?$filter=subjectId eq '{bob}'"), &admin).await;
    assert_eq!(mine.len(), 2, "{mine:?}");
    let eligible_row = mine.iter().find(|a| a["assignmentState"] == "Eligible").expect("eligible");
    let active_row = mine.iter().find(|a| a["assignmentState"] == "Active").expect("active");
    assert_eq!(active_row["linkedEligibleRoleAssignmentId"], eligible_row["id"]);
    assert_eq!(active_row["memberType"], "Direct");
    assert_eq!(active_row["resourceId"], sub_id.as_str());
    // Seen from a resource group below, the subscription's rows are inherited.
    let web_id = resource_id(&pim, &admin, &rg("web")).await;
    let below =
        pim.list(&format!("{AZ}/resources/{web_id}/roleAssignments?$filter=subjectId eq '{bob}'"), &admin).await;
    assert!(below.len() == 2 && below.iter().all(|a| a["memberType"] == "Inherited"), "{below:?}");
    let (status, one) =
        get(&pim, &format!("/roleAssignments/{}?$expand=roleDefinition", active_row["id"].as_str().unwrap()), &admin)
            .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(
        one["roleDefinition"]["externalId"],
        format!("{}/providers/Microsoft.Authorization/roleDefinitions/{CONTRIBUTOR}", sub())
    );

    // The 5-minute rule: no deactivation right after activating; accepted after.
    let (status, r) =
        post(&pim, "/roleAssignmentRequests", &bob_t, body("UserRemove", "Active", &sub_id, &bob, None)).await;
    assert_graph_error(status, &r, 400, "RoleAssignmentRequestPolicyValidationFailed");
    assert!(bob_contributes(&pim, &bob_arm).await);
    pim.advance(Duration::minutes(6));
    let (status, removed) =
        post(&pim, "/roleAssignmentRequests", &bob_t, body("UserRemove", "Active", &sub_id, &bob, None)).await;
    assert_eq!(status, StatusCode::CREATED, "{removed}");
    assert_eq!(removed["status"]["subStatus"], "Revoked");
    assert!(!bob_contributes(&pim, &bob_arm).await);

    // The admin removes the eligibility: nothing of bob's is left at the subscription.
    let (status, r) =
        post(&pim, "/roleAssignmentRequests", &admin, body("AdminRemove", "Eligible", &sub_id, &bob, None)).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let left = pim.list(&format!("{AZ}/resources/{sub_id}/roleAssignments?$filter=subjectId eq '{bob}'"), &admin).await;
    assert!(left.is_empty(), "{left:?}");

    // The requests, as the admin lists them at the subscription; one by id.
    let requests = pim.list(&format!("{AZ}/resources/{sub_id}/roleAssignmentRequests"), &admin).await;
    let types: Vec<&str> = requests.iter().map(|r| r["type"].as_str().unwrap()).collect();
    for t in ["AdminAdd", "UserAdd", "UserRemove", "AdminRemove"] {
        assert!(types.contains(&t), "{t} not in {types:?}");
    }
    let (status, one) =
        get(&pim, &format!("/roleAssignmentRequests/{}", eligible["id"].as_str().unwrap()), &bob_t).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["type"], "AdminAdd");
    // Carol reads role assignments at the subscription (Reader), so she sees bob's requests
    // there; dave, with no role, does not.
    let request = format!("/roleAssignmentRequests/{}", eligible["id"].as_str().unwrap());
    let (status, r) = get(&pim, &request, &carol_t).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let (_, dave_t) = pim.user("dave").await;
    let (status, r) = get(&pim, &request, &dave_t).await;
    assert_graph_error(status, &r, 400, "RoleAssignmentRequestNotFound");
    let (status, r) = get(&pim, &format!("/resources/{sub_id}/roleAssignments"), &dave_t).await;
    assert_graph_error(status, &r, 404, "ResourceNotFound");
    pim.stop().await;
}

/// The value of rule `rule` in a governanceRoleSetting list.
fn setting_value(list: &Value, rule: &str) -> Value {
    let entry = list.as_array().unwrap().iter().find(|e| e["ruleIdentifier"] == rule).expect("rule");
    serde_json::from_str(entry["setting"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn role_settings_are_the_arm_policies_at_the_resource() {
    let pim = Pim::start().await;
    let admin_arm = azure(&pim).await;
    let admin = pim.admin_token();
    let (carol, carol_t) = pim.user("carol").await;
    rbac_assign(&pim, &admin_arm, &sub(), READER, &carol).await;
    let sub_id = resource_id(&pim, &admin, &sub()).await;

    // One setting per Azure role at the resource; Contributor's is the ARM policy's defaults.
    let path = format!("{AZ}/resources/{sub_id}/roleSettings?$filter=roleDefinitionId eq '{CONTRIBUTOR}'");
    let rows = pim.list(&path, &carol_t).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let setting = &rows[0];
    assert_eq!(setting["resourceId"], sub_id.as_str());
    assert_eq!(setting["isDefault"], true);
    let id = setting["id"].as_str().unwrap().to_string();

    // A Reader may read it, not change it (ARM's right: roleManagementPolicies/write).
    let patch = json!({"userMemberSettings": [
        {"ruleIdentifier": "ExpirationRule",
         "setting": json!({"permanentAssignment": false, "maximumGrantPeriodInMinutes": 240}).to_string()},
    ]});
    let (status, r) = pim.client.patch(&format!("{AZ}/roleSettings/{id}"), &carol_t, patch.clone()).await;
    assert_graph_error(status, &r, 403, "AuthorizationFailed");
    let (status, r) =
        pim.client.patch(&format!("{AZ}/roleSettings/{}", uuid::Uuid::new_v4()), &admin, patch.clone()).await;
    assert_graph_error(status, &r, 400, "RoleSettingNotFound");

    // The Owner changes the activation's maximum to 4 hours: ARM's policy shows it.
    let (status, r) = pim.client.patch(&format!("{AZ}/roleSettings/{id}"), &admin, patch).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{r}");
    let arm_path = format!("{}/providers/Microsoft.Authorization/roleManagementPolicies/{id}?{V}", sub());
    let (status, policy) = call(&pim, Method::GET, &arm_path, &admin_arm, None).await;
    assert_eq!(status, StatusCode::OK, "{policy}");
    let rule = policy["properties"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "Expiration_EndUser_Assignment")
        .expect("activation rule")
        .clone();
    assert_eq!(rule["maximumDuration"], "PT4H", "{rule}");
    assert_eq!(policy["name"], id.as_str());

    // And the Graph view reads it back, no longer the defaults.
    let (status, after) = get(&pim, &format!("/roleSettings/{id}?$expand=roleDefinition"), &carol_t).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after["isDefault"], false);
    assert_eq!(setting_value(&after["userMemberSettings"], "ExpirationRule")["maximumGrantPeriodInMinutes"], 240);
    assert_eq!(after["roleDefinition"]["templateId"], CONTRIBUTOR);
    pim.stop().await;
}

#[tokio::test]
async fn an_activation_waits_for_the_approver_named_in_the_role_setting() {
    let pim = Pim::start().await;
    azure(&pim).await;
    let admin = pim.admin_token();
    let (bob, bob_t) = pim.user("bob").await;
    let (alice, alice_t) = pim.user("alice").await;
    let bob_arm = arm_token(&pim, &bob);
    let sub_id = resource_id(&pim, &admin, &sub()).await;

    // Contributor at the subscription needs alice's approval to activate.
    let path = format!("{AZ}/resources/{sub_id}/roleSettings?$filter=roleDefinitionId eq '{CONTRIBUTOR}'");
    let id = pim.list(&path, &admin).await[0]["id"].as_str().unwrap().to_string();
    let approval = json!({"enabled": true, "approvers": [{"id": alice, "type": "User"}]});
    let patch = json!({"userMemberSettings": [{"ruleIdentifier": "ApprovalRule", "setting": approval.to_string()}]});
    let (status, r) = pim.client.patch(&format!("{AZ}/roleSettings/{id}"), &admin, patch).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{r}");

    let year = json!({"type": "Once", "startDateTime": rfc3339(pim.now()), "duration": "P365D"});
    let (status, r) =
        post(&pim, "/roleAssignmentRequests", &admin, body("AdminAdd", "Eligible", &sub_id, &bob, Some(year))).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let hour = json!({"type": "Once", "startDateTime": rfc3339(pim.now()), "duration": "PT1H"});
    let (status, pending) =
        post(&pim, "/roleAssignmentRequests", &bob_t, body("UserAdd", "Active", &sub_id, &bob, Some(hour))).await;
    assert_eq!(status, StatusCode::CREATED, "{pending}");
    assert_eq!(pending["status"]["subStatus"], "PendingAdminDecision", "{pending}");
    assert!(!bob_contributes(&pim, &bob_arm).await);

    // Bob cannot approve himself; alice, the named approver, can.
    let decide = format!("/roleAssignmentRequests/{}/updateRequest", pending["id"].as_str().unwrap());
    let decision = json!({"decision": "AdminApproved", "reason": "Looks right", "assignmentState": "Active",
                          "schedule": {"type": "Once", "startDateTime": rfc3339(pim.now()), "duration": "PT1H"}});
    let (status, r) = post(&pim, &decide, &bob_t, decision.clone()).await;
    assert!(status.is_client_error(), "{status} {r}");
    assert!(!bob_contributes(&pim, &bob_arm).await);
    let (status, r) = post(&pim, &decide, &alice_t, decision).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{r}");
    assert!(bob_contributes(&pim, &bob_arm).await);
    pim.stop().await;
}

#[tokio::test]
async fn bad_input_at_an_azure_resource_is_refused_in_graphs_shape_and_changes_nothing() {
    let pim = Pim::start().await;
    azure(&pim).await;
    let admin = pim.admin_token();
    let (bob, _) = pim.user("bob").await;
    let sub_id = resource_id(&pim, &admin, &sub()).await;
    let web_id = resource_id(&pim, &admin, &rg("web")).await;
    let year = json!({"type": "Once", "startDateTime": rfc3339(pim.now()), "duration": "P365D"});

    // A directory role is no role of an Azure resource.
    let mut directory_role = body("AdminAdd", "Eligible", &sub_id, &bob, Some(year.clone()));
    directory_role["roleDefinitionId"] = json!(USER_ADMINISTRATOR);
    let (status, r) = post(&pim, "/roleAssignmentRequests", &admin, directory_role).await;
    assert_graph_error(status, &r, 400, "RoleNotFound");
    // Under resources/{id}, the body must name that resource.
    let other = body("AdminAdd", "Eligible", &web_id, &bob, Some(year.clone()));
    let (status, r) = post(&pim, &format!("/resources/{sub_id}/roleAssignmentRequests"), &admin, other).await;
    assert_graph_error(status, &r, 400, "ResourceNotFound");
    // A malformed body.
    let (status, r) = post(&pim, "/roleAssignmentRequests", &admin, json!({"resourceId": 7})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{r}");
    let of_bob = format!("{AZ}/resources/{sub_id}/roleAssignments?$filter=subjectId eq '{bob}'");
    assert!(pim.list(&of_bob, &admin).await.is_empty());

    // A role setting PATCH with an unknown rule changes nothing.
    let path = format!("{AZ}/resources/{sub_id}/roleSettings?$filter=roleDefinitionId eq '{CONTRIBUTOR}'");
    let id = pim.list(&path, &admin).await[0]["id"].as_str().unwrap().to_string();
    let bad = json!({"userMemberSettings": [{"ruleIdentifier": "NoSuchRule", "setting": "{}"}]});
    let (status, r) = pim.client.patch(&format!("{AZ}/roleSettings/{id}"), &admin, bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{r}");
    assert_eq!(pim.list(&path, &admin).await[0]["isDefault"], true);

    // export(): the resource's assignments as CSV: the admin's own (User Access Administrator
    // inherited from `/`, Owner of the subscription), none of bob's.
    let resp = pim
        .client
        .http
        .get(pim.client.url(&format!("{AZ}/resources/{sub_id}/roleAssignments/export()")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let csv = resp.text().await.unwrap();
    assert!(csv.starts_with("id,resourceId,roleDefinitionId,subjectId"), "{csv}");
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.contains(",Inherited,") && csv.contains(",Direct,") && !csv.contains(&bob), "{csv}");
    pim.stop().await;
}
