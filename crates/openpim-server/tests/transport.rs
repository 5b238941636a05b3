//! Transport hygiene: oversized request lines and headers get Graph errors, tokens in query
//! strings never reach the log, and next links never come from the client's `Host` header.

mod common;

use common::*;
use reqwest::StatusCode;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Everything the server logs in this test binary (installed once, at debug level).
fn captured_log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: std::sync::OnceLock<Arc<Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_ansi(false)
            .with_writer(move || Capture(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this binary");
        log
    })
    .clone()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn an_over_long_uri_gets_a_graph_414() {
    let ts = TestServer::start().await;
    let filter = format!("displayName eq '{}'", "a".repeat(50 * 1024));
    let (status, body) = ts.client.get(&format!("/v1.0/users?$filter={filter}"), &ts.admin_token()).await;
    assert_graph_error(status, &body, 414, "Request_UriTooLong");
    // The web UI's routes too.
    let r = ts
        .client
        .send(ts.client.request(reqwest::Method::GET, &format!("/signin?x={}", "b".repeat(50 * 1024)), None))
        .await;
    assert_graph_error(r.status, &r.body, 414, "Request_UriTooLong");
    ts.stop().await;
}

#[tokio::test]
async fn huge_headers_get_a_graph_431() {
    let ts = TestServer::start().await;
    let req = ts
        .client
        .request(reqwest::Method::GET, "/v1.0/me", Some(&ts.admin_token()))
        .header("X-Filler", "f".repeat(40 * 1024));
    let r = ts.client.send(req).await;
    assert_graph_error(r.status, &r.body, 431, "Request_HeaderFieldsTooLarge");
    // Many smaller headers adding up to too much.
    let mut req = ts.client.request(reqwest::Method::GET, "/v1.0/me", Some(&ts.admin_token()));
    for i in 0..40 {
        req = req.header(format!("X-Filler-{i}"), "f".repeat(1024));
    }
    let r = ts.client.send(req).await;
    assert_graph_error(r.status, &r.body, 431, "Request_HeaderFieldsTooLarge");
    // Normal requests are untouched.
    assert_eq!(ts.client.get("/v1.0/me", &ts.admin_token()).await.0, StatusCode::OK);
    ts.stop().await;
}

#[tokio::test]
async fn a_forged_host_never_appears_in_next_links() {
    let ts = TestServer::start().await;
    ts.create_user("host1@openpim.test").await;
    ts.create_user("host2@openpim.test").await;
    let r = ts
        .client
        .send(
            ts.client
                .request(reqwest::Method::GET, "/v1.0/users?$top=1", Some(&ts.admin_token()))
                .header("Host", "evil.example"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let next = r.body["@odata.nextLink"].as_str().expect("a next link");
    let context = r.body["@odata.context"].as_str().expect("a context");
    assert!(!r.body.to_string().contains("evil.example"), "{}", r.body);
    assert!(next.starts_with(&format!("{}/v1.0/", ts.base)), "next link uses the listen address: {next}");
    assert!(context.starts_with(&format!("{}/v1.0/", ts.base)), "{context}");
    // And the link works.
    let (status, page) = ts.client.get(next, &ts.admin_token()).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    ts.stop().await;
}

#[tokio::test]
async fn tokens_in_query_strings_are_never_logged() {
    let log = captured_log();
    let ts = TestServer::start().await;
    let secret = ts.admin_token();
    let r =
        ts.client.http.get(ts.client.url(&format!("/v1.0/me?access_token={secret}&$select=id"))).send().await.unwrap();
    // A token in the query string does not authenticate (only the Authorization header does).
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let request_id = r.headers()["request-id"].to_str().unwrap().to_string();
    ts.stop().await;
    let text = String::from_utf8_lossy(&log.lock().unwrap()).to_string();
    let line = text
        .lines()
        .find(|l| l.contains("openpim::request") && l.contains(&format!("request_id={request_id}")))
        .unwrap_or_else(|| panic!("the request is logged:\n{text}"));
    assert!(line.contains("path=/v1.0/me") && !line.contains('?'), "the path, without its query: {line}");
    assert!(!text.contains("access_token="), "the query string reached the log");
    let signature = secret.rsplit('.').next().unwrap();
    assert!(!text.contains(signature), "the token reached the log");
}

#[tokio::test]
async fn the_request_span_carries_the_request_id() {
    let log = captured_log();
    let ts = TestServer::start().await;
    let r = ts.client.send(ts.client.request(reqwest::Method::GET, "/v1.0/users", Some(&ts.admin_token()))).await;
    assert_eq!(r.status, StatusCode::OK);
    let request_id = r.headers.get("request-id").expect("request-id header").to_str().unwrap().to_string();
    ts.stop().await;
    let text = String::from_utf8_lossy(&log.lock().unwrap()).to_string();
    // A line logged while the request is served (the store's query for the list, at debug)
    // runs in the request's span, which names the id.
    let in_span = text.lines().filter(|l| l.contains(&format!("request{{request_id={request_id}"))).count();
    assert!(in_span > 0, "no line in the span of request {request_id}:\n{text}");
}
