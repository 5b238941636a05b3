//! PIM for Azure resources over ARM (issue #16): role eligibility and assignment schedule
//! requests at ARM scopes, on the directory's engine, walked through with the fake clock: the
//! 5-minute rules, activation at a child scope of the eligibility, activation capped by the
//! eligibility and the policy, extend/renew windows, pending requests, cancel and validate,
//! and the permissions API before, during and after an activation (to the second). SQLite
//! always; PostgreSQL too when `OPENPIM_TEST_POSTGRES_URL` is set.

use crate::pim::Pim;
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

    // Graph's request lists are the directory's: the ARM requests are not in them.
    let (status, graph) =
        pim.client.get("/v1.0/roleManagement/directory/roleAssignmentScheduleRequests", &pim.admin_token()).await;
    assert_eq!(status, StatusCode::OK, "{graph}");
    assert!(!graph.to_string().contains(&alice), "{graph}");

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

/// Makes `principal` eligible for `role` at `scope` for `duration`; returns the schedule id.
pub async fn make_eligible(pim: &Pim, admin: &str, scope: &str, principal: &str, role: &str, duration: &str) -> String {
    let body = request_body("AdminAssign", principal, role, Some(schedule_for(duration)));
    let (status, created) = eligibility(pim, admin, scope, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["properties"]["targetRoleEligibilityScheduleId"].as_str().expect("target").to_string()
}

#[tokio::test]
async fn activation_rules_five_minutes_caps_and_authorisation() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;
    let (alice, _) = pim.user("alice").await;
    let (bob, _) = pim.user("bob").await;
    let alice_arm = arm_token(&pim, &alice);
    let bob_arm = arm_token(&pim, &bob);

    // No eligibility: the EligibilityRule fails.
    let activate = |d: &str| request_body("SelfActivate", &alice, READER, Some(schedule_for(d)));
    let (status, body) = assignment(&pim, &alice_arm, &sub(), &activate("PT1H")).await;
    assert_arm_error(status, &body, 400, "RoleAssignmentRequestPolicyValidationFailed");
    assert!(body["error"]["message"].as_str().unwrap().contains("EligibilityRule"), "{body}");

    // A non-admin cannot AdminAssign (403 AuthorizationFailed, audited), nor act for another.
    let (status, body) =
        eligibility(&pim, &bob_arm, &sub(), &request_body("AdminAssign", &bob, READER, Some(schedule_for("P30D"))))
            .await;
    assert_arm_error(status, &body, 403, "AuthorizationFailed");
    let audits = pim.audits().await;
    assert!(
        audits
            .iter()
            .any(|a| a["activityDisplayName"] == "Add eligible member to role in PIM" && a["result"] == "failure"),
        "the refused AdminAssign is audited"
    );
    let (status, body) = assignment(&pim, &bob_arm, &sub(), &activate("PT1H")).await;
    assert_arm_error(status, &body, 403, "AuthorizationFailed");

    // An eligibility shorter than 5 minutes is refused; a 3-hour one is made.
    let (status, body) =
        eligibility(&pim, &admin, &sub(), &request_body("AdminAssign", &alice, READER, Some(schedule_for("PT4M"))))
            .await;
    assert_arm_error(status, &body, 400, "EligibleDurationTooShort");
    make_eligible(&pim, &admin, &sub(), &alice, READER, "PT3H").await;

    // Activation: not under 5 minutes, not past the eligibility, not past the policy's 8 hours,
    // not without a justification, not outside the eligibility's scope.
    let (status, body) = assignment(&pim, &alice_arm, &sub(), &activate("PT4M")).await;
    assert_arm_error(status, &body, 400, "ActiveDurationTooShort");
    let (status, body) = assignment(&pim, &alice_arm, &sub(), &activate("PT4H")).await;
    assert_arm_error(status, &body, 400, "InvalidRoleAssignmentRequestSchedule");
    let mut unjustified = activate("PT1H");
    unjustified["properties"]["justification"] = Value::Null;
    let (status, body) = assignment(&pim, &alice_arm, &sub(), &unjustified).await;
    assert_arm_error(status, &body, 400, "RoleAssignmentRequestPolicyValidationFailed");
    assert!(body["error"]["message"].as_str().unwrap().contains("JustificationRule"), "{body}");
    let (status, body) = assignment(&pim, &alice_arm, &format!("/subscriptions/{OTHER_SUB}"), &activate("PT1H")).await;
    assert_arm_error(status, &body, 400, "RoleAssignmentRequestPolicyValidationFailed");

    // Activated at the resource group; a second activation there is RoleAssignmentExists.
    let (status, body) = assignment(&pim, &alice_arm, &rg("web"), &activate("PT1H")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = assignment(&pim, &alice_arm, &rg("web"), &activate("PT1H")).await;
    assert_arm_error(status, &body, 400, "RoleAssignmentExists");

    // Deactivation: not within 5 minutes of the activation, then Revoked; access ends with it.
    let deactivate = request_body("SelfDeactivate", &alice, READER, None);
    pim.advance(Duration::minutes(4));
    let (status, body) = assignment(&pim, &alice_arm, &rg("web"), &deactivate).await;
    assert_arm_error(status, &body, 400, "ActiveDurationTooShort");
    assert_eq!(actions_at(&pim, &alice_arm, &rg("web")).await, vec!["*/read".to_string()]);
    pim.advance(Duration::minutes(1));
    let (status, body) = assignment(&pim, &alice_arm, &rg("web"), &deactivate).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["properties"]["status"], "Revoked");
    assert!(actions_at(&pim, &alice_arm, &rg("web")).await.is_empty());
    let (status, body) = assignment(&pim, &alice_arm, &rg("web"), &deactivate).await;
    assert_arm_error(status, &body, 400, "RoleAssignmentDoesNotExist");

    // A role of the other family (a directory role) is not an Azure role.
    let global_reader = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";
    let (status, body) = eligibility(
        &pim,
        &admin,
        &sub(),
        &request_body("AdminAssign", &bob, global_reader, Some(schedule_for("P30D"))),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Removal lock on an eligibility: not within 5 minutes of its creation.
    make_eligible(&pim, &admin, &rg("data"), &bob, READER, "P30D").await;
    let remove = request_body("AdminRemove", &bob, READER, None);
    let (status, body) = eligibility(&pim, &admin, &rg("data"), &remove).await;
    assert_arm_error(status, &body, 400, "EligibleDurationTooShort");
    pim.advance(Duration::minutes(5));
    let (status, body) = eligibility(&pim, &admin, &rg("data"), &remove).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["properties"]["status"], "Revoked");
    let (status, body) = eligibility(&pim, &admin, &rg("data"), &remove).await;
    assert_arm_error(status, &body, 400, "RoleAssignmentDoesNotExist");

    // A request name is used once.
    let name = guid();
    let path = format!("{}/providers/Microsoft.Authorization/roleEligibilityScheduleRequests/{name}?{V}", rg("web"));
    let body = request_body("AdminAssign", &bob, READER, Some(schedule_for("P30D")));
    let (status, _) = call(&pim, Method::PUT, &path, &admin, Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, resp) = call(&pim, Method::PUT, &path, &admin, Some(&body)).await;
    assert_arm_error(status, &resp, 409, "RoleAssignmentRequestExists");

    // Bad input is a 400 in ARM's shape that changes nothing.
    for (bad, code) in [
        (json!({"properties": {"principalId": bob, "requestType": "AdminAssign"}}), "InvalidRequestContent"),
        (request_body("Activate", &bob, READER, None), "InvalidRequestContent"),
        (request_body("SelfActivate", &bob, READER, Some(schedule_for("PT1H"))), "InvalidRequestContent"),
        (request_body("AdminAssign", &bob, READER, Some(schedule_for("eight hours"))), "InvalidRequestContent"),
        (request_body("AdminAssign", &bob, "not-a-role", Some(schedule_for("PT8H"))), "InvalidRoleDefinitionId"),
    ] {
        let (status, resp) = eligibility(&pim, &admin, &rg("web"), &bad).await;
        assert_arm_error(status, &resp, 400, code);
    }
    let (status, resp) = call(
        &pim,
        Method::PUT,
        &format!("{}/providers/Microsoft.Authorization/roleEligibilityScheduleRequests/not-a-guid?{V}", sub()),
        &admin,
        Some(&body),
    )
    .await;
    assert_arm_error(status, &resp, 400, "InvalidRoleAssignmentScheduleRequestName");
    let (status, resp) = eligibility(&pim, &admin, &format!("/subscriptions/{SUB}/resourceGroups/nope"), &body).await;
    assert_arm_error(status, &resp, 404, "ResourceGroupNotFound");
    pim.stop().await;
}

#[tokio::test]
async fn extend_within_14_days_renew_within_30_days_and_one_pending_self_request() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;
    let (alice, _) = pim.user("alice").await;
    let (bob, _) = pim.user("bob").await;
    let alice_arm = arm_token(&pim, &alice);
    make_eligible(&pim, &admin, &sub(), &alice, READER, "P30D").await;

    // Extend: only within 14 days of the end.
    let extend = |end: OffsetDateTime, who: &str| request_body("AdminExtend", who, READER, Some(schedule_until(end)));
    let (status, body) = eligibility(&pim, &admin, &sub(), &extend(pim.now() + Duration::days(60), &alice)).await;
    assert_arm_error(status, &body, 400, "InvalidExtendRequest");
    // The principal asks (pending an administrator); a second ask is refused while it waits.
    let self_extend = request_body("SelfExtend", &alice, READER, Some(schedule_for("P30D")));
    let (status, body) = eligibility(&pim, &alice_arm, &sub(), &self_extend).await;
    assert_arm_error(status, &body, 400, "InvalidExtendRequest");
    pim.advance(Duration::days(17));
    let (status, asked) = eligibility(&pim, &alice_arm, &sub(), &self_extend).await;
    assert_eq!(status, StatusCode::CREATED, "{asked}");
    assert_eq!(asked["properties"]["status"], "PendingAdminDecision");
    let (status, body) = eligibility(&pim, &alice_arm, &sub(), &self_extend).await;
    assert_arm_error(status, &body, 400, "PendingRoleAssignmentRequest");
    let new_end = pim.now() + Duration::days(60);
    let (status, body) = eligibility(&pim, &admin, &sub(), &extend(new_end, &alice)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["properties"]["status"], "Provisioned");
    // The admin's extension answered the pending ask.
    let path = format!(
        "{}/providers/Microsoft.Authorization/roleEligibilityScheduleRequests/{}?{V}",
        sub(),
        asked["name"].as_str().unwrap()
    );
    let (_, answered) = call(&pim, Method::GET, &path, &alice_arm, None).await;
    assert_eq!(answered["properties"]["status"], "Provisioned", "{answered}");
    let (status, schedules) = call(
        &pim,
        Method::GET,
        &format!("{}/providers/Microsoft.Authorization/roleEligibilitySchedules?$filter=asTarget()&{V}", sub()),
        &alice_arm,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{schedules}");
    assert_eq!(schedules["value"][0]["properties"]["endDateTime"], rfc(new_end), "{schedules}");

    // Renew: only what ended, and at most 30 days ago.
    let start = pim.now();
    make_eligible(&pim, &admin, &sub(), &bob, READER, "PT1H").await;
    let renew = request_body("AdminRenew", &bob, READER, Some(schedule_for("P90D")));
    let (status, body) = eligibility(&pim, &admin, &sub(), &renew).await;
    assert_arm_error(status, &body, 400, "InvalidRenewRequest");
    pim.set_now(start + Duration::hours(1) + Duration::days(31));
    let (status, body) = eligibility(&pim, &admin, &sub(), &renew).await;
    assert_arm_error(status, &body, 400, "InvalidRenewRequest");
    pim.set_now(start + Duration::hours(1) + Duration::days(29));
    let (status, body) = eligibility(&pim, &admin, &sub(), &renew).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["properties"]["status"], "Provisioned");
    pim.stop().await;
}

#[tokio::test]
async fn validate_changes_nothing_and_cancel_ends_a_pending_request() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;
    let (alice, _) = pim.user("alice").await;
    let (mallory, _) = pim.user("mallory").await;
    let alice_arm = arm_token(&pim, &alice);
    let mallory_arm = arm_token(&pim, &mallory);

    // Validate answers the request as it would be (200) and writes nothing.
    let name = guid();
    let base = format!("{}/providers/Microsoft.Authorization/roleEligibilityScheduleRequests/{name}", sub());
    let body = request_body("AdminAssign", &alice, READER, Some(schedule_for("P30D")));
    let (status, validated) = call(&pim, Method::POST, &format!("{base}/validate?{V}"), &admin, Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{validated}");
    assert_eq!(validated["properties"]["status"], "Provisioned");
    let (status, _) = call(&pim, Method::GET, &format!("{base}?{V}"), &admin, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "validate stored no request");
    let (_, list) = call(
        &pim,
        Method::GET,
        &format!("{}/providers/Microsoft.Authorization/roleEligibilitySchedules?{V}", sub()),
        &admin,
        None,
    )
    .await;
    assert!(!list.to_string().contains(&alice), "validate made no eligibility: {list}");
    // Validate refuses what PUT would refuse.
    let short = request_body("AdminAssign", &alice, READER, Some(schedule_for("PT1M")));
    let (status, resp) = call(&pim, Method::POST, &format!("{base}/validate?{V}"), &admin, Some(&short)).await;
    assert_arm_error(status, &resp, 400, "EligibleDurationTooShort");

    // A provisioned request cannot be canceled; a pending SelfExtend can, by its principal.
    let (status, created) = call(&pim, Method::PUT, &format!("{base}?{V}"), &admin, Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, resp) = call(&pim, Method::POST, &format!("{base}/cancel?{V}"), &admin, None).await;
    assert_arm_error(status, &resp, 400, "RequestNotCancelable");
    pim.advance(Duration::days(20));
    let ask = guid();
    let ask_path = format!("{}/providers/Microsoft.Authorization/roleEligibilityScheduleRequests/{ask}", sub());
    let self_extend = request_body("SelfExtend", &alice, READER, Some(schedule_for("P30D")));
    let (status, asked) = call(&pim, Method::PUT, &format!("{ask_path}?{V}"), &alice_arm, Some(&self_extend)).await;
    assert_eq!(status, StatusCode::CREATED, "{asked}");
    assert_eq!(asked["properties"]["status"], "PendingAdminDecision");
    // Someone else cannot see it, let alone cancel it.
    let (status, resp) = call(&pim, Method::POST, &format!("{ask_path}/cancel?{V}"), &mallory_arm, None).await;
    assert_arm_error(status, &resp, 404, "RoleEligibilityScheduleRequestNotFound");
    let (status, resp) = call(&pim, Method::POST, &format!("{ask_path}/cancel?{V}"), &alice_arm, None).await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    let (_, got) = call(&pim, Method::GET, &format!("{ask_path}?{V}"), &alice_arm, None).await;
    assert_eq!(got["properties"]["status"], "Canceled");
    let (status, resp) = call(&pim, Method::POST, &format!("{ask_path}/cancel?{V}"), &alice_arm, None).await;
    assert_arm_error(status, &resp, 400, "RequestNotCancelable");
    // Canceled, so a new ask is possible again.
    let (status, again) = eligibility(&pim, &alice_arm, &sub(), &self_extend).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");

    // The request lists: the admin reads all at the scope; alice only with asTarget().
    let list_path = |filter: &str| {
        format!("{}/providers/Microsoft.Authorization/roleEligibilityScheduleRequests?$filter={filter}&{V}", sub())
    };
    let (status, all) = call(&pim, Method::GET, &list_path("atScope()"), &admin, None).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["value"].as_array().unwrap().len(), 3, "{all}");
    let (status, resp) = call(
        &pim,
        Method::GET,
        &format!("{}/providers/Microsoft.Authorization/roleEligibilityScheduleRequests?{V}", sub()),
        &alice_arm,
        None,
    )
    .await;
    assert_arm_error(status, &resp, 403, "AuthorizationFailed");
    let (status, own) = call(&pim, Method::GET, &list_path("asTarget()"), &alice_arm, None).await;
    assert_eq!(status, StatusCode::OK, "{own}");
    assert_eq!(own["value"].as_array().unwrap().len(), 3, "{own}");
    let (_, pending) =
        call(&pim, Method::GET, &list_path("asTarget() and status eq 'PendingAdminDecision'"), &alice_arm, None).await;
    assert_eq!(pending["value"].as_array().unwrap().len(), 1, "{pending}");
    let (_, mine) = call(&pim, Method::GET, &list_path("asTarget()"), &mallory_arm, None).await;
    assert!(mine["value"].as_array().unwrap().is_empty(), "{mine}");
    let (status, resp) = call(&pim, Method::GET, &list_path("nonsense eq 'x'"), &admin, None).await;
    assert_arm_error(status, &resp, 400, "InvalidFilter");
    pim.stop().await;
}

fn values(body: &Value) -> &Vec<Value> {
    body["value"].as_array().unwrap_or_else(|| panic!("no value array in {body}"))
}

#[tokio::test]
async fn schedules_instances_member_types_filters_and_eligible_child_resources() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;
    let (alice, _) = pim.user("alice").await;
    let (carol, _) = pim.user("carol").await;
    let alice_arm = arm_token(&pim, &alice);
    let carol_arm = arm_token(&pim, &carol);
    let ops = pim.group("Ops", false).await;
    pim.add_member(&ops, &carol).await;

    // alice: eligible for Reader at the subscription, activated at `web`; a direct RBAC
    // Contributor assignment at `data`. The Ops group (carol) is eligible at `data`.
    let eligibility_id = make_eligible(&pim, &admin, &sub(), &alice, READER, "P90D").await;
    let (status, activated) = assignment(
        &pim,
        &alice_arm,
        &rg("web"),
        &request_body("SelfActivate", &alice, READER, Some(schedule_for("PT2H"))),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{activated}");
    let direct = rbac_assign(&pim, &admin, &rg("data"), CONTRIBUTOR, &alice).await;
    make_eligible(&pim, &admin, &rg("data"), &ops, READER, "P90D").await;

    let list = |collection: &str, scope: String, filter: &str| {
        let filter = if filter.is_empty() { String::new() } else { format!("$filter={filter}&") };
        format!("{scope}/providers/Microsoft.Authorization/{collection}?{filter}{V}")
    };

    // Assignment instances of alice at the subscription (and below): the activation and the
    // direct RBAC assignment, Activated and Assigned.
    let (status, body) =
        call(&pim, Method::GET, &list("roleAssignmentScheduleInstances", sub(), "asTarget()"), &alice_arm, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rows = values(&body);
    assert_eq!(rows.len(), 2, "{body}");
    let activation = rows.iter().find(|r| r["properties"]["assignmentType"] == "Activated").expect("activation");
    assert_eq!(activation["properties"]["scope"], rg("web"));
    assert_eq!(activation["properties"]["memberType"], "Direct");
    assert_eq!(activation["properties"]["linkedRoleEligibilityScheduleId"], eligibility_id.as_str());
    assert_eq!(activation["type"], "Microsoft.Authorization/RoleAssignmentScheduleInstances");
    let assigned = rows.iter().find(|r| r["properties"]["assignmentType"] == "Assigned").expect("direct");
    assert_eq!(assigned["name"], direct.as_str());
    assert_eq!(assigned["properties"]["endDateTime"], Value::Null);
    assert_eq!(
        assigned["properties"]["originRoleAssignmentId"],
        format!("{}/providers/Microsoft.Authorization/roleAssignments/{direct}", rg("data"))
    );

    // atScope() at `web`: what applies there (the activation), not `data`'s assignment. The
    // subscription's eligibility shows at `web` as Inherited.
    let (_, body) = call(
        &pim,
        Method::GET,
        &list("roleAssignmentScheduleInstances", rg("web"), "atScope() and asTarget()"),
        &alice_arm,
        None,
    )
    .await;
    assert_eq!(values(&body).len(), 1, "{body}");
    let (_, body) =
        call(&pim, Method::GET, &list("roleEligibilitySchedules", rg("web"), "asTarget()"), &alice_arm, None).await;
    assert_eq!(values(&body).len(), 1, "{body}");
    assert_eq!(values(&body)[0]["properties"]["memberType"], "Inherited");
    assert_eq!(values(&body)[0]["properties"]["scope"], sub());

    // carol sees the group's eligibility as memberType Group; it is activatable at `data`.
    let (_, body) =
        call(&pim, Method::GET, &list("roleEligibilityScheduleInstances", rg("data"), "asTarget()"), &carol_arm, None)
            .await;
    assert_eq!(values(&body).len(), 1, "{body}");
    assert_eq!(values(&body)[0]["properties"]["memberType"], "Group");
    assert_eq!(values(&body)[0]["properties"]["principalId"], ops.as_str());
    assert_eq!(values(&body)[0]["properties"]["principalType"], "Group");
    let (status, body) = assignment(
        &pim,
        &carol_arm,
        &rg("data"),
        &request_body("SelfActivate", &carol, READER, Some(schedule_for("PT1H"))),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(actions_at(&pim, &carol_arm, &rg("data")).await, vec!["*/read".to_string()]);

    // The admin's filters: principalId, roleDefinitionId, status.
    let (_, body) = call(
        &pim,
        Method::GET,
        &list("roleAssignmentSchedules", sub(), &format!("principalId eq '{alice}'")),
        &admin,
        None,
    )
    .await;
    assert_eq!(values(&body).len(), 2, "{body}");
    let role_filter = format!(
        "roleDefinitionId eq '/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{CONTRIBUTOR}'"
    );
    let (_, body) = call(&pim, Method::GET, &list("roleAssignmentSchedules", sub(), &role_filter), &admin, None).await;
    assert!(values(&body).iter().all(|r| r["properties"]["roleDefinitionId"].as_str().unwrap().ends_with(CONTRIBUTOR)));
    assert!(values(&body).iter().any(|r| r["name"] == direct.as_str()), "{body}");
    let (_, body) =
        call(&pim, Method::GET, &list("roleEligibilitySchedules", sub(), "status eq 'Provisioned'"), &admin, None)
            .await;
    assert_eq!(values(&body).len(), 2, "{body}");

    // GET by name at its own scope; elsewhere it is not found.
    let path = format!("{}/providers/Microsoft.Authorization/roleEligibilitySchedules/{eligibility_id}?{V}", sub());
    let (status, got) = call(&pim, Method::GET, &path, &alice_arm, None).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["properties"]["status"], "Provisioned");
    let elsewhere =
        format!("{}/providers/Microsoft.Authorization/roleEligibilitySchedules/{eligibility_id}?{V}", rg("web"));
    let (status, _) = call(&pim, Method::GET, &elsewhere, &alice_arm, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&pim, Method::GET, &path, &carol_arm, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "carol may not read alice's schedule");
    let (status, body) = call(&pim, Method::GET, &list("roleEligibilitySchedules", sub(), ""), &carol_arm, None).await;
    assert_arm_error(status, &body, 403, "AuthorizationFailed");

    // eligibleChildResources: alice may activate at the subscription and both groups; carol
    // only at `data`.
    let (status, body) = call(
        &pim,
        Method::GET,
        &format!("{}/providers/Microsoft.Authorization/eligibleChildResources?{V}", sub()),
        &alice_arm,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ids: Vec<&str> = values(&body).iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&sub().as_str()) && ids.len() == 3, "{body}");
    let (_, body) = call(
        &pim,
        Method::GET,
        &format!(
            "{}/providers/Microsoft.Authorization/eligibleChildResources?$filter=resourceType+eq+'resourcegroup'&{V}",
            sub()
        ),
        &carol_arm,
        None,
    )
    .await;
    assert_eq!(values(&body).len(), 1, "{body}");
    assert_eq!(values(&body)[0]["name"], "data");
    assert_eq!(values(&body)[0]["type"], "resourcegroup");

    // When the activation ends, the instance is gone and the schedule list no longer has it.
    pim.advance(Duration::hours(2));
    let (_, body) =
        call(&pim, Method::GET, &list("roleAssignmentScheduleInstances", sub(), "asTarget()"), &alice_arm, None).await;
    assert_eq!(values(&body).len(), 1, "only the direct assignment is left: {body}");
    pim.stop().await;
}

#[tokio::test]
async fn an_eligibility_at_a_management_group_is_activated_at_a_resource_group_below_it() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;
    let (dave, _) = pim.user("dave").await;
    let dave_arm = arm_token(&pim, &dave);
    // The subscriptions sit under the tenant root group, where the elevated admin is User Access
    // Administrator: enough to make an eligibility there.
    let root = format!("/providers/Microsoft.Management/managementGroups/{}", pim.server.state.tenant_id);
    make_eligible(&pim, &admin, &root, &dave, READER, "P30D").await;

    let (status, body) = assignment(
        &pim,
        &dave_arm,
        &rg("data"),
        &request_body("SelfActivate", &dave, READER, Some(schedule_for("PT1H"))),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(actions_at(&pim, &dave_arm, &rg("data")).await, vec!["*/read".to_string()]);
    assert!(actions_at(&pim, &dave_arm, &rg("web")).await.is_empty());

    // eligibleChildResources at the root group: the group itself, both subscriptions and the
    // resource groups.
    let (status, body) = call(
        &pim,
        Method::GET,
        &format!("{root}/providers/Microsoft.Authorization/eligibleChildResources?{V}"),
        &dave_arm,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let types: Vec<&str> = values(&body).iter().map(|v| v["type"].as_str().unwrap()).collect();
    assert_eq!(types.iter().filter(|t| **t == "managementgroup").count(), 1, "{body}");
    assert_eq!(types.iter().filter(|t| **t == "subscription").count(), 2, "{body}");
    assert_eq!(types.iter().filter(|t| **t == "resourcegroup").count(), 2, "{body}");
    // The eligibility shows at the subscription as Inherited.
    let (_, body) = call(
        &pim,
        Method::GET,
        &format!("{}/providers/Microsoft.Authorization/roleEligibilityScheduleInstances?$filter=asTarget()&{V}", sub()),
        &dave_arm,
        None,
    )
    .await;
    assert_eq!(values(&body).len(), 1, "{body}");
    assert_eq!(values(&body)[0]["properties"]["memberType"], "Inherited");
    assert_eq!(values(&body)[0]["properties"]["expandedProperties"]["scope"]["type"], "managementgroup");
    pim.stop().await;
}
