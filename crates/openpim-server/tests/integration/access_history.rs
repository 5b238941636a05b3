//! Point-in-time access (issue #21): `accessCheck?at=` and `accessHistory`, driven by the fake
//! clock through activation, expiry, deactivation, group membership added and removed, and an
//! active assignment made and removed. Runs on SQLite, and on PostgreSQL when
//! `OPENPIM_TEST_POSTGRES_URL` is set.

use crate::common;
use crate::pim;

use common::ui::Browser;
use common::{assert_graph_error, GROUPS_ADMINISTRATOR, HELPDESK_ADMINISTRATOR, USER_ADMINISTRATOR};
use pim::*;
use reqwest::StatusCode;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

/// What Helpdesk Administrator allows (and User Administrator too, which alice never holds
/// together with it here).
const RESET_PASSWORD: &str = "microsoft.directory/users/password/update";
/// Allowed by Groups Administrator, not by the other roles used here.
const CREATE_GROUPS: &str = "microsoft.directory/groups/create";

/// `accessCheck` for `principal` at `at`, as the admin.
async fn check_at(pim: &Pim, principal: &str, action: &str, at: OffsetDateTime) -> Value {
    let url = format!("/v1.0/openpim/accessCheck?action={action}&principalId={principal}&at={}", rfc3339(at));
    let (status, body) = pim.client.get(&url, &pim.admin_token()).await;
    assert_eq!(status, StatusCode::OK, "{url}: {body}");
    assert_eq!(body["@odata.type"], "#openpim.accessCheckResult", "{body}");
    assert_eq!(at_(&body["evaluatedDateTime"]), at, "evaluated at the instant asked: {body}");
    assert_eq!(body["allowed"].as_bool().unwrap(), !body["grantedBy"].is_null(), "{body}");
    body
}

fn at_(v: &Value) -> OffsetDateTime {
    pim::at(v)
}

/// Every page of `accessHistory?{query}` as `token`, following `@odata.nextLink`.
async fn history(pim: &Pim, token: &str, query: &str) -> Vec<Value> {
    let mut url = format!("/v1.0/openpim/accessHistory?{query}");
    let mut all = Vec::new();
    loop {
        let (status, body) = pim.client.get(&url, token).await;
        assert_eq!(status, StatusCode::OK, "{url}: {body}");
        assert!(body["@odata.context"].is_string(), "{body}");
        assert!(body["historyStartsDateTime"].is_string(), "{body}");
        all.extend(body["value"].as_array().unwrap().iter().cloned());
        match body["@odata.nextLink"].as_str() {
            Some(next) => url = next.strip_prefix(&pim.base()).expect("next link on this server").to_string(),
            None => return all,
        }
    }
}

/// (role, assignmentType, memberType, groupId, start, end) of each interval.
fn spans(rows: &[Value]) -> Vec<(String, String, String, Value, OffsetDateTime, Option<OffsetDateTime>)> {
    rows.iter()
        .map(|r| {
            (
                r["roleDefinitionId"].as_str().unwrap().to_string(),
                r["assignmentType"].as_str().unwrap().to_string(),
                r["memberType"].as_str().unwrap().to_string(),
                r["groupId"].clone(),
                at_(&r["startDateTime"]),
                (!r["endDateTime"].is_null()).then(|| at_(&r["endDateTime"])),
            )
        })
        .collect()
}

#[tokio::test]
async fn history_remembers_activations_expiry_deactivation_groups_and_removal() {
    let pim = Pim::start().await;
    let (alice, alice_token) = pim.user("alice").await;
    let (bob, _) = pim.user("bob").await;
    let helpdesk = pim.group("Helpdesk", true).await;
    pim.make_eligible(&alice, USER_ADMINISTRATOR).await;
    let (status, body) = pim
        .assignment_request(
            &pim.admin_token(),
            request("adminAssign", &helpdesk, HELPDESK_ADMINISTRATOR, Some(no_expiration())),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let group_assigned = pim.now();

    // Alice activates for an hour and lets it expire.
    pim.advance(Duration::hours(1));
    let t1 = pim.now();
    pim.activate_ok(&alice_token, &alice, USER_ADMINISTRATOR, "PT1H").await;
    // Later she activates for two hours and deactivates after thirty minutes.
    pim.advance(Duration::hours(2));
    let t3 = pim.now();
    pim.activate_ok(&alice_token, &alice, USER_ADMINISTRATOR, "PT2H").await;
    pim.advance(Duration::minutes(30));
    let t3_end = pim.now();
    let (status, body) = pim.deactivate(&alice_token, &alice, USER_ADMINISTRATOR).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Bob is in the helpdesk group for an hour.
    pim.advance(Duration::minutes(30));
    let t4 = pim.now();
    pim.add_member(&helpdesk, &bob).await;
    pim.advance(Duration::hours(1));
    let t5 = pim.now();
    pim.remove_member(&helpdesk, &bob).await;

    // Bob holds Groups Administrator directly for twenty minutes.
    pim.advance(Duration::minutes(10));
    let t6 = pim.now();
    let (status, body) = pim
        .assignment_request(
            &pim.admin_token(),
            request("adminAssign", &bob, GROUPS_ADMINISTRATOR, Some(no_expiration())),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    pim.advance(Duration::minutes(20));
    let t7 = pim.now();
    let (status, body) =
        pim.assignment_request(&pim.admin_token(), request("adminRemove", &bob, GROUPS_ADMINISTRATOR, None)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    pim.advance(Duration::minutes(5));

    // Today nobody holds anything.
    assert!(!pim.allowed(&alice_token, CREATE_USERS).await);

    // Alice at= before, during and after each activation.
    let sec = Duration::SECOND;
    assert_eq!(check_at(&pim, &alice, CREATE_USERS, t1 - sec).await["allowed"], false);
    let during = check_at(&pim, &alice, CREATE_USERS, t1 + Duration::minutes(30)).await;
    assert_eq!(during["allowed"], true, "{during}");
    let by = &during["grantedBy"];
    assert_eq!(by["roleDefinitionId"], USER_ADMINISTRATOR);
    assert_eq!(by["assignmentType"], "Activated");
    assert_eq!(by["memberType"], "Direct");
    assert_eq!(by["directoryScopeId"], "/");
    assert_eq!(by["matchedPermission"], CREATE_USERS);
    assert_eq!(at_(&by["startDateTime"]), t1, "{during}");
    assert_eq!(at_(&by["endDateTime"]), t1 + Duration::hours(1), "{during}");
    assert_eq!(during["historyComplete"], true, "{during}");
    assert_eq!(check_at(&pim, &alice, CREATE_USERS, t1 + Duration::hours(1) - sec).await["allowed"], true);
    assert_eq!(check_at(&pim, &alice, CREATE_USERS, t1 + Duration::hours(1)).await["allowed"], false, "expired");
    let second = check_at(&pim, &alice, CREATE_USERS, t3 + Duration::minutes(10)).await;
    assert_eq!(second["allowed"], true, "{second}");
    assert_eq!(at_(&second["grantedBy"]["endDateTime"]), t3_end, "the window as it turned out: ended early");
    assert_eq!(check_at(&pim, &alice, CREATE_USERS, t3_end).await["allowed"], false, "deactivated");

    // Bob through the group, with the group named as it was then.
    assert_eq!(check_at(&pim, &bob, RESET_PASSWORD, t4 - sec).await["allowed"], false);
    let member = check_at(&pim, &bob, RESET_PASSWORD, t4 + Duration::minutes(1)).await;
    assert_eq!(member["allowed"], true, "{member}");
    assert_eq!(member["grantedBy"]["memberType"], "Group");
    assert_eq!(member["grantedBy"]["groupId"], helpdesk.as_str());
    assert_eq!(member["grantedBy"]["roleDefinitionId"], HELPDESK_ADMINISTRATOR);
    assert_eq!(member["grantedBy"]["assignmentType"], "Assigned");
    assert_eq!(check_at(&pim, &bob, RESET_PASSWORD, t5).await["allowed"], false, "removed from the group");
    // Bob's direct assignment, before, during and after.
    assert_eq!(check_at(&pim, &bob, CREATE_GROUPS, t6 - sec).await["allowed"], false);
    let direct = check_at(&pim, &bob, CREATE_GROUPS, t6).await;
    assert_eq!(direct["grantedBy"]["memberType"], "Direct", "{direct}");
    assert_eq!(direct["grantedBy"]["roleDefinitionId"], GROUPS_ADMINISTRATOR);
    assert_eq!(check_at(&pim, &bob, CREATE_GROUPS, t7).await["allowed"], false, "removed");

    // The history lists the same intervals, merged per path.
    let alice_rows = history(&pim, &pim.admin_token(), &format!("principalId={alice}")).await;
    let ua = USER_ADMINISTRATOR.to_string();
    assert_eq!(
        spans(&alice_rows),
        vec![
            (ua.clone(), "Activated".into(), "Direct".into(), Value::Null, t1, Some(t1 + Duration::hours(1))),
            (ua.clone(), "Activated".into(), "Direct".into(), Value::Null, t3, Some(t3_end)),
        ],
        "{alice_rows:?}"
    );
    assert_eq!(alice_rows[0]["principalId"], alice.as_str());
    assert_eq!(alice_rows[0]["directoryScopeId"], "/");
    assert_eq!(alice_rows[0]["roleDisplayName"], "User Administrator");
    // Alice asks about herself.
    assert_eq!(history(&pim, &alice_token, &format!("principalId={alice}")).await, alice_rows);
    let bob_rows = history(&pim, &pim.admin_token(), &format!("principalId={bob}")).await;
    assert_eq!(
        spans(&bob_rows),
        vec![
            (
                HELPDESK_ADMINISTRATOR.to_string(),
                "Assigned".into(),
                "Group".into(),
                Value::String(helpdesk.clone()),
                t4,
                Some(t5)
            ),
            (GROUPS_ADMINISTRATOR.to_string(), "Assigned".into(), "Direct".into(), Value::Null, t6, Some(t7)),
        ],
        "{bob_rows:?}"
    );
    // Who held Helpdesk Administrator: the group itself (still) and bob through it.
    let role_rows = history(&pim, &pim.admin_token(), &format!("roleDefinitionId={HELPDESK_ADMINISTRATOR}")).await;
    let who: Vec<_> = role_rows
        .iter()
        .map(|r| (r["principalId"].as_str().unwrap().to_string(), r["memberType"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        who,
        vec![(helpdesk.clone(), "Direct".to_string()), (bob.clone(), "Group".to_string())],
        "{role_rows:?}"
    );
    assert_eq!(at_(&role_rows[0]["startDateTime"]), group_assigned);
    assert!(role_rows[0]["endDateTime"].is_null(), "the group still holds it: {role_rows:?}");
    // A window keeps what overlaps it, clipped to it.
    let clipped = history(
        &pim,
        &pim.admin_token(),
        &format!(
            "principalId={alice}&from={}&to={}",
            rfc3339(t1 + Duration::minutes(15)),
            rfc3339(t3 + Duration::minutes(5))
        ),
    )
    .await;
    assert_eq!(
        spans(&clipped).iter().map(|s| (s.4, s.5)).collect::<Vec<_>>(),
        vec![(t1 + Duration::minutes(15), Some(t1 + Duration::hours(1))), (t3, Some(t3 + Duration::minutes(5)))]
    );
    // Filter by scope: nothing of alice's was at an administrative unit.
    let au = "/administrativeUnits/00000000-0000-0000-0000-000000000001";
    assert!(history(&pim, &pim.admin_token(), &format!("principalId={alice}&directoryScopeId={au}")).await.is_empty());

    // Pages of one interval each, in the same order.
    let (status, page) =
        pim.client.get(&format!("/v1.0/openpim/accessHistory?principalId={alice}&$top=1"), &pim.admin_token()).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["value"].as_array().unwrap().len(), 1);
    assert!(page["@odata.nextLink"].as_str().is_some_and(|l| l.contains("$skiptoken=")), "{page}");
    assert_eq!(history(&pim, &pim.admin_token(), &format!("principalId={alice}&$top=1")).await, alice_rows);

    // The web UI: the role page's History tab ("Who held it") and a user's privileged timeline.
    let mut admin_ui = Browser::new(&pim.base());
    admin_ui.sign_in(&pim.admin_token()).await;
    let role_page = admin_ui.get(&format!("/roles/{HELPDESK_ADMINISTRATOR}?tab=history")).await;
    assert_eq!(role_page.status, StatusCode::OK, "{}", role_page.body);
    let held = &role_page.body[role_page.body.find("Who held it").expect("the section is shown")..];
    assert!(held.contains("bob@openpim.test") && held.contains("Helpdesk (group)"), "{held}");
    let bob_page = admin_ui.get(&format!("/timeline?principal={bob}")).await;
    assert_eq!(bob_page.status, StatusCode::OK, "{}", bob_page.body);
    assert!(
        bob_page.body.contains("Groups Administrator") && bob_page.body.contains("Helpdesk (group)"),
        "{}",
        bob_page.body
    );
    let mut alice_ui = Browser::new(&pim.base());
    alice_ui.sign_in(&alice_token).await;
    let own = alice_ui.get("/timeline").await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert_eq!(own.body.matches("User Administrator").count(), 2, "her two activations: {}", own.body);
    pim.stop().await;
}

#[tokio::test]
async fn rights_bad_input_and_the_start_of_history() {
    let pim = Pim::start().await;
    let (alice, token) = pim.user("alice").await;
    let admin = pim.admin_id.clone();
    pim.advance(Duration::hours(1));

    // A plain user reads only their own.
    let own = format!("/v1.0/openpim/accessHistory?principalId={alice}");
    let (status, body) = pim.client.get(&own, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"], serde_json::json!([]), "alice never held anything: {body}");
    for url in [
        format!("/v1.0/openpim/accessHistory?principalId={admin}"),
        format!("/v1.0/openpim/accessHistory?roleDefinitionId={USER_ADMINISTRATOR}"),
        format!("/v1.0/openpim/accessCheck?action={CREATE_USERS}&principalId={admin}&at={}", rfc3339(T0)),
    ] {
        let (status, body) = pim.client.get(&url, &token).await;
        assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    }
    // Her own check at a past instant is fine.
    let (status, body) =
        pim.client.get(&format!("/v1.0/openpim/accessCheck?action={CREATE_USERS}&at={}", rfc3339(T0)), &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["allowed"], false, "{body}");

    let admin_token = pim.admin_token();
    let future = rfc3339(pim.now() + Duration::minutes(1));
    for url in [
        format!("/v1.0/openpim/accessCheck?action={CREATE_USERS}&at=yesterday"),
        format!("/v1.0/openpim/accessCheck?action={CREATE_USERS}&at={future}"),
        "/v1.0/openpim/accessHistory".to_string(),
        "/v1.0/openpim/accessHistory?principalId=not-a-guid".to_string(),
        format!("/v1.0/openpim/accessHistory?principalId={alice}&from=soon"),
        format!("/v1.0/openpim/accessHistory?principalId={alice}&from={}", future),
        format!("/v1.0/openpim/accessHistory?principalId={alice}&from={}&to={}", rfc3339(pim.now()), rfc3339(T0)),
        format!("/v1.0/openpim/accessHistory?principalId={alice}&$top=0"),
        format!("/v1.0/openpim/accessHistory?principalId={alice}&$skiptoken=garbage"),
        format!("/v1.0/openpim/accessHistory?principalId={alice}&directoryScopeId=/&scope=/subscriptions/x"),
    ] {
        let (status, body) = pim.client.get(&url, &admin_token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {body}");
        assert!(body["error"]["code"].is_string() && body["error"]["message"].is_string(), "{url}: {body}");
    }

    // The history began when the server first started (T0): the admin's Global Administrator
    // is in it from then; an earlier instant is answered, flagged as before the history.
    let (status, before) = pim
        .client
        .get(
            &format!("/v1.0/openpim/accessCheck?action={CREATE_USERS}&at={}", rfc3339(T0 - Duration::days(1))),
            &admin_token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{before}");
    assert_eq!(before["historyComplete"], false, "{before}");
    assert_eq!(at_(&before["historyStartsDateTime"]), T0);
    assert_eq!(before["allowed"], false, "nothing is known before the history began: {before}");
    let since = check_at(&pim, &admin, CREATE_USERS, T0).await;
    assert_eq!(since["allowed"], true, "{since}");
    assert_eq!(since["historyComplete"], true);
    // Without at= the answer is today's and carries no history fields.
    let now = pim.access(&admin_token, CREATE_USERS).await;
    assert!(now.get("historyComplete").is_none(), "{now}");
    pim.stop().await;
}
