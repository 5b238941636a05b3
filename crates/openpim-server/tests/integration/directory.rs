//! Directory operations across entity kinds: who may read the directory, and what deleting a
//! user or group takes with it.

use crate::common;
use crate::pim;

use common::{assert_graph_error, TestServer, RM, USER_ADMINISTRATOR};
use pim::{no_expiration, request, Pim, ELIGIBILITY_SCHEDULES};
use reqwest::StatusCode;
use serde_json::json;

const DIRECTORY_READERS: &str = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b";

/// Entra's default user permissions let members read the directory; guests need a role that
/// grants it (Directory Readers here). `/me` is open to any signed-in caller.
#[tokio::test]
async fn guests_need_a_role_to_read_the_directory() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let member = ts.create_user("member@openpim.test").await;
    let group = ts.create_group("Readers", false).await;
    let unit = ts.create_au("West").await;
    let (status, guest) = ts
        .client
        .post(
            "/v1.0/users",
            &admin,
            json!({"userPrincipalName": "guest@openpim.test", "displayName": "Guest", "userType": "Guest"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{guest}");
    let guest_id = guest["id"].as_str().expect("guest id").to_string();
    let reads = [
        "/v1.0/users".to_string(),
        format!("/v1.0/users/{member}"),
        format!("/v1.0/users/{member}/memberOf"),
        "/v1.0/groups".to_string(),
        format!("/v1.0/groups/{group}"),
        format!("/v1.0/groups/{group}/members"),
        "/v1.0/directory/administrativeUnits".to_string(),
        format!("/v1.0/directory/administrativeUnits/{unit}/members"),
        "/v1.0/applications".to_string(),
        "/v1.0/servicePrincipals".to_string(),
    ];
    let (guest_token, member_token) = (ts.token_for("guest@openpim.test"), ts.token_for("member@openpim.test"));
    for path in &reads {
        let (status, body) = ts.client.get(path, &guest_token).await;
        assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
        let (status, body) = ts.client.get(path, &member_token).await;
        assert_eq!(status, StatusCode::OK, "member GET {path}: {body}");
    }
    let (status, body) = ts.client.get("/v1.0/users/$count", &guest_token).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    // The guest may still read itself.
    let (status, me) = ts.client.get("/v1.0/me", &guest_token).await;
    assert_eq!((status, me["id"].as_str()), (StatusCode::OK, Some(guest_id.as_str())), "{me}");
    let (status, body) = ts.client.get("/v1.0/me/memberOf", &guest_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // With Directory Readers, the guest reads what members read.
    ts.assign_role(&guest_id, DIRECTORY_READERS, "/").await;
    for path in &reads {
        let (status, body) = ts.client.get(path, &guest_token).await;
        assert_eq!(status, StatusCode::OK, "guest reader GET {path}: {body}");
    }
    let (status, users) = ts.client.get("/v1.0/users?$select=id", &guest_token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(users["value"].as_array().unwrap().iter().any(|u| u["id"] == member.as_str()), "{users}");
    ts.stop().await;
}

/// A user or group is a directory scope (`/{objectId}`): deleting it removes the assignments
/// and eligibilities scoped to it, in the same write, and audits nothing else.
#[tokio::test]
async fn deleting_a_user_or_group_removes_what_is_scoped_to_it() {
    let pim = Pim::start().await;
    let admin = pim.admin_token();
    let (helpdesk, _) = pim.user("helpdesk").await;
    let (target_user, _) = pim.user("target").await;
    let target_group = pim.group("Target group", false).await;
    for (scope_object, path) in
        [(&target_user, format!("/v1.0/users/{target_user}")), (&target_group, format!("/v1.0/groups/{target_group}"))]
    {
        let scope = format!("/{scope_object}");
        let (status, assigned) = pim
            .client
            .post(
                &format!("{RM}/roleAssignments"),
                &admin,
                json!({"principalId": helpdesk, "roleDefinitionId": USER_ADMINISTRATOR, "directoryScopeId": scope}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{assigned}");
        let mut eligible = request("adminAssign", &helpdesk, USER_ADMINISTRATOR, Some(no_expiration()));
        eligible["directoryScopeId"] = json!(scope);
        let (status, body) = pim.eligibility_request(&admin, eligible).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let scoped = |items: Vec<serde_json::Value>| {
            items.into_iter().filter(|i| i["directoryScopeId"] == scope.as_str()).count()
        };
        let at_scope = format!("{RM}/roleAssignments?$filter=principalId eq '{helpdesk}'");
        assert_eq!(scoped(pim.list(&at_scope, &admin).await), 1);
        assert_eq!(scoped(pim.rows_of(ELIGIBILITY_SCHEDULES, &helpdesk).await), 1);

        let (status, body) = pim.client.delete(&path, &admin).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        assert_eq!(scoped(pim.list(&at_scope, &admin).await), 0, "the assignment at {scope} went with it");
        assert_eq!(scoped(pim.rows_of(ELIGIBILITY_SCHEDULES, &helpdesk).await), 0, "the eligibility too");
        let (status, body) =
            pim.client.get(&format!("{RM}/roleAssignments/{}", assigned["id"].as_str().unwrap()), &admin).await;
        assert_graph_error(status, &body, 404, "Request_ResourceNotFound");
    }
    pim.stop().await;
}

/// Nobody deletes their own account, whatever their rights.
#[tokio::test]
async fn an_admin_cannot_delete_itself() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let (status, me) = ts.client.get("/v1.0/me", &admin).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = ts.client.delete(&format!("/v1.0/users/{}", me["id"].as_str().unwrap()), &admin).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    assert!(body["error"]["message"].as_str().unwrap().contains("your own account"), "{body}");
    let (status, _) = ts.client.get("/v1.0/me", &admin).await;
    assert_eq!(status, StatusCode::OK, "still there");
    ts.stop().await;
}
