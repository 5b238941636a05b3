//! Graph `/beta`: every v1.0 resource answers under `/beta` from the same handler, with
//! `@odata.context` and next links naming `/beta`; unknown beta paths are Graph 404s; fixed
//! segments match ignoring case, as under v1.0.

use crate::common;
use crate::pim;

use common::{assert_graph_error, HELPDESK_ADMINISTRATOR, USER_ADMINISTRATOR};
use pim::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// bob eligible for User Administrator with alice as his approver, a pending activation of
/// bob's (so there is an approval), and a role-assignable group with a member.
struct World {
    pim: Pim,
    alice: String,
    alice_t: String,
    bob: String,
    group: String,
    approval: String,
    policy: String,
}

impl World {
    async fn new() -> Self {
        let pim = Pim::start().await;
        let (alice, alice_t) = pim.user("alice").await;
        let (bob, bob_t) = pim.user("bob").await;
        let group = pim.group("Helpdesk Team", true).await;
        pim.add_member(&group, &alice).await;
        pim.make_eligible(&bob, USER_ADMINISTRATOR).await;
        let policy = policy_of(&pim, USER_ADMINISTRATOR).await;
        let (status, body) = pim
            .client
            .patch(
                &format!("/v1.0/policies/roleManagementPolicies/{policy}/rules/Approval_EndUser_Assignment"),
                &pim.admin_token(),
                approval_rule(vec![single_user(&alice)]),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "set approvers: {body}");
        let pending = pim.activate_ok(&bob_t, &bob, USER_ADMINISTRATOR, "PT2H").await;
        assert_eq!(pending["status"], "PendingApproval", "{pending}");
        let approval = pending["approvalId"].as_str().expect("approvalId").to_string();
        World { pim, alice, alice_t, bob, group, approval, policy }
    }

    fn origin(&self) -> &str {
        &self.pim.client.base
    }

    /// GETs `path` (which starts after the version, e.g. `/users`) under `/v1.0` and `/beta`:
    /// both 200, and the same body once the v1.0 one's `@odata.context` and `@odata.nextLink`
    /// name `/beta`. Returns the beta body.
    async fn same_under_beta(&self, path: &str, token: &str) -> Value {
        let (v1_status, v1) = self.pim.client.get(&format!("/v1.0{path}"), token).await;
        assert_eq!(v1_status, StatusCode::OK, "GET /v1.0{path}: {v1}");
        let (beta_status, beta) = self.pim.client.get(&format!("/beta{path}"), token).await;
        assert_eq!(beta_status, StatusCode::OK, "GET /beta{path}: {beta}");
        let context = beta["@odata.context"].as_str().unwrap_or_else(|| panic!("no @odata.context: {beta}"));
        assert!(
            context.starts_with(&format!("{}/beta/$metadata#", self.origin())),
            "GET /beta{path}: context {context}"
        );
        assert_eq!(beta, as_beta(v1, self.origin()), "GET {path}: /beta differs from /v1.0 beyond the version");
        beta
    }
}

/// The id of the policy assigned to `role` at the tenant.
async fn policy_of(pim: &Pim, role: &str) -> String {
    let rows = pim
        .list(
            &format!(
                "/v1.0/policies/roleManagementPolicyAssignments?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '{role}'"
            ),
            &pim.admin_token(),
        )
        .await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    rows[0]["policyId"].as_str().expect("policyId").to_string()
}

/// A v1.0 body as beta renders it: the context and next link under `/beta`.
fn as_beta(mut body: Value, origin: &str) -> Value {
    for key in ["@odata.context", "@odata.nextLink"] {
        if let Some(link) = body[key].as_str() {
            let v1 = format!("{origin}/v1.0/");
            assert!(link.starts_with(&v1), "{key} {link} is not under {v1}");
            body[key] = Value::String(link.replacen(&v1, &format!("{origin}/beta/"), 1));
        }
    }
    body
}

#[tokio::test]
async fn beta_reads_are_the_v1_reads_with_a_beta_context() {
    let w = World::new().await;
    let admin = w.pim.admin_token();
    let rm = "/roleManagement/directory";
    let reads = [
        "/me".to_string(),
        "/users".to_string(),
        format!("/users/{}", w.alice),
        format!("/users/{}/memberOf", w.alice),
        "/groups?$filter=isAssignableToRole eq true".to_string(),
        format!("/groups/{}", w.group),
        format!("/groups/{}/members", w.group),
        format!("{rm}/roleDefinitions?$filter=displayName+eq+'Helpdesk Administrator'"),
        format!("{rm}/roleDefinitions/{HELPDESK_ADMINISTRATOR}"),
        format!("{rm}/roleAssignments?$filter=roleDefinitionId eq '{USER_ADMINISTRATOR}'&$expand=principal"),
        format!("{rm}/roleEligibilityScheduleRequests?$filter=principalId eq '{}'", w.bob),
        format!("{rm}/roleAssignmentScheduleRequests?$filter=principalId eq '{}'", w.bob),
        format!("{rm}/roleEligibilitySchedules?$filter=principalId eq '{}'", w.bob),
        format!("{rm}/roleEligibilityScheduleInstances?$filter=principalId eq '{}'", w.bob),
        format!("/policies/roleManagementPolicies/{}?$expand=rules", w.policy),
        format!("/policies/roleManagementPolicies/{}/rules/Approval_EndUser_Assignment", w.policy),
        format!("/policies/roleManagementPolicyAssignments?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '{USER_ADMINISTRATOR}'"),
    ];
    for path in &reads {
        w.same_under_beta(path, &admin).await;
    }

    // The seed's lookup: the one built-in role by its display name.
    let found = w
        .same_under_beta(&format!("{rm}/roleDefinitions?$filter=displayName+eq+'Helpdesk Administrator'"), &admin)
        .await;
    assert_eq!(found["value"].as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(found["value"][0]["id"], HELPDESK_ADMINISTRATOR);
    assert_eq!(
        found["@odata.context"],
        format!("{}/beta/$metadata#roleManagement/directory/roleDefinitions", w.origin())
    );

    // The approval and its steps, as the approver sees them.
    let approval = w.same_under_beta(&format!("{rm}/roleAssignmentApprovals/{}", w.approval), &w.alice_t).await;
    assert_eq!(approval["id"], w.approval.as_str());
    let step = approval["steps"][0]["id"].as_str().expect("step id").to_string();
    w.same_under_beta(&format!("{rm}/roleAssignmentApprovals/{}/steps", w.approval), &w.alice_t).await;
    w.same_under_beta(&format!("{rm}/roleAssignmentApprovals/{}/steps/{step}", w.approval), &w.alice_t).await;
    w.pim.stop().await;
}

#[tokio::test]
async fn beta_next_links_stay_under_beta() {
    let w = World::new().await;
    let admin = w.pim.admin_token();
    let first = w.same_under_beta("/users?$top=1", &admin).await;
    let next = first["@odata.nextLink"].as_str().expect("a next page").to_string();
    assert!(next.starts_with(&format!("{}/beta/users?", w.origin())), "{next}");
    let (status, second) = w.pim.client.get(&next, &admin).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["@odata.context"], format!("{}/beta/$metadata#users", w.origin()));
    assert_ne!(second["value"][0]["id"], first["value"][0]["id"], "the next page is another page");
    w.pim.stop().await;
}

#[tokio::test]
async fn beta_writes_take_the_same_path_as_v1() {
    let w = World::new().await;
    let admin = w.pim.admin_token();
    let assignments = "/beta/roleManagement/directory/roleAssignments";

    // A direct assignment created and removed through /beta is the v1.0 resource.
    let (status, created) = w
        .pim
        .client
        .post(
            assignments,
            &admin,
            json!({"@odata.type": "#microsoft.graph.unifiedRoleAssignment", "principalId": w.group,
                   "roleDefinitionId": HELPDESK_ADMINISTRATOR, "directoryScopeId": "/"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["@odata.context"],
        format!("{}/beta/$metadata#roleManagement/directory/roleAssignments/$entity", w.origin())
    );
    let id = created["id"].as_str().expect("assignment id").to_string();
    let (status, v1) = w.pim.client.get(&format!("/v1.0/roleManagement/directory/roleAssignments/{id}"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{v1}");
    assert_eq!(v1["principalId"], w.group.as_str());

    // The rules hold on this path too: a duplicate is refused as under v1.0.
    let (status, body) = w
        .pim
        .client
        .post(
            assignments,
            &admin,
            json!({"principalId": w.group, "roleDefinitionId": HELPDESK_ADMINISTRATOR, "directoryScopeId": "/"}),
        )
        .await;
    assert!(status.is_client_error(), "duplicate via /beta: {status} {body}");
    assert!(body["error"]["code"].is_string(), "{body}");

    let (status, body) = w.pim.client.delete(&format!("{assignments}/{id}"), &admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) =
        w.pim.client.get(&format!("/v1.0/roleManagement/directory/roleAssignments/{id}"), &admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // A schedule request through /beta: the caller's rights are checked (bob is no admin).
    let (status, body) = w
        .pim
        .client
        .post(
            "/beta/roleManagement/directory/roleEligibilityScheduleRequests",
            &w.pim.token("bob@openpim.test"),
            request("adminAssign", &w.alice, USER_ADMINISTRATOR, Some(no_expiration())),
        )
        .await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    let (status, body) = w
        .pim
        .client
        .post(
            "/beta/roleManagement/directory/roleEligibilityScheduleRequests",
            &admin,
            request("adminAssign", &w.alice, USER_ADMINISTRATOR, Some(no_expiration())),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["@odata.context"],
        format!("{}/beta/$metadata#roleManagement/directory/roleEligibilityScheduleRequests/$entity", w.origin())
    );
    assert_eq!(w.pim.rows_of(ELIGIBILITY_SCHEDULES, &w.alice).await.len(), 1);
    w.pim.stop().await;
}

#[tokio::test]
async fn unknown_beta_paths_are_graph_404s_and_casing_does_not_matter() {
    let w = World::new().await;
    let admin = w.pim.admin_token();
    for path in ["/beta/nothing", "/beta/users/x/nothing", "/beta", "/beta/roleManagement/directory/nothing"] {
        let (status, body) = w.pim.client.get(path, &admin).await;
        assert_graph_error(status, &body, 404, "UnknownError");
    }
    // Beta-only is not v1.0-only's mirror: a v1.0 path that does not exist stays a 404.
    let (status, body) = w.pim.client.get("/v1.0/privilegedAccess/aadRoles/resources", &admin).await;
    assert_graph_error(status, &body, 404, "UnknownError");

    // Fixed segments ignore case, the version segment included; keys keep theirs.
    let (_, canonical) = w.pim.client.get("/beta/users", &admin).await;
    for path in ["/BETA/Users", "/Beta/USERS"] {
        let (status, body) = w.pim.client.get(path, &admin).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(body, canonical, "{path}");
    }
    let (status, body) = w
        .pim
        .client
        .get(&format!("/BETA/ROLEMANAGEMENT/Directory/roleDefinitions/{HELPDESK_ADMINISTRATOR}"), &admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["displayName"], "Helpdesk Administrator");
    assert_eq!(
        body["@odata.context"],
        format!("{}/beta/$metadata#roleManagement/directory/roleDefinitions/$entity", w.origin())
    );
    w.pim.stop().await;
}

// ---------------------------------------------------------------- Microsoft 365 groups

/// Graph creates role-assignable Microsoft 365 groups in v1.0 and beta alike (v1.0's "Create
/// group" documents a `Unified`, mail-enabled, role-assignable group too).
#[tokio::test]
async fn microsoft_365_groups_can_be_role_assignable_under_both_versions() {
    let w = World::new().await;
    let admin = w.pim.admin_token();
    for (version, nickname) in [("v1.0", "m365v1"), ("beta", "m365beta")] {
        let (status, g) = w
            .pim
            .client
            .post(
                &format!("/{version}/groups"),
                &admin,
                json!({"displayName": nickname, "groupTypes": ["Unified"], "mailEnabled": true,
                       "securityEnabled": true, "mailNickname": nickname, "isAssignableToRole": true}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{version}: {g}");
        assert_eq!(g["groupTypes"], json!(["Unified"]), "{g}");
        assert_eq!(
            (&g["mailEnabled"], &g["securityEnabled"], &g["isAssignableToRole"]),
            (&json!(true), &json!(true), &json!(true))
        );
        let id = g["id"].as_str().unwrap();
        let (status, read) = w.pim.client.get(&format!("/{version}/groups/{id}"), &admin).await;
        assert_eq!(status, StatusCode::OK, "{read}");
        assert_eq!(read["groupTypes"], json!(["Unified"]), "stored: {read}");
        // It stays mail-enabled, and holds roles like any role-assignable group.
        let (status, body) =
            w.pim.client.patch(&format!("/{version}/groups/{id}"), &admin, json!({"mailEnabled": false})).await;
        assert_graph_error(status, &body, 400, "Request_BadRequest");
        w.pim.client.post(&format!("/{version}/groups/{id}/members/$ref"), &admin, common::reference(&w.bob)).await;
        let (status, body) = w
            .pim
            .client
            .post(
                &format!("/{version}/roleManagement/directory/roleAssignments"),
                &admin,
                json!({"principalId": id, "roleDefinitionId": HELPDESK_ADMINISTRATOR, "directoryScopeId": "/"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let before = w.pim.list("/v1.0/groups", &admin).await.len();
    for bad in [
        json!({"displayName": "x", "groupTypes": ["Unified"], "mailEnabled": false, "securityEnabled": true, "mailNickname": "x"}),
        json!({"displayName": "x", "groupTypes": ["DynamicMembership"], "mailEnabled": false, "securityEnabled": true, "mailNickname": "x"}),
        json!({"displayName": "x", "groupTypes": ["Team"], "mailEnabled": true, "securityEnabled": true, "mailNickname": "x"}),
        json!({"displayName": "x", "groupTypes": "Unified", "mailEnabled": true, "securityEnabled": true, "mailNickname": "x"}),
    ] {
        let (status, body) = w.pim.client.post("/beta/groups", &admin, bad.clone()).await;
        assert_graph_error(status, &body, 400, "Request_BadRequest");
    }
    assert_eq!(w.pim.list("/v1.0/groups", &admin).await.len(), before, "refused groups were not created");
    w.pim.stop().await;
}

// ---------------------------------------------------------------- seed replay

/// "Remove role assignments from a group in Azure Active Directory" (MicrosoftDocs/azure-docs,
/// articles/active-directory/roles/groups-remove-assignment.md, section "Microsoft Graph API"):
/// its four requests, as printed. The document's group body is not valid JSON (a comma missing
/// after `"securityEnabled": true`, one too many after `"isAssignableToRole": true`); it is sent
/// once as printed (Graph refuses it, nothing is created) and then with only those two commas
/// mended. The placeholders `{object-id-of-group}`, `{role-definition-id}` and
/// `{role-assignment-id}` take the ids the earlier answers gave.
const SEED_GROUP_AS_PRINTED: &str = r#"{
"description": "This group is assigned to Helpdesk Administrator built-in role of Azure AD",
"displayName": "Contoso_Helpdesk_Administrators",
"groupTypes": [
"Unified"
],
"mailEnabled": true,
"securityEnabled": true
"mailNickname": "contosohelpdeskadministrators",
"isAssignableToRole": true,
}"#;
const SEED_ROLE_LOOKUP: &str =
    "/beta/roleManagement/directory/roleDefinitions?$filter=displayName+eq+'Helpdesk Administrator'";
const SEED_ASSIGNMENT: &str = r#"{
"principalId":"{object-id-of-group}",
"roleDefinitionId":"{role-definition-id}",
"directoryScopeId":"/"
}"#;

/// The document's JSON with its two comma slips mended, and nothing else changed.
fn mended(printed: &str) -> String {
    printed.replace("\"securityEnabled\": true\n", "\"securityEnabled\": true,\n").replace("true,\n}", "true\n}")
}

#[tokio::test]
async fn seed_remove_role_assignments_from_a_group_replays_under_beta() {
    let pim = Pim::start().await;
    let admin = pim.admin_token();
    let raw_post = |path: &'static str, body: String| {
        let req = pim.client.request(reqwest::Method::POST, path, Some(&admin));
        pim.client.send(req.header("Content-Type", "application/json").body(body))
    };
    let groups_before = pim.list("/beta/groups", &admin).await.len();

    // As printed: malformed JSON is a Graph 400, and no group appears.
    let r = raw_post("/beta/groups", SEED_GROUP_AS_PRINTED.to_string()).await;
    assert_graph_error(r.status, &r.body, 400, "Request_BadRequest");
    assert_eq!(pim.list("/beta/groups", &admin).await.len(), groups_before);

    // POST https://graph.microsoft.com/beta/groups
    let body = mended(SEED_GROUP_AS_PRINTED);
    serde_json::from_str::<Value>(&body).expect("the mended body is JSON");
    let r = raw_post("/beta/groups", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let group = r.body["id"].as_str().expect("group id").to_string();
    assert_eq!(r.body["groupTypes"], json!(["Unified"]));
    assert_eq!(r.body["isAssignableToRole"], true);
    assert_eq!(r.body["mailNickname"], "contosohelpdeskadministrators");

    // GET https://graph.microsoft.com/beta/roleManagement/directory/roleDefinitions?$filter=...
    let (status, found) = pim.client.get(SEED_ROLE_LOOKUP, &admin).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let roles = found["value"].as_array().expect("value");
    assert_eq!(roles.len(), 1, "{found}");
    let role = roles[0]["id"].as_str().expect("role id").to_string();
    assert_eq!(role, HELPDESK_ADMINISTRATOR);

    // POST https://graph.microsoft.com/beta/roleManagement/directory/roleAssignments
    let body = SEED_ASSIGNMENT.replace("{object-id-of-group}", &group).replace("{role-definition-id}", &role);
    let r = raw_post("/beta/roleManagement/directory/roleAssignments", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        (r.body["principalId"].as_str(), r.body["directoryScopeId"].as_str()),
        (Some(group.as_str()), Some("/"))
    );
    let assignment = r.body["id"].as_str().expect("assignment id").to_string();
    let held = pim
        .list(&format!("/beta/roleManagement/directory/roleAssignments?$filter=principalId eq '{group}'"), &admin)
        .await;
    assert_eq!(row_ids(&held), [assignment.clone()]);

    // DELETE https://graph.microsoft.com/beta/roleManagement/directory/roleAssignments/{role-assignment-id}
    let (status, body) =
        pim.client.delete(&format!("/beta/roleManagement/directory/roleAssignments/{assignment}"), &admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let held = pim
        .list(&format!("/beta/roleManagement/directory/roleAssignments?$filter=principalId eq '{group}'"), &admin)
        .await;
    assert!(held.is_empty(), "{held:?}");
    pim.stop().await;
}
