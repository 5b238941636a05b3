//! `/directory/administrativeUnits` and scoped administration through them.

use crate::common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

const AUS: &str = "/v1.0/directory/administrativeUnits";

#[tokio::test]
async fn crud_and_members() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let (status, au) =
        ts.client.post(AUS, &admin, json!({"displayName": "Seattle", "description": "West coast"})).await;
    assert_eq!(status, StatusCode::CREATED, "{au}");
    assert!(
        au["@odata.context"].as_str().unwrap().ends_with("$metadata#directory/administrativeUnits/$entity"),
        "{au}"
    );
    assert_eq!(au["displayName"], "Seattle");
    assert_eq!(au["description"], "West coast");
    let id = au["id"].as_str().unwrap().to_string();
    let other = ts.create_au("Paris").await;

    let (status, list) = ts.client.get(AUS, &admin).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let mut got = ids(&list);
    got.sort();
    let mut want = vec![id.clone(), other.clone()];
    want.sort();
    assert_eq!(got, want);

    let (status, body) = ts.client.patch(&format!("{AUS}/{id}"), &admin, json!({"displayName": "Seattle HQ"})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, got) = ts.client.get(&format!("{AUS}/{id}"), &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["displayName"], "Seattle HQ");
    assert_eq!(got["description"], "West coast");
    let (status, body) = ts.client.patch(&format!("{AUS}/{id}"), &admin, json!({"displayName": ""})).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");

    // Members: a user and a group.
    let user = ts.create_user("sea@openpim.test").await;
    let group = ts.create_group("Seattle Staff", false).await;
    for m in [&user, &group] {
        let (status, body) = ts.client.post(&format!("{AUS}/{id}/members/$ref"), &admin, reference(m)).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    let (status, body) = ts.client.post(&format!("{AUS}/{id}/members/$ref"), &admin, reference(&user)).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    let (status, list) = ts.client.get(&format!("{AUS}/{id}/members"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let mut types: Vec<String> =
        list["value"].as_array().unwrap().iter().map(|v| v["@odata.type"].as_str().unwrap().to_string()).collect();
    types.sort();
    assert_eq!(types, ["#microsoft.graph.group", "#microsoft.graph.user"]);
    let (_, list) = ts.client.get(&format!("{AUS}/{other}/members"), &admin).await;
    assert!(ids(&list).is_empty());

    let (status, _) = ts.client.delete(&format!("{AUS}/{id}/members/{user}/$ref"), &admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = ts.client.get(&format!("{AUS}/{id}/members"), &admin).await;
    assert_eq!(ids(&list), vec![group.clone()]);
    let (status, body) = ts.client.delete(&format!("{AUS}/{id}/members/{user}/$ref"), &admin).await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");

    // Delete the unit.
    let (status, _) = ts.client.delete(&format!("{AUS}/{id}"), &admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = ts.client.get(&format!("{AUS}/{id}"), &admin).await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");
    let (status, body) = ts.client.get(&format!("{AUS}/{id}/members"), &admin).await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");
    assert_eq!(ts.count(AUS).await, 1);

    // Non-admins may not manage units.
    ts.create_user("plain@openpim.test").await;
    let plain = ts.token_for("plain@openpim.test");
    let (status, body) = ts.client.post(AUS, &plain, json!({"displayName": "Rogue"})).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    let (status, body) = ts.client.delete(&format!("{AUS}/{other}"), &plain).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    assert_eq!(ts.count(AUS).await, 1);
    ts.stop().await;
}

#[tokio::test]
async fn scoped_user_administrator() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let au = ts.create_au("Berlin").await;
    let inside = ts.create_user("inside@openpim.test").await;
    let outside = ts.create_user("outside@openpim.test").await;
    let (status, body) = ts.client.post(&format!("{AUS}/{au}/members/$ref"), &admin, reference(&inside)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let scoped = ts.create_user("scoped@openpim.test").await;
    let (status, a) = ts
        .client
        .post(
            &format!("{RM}/roleAssignments"),
            &admin,
            json!({"principalId": scoped, "roleDefinitionId": USER_ADMINISTRATOR, "directoryScopeId": format!("/administrativeUnits/{au}")}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    assert_eq!(a["directoryScopeId"], format!("/administrativeUnits/{au}"));
    let token = ts.token_for("scoped@openpim.test");

    let (status, body) =
        ts.client.patch(&format!("/v1.0/users/{inside}"), &token, json!({"jobTitle": "Berliner"})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) =
        ts.client.patch(&format!("/v1.0/users/{outside}"), &token, json!({"jobTitle": "Berliner"})).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    // Tenant-wide actions are out of reach for a unit-scoped admin.
    let (status, body) =
        ts.client.post("/v1.0/users", &token, json!({"userPrincipalName": "x@openpim.test", "displayName": "X"})).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");

    let (_, got) = ts.client.get(&format!("/v1.0/users/{inside}"), &admin).await;
    assert_eq!(got["jobTitle"], "Berliner");
    let (_, got) = ts.client.get(&format!("/v1.0/users/{outside}"), &admin).await;
    assert!(got["jobTitle"].is_null(), "{got}");

    // Once the user leaves the unit, the scoped admin loses it.
    let (status, _) = ts.client.delete(&format!("{AUS}/{au}/members/{inside}/$ref"), &admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = ts.client.patch(&format!("/v1.0/users/{inside}"), &token, json!({"jobTitle": "Gone"})).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");

    // An eligibility at the unit too: deleting the unit must take it along.
    let (status, body) = ts
        .client
        .post(
            &format!("{RM}/roleEligibilityScheduleRequests"),
            &admin,
            json!({"action": "adminAssign", "principalId": outside, "roleDefinitionId": USER_ADMINISTRATOR,
                   "directoryScopeId": format!("/administrativeUnits/{au}"),
                   "scheduleInfo": {"expiration": {"type": "noExpiration"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Deleting the unit deletes the assignments and eligibilities scoped to it.
    assert_eq!(ts.client.delete(&format!("{AUS}/{au}"), &admin).await.0, StatusCode::NO_CONTENT);
    let (status, list) =
        ts.client.get(&format!("{RM}/roleAssignments?$filter=principalId eq '{scoped}'"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(ids(&list).is_empty(), "{list}");
    let (status, list) =
        ts.client.get(&format!("{RM}/roleEligibilitySchedules?$filter=principalId eq '{outside}'"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(ids(&list).is_empty(), "{list}");
    ts.stop().await;
}
