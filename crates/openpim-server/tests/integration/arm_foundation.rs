//! The ARM wire foundation over HTTP: authentication with ARM's audience and error shapes, the
//! request-id headers, and the dispatcher's answers for what no area serves.

use crate::common;

use common::arm::{arm, arm_admin_token, assert_arm_error};
use common::TestServer;
use reqwest::{Method, StatusCode};

const SUB: &str = "2f1d3a6c-0000-4000-8000-0000000000aa";

#[tokio::test]
async fn arm_requests_need_an_arm_token_and_answer_in_arm_shape() {
    let ts = TestServer::start().await;
    let path = format!("/subscriptions/{SUB}/providers/Microsoft.Nothing/things?api-version=2021-04-01");

    // No credentials: ARM's AuthenticationFailed, with WWW-Authenticate and x-ms-request-id.
    let r = arm(&ts, Method::GET, &path, None, None).await;
    assert_arm_error(&r, 401, "AuthenticationFailed");
    assert!(r.headers.contains_key("www-authenticate"));
    // A token for Graph is not one for ARM.
    let r = arm(&ts, Method::GET, &path, Some(&ts.admin_token()), None).await;
    assert_arm_error(&r, 401, "InvalidAuthenticationToken");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("Azure Resource Manager"), "{}", r.body);
    // Garbage.
    let r = arm(&ts, Method::GET, &path, Some("not-a-token"), None).await;
    assert_arm_error(&r, 401, "InvalidAuthenticationToken");

    // An ARM token for Graph is refused by Graph, in Graph's shape.
    let arm_token = arm_admin_token(&ts);
    let (status, body) = ts.client.get("/v1.0/me", &arm_token).await;
    common::assert_graph_error(status, &body, 401, "InvalidAuthenticationToken");

    // With an ARM token: nothing serves that namespace.
    let r = arm(&ts, Method::GET, &path, Some(&arm_token), None).await;
    assert_arm_error(&r, 404, "InvalidResourceType");
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("'things'") && message.contains("'Microsoft.Nothing'"), "{message}");
    ts.stop().await;
}

#[tokio::test]
async fn request_ids_and_malformed_paths() {
    let ts = TestServer::start().await;
    let token = arm_admin_token(&ts);
    let correlation = "0b7a3a63-1f2e-4a55-9d8e-2b7b8f0a1c11";
    let r = ts
        .client
        .send(
            ts.client
                .request(
                    Method::GET,
                    "/subscriptions/not-a-guid/resourceGroups/rg?api-version=2021-04-01",
                    Some(&token),
                )
                .header("x-ms-correlation-request-id", correlation)
                .header("x-ms-client-request-id", "not a guid"),
        )
        .await;
    assert_arm_error(&r, 400, "InvalidSubscriptionId");
    assert_eq!(r.headers["x-ms-correlation-request-id"], correlation);
    assert!(!r.headers.contains_key("x-ms-client-request-id"), "only a GUID is echoed");
    // Graph's request-id and ARM's x-ms-request-id name the same request.
    assert_eq!(r.headers["x-ms-request-id"], r.headers["request-id"]);
    let r = arm(&ts, Method::GET, "/providers?api-version=2021-04-01", Some(&token), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert!(r.body["error"]["code"].is_string());
    ts.stop().await;
}
