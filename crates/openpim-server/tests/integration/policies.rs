//! Role management policies over HTTP: one policy per role under both scope types, the 17 rules
//! with Entra's ids and defaults, policy assignments with nested `$expand`, custom roles getting
//! (and losing) their policy, rule PATCHes and their effect on schedule requests, and the
//! validation that keeps nonsense out of the rules.

use crate::common;
use crate::pim;

use common::{assert_graph_error, GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR};
use pim::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

/// Security Reader: reads PIM settings (`privilegedIdentityManagement/allProperties/read`).
const SECURITY_READER: &str = "5d6b6bb7-de71-4623-b4af-96380a352509";
const POLICIES: &str = "/v1.0/policies/roleManagementPolicies";
const POLICY_ASSIGNMENTS: &str = "/v1.0/policies/roleManagementPolicyAssignments";
const ROLE_DEFINITIONS: &str = "/v1.0/roleManagement/directory/roleDefinitions";
const DIRECTORY_ROLE_FILTER: &str = "$filter=scopeId eq '/' and scopeType eq 'DirectoryRole'";
const DIRECTORY_FILTER: &str = "$filter=scopeId eq '/' and scopeType eq 'Directory'";

const EXPIRATION: &str = "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule";
const ENABLEMENT: &str = "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule";
const APPROVAL: &str = "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule";
const AUTH_CONTEXT: &str = "#microsoft.graph.unifiedRoleManagementPolicyAuthenticationContextRule";
const NOTIFICATION: &str = "#microsoft.graph.unifiedRoleManagementPolicyNotificationRule";

/// The 17 rule ids of a directory-role policy, with their `@odata.type`, caller and level.
const RULES: [(&str, &str, &str, &str); 17] = [
    ("Expiration_Admin_Eligibility", EXPIRATION, "Admin", "Eligibility"),
    ("Enablement_Admin_Eligibility", ENABLEMENT, "Admin", "Eligibility"),
    ("Notification_Admin_Admin_Eligibility", NOTIFICATION, "Admin", "Eligibility"),
    ("Notification_Requestor_Admin_Eligibility", NOTIFICATION, "Admin", "Eligibility"),
    ("Notification_Approver_Admin_Eligibility", NOTIFICATION, "Admin", "Eligibility"),
    ("Expiration_Admin_Assignment", EXPIRATION, "Admin", "Assignment"),
    ("Enablement_Admin_Assignment", ENABLEMENT, "Admin", "Assignment"),
    ("Notification_Admin_Admin_Assignment", NOTIFICATION, "Admin", "Assignment"),
    ("Notification_Requestor_Admin_Assignment", NOTIFICATION, "Admin", "Assignment"),
    ("Notification_Approver_Admin_Assignment", NOTIFICATION, "Admin", "Assignment"),
    ("Expiration_EndUser_Assignment", EXPIRATION, "EndUser", "Assignment"),
    ("Enablement_EndUser_Assignment", ENABLEMENT, "EndUser", "Assignment"),
    ("Approval_EndUser_Assignment", APPROVAL, "EndUser", "Assignment"),
    ("AuthenticationContext_EndUser_Assignment", AUTH_CONTEXT, "EndUser", "Assignment"),
    ("Notification_Admin_EndUser_Assignment", NOTIFICATION, "EndUser", "Assignment"),
    ("Notification_Requestor_EndUser_Assignment", NOTIFICATION, "EndUser", "Assignment"),
    ("Notification_Approver_EndUser_Assignment", NOTIFICATION, "EndUser", "Assignment"),
];

// ---------------------------------------------------------------- helpers

/// Every item of a collection, following next links.
async fn list_all(pim: &Pim, path: &str, token: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut next = Some(path.to_string());
    while let Some(url) = next {
        let (status, body) = pim.client.get(&url, token).await;
        assert_eq!(status, StatusCode::OK, "GET {url}: {body}");
        items.extend(body["value"].as_array().unwrap_or_else(|| panic!("not a collection: {body}")).iter().cloned());
        next = body["@odata.nextLink"].as_str().map(str::to_string);
    }
    items
}

/// The DirectoryRole policy id of `role`, through its policy assignment.
async fn policy_id(pim: &Pim, role: &str) -> String {
    let path = format!("{POLICY_ASSIGNMENTS}?{DIRECTORY_ROLE_FILTER} and roleDefinitionId eq '{role}'");
    let rows = pim.list(&path, &pim.admin_token()).await;
    assert_eq!(rows.len(), 1, "one policy assignment for {role}: {rows:?}");
    rows[0]["policyId"].as_str().expect("policyId").to_string()
}

fn rule_path(policy: &str, rule: &str) -> String {
    format!("{POLICIES}/{policy}/rules/{rule}")
}

async fn get_rule(pim: &Pim, policy: &str, rule: &str) -> Value {
    let (status, body) = pim.client.get(&rule_path(policy, rule), &pim.admin_token()).await;
    assert_eq!(status, StatusCode::OK, "GET rule {rule}: {body}");
    body
}

/// All rules of a policy, without OData annotations (for before/after comparisons).
async fn rules_of(pim: &Pim, policy: &str) -> Vec<Value> {
    pim.list(&format!("{POLICIES}/{policy}/rules"), &pim.admin_token()).await
}

async fn patch_rule(pim: &Pim, token: &str, policy: &str, rule: &str, body: Value) -> (StatusCode, Value) {
    pim.client.patch(&rule_path(policy, rule), token, body).await
}

/// PATCH as the admin; must answer 204 with no body.
async fn patch_rule_ok(pim: &Pim, policy: &str, rule: &str, body: Value) {
    let (status, resp) = patch_rule(pim, &pim.admin_token(), policy, rule, body).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "PATCH {rule}: {resp}");
    assert_eq!(resp, Value::Null, "204 has no body");
}

fn target(caller: &str, level: &str) -> Value {
    json!({"@odata.type": "microsoft.graph.unifiedRoleManagementPolicyRuleTarget", "caller": caller,
           "operations": ["All"], "level": level, "inheritableSettings": [], "enforcedSettings": []})
}

fn enablement(id: &str, caller: &str, level: &str, enabled: &[&str]) -> Value {
    json!({"@odata.type": ENABLEMENT, "id": id, "enabledRules": enabled, "target": target(caller, level)})
}

fn expiration(id: &str, caller: &str, level: &str, required: bool, max: &str) -> Value {
    json!({"@odata.type": EXPIRATION, "id": id, "isExpirationRequired": required, "maximumDuration": max,
           "target": target(caller, level)})
}

fn approval_rule(required: bool, approvers: Value) -> Value {
    json!({
        "@odata.type": APPROVAL,
        "id": "Approval_EndUser_Assignment",
        "target": target("EndUser", "Assignment"),
        "setting": {
            "isApprovalRequired": required,
            "isApprovalRequiredForExtension": false,
            "isRequestorJustificationRequired": true,
            "approvalMode": "SingleStage",
            "approvalStages": [{
                "approvalStageTimeOutInDays": 1,
                "isApproverJustificationRequired": true,
                "escalationTimeInMinutes": 0,
                "isEscalationEnabled": false,
                "primaryApprovers": approvers,
                "escalationApprovers": []
            }]
        }
    })
}

/// A token with the given MFA and authentication-context claims.
fn token_with(pim: &Pim, upn: &str, mfa: bool, acrs: &[&str]) -> String {
    common::mint_for_upn(&pim.server, upn, mfa, acrs, OffsetDateTime::now_utc(), std::time::Duration::from_secs(3600))
}

/// Asserts a 400 `RoleAssignmentRequestPolicyValidationFailed` naming `rule`.
#[track_caller]
fn assert_policy_failure(status: StatusCode, body: &Value, rule: &str) {
    assert_graph_error(status, body, 400, "RoleAssignmentRequestPolicyValidationFailed");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(&format!("\"{rule}\"")), "message should name {rule}: {message}");
}

/// A user eligible for User Administrator; returns (id, MFA token, UPN).
async fn eligible_user(pim: &Pim, name: &str) -> (String, String, String) {
    let (id, token) = pim.user(name).await;
    pim.make_eligible(&id, USER_ADMINISTRATOR).await;
    (id, token, format!("{name}@openpim.test"))
}

// ---------------------------------------------------------------- reading policies

#[tokio::test]
async fn every_role_has_one_policy_under_each_scope_type() {
    let pim = Pim::start().await;
    let admin = pim.admin_token();
    let roles = list_all(&pim, ROLE_DEFINITIONS, &admin).await;
    assert!(roles.len() > 20, "the built-in catalog: {}", roles.len());

    let policies = list_all(&pim, &format!("{POLICIES}?{DIRECTORY_ROLE_FILTER}"), &admin).await;
    assert_eq!(policies.len(), roles.len(), "one DirectoryRole policy per role definition");
    let mut seen = std::collections::HashSet::new();
    for p in &policies {
        let id = p["id"].as_str().unwrap();
        assert!(id.starts_with("DirectoryRole_"), "{id}");
        assert!(seen.insert(id.to_string()), "duplicate policy id {id}");
        assert_eq!(p["scopeId"], "/", "{p}");
        assert_eq!(p["scopeType"], "DirectoryRole", "{p}");
        assert_eq!(p["isOrganizationDefault"], false, "{p}");
        assert_eq!(p["lastModifiedDateTime"], Value::Null, "{p}");
        assert_eq!(p["lastModifiedBy"], json!({"displayName": null, "id": null}), "{p}");
        assert!(p.get("rules").is_none(), "rules only with $expand: {p}");
    }

    let directory = list_all(&pim, &format!("{POLICIES}?{DIRECTORY_FILTER}"), &admin).await;
    assert_eq!(directory.len(), roles.len(), "one Directory policy per role definition");
    for p in &directory {
        let id = p["id"].as_str().unwrap();
        assert!(id.starts_with("Directory_") && !id.starts_with("DirectoryRole_"), "{id}");
        assert_eq!(p["scopeType"], "Directory", "{p}");
        // The same policy, seen under its other prefix.
        let other = format!("DirectoryRole_{}", id.trim_start_matches("Directory_"));
        assert!(seen.contains(&other), "{id} has no DirectoryRole twin");
    }

    // Paging keeps the filter.
    let (status, page) = pim.client.get(&format!("{POLICIES}?{DIRECTORY_ROLE_FILTER}&$top=10"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["value"].as_array().map(Vec::len), Some(10), "{page}");
    assert!(page["@odata.nextLink"].is_string(), "{page}");
    let paged = list_all(&pim, &format!("{POLICIES}?{DIRECTORY_ROLE_FILTER}&$top=10"), &admin).await;
    assert_eq!(paged, policies, "the pages add up to the whole list");
    // Effective rules can be expanded too.
    let (status, body) =
        pim.client.get(&format!("{POLICIES}?{DIRECTORY_ROLE_FILTER}&$top=1&$expand=effectiveRules"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"][0]["effectiveRules"].as_array().map(Vec::len), Some(17), "{body}");

    // Graph requires the scope filter.
    let (status, body) = pim.client.get(POLICIES, &admin).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    let (status, body) = pim.client.get(&format!("{POLICIES}?$filter=scopeId eq '/'"), &admin).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    let (status, body) = pim.client.get(&format!("{POLICY_ASSIGNMENTS}?$expand=policy"), &admin).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    pim.stop().await;
}

#[tokio::test]
async fn expanded_policies_carry_the_seventeen_rules_with_entras_defaults() {
    let pim = Pim::start().await;
    let admin = pim.admin_token();
    let policies = list_all(&pim, &format!("{POLICIES}?{DIRECTORY_ROLE_FILTER}&$expand=rules"), &admin).await;
    assert!(!policies.is_empty());
    for p in &policies {
        let rules = p["rules"].as_array().unwrap_or_else(|| panic!("no rules in {p}"));
        assert_eq!(rules.len(), 17, "{}", p["id"]);
        let mut ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
        ids.sort_unstable();
        let mut expected: Vec<&str> = RULES.iter().map(|r| r.0).collect();
        expected.sort_unstable();
        assert_eq!(ids, expected, "{}", p["id"]);
        for (id, ty, caller, level) in RULES {
            let r = rules.iter().find(|r| r["id"] == id).unwrap();
            assert_eq!(r["@odata.type"], ty, "{r}");
            assert_eq!(r["target"]["caller"], caller, "{r}");
            assert_eq!(r["target"]["level"], level, "{r}");
            assert_eq!(r["target"]["operations"], json!(["all"]), "{r}");
            assert_eq!(r["target"]["inheritableSettings"], json!([]), "{r}");
            assert_eq!(r["target"]["enforcedSettings"], json!([]), "{r}");
        }
    }

    // The defaults, on Global Administrator's policy.
    let ga = policy_id(&pim, GLOBAL_ADMINISTRATOR).await;
    let p = policies.iter().find(|p| p["id"] == ga.as_str()).expect("GA policy listed");
    let rule = |id: &str| p["rules"].as_array().unwrap().iter().find(|r| r["id"] == id).unwrap().clone();
    let r = rule("Expiration_EndUser_Assignment");
    assert_eq!((r["isExpirationRequired"].clone(), r["maximumDuration"].clone()), (json!(true), json!("PT8H")));
    let r = rule("Expiration_Admin_Eligibility");
    assert_eq!((r["isExpirationRequired"].clone(), r["maximumDuration"].clone()), (json!(false), json!("P365D")));
    let r = rule("Expiration_Admin_Assignment");
    assert_eq!((r["isExpirationRequired"].clone(), r["maximumDuration"].clone()), (json!(false), json!("P180D")));
    assert_eq!(
        rule("Enablement_EndUser_Assignment")["enabledRules"],
        json!(["MultiFactorAuthentication", "Justification"])
    );
    assert_eq!(rule("Enablement_Admin_Assignment")["enabledRules"], json!(["Justification"]));
    assert_eq!(rule("Enablement_Admin_Eligibility")["enabledRules"], json!([]));
    let r = rule("Approval_EndUser_Assignment");
    assert_eq!(r["setting"]["isApprovalRequired"], false, "{r}");
    assert_eq!(r["setting"]["approvalMode"], "SingleStage", "{r}");
    let stages = r["setting"]["approvalStages"].as_array().unwrap();
    assert_eq!(stages.len(), 1, "{r}");
    assert_eq!(stages[0]["approvalStageTimeOutInDays"], 1, "{r}");
    let r = rule("AuthenticationContext_EndUser_Assignment");
    assert_eq!((r["isEnabled"].clone(), r["claimValue"].clone()), (json!(false), Value::Null));
    let r = rule("Notification_Approver_EndUser_Assignment");
    assert_eq!(r["notificationType"], "Email", "{r}");
    assert_eq!(r["recipientType"], "Approver", "{r}");
    assert_eq!(r["notificationLevel"], "All", "{r}");
    assert_eq!(r["isDefaultRecipientsEnabled"], true, "{r}");
    assert_eq!(r["notificationRecipients"], json!([]), "{r}");
    pim.stop().await;
}

#[tokio::test]
async fn policy_assignments_expand_the_policy_and_its_rules() {
    let pim = Pim::start().await;
    let admin = pim.admin_token();
    let path = format!(
        "{POLICY_ASSIGNMENTS}?{DIRECTORY_ROLE_FILTER} and roleDefinitionId eq '{GLOBAL_ADMINISTRATOR}'&$expand=policy($expand=rules)"
    );
    let (status, body) = pim.client.get(&path, &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ctx = body["@odata.context"].as_str().unwrap();
    assert!(ctx.ends_with("$metadata#policies/roleManagementPolicyAssignments(policy(rules()))"), "{ctx}");
    let rows = body["value"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{body}");
    let a = &rows[0];
    let policy = a["policyId"].as_str().unwrap().to_string();
    assert!(policy.starts_with("DirectoryRole_"), "{a}");
    assert_eq!(a["id"], format!("{policy}_{GLOBAL_ADMINISTRATOR}"), "{a}");
    assert_eq!(a["roleDefinitionId"], GLOBAL_ADMINISTRATOR, "{a}");
    assert_eq!(a["scopeId"], "/", "{a}");
    assert_eq!(a["scopeType"], "DirectoryRole", "{a}");
    assert_eq!(a["policy"]["id"], policy.as_str(), "{a}");
    assert_eq!(a["policy"]["rules"].as_array().map(Vec::len), Some(17), "{a}");

    // What Kiota sends: the whole query percent-encoded.
    let encoded = format!(
        "{POLICY_ASSIGNMENTS}?%24filter=scopeId%20eq%20%27%2F%27%20and%20scopeType%20eq%20%27DirectoryRole%27%20and%20\
         roleDefinitionId%20eq%20%27{GLOBAL_ADMINISTRATOR}%27&%24expand=policy%28%24expand%3Drules%29"
    );
    let (status, kiota) = pim.client.get(&encoded, &admin).await;
    assert_eq!(status, StatusCode::OK, "{kiota}");
    assert_eq!(kiota["@odata.context"], body["@odata.context"]);
    assert_eq!(kiota["value"], body["value"], "the encoded query means the same");
    let half = format!(
        "{POLICY_ASSIGNMENTS}?{DIRECTORY_ROLE_FILTER} and roleDefinitionId eq '{GLOBAL_ADMINISTRATOR}'&$expand=policy%28%24expand%3Drules%29"
    );
    let (status, kiota) = pim.client.get(&half, &admin).await;
    assert_eq!(status, StatusCode::OK, "{kiota}");
    assert_eq!(kiota["value"], body["value"]);

    // Without the nested expand: the policy only.
    let (status, plain) = pim
        .client
        .get(
            &format!("{POLICY_ASSIGNMENTS}?{DIRECTORY_ROLE_FILTER} and roleDefinitionId eq '{GLOBAL_ADMINISTRATOR}'"),
            &admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{plain}");
    assert!(
        plain["@odata.context"].as_str().unwrap().ends_with("#policies/roleManagementPolicyAssignments"),
        "{plain}"
    );
    assert!(plain["value"][0].get("policy").is_none(), "{plain}");

    // The assignment by id, expanded.
    let assignment_id = a["id"].as_str().unwrap();
    let (status, one) =
        pim.client.get(&format!("{POLICY_ASSIGNMENTS}/{assignment_id}?$expand=policy($expand=rules)"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert!(one["@odata.context"].as_str().unwrap().contains("roleManagementPolicyAssignments"), "{one}");
    assert_eq!(one["id"], assignment_id);
    assert_eq!(one["policyId"], policy.as_str());
    assert_eq!(one["policy"]["rules"].as_array().map(Vec::len), Some(17), "{one}");
    let (status, body) = pim.client.get(&format!("{POLICY_ASSIGNMENTS}/{policy}_{USER_ADMINISTRATOR}"), &admin).await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");
    let (status, body) = pim.client.get(&format!("{POLICY_ASSIGNMENTS}/nonsense"), &admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // The policy by id, with and without its rules.
    let (status, p) = pim.client.get(&format!("{POLICIES}/{policy}"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["id"], policy.as_str());
    assert_eq!(p["scopeType"], "DirectoryRole");
    assert!(p.get("rules").is_none(), "{p}");
    assert!(p["@odata.context"].as_str().unwrap().ends_with("#policies/roleManagementPolicies/$entity"), "{p}");
    let (status, p) = pim.client.get(&format!("{POLICIES}/{policy}?$expand=rules"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["rules"].as_array().map(Vec::len), Some(17), "{p}");
    let (status, body) = pim.client.get(&format!("{POLICIES}/DirectoryRole_nope"), &admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // Its rules, and one rule.
    let (status, rules) = pim.client.get(&format!("{POLICIES}/{policy}/rules"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{rules}");
    let ctx = rules["@odata.context"].as_str().unwrap();
    assert!(ctx.ends_with(&format!("#policies/roleManagementPolicies('{policy}')/rules")), "{ctx}");
    let list = rules["value"].as_array().unwrap();
    assert_eq!(list.len(), 17);
    assert_eq!(list, p["rules"].as_array().unwrap(), "the rules collection matches the expanded rules");
    let rule = get_rule(&pim, &policy, "Expiration_EndUser_Assignment").await;
    assert_eq!(rule["@odata.type"], EXPIRATION, "{rule}");
    assert_eq!(rule["id"], "Expiration_EndUser_Assignment");
    assert_eq!(rule["maximumDuration"], "PT8H");
    assert_eq!(rule["target"]["caller"], "EndUser");
    let (status, body) = pim.client.get(&rule_path(&policy, "Expiration_EndUser_Nothing"), &admin).await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");
    pim.stop().await;
}

#[tokio::test]
async fn a_custom_role_gets_its_own_policy_and_loses_it_when_deleted() {
    let pim = Pim::start().await;
    let admin = pim.admin_token();
    let list_path = format!("{POLICIES}?{DIRECTORY_ROLE_FILTER}");
    let before = list_all(&pim, &list_path, &admin).await.len();

    let (status, role) = pim
        .client
        .post(
            ROLE_DEFINITIONS,
            &admin,
            json!({"displayName": "App Updater", "description": "Updates apps", "isEnabled": true,
                   "rolePermissions": [{"allowedResourceActions": ["microsoft.directory/applications/basic/update"]}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    let role_id = role["id"].as_str().unwrap().to_string();

    let after = list_all(&pim, &list_path, &admin).await;
    assert_eq!(after.len(), before + 1, "the custom role has a policy");
    let policy = policy_id(&pim, &role_id).await;
    assert!(after.iter().any(|p| p["id"] == policy.as_str()));
    let rules = rules_of(&pim, &policy).await;
    assert_eq!(rules.len(), 17);
    let exp = rules.iter().find(|r| r["id"] == "Expiration_EndUser_Assignment").unwrap();
    assert_eq!(exp["maximumDuration"], "PT8H", "a new policy starts from the defaults");
    let (status, _) = pim.client.get(&format!("{POLICY_ASSIGNMENTS}/{policy}_{role_id}"), &admin).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = pim.client.delete(&format!("{ROLE_DEFINITIONS}/{role_id}"), &admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(list_all(&pim, &list_path, &admin).await.len(), before, "its policy went with it");
    let rows = pim
        .list(&format!("{POLICY_ASSIGNMENTS}?{DIRECTORY_ROLE_FILTER} and roleDefinitionId eq '{role_id}'"), &admin)
        .await;
    assert!(rows.is_empty(), "{rows:?}");
    let (status, body) = pim.client.get(&format!("{POLICIES}/{policy}"), &admin).await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");
    pim.stop().await;
}

// ---------------------------------------------------------------- rules in effect

#[tokio::test]
async fn the_docs_expiration_patch_caps_activation() {
    let pim = Pim::start().await;
    let policy = policy_id(&pim, USER_ADMINISTRATOR).await;
    let (bob, bob_t, _) = eligible_user(&pim, "bob").await;
    pim.advance(Duration::minutes(7));
    let patched_at = pim.now();

    // The request body of the Graph docs' example, verbatim.
    patch_rule_ok(
        &pim,
        &policy,
        "Expiration_EndUser_Assignment",
        json!({
            "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
            "id": "Expiration_EndUser_Assignment",
            "isExpirationRequired": true,
            "maximumDuration": "PT1H45M",
            "target": {
                "@odata.type": "microsoft.graph.unifiedRoleManagementPolicyRuleTarget",
                "caller": "EndUser",
                "operations": ["All"],
                "level": "Assignment",
                "inheritableSettings": [],
                "enforcedSettings": []
            }
        }),
    )
    .await;
    let rule = get_rule(&pim, &policy, "Expiration_EndUser_Assignment").await;
    assert_eq!(rule["maximumDuration"], "PT1H45M", "{rule}");
    assert_eq!(rule["isExpirationRequired"], true, "{rule}");
    assert_eq!(rule["@odata.type"], EXPIRATION, "{rule}");
    assert_eq!(rule["target"]["caller"], "EndUser", "{rule}");
    assert_eq!(rule["target"]["level"], "Assignment", "{rule}");
    assert_eq!(rule["target"]["operations"], json!(["all"]), "responses use lower-case operations: {rule}");

    let (status, p) = pim.client.get(&format!("{POLICIES}/{policy}"), &pim.admin_token()).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(at(&p["lastModifiedDateTime"]), patched_at, "{p}");
    assert_eq!(p["lastModifiedBy"]["id"], pim.admin_id.as_str(), "{p}");
    assert!(p["lastModifiedBy"]["displayName"].is_string(), "{p}");
    // The same policy under its Directory_ id shows the change too.
    let directory_id = format!("Directory_{}", policy.trim_start_matches("DirectoryRole_"));
    let (status, d) = pim.client.get(&format!("{POLICIES}/{directory_id}?$expand=rules"), &pim.admin_token()).await;
    assert_eq!(status, StatusCode::OK, "{d}");
    let exp = d["rules"].as_array().unwrap().iter().find(|r| r["id"] == "Expiration_EndUser_Assignment").unwrap();
    assert_eq!(exp["maximumDuration"], "PT1H45M");
    // Other roles keep their defaults.
    let ga = policy_id(&pim, GLOBAL_ADMINISTRATOR).await;
    assert_eq!(get_rule(&pim, &ga, "Expiration_EndUser_Assignment").await["maximumDuration"], "PT8H");

    let (status, body) = pim.activate(&bob_t, &bob, USER_ADMINISTRATOR, "PT2H").await;
    assert_policy_failure(status, &body, "ExpirationRule");
    assert!(pim.rows_of(ASSIGNMENT_INSTANCES, &bob).await.is_empty());
    let ok = pim.activate_ok(&bob_t, &bob, USER_ADMINISTRATOR, "PT1H").await;
    assert_eq!(ok["status"], "Provisioned", "{ok}");
    pim.stop().await;
}

#[tokio::test]
async fn enablement_rules_decide_ticketing_justification_and_mfa() {
    let pim = Pim::start().await;
    let policy = policy_id(&pim, USER_ADMINISTRATOR).await;
    let (bob, bob_t, bob_upn) = eligible_user(&pim, "bob").await;
    let (carol, carol_t, carol_upn) = eligible_user(&pim, "carol").await;

    // By default a session without MFA cannot activate.
    let (status, body) = pim.activate(&pim.token_without_mfa(&bob_upn), &bob, USER_ADMINISTRATOR, "PT1H").await;
    assert_policy_failure(status, &body, "MfaRule");

    patch_rule_ok(
        &pim,
        &policy,
        "Enablement_EndUser_Assignment",
        enablement("Enablement_EndUser_Assignment", "EndUser", "Assignment", &["Ticketing", "Justification"]),
    )
    .await;
    assert_eq!(
        get_rule(&pim, &policy, "Enablement_EndUser_Assignment").await["enabledRules"],
        json!(["Ticketing", "Justification"])
    );
    let (status, body) = pim.activate(&bob_t, &bob, USER_ADMINISTRATOR, "PT1H").await;
    assert_policy_failure(status, &body, "TicketingRule");
    // A ticket number without its system is not a ticket.
    let mut with_ticket = request("selfActivate", &bob, USER_ADMINISTRATOR, Some(for_duration(None, "PT1H")));
    with_ticket["ticketInfo"] = json!({"ticketNumber": "INC-4711"});
    let (status, body) = pim.assignment_request(&bob_t, with_ticket.clone()).await;
    assert_policy_failure(status, &body, "TicketingRule");
    // Without a justification both rules fail.
    let mut bare = with_ticket.clone();
    bare.as_object_mut().unwrap().remove("justification");
    bare.as_object_mut().unwrap().remove("ticketInfo");
    let (status, body) = pim.assignment_request(&bob_t, bare).await;
    assert_policy_failure(status, &body, "TicketingRule");
    assert_policy_failure(status, &body, "JustificationRule");
    // With a ticket, and from a session without MFA: MFA is no longer asked for.
    with_ticket["ticketInfo"] = json!({"ticketNumber": "INC-4711", "ticketSystem": "ServiceNow"});
    let (status, body) = pim.assignment_request(&pim.token_without_mfa(&bob_upn), with_ticket).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "Provisioned", "{body}");
    assert_eq!(body["ticketInfo"], json!({"ticketNumber": "INC-4711", "ticketSystem": "ServiceNow"}));

    // MFA only: a session without MFA fails, one with MFA needs neither ticket nor justification.
    patch_rule_ok(
        &pim,
        &policy,
        "Enablement_EndUser_Assignment",
        enablement("Enablement_EndUser_Assignment", "EndUser", "Assignment", &["MultiFactorAuthentication"]),
    )
    .await;
    let (status, body) = pim.activate(&pim.token_without_mfa(&carol_upn), &carol, USER_ADMINISTRATOR, "PT1H").await;
    assert_policy_failure(status, &body, "MfaRule");
    assert!(!body["error"]["message"].as_str().unwrap().contains("JustificationRule"), "{body}");
    let mut bare = request("selfActivate", &carol, USER_ADMINISTRATOR, Some(for_duration(None, "PT1H")));
    bare.as_object_mut().unwrap().remove("justification");
    let (status, body) = pim.assignment_request(&carol_t, bare).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "Provisioned", "{body}");
    pim.stop().await;
}

#[tokio::test]
async fn admin_rules_govern_admin_made_assignments() {
    let pim = Pim::start().await;
    let policy = policy_id(&pim, USER_ADMINISTRATOR).await;
    let admin = pim.admin_token();
    let (dave, _) = pim.user("dave").await;
    let (erin, _) = pim.user("erin").await;

    // Default: a permanent active assignment is allowed, but needs a justification.
    let mut unjustified = request("adminAssign", &erin, USER_ADMINISTRATOR, Some(no_expiration()));
    unjustified.as_object_mut().unwrap().remove("justification");
    let (status, body) = pim.assignment_request(&admin, unjustified.clone()).await;
    assert_policy_failure(status, &body, "JustificationRule");

    patch_rule_ok(
        &pim,
        &policy,
        "Expiration_Admin_Assignment",
        expiration("Expiration_Admin_Assignment", "Admin", "Assignment", true, "P30D"),
    )
    .await;
    let (status, body) =
        pim.assignment_request(&admin, request("adminAssign", &dave, USER_ADMINISTRATOR, Some(no_expiration()))).await;
    assert_policy_failure(status, &body, "ExpirationRule");
    let (status, body) = pim
        .assignment_request(&admin, request("adminAssign", &dave, USER_ADMINISTRATOR, Some(for_duration(None, "P31D"))))
        .await;
    assert_policy_failure(status, &body, "ExpirationRule");
    let (status, body) = pim
        .assignment_request(&admin, request("adminAssign", &dave, USER_ADMINISTRATOR, Some(for_duration(None, "P30D"))))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "Provisioned", "{body}");

    // Eligibility (a different target) is untouched: still may be permanent.
    pim.make_eligible(&dave, USER_ADMINISTRATOR).await;

    patch_rule_ok(
        &pim,
        &policy,
        "Enablement_Admin_Assignment",
        enablement("Enablement_Admin_Assignment", "Admin", "Assignment", &[]),
    )
    .await;
    unjustified["scheduleInfo"] = for_duration(None, "P7D");
    let (status, body) = pim.assignment_request(&admin, unjustified).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "Provisioned", "{body}");
    assert_eq!(body["justification"], Value::Null, "{body}");
    pim.stop().await;
}

#[tokio::test]
async fn an_authentication_context_rule_needs_the_acrs_claim() {
    let pim = Pim::start().await;
    let policy = policy_id(&pim, USER_ADMINISTRATOR).await;
    let (bob, bob_t, bob_upn) = eligible_user(&pim, "bob").await;
    patch_rule_ok(
        &pim,
        &policy,
        "AuthenticationContext_EndUser_Assignment",
        json!({"@odata.type": AUTH_CONTEXT, "id": "AuthenticationContext_EndUser_Assignment",
               "isEnabled": true, "claimValue": "c1", "target": target("EndUser", "Assignment")}),
    )
    .await;
    let rule = get_rule(&pim, &policy, "AuthenticationContext_EndUser_Assignment").await;
    assert_eq!((rule["isEnabled"].clone(), rule["claimValue"].clone()), (json!(true), json!("c1")));

    let (status, body) = pim.activate(&bob_t, &bob, USER_ADMINISTRATOR, "PT1H").await;
    assert_graph_error(status, &body, 400, "RoleAssignmentRequestAcrsValidationFailed");
    let (status, body) =
        pim.activate(&token_with(&pim, &bob_upn, true, &["c2"]), &bob, USER_ADMINISTRATOR, "PT1H").await;
    assert_graph_error(status, &body, 400, "RoleAssignmentRequestAcrsValidationFailed");
    assert!(!pim.allowed(&bob_t, CREATE_USERS).await);
    let (status, body) =
        pim.activate(&token_with(&pim, &bob_upn, true, &["c1"]), &bob, USER_ADMINISTRATOR, "PT1H").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "Provisioned", "{body}");
    assert!(pim.allowed(&bob_t, CREATE_USERS).await);
    pim.stop().await;
}

// ---------------------------------------------------------------- validation and permissions

#[tokio::test]
async fn invalid_rule_patches_are_refused_and_change_nothing() {
    let pim = Pim::start().await;
    let policy = policy_id(&pim, USER_ADMINISTRATOR).await;
    let admin = pim.admin_token();
    let (alice, _) = pim.user("alice").await;
    let before = rules_of(&pim, &policy).await;

    let end_user_expiration = |max: &str| {
        (
            "Expiration_EndUser_Assignment",
            expiration("Expiration_EndUser_Assignment", "EndUser", "Assignment", true, max),
        )
    };
    let single_user = |id: &str| json!([{"@odata.type": "#microsoft.graph.singleUser", "userId": id}]);
    let mut missing_type = expiration("Expiration_EndUser_Assignment", "EndUser", "Assignment", true, "PT4H");
    missing_type.as_object_mut().unwrap().remove("@odata.type");
    let mut moved_target = expiration("Expiration_EndUser_Assignment", "EndUser", "Assignment", true, "PT4H");
    moved_target["target"]["caller"] = json!("Admin");
    let cases: Vec<(&str, &str, Value)> = vec![
        ("negative duration", end_user_expiration("-PT1H").0, end_user_expiration("-PT1H").1),
        ("zero duration", end_user_expiration("PT0S").0, end_user_expiration("PT0S").1),
        ("four minutes", end_user_expiration("PT4M").0, end_user_expiration("PT4M").1),
        ("over 24 hours", end_user_expiration("PT25H").0, end_user_expiration("PT25H").1),
        ("two days", end_user_expiration("P2D").0, end_user_expiration("P2D").1),
        ("malformed duration", end_user_expiration("8 hours").0, end_user_expiration("8 hours").1),
        (
            "wrong @odata.type",
            "Expiration_EndUser_Assignment",
            json!({"@odata.type": ENABLEMENT, "id": "Expiration_EndUser_Assignment", "enabledRules": []}),
        ),
        ("missing @odata.type", "Expiration_EndUser_Assignment", missing_type),
        ("target moved to another caller", "Expiration_EndUser_Assignment", moved_target),
        (
            "mismatched id",
            "Expiration_EndUser_Assignment",
            expiration("Expiration_Admin_Assignment", "EndUser", "Assignment", true, "PT4H"),
        ),
        (
            "unknown enabled rule",
            "Enablement_EndUser_Assignment",
            enablement("Enablement_EndUser_Assignment", "EndUser", "Assignment", &["Justification", "Fingerprint"]),
        ),
        ("approval without approvers", "Approval_EndUser_Assignment", approval_rule(true, json!([]))),
        (
            "approver who does not exist",
            "Approval_EndUser_Assignment",
            approval_rule(true, single_user(&uuid::Uuid::new_v4().to_string())),
        ),
        (
            "approver that is a group id given as a user",
            "Approval_EndUser_Assignment",
            approval_rule(true, single_user(&pim.group("approvers", false).await)),
        ),
        (
            "requestorManager approvers",
            "Approval_EndUser_Assignment",
            approval_rule(true, json!([{"@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 1}])),
        ),
        ("stage timeout of zero days", "Approval_EndUser_Assignment", {
            let mut r = approval_rule(true, single_user(&alice));
            r["setting"]["approvalStages"][0]["approvalStageTimeOutInDays"] = json!(0);
            r
        }),
        ("negative escalation time", "Approval_EndUser_Assignment", {
            let mut r = approval_rule(true, single_user(&alice));
            r["setting"]["approvalStages"][0]["escalationTimeInMinutes"] = json!(-1);
            r
        }),
        ("unknown approval mode", "Approval_EndUser_Assignment", {
            let mut r = approval_rule(true, single_user(&alice));
            r["setting"]["approvalMode"] = json!("Sometimes");
            r
        }),
        ("single stage with two stages", "Approval_EndUser_Assignment", {
            let mut r = approval_rule(true, single_user(&alice));
            let stage = r["setting"]["approvalStages"][0].clone();
            r["setting"]["approvalStages"].as_array_mut().unwrap().push(stage);
            r
        }),
        ("three serial stages", "Approval_EndUser_Assignment", {
            let mut r = approval_rule(true, single_user(&alice));
            r["setting"]["approvalMode"] = json!("Serial");
            let stage = r["setting"]["approvalStages"][0].clone();
            r["setting"]["approvalStages"] = json!([stage.clone(), stage.clone(), stage]);
            r
        }),
        (
            "admin eligibility over ten years",
            "Expiration_Admin_Eligibility",
            expiration("Expiration_Admin_Eligibility", "Admin", "Eligibility", true, "P3651D"),
        ),
        (
            "notification recipient that is not an address",
            "Notification_Admin_EndUser_Assignment",
            json!({"@odata.type": NOTIFICATION, "notificationRecipients": ["not an address"]}),
        ),
        (
            "notification rule changing its recipient type",
            "Notification_Admin_EndUser_Assignment",
            json!({"@odata.type": NOTIFICATION, "recipientType": "Requestor"}),
        ),
        (
            "notification type other than Email",
            "Notification_Admin_EndUser_Assignment",
            json!({"@odata.type": NOTIFICATION, "notificationType": "Sms"}),
        ),
        (
            "unknown property",
            "Expiration_EndUser_Assignment",
            json!({"@odata.type": EXPIRATION, "maximumDuration": "PT4H", "maximumDurationX": "PT4H"}),
        ),
        (
            "auth context without a claim",
            "AuthenticationContext_EndUser_Assignment",
            json!({"@odata.type": AUTH_CONTEXT, "id": "AuthenticationContext_EndUser_Assignment", "isEnabled": true,
                   "claimValue": null, "target": target("EndUser", "Assignment")}),
        ),
        (
            "auth context with an empty claim",
            "AuthenticationContext_EndUser_Assignment",
            json!({"@odata.type": AUTH_CONTEXT, "isEnabled": true, "claimValue": ""}),
        ),
    ];
    for (what, rule, body) in cases {
        let (status, resp) = patch_rule(&pim, &admin, &policy, rule, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {resp}");
        let code = resp["error"]["code"].as_str().unwrap_or_default();
        assert!(code == "InvalidPolicyRule" || code == "Request_BadRequest", "{what}: {resp}");
        assert_graph_error(status, &resp, 400, code);
    }
    // A valid approver list would have been accepted (so the refusals above were about the values).
    let (status, resp) =
        patch_rule(&pim, &admin, &policy, "Approval_EndUser_Assignment", approval_rule(false, single_user(&alice)))
            .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{resp}");
    let mut after = rules_of(&pim, &policy).await;
    let approval = after.iter().position(|r| r["id"] == "Approval_EndUser_Assignment").unwrap();
    let changed = after.remove(approval);
    assert_eq!(changed["setting"]["approvalStages"][0]["primaryApprovers"][0]["userId"], alice.as_str());
    let mut expected = before.clone();
    expected.retain(|r| r["id"] != "Approval_EndUser_Assignment");
    assert_eq!(after, expected, "the refused PATCHes changed nothing");

    // Unknown rule and policy ids.
    let (status, body) = patch_rule(
        &pim,
        &admin,
        &policy,
        "Expiration_EndUser_Eligibility",
        expiration("Expiration_EndUser_Eligibility", "EndUser", "Eligibility", true, "PT4H"),
    )
    .await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");
    let (status, body) =
        patch_rule(&pim, &admin, "DirectoryRole_nope", "Expiration_EndUser_Assignment", end_user_expiration("PT4H").1)
            .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    pim.stop().await;
}

#[tokio::test]
async fn only_role_administrators_change_rules_and_only_pim_readers_read_them() {
    let pim = Pim::start().await;
    let policy = policy_id(&pim, USER_ADMINISTRATOR).await;
    let (_, plain_t) = pim.user("plain").await;
    let (ua, ua_t) = pim.user("useradmin").await;
    let (status, body) = pim
        .client
        .post(
            &rm("roleAssignments"),
            &pim.admin_token(),
            json!({"principalId": ua, "roleDefinitionId": USER_ADMINISTRATOR, "directoryScopeId": "/"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(pim.allowed(&ua_t, CREATE_USERS).await, "the User Administrator holds the role");
    let before = rules_of(&pim, &policy).await;

    let body = expiration("Expiration_EndUser_Assignment", "EndUser", "Assignment", true, "PT2H");
    for token in [&plain_t, &ua_t] {
        let (status, resp) = patch_rule(&pim, token, &policy, "Expiration_EndUser_Assignment", body.clone()).await;
        assert_graph_error(status, &resp, 403, "Authorization_RequestDenied");
    }
    assert_eq!(rules_of(&pim, &policy).await, before, "refused PATCHes change nothing");
    let (status, p) = pim.client.get(&format!("{POLICIES}/{policy}"), &pim.admin_token()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(p["lastModifiedDateTime"], Value::Null, "{p}");

    // Refusals are audited.
    let audits = pim.audits().await;
    let refused = audits
        .iter()
        .filter(|a| a["activityDisplayName"] == "Update role setting in PIM" && a["result"] == "failure")
        .count();
    assert_eq!(refused, 2, "both refusals are in the audit log");

    // Reading needs Entra's PIM read permission (docs/SECURITY.md): a Security Reader has it,
    // a plain user and a User Administrator do not.
    let (reader, reader_t) = pim.user("securityreader").await;
    let (status, assigned) = pim
        .client
        .post(
            &rm("roleAssignments"),
            &pim.admin_token(),
            json!({"principalId": reader, "roleDefinitionId": SECURITY_READER, "directoryScopeId": "/"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{assigned}");
    for path in [
        format!("{POLICIES}?{DIRECTORY_ROLE_FILTER}"),
        format!("{POLICIES}/{policy}?$expand=rules"),
        format!("{POLICIES}/{policy}/rules"),
        rule_path(&policy, "Enablement_EndUser_Assignment"),
        format!("{POLICY_ASSIGNMENTS}?{DIRECTORY_ROLE_FILTER} and roleDefinitionId eq '{USER_ADMINISTRATOR}'&$expand=policy($expand=rules)"),
    ] {
        let (status, read) = pim.client.get(&path, &reader_t).await;
        assert_eq!(status, StatusCode::OK, "GET {path} as a Security Reader: {read}");
        for token in [&plain_t, &ua_t] {
            let (status, refused) = pim.client.get(&path, token).await;
            assert_graph_error(status, &refused, 403, "Authorization_RequestDenied");
        }
    }

    // The admin's PATCH is audited as a success naming the rule.
    patch_rule_ok(&pim, &policy, "Expiration_EndUser_Assignment", body).await;
    let audits = pim.audits().await;
    let ok = audits
        .iter()
        .find(|a| a["activityDisplayName"] == "Update role setting in PIM" && a["result"] == "success")
        .expect("a successful rule update is audited");
    assert_eq!(ok["initiatedBy"]["user"]["id"], pim.admin_id.as_str(), "{ok}");
    assert!(ok["additionalDetails"].as_array().unwrap().iter().any(|d| d["value"] == "Expiration_EndUser_Assignment"));
    pim.stop().await;
}

#[tokio::test]
async fn notification_and_eligibility_rules_can_be_changed() {
    let pim = Pim::start().await;
    let policy = policy_id(&pim, USER_ADMINISTRATOR).await;
    let admin = pim.admin_token();
    let (frank, _) = pim.user("frank").await;

    patch_rule_ok(
        &pim,
        &policy,
        "Notification_Admin_EndUser_Assignment",
        json!({"@odata.type": NOTIFICATION, "id": "Notification_Admin_EndUser_Assignment",
               "notificationType": "Email", "recipientType": "Admin", "notificationLevel": "Critical",
               "isDefaultRecipientsEnabled": false, "notificationRecipients": ["secops@contoso.com"],
               "target": target("EndUser", "Assignment")}),
    )
    .await;
    let r = get_rule(&pim, &policy, "Notification_Admin_EndUser_Assignment").await;
    assert_eq!(r["notificationLevel"], "Critical", "{r}");
    assert_eq!(r["isDefaultRecipientsEnabled"], false, "{r}");
    assert_eq!(r["notificationRecipients"], json!(["secops@contoso.com"]), "{r}");
    assert_eq!(r["recipientType"], "Admin", "{r}");

    // Eligibility assignments by admins: require a justification and a bounded window.
    patch_rule_ok(
        &pim,
        &policy,
        "Enablement_Admin_Eligibility",
        enablement("Enablement_Admin_Eligibility", "Admin", "Eligibility", &["Justification"]),
    )
    .await;
    patch_rule_ok(
        &pim,
        &policy,
        "Expiration_Admin_Eligibility",
        expiration("Expiration_Admin_Eligibility", "Admin", "Eligibility", true, "P90D"),
    )
    .await;
    let mut unjustified = request("adminAssign", &frank, USER_ADMINISTRATOR, Some(for_duration(None, "P30D")));
    unjustified.as_object_mut().unwrap().remove("justification");
    let (status, body) = pim.eligibility_request(&admin, unjustified).await;
    assert_policy_failure(status, &body, "JustificationRule");
    let (status, body) = pim
        .eligibility_request(&admin, request("adminAssign", &frank, USER_ADMINISTRATOR, Some(no_expiration())))
        .await;
    assert_policy_failure(status, &body, "ExpirationRule");
    let (status, body) = pim
        .eligibility_request(
            &admin,
            request("adminAssign", &frank, USER_ADMINISTRATOR, Some(for_duration(None, "P91D"))),
        )
        .await;
    assert_policy_failure(status, &body, "ExpirationRule");
    let (status, body) = pim
        .eligibility_request(
            &admin,
            request("adminAssign", &frank, USER_ADMINISTRATOR, Some(for_duration(None, "P90D"))),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "Provisioned", "{body}");
    pim.stop().await;
}
