//! ARM role settings (issue #16): `roleManagementPolicies` and `roleManagementPolicyAssignments`
//! per (role, scope): Azure's defaults on a fresh scope, a stable policy name, PATCH merged by
//! rule id and validated, settings not inherited down the hierarchy, DELETE back to the
//! defaults, the `$filter` on role definition id, and Azure RBAC on each operation (refusals
//! audited). SQLite always; PostgreSQL too when `OPENPIM_TEST_POSTGRES_URL` is set.

use crate::common;

use common::arm::{arm, arm_admin_token, arm_token_for, assert_arm_error};
use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const SUB: &str = "5d3c1a2b-0000-4000-8000-00000000b161";
const V: &str = "api-version=2020-10-01";
const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";

fn sub() -> String {
    format!("/subscriptions/{SUB}")
}

fn rg() -> String {
    format!("/subscriptions/{SUB}/resourceGroups/web")
}

fn role_id(role: &str) -> String {
    format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}")
}

fn guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn assign(ts: &TestServer, token: &str, scope: &str, role: &str, principal: &str) {
    let body = json!({"properties": {"roleDefinitionId": role_id(role), "principalId": principal}});
    let path = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{}?api-version=2022-04-01", guid());
    let r = arm(ts, Method::PUT, &path, Some(token), Some(&body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "assign {role} at {scope}: {}", r.body);
}

/// The admin elevates, registers the subscription, owns it and creates the resource group.
async fn setup(ts: &TestServer) -> String {
    let admin = arm_admin_token(ts);
    let r = arm(
        ts,
        Method::POST,
        "/providers/Microsoft.Authorization/elevateAccess?api-version=2016-07-01",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let (status, body) = ts
        .client
        .call(
            Method::PUT,
            &format!("/openpim/azure/subscriptions/{SUB}"),
            &ts.admin_token(),
            Some(&json!({"displayName": "Pay-As-You-Go"})),
        )
        .await;
    assert!(status.is_success(), "{body}");
    assign(ts, &admin, &sub(), OWNER, &ts.admin_id).await;
    let r = arm(
        ts,
        Method::PUT,
        &format!("{}?api-version=2021-04-01", rg()),
        Some(&admin),
        Some(&json!({"location": "westeurope"})),
    )
    .await;
    assert!(r.status.is_success(), "{}", r.body);
    admin
}

fn policies(scope: &str) -> String {
    format!("{scope}/providers/Microsoft.Authorization/roleManagementPolicies")
}

/// The policy of `role` at `scope`, through the documented `$filter`.
async fn policy_of(ts: &TestServer, token: &str, scope: &str, role: &str) -> Value {
    let path = format!("{}?{V}&$filter=roleDefinitionId%20eq%20'{}'", policies(scope), role_id(role));
    let r = arm(ts, Method::GET, &path, Some(token), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let value = r.body["value"].as_array().expect("value").clone();
    assert_eq!(value.len(), 1, "one policy per role at a scope: {}", r.body);
    value[0].clone()
}

fn rule<'a>(policy: &'a Value, id: &str) -> &'a Value {
    policy["properties"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("{id} in {policy}"))
}

#[tokio::test]
async fn defaults_patch_merge_validation_and_no_inheritance() {
    let ts = TestServer::start().await;
    let admin = setup(&ts).await;

    // A fresh scope answers Azure's defaults: 17 rules in ARM's order, nobody changed them.
    let p = policy_of(&ts, &admin, &sub(), READER).await;
    let name = p["name"].as_str().unwrap().to_string();
    assert!(uuid::Uuid::try_parse(&name).is_ok(), "{name}");
    assert_eq!(p["id"], format!("{}/{name}", policies(&sub())));
    assert_eq!(p["type"], "Microsoft.Authorization/RoleManagementPolicies");
    let props = &p["properties"];
    assert_eq!(props["scope"], sub());
    let ids: Vec<&str> = props["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 17);
    assert_eq!(ids[0], "Enablement_Admin_Eligibility");
    assert_eq!(ids[10], "Approval_EndUser_Assignment");
    assert_eq!(ids[16], "Notification_Approver_EndUser_Assignment");
    assert_eq!(props["effectiveRules"], props["rules"]);
    assert!(props["lastModifiedBy"].is_null() && props["lastModifiedDateTime"].is_null(), "{props}");
    assert_eq!(
        props["policyProperties"]["scope"],
        json!({"id": sub(), "displayName": "Pay-As-You-Go", "type": "subscription"})
    );
    let activation = rule(&p, "Expiration_EndUser_Assignment");
    assert_eq!(
        (activation["isExpirationRequired"].as_bool(), activation["maximumDuration"].as_str()),
        (Some(true), Some("PT8H"))
    );
    assert_eq!(activation["ruleType"], "RoleManagementPolicyExpirationRule");
    assert_eq!(
        activation["target"],
        json!({"caller": "EndUser", "operations": ["All"], "level": "Assignment", "targetObjects": null, "inheritableSettings": null, "enforcedSettings": null})
    );
    assert_eq!(rule(&p, "Expiration_Admin_Eligibility")["maximumDuration"], "P365D");
    assert_eq!(rule(&p, "Expiration_Admin_Assignment")["maximumDuration"], "P180D");
    assert_eq!(rule(&p, "Enablement_EndUser_Assignment")["enabledRules"], json!(["Justification"]));
    assert_eq!(rule(&p, "Approval_EndUser_Assignment")["setting"]["isApprovalRequired"], false);
    assert_eq!(rule(&p, "AuthenticationContext_EndUser_Assignment")["claimValue"], "");

    // GET by name answers the same policy; the name is stable; other roles and scopes differ.
    let by_name = format!("{}/{name}?{V}", policies(&sub()));
    let r = arm(&ts, Method::GET, &by_name, Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, p);
    assert_eq!(policy_of(&ts, &admin, &sub(), READER).await["name"], name.as_str());
    let rg_policy = policy_of(&ts, &admin, &rg(), READER).await;
    assert_ne!(rg_policy["name"], name.as_str());
    assert_ne!(policy_of(&ts, &admin, &sub(), CONTRIBUTOR).await["name"], name.as_str());
    // ARM compares scopes ignoring case: one policy whatever the spelling.
    let upper = format!(
        "/subscriptions/{}/providers/Microsoft.Authorization/roleManagementPolicies/{name}?{V}",
        SUB.to_uppercase()
    );
    assert_eq!(arm(&ts, Method::GET, &upper, Some(&admin), None).await.status, StatusCode::OK);

    // A partial PATCH (the spec's PatchPartialRoleManagementPolicy) merges by rule id.
    let patch = json!({"properties": {"rules": [
        {"id": "Expiration_EndUser_Assignment", "ruleType": "RoleManagementPolicyExpirationRule",
         "isExpirationRequired": true, "maximumDuration": "PT2H",
         "target": {"caller": "EndUser", "operations": ["All"], "level": "Assignment", "targetObjects": null, "inheritableSettings": null, "enforcedSettings": null}},
        {"id": "Enablement_EndUser_Assignment", "ruleType": "RoleManagementPolicyEnablementRule",
         "enabledRules": ["Justification", "Ticketing"],
         "target": {"caller": "EndUser", "operations": ["All"], "level": "Assignment"}}
    ]}});
    let r = arm(&ts, Method::PATCH, &by_name, Some(&admin), Some(&patch)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let patched = r.body.clone();
    assert_eq!(patched["name"], name.as_str());
    assert_eq!(rule(&patched, "Expiration_EndUser_Assignment")["maximumDuration"], "PT2H");
    assert_eq!(rule(&patched, "Enablement_EndUser_Assignment")["enabledRules"], json!(["Justification", "Ticketing"]));
    let changed: Vec<&str> = patched["properties"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .zip(p["properties"]["rules"].as_array().unwrap())
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        changed,
        ["Enablement_EndUser_Assignment", "Expiration_EndUser_Assignment"],
        "only the named rules change"
    );
    assert_eq!(patched["properties"]["lastModifiedBy"]["id"], ts.admin_id.as_str());
    assert!(patched["properties"]["lastModifiedDateTime"].is_string());
    assert_eq!(patched["properties"]["effectiveRules"], patched["properties"]["rules"]);
    let r = arm(&ts, Method::GET, &by_name, Some(&admin), None).await;
    assert_eq!(r.body, patched, "GET answers what PATCH stored");

    // Not inherited: the resource group below keeps Azure's defaults.
    let below = policy_of(&ts, &admin, &rg(), READER).await;
    assert_eq!(rule(&below, "Expiration_EndUser_Assignment")["maximumDuration"], "PT8H");
    assert!(below["properties"]["lastModifiedBy"].is_null());
    assert_eq!(below["properties"]["policyProperties"]["scope"]["type"], "resourcegroup");

    // Bad PATCHes are 400s in ARM's shape and change nothing.
    let one = |r: Value| json!({"properties": {"rules": [r]}});
    let exp = |d: &str| {
        one(
            json!({"id": "Expiration_EndUser_Assignment", "ruleType": "RoleManagementPolicyExpirationRule", "isExpirationRequired": true, "maximumDuration": d}),
        )
    };
    let approver = |id: &str| {
        one(json!({"id": "Approval_EndUser_Assignment", "ruleType": "RoleManagementPolicyApprovalRule", "setting": {
        "isApprovalRequired": true, "isApprovalRequiredForExtension": false, "isRequestorJustificationRequired": true, "approvalMode": "SingleStage",
        "approvalStages": [{"approvalStageTimeOutInDays": 1, "isApproverJustificationRequired": true, "escalationTimeInMinutes": 0, "isEscalationEnabled": false,
            "primaryApprovers": [{"id": id, "userType": "User", "isBackup": false, "description": "x"}]}]}}))
    };
    let no_approvers = one(
        json!({"id": "Approval_EndUser_Assignment", "ruleType": "RoleManagementPolicyApprovalRule", "setting": {
        "isApprovalRequired": true, "approvalMode": "SingleStage", "approvalStages": [{"approvalStageTimeOutInDays": 1, "primaryApprovers": []}]}}),
    );
    for (body, code) in [
        (exp("PT25H"), "InvalidPolicyRule"),
        (exp("PT1M"), "InvalidPolicyRule"),
        (exp("eight hours"), "InvalidRequestContent"),
        (
            one(json!({"id": "Expiration_Nobody", "ruleType": "RoleManagementPolicyExpirationRule"})),
            "InvalidPolicyRule",
        ),
        (
            one(json!({"id": "Expiration_EndUser_Assignment", "ruleType": "RoleManagementPolicyEnablementRule"})),
            "InvalidPolicyRule",
        ),
        (
            one(
                json!({"id": "Enablement_EndUser_Assignment", "ruleType": "RoleManagementPolicyEnablementRule", "enabledRules": ["Telepathy"]}),
            ),
            "InvalidRequestContent",
        ),
        (
            one(
                json!({"id": "Expiration_EndUser_Assignment", "ruleType": "RoleManagementPolicyExpirationRule", "surprise": 1}),
            ),
            "InvalidRequestContent",
        ),
        (approver(&guid()), "InvalidPolicyRule"),
        (no_approvers, "InvalidPolicyRule"),
        (json!({"properties": {}}), "InvalidRequestContent"),
    ] {
        let r = arm(&ts, Method::PATCH, &by_name, Some(&admin), Some(&body)).await;
        assert_arm_error(&r, 400, code);
    }
    assert_eq!(
        arm(&ts, Method::GET, &by_name, Some(&admin), None).await.body,
        patched,
        "refused PATCHes changed nothing"
    );

    // An approver who exists: approval required at this scope only.
    let approver_id = ts.create_user("approver@contoso.com").await;
    let r = arm(&ts, Method::PATCH, &by_name, Some(&admin), Some(&approver(&approver_id))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let stage = &rule(&r.body, "Approval_EndUser_Assignment")["setting"]["approvalStages"][0];
    assert_eq!(stage["primaryApprovers"][0]["id"], approver_id.as_str());
    assert_eq!(stage["primaryApprovers"][0]["userType"], "User");
    assert_eq!(rule(&r.body, "Expiration_EndUser_Assignment")["maximumDuration"], "PT2H", "earlier changes stay");

    // Unknown names; a filter OpenPIM cannot read.
    let missing = format!("{}/{}?{V}", policies(&sub()), guid());
    assert_arm_error(&arm(&ts, Method::GET, &missing, Some(&admin), None).await, 404, "RoleManagementPolicyNotFound");
    let bad_filter = format!("{}?{V}&$filter=displayName%20eq%20'x'", policies(&sub()));
    assert_arm_error(&arm(&ts, Method::GET, &bad_filter, Some(&admin), None).await, 400, "InvalidFilter");
    let nowhere = format!("{}?{V}", policies(&format!("{}/resourceGroups/ghost", sub())));
    assert_arm_error(&arm(&ts, Method::GET, &nowhere, Some(&admin), None).await, 404, "ResourceGroupNotFound");

    // The unfiltered list has a policy per role, paged.
    let r = arm(&ts, Method::GET, &format!("{}?{V}", policies(&sub())), Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["value"].as_array().unwrap().len(), 50);
    let next = r.body["nextLink"].as_str().expect("a next link").to_string();
    let next_path = next.strip_prefix(&ts.base).expect("the server's own origin");
    let r2 = arm(&ts, Method::GET, next_path, Some(&admin), None).await;
    assert_eq!(r2.status, StatusCode::OK, "{}", r2.body);
    let first: Vec<&Value> = r.body["value"].as_array().unwrap().iter().map(|p| &p["name"]).collect();
    assert!(r2.body["value"].as_array().unwrap().iter().all(|p| !first.contains(&&p["name"])), "pages do not repeat");

    // DELETE resets to Azure's defaults (200), then there is nothing to delete (204).
    let r = arm(&ts, Method::DELETE, &by_name, Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, p, "back to the defaults");
    let r = arm(&ts, Method::DELETE, &by_name, Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    ts.stop().await;
}

#[tokio::test]
async fn policy_assignments_name_each_role_and_scope() {
    let ts = TestServer::start().await;
    let admin = setup(&ts).await;
    let p = policy_of(&ts, &admin, &sub(), READER).await;
    let policy = p["name"].as_str().unwrap().to_string();
    let assignments = format!("{}/providers/Microsoft.Authorization/roleManagementPolicyAssignments", sub());

    // The list filter (clients send the role id with raw slashes) keeps one role's assignment.
    let r = arm(
        &ts,
        Method::GET,
        &format!("{assignments}?{V}&$filter=roleDefinitionId eq '{}'", role_id(READER)),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let value = r.body["value"].as_array().unwrap();
    assert_eq!(value.len(), 1);
    let a = &value[0];
    let name = format!("{policy}_{READER}");
    assert_eq!(a["name"], name.as_str());
    assert_eq!(a["id"], format!("{assignments}/{name}"));
    assert_eq!(a["properties"]["scope"], sub());
    assert_eq!(a["properties"]["roleDefinitionId"], role_id(READER));
    assert_eq!(a["properties"]["policyId"], p["id"]);
    assert_eq!(a["properties"]["effectiveRules"], p["properties"]["rules"]);
    let info = &a["properties"]["policyAssignmentProperties"];
    assert_eq!(info["roleDefinition"]["displayName"], "Reader");
    assert_eq!(info["roleDefinition"]["type"], "BuiltInRole");
    assert_eq!(info["policy"]["id"], p["id"]);

    let r = arm(&ts, Method::GET, &format!("{assignments}/{name}?{V}"), Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(&r.body, a);
    let wrong = format!("{assignments}/{}_{READER}?{V}", guid());
    assert_arm_error(
        &arm(&ts, Method::GET, &wrong, Some(&admin), None).await,
        404,
        "RoleManagementPolicyAssignmentNotFound",
    );

    // PUT confirms the assignment (201, as the SDK expects); another scope's policy is refused.
    let body = json!({"properties": {"scope": sub(), "roleDefinitionId": role_id(READER), "policyId": p["id"]}});
    let r = arm(&ts, Method::PUT, &format!("{assignments}/{name}?{V}"), Some(&admin), Some(&body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(&r.body, a);
    let rg_policy = policy_of(&ts, &admin, &rg(), READER).await;
    let foreign =
        json!({"properties": {"scope": sub(), "roleDefinitionId": role_id(READER), "policyId": rg_policy["id"]}});
    let foreign_name = format!("{}_{READER}", rg_policy["name"].as_str().unwrap());
    let r = arm(&ts, Method::PUT, &format!("{assignments}/{foreign_name}?{V}"), Some(&admin), Some(&foreign)).await;
    assert_arm_error(&r, 400, "InvalidRoleManagementPolicyAssignment");

    // A changed policy shows in its assignment; DELETE of the assignment resets it.
    let patch = json!({"properties": {"rules": [{"id": "Expiration_EndUser_Assignment", "ruleType": "RoleManagementPolicyExpirationRule", "maximumDuration": "PT1H"}]}});
    let r = arm(&ts, Method::PATCH, &format!("{}?{V}", p["id"].as_str().unwrap()), Some(&admin), Some(&patch)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = arm(&ts, Method::GET, &format!("{assignments}/{name}?{V}"), Some(&admin), None).await;
    let effective = r.body["properties"]["effectiveRules"].as_array().unwrap();
    assert!(
        effective.iter().any(|r| r["id"] == "Expiration_EndUser_Assignment" && r["maximumDuration"] == "PT1H"),
        "{}",
        r.body
    );
    assert_eq!(
        r.body["properties"]["policyAssignmentProperties"]["policy"]["lastModifiedBy"]["id"],
        ts.admin_id.as_str()
    );
    let r = arm(&ts, Method::DELETE, &format!("{assignments}/{name}?{V}"), Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(&r.body, a, "the default policy again");
    assert_eq!(
        arm(&ts, Method::DELETE, &format!("{assignments}/{name}?{V}"), Some(&admin), None).await.status,
        StatusCode::NO_CONTENT
    );
    ts.stop().await;
}

#[tokio::test]
async fn readers_read_owners_write_and_refusals_are_audited() {
    let ts = TestServer::start().await;
    let admin = setup(&ts).await;
    let reader_id = ts.create_user("reader@contoso.com").await;
    ts.create_user("nobody@contoso.com").await;
    assign(&ts, &admin, &sub(), READER, &reader_id).await;
    let reader = arm_token_for(&ts, "reader@contoso.com");
    let nobody = arm_token_for(&ts, "nobody@contoso.com");

    let p = policy_of(&ts, &reader, &sub(), CONTRIBUTOR).await;
    let by_name = format!("{}?{V}", p["id"].as_str().unwrap());
    assert_eq!(arm(&ts, Method::GET, &by_name, Some(&reader), None).await.status, StatusCode::OK);
    assert_arm_error(&arm(&ts, Method::GET, &by_name, Some(&nobody), None).await, 403, "AuthorizationFailed");
    let list = format!("{}?{V}", policies(&sub()));
    assert_arm_error(&arm(&ts, Method::GET, &list, Some(&nobody), None).await, 403, "AuthorizationFailed");

    let patch = json!({"properties": {"rules": [{"id": "Expiration_EndUser_Assignment", "ruleType": "RoleManagementPolicyExpirationRule", "maximumDuration": "PT1H"}]}});
    let r = arm(&ts, Method::PATCH, &by_name, Some(&reader), Some(&patch)).await;
    assert_arm_error(&r, 403, "AuthorizationFailed");
    assert!(
        r.body["error"]["message"].as_str().unwrap().contains("Microsoft.Authorization/roleManagementPolicies/write"),
        "{}",
        r.body
    );
    assert_arm_error(&arm(&ts, Method::DELETE, &by_name, Some(&reader), None).await, 403, "AuthorizationFailed");
    let assignment = format!(
        "{}/providers/Microsoft.Authorization/roleManagementPolicyAssignments/{}_{CONTRIBUTOR}?{V}",
        sub(),
        p["name"].as_str().unwrap()
    );
    assert_arm_error(&arm(&ts, Method::DELETE, &assignment, Some(&reader), None).await, 403, "AuthorizationFailed");
    assert_eq!(arm(&ts, Method::GET, &by_name, Some(&admin), None).await.body, p, "nothing changed");

    // The owner's change and a refused bad body are audited too.
    assert_eq!(arm(&ts, Method::PATCH, &by_name, Some(&admin), Some(&patch)).await.status, StatusCode::OK);
    let bad = json!({"properties": {"rules": [{"id": "Expiration_EndUser_Assignment", "ruleType": "RoleManagementPolicyExpirationRule", "maximumDuration": "P2D"}]}});
    assert_arm_error(&arm(&ts, Method::PATCH, &by_name, Some(&admin), Some(&bad)).await, 400, "InvalidPolicyRule");
    let (status, logs) = ts.client.get("/v1.0/auditLogs/directoryAudits?$top=200", &ts.admin_token()).await;
    assert_eq!(status, StatusCode::OK, "{logs}");
    let entries: Vec<&Value> = logs["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["activityDisplayName"] == "Update role setting in PIM")
        .collect();
    let count = |result: &str| entries.iter().filter(|e| e["result"] == result).count();
    assert_eq!(count("failure"), 4, "three refusals of the reader and the bad body: {entries:?}");
    assert_eq!(count("success"), 1);
    let success = entries.iter().find(|e| e["result"] == "success").unwrap();
    let text = success.to_string();
    assert!(text.contains("Expiration_EndUser_Assignment.maximumDuration") && text.contains("PT1H"), "{text}");
    ts.stop().await;
}
