//! PIM security alerts for Azure resource scopes over ARM (`roleManagementAlerts`,
//! `roleManagementAlertConfigurations`, `roleManagementAlertDefinitions`,
//! `roleManagementAlertOperations`, api-version 2022-08-01-preview): each alert's trigger and
//! clearance with the fake clock, dismissal until a new incident, refresh with its operation,
//! configuration PATCH validation, and rights (a Reader reads but cannot PATCH or refresh).
//! SQLite always; PostgreSQL too when `OPENPIM_TEST_POSTGRES_URL` is set.

use crate::arm_pim_requests::{
    arm_token, assert_arm_error, azure, call, eligibility, guid, rbac_assign, request_body, schedule_for, sub, OWNER,
    READER,
};
use crate::pim::Pim;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use time::Duration;

const V: &str = "api-version=2022-08-01-preview";
const ALERTS: &str = "providers/Microsoft.Authorization/roleManagementAlerts";
const CONFIGS: &str = "providers/Microsoft.Authorization/roleManagementAlertConfigurations";
const DEFS: &str = "providers/Microsoft.Authorization/roleManagementAlertDefinitions";

const OUTSIDE: &str = "AzureRolesAssignedOutsidePimAlert";
const OWNERS: &str = "TooManyOwnersAssignedToResource";
const PERMANENT: &str = "TooManyPermanentOwnersAssignedToResource";
const DUPLICATE: &str = "DuplicateRoleCreated";

/// POSTs a refresh of the scope's alerts (or one of them): 202 with the operation, whose
/// `Location` reads `Succeeded` once the scan ran.
async fn refresh(pim: &Pim, token: &str, alert: Option<&str>) {
    let path = match alert {
        Some(a) => format!("{}/{ALERTS}/{a}/refresh?{V}", sub()),
        None => format!("{}/{ALERTS}/refresh?{V}", sub()),
    };
    let resp = pim.client.send(pim.client.request(Method::POST, &path, Some(token))).await;
    assert_eq!(resp.status, StatusCode::ACCEPTED, "{}", resp.body);
    assert!(resp.body["id"].is_string() && resp.body["createdDateTime"].is_string(), "{}", resp.body);
    let location = resp.headers["location"].to_str().unwrap().to_string();
    let op_path = location.split_once("/subscriptions/").map(|(_, p)| format!("/subscriptions/{p}")).unwrap();
    assert!(op_path.contains("/providers/Microsoft.Authorization/roleManagementAlertOperations/"), "{location}");
    let mut op = Value::Null;
    for _ in 0..100 {
        let (st, body) = call(pim, Method::GET, &op_path, token, None).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        op = body;
        if op["status"] != "Running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(op["status"], "Succeeded", "{op}");
    let detail: Value = serde_json::from_str(op["statusDetail"].as_str().unwrap()).unwrap();
    let names: Vec<&str> = detail["result"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    match alert {
        Some(a) => assert_eq!(names, [a]),
        None => assert_eq!(names.len(), 4, "{detail}"),
    }
}

async fn alert(pim: &Pim, token: &str, name: &str) -> Value {
    let (st, body) = call(pim, Method::GET, &format!("{}/{ALERTS}/{name}?{V}", sub()), token, None).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["id"], format!("{}/{ALERTS}/{name}", sub()));
    assert_eq!(body["type"], "Microsoft.Authorization/roleManagementAlerts");
    body
}

fn state(a: &Value) -> (bool, i64) {
    (a["properties"]["isActive"].as_bool().unwrap(), a["properties"]["incidentCount"].as_i64().unwrap())
}

fn incidents(a: &Value) -> Vec<Value> {
    a["properties"]["alertIncidents"].as_array().unwrap().clone()
}

/// The configuration `name` at the subscription, as GET answers it.
async fn configured(pim: &Pim, token: &str, name: &str) -> Value {
    let (st, cfg) = call(pim, Method::GET, &format!("{}/{CONFIGS}/{name}?{V}", sub()), token, None).await;
    assert_eq!(st, StatusCode::OK, "{cfg}");
    cfg
}

async fn configure(pim: &Pim, token: &str, name: &str, props: Value) -> (StatusCode, Value) {
    call(pim, Method::PATCH, &format!("{}/{CONFIGS}/{name}?{V}", sub()), token, Some(&json!({"properties": props})))
        .await
}

#[tokio::test]
async fn azure_alerts_trigger_clear_dismiss_configure_and_check_rights() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;

    // Definitions and configurations at the subscription, with the spec's names and types.
    let (st, defs) = call(&pim, Method::GET, &format!("{}/{DEFS}?{V}", sub()), &admin, None).await;
    assert_eq!(st, StatusCode::OK, "{defs}");
    let mut names: Vec<&str> = defs["value"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, [OUTSIDE, DUPLICATE, OWNERS, PERMANENT]);
    let (st, def) = call(&pim, Method::GET, &format!("{}/{DEFS}/{OUTSIDE}?{V}", sub()), &admin, None).await;
    assert_eq!(st, StatusCode::OK, "{def}");
    assert_eq!(def["properties"]["severityLevel"], "High");
    assert_eq!(def["type"], "Microsoft.Authorization/roleManagementAlertDefinitions");
    let (st, cfg) = call(&pim, Method::GET, &format!("{}/{CONFIGS}/{OWNERS}?{V}", sub()), &admin, None).await;
    assert_eq!(st, StatusCode::OK, "{cfg}");
    assert_eq!(cfg["properties"]["alertConfigurationType"], "TooManyOwnersAssignedToResourceAlertConfiguration");
    assert_eq!(cfg["properties"]["thresholdNumberOfOwners"], 3);

    // Roles assigned outside PIM: the admin's own Owner assignment at the subscription (a PUT
    // roleAssignments) is one.
    refresh(&pim, &admin, None).await;
    let a = alert(&pim, &admin, OUTSIDE).await;
    assert_eq!(state(&a), (true, 1), "{a}");
    let i = &incidents(&a)[0]["properties"];
    assert_eq!(i["alertIncidentType"], "AzureRolesAssignedOutsidePimAlertIncident");
    assert_eq!(i["assigneeId"], pim.admin_id.as_str());
    assert_eq!(i["requestorId"], pim.admin_id.as_str());
    assert_eq!(i["roleDisplayName"], "Owner");
    // Only one owner: no owner alert.
    assert_eq!(state(&alert(&pim, &admin, OWNERS).await), (false, 0));

    // Dismissed, it stays quiet while its incidents are the same...
    let (st, body) = call(
        &pim,
        Method::PATCH,
        &format!("{}/{ALERTS}/{OUTSIDE}?{V}", sub()),
        &admin,
        Some(&json!({"properties": {"isActive": false}})),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
    assert!(!state(&alert(&pim, &admin, OUTSIDE).await).0);
    refresh(&pim, &admin, Some(OUTSIDE)).await;
    assert!(!state(&alert(&pim, &admin, OUTSIDE).await).0);
    // ...and is active again when a new one appears.
    let (carol, _) = pim.user("carol").await;
    let carol_owner = rbac_assign(&pim, &admin, &sub(), OWNER, &carol).await;
    refresh(&pim, &admin, None).await;
    assert_eq!(state(&alert(&pim, &admin, OUTSIDE).await), (true, 2));
    // isActive true cannot be set; the body is validated.
    let (st, body) = call(
        &pim,
        Method::PATCH,
        &format!("{}/{ALERTS}/{OUTSIDE}?{V}", sub()),
        &admin,
        Some(&json!({"properties": {"isActive": true}})),
    )
    .await;
    assert_arm_error(st, &body, 400, "InvalidRequestContent");

    // Too many owners: admin, carol and two eligible owners for 30 days are 4 of 4 members.
    let (alice, _) = pim.user("alice").await;
    let (bob, _) = pim.user("bob").await;
    for who in [&alice, &bob] {
        let (st, body) =
            eligibility(&pim, &admin, &sub(), &request_body("AdminAssign", who, OWNER, Some(schedule_for("P30D"))))
                .await;
        assert_eq!(st, StatusCode::CREATED, "{body}");
    }
    refresh(&pim, &admin, None).await;
    let a = alert(&pim, &admin, OWNERS).await;
    assert_eq!(state(&a), (true, 4), "{a}");
    let i = &incidents(&a)[0]["properties"];
    assert_eq!(
        (i["alertIncidentType"].as_str(), i["assigneeType"].as_str()),
        (Some("TooManyOwnersAssignedToResourceAlertIncident"), Some("User"))
    );

    // Too many permanent owners: admin and carol are 2 of 4 owners; the default needs 10.
    assert!(!state(&alert(&pim, &admin, PERMANENT).await).0);
    let permanent = |n: i64| {
        json!({"alertConfigurationType": "TooManyPermanentOwnersAssignedToResourceAlertConfiguration",
               "isEnabled": true, "thresholdNumberOfPermanentOwners": n})
    };
    let (st, body) = configure(&pim, &admin, PERMANENT, permanent(2)).await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
    refresh(&pim, &admin, None).await;
    let a = alert(&pim, &admin, PERMANENT).await;
    assert_eq!(state(&a), (true, 2), "{a}");
    assert_eq!(a["properties"]["alertConfiguration"]["properties"]["thresholdNumberOfPermanentOwners"], 2);
    // Out of range, the wrong discriminator, another kind's threshold: 400, and nothing changes.
    let (st, body) = configure(&pim, &admin, PERMANENT, permanent(1)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    let (st, body) = configure(
        &pim,
        &admin,
        PERMANENT,
        json!({"alertConfigurationType": "TooManyOwnersAssignedToResourceAlertConfiguration", "isEnabled": true}),
    )
    .await;
    assert_arm_error(st, &body, 400, "InvalidRequestContent");
    let (st, body) = configure(
        &pim,
        &admin,
        PERMANENT,
        json!({"alertConfigurationType": "TooManyPermanentOwnersAssignedToResourceAlertConfiguration",
               "thresholdNumberOfOwners": 3}),
    )
    .await;
    assert_arm_error(st, &body, 400, "InvalidRequestContent");
    // Without the discriminator (what azure-mgmt-authorization's model sends) the path decides
    // which configuration it is.
    for enabled in [false, true] {
        let (st, body) = configure(&pim, &admin, DUPLICATE, json!({"isEnabled": enabled})).await;
        assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
        assert_eq!(configured(&pim, &admin, DUPLICATE).await["properties"]["isEnabled"], json!(enabled));
    }
    let (st, cfg) = call(&pim, Method::GET, &format!("{}/{CONFIGS}/{PERMANENT}?{V}", sub()), &admin, None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(cfg["properties"]["thresholdNumberOfPermanentOwners"], 2, "{cfg}");
    // Carol's permanent assignment removed: one permanent owner, under the threshold.
    let (st, body) = call(
        &pim,
        Method::DELETE,
        &format!("{}/providers/Microsoft.Authorization/roleAssignments/{carol_owner}?api-version=2022-04-01", sub()),
        &admin,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    refresh(&pim, &admin, None).await;
    assert_eq!(state(&alert(&pim, &admin, PERMANENT).await), (false, 0));

    // The eligibilities end after 30 days: one owner left, the owner alert clears.
    assert!(state(&alert(&pim, &admin, OWNERS).await).0);
    pim.advance(Duration::days(31));
    refresh(&pim, &admin, None).await;
    assert_eq!(state(&alert(&pim, &admin, OWNERS).await), (false, 0));

    // Duplicate role: a custom role granting what Reader grants.
    let role = guid();
    let role_path =
        format!("{}/providers/Microsoft.Authorization/roleDefinitions/{role}?api-version=2022-04-01", sub());
    let (st, body) = call(
        &pim,
        Method::PUT,
        &role_path,
        &admin,
        Some(&json!({"properties": {"roleName": "Read everything", "type": "CustomRole",
            "permissions": [{"actions": ["*/READ"], "notActions": [], "dataActions": [], "notDataActions": []}],
            "assignableScopes": [sub()]}})),
    )
    .await;
    assert!(st.is_success(), "{body}");
    refresh(&pim, &admin, None).await;
    let a = alert(&pim, &admin, DUPLICATE).await;
    assert_eq!(state(&a), (true, 1), "{a}");
    let i = &incidents(&a)[0]["properties"];
    assert_eq!(i["roleName"], "Read everything");
    assert!(i["duplicateRoles"].as_str().unwrap().split(", ").any(|r| r == "Reader"), "{i}");
    let (st, body) = call(&pim, Method::DELETE, &role_path, &admin, None).await;
    assert!(st.is_success(), "{body}");
    refresh(&pim, &admin, None).await;
    assert_eq!(state(&alert(&pim, &admin, DUPLICATE).await), (false, 0));

    // Rights: a Reader at the subscription reads, but cannot dismiss, configure or refresh;
    // someone without a role there cannot read.
    let (dave, _) = pim.user("dave").await;
    rbac_assign(&pim, &admin, &sub(), READER, &dave).await;
    let dave_arm = arm_token(&pim, &dave);
    let (st, list) = call(&pim, Method::GET, &format!("{}/{ALERTS}?{V}", sub()), &dave_arm, None).await;
    assert_eq!(st, StatusCode::OK, "{list}");
    assert_eq!(list["value"].as_array().unwrap().len(), 4);
    let before = alert(&pim, &admin, OUTSIDE).await;
    let (st, body) = call(
        &pim,
        Method::PATCH,
        &format!("{}/{ALERTS}/{OUTSIDE}?{V}", sub()),
        &dave_arm,
        Some(&json!({"properties": {"isActive": false}})),
    )
    .await;
    assert_arm_error(st, &body, 403, "AuthorizationFailed");
    assert_eq!(alert(&pim, &admin, OUTSIDE).await, before, "the refused dismissal changed nothing");
    let (st, body) = configure(&pim, &dave_arm, PERMANENT, permanent(5)).await;
    assert_arm_error(st, &body, 403, "AuthorizationFailed");
    let (st, body) = call(&pim, Method::POST, &format!("{}/{ALERTS}/refresh?{V}", sub()), &dave_arm, None).await;
    assert_arm_error(st, &body, 403, "AuthorizationFailed");
    let (erin, _) = pim.user("erin").await;
    let (st, body) = call(&pim, Method::GET, &format!("{}/{ALERTS}?{V}", sub()), &arm_token(&pim, &erin), None).await;
    assert_arm_error(st, &body, 403, "AuthorizationFailed");

    // Bad input: an unknown alert, the root scope, an api-version this area does not serve.
    let (st, body) = call(&pim, Method::GET, &format!("{}/{ALERTS}/Nope?{V}", sub()), &admin, None).await;
    assert_arm_error(st, &body, 404, "ResourceNotFound");
    let (st, body) = call(&pim, Method::GET, &format!("/{ALERTS}?{V}"), &admin, None).await;
    assert_arm_error(st, &body, 400, "InvalidScope");
    let (st, body) = call(&pim, Method::GET, &format!("{}/{ALERTS}?api-version=2022-04-01", sub()), &admin, None).await;
    assert_arm_error(st, &body, 400, "InvalidApiVersionParameter");
    pim.stop().await;
}
