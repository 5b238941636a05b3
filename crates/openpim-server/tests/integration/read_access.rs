//! Who may read whose PIM state (docs/SECURITY.md, "Who reads what"): everyone's role
//! assignments, schedules, instances and requests need a role that reads role assignments
//! (Directory Readers, Global Reader, role administrators); everyone reads their own; role
//! definitions are every member's; role settings need a PIM reader; guests get nothing by default.

use crate::common;
use crate::pim;

use common::{assert_graph_error, GLOBAL_ADMINISTRATOR, GLOBAL_READER, GROUPS_ADMINISTRATOR, USER_ADMINISTRATOR};
use pim::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const DIRECTORY_READERS: &str = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b";
const ROLE_ASSIGNMENTS: &str = "/v1.0/roleManagement/directory/roleAssignments";
const ROLE_DEFINITIONS: &str = "/v1.0/roleManagement/directory/roleDefinitions";
const POLICY_ASSIGNMENTS: &str =
    "/v1.0/policies/roleManagementPolicyAssignments?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole'";

/// Every collection that lists who holds, is eligible for or asked for a role.
const EVERYONES: [&str; 7] = [
    ELIGIBILITY_SCHEDULES,
    ASSIGNMENT_SCHEDULES,
    ELIGIBILITY_INSTANCES,
    ASSIGNMENT_INSTANCES,
    ELIGIBILITY_REQUESTS,
    ASSIGNMENT_REQUESTS,
    ROLE_ASSIGNMENTS,
];

/// Alice is eligible for User Administrator and has activated it; Bob is eligible for Groups
/// Administrator. Returns (alice, alice's token, bob).
async fn alice_and_bob(pim: &Pim) -> (String, String, String) {
    let (alice, alice_token) = pim.user("alice").await;
    let (bob, _) = pim.user("bob").await;
    pim.make_eligible(&alice, USER_ADMINISTRATOR).await;
    pim.make_eligible(&bob, GROUPS_ADMINISTRATOR).await;
    pim.activate_ok(&alice_token, &alice, USER_ADMINISTRATOR, "PT2H").await;
    (alice, alice_token, bob)
}

/// A user holding `role` at the tenant; returns (id, token).
async fn user_with_role(pim: &Pim, name: &str, role: &str) -> (String, String) {
    let (id, token) = pim.user(name).await;
    let body = json!({"principalId": id, "roleDefinitionId": role, "directoryScopeId": "/"});
    let (status, created) = pim.client.post(ROLE_ASSIGNMENTS, &pim.admin_token(), body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    (id, token)
}

fn principals(rows: &[Value]) -> Vec<String> {
    rows.iter().map(|r| r["principalId"].as_str().expect("principalId").to_string()).collect()
}

async fn get(pim: &Pim, path: &str, token: &str) -> (StatusCode, Value) {
    pim.client.get(path, token).await
}

#[tokio::test]
async fn a_member_without_a_reading_role_gets_403_on_everyones_lists_and_200_on_their_own() {
    let pim = Pim::start().await;
    let (alice, alice_token, bob) = alice_and_bob(&pim).await;
    for collection in EVERYONES {
        let (status, body) = get(&pim, collection, &alice_token).await;
        assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
        // Naming someone else, or an `or` that lets others in, is refused just the same.
        for filter in [format!("principalId eq '{bob}'"), format!("principalId eq '{alice}' or principalId eq '{bob}'")]
        {
            let (status, body) = get(&pim, &format!("{collection}?$filter={filter}"), &alice_token).await;
            assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
        }
    }
    let (status, body) = get(&pim, &format!("{ROLE_ASSIGNMENTS}/$count"), &alice_token).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");

    // Her own: through filterByCurrentUser, or a $filter on her own principal.
    for collection in [ELIGIBILITY_SCHEDULES, ASSIGNMENT_SCHEDULES, ELIGIBILITY_INSTANCES, ASSIGNMENT_INSTANCES] {
        let mine = pim.list(&format!("{collection}/filterByCurrentUser(on='principal')"), &alice_token).await;
        assert_eq!(principals(&mine), vec![alice.clone()], "{collection}");
        let filtered = pim.list(&format!("{collection}?$filter=principalId eq '{alice}'"), &alice_token).await;
        assert_eq!(principals(&filtered), vec![alice.clone()], "{collection}");
    }
    let requests = pim.list(&format!("{ASSIGNMENT_REQUESTS}/filterByCurrentUser(on='principal')"), &alice_token).await;
    assert_eq!(principals(&requests), vec![alice.clone()]);
    let requests = pim.list(&format!("{ELIGIBILITY_REQUESTS}?$filter=principalId eq '{alice}'"), &alice_token).await;
    assert_eq!(principals(&requests), vec![alice.clone()], "the admin's request making her eligible");
    // Her activation is a role assignment in effect: hers to read.
    let held = pim.list(&format!("{ROLE_ASSIGNMENTS}?$filter=principalId eq '{alice}'"), &alice_token).await;
    assert_eq!(principals(&held), vec![alice.clone()]);
    assert_eq!(held[0]["roleDefinitionId"], USER_ADMINISTRATOR);

    // One item: hers is found, Bob's does not exist for her.
    let bobs = pim.rows_of(ELIGIBILITY_SCHEDULES, &bob).await;
    let (status, body) =
        get(&pim, &format!("{ELIGIBILITY_SCHEDULES}/{}", bobs[0]["id"].as_str().unwrap()), &alice_token).await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");
    let hers = pim.rows_of(ELIGIBILITY_SCHEDULES, &alice).await;
    let (status, body) =
        get(&pim, &format!("{ELIGIBILITY_SCHEDULES}/{}", hers[0]["id"].as_str().unwrap()), &alice_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let admin_holds = pim
        .list(&format!("{ROLE_ASSIGNMENTS}?$filter=roleDefinitionId eq '{GLOBAL_ADMINISTRATOR}'"), &pim.admin_token())
        .await;
    let (status, body) =
        get(&pim, &format!("{ROLE_ASSIGNMENTS}/{}", admin_holds[0]["id"].as_str().unwrap()), &alice_token).await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");

    // Another principal's access is not hers to check; her own is.
    let action = "microsoft.directory/users/create";
    let (status, body) =
        get(&pim, &format!("/v1.0/openpim/accessCheck?principalId={bob}&action={action}"), &alice_token).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    let (status, body) = get(&pim, &format!("/v1.0/openpim/accessCheck?action={action}"), &alice_token).await;
    assert_eq!((status, body["allowed"].clone()), (StatusCode::OK, json!(true)), "{body}");

    // Role definitions are every member's; role settings only for the roles she is eligible for.
    assert_eq!(get(&pim, ROLE_DEFINITIONS, &alice_token).await.0, StatusCode::OK);
    let (status, body) = get(&pim, POLICY_ASSIGNMENTS, &alice_token).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    let expand = "&$expand=policy($expand=rules)";
    let hers = pim
        .list(&format!("{POLICY_ASSIGNMENTS} and roleDefinitionId eq '{USER_ADMINISTRATOR}'{expand}"), &alice_token)
        .await;
    assert_eq!(hers.len(), 1, "{hers:?}");
    assert_eq!(hers[0]["roleDefinitionId"], USER_ADMINISTRATOR);
    let policy = hers[0]["policyId"].as_str().expect("policyId").to_string();
    let (status, body) =
        get(&pim, &format!("/v1.0/policies/roleManagementPolicies/{policy}/rules"), &alice_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let not_hers = format!("{POLICY_ASSIGNMENTS} and roleDefinitionId eq '{GROUPS_ADMINISTRATOR}'");
    let (status, body) = get(&pim, &not_hers, &alice_token).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    let bobs = pim.list(&not_hers, &pim.admin_token()).await;
    let bobs_policy = bobs[0]["policyId"].as_str().expect("policyId");
    let (status, body) = get(&pim, &format!("/v1.0/policies/roleManagementPolicies/{bobs_policy}"), &alice_token).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    pim.stop().await;
}

#[tokio::test]
async fn a_directory_reader_reads_everyone_and_a_global_reader_reads_the_settings_too() {
    let pim = Pim::start().await;
    let (alice, _, bob) = alice_and_bob(&pim).await;
    let (_, reader) = user_with_role(&pim, "reader", DIRECTORY_READERS).await;
    for collection in [ELIGIBILITY_SCHEDULES, ELIGIBILITY_INSTANCES] {
        let all = principals(&pim.list(collection, &reader).await);
        assert!(all.contains(&alice) && all.contains(&bob), "{collection}: {all:?}");
    }
    let active = principals(&pim.list(ASSIGNMENT_SCHEDULES, &reader).await);
    assert!(active.contains(&alice) && !active.contains(&bob), "{active:?}");
    let requests = principals(&pim.list(ELIGIBILITY_REQUESTS, &reader).await);
    assert!(requests.contains(&alice) && requests.contains(&bob), "{requests:?}");
    let held =
        pim.list(&format!("{ROLE_ASSIGNMENTS}?$filter=roleDefinitionId eq '{GLOBAL_ADMINISTRATOR}'"), &reader).await;
    assert_eq!(principals(&held), vec![pim.admin_id.clone()]);
    let (status, count) = get(&pim, &format!("{ROLE_ASSIGNMENTS}/$count"), &reader).await;
    assert_eq!(status, StatusCode::OK, "{count}");
    // Directory Readers do not hold Entra's PIM read permission: the settings stay closed.
    let (status, body) = get(&pim, POLICY_ASSIGNMENTS, &reader).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");

    let (_, global_reader) = user_with_role(&pim, "globalreader", GLOBAL_READER).await;
    let all = principals(&pim.list(ASSIGNMENT_REQUESTS, &global_reader).await);
    assert!(all.contains(&alice), "{all:?}");
    assert!(!pim.list(POLICY_ASSIGNMENTS, &global_reader).await.is_empty());
    pim.stop().await;
}

#[tokio::test]
async fn a_guest_reads_no_one_elses_roles_and_no_role_definitions() {
    let pim = Pim::start().await;
    let (alice, _, _) = alice_and_bob(&pim).await;
    let body = json!({"userPrincipalName": "guest@openpim.test", "displayName": "Guest", "accountEnabled": true,
                      "userType": "Guest"});
    let (status, guest) = pim.client.post("/v1.0/users", &pim.admin_token(), body).await;
    assert_eq!(status, StatusCode::CREATED, "{guest}");
    let guest_id = guest["id"].as_str().unwrap().to_string();
    let token = pim.token("guest@openpim.test");
    for path in EVERYONES.iter().map(|c| c.to_string()).chain([
        ROLE_DEFINITIONS.to_string(),
        POLICY_ASSIGNMENTS.to_string(),
        format!("{ELIGIBILITY_SCHEDULES}?$filter=principalId eq '{alice}'"),
    ]) {
        let (status, body) = get(&pim, &path, &token).await;
        assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    }
    // What is their own stays theirs: nothing, but readable.
    let mine = pim.list(&format!("{ELIGIBILITY_SCHEDULES}/filterByCurrentUser(on='principal')"), &token).await;
    assert!(mine.is_empty(), "{mine:?}");
    let mine = pim.list(&format!("{ROLE_ASSIGNMENTS}?$filter=principalId eq '{guest_id}'"), &token).await;
    assert!(mine.is_empty(), "{mine:?}");
    pim.stop().await;
}
