//! Test harness: a real OpenPIM server on a random port with a fresh data directory, and a small
//! HTTP client that speaks to it the way Graph clients do.

#![allow(dead_code)]

pub mod arm;
pub mod oidc_provider;
pub mod ui;

use openpim_server::auth::TokenRequest;
use openpim_server::{RunningServer, ServerConfig};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use tempfile::TempDir;

pub const ADMIN_UPN: &str = "admin@openpim.test";

pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
pub const PRIVILEGED_ROLE_ADMINISTRATOR: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";
pub const USER_ADMINISTRATOR: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";
pub const GROUPS_ADMINISTRATOR: &str = "fdd7a751-b60b-444a-984c-02652fe8fa1c";
pub const GLOBAL_READER: &str = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";
pub const HELPDESK_ADMINISTRATOR: &str = "729827e3-9c14-49f7-bb1b-9608f156bbb8";

pub const RM: &str = "/v1.0/roleManagement/directory";

/// A response: status, JSON body (`Value::Null` when empty) and headers.
pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
    pub headers: HeaderMap,
}

/// A thin HTTP client bound to one server's base URL.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
}

impl Client {
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("reqwest client");
        Self { base: base.to_string(), http }
    }

    /// `path` is relative to the server (`/v1.0/users`) or an absolute URL (a next link).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let resp = req.send().await.expect("request reaches the server");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("response body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("non-JSON response ({status}): {e}: {}", String::from_utf8_lossy(&bytes)))
        };
        Resp { status, body, headers }
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req
    }

    pub async fn call(&self, method: Method, path: &str, token: &str, body: Option<&Value>) -> (StatusCode, Value) {
        let mut req = self.request(method, path, Some(token));
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = self.send(req).await;
        (r.status, r.body)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(&body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, token, Some(&body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, token, None).await
    }

    /// GET with `ConsistencyLevel: eventual` (needed for `$count` on directory objects).
    pub async fn get_eventual(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let r = self.send(self.request(Method::GET, path, Some(token)).header("ConsistencyLevel", "eventual")).await;
        (r.status, r.body)
    }
}

/// The database a test server uses: SQLite in its data directory, or, when
/// `OPENPIM_TEST_POSTGRES_URL` is set, a fresh PostgreSQL schema of its own (dropped by
/// [`TestDatabase::drop`]; `.ci/run` also sweeps up any a failed test left behind).
pub struct TestDatabase {
    pub url: Option<String>,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub async fn new() -> Self {
        match std::env::var("OPENPIM_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) {
            None => Self { url: None, postgres: None },
            Some(base) => {
                let (schema, url) =
                    openpim_store::testing::create_postgres_schema(&base).await.expect("a fresh PostgreSQL schema");
                Self { url: Some(url), postgres: Some((base, schema)) }
            }
        }
    }

    pub async fn drop(self) {
        if let Some((base, schema)) = self.postgres {
            openpim_store::testing::drop_postgres_schema(&base, &schema).await.expect("test schema dropped");
        }
    }
}

/// A running server with its own data directory.
pub struct TestServer {
    pub base: String,
    pub server: RunningServer,
    pub client: Client,
    pub admin_id: String,
    database: TestDatabase,
    _dir: TempDir,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A server whose configuration `configure` adjusts (e.g. trusted external issuers).
    pub async fn start_with(configure: impl FnOnce(&mut ServerConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = TestDatabase::new().await;
        let database_url = database.url.clone();
        let mut config = ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
            database_url,
            bootstrap_admin: ADMIN_UPN.to_string(),
            public_url: None,
            approval_timeout: openpim_server::DEFAULT_APPROVAL_TIMEOUT,
            notifications: Default::default(),
            metrics_access: Default::default(),
            tls: None,
            oidc_issuers: Vec::new(),
            local_issuer: true,
            audit_checkpoint_interval: openpim_server::DEFAULT_AUDIT_CHECKPOINT_INTERVAL,
        };
        configure(&mut config);
        let server = openpim_server::start(config).await.expect("server starts");
        assert_eq!(server.created_admin.as_deref(), Some(ADMIN_UPN), "a fresh store bootstraps the admin");
        let base = format!("http://{}", server.addr);
        let client = Client::new(&base);
        let mut ts = TestServer { base, server, client, admin_id: String::new(), database, _dir: dir };
        let (status, me) = ts.client.get("/v1.0/me", &ts.admin_token()).await;
        assert_eq!(status, StatusCode::OK, "{me}");
        ts.admin_id = me["id"].as_str().expect("admin id").to_string();
        ts
    }

    pub async fn stop(self) {
        let TestServer { server, database, _dir, .. } = self;
        server.stop().await.expect("server stops cleanly");
        database.drop().await;
        drop(_dir);
    }

    /// A token for the user who holds `upn` now (see [`mint_for_upn`]).
    pub fn mint(&self, upn: &str, now: time::OffsetDateTime, ttl: Duration) -> String {
        mint_for_upn(&self.server, upn, false, &[], now, ttl)
    }

    /// The server's data directory (its issuer key lives there).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    pub fn token_for(&self, upn: &str) -> String {
        self.mint(upn, time::OffsetDateTime::now_utc(), Duration::from_secs(3600))
    }

    pub fn admin_token(&self) -> String {
        if self.admin_id.is_empty() {
            self.token_for(ADMIN_UPN)
        } else {
            let oid = uuid::Uuid::parse_str(&self.admin_id).expect("admin id");
            let req =
                TokenRequest { oid, upn: ADMIN_UPN.into(), mfa: false, acrs: vec![], ttl: Duration::from_secs(3600) };
            self.server.state.issuer.mint(&req, time::OffsetDateTime::now_utc())
        }
    }

    /// Creates a user as the admin; returns its id.
    pub async fn create_user(&self, upn: &str) -> String {
        let name = upn.split('@').next().unwrap_or(upn);
        self.create_user_named(upn, name).await
    }

    pub async fn create_user_named(&self, upn: &str, display_name: &str) -> String {
        let (status, body) = self
            .client
            .post(
                "/v1.0/users",
                &self.admin_token(),
                json!({"userPrincipalName": upn, "displayName": display_name, "accountEnabled": true}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "create user {upn}: {body}");
        body["id"].as_str().expect("user id").to_string()
    }

    /// Creates a group as the admin; returns its id.
    pub async fn create_group(&self, name: &str, role_assignable: bool) -> String {
        let (status, body) = self
            .client
            .post(
                "/v1.0/groups",
                &self.admin_token(),
                json!({"displayName": name, "mailEnabled": false, "securityEnabled": true,
                       "mailNickname": name.replace(' ', ""), "isAssignableToRole": role_assignable}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "create group {name}: {body}");
        body["id"].as_str().expect("group id").to_string()
    }

    /// Creates an administrative unit as the admin; returns its id.
    pub async fn create_au(&self, name: &str) -> String {
        let (status, body) = self
            .client
            .post("/v1.0/directory/administrativeUnits", &self.admin_token(), json!({"displayName": name}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "create AU {name}: {body}");
        body["id"].as_str().expect("AU id").to_string()
    }

    /// Assigns a role as the admin; returns the assignment id.
    pub async fn assign_role(&self, principal_id: &str, role_id: &str, scope: &str) -> String {
        let (status, body) = self
            .client
            .post(
                &format!("{RM}/roleAssignments"),
                &self.admin_token(),
                json!({"@odata.type": "#microsoft.graph.unifiedRoleAssignment",
                       "principalId": principal_id, "roleDefinitionId": role_id, "directoryScopeId": scope}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "assign {role_id} to {principal_id} at {scope}: {body}");
        body["id"].as_str().expect("assignment id").to_string()
    }

    /// Adds `member_id` to a group (as the admin) via `members/$ref`.
    pub async fn add_group_member(&self, group_id: &str, member_id: &str) {
        let (status, body) = self
            .client
            .post(&format!("/v1.0/groups/{group_id}/members/$ref"), &self.admin_token(), reference(member_id))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "add {member_id} to group {group_id}: {body}");
    }

    /// Creates a user and gives it `role_id` at the tenant; returns (id, token).
    pub async fn user_with_role(&self, upn: &str, role_id: &str) -> (String, String) {
        let id = self.create_user(upn).await;
        self.assign_role(&id, role_id, "/").await;
        (id, self.token_for(upn))
    }

    /// Every item of a collection, following next links.
    pub async fn list_all(&self, path: &str, token: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut next = Some(path.to_string());
        while let Some(url) = next {
            let (status, body) = self.client.get(&url, token).await;
            assert_eq!(status, StatusCode::OK, "GET {url}: {body}");
            items.extend(body["value"].as_array().expect("value array").iter().cloned());
            next = body["@odata.nextLink"].as_str().map(str::to_string);
        }
        items
    }

    /// Number of items in a collection (following next links).
    pub async fn count(&self, path: &str) -> usize {
        self.list_all(path, &self.admin_token()).await.len()
    }
}

/// The object id of the user who holds `upn` in `server`'s directory right now, read from its
/// database. Tokens name their user by object id (`oid`), but tests think in UPNs; the harness
/// is synchronous, so the lookup runs on a helper thread with a connection of its own.
pub fn user_id_by_upn(server: &openpim_server::RunningServer, upn: &str) -> Option<uuid::Uuid> {
    let url = server.state.store.url().to_string();
    let upn = upn.to_string();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        rt.block_on(async {
            let store = openpim_store::Store::connect(&url).await.expect("a second connection to the test database");
            let user = store.get_user_by_upn(&upn).await.expect("user lookup");
            store.close().await;
            user.map(|u| u.id)
        })
    })
    .join()
    .expect("lookup thread")
}

/// A token (as the local issuer mints them) for the user who holds `upn` now. For a UPN nobody
/// holds, the token names a random object id, which the server refuses like any unknown user.
pub fn mint_for_upn(
    server: &openpim_server::RunningServer,
    upn: &str,
    mfa: bool,
    acrs: &[&str],
    now: time::OffsetDateTime,
    ttl: Duration,
) -> String {
    let oid = user_id_by_upn(server, upn).unwrap_or_else(uuid::Uuid::new_v4);
    let req = TokenRequest { oid, upn: upn.to_string(), mfa, acrs: acrs.iter().map(|a| a.to_string()).collect(), ttl };
    server.state.issuer.mint(&req, now)
}

/// A token for the user with object id `oid`, whatever its UPN is now.
pub fn mint_for_id(server: &openpim_server::RunningServer, oid: &str, mfa: bool) -> String {
    let oid = uuid::Uuid::parse_str(oid).expect("an object id");
    let req = TokenRequest { oid, upn: String::new(), mfa, acrs: vec![], ttl: Duration::from_secs(3600) };
    server.state.issuer.mint(&req, time::OffsetDateTime::now_utc())
}

/// The body of a `members/$ref` POST.
pub fn reference(id: &str) -> Value {
    json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}")})
}

/// Asserts a Graph error: the status, `{"error":{"code","message","innerError":{...}}}`.
#[track_caller]
pub fn assert_graph_error(status: StatusCode, body: &Value, expected_status: u16, expected_code: &str) {
    assert_eq!(status.as_u16(), expected_status, "unexpected status; body: {body}");
    let err = body.get("error").unwrap_or_else(|| panic!("no 'error' object in {body}"));
    assert_eq!(err["code"].as_str(), Some(expected_code), "unexpected error code in {body}");
    let message = err["message"].as_str().unwrap_or_else(|| panic!("no error message in {body}"));
    assert!(!message.trim().is_empty(), "empty error message in {body}");
    let inner = err["innerError"].as_object().unwrap_or_else(|| panic!("no innerError object in {body}"));
    assert!(inner.get("date").and_then(Value::as_str).is_some_and(|d| !d.is_empty()), "innerError.date in {body}");
    assert!(
        inner.get("request-id").and_then(Value::as_str).is_some_and(|d| uuid::Uuid::parse_str(d).is_ok()),
        "innerError.request-id in {body}"
    );
}

/// The ids of the items of a collection response.
pub fn ids(body: &Value) -> Vec<String> {
    body["value"]
        .as_array()
        .unwrap_or_else(|| panic!("not a collection: {body}"))
        .iter()
        .map(|v| v["id"].as_str().expect("id").to_string())
        .collect()
}
