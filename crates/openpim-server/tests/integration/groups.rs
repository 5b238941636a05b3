//! `/groups`: security and role-assignable groups, members via `$ref`, and who may manage them.

use crate::common;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn group_body(name: &str, role_assignable: bool) -> Value {
    json!({"displayName": name, "mailEnabled": false, "mailNickname": name.replace(' ', ""),
           "securityEnabled": true, "isAssignableToRole": role_assignable})
}

#[tokio::test]
async fn create_get_update_delete() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let (status, g) = ts
        .client
        .post(
            "/v1.0/groups",
            &admin,
            json!({"displayName": "Engineering", "mailEnabled": false, "mailNickname": "eng", "securityEnabled": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{g}");
    assert!(g["@odata.context"].as_str().unwrap().ends_with("$metadata#groups/$entity"), "{g}");
    assert_eq!(g["displayName"], "Engineering");
    assert_eq!(g["securityEnabled"], true);
    assert_eq!(g["mailEnabled"], false);
    assert_eq!(g["isAssignableToRole"], false);
    let id = g["id"].as_str().unwrap().to_string();

    let (status, ra) = ts.client.post("/v1.0/groups", &admin, group_body("Tier0 Admins", true)).await;
    assert_eq!(status, StatusCode::CREATED, "{ra}");
    assert_eq!(ra["isAssignableToRole"], true);
    assert_eq!(ra["securityEnabled"], true);
    let ra_id = ra["id"].as_str().unwrap().to_string();

    let (status, got) = ts.client.get(&format!("/v1.0/groups/{ra_id}"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["isAssignableToRole"], true);

    let (status, list) = ts.client.get("/v1.0/groups?$filter=isAssignableToRole eq true", &admin).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(ids(&list), vec![ra_id.clone()]);

    let (status, body) =
        ts.client.patch(&format!("/v1.0/groups/{id}"), &admin, json!({"description": "Builders"})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, got) = ts.client.get(&format!("/v1.0/groups/{id}"), &admin).await;
    assert_eq!(got["description"], "Builders");

    let (status, _) = ts.client.delete(&format!("/v1.0/groups/{id}"), &admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = ts.client.get(&format!("/v1.0/groups/{id}"), &admin).await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");
    assert_eq!(ts.count("/v1.0/groups").await, 1);
    ts.stop().await;
}

#[tokio::test]
async fn role_assignable_rules() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    // Role-assignable groups must be security groups.
    let (status, body) = ts
        .client
        .post(
            "/v1.0/groups",
            &admin,
            json!({"displayName": "Bad", "mailEnabled": true, "mailNickname": "bad", "securityEnabled": false, "isAssignableToRole": true}),
        )
        .await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    // Required flags missing.
    let (status, body) = ts.client.post("/v1.0/groups", &admin, json!({"displayName": "NoFlags"})).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    assert_eq!(ts.count("/v1.0/groups").await, 0);

    // isAssignableToRole is immutable both ways.
    let plain = ts.create_group("Plain", false).await;
    let ra = ts.create_group("Privileged", true).await;
    let (status, body) =
        ts.client.patch(&format!("/v1.0/groups/{plain}"), &admin, json!({"isAssignableToRole": true})).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    assert!(body["error"]["message"].as_str().unwrap().contains("isAssignableToRole"), "{body}");
    let (status, body) =
        ts.client.patch(&format!("/v1.0/groups/{ra}"), &admin, json!({"isAssignableToRole": false})).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    let (_, got) = ts.client.get(&format!("/v1.0/groups/{plain}"), &admin).await;
    assert_eq!(got["isAssignableToRole"], false);
    let (_, got) = ts.client.get(&format!("/v1.0/groups/{ra}"), &admin).await;
    assert_eq!(got["isAssignableToRole"], true);
    ts.stop().await;
}

#[tokio::test]
async fn members_via_ref() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let group = ts.create_group("Team", false).await;
    let user = ts.create_user("member@openpim.test").await;
    let members = format!("/v1.0/groups/{group}/members");

    let (status, body) = ts.client.post(&format!("{members}/$ref"), &admin, reference(&user)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(body.is_null());

    let (status, list) = ts.client.get(&members, &admin).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(ids(&list), vec![user.clone()]);
    assert_eq!(list["value"][0]["@odata.type"], "#microsoft.graph.user");
    assert_eq!(list["value"][0]["userPrincipalName"], "member@openpim.test");

    // Adding twice.
    let (status, body) = ts.client.post(&format!("{members}/$ref"), &admin, reference(&user)).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    // Adding something that does not exist.
    let ghost = uuid::Uuid::new_v4().to_string();
    let (status, body) = ts.client.post(&format!("{members}/$ref"), &admin, reference(&ghost)).await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");
    // A malformed reference body.
    let (status, body) = ts.client.post(&format!("{members}/$ref"), &admin, json!({"@odata.id": "not a url"})).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    // A group inside itself.
    let (status, body) = ts.client.post(&format!("{members}/$ref"), &admin, reference(&group)).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");

    // A plain group may contain a group; a role-assignable group may not.
    let inner = ts.create_group("Inner", false).await;
    let (status, body) = ts.client.post(&format!("{members}/$ref"), &admin, reference(&inner)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, list) = ts.client.get(&members, &admin).await;
    assert_eq!(ids(&list).len(), 2);
    let ra = ts.create_group("Tier0", true).await;
    let (status, body) = ts.client.post(&format!("/v1.0/groups/{ra}/members/$ref"), &admin, reference(&inner)).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    let (_, list) = ts.client.get(&format!("/v1.0/groups/{ra}/members"), &admin).await;
    assert!(ids(&list).is_empty(), "{list}");

    // Removal.
    let (status, body) = ts.client.delete(&format!("{members}/{user}/$ref"), &admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, list) = ts.client.get(&members, &admin).await;
    assert_eq!(ids(&list), vec![inner.clone()]);
    let (status, body) = ts.client.delete(&format!("{members}/{user}/$ref"), &admin).await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");
    ts.stop().await;
}

#[tokio::test]
async fn who_may_manage_groups() {
    let ts = TestServer::start().await;
    let (_, ua) = ts.user_with_role("ua@openpim.test", USER_ADMINISTRATOR).await;
    let (_, ga) = ts.user_with_role("groups@openpim.test", GROUPS_ADMINISTRATOR).await;
    let (_, pra) = ts.user_with_role("pra@openpim.test", PRIVILEGED_ROLE_ADMINISTRATOR).await;
    ts.create_user("plain@openpim.test").await;
    let plain = ts.token_for("plain@openpim.test");
    let alice = ts.create_user("alice@openpim.test").await;
    let ordinary = ts.create_group("Ordinary", false).await;
    let ra = ts.create_group("Role Holders", true).await;

    for (who, token) in [("User Administrator", &ua), ("Groups Administrator", &ga)] {
        // Ordinary groups: create, add and remove members.
        let (status, body) = ts.client.post("/v1.0/groups", token, group_body(&format!("{who} group"), false)).await;
        assert_eq!(status, StatusCode::CREATED, "{who}: {body}");
        let (status, body) =
            ts.client.post(&format!("/v1.0/groups/{ordinary}/members/$ref"), token, reference(&alice)).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{who}: {body}");
        let (status, body) = ts.client.delete(&format!("/v1.0/groups/{ordinary}/members/{alice}/$ref"), token).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{who}: {body}");

        // Role-assignable groups: denied.
        let (status, body) = ts.client.post("/v1.0/groups", token, group_body(&format!("{who} RA group"), true)).await;
        assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
        let (status, body) = ts.client.post(&format!("/v1.0/groups/{ra}/members/$ref"), token, reference(&alice)).await;
        assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
        let (status, body) = ts.client.patch(&format!("/v1.0/groups/{ra}"), token, json!({"description": "x"})).await;
        assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
        let (status, body) = ts.client.delete(&format!("/v1.0/groups/{ra}"), token).await;
        assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    }
    let (_, list) = ts.client.get(&format!("/v1.0/groups/{ra}/members"), &ts.admin_token()).await;
    assert!(ids(&list).is_empty(), "{list}");

    // A user without a role can do neither.
    let (status, body) = ts.client.post("/v1.0/groups", &plain, group_body("Nope", false)).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    let (status, body) =
        ts.client.post(&format!("/v1.0/groups/{ordinary}/members/$ref"), &plain, reference(&alice)).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");

    // The Privileged Role Administrator may manage role-assignable groups.
    let (status, body) = ts.client.post("/v1.0/groups", &pra, group_body("PRA RA group", true)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = ts.client.post(&format!("/v1.0/groups/{ra}/members/$ref"), &pra, reference(&alice)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, list) = ts.client.get(&format!("/v1.0/groups/{ra}/members"), &ts.admin_token()).await;
    assert_eq!(ids(&list), vec![alice.clone()]);
    let (status, body) = ts.client.delete(&format!("/v1.0/groups/{ra}/members/{alice}/$ref"), &pra).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // 2 admin-made + 1 by each of UA and GA + 1 by PRA.
    assert_eq!(ts.count("/v1.0/groups").await, 5);
    ts.stop().await;
}
