//! The Azure resource hierarchy over HTTP (issue #15): management groups, subscriptions
//! (registered through the OpenPIM extension, read through ARM), resource groups and generic
//! resources; ARM's error codes, api-version checks, case-insensitive paths, authentication and
//! Azure RBAC through management groups in the access index. Runs on PostgreSQL too when
//! OPENPIM_TEST_POSTGRES_URL is set.

use crate::common;

use common::arm::{arm, arm_admin_token, arm_token_for, assert_arm_error, grant_azure_role};
use common::{assert_graph_error, TestServer};
use openpim_core::access::AccessIndex;
use openpim_core::scope::{ArmScope, ScopeHierarchy};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const MG: &str = "api-version=2021-04-01";
const RG: &str = "api-version=2021-04-01";
const SUBS: &str = "api-version=2022-12-01";
const SUB_A: &str = "0a6f3b9e-1111-4c3b-9d2e-00000000000a";
const SUB_B: &str = "0a6f3b9e-2222-4c3b-9d2e-00000000000b";

fn mg_path(id: &str) -> String {
    format!("/providers/Microsoft.Management/managementGroups/{id}?{MG}")
}

fn mg_scope(id: &str) -> String {
    format!("/providers/Microsoft.Management/managementGroups/{id}")
}

/// The tenant root group's id: the tenant id.
async fn tenant_id(ts: &TestServer) -> String {
    let (_, health) = ts.client.get("/healthz", "").await;
    health["tenantId"].as_str().expect("tenantId in /healthz").to_string()
}

/// A user with a role-less account and an ARM token.
async fn user(ts: &TestServer, name: &str) -> (uuid::Uuid, String) {
    let upn = format!("{name}@openpim.test");
    let id = ts.create_user(&upn).await;
    (uuid::Uuid::parse_str(&id).unwrap(), arm_token_for(ts, &upn))
}

async fn put_group(ts: &TestServer, token: &str, id: &str, body: Value) -> common::Resp {
    arm(ts, Method::PUT, &mg_path(id), Some(token), Some(&body)).await
}

async fn register(ts: &TestServer, sub: &str, name: &str, group: Option<&str>) -> (StatusCode, Value) {
    let mut body = json!({"displayName": name});
    if let Some(g) = group {
        body["managementGroupId"] = json!(g);
    }
    ts.client.call(Method::PUT, &format!("/openpim/azure/subscriptions/{sub}"), &ts.admin_token(), Some(&body)).await
}

#[tokio::test]
async fn management_groups_form_a_tree_under_the_tenant_root() {
    let ts = TestServer::start().await;
    let tenant = tenant_id(&ts).await;
    let (owner, owner_t) = user(&ts, "mgowner").await;
    let (_, nobody_t) = user(&ts, "mgnobody").await;
    grant_azure_role(&ts, owner, "Owner", &mg_scope(&tenant));

    // The root group exists from bootstrap, named as Azure names it, without a parent.
    let r = arm(&ts, Method::GET, &mg_path(&tenant), Some(&owner_t), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["type"], "Microsoft.Management/managementGroups");
    assert_eq!(r.body["id"], mg_scope(&tenant));
    assert_eq!(r.body["properties"]["displayName"], "Tenant Root Group");
    assert_eq!(r.body["properties"]["tenantId"], tenant.as_str());
    assert!(r.body["properties"]["details"].get("parent").is_none(), "{}", r.body);
    assert!(r.headers.contains_key("x-ms-request-id"));

    // A group without a parent goes under the root; PUT answers 200 with the group.
    let r = put_group(&ts, &owner_t, "Platform", json!({"properties": {"displayName": "Platform"}})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["name"], "Platform");
    let parent = &r.body["properties"]["details"]["parent"];
    assert_eq!(parent["id"], mg_scope(&tenant));
    assert_eq!(parent["name"], tenant.as_str());
    assert_eq!(parent["displayName"], "Tenant Root Group");
    // PascalCase properties, a full parent id.
    let body = json!({"Properties": {"DisplayName": "Identity", "Details": {"Parent": {"Id": mg_scope("platform")}}}});
    let r = put_group(&ts, &owner_t, "Identity", body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["properties"]["details"]["parent"]["name"], "Platform", "display spelling of the parent");

    // Case-insensitive paths and ids.
    let r = arm(
        &ts,
        Method::GET,
        &format!("/PROVIDERS/microsoft.management/MANAGEMENTGROUPS/identity?{MG}"),
        Some(&owner_t),
        None,
    )
    .await;
    assert_eq!((r.status, r.body["name"].as_str()), (StatusCode::OK, Some("Identity")), "{}", r.body);
    // $expand=children lists direct children.
    let r = arm(&ts, Method::GET, &format!("{}&$expand=children", mg_path("platform")), Some(&owner_t), None).await;
    let children = r.body["properties"]["children"].as_array().expect("children");
    assert_eq!(children.len(), 1, "{}", r.body);
    assert_eq!(children[0]["name"], "Identity");

    // The list, with the other api-versions.
    for version in ["2020-05-01", "2023-04-01", "2021-04-01"] {
        let r = arm(
            &ts,
            Method::GET,
            &format!("/providers/Microsoft.Management/managementGroups?api-version={version}"),
            Some(&owner_t),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{version}: {}", r.body);
        let names: Vec<&str> =
            r.body["value"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(names.contains(&"Identity") && names.contains(&"Platform") && names.contains(&tenant.as_str()));
    }

    // Renaming keeps the parent.
    let r = put_group(&ts, &owner_t, "identity", json!({"properties": {"displayName": "Identity team"}})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["properties"]["displayName"], "Identity team");
    assert_eq!(r.body["properties"]["details"]["parent"]["name"], "Platform");

    // Cycles are refused: Platform under its own child.
    let r = put_group(
        &ts,
        &owner_t,
        "Platform",
        json!({"properties": {"details": {"parent": {"id": mg_scope("Identity")}}}}),
    )
    .await;
    assert_arm_error(&r, 400, "BadRequest");
    let r = put_group(
        &ts,
        &owner_t,
        "Platform",
        json!({"properties": {"details": {"parent": {"id": mg_scope("Platform")}}}}),
    )
    .await;
    assert_arm_error(&r, 400, "BadRequest");
    // The root cannot move, a bad id or body is refused. An unknown parent is a scope nobody
    // holds a role at: ARM's AuthorizationFailed ("or the scope is invalid").
    let r =
        put_group(&ts, &owner_t, &tenant, json!({"properties": {"details": {"parent": {"id": mg_scope("Platform")}}}}))
            .await;
    assert_arm_error(&r, 400, "BadRequest");
    let r =
        put_group(&ts, &owner_t, "Orphan", json!({"properties": {"details": {"parent": {"id": mg_scope("nope")}}}}))
            .await;
    assert_arm_error(&r, 403, "AuthorizationFailed");
    let r = put_group(&ts, &owner_t, "bad.", json!({})).await;
    assert_arm_error(&r, 400, "InvalidManagementGroupId");
    let r = put_group(&ts, &owner_t, "Typo", json!({"properties": {"displayName": "x", "colour": "red"}})).await;
    assert_arm_error(&r, 400, "InvalidRequestContent");
    assert_eq!(r.body["error"]["target"], "properties.colour");
    let r = put_group(&ts, &owner_t, "Typo", json!({"properties": {"displayName": 7}})).await;
    assert_arm_error(&r, 400, "InvalidRequestContent");
    let r = arm(&ts, Method::GET, &mg_path("Orphan"), Some(&owner_t), None).await;
    assert_arm_error(&r, 404, "ManagementGroupNotFound");

    // Delete: refused while it has children; then leaf first.
    let r = arm(&ts, Method::DELETE, &mg_path("Platform"), Some(&owner_t), None).await;
    assert_arm_error(&r, 400, "BadRequest");
    let r = arm(&ts, Method::DELETE, &mg_path(&tenant), Some(&owner_t), None).await;
    assert_arm_error(&r, 400, "BadRequest");
    let r = arm(&ts, Method::DELETE, &mg_path("Identity"), Some(&owner_t), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = arm(&ts, Method::GET, &mg_path("Identity"), Some(&owner_t), None).await;
    assert_arm_error(&r, 404, "ManagementGroupNotFound");
    let r = arm(&ts, Method::DELETE, &mg_path("Identity"), Some(&owner_t), None).await;
    assert_arm_error(&r, 404, "ManagementGroupNotFound");

    // Api-version, authentication, authorization.
    let r =
        arm(&ts, Method::GET, "/providers/Microsoft.Management/managementGroups/Platform", Some(&owner_t), None).await;
    assert_arm_error(&r, 400, "MissingApiVersionParameter");
    let r = arm(
        &ts,
        Method::GET,
        "/providers/Microsoft.Management/managementGroups?api-version=2018-01-01",
        Some(&owner_t),
        None,
    )
    .await;
    assert_arm_error(&r, 400, "InvalidApiVersionParameter");
    let r = arm(&ts, Method::GET, &mg_path("Platform"), None, None).await;
    assert_arm_error(&r, 401, "AuthenticationFailed");
    let r = arm(&ts, Method::GET, &mg_path("Platform"), Some(&nobody_t), None).await;
    assert_arm_error(&r, 403, "AuthorizationFailed");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("Microsoft.Management/managementGroups/read"));
    let r = put_group(&ts, &nobody_t, "Mine", json!({})).await;
    assert_arm_error(&r, 403, "AuthorizationFailed");
    assert!(r.body["error"]["message"].as_str().unwrap().contains(&format!("over scope '{}'", mg_scope(&tenant))));
    let r = arm(
        &ts,
        Method::GET,
        "/providers/Microsoft.Management/managementGroups?api-version=2021-04-01",
        Some(&nobody_t),
        None,
    )
    .await;
    assert_eq!((r.status, r.body["value"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)), "{}", r.body);
    let r = arm(&ts, Method::PATCH, &mg_path("Platform"), Some(&owner_t), Some(&json!({}))).await;
    assert_arm_error(&r, 405, "MethodNotAllowed");

    // Every change is audited; the refused create too.
    let audits = ts.list_all("/v1.0/auditLogs/directoryAudits", &ts.admin_token()).await;
    let activities: Vec<(&str, &str)> = audits
        .iter()
        .filter(|a| a["category"] == "AzureResourceManagement")
        .map(|a| (a["activityDisplayName"].as_str().unwrap(), a["result"].as_str().unwrap()))
        .collect();
    for expected in [
        ("Create tenant root management group", "success"),
        ("Create management group", "success"),
        ("Update management group", "success"),
        ("Update management group", "failure"),
        ("Delete management group", "success"),
        ("Create management group", "failure"),
    ] {
        assert!(activities.contains(&expected), "{expected:?} not in {activities:?}");
    }
    ts.stop().await;
}

#[tokio::test]
async fn subscriptions_are_registered_by_global_administrators_and_seen_by_role_holders() {
    let ts = TestServer::start().await;
    let tenant = tenant_id(&ts).await;
    let (owner, owner_t) = user(&ts, "subowner").await;
    grant_azure_role(&ts, owner, "Owner", &mg_scope(&tenant));
    assert_eq!(put_group(&ts, &owner_t, "Corp", json!({})).await.status, StatusCode::OK);

    // Registration: 201, then 200 (renamed, moved); Graph rules and Graph errors.
    let (status, body) = register(&ts, SUB_A, "Production", None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["id"], format!("/subscriptions/{SUB_A}"));
    assert_eq!(body["managementGroupId"], tenant.as_str());
    let (status, body) = register(&ts, &SUB_A.to_uppercase(), "Production EU", Some(&mg_scope("corp"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["displayName"].as_str(), body["managementGroupId"].as_str()),
        (Some("Production EU"), Some("Corp"))
    );
    let (status, body) = register(&ts, SUB_B, "Sandbox", Some("Corp")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = register(&ts, "not-a-guid", "x", None).await;
    assert_graph_error(status, &body, 400, "InvalidSubscriptionId");
    let (status, body) = register(&ts, SUB_B, "x", Some("missing")).await;
    assert_graph_error(status, &body, 400, "ManagementGroupNotFound");
    let (status, body) = ts
        .client
        .call(
            Method::PUT,
            &format!("/openpim/azure/subscriptions/{SUB_B}"),
            &ts.admin_token(),
            Some(&json!({"displayName": "x", "owner": "me"})),
        )
        .await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    let plain = ts.create_user("plain@openpim.test").await;
    let _ = plain;
    let (status, body) = ts
        .client
        .call(
            Method::PUT,
            &format!("/openpim/azure/subscriptions/{SUB_B}"),
            &ts.token_for("plain@openpim.test"),
            Some(&json!({"displayName": "Mine"})),
        )
        .await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    // An ARM token is not for this Graph-side extension.
    let (status, body) = ts
        .client
        .call(
            Method::PUT,
            &format!("/openpim/azure/subscriptions/{SUB_B}"),
            &arm_admin_token(&ts),
            Some(&json!({"displayName": "x"})),
        )
        .await;
    assert_graph_error(status, &body, 401, "InvalidAuthenticationToken");

    // ARM reads: the owner at the root sees both, in ARM's shape.
    let r = arm(&ts, Method::GET, &format!("/subscriptions?{SUBS}"), Some(&owner_t), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let subs = r.body["value"].as_array().unwrap();
    assert_eq!(subs.len(), 2, "{}", r.body);
    let a = subs.iter().find(|s| s["subscriptionId"] == SUB_A).expect("SUB_A listed");
    assert_eq!(a["id"], format!("/subscriptions/{SUB_A}"));
    assert_eq!(a["state"], "Enabled");
    assert_eq!(a["tenantId"], tenant.as_str());
    assert_eq!(a["displayName"], "Production EU");
    assert!(a["subscriptionPolicies"]["spendingLimit"].is_string());
    for version in ["2020-01-01", "2021-01-01"] {
        let r =
            arm(&ts, Method::GET, &format!("/subscriptions/{SUB_B}?api-version={version}"), Some(&owner_t), None).await;
        assert_eq!((r.status, r.body["displayName"].as_str()), (StatusCode::OK, Some("Sandbox")), "{}", r.body);
    }

    // Who sees what: a role at the subscription or above it (through management groups).
    let (reader, reader_t) = user(&ts, "subreader").await;
    let r = arm(&ts, Method::GET, &format!("/subscriptions?{SUBS}"), Some(&reader_t), None).await;
    assert_eq!(r.body["value"].as_array().map(Vec::len), Some(0), "{}", r.body);
    let r = arm(&ts, Method::GET, &format!("/subscriptions/{SUB_A}?{SUBS}"), Some(&reader_t), None).await;
    assert_arm_error(&r, 404, "SubscriptionNotFound");
    grant_azure_role(&ts, reader, "Reader", &format!("/subscriptions/{SUB_B}"));
    let r = arm(&ts, Method::GET, &format!("/subscriptions?{SUBS}"), Some(&reader_t), None).await;
    let ids: Vec<&str> =
        r.body["value"].as_array().unwrap().iter().map(|s| s["subscriptionId"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![SUB_B]);
    let (other, other_t) = user(&ts, "mgreader").await;
    grant_azure_role(&ts, other, "Reader", &mg_scope("Corp"));
    let r = arm(&ts, Method::GET, &format!("/subscriptions?{SUBS}"), Some(&other_t), None).await;
    assert_eq!(r.body["value"].as_array().map(Vec::len), Some(2), "a role on Corp covers both: {}", r.body);

    // Errors.
    let r = arm(
        &ts,
        Method::GET,
        "/subscriptions/00000000-0000-0000-0000-000000000999?api-version=2022-12-01",
        Some(&owner_t),
        None,
    )
    .await;
    assert_arm_error(&r, 404, "SubscriptionNotFound");
    let r = arm(&ts, Method::GET, &format!("/subscriptions/not-a-guid?{SUBS}"), Some(&owner_t), None).await;
    assert_arm_error(&r, 400, "InvalidSubscriptionId");
    let r = arm(&ts, Method::GET, "/subscriptions", Some(&owner_t), None).await;
    assert_arm_error(&r, 400, "MissingApiVersionParameter");
    let r = arm(&ts, Method::PUT, &format!("/subscriptions/{SUB_A}?{SUBS}"), Some(&owner_t), Some(&json!({}))).await;
    assert_arm_error(&r, 405, "MethodNotAllowed");

    // A group holding subscriptions cannot be deleted.
    let r = arm(&ts, Method::DELETE, &mg_path("Corp"), Some(&owner_t), None).await;
    assert_arm_error(&r, 400, "BadRequest");
    ts.stop().await;
}

#[tokio::test]
async fn resource_groups_inherit_access_through_management_groups() {
    let ts = TestServer::start().await;
    let tenant = tenant_id(&ts).await;
    let (owner, owner_t) = user(&ts, "rgowner").await;
    grant_azure_role(&ts, owner, "Owner", &mg_scope(&tenant));
    assert_eq!(put_group(&ts, &owner_t, "Apps", json!({})).await.status, StatusCode::OK);
    assert_eq!(register(&ts, SUB_A, "Apps prod", Some("Apps")).await.0, StatusCode::CREATED);
    let (dev, dev_t) = user(&ts, "rgdev").await;
    let (reader, reader_t) = user(&ts, "rgreader").await;
    // Contributor on the management group: it reaches the subscription only through the tree
    // the hierarchy writes keep in the index.
    grant_azure_role(&ts, dev, "Contributor", &mg_scope("Apps"));
    grant_azure_role(&ts, reader, "Reader", &format!("/subscriptions/{SUB_A}"));
    let rg = |name: &str| format!("/subscriptions/{SUB_A}/resourcegroups/{name}?{RG}");

    let r = arm(
        &ts,
        Method::PUT,
        &rg("Web-RG"),
        Some(&dev_t),
        Some(&json!({"location": "westeurope", "tags": {"env": "prod"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["id"], format!("/subscriptions/{SUB_A}/resourceGroups/Web-RG"));
    assert_eq!(r.body["type"], "Microsoft.Resources/resourceGroups");
    assert_eq!(r.body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(r.body["tags"]["env"], "prod");
    // Same group, other casing and api-version: an update, keeping the first spelling.
    let path = format!("/subscriptions/{SUB_A}/resourceGroups/web-rg?api-version=2022-09-01");
    let r = arm(&ts, Method::PUT, &path, Some(&dev_t), Some(&json!({"Location": "West Europe"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["name"], "Web-RG");
    assert!(r.body.get("tags").is_none(), "tags replaced: {}", r.body);
    let r = arm(&ts, Method::PUT, &rg("web-rg"), Some(&dev_t), Some(&json!({"location": "eastus"}))).await;
    assert_arm_error(&r, 409, "InvalidResourceGroupLocation");
    let r = arm(&ts, Method::PUT, &rg("other"), Some(&dev_t), Some(&json!({"tags": {}}))).await;
    assert_arm_error(&r, 400, "LocationRequired");
    let r = arm(&ts, Method::PUT, &rg("bad.name."), Some(&dev_t), Some(&json!({"location": "westeurope"}))).await;
    assert_arm_error(&r, 400, "InvalidResourceGroupName");
    let r = arm(&ts, Method::PUT, &rg("other"), Some(&dev_t), Some(&json!({"location": 5}))).await;
    assert_arm_error(&r, 400, "InvalidRequestContent");
    let r = ts
        .client
        .send(
            ts.client
                .request(Method::PUT, &rg("other"), Some(&dev_t))
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
    assert_arm_error(&r, 400, "InvalidRequestFormat");

    // Reads: GET, HEAD, list; the reader reads but cannot write.
    let r = arm(&ts, Method::GET, &rg("WEB-RG"), Some(&reader_t), None).await;
    assert_eq!((r.status, r.body["location"].as_str()), (StatusCode::OK, Some("westeurope")), "{}", r.body);
    let r = arm(&ts, Method::HEAD, &rg("web-rg"), Some(&reader_t), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = arm(&ts, Method::HEAD, &rg("nope"), Some(&reader_t), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        arm(&ts, Method::PUT, &rg("second"), Some(&dev_t), Some(&json!({"location": "westeurope"}))).await.status,
        StatusCode::CREATED
    );
    let r = arm(&ts, Method::GET, &format!("/subscriptions/{SUB_A}/resourcegroups?{RG}"), Some(&reader_t), None).await;
    let names: Vec<&str> = r.body["value"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["second", "Web-RG"], "{}", r.body);
    let r = arm(&ts, Method::PUT, &rg("readers-rg"), Some(&reader_t), Some(&json!({"location": "westeurope"}))).await;
    assert_arm_error(&r, 403, "AuthorizationFailed");
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("'{reader}'"))
            && message.contains("Microsoft.Resources/subscriptions/resourceGroups/write"),
        "{message}"
    );
    let r = arm(&ts, Method::GET, &rg("missing"), Some(&reader_t), None).await;
    assert_arm_error(&r, 404, "ResourceGroupNotFound");
    let (_, nobody_t) = user(&ts, "rgnobody").await;
    let r = arm(&ts, Method::GET, &rg("web-rg"), Some(&nobody_t), None).await;
    assert_arm_error(&r, 403, "AuthorizationFailed");
    let r = arm(&ts, Method::GET, &format!("/subscriptions/{SUB_B}/resourcegroups/x?{RG}"), Some(&dev_t), None).await;
    assert_arm_error(&r, 404, "SubscriptionNotFound");
    let r = arm(&ts, Method::GET, &format!("/subscriptions/{SUB_A}/resourcegroups/web-rg"), Some(&dev_t), None).await;
    assert_arm_error(&r, 400, "MissingApiVersionParameter");

    // Moving the subscription out of Apps takes the Contributor's access with it.
    assert_eq!(register(&ts, SUB_A, "Apps prod", None).await.0, StatusCode::OK);
    let r = arm(&ts, Method::PUT, &rg("third"), Some(&dev_t), Some(&json!({"location": "westeurope"}))).await;
    assert_arm_error(&r, 403, "AuthorizationFailed");
    assert_eq!(register(&ts, SUB_A, "Apps prod", Some("Apps")).await.0, StatusCode::OK);

    // Delete: 200, then gone; the reader may not.
    let r = arm(&ts, Method::DELETE, &rg("second"), Some(&reader_t), None).await;
    assert_arm_error(&r, 403, "AuthorizationFailed");
    let r = arm(&ts, Method::DELETE, &rg("second"), Some(&dev_t), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = arm(&ts, Method::GET, &rg("second"), Some(&dev_t), None).await;
    assert_arm_error(&r, 404, "ResourceGroupNotFound");
    let r = arm(&ts, Method::DELETE, &rg("second"), Some(&dev_t), None).await;
    assert_arm_error(&r, 404, "ResourceGroupNotFound");

    // The tree the index walks is the one the store reloads at start-up and the one the change
    // feed replays on other nodes.
    let store = &ts.server.state.store;
    let mut loaded = AccessIndex::new();
    for update in store.load_index().await.unwrap() {
        loaded.apply(update);
    }
    let apps = ArmScope::parse(&mg_scope("Apps")).unwrap();
    let sub = uuid::Uuid::parse_str(SUB_A).unwrap();
    assert_eq!(loaded.management_groups().parent_of_subscription(sub), Some(&apps));
    let root = ArmScope::parse(&mg_scope(&tenant)).unwrap();
    assert_eq!(loaded.management_groups().parent_of_management_group(&apps), Some(&root));
    let mut followed = AccessIndex::new();
    for entry in store.feed_since(0, 10_000).await.unwrap() {
        for update in store.index_updates_for(&entry).await.unwrap() {
            followed.apply(update);
        }
    }
    assert_eq!(followed.management_groups().parent_of_subscription(sub), Some(&apps));
    assert_eq!(followed.management_groups().parent_of_management_group(&apps), Some(&root));
    ts.stop().await;
}

#[tokio::test]
async fn generic_resources_live_in_resource_groups() {
    let ts = TestServer::start().await;
    let tenant = tenant_id(&ts).await;
    let (owner, owner_t) = user(&ts, "resowner").await;
    grant_azure_role(&ts, owner, "Owner", &mg_scope(&tenant));
    assert_eq!(register(&ts, SUB_A, "Prod", None).await.0, StatusCode::CREATED);
    let rg = format!("/subscriptions/{SUB_A}/resourceGroups/data");
    assert_eq!(
        arm(&ts, Method::PUT, &format!("{rg}?{RG}"), Some(&owner_t), Some(&json!({"location": "westeurope"})))
            .await
            .status,
        StatusCode::CREATED
    );
    let account = format!("{rg}/providers/Microsoft.Storage/storageAccounts/acct1");
    let v = "api-version=2023-01-01";

    let body = json!({"location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_LRS"},
                      "tags": {"team": "data"}, "properties": {"minimumTlsVersion": "TLS1_2", "nested": {"a": [1, 2]}}});
    let r = arm(&ts, Method::PUT, &format!("{account}?{v}"), Some(&owner_t), Some(&body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["id"], account);
    assert_eq!(r.body["type"], "Microsoft.Storage/storageAccounts");
    assert_eq!(r.body["name"], "acct1");
    assert_eq!(r.body["kind"], "StorageV2");
    assert_eq!(r.body["properties"]["nested"]["a"][1], 2);
    let r = arm(
        &ts,
        Method::PUT,
        &format!("{account}?api-version=2021-09-01-preview"),
        Some(&owner_t),
        Some(&json!({"location": "westeurope"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = arm(
        &ts,
        Method::GET,
        &format!("{}?{v}", account.to_uppercase().replace("SUBSCRIPTIONS", "subscriptions")),
        Some(&owner_t),
        None,
    )
    .await;
    assert_eq!((r.status, r.body["location"].as_str()), (StatusCode::OK, Some("westeurope")), "{}", r.body);
    assert!(r.body.get("kind").is_none(), "replaced: {}", r.body);

    // Child resources need their parent.
    let container = format!("{account}/blobServices/default");
    let r = arm(
        &ts,
        Method::PUT,
        &format!("{rg}/providers/Microsoft.Storage/storageAccounts/ghost/blobServices/default/containers/c1?{v}"),
        Some(&owner_t),
        Some(&json!({})),
    )
    .await;
    assert_arm_error(&r, 404, "ParentResourceNotFound");
    assert_eq!(
        arm(&ts, Method::PUT, &format!("{container}?{v}"), Some(&owner_t), Some(&json!({}))).await.status,
        StatusCode::CREATED
    );
    let r = arm(&ts, Method::GET, &format!("{rg}/resources?{RG}"), Some(&owner_t), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let listed: Vec<&str> = r.body["value"].as_array().unwrap().iter().map(|x| x["type"].as_str().unwrap()).collect();
    assert_eq!(listed, vec!["Microsoft.Storage/storageAccounts", "Microsoft.Storage/storageAccounts/blobServices"]);
    assert!(r.body["value"][0].get("properties").is_none(), "lists leave properties out");

    // Errors.
    let r = arm(
        &ts,
        Method::GET,
        &format!("{rg}/providers/Microsoft.Storage/storageAccounts/none?{v}"),
        Some(&owner_t),
        None,
    )
    .await;
    assert_arm_error(&r, 404, "ResourceNotFound");
    let r = arm(
        &ts,
        Method::PUT,
        &format!("/subscriptions/{SUB_A}/resourceGroups/nope/providers/Microsoft.Storage/storageAccounts/a?{v}"),
        Some(&owner_t),
        Some(&json!({})),
    )
    .await;
    assert_arm_error(&r, 404, "ResourceGroupNotFound");
    let r =
        arm(&ts, Method::PUT, &format!("{account}?{v}"), Some(&owner_t), Some(&json!({"properties": "text"}))).await;
    assert_arm_error(&r, 400, "InvalidRequestContent");
    let r = arm(&ts, Method::PUT, &format!("{account}?api-version=latest"), Some(&owner_t), Some(&json!({}))).await;
    assert_arm_error(&r, 400, "InvalidApiVersionParameter");
    let r = arm(
        &ts,
        Method::PUT,
        &format!("{rg}/providers/Microsoft.Resources/deployments/d1?{v}"),
        Some(&owner_t),
        Some(&json!({})),
    )
    .await;
    assert_arm_error(&r, 404, "InvalidResourceType");
    let (_, nobody_t) = user(&ts, "resnobody").await;
    let r = arm(&ts, Method::GET, &format!("{account}?{v}"), Some(&nobody_t), None).await;
    assert_arm_error(&r, 403, "AuthorizationFailed");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("'Microsoft.Storage/storageAccounts/read'"));

    // Delete: 200, then 204; deleting the account takes its children.
    let r = arm(&ts, Method::DELETE, &format!("{account}?{v}"), Some(&owner_t), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = arm(&ts, Method::DELETE, &format!("{account}?{v}"), Some(&owner_t), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = arm(&ts, Method::GET, &format!("{container}?{v}"), Some(&owner_t), None).await;
    assert_arm_error(&r, 404, "ParentResourceNotFound");
    ts.stop().await;
}

#[tokio::test]
async fn deleting_a_resource_group_removes_its_resources_and_the_assignments_below_it() {
    use openpim_core::directory::ObjectKind;
    let ts = TestServer::start().await;
    let tenant = tenant_id(&ts).await;
    let (owner, owner_t) = user(&ts, "cascadeowner").await;
    grant_azure_role(&ts, owner, "Owner", &mg_scope(&tenant));
    assert_eq!(register(&ts, SUB_A, "Prod", None).await.0, StatusCode::CREATED);
    // Two groups whose names differ only where LIKE would see a wildcard.
    for name in ["a_b", "axb"] {
        let r = arm(
            &ts,
            Method::PUT,
            &format!("/subscriptions/{SUB_A}/resourceGroups/{name}?{RG}"),
            Some(&owner_t),
            Some(&json!({"location": "westeurope"})),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let r = arm(
            &ts,
            Method::PUT,
            &format!(
                "/subscriptions/{SUB_A}/resourceGroups/{name}/providers/Microsoft.Web/sites/s1?api-version=2022-03-01"
            ),
            Some(&owner_t),
            Some(&json!({"location": "westeurope"})),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    // Role assignment rows at and below each group (as the roleAssignments area stores them),
    // written with other casings.
    let mut kept = Vec::new();
    let mut gone = Vec::new();
    for (name, list) in [("A_B", &mut gone), ("AXB", &mut kept)] {
        for scope in [
            format!("/subscriptions/{SUB_A}/resourceGroups/{name}"),
            format!("/subscriptions/{SUB_A}/resourcegroups/{name}/providers/Microsoft.Web/sites/S1"),
        ] {
            let schedule = openpim_server::bootstrap::direct_assignment(
                owner,
                ObjectKind::User,
                uuid::Uuid::parse_str(common::GLOBAL_READER).unwrap(),
                openpim_core::scope::DirectoryScope::Tenant,
                None,
                time::OffsetDateTime::now_utc(),
            );
            let schedule = openpim_core::schedule::Schedule {
                scope: openpim_core::scope::Scope::Arm(ArmScope::parse(&scope).unwrap()),
                ..schedule
            };
            let mut tx = ts.server.state.store.begin_write().await.unwrap();
            tx.insert_schedule(&schedule).await.unwrap();
            let record = openpim_core::audit::AuditRecord {
                id: uuid::Uuid::new_v4(),
                at: time::OffsetDateTime::now_utc(),
                category: "Test",
                activity: "seed".into(),
                operation_type: "Add",
                result: openpim_core::audit::AuditResult::Success,
                result_reason: String::new(),
                initiated_by_id: None,
                initiated_by_upn: None,
                initiated_by_display_name: None,
                targets: vec![],
                additional_details: vec![],
                correlation_id: uuid::Uuid::new_v4(),
            };
            tx.commit(&record, |_| {}).await.unwrap();
            list.push(schedule.id);
        }
    }
    let r = arm(&ts, Method::DELETE, &format!("/subscriptions/{SUB_A}/resourcegroups/A_B?{RG}"), Some(&owner_t), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let store = &ts.server.state.store;
    for id in &gone {
        assert!(
            store.get_schedule(openpim_core::schedule::Kind::Assignment, *id).await.unwrap().is_none(),
            "{id} removed"
        );
    }
    for id in &kept {
        assert!(
            store.get_schedule(openpim_core::schedule::Kind::Assignment, *id).await.unwrap().is_some(),
            "{id} kept"
        );
    }
    let sub = uuid::Uuid::parse_str(SUB_A).unwrap();
    let axb = ArmScope::parse(&format!("/subscriptions/{SUB_A}/resourceGroups/axb")).unwrap();
    assert_eq!(store.list_resources(&axb).await.unwrap().len(), 1);
    let a_b = ArmScope::parse(&format!("/subscriptions/{SUB_A}/resourceGroups/a_b")).unwrap();
    assert!(store.list_resources(&a_b).await.unwrap().is_empty());
    assert!(store.get_resource_group(sub, "a_b").await.unwrap().is_none());

    // `exists` answers ARM's codes from the top down.
    let state = &ts.server.state;
    let exists = |scope: &str| {
        let scope = ArmScope::parse(scope).unwrap();
        async move { openpim_server::azure::hierarchy::exists(state, &scope).await.map_err(|e| e.code) }
    };
    assert_eq!(
        exists(&format!("/subscriptions/{SUB_A}/resourceGroups/AXB/providers/Microsoft.Web/sites/s1")).await,
        Ok(())
    );
    assert_eq!(
        exists(&format!("/subscriptions/{SUB_A}/resourceGroups/axb/providers/Microsoft.Web/sites/s2")).await,
        Err("ResourceNotFound".into())
    );
    assert_eq!(
        exists(&format!("/subscriptions/{SUB_A}/resourceGroups/a_b/providers/Microsoft.Web/sites/s1")).await,
        Err("ResourceGroupNotFound".into())
    );
    assert_eq!(exists(&format!("/subscriptions/{SUB_B}/resourceGroups/axb")).await, Err("SubscriptionNotFound".into()));
    assert_eq!(exists(&mg_scope(&tenant.to_uppercase())).await, Ok(()));
    assert_eq!(exists(&mg_scope("nowhere")).await, Err("ManagementGroupNotFound".into()));
    ts.stop().await;
}

#[tokio::test]
async fn lists_page_with_next_links_that_keep_the_query() {
    let ts = TestServer::start().await;
    let tenant = tenant_id(&ts).await;
    let (owner, owner_t) = user(&ts, "pager").await;
    grant_azure_role(&ts, owner, "Owner", &mg_scope(&tenant));
    assert_eq!(register(&ts, SUB_A, "Paged", None).await.0, StatusCode::CREATED);
    let total = 205;
    for i in 0..total {
        let path = format!("/subscriptions/{SUB_A}/resourcegroups/rg-{i:03}?{RG}");
        let r = arm(&ts, Method::PUT, &path, Some(&owner_t), Some(&json!({"location": "westeurope"}))).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let mut names = Vec::new();
    let mut next = Some(format!("/subscriptions/{SUB_A}/resourcegroups?{RG}&extra=kept"));
    let mut pages = 0;
    while let Some(url) = next {
        let r = arm(&ts, Method::GET, &url, Some(&owner_t), None).await;
        assert_eq!(r.status, StatusCode::OK, "{url}: {}", r.body);
        names.extend(r.body["value"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap().to_string()));
        next = r.body["nextLink"].as_str().map(|link| {
            assert!(link.starts_with(&ts.base), "absolute, on the server's origin: {link}");
            assert!(link.contains("extra=kept") && link.contains("api-version=2021-04-01"), "{link}");
            // Clients may follow with another area's api-version (the SDK does).
            link.replace("api-version=2021-04-01", "api-version=2022-12-01")
        });
        pages += 1;
    }
    assert_eq!(pages, 2);
    let expected: Vec<String> = (0..total).map(|i| format!("rg-{i:03}")).collect();
    assert_eq!(names, expected, "every group once, in order");
    // A token that is not ours.
    let r = arm(
        &ts,
        Method::GET,
        &format!("/subscriptions/{SUB_A}/resourcegroups?{RG}&$skiptoken=forged"),
        Some(&owner_t),
        None,
    )
    .await;
    assert_arm_error(&r, 400, "InvalidSkipToken");
    ts.stop().await;
}

#[tokio::test]
async fn subscriptions_move_between_management_groups_over_arm() {
    let ts = TestServer::start().await;
    let tenant = tenant_id(&ts).await;
    let (owner, owner_t) = user(&ts, "mover").await;
    grant_azure_role(&ts, owner, "Owner", &mg_scope(&tenant));
    assert_eq!(put_group(&ts, &owner_t, "Corp", json!({})).await.status, StatusCode::OK);
    assert_eq!(register(&ts, SUB_A, "Prod", None).await.0, StatusCode::CREATED);
    let under =
        |group: &str| format!("/providers/Microsoft.Management/managementGroups/{group}/subscriptions/{SUB_A}?{MG}");

    let r = arm(&ts, Method::PUT, &under("corp"), Some(&owner_t), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["type"], "Microsoft.Management/managementGroups/subscriptions");
    assert_eq!(r.body["properties"]["parent"]["id"], mg_scope("Corp"));
    assert_eq!(r.body["properties"]["displayName"], "Prod");
    let r = arm(&ts, Method::GET, &under("Corp"), Some(&owner_t), None).await;
    assert_eq!((r.status, r.body["name"].as_str()), (StatusCode::OK, Some(SUB_A)), "{}", r.body);
    let r = arm(&ts, Method::GET, &under(&tenant), Some(&owner_t), None).await;
    assert_arm_error(&r, 404, "SubscriptionNotFound");
    // The index follows: a Reader on Corp now sees the subscription.
    let (reader, reader_t) = user(&ts, "corpreader").await;
    grant_azure_role(&ts, reader, "Reader", &mg_scope("Corp"));
    let r = arm(&ts, Method::GET, &format!("/subscriptions/{SUB_A}?{SUBS}"), Some(&reader_t), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Moving needs rights on both groups and on the subscription.
    let r = arm(&ts, Method::DELETE, &under("Corp"), Some(&reader_t), None).await;
    assert_arm_error(&r, 403, "AuthorizationFailed");
    // DELETE puts it back under the root group.
    let r = arm(&ts, Method::DELETE, &under("Corp"), Some(&owner_t), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["properties"]["parent"]["id"], mg_scope(&tenant));
    let r = arm(&ts, Method::GET, &format!("/subscriptions/{SUB_A}?{SUBS}"), Some(&reader_t), None).await;
    assert_arm_error(&r, 404, "SubscriptionNotFound");
    let r = arm(&ts, Method::DELETE, &under("Corp"), Some(&owner_t), None).await;
    assert_arm_error(&r, 404, "SubscriptionNotFound");
    let r = arm(
        &ts,
        Method::PUT,
        &format!("/providers/Microsoft.Management/managementGroups/Corp/subscriptions/{SUB_B}?{MG}"),
        Some(&owner_t),
        None,
    )
    .await;
    assert_arm_error(&r, 404, "SubscriptionNotFound");
    ts.stop().await;
}
