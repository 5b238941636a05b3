//! PIM for Azure resources over ARM (issue #16): role eligibility and assignment schedule
//! requests at ARM scopes, on the directory's engine, walked through with the fake clock: the
//! 5-minute rules, activation at a child scope of the eligibility, activation capped by the
//! eligibility and the policy, extend/renew windows, pending requests, cancel and validate,
//! and the permissions API before, during and after an activation (to the second). SQLite
//! always; PostgreSQL too when `OPENPIM_TEST_POSTGRES_URL` is set.

use crate::pim::{Pim, T0};
use openpim_server::auth::{TokenAudience, TokenRequest};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

pub const SUB: &str = "7a1c0de5-0000-4000-8000-00000000a161";
pub const OTHER_SUB: &str = "7a1c0de5-0000-4000-8000-00000000a162";
pub const V: &str = "api-version=2020-10-01";
pub const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
pub const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
pub const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";

pub fn sub() -> String {
    format!("/subscriptions/{SUB}")
}

pub fn rg(name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{name}")
}

pub fn guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn rfc(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

/// An ARM token (audience `https://management.azure.com/`) for `oid`.
pub fn arm_token(pim: &Pim, oid: &str) -> String {
    let req = TokenRequest {
        oid: uuid::Uuid::parse_str(oid).expect("oid"),
        upn: String::new(),
        mfa: false,
        acrs: vec![],
        ttl: std::time::Duration::from_secs(3600),
    };
    pim.server.state.issuer.mint_for(&req, TokenAudience::Arm, OffsetDateTime::now_utc())
}

pub async fn call(pim: &Pim, method: Method, path: &str, token: &str, body: Option<&Value>) -> (StatusCode, Value) {
    pim.client.call(method, path, token, body).await
}

#[track_caller]
pub fn assert_arm_error(status: StatusCode, body: &Value, expected_status: u16, code: &str) {
    assert_eq!(status.as_u16(), expected_status, "unexpected status; body: {body}");
    assert_eq!(body["error"]["code"].as_str(), Some(code), "unexpected code in {body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "no message in {body}");
}

/// The admin elevates, registers the subscriptions, owns `SUB` and creates the resource groups
/// `web` and `data`. Returns the admin's ARM token.
pub async fn azure(pim: &Pim) -> String {
    let admin = arm_token(pim, &pim.admin_id);
    let (status, body) = call(
        pim,
        Method::POST,
        "/providers/Microsoft.Authorization/elevateAccess?api-version=2016-07-01",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for s in [SUB, OTHER_SUB] {
        let (status, body) = call(
            pim,
            Method::PUT,
            &format!("/openpim/azure/subscriptions/{s}"),
            &pim.admin_token(),
            Some(&json!({"displayName": format!("sub {s}")})),
        )
        .await;
        assert!(status.is_success(), "register {s}: {body}");
    }
    rbac_assign(pim, &admin, &sub(), OWNER, &pim.admin_id).await;
    for name in ["web", "data"] {
        let (status, body) = call(
            pim,
            Method::PUT,
            &format!("{}?api-version=2021-04-01", rg(name)),
            &admin,
            Some(&json!({"location": "westeurope"})),
        )
        .await;
        assert!(status.is_success(), "create {name}: {body}");
    }
    admin
}

/// A direct (RBAC core) role assignment; returns its name.
pub async fn rbac_assign(pim: &Pim, admin: &str, scope: &str, role: &str, principal: &str) -> String {
    let name = guid();
    let body = json!({"properties": {
        "roleDefinitionId": format!("/providers/Microsoft.Authorization/roleDefinitions/{role}"),
        "principalId": principal,
    }});
    let (status, resp) = call(
        pim,
        Method::PUT,
        &format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version=2022-04-01"),
        admin,
        Some(&body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{resp}");
    name
}

pub fn schedule_for(duration: &str) -> Value {
    json!({"startDateTime": null, "expiration": {"type": "AfterDuration", "endDateTime": null, "duration": duration}})
}

pub fn schedule_until(end: OffsetDateTime) -> Value {
    json!({"expiration": {"type": "AfterDateTime", "endDateTime": rfc(end)}})
}

pub fn request_body(request_type: &str, principal: &str, role: &str, schedule: Option<Value>) -> Value {
    let mut props = json!({
        "principalId": principal,
        "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}"),
        "requestType": request_type,
        "justification": "Deploying the web tier",
    });
    if let Some(s) = schedule {
        props["scheduleInfo"] = s;
    }
    json!({"properties": props})
}

/// PUTs a request of `collection` (`roleEligibilityScheduleRequests` or
/// `roleAssignmentScheduleRequests`) at `scope` under a new name.
pub async fn put_request(pim: &Pim, token: &str, collection: &str, scope: &str, body: &Value) -> (StatusCode, Value) {
    let path = format!("{scope}/providers/Microsoft.Authorization/{collection}/{}?{V}", guid());
    call(pim, Method::PUT, &path, token, Some(body)).await
}

pub async fn eligibility(pim: &Pim, token: &str, scope: &str, body: &Value) -> (StatusCode, Value) {
    put_request(pim, token, "roleEligibilityScheduleRequests", scope, body).await
}

pub async fn assignment(pim: &Pim, token: &str, scope: &str, body: &Value) -> (StatusCode, Value) {
    put_request(pim, token, "roleAssignmentScheduleRequests", scope, body).await
}

/// The control-plane actions the permissions API lists for `token` at `scope`.
pub async fn actions_at(pim: &Pim, token: &str, scope: &str) -> Vec<String> {
    let (status, body) = call(
        pim,
        Method::GET,
        &format!("{scope}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01"),
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["value"]
        .as_array()
        .expect("value")
        .iter()
        .flat_map(|p| p["actions"].as_array().cloned().unwrap_or_default())
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn eligibility_admin_assign_then_self_activate_at_a_child_scope_until_the_exact_end() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;
    let (alice, _) = pim.user("alice").await;
    let alice_arm = arm_token(&pim, &alice);

    // AdminAssign an eligibility for Reader at the subscription: 201, Provisioned, ARM's shape.
    let name = guid();
    let path = format!("{}/providers/Microsoft.Authorization/roleEligibilityScheduleRequests/{name}?{V}", sub());
    let body = request_body("AdminAssign", &alice, READER, Some(schedule_for("P365D")));
    let (status, created) = call(&pim, Method::PUT, &path, &admin, Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["name"], name.as_str());
    assert_eq!(
        created["id"],
        format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/RoleEligibilityScheduleRequests/{name}")
    );
    assert_eq!(created["type"], "Microsoft.Authorization/RoleEligibilityScheduleRequests");
    let p = &created["properties"];
    assert_eq!(p["status"], "Provisioned");
    assert_eq!(p["requestType"], "AdminAssign");
    assert_eq!(p["scope"], sub());
    assert_eq!(p["principalId"], alice.as_str());
    assert_eq!(p["principalType"], "User");
    assert_eq!(p["requestorId"], pim.admin_id.as_str());
    assert_eq!(
        p["roleDefinitionId"],
        format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{READER}")
    );
    assert_eq!(p["scheduleInfo"]["expiration"]["type"], "AfterDuration");
    assert_eq!(p["scheduleInfo"]["expiration"]["duration"], "P365D");
    assert_eq!(p["expandedProperties"]["roleDefinition"]["displayName"], "Reader");
    assert_eq!(p["expandedProperties"]["roleDefinition"]["type"], "BuiltInRole");
    assert_eq!(p["expandedProperties"]["scope"]["type"], "subscription");
    let eligibility_id = p["targetRoleEligibilityScheduleId"].as_str().expect("target schedule").to_string();

    // GET by name answers the same request.
    let (status, got) = call(&pim, Method::GET, &path, &admin, None).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["properties"]["status"], "Provisioned");

    // Eligible is not active: no Reader actions anywhere yet.
    assert!(actions_at(&pim, &alice_arm, &rg("web")).await.is_empty());

    // SelfActivate at the resource group `web`, a child scope of the eligibility, for 2 hours.
    pim.advance(Duration::minutes(1));
    let start = pim.now();
    let body = request_body("SelfActivate", &alice, READER, Some(schedule_for("PT2H")));
    let (status, activated) = assignment(&pim, &alice_arm, &rg("web"), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{activated}");
    let p = &activated["properties"];
    assert_eq!(p["status"], "Provisioned");
    assert_eq!(p["requestType"], "SelfActivate");
    assert_eq!(p["scope"], rg("web"));
    assert_eq!(p["linkedRoleEligibilityScheduleId"], eligibility_id.as_str());
    assert_eq!(p["expandedProperties"]["scope"]["type"], "resourcegroup");

    // The permissions API shows Reader's actions at `web` (and below), not at `data`, until the
    // exact end of the activation.
    assert_eq!(actions_at(&pim, &alice_arm, &rg("web")).await, vec!["*/read".to_string()]);
    assert!(actions_at(&pim, &alice_arm, &rg("data")).await.is_empty());
    pim.set_now(start + Duration::hours(2) - Duration::seconds(1));
    assert_eq!(actions_at(&pim, &alice_arm, &rg("web")).await, vec!["*/read".to_string()]);
    pim.set_now(start + Duration::hours(2));
    assert!(actions_at(&pim, &alice_arm, &rg("web")).await.is_empty(), "the activation ended at the exact second");

    // Both requests are audited with their ARM scope.
    let audits = pim.audits().await;
    let activation = audits
        .iter()
        .find(|a| a["activityDisplayName"] == "Add member to role (PIM activation)")
        .unwrap_or_else(|| panic!("no activation record in {audits:?}"));
    assert!(activation.to_string().contains(&rg("web")), "{activation}");
    assert!(audits.iter().any(|a| a["activityDisplayName"] == "Add eligible member to role in PIM"));
    pim.stop().await;
}
