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

/// The `http_requests_total` series in a `/metrics` text.
fn request_series(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with("http_requests_total{")).collect()
}

#[tokio::test]
async fn metrics_are_served_to_loopback_clients_only_by_default() {
    let ts = TestServer::start().await;
    let direct = ts.client.http.get(ts.client.url("/metrics")).send().await.unwrap();
    assert_eq!(direct.status(), StatusCode::OK, "a direct loopback client may scrape");
    assert!(direct.text().await.unwrap().contains("http_requests_total"));
    // Through a proxy on the same host every client would look local: proxied requests are refused.
    for header in ["X-Forwarded-For", "Forwarded"] {
        let proxied =
            ts.client.send(ts.client.request(Method::GET, "/metrics", None).header(header, "for=203.0.113.9")).await;
        assert_graph_error(proxied.status, &proxied.body, 403, "Authorization_RequestDenied");
    }
    ts.stop().await;
}

#[tokio::test]
async fn metrics_with_token_access_need_a_reader_role() {
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::new().await;
    let server = openpim_server::start(openpim_server::ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        database_url: database.url.clone(),
        bootstrap_admin: ADMIN_UPN.to_string(),
        public_url: None,
        approval_timeout: openpim_server::DEFAULT_APPROVAL_TIMEOUT,
        notifications: Default::default(),
        metrics_access: openpim_server::metrics::MetricsAccess::Token,
        tls: None,
        oidc_issuers: Vec::new(),
        local_issuer: true,
    })
    .await
    .unwrap();
    let client = Client::new(&format!("http://{}", server.addr));
    let mint = |upn: &str| {
        common::mint_for_upn(
            &server,
            upn,
            true,
            &[],
            time::OffsetDateTime::now_utc(),
            std::time::Duration::from_secs(600),
        )
    };
    let admin = mint(ADMIN_UPN);
    let create = |upn: &'static str| {
        let (client, admin) = (client.clone(), admin.clone());
        async move {
            let (status, body) = client
                .post("/v1.0/users", &admin, serde_json::json!({"userPrincipalName": upn, "displayName": upn}))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            body["id"].as_str().unwrap().to_string()
        }
    };
    let reader = create("reader@openpim.test").await;
    create("plain@openpim.test").await;
    let (status, body) = client
        .post(
            &format!("{RM}/roleAssignments"),
            &admin,
            serde_json::json!({"principalId": reader, "roleDefinitionId": GLOBAL_READER, "directoryScopeId": "/"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let anonymous = client.send(client.request(Method::GET, "/metrics", None)).await;
    assert_graph_error(anonymous.status, &anonymous.body, 401, "InvalidAuthenticationToken");
    let plain = client.send(client.request(Method::GET, "/metrics", Some(&mint("plain@openpim.test")))).await;
    assert_graph_error(plain.status, &plain.body, 403, "Authorization_RequestDenied");
    let resp = client.http.get(client.url("/metrics")).bearer_auth(mint("reader@openpim.test")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains("http_requests_total"));
    server.stop().await.unwrap();
    database.drop().await;
}

#[tokio::test]
async fn made_up_methods_and_paths_do_not_grow_the_metrics() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    // Every label value a client can influence is seen once first, so the baseline has them.
    assert_eq!(ts.client.get("/v1.0/nothing-here", &admin).await.0, StatusCode::NOT_FOUND);
    let warm = Method::from_bytes(b"WARMUP").unwrap();
    ts.client.send(ts.client.request(warm, "/v1.0/users", Some(&admin))).await;
    let scrape = || async { ts.client.http.get(ts.client.url("/metrics")).send().await.unwrap().text().await.unwrap() };
    let before = request_series(&scrape().await).len();

    for i in 0..400 {
        let method = Method::from_bytes(format!("MADEUP{i}").as_bytes()).unwrap();
        let path = if i % 2 == 0 { format!("/v1.0/users/{i}") } else { format!("/made/up/path{i}") };
        let r = ts.client.http.request(method, ts.client.url(&path)).bearer_auth(&admin).send().await.unwrap();
        assert!(r.status().is_client_error(), "{path}: {}", r.status());
        let r = ts.client.http.get(ts.client.url(&format!("/made/up/{i}"))).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }

    let text = scrape().await;
    let after = request_series(&text);
    assert!(!text.contains("MADEUP"), "made-up methods became label values");
    assert!(!text.contains("/made/up"), "made-up paths became label values");
    assert!(after.iter().any(|l| l.contains("method=\"other\"")), "unknown methods are counted as other");
    // A few new (route, status) pairs at most (other tests in this binary add some), never one
    // per request.
    assert!(after.len() <= before + 40, "{before} series before, {} after:\n{}", after.len(), after.join("\n"));
    ts.stop().await;
}
