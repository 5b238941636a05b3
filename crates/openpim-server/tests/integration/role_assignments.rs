//! `/roleManagement/directory/roleAssignments`: direct assignments and their effect on access.

use crate::common;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn ras() -> String {
    format!("{RM}/roleAssignments")
}

fn body(principal: &str, role: &str, scope: &str) -> Value {
    json!({"@odata.type": "#microsoft.graph.unifiedRoleAssignment",
           "principalId": principal, "roleDefinitionId": role, "directoryScopeId": scope})
}

#[tokio::test]
async fn create_validate_get_delete() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let user = ts.create_user("helpdesk@openpim.test").await;
    let before = ts.count(&ras()).await;
    assert_eq!(before, 1, "only the bootstrap Global Administrator");

    let (status, a) = ts.client.post(&ras(), &admin, body(&user, USER_ADMINISTRATOR, "/")).await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    assert!(a["@odata.context"]
        .as_str()
        .unwrap()
        .ends_with("$metadata#roleManagement/directory/roleAssignments/$entity"));
    let id = a["id"].as_str().unwrap().to_string();
    assert!(!id.is_empty());
    assert_eq!(a["principalId"], user.as_str());
    assert_eq!(a["roleDefinitionId"], USER_ADMINISTRATOR);
    assert_eq!(a["directoryScopeId"], "/");

    // Duplicate.
    let (status, b) = ts.client.post(&ras(), &admin, body(&user, USER_ADMINISTRATOR, "/")).await;
    assert_graph_error(status, &b, 409, "RoleAssignmentExists");

    // Groups: only role-assignable ones.
    let plain = ts.create_group("Plain", false).await;
    let (status, b) = ts.client.post(&ras(), &admin, body(&plain, USER_ADMINISTRATOR, "/")).await;
    assert_graph_error(status, &b, 400, "Request_BadRequest");
    let ra = ts.create_group("Assignable", true).await;
    let (status, b) = ts.client.post(&ras(), &admin, body(&ra, USER_ADMINISTRATOR, "/")).await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    let group_assignment = b["id"].as_str().unwrap().to_string();

    // Unknown role, unknown principal, bad scopes, missing fields.
    let ghost = uuid::Uuid::new_v4().to_string();
    let (status, b) = ts.client.post(&ras(), &admin, body(&user, &ghost, "/")).await;
    assert_graph_error(status, &b, 400, "RoleDefinitionDoesNotExist");
    let (status, b) = ts.client.post(&ras(), &admin, body(&ghost, GLOBAL_READER, "/")).await;
    assert_graph_error(status, &b, 400, "Request_BadRequest");
    for scope in ["", "tenant", "/administrativeUnits/not-a-guid", "/nope/x"] {
        let (status, b) = ts.client.post(&ras(), &admin, body(&user, GLOBAL_READER, scope)).await;
        assert_graph_error(status, &b, 400, "InvalidDirectoryScope");
    }
    let (status, b) =
        ts.client.post(&ras(), &admin, body(&user, GLOBAL_READER, &format!("/administrativeUnits/{ghost}"))).await;
    assert_graph_error(status, &b, 400, "Request_BadRequest");
    let (status, b) =
        ts.client.post(&ras(), &admin, json!({"principalId": user, "roleDefinitionId": GLOBAL_READER})).await;
    assert_graph_error(status, &b, 400, "Request_BadRequest");
    let (status, b) = ts
        .client
        .post(
            &ras(),
            &admin,
            json!({"principalId": "nope", "roleDefinitionId": GLOBAL_READER, "directoryScopeId": "/"}),
        )
        .await;
    assert_graph_error(status, &b, 400, "Request_BadRequest");
    assert_eq!(ts.count(&ras()).await, before + 2);

    // Get, with and without expansion.
    let (status, got) = ts.client.get(&format!("{}/{id}", ras()), &admin).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["principalId"], user.as_str());
    let (status, got) = ts.client.get(&format!("{}/{group_assignment}?$expand=principal", ras()), &admin).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["principal"]["@odata.type"], "#microsoft.graph.group");
    assert_eq!(got["principal"]["id"], ra.as_str());
    let (status, got) = ts.client.get(&format!("{}/{id}?$expand=nonsense", ras()), &admin).await;
    assert_graph_error(status, &got, 400, "Request_BadRequest");

    // Delete.
    let (status, b) = ts.client.delete(&format!("{}/{id}", ras()), &admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{b}");
    let (status, b) = ts.client.get(&format!("{}/{id}", ras()), &admin).await;
    assert_graph_error(status, &b, 404, "Request_ResourceNotFound");
    let (status, b) = ts.client.delete(&format!("{}/{id}", ras()), &admin).await;
    assert_graph_error(status, &b, 404, "Request_ResourceNotFound");
    // It can be created again afterwards.
    let (status, b) = ts.client.post(&ras(), &admin, body(&user, USER_ADMINISTRATOR, "/")).await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    ts.stop().await;
}

#[tokio::test]
async fn list_filters_and_expand() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let alice = ts.create_user("alice@openpim.test").await;
    let bob = ts.create_user("bob@openpim.test").await;
    let au = ts.create_au("Unit").await;
    let a1 = ts.assign_role(&alice, GLOBAL_READER, "/").await;
    let a2 = ts.assign_role(&alice, USER_ADMINISTRATOR, &format!("/administrativeUnits/{au}")).await;
    let a3 = ts.assign_role(&bob, GLOBAL_READER, "/").await;

    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let get_ids = |q: String| {
        let ts = &ts;
        let admin = admin.clone();
        async move {
            let (status, body) = ts.client.get(&format!("{}?{q}", ras()), &admin).await;
            assert_eq!(status, StatusCode::OK, "{q}: {body}");
            assert!(body["@odata.context"].as_str().unwrap().ends_with("roleManagement/directory/roleAssignments"));
            sorted(ids(&body))
        }
    };
    assert_eq!(get_ids(format!("$filter=principalId eq '{alice}'")).await, sorted(vec![a1.clone(), a2.clone()]));
    assert_eq!(
        get_ids(format!("$filter=roleDefinitionId eq '{GLOBAL_READER}'")).await,
        sorted(vec![a1.clone(), a3.clone()])
    );
    let tenant_wide = get_ids("$filter=directoryScopeId eq '/'".to_string()).await;
    assert_eq!(tenant_wide.len(), 3, "bootstrap GA + two Global Readers");
    assert!(tenant_wide.contains(&a1) && tenant_wide.contains(&a3) && !tenant_wide.contains(&a2));
    assert_eq!(
        get_ids(format!("$filter=principalId eq '{alice}' and roleDefinitionId eq '{GLOBAL_READER}'")).await,
        vec![a1.clone()]
    );
    assert_eq!(get_ids(format!("$filter=directoryScopeId eq '/administrativeUnits/{au}'")).await, vec![a2.clone()]);

    let (status, body) = ts
        .client
        .get(&format!("{}?$filter=principalId eq '{alice}'&$expand=principal,roleDefinition", ras()), &admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for item in body["value"].as_array().unwrap() {
        assert_eq!(item["principal"]["@odata.type"], "#microsoft.graph.user", "{item}");
        assert_eq!(item["principal"]["id"], alice.as_str());
        assert_eq!(item["principal"]["userPrincipalName"], "alice@openpim.test");
        let name = item["roleDefinition"]["displayName"].as_str().expect("expanded roleDefinition");
        assert!(name == "Global Reader" || name == "User Administrator", "{item}");
        assert_eq!(item["roleDefinition"]["id"], item["roleDefinitionId"]);
    }
    // Without $expand there are no navigation properties.
    let (_, body) = ts.client.get(&format!("{}?$filter=principalId eq '{bob}'", ras()), &admin).await;
    assert!(body["value"][0].get("principal").is_none(), "{body}");
    ts.stop().await;
}

#[tokio::test]
async fn last_global_administrator_stays() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let (_, list) =
        ts.client.get(&format!("{}?$filter=roleDefinitionId eq '{GLOBAL_ADMINISTRATOR}'", ras()), &admin).await;
    let only = ids(&list);
    assert_eq!(only.len(), 1);
    let (status, body) = ts.client.delete(&format!("{}/{}", ras(), only[0]), &admin).await;
    assert_graph_error(status, &body, 400, "LastGlobalAdministrator");
    assert_eq!(ts.client.get(&format!("{}/{}", ras(), only[0]), &admin).await.0, StatusCode::OK);

    // With a second Global Administrator, the first assignment may go.
    let (second, second_token) = ts.user_with_role("ga2@openpim.test", GLOBAL_ADMINISTRATOR).await;
    let (status, body) = ts.client.delete(&format!("{}/{}", ras(), only[0]), &second_token).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, list) =
        ts.client.get(&format!("{}?$filter=roleDefinitionId eq '{GLOBAL_ADMINISTRATOR}'", ras()), &second_token).await;
    let remaining = ids(&list);
    assert_eq!(remaining.len(), 1);
    assert_eq!(list["value"][0]["principalId"], second.as_str());
    let (status, body) = ts.client.delete(&format!("{}/{}", ras(), remaining[0]), &second_token).await;
    assert_graph_error(status, &body, 400, "LastGlobalAdministrator");
    ts.stop().await;
}

#[tokio::test]
async fn assignments_take_effect_immediately() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let pra = ts.create_user("pra@openpim.test").await;
    let target = ts.create_user("target@openpim.test").await;
    let token = ts.token_for("pra@openpim.test");

    let (status, b) = ts.client.post(&ras(), &token, body(&target, GLOBAL_READER, "/")).await;
    assert_graph_error(status, &b, 403, "Authorization_RequestDenied");

    let grant = ts.assign_role(&pra, PRIVILEGED_ROLE_ADMINISTRATOR, "/").await;
    let (status, b) = ts.client.post(&ras(), &token, body(&target, GLOBAL_READER, "/")).await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    let made = b["id"].as_str().unwrap().to_string();

    let (status, _) = ts.client.delete(&format!("{}/{grant}", ras()), &admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, b) = ts.client.post(&ras(), &token, body(&target, USER_ADMINISTRATOR, "/")).await;
    assert_graph_error(status, &b, 403, "Authorization_RequestDenied");
    let (status, b) = ts.client.delete(&format!("{}/{made}", ras()), &token).await;
    assert_graph_error(status, &b, 403, "Authorization_RequestDenied");
    assert_eq!(ts.client.get(&format!("{}/{made}", ras()), &admin).await.0, StatusCode::OK);
    ts.stop().await;
}

#[tokio::test]
async fn roles_inherited_through_role_assignable_groups() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let group = ts.create_group("User Admins", true).await;
    ts.assign_role(&group, USER_ADMINISTRATOR, "/").await;
    let member = ts.create_user("member@openpim.test").await;
    let token = ts.token_for("member@openpim.test");
    let new_user = |n: u32| json!({"userPrincipalName": format!("n{n}@openpim.test"), "displayName": format!("N{n}")});

    let (status, b) = ts.client.post("/v1.0/users", &token, new_user(1)).await;
    assert_graph_error(status, &b, 403, "Authorization_RequestDenied");

    ts.add_group_member(&group, &member).await;
    let (status, b) = ts.client.post("/v1.0/users", &token, new_user(2)).await;
    assert_eq!(status, StatusCode::CREATED, "{b}");

    let (status, _) = ts.client.delete(&format!("/v1.0/groups/{group}/members/{member}/$ref"), &admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, b) = ts.client.post("/v1.0/users", &token, new_user(3)).await;
    assert_graph_error(status, &b, 403, "Authorization_RequestDenied");
    // member + admin + n2
    assert_eq!(ts.count("/v1.0/users").await, 3);
    ts.stop().await;
}

#[tokio::test]
async fn non_admins_cannot_assign() {
    let ts = TestServer::start().await;
    let (me, ua) = ts.user_with_role("ua@openpim.test", USER_ADMINISTRATOR).await;
    // Not even to themselves (authorisation comes before the duplicate check), and not upwards.
    for role in [USER_ADMINISTRATOR, GLOBAL_ADMINISTRATOR, GLOBAL_READER] {
        let (status, b) = ts.client.post(&ras(), &ua, body(&me, role, "/")).await;
        assert_graph_error(status, &b, 403, "Authorization_RequestDenied");
    }
    let (_, list) = ts.client.get(&ras(), &ts.admin_token()).await;
    let first = ids(&list)[0].clone();
    let (status, b) = ts.client.delete(&format!("{}/{first}", ras()), &ua).await;
    assert_graph_error(status, &b, 403, "Authorization_RequestDenied");
    assert_eq!(ts.count(&ras()).await, 2);
    ts.stop().await;
}

#[tokio::test]
async fn deleting_principals_removes_their_assignments() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let user = ts.create_user("leaver@openpim.test").await;
    ts.assign_role(&user, GLOBAL_READER, "/").await;
    let group = ts.create_group("Readers", true).await;
    ts.assign_role(&group, GLOBAL_READER, "/").await;
    let member = ts.create_user("member@openpim.test").await;
    ts.add_group_member(&group, &member).await;
    let member_token = ts.token_for("member@openpim.test");
    assert_eq!(ts.client.get("/v1.0/auditLogs/directoryAudits?$top=1", &member_token).await.0, StatusCode::OK);

    assert_eq!(ts.client.delete(&format!("/v1.0/users/{user}"), &admin).await.0, StatusCode::NO_CONTENT);
    let (_, list) = ts.client.get(&format!("{}?$filter=principalId eq '{user}'", ras()), &admin).await;
    assert!(ids(&list).is_empty(), "{list}");

    assert_eq!(ts.client.delete(&format!("/v1.0/groups/{group}"), &admin).await.0, StatusCode::NO_CONTENT);
    let (_, list) = ts.client.get(&format!("{}?$filter=principalId eq '{group}'", ras()), &admin).await;
    assert!(ids(&list).is_empty(), "{list}");
    // The former member lost the role with the group.
    let (status, body) = ts.client.get("/v1.0/auditLogs/directoryAudits?$top=1", &member_token).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    let (_, body) = ts.client.get("/v1.0/me/memberOf", &member_token).await;
    assert!(ids(&body).is_empty(), "{body}");
    ts.stop().await;
}

#[tokio::test]
async fn deleting_a_group_cannot_remove_the_last_global_administrator() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let group = ts.create_group("Global Admins", true).await;
    ts.assign_role(&group, GLOBAL_ADMINISTRATOR, "/").await;
    let member = ts.create_user("ga-member@openpim.test").await;
    ts.add_group_member(&group, &member).await;
    let member_token = ts.token_for("ga-member@openpim.test");

    // The member, a Global Administrator through the group, removes the bootstrap admin's
    // direct assignment: allowed, the group's assignment remains.
    let (_, list) = ts.client.get(&format!("{}?$filter=principalId eq '{}'", ras(), ts.admin_id), &admin).await;
    let direct = ids(&list)[0].clone();
    assert_eq!(ts.client.delete(&format!("{}/{direct}", ras()), &member_token).await.0, StatusCode::NO_CONTENT);

    // Deleting the group would now delete the last Global Administrator assignment.
    let (status, b) = ts.client.delete(&format!("/v1.0/groups/{group}"), &member_token).await;
    assert_graph_error(status, &b, 400, "LastGlobalAdministrator");
    assert_eq!(ts.client.get(&format!("/v1.0/groups/{group}"), &member_token).await.0, StatusCode::OK);
    let (status, b) = ts
        .client
        .post("/v1.0/users", &member_token, json!({"userPrincipalName": "still@openpim.test", "displayName": "S"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "the tenant still has an administrator: {b}");

    // With another Global Administrator in place, the group may go.
    let (status, b) = ts.client.post(&ras(), &member_token, body(&ts.admin_id, GLOBAL_ADMINISTRATOR, "/")).await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    let (status, b) = ts.client.delete(&format!("/v1.0/groups/{group}"), &member_token).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{b}");
    ts.stop().await;
}

// Real parallelism: server and clients on several worker threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicate_assignments() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let user = ts.create_user("race@openpim.test").await;
    let attempts: Vec<_> = (0..12)
        .map(|_| {
            let client = ts.client.clone();
            let admin = admin.clone();
            let b = body(&user, GLOBAL_READER, "/");
            tokio::spawn(async move { client.post(&ras(), &admin, b).await })
        })
        .collect();
    let mut created = 0;
    for handle in attempts {
        let (status, b) = handle.await.unwrap();
        if status == StatusCode::CREATED {
            created += 1;
        } else {
            assert_graph_error(status, &b, 409, "RoleAssignmentExists");
        }
    }
    assert_eq!(created, 1);
    let (_, list) = ts.client.get(&format!("{}?$filter=principalId eq '{user}'", ras()), &admin).await;
    assert_eq!(ids(&list).len(), 1);
    ts.stop().await;
}

/// Graph's role assignments carry `resourceScope` beside `directoryScopeId` ("/" tenant-wide, as
/// its examples show), and older examples create them with `resourceScope` alone. Before, the
/// property was missing and such a body was a 400.
#[tokio::test]
async fn resource_scope_is_returned_and_accepted() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let user = ts.create_user("scoped@openpim.test").await;
    let (status, a) = ts
        .client
        .post(&ras(), &admin, json!({"principalId": user, "roleDefinitionId": GLOBAL_READER, "resourceScope": "/"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    assert_eq!(a["directoryScopeId"], "/");
    assert_eq!(a["resourceScope"], "/");
    let (status, got) = ts.client.get(&format!("{}/{}", ras(), a["id"].as_str().unwrap()), &admin).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["resourceScope"], "/");
    let (status, listed) = ts.client.get(&format!("{}?$select=id,resourceScope", ras()), &admin).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert!(listed["value"].as_array().unwrap().iter().all(|v| v["resourceScope"] == "/"), "{listed}");
    let au = ts.create_au("Scope unit").await;
    let (status, b) = ts
        .client
        .post(
            &ras(),
            &admin,
            json!({"principalId": user, "roleDefinitionId": USER_ADMINISTRATOR,
                   "directoryScopeId": "/", "resourceScope": format!("/administrativeUnits/{au}")}),
        )
        .await;
    assert_graph_error(status, &b, 400, "Request_BadRequest");
    ts.stop().await;
}
