//! Malformed requests: each gets the right 4xx Graph error and changes nothing. Plus a
//! deterministic garbage barrage that must never produce a 5xx.

use crate::common;

use common::*;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Sends raw bytes with a content type; returns status and body.
async fn raw(ts: &TestServer, method: Method, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Resp {
    let mut req = ts.client.request(method, path, Some(&ts.admin_token())).body(body);
    if let Some(ct) = content_type {
        req = req.header("Content-Type", ct);
    }
    ts.client.send(req).await
}

/// method, path, content type, body, expected status, expected code
type Case<'a> = (Method, String, Option<&'a str>, Vec<u8>, u16, &'a str);

/// A snapshot of everything the bad requests could have changed.
async fn snapshot(ts: &TestServer) -> Value {
    let admin = ts.admin_token();
    let mut out = serde_json::Map::new();
    for path in [
        "/v1.0/users".to_string(),
        "/v1.0/groups".to_string(),
        "/v1.0/directory/administrativeUnits".to_string(),
        format!("{RM}/roleAssignments"),
        format!("{RM}/roleDefinitions?$filter=isBuiltIn eq false"),
    ] {
        let mut items = ts.list_all(&path, &admin).await;
        items.sort_by_key(|v| v["id"].as_str().unwrap_or_default().to_string());
        out.insert(path, Value::Array(items));
    }
    Value::Object(out)
}

/// Audit entries that record a successful change (the bad requests must add none).
async fn successful_changes(ts: &TestServer) -> usize {
    ts.list_all("/v1.0/auditLogs/directoryAudits?$filter=result eq 'success'", &ts.admin_token()).await.len()
}

#[tokio::test]
async fn malformed_bodies() {
    let ts = TestServer::start().await;
    let user = ts.create_user("victim@openpim.test").await;
    let group = ts.create_group("Victims", false).await;
    let before = snapshot(&ts).await;
    let changes = successful_changes(&ts).await;
    let json_ct = Some("application/json");
    let user_path = format!("/v1.0/users/{user}");

    let cases: Vec<Case> = vec![
        (Method::POST, "/v1.0/users".into(), json_ct, b"{\"displayName\": ".to_vec(), 400, "Request_BadRequest"),
        (Method::POST, "/v1.0/users".into(), json_ct, b"not json at all".to_vec(), 400, "Request_BadRequest"),
        (Method::POST, "/v1.0/users".into(), json_ct, b"".to_vec(), 400, "Request_BadRequest"),
        (Method::POST, "/v1.0/users".into(), json_ct, b"[{\"userPrincipalName\":\"a@openpim.test\",\"displayName\":\"A\"}]".to_vec(), 400, "Request_BadRequest"),
        (Method::POST, "/v1.0/users".into(), json_ct, b"\"a string\"".to_vec(), 400, "Request_BadRequest"),
        (Method::POST, "/v1.0/users".into(), json_ct, b"null".to_vec(), 400, "Request_BadRequest"),
        (Method::POST, "/v1.0/users".into(), json_ct, br#"{"userPrincipalName":"t@openpim.test","displayName":"T","accountEnabled":"yes"}"#.to_vec(), 400, "Request_BadRequest"),
        (Method::POST, "/v1.0/users".into(), json_ct, br#"{"userPrincipalName":"t@openpim.test","displayName":5}"#.to_vec(), 400, "Request_BadRequest"),
        (Method::POST, "/v1.0/users".into(), json_ct, br#"{"userPrincipalName":"t@openpim.test","displayName":"T","bogus":1}"#.to_vec(), 400, "Request_BadRequest"),
        (Method::POST, "/v1.0/users".into(), json_ct, br#"{"userPrincipalName":"t@openpim.test","displayName":"T"} trailing"#.to_vec(), 400, "Request_BadRequest"),
        (Method::POST, "/v1.0/users".into(), Some("text/plain"), br#"{"userPrincipalName":"t@openpim.test","displayName":"T"}"#.to_vec(), 415, "Request_BadRequest"),
        (Method::POST, "/v1.0/users".into(), Some("application/x-www-form-urlencoded"), b"userPrincipalName=t%40openpim.test&displayName=T".to_vec(), 415, "Request_BadRequest"),
        (Method::PATCH, user_path.clone(), json_ct, br#"{"accountEnabled":"no"}"#.to_vec(), 400, "Request_BadRequest"),
        (Method::PATCH, user_path.clone(), json_ct, br#"{"displayName":["x"]}"#.to_vec(), 400, "Request_BadRequest"),
        (Method::PATCH, user_path.clone(), json_ct, br#"{"displayName":"ok","bogus":1}"#.to_vec(), 400, "Request_BadRequest"),
        (Method::PATCH, user_path.clone(), json_ct, br#"{"id":"00000000-0000-0000-0000-000000000000"}"#.to_vec(), 400, "Request_BadRequest"),
        (Method::PATCH, user_path.clone(), json_ct, br#"{"displayName":"bad\u0007name"}"#.to_vec(), 400, "Request_BadRequest"),
        (Method::PATCH, user_path.clone(), Some("text/plain"), br#"{"displayName":"x"}"#.to_vec(), 415, "Request_BadRequest"),
        (Method::POST, "/v1.0/groups".into(), json_ct, br#"{"displayName":"G","mailEnabled":"false","securityEnabled":true}"#.to_vec(), 400, "Request_BadRequest"),
        (Method::POST, "/v1.0/groups".into(), json_ct, br#"{"displayName":"G","mailEnabled":false,"securityEnabled":true,"groupTypes":["Unified"]}"#.to_vec(), 400, "Request_BadRequest"),
        (Method::POST, format!("/v1.0/groups/{group}/members/$ref"), json_ct, br#"{"@odata.id": 5}"#.to_vec(), 400, "Request_BadRequest"),
        (Method::POST, format!("/v1.0/groups/{group}/members/$ref"), json_ct, b"[]".to_vec(), 400, "Request_BadRequest"),
        (Method::POST, format!("{RM}/roleAssignments"), json_ct, format!(r#"{{"principalId":"{user}","roleDefinitionId":"{GLOBAL_READER}","directoryScopeId":"/","extra":true}}"#).into_bytes(), 400, "Request_BadRequest"),
        (Method::POST, format!("{RM}/roleAssignments"), json_ct, format!(r#"{{"principalId":"{user}","roleDefinitionId":"{GLOBAL_READER}","directoryScopeId":7}}"#).into_bytes(), 400, "Request_BadRequest"),
        (Method::POST, format!("{RM}/roleAssignments"), json_ct, format!(r#"{{"principalId":"{user}","roleDefinitionId":"{GLOBAL_READER}","appScopeId":"/"}}"#).into_bytes(), 400, "Request_BadRequest"),
        (Method::POST, format!("{RM}/roleDefinitions"), json_ct, br#"{"displayName":"R","isEnabled":true,"rolePermissions":"all"}"#.to_vec(), 400, "Request_BadRequest"),
        (Method::POST, format!("{RM}/roleDefinitions"), json_ct, br#"{"displayName":"R","isEnabled":true,"rolePermissions":[{"allowedResourceActions":["microsoft.directory/applications/basic/update"],"bogus":1}]}"#.to_vec(), 400, "Request_BadRequest"),
        (Method::POST, format!("{RM}/roleDefinitions"), json_ct, br#"{"displayName":"R","isEnabled":true,"isBuiltIn":true,"rolePermissions":[{"allowedResourceActions":["microsoft.directory/applications/basic/update"]}]}"#.to_vec(), 400, "Request_BadRequest"),
        (Method::POST, "/v1.0/directory/administrativeUnits".into(), json_ct, br#"{"displayName":{}}"#.to_vec(), 400, "Request_BadRequest"),
    ];
    for (method, path, ct, body, status, code) in cases {
        let shown = String::from_utf8_lossy(&body).to_string();
        let r = raw(&ts, method.clone(), &path, ct, body).await;
        assert_eq!(r.status.as_u16(), status, "{method} {path} {ct:?} {shown}: {}", r.body);
        assert_graph_error(r.status, &r.body, status, code);
    }

    // A body over the 1 MiB limit.
    let mut big = br#"{"userPrincipalName":"big@openpim.test","displayName":""#.to_vec();
    big.extend(vec![b'x'; 1024 * 1024 + 10]);
    big.extend(br#""}"#);
    let r = raw(&ts, Method::POST, "/v1.0/users", json_ct, big).await;
    assert_graph_error(r.status, &r.body, 413, "Request_EntityTooLarge");

    // An unknown property is named in the message.
    let r = raw(
        &ts,
        Method::POST,
        "/v1.0/users",
        json_ct,
        br#"{"userPrincipalName":"t@openpim.test","displayName":"T","bogus":1}"#.to_vec(),
    )
    .await;
    assert!(r.body["error"]["message"].as_str().unwrap().contains("bogus"), "{}", r.body);

    assert_eq!(snapshot(&ts).await, before, "a rejected request changed the directory");
    assert_eq!(successful_changes(&ts).await, changes);
    ts.stop().await;
}

#[tokio::test]
async fn bad_paths_and_methods() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let before = snapshot(&ts).await;
    for path in [
        "/v1.0/groups/not-a-guid",
        "/v1.0/directory/administrativeUnits/123",
        "/v1.0/roleManagement/directory/roleDefinitions/xyz",
        "/v1.0/roleManagement/directory/roleAssignments/xyz",
        "/v1.0/auditLogs/directoryAudits/xyz",
    ] {
        let (status, body) = ts.client.get(path, &admin).await;
        assert_graph_error(status, &body, 400, "Request_BadRequest");
        let (status, body) = ts.client.delete(path, &admin).await;
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::METHOD_NOT_ALLOWED,
            "DELETE {path}: {status} {body}"
        );
        assert!(body["error"]["code"].is_string(), "{body}");
    }
    let (status, body) = ts.client.delete("/v1.0/groups/not-a-guid/members/also-not/$ref", &admin).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    // A path segment that is not UTF-8 once decoded: still a Graph error, not axum's plain text.
    for path in ["/v1.0/users/%FF", "/v1.0/groups/%C3%28", "/v1.0/users/%FF%FE@openpim.test/memberOf"] {
        let (status, body) = ts.client.get(path, &admin).await;
        assert_graph_error(status, &body, 400, "Request_BadRequest");
    }

    // (`/` itself is the web UI, tested in ui.rs.)
    for path in ["/v1.0/nothing", "/v2.0/users", "/beta/nothing", "/v1.0/users/x/y/z", "/nothing"] {
        let (status, body) = ts.client.get(path, &admin).await;
        assert_graph_error(status, &body, 404, "UnknownError");
    }
    // Unknown routes answer 404 even without a token (nothing to authenticate against).
    let r = ts.client.send(ts.client.request(Method::GET, "/v1.0/nothing", None)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    for (method, path) in [
        (Method::PUT, "/v1.0/users".to_string()),
        (Method::DELETE, "/v1.0/users".to_string()),
        (Method::PATCH, format!("{RM}/roleAssignments")),
        (Method::PUT, format!("/v1.0/users/{}", ts.admin_id)),
        (Method::PATCH, format!("{RM}/roleAssignments/{}", uuid::Uuid::new_v4())),
        (Method::POST, "/v1.0/me".to_string()),
        (Method::POST, "/v1.0/auditLogs/directoryAudits".to_string()),
    ] {
        let r = ts.client.send(ts.client.request(method.clone(), &path, Some(&admin)).json(&json!({}))).await;
        assert_graph_error(r.status, &r.body, 405, "Request_BadRequest");
    }
    assert_eq!(snapshot(&ts).await, before);
    ts.stop().await;
}

/// A small deterministic generator (Knuth's MMIX LCG).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const FILTER_PIECES: &[&str] = &[
    "displayName",
    "userPrincipalName",
    "id",
    "accountEnabled",
    "createdDateTime",
    "isBuiltIn",
    "templateId",
    "principalId",
    "directoryScopeId",
    "initiatedBy/user/id",
    "category",
    "bogus",
    " eq ",
    " ne ",
    " gt ",
    " ge ",
    " lt ",
    " le ",
    " and ",
    " or ",
    "not ",
    " in ",
    "(",
    ")",
    ",",
    "'",
    "''",
    "'x'",
    "'Global Reader'",
    "true",
    "false",
    "null",
    "42",
    "-1",
    "1e400",
    "99999999999999999999",
    "2026-01-01T00:00:00Z",
    "2026-13-45T99:99:99Z",
    "62e90394-69f5-4237-9190-012177145e10",
    "startswith(",
    "endswith(",
    "contains(",
    "any(x:x eq 1)",
    "/",
    "$",
    "\\",
    "\"",
    "%",
    "%00",
    "\u{0}",
    "é",
    "🦀",
    " ",
    "  ",
    "eq",
    "''''",
    "))))",
    "((((",
    ";--",
    "' or 1=1 --",
];

const CHARS: &[u8] = b"abcdefXYZ019 '\"()[]{},.:;/\\$@%&=+-_*!?<>|~`#^\t\n";

fn garbage_filter(rng: &mut Lcg) -> String {
    if rng.below(4) == 0 {
        let len = rng.below(40);
        (0..len).map(|_| *rng.pick(CHARS) as char).collect()
    } else {
        let n = 1 + rng.below(8);
        (0..n).map(|_| *rng.pick(FILTER_PIECES)).collect()
    }
}

fn garbage_value(rng: &mut Lcg, depth: usize) -> Value {
    match rng.below(if depth > 2 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => json!(rng.next() as i64 - (1 << 30)),
        3 => json!(1.5e300),
        4 => Value::String(garbage_filter(rng)),
        5 => Value::String(rng.pick(&["a@openpim.test", "", "/", GLOBAL_READER, "#microsoft.graph.user"]).to_string()),
        6 => Value::Array((0..rng.below(4)).map(|_| garbage_value(rng, depth + 1)).collect()),
        _ => garbage_object(rng, depth + 1),
    }
}

const KEYS: &[&str] = &[
    "displayName",
    "userPrincipalName",
    "accountEnabled",
    "mailEnabled",
    "securityEnabled",
    "isAssignableToRole",
    "description",
    "mailNickname",
    "principalId",
    "roleDefinitionId",
    "directoryScopeId",
    "appScopeId",
    "rolePermissions",
    "allowedResourceActions",
    "isEnabled",
    "templateId",
    "@odata.id",
    "@odata.type",
    "id",
    "bogus",
    "passwordProfile",
    "groupTypes",
    "",
];

fn garbage_object(rng: &mut Lcg, depth: usize) -> Value {
    let n = rng.below(6);
    Value::Object((0..n).map(|_| (rng.pick(KEYS).to_string(), garbage_value(rng, depth))).collect())
}

#[tokio::test]
async fn garbage_never_causes_a_server_error() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let user = ts.create_user("fuzz@openpim.test").await;
    let group = ts.create_group("Fuzz", false).await;
    let mut rng = Lcg(0x5EED_1234_ABCD_0001);

    let collections = [
        "/v1.0/users".to_string(),
        "/v1.0/groups".to_string(),
        "/v1.0/directory/administrativeUnits".to_string(),
        format!("{RM}/roleDefinitions"),
        format!("{RM}/roleAssignments"),
        "/v1.0/auditLogs/directoryAudits".to_string(),
        format!("/v1.0/groups/{group}/members"),
    ];
    let mut server_errors = Vec::new();
    let (mut ok, mut rejected) = (0, 0);
    for i in 0..300 {
        let filter = garbage_filter(&mut rng);
        let path = rng.pick(&collections).clone();
        // Alternate between a fully encoded filter and one left for the URL parser to encode.
        let url = if i % 2 == 0 {
            format!("{path}?$filter={}", utf8_percent_encode(&filter, NON_ALPHANUMERIC))
        } else {
            format!("{path}?$filter={}", filter.replace(['#', '&'], ""))
        };
        let (status, body) = ts.client.get(&url, &admin).await;
        if status.is_server_error() {
            server_errors.push(format!("GET {url}: {status} {body}"));
        } else if status.is_success() {
            ok += 1;
        } else {
            rejected += 1;
            assert_eq!(status, StatusCode::BAD_REQUEST, "GET {url}: {body}");
            assert!(body["error"]["code"].is_string(), "GET {url}: {body}");
        }
    }

    let targets = [
        (Method::POST, "/v1.0/users".to_string()),
        (Method::PATCH, format!("/v1.0/users/{user}")),
        (Method::POST, "/v1.0/groups".to_string()),
        (Method::PATCH, format!("/v1.0/groups/{group}")),
        (Method::POST, format!("/v1.0/groups/{group}/members/$ref")),
        (Method::POST, "/v1.0/directory/administrativeUnits".to_string()),
        (Method::POST, format!("{RM}/roleDefinitions")),
        (Method::POST, format!("{RM}/roleAssignments")),
    ];
    for _ in 0..300 {
        let (method, path) = rng.pick(&targets).clone();
        let body = if rng.below(5) == 0 {
            // Not even JSON, or truncated JSON.
            let text = garbage_object(&mut rng, 0).to_string();
            // Cut anywhere, even inside a multi-byte character.
            let cut = rng.below(text.len() + 1);
            text.as_bytes()[..cut].to_vec()
        } else {
            garbage_object(&mut rng, 0).to_string().into_bytes()
        };
        let shown = String::from_utf8_lossy(&body).to_string();
        let r = raw(&ts, method.clone(), &path, Some("application/json"), body).await;
        if r.status.is_server_error() {
            server_errors.push(format!("{method} {path} {shown}: {} {}", r.status, r.body));
        } else if r.status.is_success() {
            ok += 1;
        } else {
            rejected += 1;
            assert!(r.status.is_client_error(), "{method} {path} {shown}: {}", r.status);
            assert!(r.body["error"]["message"].is_string(), "{method} {path} {shown}: {}", r.body);
        }
    }
    eprintln!("garbage: {ok} accepted, {rejected} rejected");
    // The generator reaches both the happy path and the error paths.
    assert!(ok >= 5 && rejected >= 300, "{ok} accepted, {rejected} rejected");
    assert!(server_errors.is_empty(), "{} server errors:\n{}", server_errors.len(), server_errors.join("\n"));
    // The server is still healthy.
    assert_eq!(ts.client.get("/v1.0/me", &admin).await.0, StatusCode::OK);
    ts.stop().await;
}

/// Rules of the shared body reader (`wire/body.rs`) and the duration parser: every endpoint
/// inherits them, so they are tried on several.
#[tokio::test]
async fn body_hygiene_duplicates_lengths_bidi_and_durations() {
    let ts = TestServer::start().await;
    let user = ts.create_user("hygiene@openpim.test").await;
    let before = snapshot(&ts).await;
    let changes = successful_changes(&ts).await;
    let json_ct = Some("application/json");
    let eligibility = format!("{RM}/roleEligibilityScheduleRequests");
    let request = |duration: &str, custom_data: Option<String>| {
        let mut body = json!({
            "action": "adminAssign", "principalId": user, "roleDefinitionId": USER_ADMINISTRATOR,
            "directoryScopeId": "/", "justification": "hygiene",
            "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": duration}}
        });
        if let Some(c) = custom_data {
            body["customData"] = Value::from(c);
        }
        body.to_string().into_bytes()
    };
    let long = "x".repeat(1025);
    let cases: Vec<(Method, String, Vec<u8>, &str)> = vec![
        // The same property twice: the last must not silently win (case-insensitively too).
        (Method::POST, "/v1.0/users".into(), br#"{"userPrincipalName":"d@openpim.test","displayName":"A","displayName":"B"}"#.to_vec(), "more than once"),
        (Method::POST, "/v1.0/users".into(), br#"{"userPrincipalName":"d@openpim.test","displayName":"A","DisplayName":"B"}"#.to_vec(), "more than once"),
        (Method::PATCH, format!("/v1.0/users/{user}"), br#"{"accountEnabled":true,"accountEnabled":false}"#.to_vec(), "more than once"),
        (Method::POST, eligibility.clone(), format!(r#"{{"action":"adminRemove","principalId":"{user}","roleDefinitionId":"{USER_ADMINISTRATOR}","directoryScopeId":"/","scheduleInfo":{{"expiration":{{"type":"noExpiration","type":"afterDuration"}}}}}}"#).into_bytes(), "more than once"),
        // Over-long strings.
        (Method::POST, "/v1.0/users".into(), json!({"userPrincipalName": "l@openpim.test", "displayName": long}).to_string().into_bytes(), "longer than 1024"),
        (Method::POST, "/v1.0/groups".into(), json!({"displayName": "G", "description": long, "mailEnabled": false, "securityEnabled": true, "mailNickname": "g"}).to_string().into_bytes(), "longer than 1024"),
        (Method::POST, eligibility.clone(), request("PT1H", Some("c".repeat(4097))), "longer than 4096"),
        // Bidirectional controls in display names and UPNs ("Trojan Source" spoofing).
        (Method::POST, "/v1.0/users".into(), json!({"userPrincipalName": "b@openpim.test", "displayName": "admin\u{202E}nimda"}).to_string().into_bytes(), "U+202E"),
        (Method::POST, "/v1.0/users".into(), json!({"userPrincipalName": "b\u{2066}@openpim.test", "displayName": "B"}).to_string().into_bytes(), "U+2066"),
        (Method::PATCH, format!("/v1.0/users/{user}"), json!({"displayName": "x\u{202A}y"}).to_string().into_bytes(), "U+202A"),
        (Method::POST, "/v1.0/directory/administrativeUnits".into(), json!({"displayName": "unit\u{2069}"}).to_string().into_bytes(), "U+2069"),
        // A duration with a component twice, or out of order.
        (Method::POST, eligibility.clone(), request("PT1H1H", None), ""),
        (Method::POST, eligibility.clone(), request("PT5M1H", None), ""),
    ];
    for (method, path, body, says) in cases {
        let shown: String = String::from_utf8_lossy(&body).chars().take(200).collect();
        let r = raw(&ts, method.clone(), &path, json_ct, body).await;
        assert_graph_error(r.status, &r.body, 400, r.body["error"]["code"].as_str().unwrap_or("?"));
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{method} {path} {shown}: message should say '{says}': {message}");
    }
    assert_eq!(snapshot(&ts).await, before, "a rejected request changed the directory");
    assert_eq!(successful_changes(&ts).await, changes, "a rejected request was committed");

    // Within the bounds, the same requests succeed: customData may be longer than other strings.
    let r = raw(&ts, Method::POST, &eligibility, json_ct, request("PT1H", Some("c".repeat(4096)))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let ok_name = "y".repeat(200);
    let r = raw(
        &ts,
        Method::PATCH,
        &format!("/v1.0/users/{user}"),
        json_ct,
        json!({"displayName": ok_name}).to_string().into_bytes(),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    ts.stop().await;
}
