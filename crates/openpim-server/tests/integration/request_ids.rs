//! One request id per request, as Graph does it: a fresh GUID in the `request-id` response
//! header, the client's `client-request-id` echoed (when it is a GUID), both repeated in an
//! error body's `innerError`, and the request id as the `correlationId` of every audit record
//! the request wrote, refusals and denials included.

use crate::common;
use crate::pim;

use common::{assert_graph_error, Resp, USER_ADMINISTRATOR};
use pim::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const AUDITS: &str = "/v1.0/auditLogs/directoryAudits";
const CLIENT_ID: &str = "0F8FAD5B-D9CB-469F-A165-70867728950E";

/// The response's (request-id, client-request-id); the request id must be a v4 GUID.
fn ids_of(r: &Resp) -> (String, String) {
    let header =
        |name: &str| r.headers.get(name).unwrap_or_else(|| panic!("no {name} header")).to_str().unwrap().to_string();
    let request_id = header("request-id");
    let parsed = uuid::Uuid::parse_str(&request_id).unwrap_or_else(|_| panic!("request-id '{request_id}'"));
    assert_eq!(parsed.get_version_num(), 4, "{request_id}");
    assert_eq!(request_id, parsed.hyphenated().to_string(), "lowercase 8-4-4-4-12");
    (request_id, header("client-request-id"))
}

/// The error body names the same ids as the headers.
#[track_caller]
fn assert_error_ids(r: &Resp, request_id: &str, client_request_id: &str) {
    let inner = &r.body["error"]["innerError"];
    assert_eq!(inner["request-id"], request_id, "{}", r.body);
    assert_eq!(inner["client-request-id"], client_request_id, "{}", r.body);
}

async fn send(pim: &Pim, method: Method, path: &str, token: Option<&str>, client_id: Option<&str>) -> Resp {
    let mut req = pim.client.request(method, path, token);
    if let Some(id) = client_id {
        req = req.header("client-request-id", id);
    }
    pim.client.send(req).await
}

async fn send_json(pim: &Pim, method: Method, path: &str, token: &str, body: Value) -> Resp {
    pim.client.send(pim.client.request(method, path, Some(token)).json(&body)).await
}

/// Every audit record, all pages.
async fn audit_records(pim: &Pim) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next = Some(format!("{AUDITS}?$top=100"));
    while let Some(path) = next {
        let (status, page) = pim.client.get(&path, &pim.admin_token()).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        out.extend(page["value"].as_array().unwrap().iter().cloned());
        next = page["@odata.nextLink"].as_str().map(str::to_string);
    }
    out
}

/// The one audit record correlated with `request_id`.
async fn record_of(pim: &Pim, request_id: &str) -> Value {
    let records = audit_records(pim).await;
    let mine: Vec<&Value> = records.iter().filter(|r| r["correlationId"] == request_id).collect();
    assert_eq!(mine.len(), 1, "one record for request {request_id}: {records:#?}");
    mine[0].clone()
}

#[tokio::test]
async fn every_response_carries_a_request_id_of_its_own() {
    let pim = Pim::start().await;
    let admin = pim.admin_token();
    let first = send(&pim, Method::GET, "/v1.0/me", Some(&admin), None).await;
    assert_eq!(first.status, StatusCode::OK);
    let (request_id, client_id) = ids_of(&first);
    assert_eq!(client_id, request_id, "without a client id, Graph answers with its own");
    let second = send(&pim, Method::GET, "/v1.0/me", Some(&admin), None).await;
    assert_ne!(ids_of(&second).0, request_id, "a fresh id per request");

    // Errors from the route table, the authentication layer and the transport limits.
    let not_found = send(&pim, Method::GET, "/v1.0/nothingHere", Some(&admin), None).await;
    assert_graph_error(not_found.status, &not_found.body, 404, "UnknownError");
    let (request_id, client_id) = ids_of(&not_found);
    assert_error_ids(&not_found, &request_id, &client_id);
    let too_long =
        send(&pim, Method::GET, &format!("/v1.0/users?x={}", "a".repeat(50 * 1024)), Some(&admin), None).await;
    assert_graph_error(too_long.status, &too_long.body, 414, "Request_UriTooLong");
    let (request_id, client_id) = ids_of(&too_long);
    assert_error_ids(&too_long, &request_id, &client_id);

    // The web UI's pages too.
    let page = pim.client.http.get(pim.client.url("/signin")).send().await.unwrap();
    assert!(page.headers().get("request-id").is_some_and(|v| uuid::Uuid::try_parse_ascii(v.as_bytes()).is_ok()));
    assert_eq!(page.headers().get("client-request-id"), page.headers().get("request-id"));
    pim.stop().await;
}

#[tokio::test]
async fn a_client_request_id_is_echoed_when_it_is_a_guid() {
    let pim = Pim::start().await;
    let admin = pim.admin_token();
    let ok = send(&pim, Method::GET, "/v1.0/me", Some(&admin), Some(CLIENT_ID)).await;
    let (request_id, client_id) = ids_of(&ok);
    assert_eq!(client_id, CLIENT_ID, "echoed as sent");
    assert_ne!(request_id.to_uppercase(), CLIENT_ID, "the request id is ours");

    for malformed in ["not-a-guid", "0f8fad5bd9cb469fa16570867728950e", "{0f8fad5b-d9cb-469f-a165-70867728950e}", ""] {
        let r = send(&pim, Method::GET, "/v1.0/me", Some(&admin), Some(malformed)).await;
        let (request_id, client_id) = ids_of(&r);
        assert_eq!(client_id, request_id, "'{malformed}' is replaced, not echoed");
    }

    // Error bodies carry both ids: not found, unauthenticated, a malformed body, a wrong method.
    let missing =
        send(&pim, Method::GET, &format!("/v1.0/users/{}", uuid::Uuid::new_v4()), Some(&admin), Some(CLIENT_ID)).await;
    assert_graph_error(missing.status, &missing.body, 404, "Request_ResourceNotFound");
    let unauthenticated = send(&pim, Method::GET, "/v1.0/me", None, Some(CLIENT_ID)).await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);
    let bad_body = pim
        .client
        .send(
            pim.client
                .request(Method::POST, "/v1.0/users", Some(&admin))
                .header("client-request-id", CLIENT_ID)
                .header("content-type", "application/json")
                .body("{\"displayName\": "),
        )
        .await;
    assert_eq!(bad_body.status, StatusCode::BAD_REQUEST, "{}", bad_body.body);
    let wrong_method = send(&pim, Method::PUT, "/v1.0/me", Some(&admin), Some(CLIENT_ID)).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED, "{}", wrong_method.body);
    for r in [&missing, &unauthenticated, &bad_body, &wrong_method] {
        let (request_id, client_id) = ids_of(r);
        assert_eq!(client_id, CLIENT_ID);
        assert_error_ids(r, &request_id, CLIENT_ID);
    }
    pim.stop().await;
}

#[tokio::test]
async fn audit_records_are_correlated_with_the_request_that_wrote_them() {
    let pim = Pim::start().await;
    let admin = pim.admin_token();

    // A change.
    let created = send_json(
        &pim,
        Method::POST,
        "/v1.0/users",
        &admin,
        json!({"userPrincipalName": "carol@openpim.test", "displayName": "Carol", "mailNickname": "carol",
               "accountEnabled": true, "passwordProfile": {"password": "Secret-123456"}}),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let record = record_of(&pim, &ids_of(&created).0).await;
    assert_eq!(
        (record["activityDisplayName"].as_str(), record["result"].as_str()),
        (Some("Add user"), Some("success"))
    );
    assert_eq!(record["targetResources"][0]["id"], created.body["id"]);

    // A denied attempt (403).
    let (plain, plain_token) = pim.user("plain").await;
    let denied = send_json(
        &pim,
        Method::POST,
        "/v1.0/users",
        &plain_token,
        json!({"userPrincipalName": "x@openpim.test", "displayName": "X", "mailNickname": "x",
               "accountEnabled": true, "passwordProfile": {"password": "Secret-123456"}}),
    )
    .await;
    assert_graph_error(denied.status, &denied.body, 403, "Authorization_RequestDenied");
    let (request_id, client_id) = ids_of(&denied);
    assert_error_ids(&denied, &request_id, &client_id);
    let record = record_of(&pim, &request_id).await;
    assert_eq!(
        (record["activityDisplayName"].as_str(), record["result"].as_str()),
        (Some("Add user"), Some("failure"))
    );
    assert_eq!(record["initiatedBy"]["user"]["id"], plain.as_str());

    // A write the store refuses (the last Global Administrator cannot be disabled).
    let refused = send_json(
        &pim,
        Method::PATCH,
        &format!("/v1.0/users/{}", pim.admin_id),
        &admin,
        json!({"accountEnabled": false}),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    let (request_id, client_id) = ids_of(&refused);
    assert_error_ids(&refused, &request_id, &client_id);
    let record = record_of(&pim, &request_id).await;
    assert_eq!(record["result"], "failure", "{record}");
    assert_eq!(record["targetResources"][0]["id"], pim.admin_id.as_str());

    // A PIM request the rules refuse (not eligible), then one they grant.
    let (alice, alice_token) = pim.user("alice").await;
    let body = request("selfActivate", &alice, USER_ADMINISTRATOR, Some(for_duration(None, "PT1H")));
    let not_eligible = send_json(&pim, Method::POST, ASSIGNMENT_REQUESTS, &alice_token, body.clone()).await;
    assert_eq!(not_eligible.status, StatusCode::BAD_REQUEST, "{}", not_eligible.body);
    let (request_id, client_id) = ids_of(&not_eligible);
    assert_error_ids(&not_eligible, &request_id, &client_id);
    let record = record_of(&pim, &request_id).await;
    assert_eq!(record["result"], "failure", "{record}");
    assert_eq!(record["initiatedBy"]["user"]["id"], alice.as_str());

    pim.make_eligible(&alice, USER_ADMINISTRATOR).await;
    let activated = send_json(&pim, Method::POST, ASSIGNMENT_REQUESTS, &alice_token, body).await;
    assert_eq!(activated.status, StatusCode::CREATED, "{}", activated.body);
    let record = record_of(&pim, &ids_of(&activated).0).await;
    assert_eq!(record["result"], "success", "{record}");
    assert_eq!(record["initiatedBy"]["user"]["id"], alice.as_str());

    // Records written outside any request (the bootstrap) still have a correlation id.
    let records = audit_records(&pim).await;
    assert!(records.iter().all(|r| r["correlationId"].as_str().is_some_and(|c| uuid::Uuid::parse_str(c).is_ok())));
    pim.stop().await;
}
