//! `GET /v1.0/openpim/accessCheck` and roles held through role-assignable groups: eligibility
//! held by a group and activated by a member, active assignments held by a group, and the
//! revocations that follow membership and eligibility changes.

use crate::common;
use crate::pim;

use common::{assert_graph_error, GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR};
use pim::*;
use reqwest::StatusCode;
use serde_json::Value;
use time::Duration;

#[tokio::test]
async fn the_access_check_result_shape_and_parameters() {
    let pim = Pim::start().await;
    let (alice, token) = pim.user("alice").await;
    let check = pim.access(&token, CREATE_USERS).await;
    assert_eq!(check["@odata.type"], "#openpim.accessCheckResult");
    assert_eq!(check["allowed"], false);
    assert_eq!(check["principalId"], alice.as_str());
    assert_eq!(check["directoryScopeId"], "/");
    assert_eq!(check["grantedBy"], Value::Null);
    assert_eq!(at(&check["evaluatedDateTime"]), T0, "evaluated on the server's clock");

    // The bootstrap admin holds Global Administrator directly.
    let check = pim.access(&pim.admin_token(), CREATE_USERS).await;
    assert_eq!(check["allowed"], true, "{check}");
    let by = &check["grantedBy"];
    assert_eq!(by["roleDefinitionId"], GLOBAL_ADMINISTRATOR);
    assert_eq!(by["assignmentType"], "Assigned");
    assert_eq!(by["memberType"], "Direct");
    assert_eq!(by["groupId"], Value::Null);
    assert_eq!(by["directoryScopeId"], "/");
    assert!(by["matchedPermission"].is_string(), "{check}");
    assert_eq!(by["endDateTime"], Value::Null);

    // An admin may check someone else; a plain user may not.
    let (status, other) = pim
        .client
        .get(&format!("/v1.0/openpim/accessCheck?action={CREATE_USERS}&principalId={alice}"), &pim.admin_token())
        .await;
    assert_eq!(status, StatusCode::OK, "{other}");
    assert_eq!(other["principalId"], alice.as_str());
    assert_eq!(other["allowed"], false);
    let (status, err) = pim
        .client
        .get(&format!("/v1.0/openpim/accessCheck?action={CREATE_USERS}&principalId={}", pim.admin_id), &token)
        .await;
    assert_graph_error(status, &err, 403, "Authorization_RequestDenied");
    // The action is required; ids and scopes must parse.
    let (status, err) = pim.client.get("/v1.0/openpim/accessCheck", &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let (status, err) =
        pim.client.get(&format!("/v1.0/openpim/accessCheck?action={CREATE_USERS}&principalId=nope"), &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    // Unauthenticated.
    let r = pim
        .client
        .send(pim.client.request(
            reqwest::Method::GET,
            &format!("/v1.0/openpim/accessCheck?action={CREATE_USERS}"),
            None,
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    pim.stop().await;
}

#[tokio::test]
async fn an_admin_can_watch_an_activation_flip_another_users_access() {
    let pim = Pim::start().await;
    let (alice, token) = pim.user("alice").await;
    pim.make_eligible(&alice, USER_ADMINISTRATOR).await;
    let url = format!("/v1.0/openpim/accessCheck?action={CREATE_USERS}&principalId={alice}&directoryScopeId=/");
    let (_, before) = pim.client.get(&url, &pim.admin_token()).await;
    assert_eq!(before["allowed"], false, "{before}");
    pim.activate_ok(&token, &alice, USER_ADMINISTRATOR, "PT1H").await;
    let (_, after) = pim.client.get(&url, &pim.admin_token()).await;
    assert_eq!(after["allowed"], true, "{after}");
    assert_eq!(after["grantedBy"]["assignmentType"], "Activated");
    // An action User Administrator does not grant.
    let (_, other) = pim
        .client
        .get(&format!("/v1.0/openpim/accessCheck?action=microsoft.directory/roleAssignments/allProperties/allTasks&principalId={alice}"), &pim.admin_token())
        .await;
    assert_eq!(other["allowed"], false, "{other}");
    pim.stop().await;
}

#[tokio::test]
async fn a_member_activates_a_group_eligibility_and_loses_it_on_leaving() {
    let pim = Pim::start().await;
    let (alice, token) = pim.user("alice").await;
    let (bob, bob_token) = pim.user("bob").await;
    let group = pim.group("User Admins", true).await;
    pim.add_member(&group, &alice).await;
    pim.add_member(&group, &bob).await;
    let eligibility = pim.make_eligible(&group, USER_ADMINISTRATOR).await;
    let eligibility_id = eligibility["id"].as_str().unwrap();

    // The members see the group's eligibility as theirs.
    let mine = pim.list(&format!("{ELIGIBILITY_INSTANCES}/filterByCurrentUser(on='principal')"), &token).await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["memberType"], "Group");
    assert_eq!(mine[0]["principalId"], alice.as_str());
    assert_eq!(mine[0]["roleEligibilityScheduleId"], eligibility_id);
    assert!(!pim.allowed(&token, CREATE_USERS).await, "eligible is not active");

    // A member activates for themself.
    let body = pim.activate_ok(&token, &alice, USER_ADMINISTRATOR, "PT2H").await;
    assert_eq!(body["status"], "Provisioned");
    assert_eq!(body["principalId"], alice.as_str());
    let check = pim.access(&token, CREATE_USERS).await;
    assert_eq!(check["allowed"], true, "{check}");
    assert_eq!(check["grantedBy"]["assignmentType"], "Activated");
    assert_eq!(pim.try_create_user(&token, "made-by-alice").await, StatusCode::CREATED);
    assert!(!pim.allowed(&bob_token, CREATE_USERS).await, "only alice activated");
    let inst = pim
        .list(
            &format!("{ASSIGNMENT_INSTANCES}?$filter=principalId eq '{alice}'&$expand=activatedUsing"),
            &pim.admin_token(),
        )
        .await;
    assert_eq!(inst.len(), 1, "{inst:?}");
    assert_eq!(inst[0]["assignmentType"], "Activated");
    assert_eq!(inst[0]["activatedUsing"]["id"], eligibility_id, "activated using the group's eligibility");
    assert_eq!(inst[0]["activatedUsing"]["principalId"], group.as_str());

    // Leaving the group ends the activation made from its eligibility.
    pim.remove_member(&group, &alice).await;
    assert!(!pim.allowed(&token, CREATE_USERS).await, "revoked on leaving");
    assert!(pim.rows_of(ASSIGNMENT_INSTANCES, &alice).await.is_empty());
    assert!(pim.rows_of(ELIGIBILITY_INSTANCES, &alice).await.is_empty(), "no longer eligible through the group");
    assert_eq!(pim.try_create_user(&token, "after-leaving").await, StatusCode::FORBIDDEN);
    let (status, err) = pim.activate(&token, &alice, USER_ADMINISTRATOR, "PT1H").await;
    assert_graph_error(status, &err, 400, "RoleAssignmentDoesNotExist");
    // Bob is still a member and can still activate.
    pim.activate_ok(&bob_token, &bob, USER_ADMINISTRATOR, "PT1H").await;
    assert!(pim.allowed(&bob_token, CREATE_USERS).await);
    pim.stop().await;
}

#[tokio::test]
async fn removing_an_eligibility_revokes_the_activations_made_from_it() {
    let pim = Pim::start().await;
    let (alice, token) = pim.user("alice").await;
    let (bob, bob_token) = pim.user("bob").await;
    let group = pim.group("User Admins", true).await;
    pim.add_member(&group, &bob).await;
    pim.make_eligible(&alice, USER_ADMINISTRATOR).await;
    pim.make_eligible(&group, USER_ADMINISTRATOR).await;
    pim.activate_ok(&token, &alice, USER_ADMINISTRATOR, "PT4H").await;
    pim.activate_ok(&bob_token, &bob, USER_ADMINISTRATOR, "PT4H").await;
    assert!(pim.allowed(&token, CREATE_USERS).await);
    assert!(pim.allowed(&bob_token, CREATE_USERS).await);

    pim.advance(Duration::minutes(10));
    for principal in [&alice, &group] {
        let (status, body) = pim
            .eligibility_request(&pim.admin_token(), request("adminRemove", principal, USER_ADMINISTRATOR, None))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["status"], "Revoked");
    }
    assert!(!pim.allowed(&token, CREATE_USERS).await, "alice's activation ended with her eligibility");
    assert!(!pim.allowed(&bob_token, CREATE_USERS).await, "bob's activation ended with the group's eligibility");
    assert!(pim.rows_of(ASSIGNMENT_INSTANCES, &alice).await.is_empty());
    assert!(pim.rows_of(ASSIGNMENT_INSTANCES, &bob).await.is_empty());
    assert!(pim.rows_of(ASSIGNMENT_SCHEDULES, &bob).await.is_empty());
    // The removal is audited with the revoked activations.
    let audits = pim.audits().await;
    let removal = audits
        .iter()
        .find(|a| a["activityDisplayName"] == "Remove eligible member from role in PIM" && a["result"] == "success")
        .unwrap_or_else(|| panic!("no removal audit: {audits:#?}"));
    assert!(
        removal["additionalDetails"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["key"] == "revokedActivations" && d["value"] == "1"),
        "{removal}"
    );
    pim.stop().await;
}

#[tokio::test]
async fn a_group_with_an_active_assignment_grants_its_members() {
    let pim = Pim::start().await;
    let (alice, token) = pim.user("alice").await;
    let (_, outsider_token) = pim.user("outsider").await;
    let group = pim.group("Standing User Admins", true).await;
    pim.add_member(&group, &alice).await;
    let (status, body) = pim
        .assignment_request(
            &pim.admin_token(),
            request("adminAssign", &group, USER_ADMINISTRATOR, Some(no_expiration())),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let schedule_id = body["targetScheduleId"].as_str().unwrap().to_string();

    let mine = pim.list(&format!("{ASSIGNMENT_INSTANCES}/filterByCurrentUser(on='principal')"), &token).await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["memberType"], "Group");
    assert_eq!(mine[0]["assignmentType"], "Assigned");
    assert_eq!(mine[0]["principalId"], alice.as_str());
    assert_eq!(mine[0]["roleAssignmentScheduleId"], schedule_id.as_str());
    assert_eq!(mine[0]["id"], format!("{schedule_id}_{alice}").as_str());
    // The member's row reads back by its id.
    let (status, one) =
        pim.client.get(&format!("{ASSIGNMENT_INSTANCES}/{}", mine[0]["id"].as_str().unwrap()), &token).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["memberType"], "Group");
    // The group's own row is Direct.
    let group_rows = pim.rows_of(ASSIGNMENT_INSTANCES, &group).await;
    assert_eq!(group_rows.len(), 1);
    assert_eq!(group_rows[0]["memberType"], "Direct");
    let (status, expanded) = pim
        .client
        .get(&format!("{ASSIGNMENT_INSTANCES}?$filter=principalId eq '{group}'&$expand=principal"), &pim.admin_token())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(expanded["value"][0]["principal"]["@odata.type"], "#microsoft.graph.group", "{expanded}");

    let check = pim.access(&token, CREATE_USERS).await;
    assert_eq!(check["allowed"], true, "{check}");
    let by = &check["grantedBy"];
    assert_eq!(by["memberType"], "Group", "{check}");
    assert_eq!(by["groupId"], group.as_str());
    assert_eq!(by["assignmentType"], "Assigned");
    assert_eq!(by["roleAssignmentScheduleId"], schedule_id.as_str());
    assert_eq!(pim.try_create_user(&token, "via-group").await, StatusCode::CREATED);
    assert!(!pim.allowed(&outsider_token, CREATE_USERS).await);

    // Leaving the group ends it.
    pim.remove_member(&group, &alice).await;
    assert!(!pim.allowed(&token, CREATE_USERS).await);
    assert!(pim.list(&format!("{ASSIGNMENT_INSTANCES}/filterByCurrentUser(on='principal')"), &token).await.is_empty());
    pim.stop().await;
}

#[tokio::test]
async fn an_activation_at_an_administrative_unit_grants_only_there() {
    let pim = Pim::start().await;
    let (alice, token) = pim.user("alice").await;
    let (status, au) = pim
        .client
        .post("/v1.0/directory/administrativeUnits", &pim.admin_token(), serde_json::json!({"displayName": "Berlin"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{au}");
    let scope = format!("/administrativeUnits/{}", au["id"].as_str().unwrap());
    let at_scope = |mut body: Value, scope: &str| {
        body["directoryScopeId"] = Value::from(scope);
        body
    };
    let (status, body) = pim
        .eligibility_request(
            &pim.admin_token(),
            at_scope(request("adminAssign", &alice, USER_ADMINISTRATOR, Some(no_expiration())), &scope),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["directoryScopeId"], scope.as_str());
    // Eligible at the unit is not eligible at the tenant.
    let (status, err) = pim.activate(&token, &alice, USER_ADMINISTRATOR, "PT1H").await;
    assert_graph_error(status, &err, 400, "RoleAssignmentDoesNotExist");
    let (status, body) = pim
        .assignment_request(
            &token,
            at_scope(request("selfActivate", &alice, USER_ADMINISTRATOR, Some(for_duration(None, "PT1H"))), &scope),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "Provisioned");

    let (status, check) = pim
        .client
        .get(&format!("/v1.0/openpim/accessCheck?action={CREATE_USERS}&directoryScopeId={scope}"), &token)
        .await;
    assert_eq!(status, StatusCode::OK, "{check}");
    assert_eq!(check["allowed"], true, "{check}");
    assert_eq!(check["directoryScopeId"], scope.as_str());
    assert_eq!(check["grantedBy"]["directoryScopeId"], scope.as_str());
    assert!(!pim.allowed(&token, CREATE_USERS).await, "nothing at the tenant");
    let rows =
        pim.list(&format!("{ASSIGNMENT_INSTANCES}?$filter=directoryScopeId eq '{scope}'"), &pim.admin_token()).await;
    assert_eq!(principals_of(&rows), vec![alice.as_str()]);

    // Nothing can be assigned at a unit that does not exist.
    let missing = "/administrativeUnits/00000000-0000-0000-0000-000000000009";
    for set in [ELIGIBILITY_REQUESTS, ASSIGNMENT_REQUESTS] {
        let (status, err) = pim
            .client
            .post(
                set,
                &pim.admin_token(),
                at_scope(request("adminAssign", &alice, USER_ADMINISTRATOR, Some(no_expiration())), missing),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{set}: {err}");
        assert!(err["error"]["message"].as_str().unwrap().contains("does not exist"), "{err}");
    }
    pim.stop().await;
}

fn principals_of(rows: &[Value]) -> Vec<&str> {
    rows.iter().map(|r| r["principalId"].as_str().unwrap()).collect()
}
