//! ARM test helpers: tokens with Azure Resource Manager's audience, ARM requests, and the ARM
//! error assertion.

use super::{user_id_by_upn, Resp, TestServer};
use openpim_server::auth::{TokenAudience, TokenRequest};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::Duration;

/// A token with audience `https://management.azure.com/` for the user holding `upn`.
pub fn arm_token_for(ts: &TestServer, upn: &str) -> String {
    let oid = user_id_by_upn(&ts.server, upn).unwrap_or_else(uuid::Uuid::new_v4);
    arm_token_for_id(ts, oid)
}

/// A token with ARM's audience for the user with object id `oid`.
pub fn arm_token_for_id(ts: &TestServer, oid: uuid::Uuid) -> String {
    let req = TokenRequest { oid, upn: String::new(), mfa: false, acrs: vec![], ttl: Duration::from_secs(3600) };
    ts.server.state.issuer.mint_for(&req, TokenAudience::Arm, time::OffsetDateTime::now_utc())
}

/// The bootstrap administrator's ARM token.
pub fn arm_admin_token(ts: &TestServer) -> String {
    arm_token_for_id(ts, uuid::Uuid::parse_str(&ts.admin_id).expect("admin id"))
}

/// An ARM request with an optional JSON body; `path` includes the query.
pub async fn arm(ts: &TestServer, method: Method, path: &str, token: Option<&str>, body: Option<&Value>) -> Resp {
    let mut req = ts.client.request(method, path, token);
    if let Some(b) = body {
        req = req.json(b);
    }
    ts.client.send(req).await
}

/// Asserts an ARM error: the status, `{"error":{"code","message"}}` and ARM's request-id header.
#[track_caller]
pub fn assert_arm_error(resp: &Resp, expected_status: u16, expected_code: &str) {
    assert_eq!(resp.status.as_u16(), expected_status, "unexpected status; body: {}", resp.body);
    let err = resp.body.get("error").unwrap_or_else(|| panic!("no 'error' object in {}", resp.body));
    assert_eq!(err["code"].as_str(), Some(expected_code), "unexpected error code in {}", resp.body);
    let message = err["message"].as_str().unwrap_or_else(|| panic!("no error message in {}", resp.body));
    assert!(!message.trim().is_empty(), "empty error message in {}", resp.body);
    assert!(resp.headers.contains_key("x-ms-request-id"), "no x-ms-request-id on an ARM error");
    assert_ne!(resp.status, StatusCode::INTERNAL_SERVER_ERROR);
}

/// Gives `principal` the built-in Azure role `role_name` (e.g. "Owner") at the ARM `scope`, in
/// the server's access index only. Stands in for Azure role assignments (issue #15's
/// roleAssignments area) in tests of the areas that only consume them; the grant and the role
/// are the engine's own types, checked by the same index.
pub fn grant_azure_role(ts: &TestServer, principal: uuid::Uuid, role_name: &str, scope: &str) -> uuid::Uuid {
    use openpim_core::access::{Grant, GrantSource};
    use openpim_core::change::IndexUpdate;
    use openpim_core::scope::{ArmScope, Scope};
    let builtin = openpim_core::azure_catalog::builtin_role_by_name(role_name).expect("a built-in Azure role");
    let now = time::OffsetDateTime::now_utc();
    // The same engine role the server loads from the catalog at start.
    let role = openpim_core::roles::azure::from_catalog(builtin, now);
    let grant = Grant {
        id: uuid::Uuid::new_v4(),
        principal_id: principal,
        role_definition_id: builtin.id,
        scope: Scope::Arm(ArmScope::parse(scope).expect("an ARM scope")),
        start: None,
        end: None,
        source: GrantSource::Assigned,
    };
    let id = grant.id;
    let mut index = ts.server.state.index.write().expect("index lock");
    index.apply(IndexUpdate::RoleDefinitionSaved(role));
    index.apply(IndexUpdate::GrantAdded(grant));
    id
}

/// The api-version of the role assignment and permission requests the tests send.
pub const AUTHORIZATION_VERSION: &str = "api-version=2022-04-01";

/// `POST /providers/Microsoft.Authorization/elevateAccess` as `token`.
pub async fn elevate(ts: &TestServer, token: &str) -> Resp {
    arm(ts, Method::POST, "/providers/Microsoft.Authorization/elevateAccess?api-version=2016-07-01", Some(token), None)
        .await
}

/// Registers subscription `id` (under the tenant root management group) as the admin, through
/// OpenPIM's Graph-side extension.
pub async fn register_subscription(ts: &TestServer, id: &str, display_name: &str) {
    let (status, body) = ts
        .client
        .call(
            Method::PUT,
            &format!("/openpim/azure/subscriptions/{id}"),
            &ts.admin_token(),
            Some(&serde_json::json!({ "displayName": display_name })),
        )
        .await;
    assert!(status.is_success(), "register {id}: {body}");
}

/// Creates a resource group, or a resource (any id with `/providers/`), in West Europe as `token`.
pub async fn create_arm(ts: &TestServer, token: &str, id: &str) {
    let version = if id.contains("/providers/") { "2023-01-01" } else { "2021-04-01" };
    let body = serde_json::json!({"location": "westeurope"});
    let r = arm(ts, Method::PUT, &format!("{id}?api-version={version}"), Some(token), Some(&body)).await;
    assert!(r.status.is_success(), "create {id}: {}", r.body);
}

/// Assigns the Azure role with GUID `role` to `principal` at `scope` through ARM as `token`,
/// under a new name, expecting 201; returns the name.
pub async fn assign(ts: &TestServer, token: &str, scope: &str, role: &str, principal: &str) -> String {
    let name = uuid::Uuid::new_v4().to_string();
    let path = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}?{AUTHORIZATION_VERSION}");
    let body = serde_json::json!({"properties": {
        "roleDefinitionId": format!("/providers/Microsoft.Authorization/roleDefinitions/{role}"),
        "principalId": principal,
    }});
    let r = arm(ts, Method::PUT, &path, Some(token), Some(&body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "assign {role} at {scope}: {}", r.body);
    name
}

/// Owner's built-in GUID.
pub const OWNER_ROLE: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";

/// The set-up the ARM suites share, as the Azure SDK suite does it: the admin elevates (User
/// Access Administrator at `/`), registers `subscriptions`, makes itself Owner of the first and
/// creates `ids` there (resource groups and resources, in order). Returns the admin's ARM token.
pub async fn admin_owns_subscription(ts: &TestServer, subscriptions: &[&str], ids: &[String]) -> String {
    let admin = arm_admin_token(ts);
    let r = elevate(ts, &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for s in subscriptions {
        register_subscription(ts, s, &format!("sub {s}")).await;
    }
    assign(ts, &admin, &format!("/subscriptions/{}", subscriptions[0]), OWNER_ROLE, &ts.admin_id).await;
    for id in ids {
        create_arm(ts, &admin, id).await;
    }
    admin
}
