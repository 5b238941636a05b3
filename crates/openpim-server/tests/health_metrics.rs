//! `/healthz` and `/metrics`.

mod common;

use common::*;
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn healthz_needs_no_token() {
    let ts = TestServer::start().await;
    let r = ts.client.send(ts.client.request(Method::GET, "/healthz", None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "ok");
    assert!(uuid::Uuid::parse_str(r.body["tenantId"].as_str().unwrap()).is_ok(), "{}", r.body);
    ts.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_by_route() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let user = ts.create_user("metered@openpim.test").await;
    assert_eq!(ts.client.get("/v1.0/users", &admin).await.0, StatusCode::OK);
    assert_eq!(ts.client.get(&format!("/v1.0/users/{user}"), &admin).await.0, StatusCode::OK);

    let resp = ts.client.http.get(ts.client.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    let line = |route: &str, method: &str, status: &str| {
        text.lines().find(|l| {
            l.starts_with("http_requests_total{")
                && l.contains(&format!("route=\"{route}\""))
                && l.contains(&format!("method=\"{method}\""))
                && l.contains(&format!("status=\"{status}\""))
        })
    };
    let list = line("/v1.0/users", "GET", "200").unwrap_or_else(|| panic!("no users list counter in:\n{text}"));
    let n: f64 = list.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n >= 1.0, "{list}");
    // Routes are labelled by template, not by concrete id.
    assert!(line("/v1.0/users/{id}", "GET", "200").is_some(), "{text}");
    assert!(!text.contains(&user), "ids must not become label values");
    assert!(line("/v1.0/users", "POST", "201").is_some(), "{text}");
    assert!(text.contains("http_request_duration_seconds"), "{text}");
    ts.stop().await;
}
