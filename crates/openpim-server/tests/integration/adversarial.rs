//! Escalation attempts from issue #12, each replayed over HTTP. Every test is an attack that
//! worked before the fix: names taken over by renames, deleted accounts' tokens reused, scoped
//! or unprivileged administrators reaching accounts that can obtain or hand out privileged
//! roles, approvals decided by the wrong people, tokens living for years, roles scoped where
//! Entra does not allow them.

use crate::common;
use crate::pim;

use common::{
    assert_graph_error, mint_for_id, reference, GLOBAL_ADMINISTRATOR, GROUPS_ADMINISTRATOR,
    PRIVILEGED_ROLE_ADMINISTRATOR, RM, USER_ADMINISTRATOR,
};
use pim::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use time::Duration;

const APPROVALS: &str = "/v1.0/roleManagement/directory/roleAssignmentApprovals";
const APPROVER_APPROVALS: &str =
    "/v1.0/roleManagement/directory/roleAssignmentApprovals/filterByCurrentUser(on='approver')";
const POLICY_ASSIGNMENTS: &str = "/v1.0/policies/roleManagementPolicyAssignments";
/// The action only role administrators (Global, Privileged Role) hold.
const ASSIGN_ROLES: &str = "microsoft.directory/roleAssignments/allProperties/allTasks";

async fn me(pim: &Pim, token: &str) -> (StatusCode, Value) {
    pim.client.get("/v1.0/me", token).await
}

async fn rename(pim: &Pim, token: &str, id: &str, upn: &str) -> (StatusCode, Value) {
    pim.client.patch(&format!("/v1.0/users/{id}"), token, json!({"userPrincipalName": upn})).await
}

/// Assigns `role` at `scope` as the admin (a standing assignment).
async fn assign(pim: &Pim, principal: &str, role: &str, scope: &str) {
    let (status, body) = pim
        .client
        .post(
            &format!("{RM}/roleAssignments"),
            &pim.admin_token(),
            json!({"principalId": principal, "roleDefinitionId": role, "directoryScopeId": scope}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "assign {role} to {principal} at {scope}: {body}");
}

/// The id of `role`'s policy.
async fn policy_of(pim: &Pim, role: &str) -> String {
    let rows = pim
        .list(
            &format!(
                "{POLICY_ASSIGNMENTS}?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '{role}'"
            ),
            &pim.admin_token(),
        )
        .await;
    rows[0]["policyId"].as_str().expect("policy id").to_string()
}

fn single_user(id: &str) -> Value {
    json!({"@odata.type": "#microsoft.graph.singleUser", "userId": id})
}

fn group_members(id: &str) -> Value {
    json!({"@odata.type": "#microsoft.graph.groupMembers", "groupId": id})
}

/// An approval rule with one stage per entry of `stages` (serial when more than one).
fn approval_rule(stages: Vec<Vec<Value>>) -> Value {
    let mode = if stages.len() > 1 { "Serial" } else { "SingleStage" };
    let stages: Vec<Value> = stages
        .into_iter()
        .map(|approvers| {
            json!({
                "approvalStageTimeOutInDays": 1,
                "isApproverJustificationRequired": false,
                "escalationTimeInMinutes": 0,
                "isEscalationEnabled": false,
                "primaryApprovers": approvers,
                "escalationApprovers": []
            })
        })
        .collect();
    json!({
        "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule",
        "id": "Approval_EndUser_Assignment",
        "target": {"caller": "EndUser", "operations": ["All"], "level": "Assignment",
                   "inheritableSettings": [], "enforcedSettings": []},
        "setting": {
            "isApprovalRequired": true,
            "isApprovalRequiredForExtension": false,
            "isRequestorJustificationRequired": true,
            "approvalMode": mode,
            "approvalStages": stages
        }
    })
}

async fn set_approvers(pim: &Pim, role: &str, stages: Vec<Vec<Value>>) {
    let policy = policy_of(pim, role).await;
    let (status, body) = pim
        .client
        .patch(
            &format!("/v1.0/policies/roleManagementPolicies/{policy}/rules/Approval_EndUser_Assignment"),
            &pim.admin_token(),
            approval_rule(stages),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "set approvers: {body}");
}

async fn decide(pim: &Pim, token: &str, approval: &str, step: &str) -> (StatusCode, Value) {
    pim.client
        .patch(
            &format!("{APPROVALS}/{approval}/steps/{step}"),
            token,
            json!({"reviewResult": "Approve", "justification": "looks fine"}),
        )
        .await
}

// ------------------------------------------------------------------ 1: tokens bound to object ids

/// A spare account's token followed its UPN: rename the spare away, give an eligible Global
/// Administrator the spare's old UPN, and the spare's token acted as that administrator.
#[tokio::test]
async fn a_token_does_not_follow_its_upn_to_another_account() {
    let pim = Pim::start().await;
    let admin = pim.admin_token();
    let (spare, spare_t) = pim.user("spare").await;
    let (victim, _) = pim.user("victim").await;
    pim.make_eligible(&victim, GLOBAL_ADMINISTRATOR).await;

    // The swap (done by an administrator who may: the names are what the attack is about).
    assert_eq!(rename(&pim, &admin, &spare, "spare-old@openpim.test").await.0, StatusCode::NO_CONTENT);
    assert_eq!(rename(&pim, &admin, &victim, "spare@openpim.test").await.0, StatusCode::NO_CONTENT);

    // The spare's token still names the spare, under its new name.
    let (status, body) = me(&pim, &spare_t).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], spare.as_str(), "the token acts as the account it was minted for");
    assert_eq!(body["userPrincipalName"], "spare-old@openpim.test");
    // It cannot activate the victim's eligibility, neither as itself nor in the victim's name.
    for principal in [&spare, &victim] {
        let (status, body) = pim.activate(&spare_t, principal, GLOBAL_ADMINISTRATOR, "PT1H").await;
        assert!(status.is_client_error(), "activation through the spare's token: {status} {body}");
    }
    assert!(!pim.allowed(&spare_t, ASSIGN_ROLES).await, "the spare never holds Global Administrator");
    // The victim, under the new name, is who it always was.
    let (status, body) = me(&pim, &pim.token("spare@openpim.test")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], victim.as_str());
    pim.stop().await;
}

/// A deleted user's token worked again for a new account later created with the same UPN.
#[tokio::test]
async fn a_deleted_users_token_does_not_work_for_a_new_account_with_the_same_upn() {
    let pim = Pim::start().await;
    let admin = pim.admin_token();
    let (old_carol, old_t) = pim.user("carol").await;
    assert_eq!(me(&pim, &old_t).await.0, StatusCode::OK);
    let (status, body) = pim.client.delete(&format!("/v1.0/users/{old_carol}"), &admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (new_carol, new_t) = pim.user("carol").await;
    assert_ne!(old_carol, new_carol);
    let (status, body) = me(&pim, &old_t).await;
    assert_graph_error(status, &body, 401, "InvalidAuthenticationToken");
    let (status, body) = me(&pim, &new_t).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], new_carol.as_str());
    pim.stop().await;
}

/// The requester approved their own activation by giving their spare account's name to the
/// approver: the spare's token then decided as the approver.
#[tokio::test]
async fn a_requester_cannot_approve_through_a_spare_account_renamed_into_the_approvers_name() {
    let pim = Pim::start().await;
    let admin = pim.admin_token();
    let (bob, bob_t) = pim.user("bob").await;
    let (alice, alice_t) = pim.user("alice").await;
    let (spare, spare_t) = pim.user("bobspare").await;
    pim.make_eligible(&bob, USER_ADMINISTRATOR).await;
    set_approvers(&pim, USER_ADMINISTRATOR, vec![vec![single_user(&alice)]]).await;
    let (status, body) = pim.activate(&bob_t, &bob, USER_ADMINISTRATOR, "PT2H").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let approval = body["approvalId"].as_str().expect("approvalId").to_string();

    assert_eq!(rename(&pim, &admin, &spare, "bobspare-old@openpim.test").await.0, StatusCode::NO_CONTENT);
    assert_eq!(rename(&pim, &admin, &alice, "bobspare@openpim.test").await.0, StatusCode::NO_CONTENT);

    let (status, body) = pim.client.get(APPROVER_APPROVALS, &spare_t).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"], json!([]), "nothing waits for the spare");
    let (status, a) = pim.client.get(&format!("{APPROVALS}/{approval}"), &alice_t).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    let step = a["steps"][0]["id"].as_str().expect("step id").to_string();
    let (status, body) = decide(&pim, &spare_t, &approval, &step).await;
    assert!(status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND, "{status} {body}");
    assert!(!pim.allowed(&bob_t, CREATE_USERS).await, "bob's request is still undecided");
    assert_eq!(spare, me(&pim, &spare_t).await.1["id"].as_str().unwrap());
    pim.stop().await;
}

// ------------------------------------------------------------------ 2: protected accounts

/// A User Administrator could rename, disable or delete an account that is only *eligible* for
/// a privileged role (or approves one), then take it over.
#[tokio::test]
async fn a_user_administrator_cannot_touch_accounts_that_can_obtain_or_hand_out_privileged_roles() {
    let pim = Pim::start().await;
    let (ua, ua_t) = pim.user("useradmin").await;
    assign(&pim, &ua, USER_ADMINISTRATOR, "/").await;
    let (plain, _) = pim.user("plain").await;
    // Eligible now, directly.
    let (eligible, _) = pim.user("eligible").await;
    pim.make_eligible(&eligible, GLOBAL_ADMINISTRATOR).await;
    // Eligible from next week.
    let (future, _) = pim.user("future").await;
    let (status, body) = pim
        .eligibility_request(
            &pim.admin_token(),
            request(
                "adminAssign",
                &future,
                PRIVILEGED_ROLE_ADMINISTRATOR,
                Some(for_duration(Some(pim.now() + Duration::days(7)), "P30D")),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Eligible through a role-assignable group.
    let (member, _) = pim.user("member").await;
    let group = pim.group("GA candidates", true).await;
    pim.add_member(&group, &member).await;
    pim.make_eligible(&group, GLOBAL_ADMINISTRATOR).await;
    // Approves activations of a privileged role.
    let (approver, _) = pim.user("approver").await;
    set_approvers(&pim, PRIVILEGED_ROLE_ADMINISTRATOR, vec![vec![single_user(&approver)]]).await;

    for (target, name) in [(&eligible, "eligible"), (&future, "future"), (&member, "member"), (&approver, "approver")] {
        for body in [
            json!({"userPrincipalName": format!("taken-{name}@openpim.test")}),
            json!({"accountEnabled": false}),
            json!({"displayName": "Mine now"}),
        ] {
            let (status, resp) = pim.client.patch(&format!("/v1.0/users/{target}"), &ua_t, body.clone()).await;
            assert_graph_error(status, &resp, 403, "Authorization_RequestDenied");
        }
        let (status, resp) = pim.client.delete(&format!("/v1.0/users/{target}"), &ua_t).await;
        assert_graph_error(status, &resp, 403, "Authorization_RequestDenied");
        let (status, user) = pim.client.get(&format!("/v1.0/users/{target}"), &pim.admin_token()).await;
        assert_eq!(status, StatusCode::OK, "{user}");
        assert_eq!(user["userPrincipalName"], format!("{name}@openpim.test"), "nothing changed");
        assert_eq!(user["accountEnabled"], true);
    }
    // An ordinary account is still the User Administrator's to manage.
    let (status, body) = pim.client.patch(&format!("/v1.0/users/{plain}"), &ua_t, json!({"jobTitle": "Clerk"})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // A Global Administrator may change the protected accounts.
    let (status, body) =
        pim.client.patch(&format!("/v1.0/users/{eligible}"), &pim.admin_token(), json!({"jobTitle": "CISO"})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    pim.stop().await;
}

/// A User Administrator scoped to an administrative unit must not reach a protected account
/// that is a member of the unit either.
#[tokio::test]
async fn a_unit_scoped_user_administrator_cannot_touch_protected_members_of_the_unit() {
    let pim = Pim::start().await;
    let admin = pim.admin_token();
    let (status, au) =
        pim.client.post("/v1.0/directory/administrativeUnits", &admin, json!({"displayName": "Ops"})).await;
    assert_eq!(status, StatusCode::CREATED, "{au}");
    let au = au["id"].as_str().unwrap().to_string();
    let (scoped, scoped_t) = pim.user("scoped").await;
    assign(&pim, &scoped, USER_ADMINISTRATOR, &format!("/administrativeUnits/{au}")).await;
    let (plain, _) = pim.user("plain").await;
    let (eligible, _) = pim.user("eligible").await;
    pim.make_eligible(&eligible, GLOBAL_ADMINISTRATOR).await;
    for m in [&plain, &eligible] {
        let (status, body) = pim
            .client
            .post(&format!("/v1.0/directory/administrativeUnits/{au}/members/$ref"), &admin, reference(m))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    let (status, body) =
        pim.client.patch(&format!("/v1.0/users/{plain}"), &scoped_t, json!({"jobTitle": "Clerk"})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) =
        pim.client.patch(&format!("/v1.0/users/{eligible}"), &scoped_t, json!({"accountEnabled": false})).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    pim.stop().await;
}

// ------------------------------------------------------------------ 3: approvals

/// A Groups Administrator joined (or added an accomplice to) a plain group listed as approver of
/// a privileged role, then approved their own friends.
#[tokio::test]
async fn a_groups_administrator_cannot_join_an_approver_group_of_a_privileged_role() {
    let pim = Pim::start().await;
    let (ga, ga_t) = pim.user("groupsadmin").await;
    assign(&pim, &ga, GROUPS_ADMINISTRATOR, "/").await;
    let approvers = pim.group("UA approvers", false).await;
    let unrelated = pim.group("Book club", false).await;
    set_approvers(&pim, USER_ADMINISTRATOR, vec![vec![group_members(&approvers)]]).await;

    let join = |group: String| {
        let (client, token, who) = (pim.client.clone(), ga_t.clone(), ga.clone());
        async move { client.post(&format!("/v1.0/groups/{group}/members/$ref"), &token, reference(&who)).await }
    };
    let (status, body) = join(approvers.clone()).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    let (status, body) = pim.client.get(&format!("/v1.0/groups/{approvers}/members"), &pim.admin_token()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"], json!([]), "nobody joined");
    // Other groups are still the Groups Administrator's to manage.
    let (status, body) = join(unrelated).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // A role administrator may staff the approver group.
    pim.add_member(&approvers, &ga).await;
    pim.stop().await;
}

/// One person decided every stage of a multi-stage approval, and a requester in an approver
/// group of a later stage decided it.
#[tokio::test]
async fn each_stage_needs_a_different_approver_and_never_the_requester() {
    let pim = Pim::start().await;
    let (bob, bob_t) = pim.user("bob").await;
    let (carol, carol_t) = pim.user("carol").await;
    let (dave, dave_t) = pim.user("dave").await;
    let later = pim.group("Stage two approvers", true).await;
    pim.add_member(&later, &bob).await;
    pim.add_member(&later, &carol).await;
    pim.make_eligible(&bob, USER_ADMINISTRATOR).await;
    // Carol is listed in both stages; bob (the requester) is in stage two's group.
    set_approvers(
        &pim,
        USER_ADMINISTRATOR,
        vec![vec![single_user(&carol)], vec![group_members(&later), single_user(&dave)]],
    )
    .await;
    let (status, body) = pim.activate(&bob_t, &bob, USER_ADMINISTRATOR, "PT2H").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let approval = body["approvalId"].as_str().expect("approvalId").to_string();
    let (_, a) = pim.client.get(&format!("{APPROVALS}/{approval}"), &carol_t).await;
    let (first, second) =
        (a["steps"][0]["id"].as_str().unwrap().to_string(), a["steps"][1]["id"].as_str().unwrap().to_string());

    let (status, body) = decide(&pim, &carol_t, &approval, &first).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // Carol may not decide the second stage too.
    let (_, waiting) = pim.client.get(APPROVER_APPROVALS, &carol_t).await;
    assert_eq!(waiting["value"], json!([]), "{waiting}");
    let (status, body) = decide(&pim, &carol_t, &approval, &second).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    // Nor bob, through the group.
    let (status, body) = decide(&pim, &bob_t, &approval, &second).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    assert!(!pim.allowed(&bob_t, CREATE_USERS).await, "still undecided");
    // Dave, a second person, completes it.
    let (status, body) = decide(&pim, &dave_t, &approval, &second).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(pim.allowed(&bob_t, CREATE_USERS).await);
    pim.stop().await;
}

// ------------------------------------------------------------------ 4: tokens and disabled users

/// Another principal who is disabled: the access check said `allowed: true` for their roles.
#[tokio::test]
async fn a_disabled_principal_is_allowed_nothing() {
    let pim = Pim::start().await;
    let admin = pim.admin_token();
    let (ua, _) = pim.user("useradmin").await;
    assign(&pim, &ua, USER_ADMINISTRATOR, "/").await;
    let check = format!("/v1.0/openpim/accessCheck?principalId={ua}&action={CREATE_USERS}");
    let (status, body) = pim.client.get(&check, &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["allowed"], true, "{body}");
    let (status, body) = pim.client.patch(&format!("/v1.0/users/{ua}"), &admin, json!({"accountEnabled": false})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = pim.client.get(&check, &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["allowed"], false, "{body}");
    assert_eq!(body["grantedBy"], Value::Null, "{body}");
    pim.stop().await;
}

/// A token that names its user only by UPN (as local tokens did) is refused.
#[tokio::test]
async fn a_token_without_an_object_id_is_refused() {
    let ts = common::TestServer::start().await;
    let key = std::fs::read(ts.data_dir().join("issuer-key.p8")).expect("issuer key");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let sign = |claims: Value| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
            &claims,
            &jsonwebtoken::EncodingKey::from_ec_der(&key),
        )
        .unwrap()
    };
    let claims = |exp: i64| {
        json!({"iss": ts.server.state.issuer.issuer(), "aud": "https://graph.microsoft.com",
               "sub": ts.admin_id, "oid": ts.admin_id, "upn": common::ADMIN_UPN,
               "iat": now, "nbf": now, "exp": exp, "jti": "x"})
    };
    // The same claims with a normal lifetime pass: the refusals below are about one thing each.
    let (status, body) = ts.client.get("/v1.0/me", &sign(claims(now + 3600))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // By UPN only.
    let mut by_upn = claims(now + 3600);
    by_upn.as_object_mut().unwrap().remove("oid");
    by_upn["sub"] = json!(common::ADMIN_UPN);
    let (status, body) = ts.client.get("/v1.0/me", &sign(by_upn)).await;
    assert_graph_error(status, &body, 401, "InvalidAuthenticationToken");
    // Ten years, signed with the right key.
    let (status, body) = ts.client.get("/v1.0/me", &sign(claims(now + 10 * 365 * 86400))).await;
    assert_graph_error(status, &body, 401, "InvalidAuthenticationToken");
    assert!(body["error"]["message"].as_str().unwrap().contains("maximum"), "{body}");
    // No iat, or no nbf.
    for missing in ["iat", "nbf"] {
        let mut c = claims(now + 3600);
        c.as_object_mut().unwrap().remove(missing);
        let (status, body) = ts.client.get("/v1.0/me", &sign(c)).await;
        assert_graph_error(status, &body, 401, "InvalidAuthenticationToken");
    }
    // An object id that names nobody.
    let (status, body) =
        ts.client.get("/v1.0/me", &mint_for_id(&ts.server, &uuid::Uuid::new_v4().to_string(), true)).await;
    assert_graph_error(status, &body, 401, "InvalidAuthenticationToken");
    ts.stop().await;
}

// ------------------------------------------------------------------ 6: administrative-unit scope

/// Global Administrator "scoped" to an administrative unit was accepted, on direct assignments
/// and on PIM requests alike.
#[tokio::test]
async fn only_au_scopable_roles_are_assigned_at_an_administrative_unit() {
    let pim = Pim::start().await;
    let admin = pim.admin_token();
    let (status, au) =
        pim.client.post("/v1.0/directory/administrativeUnits", &admin, json!({"displayName": "Ops"})).await;
    assert_eq!(status, StatusCode::CREATED, "{au}");
    let scope = format!("/administrativeUnits/{}", au["id"].as_str().unwrap());
    let (alice, _) = pim.user("alice").await;
    for role in [GLOBAL_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR, common::GLOBAL_READER] {
        let body = json!({"principalId": alice, "roleDefinitionId": role, "directoryScopeId": scope});
        let (status, resp) = pim.client.post(&format!("{RM}/roleAssignments"), &admin, body).await;
        assert_graph_error(status, &resp, 400, "Request_BadRequest");
        let mut req = request("adminAssign", &alice, role, Some(no_expiration()));
        req["directoryScopeId"] = json!(scope);
        let (status, resp) = pim.eligibility_request(&admin, req.clone()).await;
        assert_graph_error(status, &resp, 400, "Request_BadRequest");
        req["scheduleInfo"] = for_duration(None, "PT8H");
        let (status, resp) = pim.assignment_request(&admin, req).await;
        assert_graph_error(status, &resp, 400, "Request_BadRequest");
    }
    assert!(pim.rows_of(ELIGIBILITY_SCHEDULES, &alice).await.is_empty(), "nothing was granted");
    assert!(pim.rows_of(ASSIGNMENT_SCHEDULES, &alice).await.is_empty(), "nothing was granted");
    // The roles Entra documents for units are accepted.
    for role in [USER_ADMINISTRATOR, GROUPS_ADMINISTRATOR, common::HELPDESK_ADMINISTRATOR] {
        let body = json!({"principalId": alice, "roleDefinitionId": role, "directoryScopeId": scope});
        let (status, resp) = pim.client.post(&format!("{RM}/roleAssignments"), &admin, body).await;
        assert_eq!(status, StatusCode::CREATED, "{resp}");
    }
    pim.stop().await;
}
