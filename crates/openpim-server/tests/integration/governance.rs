//! Graph beta PIM iteration 2 (`/beta/privilegedAccess/aadRoles/...`): a second view over the
//! engine. Requests made here are v1.0 schedules and requests (and the other way round), role
//! settings are the v1.0 policy's rules, and the engine's rules (5 minutes, approval, no
//! self-approval, rights) answer with the beta docs' error codes.

use crate::common;
use crate::pim;

use common::{assert_graph_error, USER_ADMINISTRATOR};
use pim::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use time::Duration;

const AAD: &str = "/beta/privilegedAccess/aadRoles";

/// bob (to be made eligible) and alice (an outsider until named approver).
struct World {
    pim: Pim,
    tenant: String,
    bob: String,
    bob_t: String,
    alice: String,
    alice_t: String,
}

impl World {
    async fn new() -> Self {
        let pim = Pim::start().await;
        let (bob, bob_t) = pim.user("bob").await;
        let (alice, alice_t) = pim.user("alice").await;
        let tenant = pim.server.state.tenant_id.to_string();
        World { pim, tenant, bob, bob_t, alice, alice_t }
    }

    fn admin(&self) -> String {
        self.pim.admin_token()
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.pim.client.get(&format!("{AAD}{path}"), token).await
    }

    async fn list(&self, path: &str, token: &str) -> Vec<Value> {
        self.pim.list(&format!("{AAD}{path}"), token).await
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.pim.client.post(&format!("{AAD}{path}"), token, body).await
    }

    async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.pim.client.patch(&format!("{AAD}{path}"), token, body).await
    }

    /// A governanceRoleAssignmentRequest body for User Administrator at the tenant.
    fn body(&self, ty: &str, state: &str, subject: &str, schedule: Option<Value>) -> Value {
        let mut v = json!({
            "roleDefinitionId": USER_ADMINISTRATOR,
            "resourceId": self.tenant,
            "subjectId": subject,
            "assignmentState": state,
            "type": ty,
            "reason": "Investigating ticket INC-4711",
        });
        if let Some(s) = schedule {
            v["schedule"] = s;
        }
        v
    }

    async fn request(&self, token: &str, body: Value) -> (StatusCode, Value) {
        self.post("/roleAssignmentRequests", token, body).await
    }

    async fn request_ok(&self, token: &str, body: Value) -> Value {
        let (status, v) = self.request(token, body).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        assert!(v["@odata.context"].as_str().unwrap().contains("governanceRoleAssignmentRequests"), "{v}");
        v
    }

    /// bob's governance role assignments, as the admin sees them.
    async fn assignments_of(&self, subject: &str) -> Vec<Value> {
        self.list(&format!("/roleAssignments?$filter=subjectId eq '{subject}'"), &self.admin()).await
    }

    async fn setting_of(&self, role: &str) -> Value {
        let rows = self.list(&format!("/roleSettings?$filter=roleDefinitionId eq '{role}'"), &self.admin()).await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        rows[0].clone()
    }

    async fn v1_rule(&self, policy: &str, rule: &str) -> Value {
        let (status, v) = self
            .pim
            .client
            .get(&format!("/v1.0/policies/roleManagementPolicies/{policy}/rules/{rule}"), &self.admin())
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v
    }
}

fn once(start: time::OffsetDateTime, end: Option<time::OffsetDateTime>, duration: Option<&str>) -> Value {
    json!({"type": "Once", "startDateTime": rfc3339(start), "endDateTime": end.map(rfc3339), "duration": duration})
}

fn setting(rule: &str, value: Value) -> Value {
    json!({"ruleIdentifier": rule, "setting": value.to_string()})
}

fn setting_value(list: &Value, rule: &str) -> Value {
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["ruleIdentifier"] == rule)
        .unwrap_or_else(|| panic!("{rule} not in {list}"));
    serde_json::from_str(entry["setting"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn resources_and_role_definitions_name_the_tenant_and_its_roles() {
    let w = World::new().await;
    let admin = w.admin();

    let resources = w.list("/resources", &w.bob_t).await;
    assert_eq!(resources.len(), 1, "{resources:?}");
    assert_eq!(resources[0]["id"], w.tenant.as_str());
    assert_eq!(resources[0]["externalId"], w.tenant.as_str());
    assert_eq!(resources[0]["status"], "Active");
    let (status, r) = w.get(&format!("/resources/{}", w.tenant), &admin).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert!(r["@odata.context"].as_str().unwrap().ends_with("/beta/$metadata#governanceResources/$entity"), "{r}");
    let (status, r) = w.get(&format!("/resources/{}", uuid::Uuid::new_v4()), &admin).await;
    assert_graph_error(status, &r, 404, "ResourceNotFound");

    // register: the tenant is always registered; anything else is not a resource here.
    let (status, _) = w.post("/resources/register", &admin, json!({"externalId": w.tenant})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, r) = w.post("/resources/register", &admin, json!({"externalId": "/subscriptions/x"})).await;
    assert_graph_error(status, &r, 400, "ResourceNotFound");
    let (status, r) = w.post("/resources/register", &admin, json!({"externalId": w.tenant, "bogus": 1})).await;
    assert_graph_error(status, &r, 400, "Request_BadRequest");

    // Role definitions: the v1.0 ids, at the provider and under the resource.
    let roles = w.list("/roleDefinitions?$filter=displayName eq 'User Administrator'", &w.bob_t).await;
    assert_eq!(roles.len(), 1, "{roles:?}");
    assert_eq!(roles[0]["id"], USER_ADMINISTRATOR);
    assert_eq!(roles[0]["templateId"], USER_ADMINISTRATOR);
    assert_eq!(roles[0]["resourceId"], w.tenant.as_str());
    let under = w.list(&format!("/resources/{}/roleDefinitions?$top=500", w.tenant), &admin).await;
    assert!(under.iter().any(|r| r["id"] == USER_ADMINISTRATOR));
    let (status, r) =
        w.get(&format!("/roleDefinitions/{USER_ADMINISTRATOR}?$expand=resource,roleSetting"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["resource"]["id"], w.tenant.as_str());
    assert_eq!(r["roleSetting"]["roleDefinitionId"], USER_ADMINISTRATOR);
    let (status, r) = w.get(&format!("/roleDefinitions/{}", uuid::Uuid::new_v4()), &admin).await;
    assert_graph_error(status, &r, 400, "RoleNotFound");

    // Other providers and versions.
    let (status, r) = w.pim.client.get("/beta/privilegedAccess/aadGroups/resources", &admin).await;
    assert_graph_error(status, &r, 501, "NotSupported");
    let (status, r) = w.pim.client.get("/beta/privilegedAccess/nope/resources", &admin).await;
    assert_graph_error(status, &r, 404, "UnknownError");
    let (status, r) = w.pim.client.get("/v1.0/privilegedAccess/aadRoles/resources", &admin).await;
    assert_graph_error(status, &r, 404, "UnknownError");
    // governanceSubject.
    let (status, s) = w.pim.client.get(&format!("/beta/governanceSubjects/{}", w.bob), &w.alice_t).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!((s["type"].as_str(), s["principalName"].as_str()), (Some("User"), Some("bob@openpim.test")));
    w.pim.stop().await;
}

#[tokio::test]
async fn role_settings_are_the_v1_policy_both_ways() {
    let w = World::new().await;
    let admin = w.admin();
    let s = w.setting_of(USER_ADMINISTRATOR).await;
    let policy = s["id"].as_str().unwrap().to_string();
    assert!(policy.starts_with("DirectoryRole_"), "{s}");
    assert_eq!(s["resourceId"], w.tenant.as_str());
    assert_eq!(s["userEligibleSettings"], json!([]));
    assert!(s["isDefault"].as_bool().unwrap(), "{s}");

    // Beta PATCH → the v1.0 rules.
    let (status, r) = w
        .patch(
            &format!("/roleSettings/{policy}"),
            &admin,
            json!({
                "adminEligibleSettings": [setting("ExpirationRule", json!({"permanentAssignment": false, "maximumGrantPeriodInMinutes": 129600}))],
                "userMemberSettings": [
                    setting("MfaRule", json!({"mfaRequired": false})),
                    setting("JustificationRule", json!({"required": true})),
                    setting("TicketingRule", json!({"ticketingRequired": true})),
                    setting("ExpirationRule", json!({"permanentAssignment": false, "maximumGrantPeriodInMinutes": 240})),
                ],
            }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{r}");
    let rule = w.v1_rule(&policy, "Expiration_Admin_Eligibility").await;
    assert_eq!(rule["maximumDuration"], "P90D", "{rule}");
    assert_eq!(rule["isExpirationRequired"], true, "{rule}");
    let rule = w.v1_rule(&policy, "Enablement_EndUser_Assignment").await;
    let enabled: Vec<&str> = rule["enabledRules"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(enabled.contains(&"Justification") && enabled.contains(&"Ticketing"), "{rule}");
    assert!(!enabled.contains(&"MultiFactorAuthentication"), "{rule}");
    assert_eq!(w.v1_rule(&policy, "Expiration_EndUser_Assignment").await["maximumDuration"], "PT4H");

    // v1.0 PATCH → the beta view.
    let (status, r) = w
        .pim
        .client
        .patch(
            &format!("/v1.0/policies/roleManagementPolicies/{policy}/rules/Expiration_Admin_Assignment"),
            &admin,
            json!({
                "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
                "id": "Expiration_Admin_Assignment", "isExpirationRequired": true, "maximumDuration": "P30D",
                "target": {"caller": "Admin", "operations": ["All"], "level": "Assignment",
                           "inheritableSettings": [], "enforcedSettings": []}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{r}");
    let (status, s) = w.get(&format!("/roleSettings/{policy}?$expand=roleDefinition($expand=resource)"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(
        setting_value(&s["adminMemberSettings"], "ExpirationRule"),
        json!({"permanentAssignment": false, "maximumGrantPeriodInMinutes": 43200})
    );
    assert_eq!(setting_value(&s["userMemberSettings"], "TicketingRule"), json!({"ticketingRequired": true}));
    assert_eq!(s["isDefault"], false);
    assert!(s["lastUpdatedBy"].is_string(), "{s}");
    assert_eq!(s["roleDefinition"]["id"], USER_ADMINISTRATOR);
    assert_eq!(s["roleDefinition"]["resource"]["id"], w.tenant.as_str());

    // Refusals: InvalidRoleSetting, all or nothing; RoleSettingNotFound; rights (audited).
    for bad in [
        json!({"userMemberSettings": [setting("ExpirationRule", json!({"maximumGrantPeriodInMinutes": 2000}))]}),
        json!({"adminEligibleSettings": [setting("MfaRule", json!({"mfaRequired": true}))]}),
        json!({"userMemberSettings": [{"ruleIdentifier": "MfaRule", "setting": "not json"}]}),
        json!({"userEligibleSettings": [setting("ExpirationRule", json!({"maximumGrantPeriodInMinutes": 60}))]}),
        json!({"userMemberSettings": [
            setting("JustificationRule", json!({"required": false})),
            setting("ApprovalRule", json!({"enabled": true, "approvers": [{"id": uuid::Uuid::new_v4(), "type": "User"}]})),
        ]}),
    ] {
        let (status, r) = w.patch(&format!("/roleSettings/{policy}"), &admin, bad.clone()).await;
        assert_graph_error(status, &r, 400, "InvalidRoleSetting");
    }
    let after = w.setting_of(USER_ADMINISTRATOR).await;
    assert_eq!(setting_value(&after["userMemberSettings"], "JustificationRule"), json!({"required": true}));
    let (status, r) = w.patch(&format!("/roleSettings/{policy}"), &admin, json!({"adminEligibleSettings": "x"})).await;
    assert_graph_error(status, &r, 400, "Request_BadRequest");
    let (status, r) = w
        .patch(
            &format!("/roleSettings/{policy}"),
            &admin,
            json!({"adminEligibleSettings": [{"ruleIdentifier": "ExpirationRule"}]}),
        )
        .await;
    assert_graph_error(status, &r, 400, "Request_BadRequest");
    let (status, r) = w.get("/roleSettings/DirectoryRole_nope", &admin).await;
    assert_graph_error(status, &r, 400, "RoleSettingNotFound");
    let (status, r) = w
        .patch(
            &format!("/roleSettings/{policy}"),
            &w.bob_t,
            json!({"userMemberSettings": [setting("MfaRule", json!({"mfaRequired": true}))]}),
        )
        .await;
    assert_graph_error(status, &r, 403, "Authorization_RequestDenied");
    // Reading every role's settings needs a PIM reader; bob is eligible for nothing.
    assert!(w.list("/roleSettings", &w.bob_t).await.is_empty());
    let audits = w.pim.audits().await;
    let updates: Vec<&Value> =
        audits.iter().filter(|a| a["activityDisplayName"] == "Update role setting in PIM").collect();
    assert!(updates.iter().any(|a| a["result"] == "success"), "{updates:?}");
    assert!(updates.iter().any(|a| a["result"] == "failure"), "{updates:?}");
    w.pim.stop().await;
}

#[tokio::test]
async fn admin_add_user_add_user_remove_admin_remove_over_one_engine() {
    let w = World::new().await;
    let admin = w.admin();
    let now = w.pim.now();

    // AdminAdd Eligible, as the docs' example (capitalised types, Once schedule with an end).
    let added = w
        .request_ok(
            &admin,
            w.body("AdminAdd", "Eligible", &w.bob, Some(once(now, Some(now + Duration::days(180)), None))),
        )
        .await;
    assert_eq!(added["type"], "AdminAdd");
    assert_eq!(added["assignmentState"], "Eligible");
    assert_eq!(added["status"]["subStatus"], "Provisioned", "{added}");
    assert_eq!(added["status"]["status"], "Closed", "{added}");
    assert_eq!(added["status"]["statusDetails"][0]["key"], "AdminRequestRule");
    // The same request and schedule in v1.0.
    let (status, v1) =
        w.pim.client.get(&format!("{ELIGIBILITY_REQUESTS}/{}", added["id"].as_str().unwrap()), &admin).await;
    assert_eq!(status, StatusCode::OK, "{v1}");
    assert_eq!(v1["action"], "adminAssign");
    let eligible = w.assignments_of(&w.bob).await;
    assert_eq!(eligible.len(), 1, "{eligible:?}");
    assert_eq!(eligible[0]["assignmentState"], "Eligible");
    assert_eq!(eligible[0]["memberType"], "Direct");
    let v1_rows = w.pim.rows_of(ELIGIBILITY_SCHEDULES, &w.bob).await;
    assert_eq!(eligible[0]["id"], v1_rows[0]["id"], "one id in both views");
    let eligible_id = eligible[0]["id"].as_str().unwrap().to_string();

    // The engine's refusals in the beta vocabulary.
    let (status, r) = w.request(&admin, w.body("AdminAdd", "Eligible", &w.bob, Some(once(now, None, None)))).await;
    assert_graph_error(status, &r, 400, "RoleAssignmentExists");
    let mut unknown_role = w.body("AdminAdd", "Eligible", &w.alice, Some(once(now, None, None)));
    unknown_role["roleDefinitionId"] = json!(uuid::Uuid::new_v4());
    let (status, r) = w.request(&admin, unknown_role).await;
    assert_graph_error(status, &r, 400, "RoleNotFound");
    let nobody = uuid::Uuid::new_v4().to_string();
    let (status, r) = w.request(&admin, w.body("AdminAdd", "Eligible", &nobody, Some(once(now, None, None)))).await;
    assert_graph_error(status, &r, 400, "SubjectNotFound");
    let (status, r) = w.request(&admin, w.body("AdminRemove", "Active", &w.alice, None)).await;
    assert_graph_error(status, &r, 400, "RoleAssignmentDoesNotExist");
    let short = once(now, Some(now + Duration::minutes(3)), None);
    let (status, r) = w.request(&admin, w.body("AdminAdd", "Active", &w.alice, Some(short))).await;
    assert_graph_error(status, &r, 400, "RoleAssignmentRequestPolicyValidationFailed");
    let (status, r) =
        w.request(&w.bob_t, w.body("UserAdd", "Eligible", &w.bob, Some(once(now, None, Some("PT1H"))))).await;
    assert_graph_error(status, &r, 400, "InvalidRoleAssignmentRequest");
    let (status, r) = w.request(&admin, w.body("AdminAdd", "Eligible", &w.alice, None)).await;
    assert_graph_error(status, &r, 400, "Request_BadRequest");
    // Malformed bodies: a clear 400 naming the problem, nothing created.
    let recurring = json!({"type": "Recurring", "startDateTime": rfc3339(now)});
    let (status, r) = w.request(&admin, w.body("AdminAdd", "Eligible", &w.alice, Some(recurring))).await;
    assert_graph_error(status, &r, 400, "InvalidRoleAssignmentRequest");
    let both = once(now, Some(now + Duration::days(1)), Some("PT1H"));
    let (status, r) = w.request(&admin, w.body("AdminAdd", "Eligible", &w.alice, Some(both))).await;
    assert_graph_error(status, &r, 400, "InvalidRoleAssignmentRequest");
    for (key, value) in [
        ("type", json!(7)),
        ("type", json!("AdminDelete")),
        ("subjectId", json!("not-a-guid")),
        ("assignmentState", json!("Permanent")),
        ("unknownProperty", json!(true)),
    ] {
        let mut body = w.body("AdminAdd", "Eligible", &w.alice, Some(once(now, None, None)));
        body[key] = value;
        let (status, r) = w.request(&admin, body).await;
        assert_graph_error(status, &r, 400, "Request_BadRequest");
    }
    let mut other = w.body("AdminAdd", "Eligible", &w.alice, Some(once(now, None, None)));
    other["resourceId"] = json!(uuid::Uuid::new_v4());
    let (status, r) = w.request(&admin, other).await;
    assert_graph_error(status, &r, 400, "ResourceNotFound");
    // bob is no administrator: AdminAdd for alice is refused; nothing changed.
    let (status, r) = w.request(&w.bob_t, w.body("AdminAdd", "Eligible", &w.alice, Some(once(now, None, None)))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{r}");
    assert!(w.assignments_of(&w.alice).await.is_empty());

    // UserAdd Active with a reason: an activation linked to the eligibility.
    let activation =
        w.request_ok(&w.bob_t, w.body("UserAdd", "Active", &w.bob, Some(once(now, None, Some("PT1H"))))).await;
    assert_eq!(activation["type"], "UserAdd");
    assert_eq!(activation["reason"], "Investigating ticket INC-4711");
    assert_eq!(activation["schedule"]["duration"], "PT1H");
    assert_eq!(activation["linkedEligibleRoleAssignmentId"], eligible_id.as_str(), "{activation}");
    let rows = w.assignments_of(&w.bob).await;
    let active: Vec<&Value> = rows.iter().filter(|r| r["assignmentState"] == "Active").collect();
    assert_eq!(active.len(), 1, "{rows:?}");
    assert_eq!(active[0]["linkedEligibleRoleAssignmentId"], eligible_id.as_str());
    assert!(w.pim.allowed(&w.bob_t, "microsoft.directory/users/create").await);

    // $filter forms and $expand.
    let q = format!(
        "/roleAssignments?$filter=(subject/id eq '{}') and (assignmentState eq 'Active')&$expand=linkedEligibleRoleAssignment,subject,roleDefinition($expand=resource)",
        w.bob
    );
    let rows = w.list(&q, &admin).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["subject"]["principalName"], "bob@openpim.test");
    assert_eq!(rows[0]["roleDefinition"]["displayName"], "User Administrator");
    assert_eq!(rows[0]["roleDefinition"]["resource"]["id"], w.tenant.as_str());
    assert_eq!(rows[0]["linkedEligibleRoleAssignment"]["id"], eligible_id.as_str());
    let q = format!(
        "/resources/{}/roleAssignments?$filter=ResourceId eq '{}' and RoleDefinitionId eq '{USER_ADMINISTRATOR}'",
        w.tenant, w.tenant
    );
    assert_eq!(w.list(&q, &admin).await.len(), 2);
    let q = format!(
        "/roleAssignments?$filter=(roleDefinition/id eq '{USER_ADMINISTRATOR}') and (resource/id eq '{}')",
        w.tenant
    );
    assert_eq!(w.list(&q, &admin).await.len(), 2);
    let (status, r) = w.get("/roleAssignments?$filter=nope eq 1", &admin).await;
    assert_graph_error(status, &r, 400, "BadRequest");

    // Rights: bob reads his own (filtered on himself), not everyone's.
    let mine = w.list(&format!("/roleAssignments?$filter=subjectId eq '{}'", w.bob), &w.bob_t).await;
    assert_eq!(mine.len(), 2);
    let (status, r) = w.get("/roleAssignments", &w.bob_t).await;
    assert_graph_error(status, &r, 403, "Authorization_RequestDenied");
    let (status, r) = w.get(&format!("/roleAssignments/{eligible_id}"), &w.alice_t).await;
    assert_graph_error(status, &r, 404, "Request_ResourceNotFound");
    let (status, r) = w.get(&format!("/roleAssignments/{eligible_id}/subject"), &w.bob_t).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["id"], w.bob.as_str());

    // export(): the same rows as CSV.
    let resp = w
        .pim
        .client
        .http
        .get(w.pim.client.url(&format!("{AAD}/roleAssignments/export()?$filter=subjectId eq '{}'", w.bob)))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/octet-stream");
    let csv = resp.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("id,resourceId,roleDefinitionId,subjectId,assignmentState"), "{csv}");
    assert!(lines[1..].iter().all(|l| l.contains(&w.bob)), "{csv}");

    // The 5-minute rule: no deactivation right after activating.
    let (status, r) = w.request(&w.bob_t, w.body("UserRemove", "Active", &w.bob, None)).await;
    assert_graph_error(status, &r, 400, "RoleAssignmentRequestPolicyValidationFailed");
    w.pim.advance(Duration::minutes(6));
    let removed = w.request_ok(&w.bob_t, w.body("UserRemove", "Active", &w.bob, None)).await;
    assert_eq!(removed["status"]["status"], "Closed");
    assert_eq!(removed["status"]["subStatus"], "Revoked");
    assert_eq!(removed["schedule"], Value::Null);
    assert!(!w.pim.allowed(&w.bob_t, "microsoft.directory/users/create").await);
    // AdminRemove, spelled as the seed documents spell it.
    let (status, r) = w
        .request(
            &admin,
            json!({"roleDefinitionId": USER_ADMINISTRATOR, "resourceId": w.tenant, "subjectId": w.bob,
                                "assignmentState": "Eligible", "type": "AdminRemove", "reason": "No longer needed"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["status"]["subStatus"], "Revoked");
    assert!(w.assignments_of(&w.bob).await.is_empty());
    assert!(w.pim.rows_of(ELIGIBILITY_SCHEDULES, &w.bob).await.is_empty());

    // Every request, in both views; the subStatus filter.
    let revoked = w.list("/roleAssignmentRequests?$filter=status/subStatus eq 'Revoked'", &admin).await;
    assert_eq!(revoked.len(), 2, "{revoked:?}");
    let types: Vec<&str> = revoked.iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert!(types.contains(&"UserRemove") && types.contains(&"AdminRemove"), "{types:?}");
    let (status, r) = w
        .get(&format!("/roleAssignmentRequests/{}?$expand=subject", activation["id"].as_str().unwrap()), &w.bob_t)
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["subject"]["id"], w.bob.as_str());
    let (status, r) = w.get("/roleAssignmentRequests", &w.bob_t).await;
    assert_graph_error(status, &r, 403, "Authorization_RequestDenied");
    let (status, r) = w.get(&format!("/roleAssignmentRequests/{}", added["id"].as_str().unwrap()), &w.alice_t).await;
    assert_graph_error(status, &r, 400, "RoleAssignmentRequestNotFound");
    // Audited as the engine audits v1.0 requests.
    let audits = w.pim.audits().await;
    assert!(audits.iter().any(|a| a["activityDisplayName"] == "Add member to role (PIM activation)"));
    assert!(audits.iter().any(|a| a["activityDisplayName"] == "Remove eligible member from role in PIM"));
    w.pim.stop().await;
}

#[tokio::test]
async fn approval_cancel_and_update_request() {
    let w = World::new().await;
    let admin = w.admin();
    let now = w.pim.now();
    w.request_ok(&admin, w.body("AdminAdd", "Eligible", &w.bob, Some(once(now, None, None)))).await;
    // Approval through the beta setting: alice approves.
    let policy = w.setting_of(USER_ADMINISTRATOR).await["id"].as_str().unwrap().to_string();
    let (status, r) = w
        .patch(
            &format!("/roleSettings/{policy}"),
            &admin,
            json!({"userMemberSettings": [setting("ApprovalRule", json!({"Enabled": true, "Approvers": [{"Id": w.alice, "Type": "User", "DisplayName": "alice"}]}))]}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{r}");
    let s = w.setting_of(USER_ADMINISTRATOR).await;
    let approval = setting_value(&s["userMemberSettings"], "ApprovalRule");
    assert_eq!(approval["enabled"], true);
    assert_eq!(approval["approvers"][0]["id"], w.alice.as_str());
    assert_eq!(approval["approvers"][0]["displayName"], "alice");
    let v1 = w.v1_rule(&policy, "Approval_EndUser_Assignment").await;
    assert_eq!(v1["setting"]["isApprovalRequired"], true, "{v1}");

    let activate = || w.body("UserAdd", "Active", &w.bob, Some(once(now, None, Some("PT2H"))));
    let pending = w.request_ok(&w.bob_t, activate()).await;
    assert_eq!(pending["status"]["status"], "InProgress");
    assert_eq!(pending["status"]["subStatus"], "PendingAdminDecision", "{pending}");
    let id = pending["id"].as_str().unwrap().to_string();
    let waiting = w.list("/roleAssignmentRequests?$filter=status/subStatus eq 'PendingAdminDecision'", &admin).await;
    assert_eq!(row_ids(&waiting), vec![id.clone()]);
    let (status, r) = w.request(&w.bob_t, activate()).await;
    assert_graph_error(status, &r, 400, "PendingRoleAssignmentRequest");

    // Cancel: bob's own; then it cannot be cancelled again; unknown ids are not found.
    let (status, r) = w.post(&format!("/roleAssignmentRequests/{id}/cancel"), &w.alice_t, json!({})).await;
    assert_graph_error(status, &r, 400, "RoleAssignmentRequestNotFound");
    let (status, r) = w.post(&format!("/roleAssignmentRequests/{id}/cancel"), &w.bob_t, json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{r}");
    let (status, r) = w.get(&format!("/roleAssignmentRequests/{id}"), &w.bob_t).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"]["subStatus"], "Canceled");
    let (status, r) = w.post(&format!("/roleAssignmentRequests/{id}/cancel"), &w.bob_t, json!({})).await;
    assert_graph_error(status, &r, 400, "RequestCannotBeCancelled");
    let (status, r) =
        w.post(&format!("/roleAssignmentRequests/{}/cancel", uuid::Uuid::new_v4()), &w.bob_t, json!({})).await;
    assert_graph_error(status, &r, 400, "RoleAssignmentRequestNotFound");

    // updateRequest: bob cannot approve his own; alice (not a reader of everyone's requests) can.
    let pending = w.request_ok(&w.bob_t, activate()).await;
    let id = pending["id"].as_str().unwrap().to_string();
    let decision = |d: &str| {
        json!({"reason": "approve the request", "decision": d, "assignmentState": "Active",
                                    "schedule": {"type": "Once", "startDateTime": rfc3339(now)}})
    };
    let (status, r) =
        w.post(&format!("/roleAssignmentRequests/{id}/updateRequest"), &w.bob_t, decision("AdminApproved")).await;
    assert!(status.is_client_error(), "{r}");
    assert!(!w.pim.allowed(&w.bob_t, "microsoft.directory/users/create").await);
    let (status, r) =
        w.post(&format!("/roleAssignmentRequests/{id}/updateRequest"), &w.alice_t, decision("Maybe")).await;
    assert_graph_error(status, &r, 400, "Request_BadRequest");
    let (status, r) =
        w.post(&format!("/roleAssignmentRequests/{id}/updateRequest"), &w.alice_t, decision("AdminApproved")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{r}");
    assert!(w.pim.allowed(&w.bob_t, "microsoft.directory/users/create").await);
    let (_, r) = w.get(&format!("/roleAssignmentRequests/{id}"), &admin).await;
    assert_eq!(r["status"]["subStatus"], "Provisioned", "{r}");
    // Decided: nothing left to decide (alice no longer sees it at all; the admin is told why).
    let (status, r) =
        w.post(&format!("/roleAssignmentRequests/{id}/updateRequest"), &w.alice_t, decision("AdminDenied")).await;
    assert_graph_error(status, &r, 400, "RoleAssignmentRequestNotFound");
    let (status, r) =
        w.post(&format!("/roleAssignmentRequests/{id}/updateRequest"), &admin, decision("AdminDenied")).await;
    assert_graph_error(status, &r, 400, "RequestCannotBeUpdated");
    let rows = w.assignments_of(&w.bob).await;
    assert!(rows.iter().any(|r| r["assignmentState"] == "Active"), "{rows:?}");
    w.pim.stop().await;
}

#[tokio::test]
async fn v1_requests_read_through_the_beta_view() {
    let w = World::new().await;
    let admin = w.admin();
    w.pim.make_eligible(&w.bob, USER_ADMINISTRATOR).await;
    w.pim.advance(Duration::minutes(1));
    w.pim.activate_ok(&w.bob_t, &w.bob, USER_ADMINISTRATOR, "PT1H").await;
    let requests = w.list(&format!("/roleAssignmentRequests?$filter=subjectId eq '{}'", w.bob), &w.bob_t).await;
    let types: Vec<(&str, &str)> =
        requests.iter().map(|r| (r["type"].as_str().unwrap(), r["assignmentState"].as_str().unwrap())).collect();
    assert_eq!(types, vec![("UserAdd", "Active"), ("AdminAdd", "Eligible")], "{requests:?}");
    // A permanent eligibility: no end.
    let rows = w.assignments_of(&w.bob).await;
    let eligible = rows.iter().find(|r| r["assignmentState"] == "Eligible").unwrap();
    assert_eq!(eligible["endDateTime"], Value::Null);
    let resp = w
        .pim
        .client
        .send(w.pim.client.request(Method::GET, &format!("{AAD}/roleAssignments?$top=1&$count=true"), Some(&admin)))
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.body["value"].as_array().unwrap().len(), 1);
    assert!(resp.body["@odata.nextLink"]
        .as_str()
        .unwrap()
        .contains("/beta/privilegedAccess/aadRoles/roleAssignments?"));
    assert!(resp.body["@odata.count"].as_u64().unwrap() >= 3);
    w.pim.stop().await;
}
