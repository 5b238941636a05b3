//! `/users` and `/me`: CRUD, lookups, and who may change whom.

use crate::common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn create_get_list_update_delete() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let (status, created) = ts
        .client
        .post(
            "/v1.0/users",
            &admin,
            json!({"accountEnabled": true, "displayName": "Alice Example", "mailNickname": "alice",
                   "userPrincipalName": "alice@openpim.test",
                   "passwordProfile": {"forceChangePasswordNextSignIn": true, "password": "x"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    uuid::Uuid::parse_str(&id).expect("id is a GUID");
    assert_eq!(created["userPrincipalName"], "alice@openpim.test");
    assert_eq!(created["displayName"], "Alice Example");
    assert_eq!(created["accountEnabled"], true);
    assert!(created["@odata.context"].as_str().unwrap().ends_with("$metadata#users/$entity"), "{created}");
    assert!(created.get("passwordProfile").is_none(), "passwords are never echoed: {created}");

    // By id, by UPN, and by percent-encoded UPN.
    for key in [id.as_str(), "alice@openpim.test", "alice%40openpim.test", "ALICE@openpim.test"] {
        let (status, got) = ts.client.get(&format!("/v1.0/users/{key}"), &admin).await;
        assert_eq!(status, StatusCode::OK, "{key}: {got}");
        assert_eq!(got["id"], id.as_str(), "{key}");
        assert!(got["@odata.context"].as_str().unwrap().ends_with("#users/$entity"));
    }

    // List holds the admin and Alice.
    let (status, list) = ts.client.get("/v1.0/users", &admin).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(list["@odata.context"].as_str().unwrap().ends_with("$metadata#users"), "{list}");
    let all = ids(&list);
    assert_eq!(all.len(), 2, "{list}");
    assert!(all.contains(&id) && all.contains(&ts.admin_id));

    // PATCH → 204, no body; the change is visible.
    let (status, body) = ts
        .client
        .patch(&format!("/v1.0/users/{id}"), &admin, json!({"displayName": "Alice Renamed", "jobTitle": "Engineer"}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(body.is_null(), "{body}");
    let (_, got) = ts.client.get(&format!("/v1.0/users/{id}"), &admin).await;
    assert_eq!(got["displayName"], "Alice Renamed");
    assert_eq!(got["jobTitle"], "Engineer");
    // Clearing a nullable property with null.
    let (status, _) = ts.client.patch(&format!("/v1.0/users/{id}"), &admin, json!({"jobTitle": null})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, got) = ts.client.get(&format!("/v1.0/users/{id}"), &admin).await;
    assert!(got["jobTitle"].is_null(), "{got}");

    // DELETE → 204, then 404 for get, patch and delete.
    let (status, body) = ts.client.delete(&format!("/v1.0/users/{id}"), &admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = ts.client.get(&format!("/v1.0/users/{id}"), &admin).await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");
    let (status, body) = ts.client.patch(&format!("/v1.0/users/{id}"), &admin, json!({"displayName": "x"})).await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");
    let (status, body) = ts.client.delete(&format!("/v1.0/users/{id}"), &admin).await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");
    let (status, body) = ts.client.get("/v1.0/users/nobody@openpim.test", &admin).await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");
    assert_eq!(ts.count("/v1.0/users").await, 1);
    ts.stop().await;
}

#[tokio::test]
async fn create_validation() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    ts.create_user("bob@openpim.test").await;
    // Duplicate UPN (also differently cased).
    for upn in ["bob@openpim.test", "BOB@openpim.test"] {
        let (status, body) =
            ts.client.post("/v1.0/users", &admin, json!({"userPrincipalName": upn, "displayName": "Bob 2"})).await;
        assert_graph_error(status, &body, 400, "Request_BadRequest");
    }
    // Missing or invalid required fields.
    for bad in [
        json!({"displayName": "No UPN"}),
        json!({"userPrincipalName": "noname@openpim.test"}),
        json!({"userPrincipalName": "not-an-upn", "displayName": "x"}),
        json!({"userPrincipalName": "a b@openpim.test", "displayName": "x"}),
        json!({"userPrincipalName": "ok@openpim.test", "displayName": "   "}),
    ] {
        let (status, body) = ts.client.post("/v1.0/users", &admin, bad.clone()).await;
        assert_graph_error(status, &body, 400, "Request_BadRequest");
    }
    // Renaming onto an existing UPN is refused too.
    let other = ts.create_user("dave@openpim.test").await;
    let (status, body) = ts
        .client
        .patch(&format!("/v1.0/users/{other}"), &admin, json!({"userPrincipalName": "bob@openpim.test"}))
        .await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    assert!(body["error"]["message"].as_str().unwrap().contains("userPrincipalName"), "{body}");
    assert_eq!(ts.count("/v1.0/users").await, 3);
    let (_, got) = ts.client.get(&format!("/v1.0/users/{other}"), &admin).await;
    assert_eq!(got["userPrincipalName"], "dave@openpim.test");
    ts.stop().await;
}

#[tokio::test]
async fn me_and_member_of() {
    let ts = TestServer::start().await;
    let id = ts.create_user("erin@openpim.test").await;
    let token = ts.token_for("erin@openpim.test");
    let (status, me) = ts.client.get("/v1.0/me", &token).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["id"], id.as_str());
    assert_eq!(me["userPrincipalName"], "erin@openpim.test");

    let (status, body) = ts.client.get("/v1.0/me/memberOf", &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(ids(&body).is_empty());

    let g1 = ts.create_group("Team One", false).await;
    let g2 = ts.create_group("Admins", true).await;
    ts.create_group("Unrelated", false).await;
    ts.add_group_member(&g1, &id).await;
    ts.add_group_member(&g2, &id).await;

    for path in ["/v1.0/me/memberOf".to_string(), format!("/v1.0/users/{id}/memberOf")] {
        let (status, body) = ts.client.get(&path, &token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let mut got = ids(&body);
        got.sort();
        let mut want = vec![g1.clone(), g2.clone()];
        want.sort();
        assert_eq!(got, want, "{path}");
        for g in body["value"].as_array().unwrap() {
            assert_eq!(g["@odata.type"], "#microsoft.graph.group");
        }
    }
    ts.stop().await;
}

#[tokio::test]
async fn regular_users_cannot_change_the_directory() {
    let ts = TestServer::start().await;
    let target = ts.create_user("target@openpim.test").await;
    ts.create_user("plain@openpim.test").await;
    let token = ts.token_for("plain@openpim.test");

    // Reading is fine.
    assert_eq!(ts.client.get("/v1.0/users", &token).await.0, StatusCode::OK);

    let (status, body) =
        ts.client.post("/v1.0/users", &token, json!({"userPrincipalName": "x@openpim.test", "displayName": "X"})).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    let (status, body) =
        ts.client.patch(&format!("/v1.0/users/{target}"), &token, json!({"displayName": "Pwned"})).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    let (status, body) = ts.client.delete(&format!("/v1.0/users/{target}"), &token).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    let (status, body) =
        ts.client.patch(&format!("/v1.0/users/{}", ts.admin_id), &token, json!({"accountEnabled": false})).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");

    // Nothing changed.
    assert_eq!(ts.count("/v1.0/users").await, 3);
    let (_, got) = ts.client.get(&format!("/v1.0/users/{target}"), &ts.admin_token()).await;
    assert_eq!(got["displayName"], "target");
    ts.stop().await;
}

#[tokio::test]
async fn user_administrator_limits() {
    let ts = TestServer::start().await;
    let (_, ua) = ts.user_with_role("ua@openpim.test", USER_ADMINISTRATOR).await;

    // May create, update and delete ordinary users.
    let (status, created) = ts
        .client
        .post("/v1.0/users", &ua, json!({"userPrincipalName": "new@openpim.test", "displayName": "New"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let new_id = created["id"].as_str().unwrap().to_string();
    let (status, body) = ts.client.patch(&format!("/v1.0/users/{new_id}"), &ua, json!({"department": "Sales"})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // May not touch the bootstrap Global Administrator.
    let admin_path = format!("/v1.0/users/{}", ts.admin_id);
    let (status, body) = ts.client.patch(&admin_path, &ua, json!({"accountEnabled": false})).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    assert!(body["error"]["message"].as_str().unwrap().contains("privileged"), "{body}");
    let (status, body) = ts.client.delete(&admin_path, &ua).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");

    // Nor a member of a role-assignable group (even one that holds no role).
    let member = ts.create_user("member@openpim.test").await;
    let group = ts.create_group("Tier0", true).await;
    ts.add_group_member(&group, &member).await;
    let (status, body) =
        ts.client.patch(&format!("/v1.0/users/{member}"), &ua, json!({"displayName": "Changed"})).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    let (status, body) = ts.client.delete(&format!("/v1.0/users/{member}"), &ua).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");

    // The admin and the member are unchanged; the Global Administrator still can.
    let admin = ts.admin_token();
    let (_, got) = ts.client.get(&admin_path, &admin).await;
    assert_eq!(got["accountEnabled"], true);
    let (_, got) = ts.client.get(&format!("/v1.0/users/{member}"), &admin).await;
    assert_eq!(got["displayName"], "member");
    let (status, _) =
        ts.client.patch(&format!("/v1.0/users/{member}"), &admin, json!({"displayName": "Changed"})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // And the UA may delete the ordinary user it made.
    assert_eq!(ts.client.delete(&format!("/v1.0/users/{new_id}"), &ua).await.0, StatusCode::NO_CONTENT);
    ts.stop().await;
}

#[tokio::test]
async fn nobody_deletes_themselves() {
    let ts = TestServer::start().await;
    let (status, body) = ts.client.delete(&format!("/v1.0/users/{}", ts.admin_id), &ts.admin_token()).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    assert_eq!(ts.client.get("/v1.0/me", &ts.admin_token()).await.0, StatusCode::OK);
    ts.stop().await;
}

// Real parallelism: server and clients on several worker threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_of_one_upn() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let attempts = (0..12).map(|i| {
        let client = ts.client.clone();
        let admin = admin.clone();
        tokio::spawn(async move {
            client
                .post(
                    "/v1.0/users",
                    &admin,
                    json!({"userPrincipalName": "race@openpim.test", "displayName": format!("Racer {i}")}),
                )
                .await
        })
    });
    let mut created = 0;
    for handle in attempts.collect::<Vec<_>>() {
        let (status, body) = handle.await.unwrap();
        if status == StatusCode::CREATED {
            created += 1;
        } else {
            assert_graph_error(status, &body, 400, "Request_BadRequest");
        }
    }
    assert_eq!(created, 1);
    assert_eq!(ts.count("/v1.0/users").await, 2);
    ts.stop().await;
}

/// Graph's create-user examples send `userType` and `imAddresses`; they were refused as unknown
/// properties. Now they are stored, returned, patched, and `userType` filters (guest reviews).
#[tokio::test]
async fn user_type_and_im_addresses_are_kept() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let (status, guest) = ts
        .client
        .post(
            "/v1.0/users",
            &admin,
            json!({"accountEnabled": true, "displayName": "Guest Example", "mailNickname": "guest",
                   "userPrincipalName": "guest@openpim.test", "userType": "Guest",
                   "imAddresses": ["sip:guest@contoso.com"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{guest}");
    assert_eq!(guest["userType"], "Guest");
    assert_eq!(guest["imAddresses"], json!(["sip:guest@contoso.com"]));
    let id = guest["id"].as_str().unwrap().to_string();
    let (_, got) = ts.client.get(&format!("/v1.0/users/{id}"), &admin).await;
    assert_eq!(
        (got["userType"].clone(), got["imAddresses"].clone()),
        (json!("Guest"), json!(["sip:guest@contoso.com"]))
    );
    // Members by default; the filter tells them apart.
    let (_, me) = ts.client.get("/v1.0/me", &admin).await;
    assert_eq!((me["userType"].clone(), me["imAddresses"].clone()), (json!("Member"), json!([])));
    let (status, guests) =
        ts.client.get("/v1.0/users?$filter=userType eq 'Guest'&$select=id,userType,imAddresses", &admin).await;
    assert_eq!(status, StatusCode::OK, "{guests}");
    assert_eq!(ids(&guests), vec![id.clone()]);
    assert_eq!(guests["value"][0]["imAddresses"], json!(["sip:guest@contoso.com"]));
    // PATCH changes them.
    let (status, body) =
        ts.client.patch(&format!("/v1.0/users/{id}"), &admin, json!({"userType": "Member", "imAddresses": []})).await;
    assert!(status.is_success(), "{status}: {body}");
    let (_, got) = ts.client.get(&format!("/v1.0/users/{id}"), &admin).await;
    assert_eq!((got["userType"].clone(), got["imAddresses"].clone()), (json!("Member"), json!([])));
    // Bad values are 400s that change nothing.
    for bad in [json!({"userType": "Admin"}), json!({"imAddresses": "sip:x"}), json!({"imAddresses": [""]})] {
        let (status, body) = ts.client.patch(&format!("/v1.0/users/{id}"), &admin, bad.clone()).await;
        assert_graph_error(status, &body, 400, "Request_BadRequest");
    }
    let (_, got) = ts.client.get(&format!("/v1.0/users/{id}"), &admin).await;
    assert_eq!(got["userType"], "Member");
    ts.stop().await;
}
