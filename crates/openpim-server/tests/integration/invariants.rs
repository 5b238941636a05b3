//! Cross-entity invariants enforced in the store's write path, over HTTP: whatever path a change
//! takes (PIM requests, roleAssignments, groups, members, users, the tidy-up job), the tenant
//! keeps at least one enabled user holding Global Administrator at `/`, active and permanent,
//! directly or through a role-assignable group. A refused change is a 400
//! `LastGlobalAdministrator`, changes nothing and is audited as a failure. Runs on SQLite, and on
//! PostgreSQL when `OPENPIM_TEST_POSTGRES_URL` is set.

use crate::common;
use crate::pim;

use common::{assert_graph_error, reference, GLOBAL_ADMINISTRATOR, RM};
use pim::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use time::Duration;

const LAST_GA: &str = "LastGlobalAdministrator";

/// The assignment schedules of `principal` for Global Administrator, as the admin sees them
/// (via `token`, which must be able to read them).
async fn ga_schedules(pim: &Pim, token: &str, principal: &str) -> Vec<Value> {
    pim.list(
        &format!("{ASSIGNMENT_SCHEDULES}?$filter=principalId eq '{principal}' and roleDefinitionId eq '{GLOBAL_ADMINISTRATOR}'"),
        token,
    )
    .await
}

/// Whether `token`'s holder can still do what only an administrator can (create a user).
async fn still_administrator(pim: &Pim, token: &str, name: &str) -> bool {
    pim.try_create_user(token, name).await == StatusCode::CREATED
}

/// Gives `principal` an active Global Administrator assignment through PIM (`adminAssign`),
/// permanent or ending at `end`.
async fn assign_ga(pim: &Pim, token: &str, principal: &str, end: Option<time::OffsetDateTime>) {
    let schedule = match end {
        None => no_expiration(),
        Some(end) => until(end),
    };
    let (status, body) =
        pim.assignment_request(token, request("adminAssign", principal, GLOBAL_ADMINISTRATOR, Some(schedule))).await;
    assert_eq!(status, StatusCode::CREATED, "adminAssign Global Administrator to {principal}: {body}");
}

/// A refused attempt is in the audit log with result failure and the invariant's reason.
async fn refusal_audited(pim: &Pim, token: &str, activity: &str) {
    let (status, body) = pim.client.get("/v1.0/auditLogs/directoryAudits?$top=999", token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let refused = body["value"].as_array().unwrap().iter().any(|r| {
        r["activityDisplayName"] == activity
            && r["result"] == "failure"
            && r["resultReason"].as_str().is_some_and(|m| m.contains("last Global Administrator"))
    });
    assert!(refused, "no failure audit for '{activity}': {body}");
}

#[tokio::test]
async fn admin_remove_of_the_last_global_administrator_is_refused() {
    let pim = Pim::start().await;
    let admin = pim.admin_token();
    // Past the 5-minute rule (an assignment younger than that cannot be removed at all).
    pim.advance(Duration::minutes(10));
    let (status, body) =
        pim.assignment_request(&admin, request("adminRemove", &pim.admin_id, GLOBAL_ADMINISTRATOR, None)).await;
    assert_graph_error(status, &body, 400, LAST_GA);
    assert_eq!(ga_schedules(&pim, &admin, &pim.admin_id).await.len(), 1, "the assignment stays");
    assert!(still_administrator(&pim, &admin, "after-remove").await);
    let (_, audits) = pim.client.get("/v1.0/auditLogs/directoryAudits?$top=999", &admin).await;
    assert!(
        audits["value"].as_array().unwrap().iter().any(|r| r["result"] == "failure"
            && r["resultReason"].as_str().is_some_and(|m| m.contains("last Global Administrator"))),
        "the refused attempt is audited: {audits}"
    );

    // With a second permanent Global Administrator, the first may go.
    let (second, second_token) = pim.user("second").await;
    assign_ga(&pim, &admin, &second, None).await;
    pim.advance(Duration::minutes(10));
    let (status, body) =
        pim.assignment_request(&admin, request("adminRemove", &pim.admin_id, GLOBAL_ADMINISTRATOR, None)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(ga_schedules(&pim, &second_token, &pim.admin_id).await.is_empty());
    let (status, body) =
        pim.assignment_request(&second_token, request("adminRemove", &second, GLOBAL_ADMINISTRATOR, None)).await;
    assert_graph_error(status, &body, 400, LAST_GA);
    pim.stop().await;
}

#[tokio::test]
async fn admin_update_cannot_make_the_last_global_administrator_time_bound() {
    let pim = Pim::start().await;
    let admin = pim.admin_token();
    let end = pim.now() + Duration::days(30);
    let (status, body) = pim
        .assignment_request(&admin, request("adminUpdate", &pim.admin_id, GLOBAL_ADMINISTRATOR, Some(until(end))))
        .await;
    assert_graph_error(status, &body, 400, LAST_GA);
    let rows = ga_schedules(&pim, &admin, &pim.admin_id).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["scheduleInfo"]["expiration"]["type"], "noExpiration", "still permanent: {}", rows[0]);
    pim.stop().await;
}

/// Expiry never removes the last Global Administrator: a time-bound one does not count, so the
/// permanent one could not be removed while it was the only permanent one.
#[tokio::test]
async fn a_time_bound_global_administrator_cannot_be_the_last() {
    let pim = Pim::start().await;
    let admin = pim.admin_token();
    let (temp, temp_token) = pim.user("temp").await;
    assign_ga(&pim, &admin, &temp, Some(pim.now() + Duration::days(1))).await;
    assert!(still_administrator(&pim, &temp_token, "by-temp").await, "the time-bound GA is in effect");
    pim.advance(Duration::minutes(10));

    // Neither the admin (PIM, roleAssignments) nor the temporary GA may remove the permanent one.
    let (status, body) =
        pim.assignment_request(&temp_token, request("adminRemove", &pim.admin_id, GLOBAL_ADMINISTRATOR, None)).await;
    assert_graph_error(status, &body, 400, LAST_GA);
    let (_, list) =
        pim.client.get(&format!("{RM}/roleAssignments?$filter=principalId eq '{}'", pim.admin_id), &temp_token).await;
    let direct = list["value"][0]["id"].as_str().expect("the admin's assignment").to_string();
    let (status, body) = pim.client.delete(&format!("{RM}/roleAssignments/{direct}"), &temp_token).await;
    assert_graph_error(status, &body, 400, LAST_GA);

    // The temporary assignment expires; the tidy-up job's transition passes the invariant, and
    // the permanent administrator is still there.
    pim.advance(Duration::days(2));
    assert!(openpim_server::jobs::tidy_once(&pim.server.state).await.unwrap() >= 1);
    assert!(!still_administrator(&pim, &temp_token, "after-expiry").await);
    assert!(still_administrator(&pim, &admin, "admin-after-expiry").await);
    pim.stop().await;
}

/// The bootstrap admin's only Global Administrator path is replaced by a role-assignable group
/// with one member; every way of taking that member's role away is refused.
#[tokio::test]
async fn the_last_global_administrator_through_a_group_stays() {
    let pim = Pim::start().await;
    let admin = pim.admin_token();
    let group = pim.group("Global Admins", true).await;
    assign_ga(&pim, &admin, &group, None).await;
    let (member, member_token) = pim.user("member").await;
    let (temp, temp_token) = pim.user("temp").await;
    let (second, _) = pim.user("second").await;
    pim.add_member(&group, &member).await;
    pim.advance(Duration::minutes(10));
    // A group without enabled members does not count: the admin's own assignment is the last one
    // held by an enabled user until the member joined, so now it may go.
    let (status, body) =
        pim.assignment_request(&admin, request("adminRemove", &pim.admin_id, GLOBAL_ADMINISTRATOR, None)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // A temporary Global Administrator does the removing (it does not count itself).
    assign_ga(&pim, &member_token, &temp, Some(pim.now() + Duration::days(1))).await;
    pim.advance(Duration::minutes(10));

    let (status, body) = pim.client.delete(&format!("/v1.0/groups/{group}/members/{member}/$ref"), &temp_token).await;
    assert_graph_error(status, &body, 400, LAST_GA);
    let (status, body) = pim.client.delete(&format!("/v1.0/groups/{group}"), &temp_token).await;
    assert_graph_error(status, &body, 400, LAST_GA);
    let (status, body) =
        pim.client.patch(&format!("/v1.0/users/{member}"), &temp_token, json!({"accountEnabled": false})).await;
    assert_graph_error(status, &body, 400, LAST_GA);
    let (status, body) = pim.client.delete(&format!("/v1.0/users/{member}"), &temp_token).await;
    assert_graph_error(status, &body, 400, LAST_GA);
    let (status, body) =
        pim.assignment_request(&temp_token, request("adminRemove", &group, GLOBAL_ADMINISTRATOR, None)).await;
    assert_graph_error(status, &body, 400, LAST_GA);
    refusal_audited(&pim, &temp_token, "Delete group").await;

    // Nothing changed: the member is still an enabled Global Administrator through the group.
    assert!(still_administrator(&pim, &member_token, "member-still-ga").await);
    let (_, members) = pim.client.get(&format!("/v1.0/groups/{group}/members"), &member_token).await;
    assert_eq!(members["value"].as_array().unwrap().len(), 1, "{members}");
    let _ = temp;

    // A second member makes the first one removable.
    let (status, body) =
        pim.client.post(&format!("/v1.0/groups/{group}/members/$ref"), &member_token, reference(&second)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = pim.client.delete(&format!("/v1.0/groups/{group}/members/{member}/$ref"), &temp_token).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    pim.stop().await;
}

/// The bootstrap admin holds the last permanent Global Administrator assignment directly:
/// disabling or deleting that user is refused, whoever asks.
#[tokio::test]
async fn the_last_global_administrator_user_cannot_be_disabled_or_deleted() {
    let pim = Pim::start().await;
    let admin = pim.admin_token();
    let (temp, temp_token) = pim.user("temp").await;
    assign_ga(&pim, &admin, &temp, Some(pim.now() + Duration::days(1))).await;

    let (status, body) =
        pim.client.patch(&format!("/v1.0/users/{}", pim.admin_id), &temp_token, json!({"accountEnabled": false})).await;
    assert_graph_error(status, &body, 400, LAST_GA);
    let (status, body) = pim.client.delete(&format!("/v1.0/users/{}", pim.admin_id), &temp_token).await;
    assert_graph_error(status, &body, 400, LAST_GA);
    refusal_audited(&pim, &temp_token, "Delete user").await;
    let (_, me) = pim.client.get("/v1.0/me", &admin).await;
    assert_eq!(me["accountEnabled"], true, "{me}");
    assert!(still_administrator(&pim, &admin, "admin-still-ga").await);

    // Other users' changes are not affected by the invariant.
    let (status, body) =
        pim.client.patch(&format!("/v1.0/users/{temp}"), &admin, json!({"accountEnabled": false})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    pim.stop().await;
}
