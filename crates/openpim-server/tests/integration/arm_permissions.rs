//! The caller's effective Azure permissions (`GET {scope}/providers/Microsoft.Authorization/
//! permissions`) at every scope level, and OpenPIM's accessCheck for Azure actions and data
//! actions at ARM scopes, with grants inherited down the hierarchy and through (nested)
//! security groups. SQLite always; PostgreSQL too when `OPENPIM_TEST_POSTGRES_URL` is set.

use crate::common;

use common::arm::{arm, arm_token_for, assert_arm_error, assign};
use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::Value;

const SUB: &str = "6e4d2b3c-0000-4000-8000-00000000b661";
const V: &str = "api-version=2022-04-01";
const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const VM_CONTRIBUTOR: &str = "9980e02c-c2be-4d73-94e8-173b1dc7cf3c";
const BLOB_READER: &str = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";

fn rg(name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{name}")
}

/// The shared set-up: the admin elevated and Owner of the subscription, with the resource groups
/// and resources the tests use.
async fn setup(ts: &TestServer) -> String {
    let ids = [
        rg("compute"),
        rg("data"),
        format!("{}/providers/Microsoft.Storage/storageAccounts/logs", rg("data")),
        format!("{}/providers/Microsoft.Compute/virtualMachines/web1", rg("compute")),
    ];
    common::arm::admin_owns_subscription(ts, &[SUB], &ids).await
}

async fn permissions(ts: &TestServer, token: &str, scope: &str) -> Vec<Value> {
    let r =
        arm(ts, Method::GET, &format!("{scope}/providers/Microsoft.Authorization/permissions?{V}"), Some(token), None)
            .await;
    assert_eq!(r.status, StatusCode::OK, "{scope}: {}", r.body);
    r.body["value"].as_array().expect("value").clone()
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect()
}

#[tokio::test]
async fn permissions_at_every_scope_follow_inheritance_and_groups() {
    let ts = TestServer::start().await;
    let admin = setup(&ts).await;
    let alice = ts.create_user("alice@perm.test").await;
    let team = ts.create_group("VM team", false).await;
    let org = ts.create_group("Engineering", false).await;
    ts.add_group_member(&team, &alice).await;
    ts.add_group_member(&org, &team).await;
    assign(&ts, &admin, &format!("/subscriptions/{SUB}"), READER, &alice).await;
    assign(&ts, &admin, &rg("compute"), VM_CONTRIBUTOR, &team).await;
    let account = format!("{}/providers/Microsoft.Storage/storageAccounts/logs", rg("data"));
    assign(&ts, &admin, &account, BLOB_READER, &org).await;
    let token = arm_token_for(&ts, "alice@perm.test");

    // At the subscription: Reader only.
    let at_sub = permissions(&ts, &token, &format!("/subscriptions/{SUB}")).await;
    assert_eq!(at_sub.len(), 1, "{at_sub:?}");
    assert_eq!(strings(&at_sub[0]["actions"]), ["*/read"]);
    for key in ["notActions", "dataActions", "notDataActions"] {
        assert!(at_sub[0][key].is_array(), "{key} always present");
    }
    // At the resource group (lower-case path, as the SDK's list_for_resource_group sends it):
    // Reader inherited, Virtual Machine Contributor through the team.
    let at_rg = permissions(&ts, &token, &format!("/subscriptions/{SUB}/resourcegroups/compute")).await;
    assert_eq!(at_rg.len(), 2, "{at_rg:?}");
    assert!(at_rg.iter().any(|p| strings(&p["actions"]).contains(&"Microsoft.Compute/virtualMachines/*")));
    // At a resource: the blob data reader's data actions through the nested group.
    let at_account = permissions(&ts, &token, &account).await;
    let data: Vec<&str> = at_account.iter().flat_map(|p| strings(&p["dataActions"])).collect();
    assert!(data.contains(&"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"), "{at_account:?}");
    assert!(permissions(&ts, &token, &rg("compute")).await.iter().all(|p| strings(&p["dataActions"]).is_empty()));
    // At the tenant root group alice holds nothing; the admin holds User Access Administrator.
    let root = format!("/providers/Microsoft.Management/managementGroups/{}", ts.server.state.tenant_id);
    assert!(permissions(&ts, &token, &root).await.is_empty());
    let admin_root = permissions(&ts, &admin, &root).await;
    assert!(admin_root.iter().any(|p| strings(&p["actions"]).contains(&"Microsoft.Authorization/*")), "{admin_root:?}");

    // Removing alice from the team ends what it passed on.
    let (status, body) =
        ts.client.delete(&format!("/v1.0/groups/{team}/members/{alice}/$ref"), &ts.admin_token()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(permissions(&ts, &token, &rg("compute")).await.len(), 1);

    // ARM's errors.
    let r = arm(
        &ts,
        Method::GET,
        &format!("{}/providers/Microsoft.Authorization/permissions", rg("compute")),
        Some(&token),
        None,
    )
    .await;
    assert_arm_error(&r, 400, "MissingApiVersionParameter");
    let r = arm(
        &ts,
        Method::GET,
        &format!("{}/providers/Microsoft.Authorization/permissions?{V}", rg("compute")),
        None,
        None,
    )
    .await;
    assert_arm_error(&r, 401, "AuthenticationFailed");
    let r = arm(
        &ts,
        Method::POST,
        &format!("{}/providers/Microsoft.Authorization/permissions?{V}", rg("compute")),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{}", r.body);
    ts.stop().await;
}

#[tokio::test]
async fn access_check_answers_azure_actions_with_the_explanation() {
    let ts = TestServer::start().await;
    let admin = setup(&ts).await;
    let alice = ts.create_user("alice@check.test").await;
    let bob = ts.create_user("bob@check.test").await;
    let team = ts.create_group("Operators", false).await;
    ts.add_group_member(&team, &alice).await;
    assign(&ts, &admin, &rg("compute"), VM_CONTRIBUTOR, &team).await;
    let vm = format!("{}/providers/Microsoft.Compute/virtualMachines/web1", rg("compute"));
    let alice_graph = ts.token_for("alice@check.test");

    let check = |query: String, token: String| {
        let ts = &ts;
        async move { ts.client.get(&format!("/v1.0/openpim/accessCheck?{query}"), &token).await }
    };
    let (status, body) =
        check(format!("action=Microsoft.Compute/virtualMachines/start/action&scope={vm}"), alice_graph.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["allowed"], true);
    assert_eq!(body["scope"], vm.as_str());
    let by = &body["grantedBy"];
    assert_eq!((by["memberType"].as_str(), by["groupId"].as_str()), (Some("Group"), Some(team.as_str())));
    assert_eq!(by["roleDefinitionId"], VM_CONTRIBUTOR);
    assert_eq!(by["roleDisplayName"], "Virtual Machine Contributor");
    assert_eq!(by["matchedPermission"], "Microsoft.Compute/virtualMachines/*");
    assert_eq!(by["scope"], rg("compute"));
    // Not beside it, not the data plane.
    let (_, body) = check(
        format!("action=Microsoft.Compute/virtualMachines/start/action&scope={}", rg("other")),
        alice_graph.clone(),
    )
    .await;
    assert_eq!((body["allowed"].as_bool(), body["grantedBy"].is_null()), (Some(false), true));
    let (_, body) =
        check(format!("dataAction=Microsoft.Compute/virtualMachines/login/action&scope={vm}"), alice_graph.clone())
            .await;
    assert_eq!(body["allowed"], false);
    assert_eq!(body["dataAction"], "Microsoft.Compute/virtualMachines/login/action");

    // Another principal's access needs the right to read role assignments there.
    let bob_graph = ts.token_for("bob@check.test");
    let (status, body) =
        check(format!("principalId={alice}&action=Microsoft.Compute/virtualMachines/read&scope={vm}"), bob_graph).await;
    common::assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    assign(&ts, &admin, &rg("compute"), READER, &bob).await;
    let bob_graph = ts.token_for("bob@check.test");
    let (status, body) =
        check(format!("principalId={alice}&action=Microsoft.Compute/virtualMachines/read&scope={vm}"), bob_graph).await;
    assert_eq!((status, body["allowed"].as_bool()), (StatusCode::OK, Some(true)), "{body}");

    // Bad questions.
    for bad in [
        "dataAction=Microsoft.Storage/x/read".to_string(),
        format!("action=a&dataAction=b&scope={vm}"),
        "action=Microsoft.Compute/virtualMachines/read&scope=/subscriptions/not-a-guid".to_string(),
        format!("action=Microsoft.Compute/virtualMachines/read&scope=/administrativeUnits/{alice}"),
        format!("action=x&scope={vm}&directoryScopeId=/"),
    ] {
        let (status, body) = check(bad.clone(), alice_graph.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    // The directory form is unchanged.
    let (status, body) = check("action=microsoft.directory/users/create".into(), alice_graph).await;
    assert_eq!(
        (status, body["allowed"].as_bool(), body["directoryScopeId"].as_str()),
        (StatusCode::OK, Some(false), Some("/"))
    );
    ts.stop().await;
}
