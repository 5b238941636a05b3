//! One request id per request, as Graph does it: a fresh GUID in the `request-id` response
//! header, the client's `client-request-id` echoed (when it is a GUID), both repeated in an
//! error body's `innerError`, and the request id as the `correlationId` of every audit record
//! the request wrote, refusals and denials included. ARM paths add ARM's `x-ms-*` headers and
//! carry the ids in the error body's `additionalInfo`. Every log line written while a request
//! is served names it (the request span), the request's own line reports method, route, status,
//! duration and caller, and no line holds a token or a justification.

use crate::common;
use crate::pim;

use common::arm::{arm_token_for, assert_arm_error};
use common::{assert_graph_error, Resp, TestServer, USER_ADMINISTRATOR};
use pim::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

const AUDITS: &str = "/v1.0/auditLogs/directoryAudits";
const CLIENT_ID: &str = "0F8FAD5B-D9CB-469F-A165-70867728950E";

/// The response's (request-id, client-request-id); the request id must be a v4 GUID.
fn ids_of(r: &Resp) -> (String, String) {
    let header =
        |name: &str| r.headers.get(name).unwrap_or_else(|| panic!("no {name} header")).to_str().unwrap().to_string();
    let request_id = header("request-id");
    assert_eq!(header("x-ms-request-id"), request_id, "ARM's name for the same id");
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
    audit_records_of(&pim.client, &pim.admin_token()).await
}

async fn audit_records_of(client: &common::Client, admin_token: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next = Some(format!("{AUDITS}?$top=100"));
    while let Some(path) = next {
        let (status, page) = client.get(&path, admin_token).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        out.extend(page["value"].as_array().unwrap().iter().cloned());
        next = page["@odata.nextLink"].as_str().map(str::to_string);
    }
    out
}

/// The one audit record correlated with `request_id`.
async fn record_of(pim: &Pim, request_id: &str) -> Value {
    record_in(&pim.client, &pim.admin_token(), request_id).await
}

async fn record_in(client: &common::Client, admin_token: &str, request_id: &str) -> Value {
    let records = audit_records_of(client, admin_token).await;
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

/// The server's log lines while the test runs, as JSON objects (the format of `--log-json`), at
/// the default level. The subscriber is this thread's default, not the process's: a
/// `#[tokio::test]` runs the server's tasks on its own thread, so the test sees its server's
/// lines and no other test's.
struct LogCapture {
    buffer: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    fn start() -> Self {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=warn"))
            .json()
            .flatten_event(true)
            .with_writer(move || Sink(sink.clone()))
            .finish();
        Self { buffer, _guard: tracing::subscriber::set_default(subscriber) }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap()).to_string()
    }

    fn lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}")))
            .collect()
    }

    /// The request's own line: exactly one per request.
    fn request_line(&self, request_id: &str) -> Value {
        let lines: Vec<Value> = self
            .lines()
            .into_iter()
            .filter(|l| l["target"] == "openpim::request" && l["request_id"] == request_id)
            .collect();
        assert_eq!(lines.len(), 1, "one request line for {request_id}:\n{}", self.text());
        lines[0].clone()
    }

    /// The change lines written while serving the request: each in the request's span and
    /// naming it as its correlation id.
    fn change_lines(&self, request_id: &str) -> Vec<Value> {
        let lines: Vec<Value> = self
            .lines()
            .into_iter()
            .filter(|l| l["target"] == "openpim::change" && l["correlation_id"] == request_id)
            .collect();
        for line in &lines {
            assert_eq!(line["span"]["request_id"], request_id, "in the request's span: {line}");
        }
        lines
    }

    /// No line holds any of `secrets`.
    #[track_caller]
    fn assert_never_logged(&self, secrets: &[&str]) {
        let text = self.text();
        assert!(!text.is_empty());
        for secret in secrets {
            assert!(!text.contains(secret), "'{secret}' reached the log:\n{text}");
        }
        assert!(!text.to_lowercase().contains("bearer "), "an Authorization header reached the log:\n{text}");
    }
}

/// The fields of a request's line.
#[track_caller]
fn assert_request_line(line: &Value, method: &str, route: &str, path: &str, status: u16, caller: &str, client: &str) {
    assert_eq!(line["message"], "request", "{line}");
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["method"], method, "{line}");
    assert_eq!(line["route"], route, "{line}");
    assert_eq!(line["path"], path, "the path, never the query: {line}");
    assert_eq!(line["status"], status, "{line}");
    assert!(line["duration_ms"].as_f64().is_some_and(|d| d >= 0.0), "{line}");
    if caller.is_empty() {
        assert!(line.get("caller_id").is_none(), "no caller: {line}");
    } else {
        assert_eq!(line["caller_id"], caller, "{line}");
    }
    assert_eq!(line["client_request_id"], client, "{line}");
}

const JUSTIFICATION: &str = "Rotating the vault keys after incident INC-98121 (confidential)";
const MS_CLIENT_ID: &str = "7d0b7a51-3c86-4b8f-9a6e-7f54c1d0e9a2";
const CORRELATION_ID: &str = "c0ffee00-1234-4abc-8def-0123456789ab";

#[tokio::test]
async fn one_request_id_in_the_header_the_error_body_the_audit_record_and_the_log_graph_and_beta() {
    let pim = Pim::start().await;
    let logs = LogCapture::start();
    let admin = pim.admin_token();
    let (alice, alice_token) = pim.user("alice").await;

    // Graph v1.0: an activation the rules refuse (alice is not eligible), with a justification.
    let mut body = request("selfActivate", &alice, USER_ADMINISTRATOR, Some(for_duration(None, "PT1H")));
    body["justification"] = JUSTIFICATION.into();
    let refused = pim
        .client
        .send(
            pim.client
                .request(Method::POST, ASSIGNMENT_REQUESTS, Some(&alice_token))
                .header("client-request-id", CLIENT_ID)
                .json(&body),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    let (request_id, client_id) = ids_of(&refused);
    assert_eq!(client_id, CLIENT_ID);
    assert_error_ids(&refused, &request_id, CLIENT_ID);
    let record = record_of(&pim, &request_id).await;
    assert_eq!(record["result"], "failure", "{record}");
    let line = logs.request_line(&request_id);
    assert_request_line(
        &line,
        "POST",
        "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests",
        ASSIGNMENT_REQUESTS,
        400,
        &alice,
        CLIENT_ID,
    );
    let changes = logs.change_lines(&request_id);
    assert_eq!(changes.len(), 1, "one line for the audited refusal: {changes:#?}");
    assert_eq!(changes[0]["result"], "failure");
    assert_eq!(changes[0]["actor_id"], alice.as_str());
    assert_eq!(changes[0]["activity"], record["activityDisplayName"]);
    assert_eq!(changes[0]["audit_id"], record["id"]);

    // The same request granted: the change line names the activation, not its justification.
    pim.make_eligible(&alice, USER_ADMINISTRATOR).await;
    let granted = send_json(&pim, Method::POST, ASSIGNMENT_REQUESTS, &alice_token, body).await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.body);
    let (request_id, _) = ids_of(&granted);
    let record = record_of(&pim, &request_id).await;
    assert_eq!(record["result"], "success", "{record}");
    let line = logs.request_line(&request_id);
    assert_eq!((line["status"].as_u64(), line["caller_id"].as_str()), (Some(201), Some(alice.as_str())), "{line}");
    let changes = logs.change_lines(&request_id);
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(
        (changes[0]["result"].as_str(), changes[0]["actor_id"].as_str()),
        (Some("success"), Some(alice.as_str()))
    );
    assert!(changes[0]["targets"].as_str().unwrap().contains(USER_ADMINISTRATOR), "{}", changes[0]);

    // /beta, with the Azure SDKs' x-ms-client-request-id: a denied user creation.
    let (dave, dave_token) = pim.user("dave").await;
    let denied = pim
        .client
        .send(
            pim.client
                .request(Method::POST, "/beta/users?$select=id", Some(&dave_token))
                .header("x-ms-client-request-id", MS_CLIENT_ID)
                .json(&json!({"userPrincipalName": "x@openpim.test", "displayName": "X", "mailNickname": "x",
                              "accountEnabled": true, "passwordProfile": {"password": "Secret-123456"}})),
        )
        .await;
    assert_graph_error(denied.status, &denied.body, 403, "Authorization_RequestDenied");
    let (request_id, client_id) = ids_of(&denied);
    assert_eq!(client_id, MS_CLIENT_ID, "x-ms-client-request-id is the client's id when client-request-id is absent");
    assert_error_ids(&denied, &request_id, MS_CLIENT_ID);
    let record = record_of(&pim, &request_id).await;
    assert_eq!(
        (record["activityDisplayName"].as_str(), record["result"].as_str()),
        (Some("Add user"), Some("failure"))
    );
    let line = logs.request_line(&request_id);
    assert_request_line(&line, "POST", "/beta/users", "/beta/users", 403, &dave, MS_CLIENT_ID);
    assert_eq!(logs.change_lines(&request_id).len(), 1);

    // A route nothing matches, unauthenticated: no caller.
    let missing = send(&pim, Method::GET, "/v1.0/nothingHere", None, None).await;
    let (request_id, client_id) = ids_of(&missing);
    let line = logs.request_line(&request_id);
    assert_request_line(&line, "GET", "unmatched", "/v1.0/nothingHere", 404, "", &client_id);

    pim.stop().await;
    logs.assert_never_logged(&[&admin, &alice_token, &dave_token, JUSTIFICATION, "Secret-123456"]);
}

#[tokio::test]
async fn one_request_id_in_the_header_the_error_body_the_audit_record_and_the_log_arm() {
    const SUB: &str = "5d3c1a2b-0000-4000-8000-00000000b551";
    let ts = TestServer::start().await;
    let admin = common::arm::admin_owns_subscription(&ts, &[SUB], &[]).await;
    let logs = LogCapture::start();
    let bob = ts.create_user("bob@openpim.test").await;
    let bob_token = arm_token_for(&ts, "bob@openpim.test");

    // bob holds no Azure role: his role assignment PUT is denied, and audited.
    let name = uuid::Uuid::new_v4();
    let path = format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/{name}");
    let denied = ts
        .client
        .send(
            ts.client
                .request(Method::PUT, &format!("{path}?api-version=2022-04-01"), Some(&bob_token))
                .header("x-ms-client-request-id", MS_CLIENT_ID)
                .header("x-ms-correlation-request-id", CORRELATION_ID)
                .json(&json!({"properties": {
                    "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"),
                    "principalId": bob,
                }})),
        )
        .await;
    assert_arm_error(&denied, 403, "AuthorizationFailed");
    let (request_id, client_id) = ids_of(&denied);
    assert_eq!(client_id, MS_CLIENT_ID);
    assert_eq!(denied.headers["x-ms-client-request-id"], MS_CLIENT_ID, "echoed as sent");
    assert_eq!(denied.headers["x-ms-correlation-request-id"], CORRELATION_ID, "the client's correlation id");
    let info = &denied.body["error"]["additionalInfo"][0];
    assert_eq!(info["type"], "OpenPIM.RequestIds", "{}", denied.body);
    assert_eq!(info["info"]["requestId"], request_id.as_str(), "{}", denied.body);
    assert_eq!(info["info"]["clientRequestId"], MS_CLIENT_ID, "{}", denied.body);
    assert_eq!(info["info"]["correlationRequestId"], CORRELATION_ID, "{}", denied.body);
    let record = record_in(&ts.client, &ts.admin_token(), &request_id).await;
    assert_eq!(record["result"], "failure", "{record}");
    assert_eq!(record["initiatedBy"]["user"]["id"], bob.as_str());
    let line = logs.request_line(&request_id);
    assert_request_line(
        &line,
        "PUT",
        "{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
        &path,
        403,
        &bob,
        MS_CLIENT_ID,
    );
    let changes = logs.change_lines(&request_id);
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!((changes[0]["result"].as_str(), changes[0]["actor_id"].as_str()), (Some("failure"), Some(bob.as_str())));

    // An error raised before any ARM code runs (the URI limit) is still ARM's shape, with the ids.
    let long = format!("/subscriptions?x={}", "a".repeat(50 * 1024));
    let too_long = ts.client.send(ts.client.request(Method::GET, &long, Some(&bob_token))).await;
    assert_arm_error(&too_long, 414, "Request_UriTooLong");
    let (request_id, _) = ids_of(&too_long);
    assert_eq!(too_long.body["error"]["additionalInfo"][0]["info"]["requestId"], request_id.as_str());
    assert!(too_long.body["error"].get("innerError").is_none(), "ARM's shape, not Graph's: {}", too_long.body);
    assert_eq!(logs.request_line(&request_id)["status"], 414);

    ts.stop().await;
    logs.assert_never_logged(&[&admin, &bob_token]);
}
