//! Authentication: every way a bearer token can be missing or wrong yields 401 with a Graph error.

use crate::common;

use common::*;
use openpim_server::auth::{LocalIssuer, TokenRequest};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;

async fn assert_unauthorized(ts: &TestServer, token: Option<&str>) {
    let r = ts.client.send(ts.client.request(Method::GET, "/v1.0/users", token)).await;
    assert_graph_error(r.status, &r.body, 401, "InvalidAuthenticationToken");
    let challenge = r.headers.get("www-authenticate").expect("WWW-Authenticate header on 401");
    assert!(challenge.to_str().unwrap().starts_with("Bearer"), "{challenge:?}");
}

#[tokio::test]
async fn valid_admin_token_is_accepted() {
    let ts = TestServer::start().await;
    let (status, body) = ts.client.get("/v1.0/me", &ts.admin_token()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["userPrincipalName"], ADMIN_UPN);
    ts.stop().await;
}

#[tokio::test]
async fn missing_or_malformed_tokens_are_rejected() {
    let ts = TestServer::start().await;
    assert_unauthorized(&ts, None).await;
    assert_unauthorized(&ts, Some("garbage")).await;
    assert_unauthorized(&ts, Some("a.b.c")).await;
    // Not a bearer scheme at all.
    let r = ts
        .client
        .send(ts.client.request(Method::GET, "/v1.0/users", None).header("Authorization", "Basic YWRtaW46YWRtaW4="))
        .await;
    assert_graph_error(r.status, &r.body, 401, "InvalidAuthenticationToken");
    // A valid token with a flipped signature byte.
    let good = ts.admin_token();
    let mut bad = good.clone().into_bytes();
    let last = bad.len() - 2;
    bad[last] = if bad[last] == b'A' { b'B' } else { b'A' };
    assert_unauthorized(&ts, Some(std::str::from_utf8(&bad).unwrap())).await;
    ts.stop().await;
}

#[tokio::test]
async fn token_from_another_issuer_is_rejected() {
    let ts = TestServer::start().await;
    let other_dir = tempfile::tempdir().unwrap();
    let other = LocalIssuer::load_or_create(other_dir.path()).unwrap();
    let foreign = other.mint(
        &TokenRequest {
            oid: uuid::Uuid::parse_str(&ts.admin_id).unwrap(),
            upn: ADMIN_UPN.into(),
            mfa: true,
            acrs: vec![],
            ttl: Duration::from_secs(3600),
        },
        time::OffsetDateTime::now_utc(),
    );
    assert_unauthorized(&ts, Some(&foreign)).await;
    ts.stop().await;
}

#[tokio::test]
async fn expired_token_is_rejected() {
    let ts = TestServer::start().await;
    let expired =
        ts.mint(ADMIN_UPN, time::OffsetDateTime::now_utc() - time::Duration::hours(2), Duration::from_secs(3600));
    let r = ts.client.send(ts.client.request(Method::GET, "/v1.0/users", Some(&expired))).await;
    assert_graph_error(r.status, &r.body, 401, "InvalidAuthenticationToken");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("expired"), "{}", r.body);
    // Not yet valid (issued an hour in the future) is rejected too.
    let future =
        ts.mint(ADMIN_UPN, time::OffsetDateTime::now_utc() + time::Duration::hours(1), Duration::from_secs(3600));
    assert_unauthorized(&ts, Some(&future)).await;
    ts.stop().await;
}

#[tokio::test]
async fn token_for_unknown_user_is_rejected() {
    let ts = TestServer::start().await;
    let token = ts.token_for("nobody@openpim.test");
    assert_unauthorized(&ts, Some(&token)).await;
    ts.stop().await;
}

#[tokio::test]
async fn token_for_disabled_or_deleted_user_is_rejected() {
    let ts = TestServer::start().await;
    let id = ts.create_user("carol@openpim.test").await;
    let token = ts.token_for("carol@openpim.test");
    let (status, me) = ts.client.get("/v1.0/me", &token).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["id"], id.as_str());

    let (status, body) =
        ts.client.patch(&format!("/v1.0/users/{id}"), &ts.admin_token(), json!({"accountEnabled": false})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_unauthorized(&ts, Some(&token)).await;

    // Re-enabled: the same token works again.
    let (status, _) =
        ts.client.patch(&format!("/v1.0/users/{id}"), &ts.admin_token(), json!({"accountEnabled": true})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(ts.client.get("/v1.0/me", &token).await.0, StatusCode::OK);

    // Deleted: rejected.
    assert_eq!(ts.client.delete(&format!("/v1.0/users/{id}"), &ts.admin_token()).await.0, StatusCode::NO_CONTENT);
    assert_unauthorized(&ts, Some(&token)).await;
    ts.stop().await;
}

/// Tokens and users are cached after the first request; a change to the user must still take
/// effect on the very next request made with the same token.
#[tokio::test]
async fn disabling_renaming_or_deleting_a_user_takes_effect_on_the_next_request() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let bob_id = ts.create_user("bob@contoso.test").await;
    let bob = ts.token_for("bob@contoso.test");
    for _ in 0..2 {
        let (status, body) = ts.client.get("/v1.0/me", &bob).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, body) =
        ts.client.patch(&format!("/v1.0/users/{bob_id}"), &admin, json!({"accountEnabled": false})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_unauthorized(&ts, Some(&bob)).await;
    let (status, body) =
        ts.client.patch(&format!("/v1.0/users/{bob_id}"), &admin, json!({"accountEnabled": true})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = ts.client.get("/v1.0/me", &bob).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A new UPN: the token names bob by object id, so it still acts as bob (issue #12: it used
    // to follow the name, which let a renamed account's token act as whoever took the name).
    let (status, body) = ts
        .client
        .patch(&format!("/v1.0/users/{bob_id}"), &admin, json!({"userPrincipalName": "robert@contoso.test"}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = ts.client.get("/v1.0/me", &bob).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], bob_id);
    assert_eq!(body["userPrincipalName"], "robert@contoso.test");
    let robert = ts.token_for("robert@contoso.test");
    let (status, body) = ts.client.get("/v1.0/me", &robert).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], bob_id);
    let (status, body) = ts.client.delete(&format!("/v1.0/users/{bob_id}"), &admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_unauthorized(&ts, Some(&robert)).await;
    ts.stop().await;
}
