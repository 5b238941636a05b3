//! ARM `Microsoft.Authorization/roleAssignments` over HTTP: PUT/GET/DELETE by scope and name and
//! by full id, lists at every scope level with every filter, the errors ARM gives, Azure RBAC on
//! each operation, the last-Owner rule and `elevateAccess`. SQLite always; PostgreSQL too when
//! `OPENPIM_TEST_POSTGRES_URL` is set.

use crate::common;

use common::arm::elevate;
use common::arm::{arm, arm_token_for, assert_arm_error, create_arm as create};
use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const SUB: &str = "5d3c1a2b-0000-4000-8000-00000000a551";
const OTHER_SUB: &str = "5d3c1a2b-0000-4000-8000-00000000a552";
const V: &str = "api-version=2022-04-01";
const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
const UAA: &str = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9";

fn sub() -> String {
    format!("/subscriptions/{SUB}")
}

fn rg(name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{name}")
}

fn root_group(ts: &TestServer) -> String {
    format!("/providers/Microsoft.Management/managementGroups/{}", ts.server.state.tenant_id)
}

fn assignment_path(scope: &str, name: &str) -> String {
    format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}?{V}")
}

fn body(role: &str, principal: &str) -> Value {
    json!({"properties": {
        "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}"),
        "principalId": principal,
    }})
}

/// PUTs an assignment as `token`, expecting `status`; returns the body.
async fn put(ts: &TestServer, token: &str, scope: &str, name: &str, body: &Value, status: u16) -> Value {
    let r = arm(ts, Method::PUT, &assignment_path(scope, name), Some(token), Some(body)).await;
    assert_eq!(r.status.as_u16(), status, "PUT {scope} {name}: {}", r.body);
    r.body
}

fn guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The shared set-up: the admin elevated and Owner of the subscription, three resource groups.
async fn admin_owns_subscription(ts: &TestServer) -> String {
    common::arm::admin_owns_subscription(ts, &[SUB, OTHER_SUB], &[rg("web"), rg("app"), rg("data")]).await
}

fn names(list: &Value) -> Vec<String> {
    list["value"].as_array().expect("value array").iter().map(|a| a["name"].as_str().unwrap().to_string()).collect()
}

async fn list(ts: &TestServer, token: &str, scope: &str, filter: Option<&str>) -> Value {
    let mut path = format!("{scope}/providers/Microsoft.Authorization/roleAssignments?{V}");
    if let Some(f) = filter {
        path.push_str("&$filter=");
        path.push_str(f);
    }
    let r = arm(ts, Method::GET, &path, Some(token), None).await;
    assert_eq!(r.status, StatusCode::OK, "GET {path}: {}", r.body);
    r.body
}

#[tokio::test]
async fn create_read_and_delete_with_arm_errors() {
    let ts = TestServer::start().await;
    let admin = admin_owns_subscription(&ts).await;
    let alice = ts.create_user("alice@arm.test").await;
    let bob = ts.create_user("bob@arm.test").await;
    let group = ts.create_group("Ops", false).await;

    // Created (201) in ARM's shape, then the same PUT again is 200.
    let name = guid();
    let created = put(&ts, &admin, &sub(), &name, &body(READER, &alice), 201).await;
    assert_eq!(created["id"], format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/{name}"));
    assert_eq!(created["name"], name.as_str());
    assert_eq!(created["type"], "Microsoft.Authorization/roleAssignments");
    let p = &created["properties"];
    assert_eq!(p["scope"], sub());
    assert_eq!(
        p["roleDefinitionId"],
        format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{READER}")
    );
    assert_eq!((p["principalId"].as_str(), p["principalType"].as_str()), (Some(alice.as_str()), Some("User")));
    assert_eq!(p["createdBy"], ts.admin_id.as_str());
    assert!(p["createdOn"].is_string() && p["condition"].is_null());
    put(&ts, &admin, &sub(), &name, &body(READER, &alice), 200).await;
    // The official REST samples' PascalCase, the tenant form of the role id, a description.
    let pascal = json!({"Properties": {"RoleDefinitionId": format!("/providers/Microsoft.Authorization/roleDefinitions/{READER}"),
        "PrincipalId": alice, "PrincipalType": "user", "Description": "audit"}});
    let updated = put(&ts, &admin, &sub(), &name, &pascal, 200).await;
    assert_eq!(updated["properties"]["description"], "audit");

    // ARM's refusals.
    let r = arm(&ts, Method::PUT, &assignment_path(&sub(), &guid()), Some(&admin), Some(&body(READER, &alice))).await;
    assert_arm_error(&r, 409, "RoleAssignmentExists");
    let r = arm(&ts, Method::PUT, &assignment_path(&sub(), &name), Some(&admin), Some(&body(READER, &bob))).await;
    assert_arm_error(&r, 400, "RoleAssignmentUpdateNotPermitted");
    let r = arm(&ts, Method::PUT, &assignment_path(&sub(), &guid()), Some(&admin), Some(&body(READER, &guid()))).await;
    assert_arm_error(&r, 400, "PrincipalNotFound");
    let r = arm(&ts, Method::PUT, &assignment_path(&sub(), &guid()), Some(&admin), Some(&body(&guid(), &alice))).await;
    assert_arm_error(&r, 400, "RoleDefinitionDoesNotExist");
    let bad_role = json!({"properties": {"roleDefinitionId": "Reader", "principalId": alice}});
    let r = arm(&ts, Method::PUT, &assignment_path(&sub(), &guid()), Some(&admin), Some(&bad_role)).await;
    assert_arm_error(&r, 400, "InvalidRoleDefinitionId");
    let mut typed = body(CONTRIBUTOR, &alice);
    typed["properties"]["principalType"] = json!("Group");
    let r = arm(&ts, Method::PUT, &assignment_path(&sub(), &guid()), Some(&admin), Some(&typed)).await;
    assert_arm_error(&r, 400, "UnmatchedPrincipalType");
    let mut conditioned = body(CONTRIBUTOR, &alice);
    conditioned["properties"]["condition"] =
        json!("@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'logs'");
    conditioned["properties"]["conditionVersion"] = json!("2.0");
    let r = arm(&ts, Method::PUT, &assignment_path(&sub(), &guid()), Some(&admin), Some(&conditioned)).await;
    assert_arm_error(&r, 400, "RoleAssignmentConditionNotSupported");
    let mut unknown = body(CONTRIBUTOR, &alice);
    unknown["properties"]["colour"] = json!("blue");
    let r = arm(&ts, Method::PUT, &assignment_path(&sub(), &guid()), Some(&admin), Some(&unknown)).await;
    assert_arm_error(&r, 400, "InvalidRequestContent");
    let r =
        arm(&ts, Method::PUT, &assignment_path(&sub(), "not-a-guid"), Some(&admin), Some(&body(READER, &bob))).await;
    assert_arm_error(&r, 400, "InvalidRoleAssignmentId");
    let r = arm(
        &ts,
        Method::PUT,
        &format!("{}/providers/Microsoft.Authorization/roleAssignments/{}", sub(), guid()),
        Some(&admin),
        Some(&body(READER, &bob)),
    )
    .await;
    assert_arm_error(&r, 400, "MissingApiVersionParameter");
    // Nothing of the refused PUTs was stored.
    assert_eq!(names(&list(&ts, &admin, &sub(), Some(&format!("principalId eq '{alice}'"))).await), vec![name.clone()]);

    // Read by scope and name, and by full id in another spelling.
    let r = arm(&ts, Method::GET, &assignment_path(&sub(), &name), Some(&admin), None).await;
    assert_eq!((r.status, r.body["name"].as_str()), (StatusCode::OK, Some(name.as_str())));
    let shouted = assignment_path(&format!("/SUBSCRIPTIONS/{}", SUB.to_uppercase()), &name)
        .replace("roleAssignments", "ROLEASSIGNMENTS");
    let r = arm(&ts, Method::GET, &shouted, Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // ... but not under another scope's path.
    let r = arm(&ts, Method::GET, &assignment_path(&rg("web"), &name), Some(&admin), None).await;
    assert_arm_error(&r, 404, "RoleAssignmentNotFound");

    // A group, at a resource group; the group is a security group, not role-assignable.
    let at_rg = guid();
    let g = put(&ts, &admin, &rg("web"), &at_rg, &body(CONTRIBUTOR, &group), 201).await;
    assert_eq!(g["properties"]["principalType"], "Group");

    // Azure RBAC: alice reads (Reader at the subscription) but cannot write or delete.
    let alice_token = arm_token_for(&ts, "alice@arm.test");
    let r = arm(&ts, Method::GET, &assignment_path(&rg("web"), &at_rg), Some(&alice_token), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = arm(&ts, Method::PUT, &assignment_path(&rg("web"), &guid()), Some(&alice_token), Some(&body(READER, &bob)))
        .await;
    assert_arm_error(&r, 403, "AuthorizationFailed");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("Microsoft.Authorization/roleAssignments/write"));
    let r = arm(&ts, Method::DELETE, &assignment_path(&rg("web"), &at_rg), Some(&alice_token), None).await;
    assert_arm_error(&r, 403, "AuthorizationFailed");
    // bob holds nothing: not even a read.
    let bob_token = arm_token_for(&ts, "bob@arm.test");
    let r = arm(&ts, Method::GET, &assignment_path(&sub(), &name), Some(&bob_token), None).await;
    assert_arm_error(&r, 403, "AuthorizationFailed");

    // Delete answers the deleted assignment, then 204.
    let r = arm(&ts, Method::DELETE, &assignment_path(&rg("web"), &at_rg), Some(&admin), None).await;
    assert_eq!((r.status, r.body["name"].as_str()), (StatusCode::OK, Some(at_rg.as_str())), "{}", r.body);
    let r = arm(&ts, Method::DELETE, &assignment_path(&rg("web"), &at_rg), Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = arm(&ts, Method::GET, &assignment_path(&rg("web"), &at_rg), Some(&admin), None).await;
    assert_arm_error(&r, 404, "RoleAssignmentNotFound");
    ts.stop().await;
}

/// Asserts that `list` names every one of `wanted` and none of `unwanted`.
#[track_caller]
fn has(list: &Value, wanted: &[&String], unwanted: &[&String]) {
    let got = names(list);
    for w in wanted {
        assert!(got.contains(w), "{w} missing from {got:?}");
    }
    for u in unwanted {
        assert!(!got.contains(u), "{u} should not be in {got:?}");
    }
}

#[tokio::test]
async fn lists_at_every_scope_with_every_filter() {
    let ts = TestServer::start().await;
    let admin = admin_owns_subscription(&ts).await;
    let alice = ts.create_user("alice@list.test").await;
    let bob = ts.create_user("bob@list.test").await;
    let team = ts.create_group("Team", false).await;
    let platform = ts.create_group("Platform", false).await;
    ts.add_group_member(&team, &alice).await;
    ts.add_group_member(&platform, &team).await;
    let vm = format!("{}/providers/Microsoft.Compute/virtualMachines/vm1", rg("app"));
    create(&ts, &admin, &vm).await;

    let (reader_sub, contrib_team, owner_bob_vm, reader_platform, other) = (guid(), guid(), guid(), guid(), guid());
    put(&ts, &admin, &sub(), &reader_sub, &body(READER, &alice), 201).await;
    put(&ts, &admin, &rg("app"), &contrib_team, &body(CONTRIBUTOR, &team), 201).await;
    put(&ts, &admin, &vm, &owner_bob_vm, &body(OWNER, &bob), 201).await;
    put(&ts, &admin, &rg("data"), &reader_platform, &body(READER, &platform), 201).await;
    let other_sub = format!("/subscriptions/{OTHER_SUB}");
    put(&ts, &admin, &other_sub, &other, &body(READER, &alice), 201).await;

    // No filter: at, above and below.
    let at_rg = list(&ts, &admin, &rg("app"), None).await;
    has(&at_rg, &[&reader_sub, &contrib_team, &owner_bob_vm], &[&reader_platform, &other]);
    let at_sub = list(&ts, &admin, &sub(), None).await;
    has(&at_sub, &[&reader_sub, &contrib_team, &owner_bob_vm, &reader_platform], &[&other]);
    // Every item is in ARM's shape.
    assert!(at_sub["value"].as_array().unwrap().iter().all(|a| a["type"] == "Microsoft.Authorization/roleAssignments"));
    // atScope(): at and above only.
    let at_scope = list(&ts, &admin, &rg("app"), Some("atScope()")).await;
    has(&at_scope, &[&reader_sub, &contrib_team], &[&owner_bob_vm]);
    // principalId eq: that principal's own, any case.
    let of_alice = list(&ts, &admin, &sub(), Some(&format!("principalId eq '{}'", alice.to_uppercase()))).await;
    has(&of_alice, &[&reader_sub], &[&contrib_team, &other]);
    // assignedTo(): its own and its (nested) security groups', transitively.
    let to_alice = list(&ts, &admin, &sub(), Some(&format!("assignedTo('{alice}')"))).await;
    has(&to_alice, &[&reader_sub, &contrib_team, &reader_platform], &[&owner_bob_vm]);
    let combined = list(&ts, &admin, &rg("data"), Some(&format!("atScope()+and+assignedTo('{alice}')"))).await;
    has(&combined, &[&reader_sub, &reader_platform], &[&contrib_team]);
    // At a resource, a management group and the tenant.
    let at_vm = list(&ts, &admin, &vm, Some("atScope()")).await;
    has(&at_vm, &[&owner_bob_vm, &contrib_team, &reader_sub], &[&reader_platform]);
    let at_root = list(&ts, &admin, &root_group(&ts), None).await;
    has(&at_root, &[&reader_sub, &owner_bob_vm, &other], &[]);
    let tenant = list(&ts, &admin, "", Some(&format!("principalId eq '{bob}'"))).await;
    assert_eq!(names(&tenant), vec![owner_bob_vm.clone()]);
    // The resource group path in lower case, as the SDK sends it.
    let lower = list(&ts, &admin, &format!("/subscriptions/{SUB}/resourcegroups/APP"), Some("atScope()")).await;
    has(&lower, &[&contrib_team], &[]);

    // Readers see lists within their reach; the tenant list shows each one what it may read.
    let alice_token = arm_token_for(&ts, "alice@list.test");
    let seen = list(&ts, &alice_token, "", None).await;
    has(&seen, &[&reader_sub, &contrib_team, &other], &[]);
    let bob_token = arm_token_for(&ts, "bob@list.test");
    let seen = list(&ts, &bob_token, "", None).await;
    assert_eq!(names(&seen), vec![owner_bob_vm.clone()], "bob reads at his virtual machine only");
    // At his virtual machine he sees what applies there, from above too.
    let seen = list(&ts, &bob_token, &vm, None).await;
    has(&seen, &[&owner_bob_vm, &contrib_team, &reader_sub], &[&other, &reader_platform]);
    let r = arm(
        &ts,
        Method::GET,
        &format!("{}/providers/Microsoft.Authorization/roleAssignments?{V}", rg("data")),
        Some(&bob_token),
        None,
    )
    .await;
    assert_arm_error(&r, 403, "AuthorizationFailed");

    // Filters ARM does not support.
    let r = arm(
        &ts,
        Method::GET,
        &format!("{}/providers/Microsoft.Authorization/roleAssignments?{V}&$filter=roleName eq 'x'", sub()),
        Some(&admin),
        None,
    )
    .await;
    assert_arm_error(&r, 400, "UnsupportedQuery");
    ts.stop().await;
}

#[tokio::test]
async fn the_last_owner_stays_and_elevate_access_is_for_global_administrators() {
    let ts = TestServer::start().await;
    let admin = admin_owns_subscription(&ts).await;
    let carol = ts.create_user("carol@owner.test").await;
    let carol_token = arm_token_for(&ts, "carol@owner.test");

    // Not a Global Administrator: refused, and audited.
    let r = arm(
        &ts,
        Method::POST,
        "/providers/Microsoft.Authorization/elevateAccess?api-version=2016-07-01",
        Some(&carol_token),
        None,
    )
    .await;
    assert_arm_error(&r, 403, "AuthorizationFailed");
    // The admin's elevation is an assignment at ARM's root `/`, and repeating it changes nothing.
    let r = arm(
        &ts,
        Method::POST,
        "/providers/Microsoft.Authorization/elevateAccess?api-version=2015-07-01",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let uaa = list(&ts, &admin, "", Some(&format!("principalId eq '{}'", ts.admin_id))).await;
    let uaa: Vec<&Value> = uaa["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["properties"]["roleDefinitionId"].as_str().unwrap().ends_with(UAA))
        .collect();
    assert_eq!(uaa.len(), 1, "{uaa:?}");
    assert_eq!(uaa[0]["properties"]["scope"], "/");

    // The admin's Owner assignment at the subscription is the only Owner there: it stays.
    let owners = list(&ts, &admin, &sub(), Some("atScope()")).await;
    let owner = owners["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["properties"]["roleDefinitionId"].as_str().unwrap().ends_with(OWNER))
        .unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string();
    let r = arm(&ts, Method::DELETE, &assignment_path(&sub(), &owner), Some(&admin), None).await;
    assert_arm_error(&r, 400, "LastOwnerRoleAssignment");
    let r = arm(&ts, Method::GET, &assignment_path(&sub(), &owner), Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::OK, "still there");
    // An Owner at a resource group below does not count; a second Owner at the subscription does.
    let below = guid();
    put(&ts, &admin, &rg("web"), &below, &body(OWNER, &carol), 201).await;
    let r = arm(&ts, Method::DELETE, &assignment_path(&sub(), &owner), Some(&admin), None).await;
    assert_arm_error(&r, 400, "LastOwnerRoleAssignment");
    let carol_owner = guid();
    put(&ts, &admin, &sub(), &carol_owner, &body(OWNER, &carol), 201).await;
    let r = arm(&ts, Method::DELETE, &assignment_path(&rg("web"), &below), Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = arm(&ts, Method::DELETE, &assignment_path(&sub(), &owner), Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // An Owner at the tenant root management group is above the subscription too.
    let r = arm(&ts, Method::DELETE, &assignment_path(&sub(), &carol_owner), Some(&admin), None).await;
    assert_arm_error(&r, 400, "LastOwnerRoleAssignment");
    put(&ts, &admin, &root_group(&ts), &guid(), &body(OWNER, &ts.admin_id), 201).await;
    let r = arm(&ts, Method::DELETE, &assignment_path(&sub(), &carol_owner), Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Both refusals and the changes are in the audit log.
    let (status, logs) = ts.client.get("/v1.0/auditLogs/directoryAudits?$top=200", &ts.admin_token()).await;
    assert_eq!(status, StatusCode::OK, "{logs}");
    let entries = logs["value"].as_array().unwrap();
    let count = |activity: &str, result: &str| {
        entries.iter().filter(|e| e["activityDisplayName"] == activity && e["result"] == result).count()
    };
    assert_eq!(count("Elevate access", "failure"), 1);
    assert_eq!(count("Elevate access", "success"), 1, "the repeated elevation wrote nothing");
    assert!(count("Remove Azure role assignment", "failure") >= 3);
    assert_eq!(count("Remove Azure role assignment", "success"), 3);
    assert!(count("Add Azure role assignment", "success") >= 3);
    ts.stop().await;
}

/// The role assignment at `/` in a list, by name.
fn find<'a>(list: &'a Value, name: &str) -> Option<&'a Value> {
    list["value"].as_array().unwrap().iter().find(|a| a["name"] == name)
}

/// `elevateAccess` grants User Access Administrator at ARM's root `/` (Microsoft's elevate-access
/// page: listed with `principalId eq`, removed with DELETE on its id); `/` covers every
/// management group, subscription and resource, only whoever may write role assignments at `/`
/// assigns there, and an assignment at ARM's `/` is never the directory tenant's `/`.
#[tokio::test]
async fn elevated_access_lives_at_the_root_scope_and_is_removed_there() {
    let ts = TestServer::start().await;
    let admin = admin_owns_subscription(&ts).await;
    let root_list = |filter: String| {
        let ts = &ts;
        let admin = admin.clone();
        async move { list(ts, &admin, "", Some(&filter)).await }
    };
    let mine = root_list(format!("principalId+eq+'{}'", ts.admin_id)).await;
    let elevated = mine["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["properties"]["roleDefinitionId"].as_str().unwrap().ends_with(UAA))
        .unwrap_or_else(|| panic!("no UAA at / in {mine}"))
        .clone();
    let name = elevated["name"].as_str().unwrap().to_string();
    assert_eq!(elevated["id"], format!("/providers/Microsoft.Authorization/roleAssignments/{name}"));
    assert_eq!(elevated["properties"]["scope"], "/");
    assert_eq!(
        elevated["properties"]["roleDefinitionId"],
        format!("/providers/Microsoft.Authorization/roleDefinitions/{UAA}")
    );
    assert_eq!(elevated["properties"]["principalType"], "User");
    // Read by its id; seen from below (at, above and below a subscription); `atScope()` at `/`
    // shows what is at `/` only.
    let by_id = format!("/providers/Microsoft.Authorization/roleAssignments/{name}?{V}");
    let r = arm(&ts, Method::GET, &by_id, Some(&admin), None).await;
    assert_eq!((r.status, &r.body["properties"]["scope"]), (StatusCode::OK, &json!("/")), "{}", r.body);
    assert!(find(&list(&ts, &admin, &sub(), None).await, &name).is_some());
    assert!(find(&list(&ts, &admin, &root_group(&ts), Some("atScope()")).await, &name).is_some());
    let at_root = root_list("atScope()".into()).await;
    assert!(find(&at_root, &name).is_some());
    assert!(at_root["value"].as_array().unwrap().iter().all(|a| a["properties"]["scope"] == "/"), "{at_root}");
    // The same name under a scope is not found there.
    let r = arm(&ts, Method::GET, &assignment_path(&sub(), &name), Some(&admin), None).await;
    assert_arm_error(&r, 404, "RoleAssignmentNotFound");
    // The caller's permissions at `/` are User Access Administrator's.
    let r =
        arm(&ts, Method::GET, &format!("/providers/Microsoft.Authorization/permissions?{V}"), Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let actions: Vec<&str> = r.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["actions"].as_array().unwrap())
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(actions.contains(&"Microsoft.Authorization/*"), "{actions:?}");

    // UAA at `/` may assign at `/`: Reader for Dave reaches every subscription (he now sees it),
    // and Dave, a reader, may not assign at `/`.
    let dave = ts.create_user("dave@root.test").await;
    let dave_token = arm_token_for(&ts, "dave@root.test");
    let r = arm(&ts, Method::GET, "/subscriptions?api-version=2022-12-01", Some(&dave_token), None).await;
    assert_eq!(r.body["value"].as_array().map(Vec::len), Some(0), "{}", r.body);
    let reader_at_root = guid();
    let created = put(&ts, &admin, "", &reader_at_root, &body(READER, &dave), 201).await;
    assert_eq!(created["properties"]["scope"], "/");
    assert_eq!(created["id"], format!("/providers/Microsoft.Authorization/roleAssignments/{reader_at_root}"));
    let r = arm(&ts, Method::GET, "/subscriptions?api-version=2022-12-01", Some(&dave_token), None).await;
    let seen: Vec<&str> =
        r.body["value"].as_array().unwrap().iter().map(|s| s["subscriptionId"].as_str().unwrap()).collect();
    assert!(seen.contains(&SUB) && seen.contains(&OTHER_SUB), "{}", r.body);
    let r = arm(&ts, Method::GET, &format!("{}?api-version=2021-04-01", rg("web")), Some(&dave_token), None).await;
    assert_eq!(r.status, StatusCode::OK, "Reader at / reads a resource group: {}", r.body);
    let r = arm(&ts, Method::PUT, &assignment_path("", &guid()), Some(&dave_token), Some(&body(READER, &dave))).await;
    assert_arm_error(&r, 403, "AuthorizationFailed");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("over scope '/'"), "{}", r.body);
    // Dave sees his own assignment at `/` in the root list without any right at `/` to read
    // others'; the admin's elevation is not shown to him.
    let r = arm(
        &ts,
        Method::GET,
        &format!("/providers/Microsoft.Authorization/roleAssignments?{V}&$filter=principalId+eq+'{dave}'"),
        Some(&dave_token),
        None,
    )
    .await;
    assert_eq!(names(&r.body), std::slice::from_ref(&reader_at_root), "{}", r.body);

    // An Azure role at ARM's `/` is nothing in the directory: Dave (Reader at `/`) and the
    // admin's UAA do not appear among Graph's tenant-wide assignments, and Dave cannot create
    // users, nor is the access check an Entra grant for him.
    let (status, graph) = ts
        .client
        .get("/v1.0/roleManagement/directory/roleAssignments?$filter=directoryScopeId+eq+'/'", &ts.admin_token())
        .await;
    assert_eq!(status, StatusCode::OK, "{graph}");
    let graph_ids: Vec<&str> = graph["value"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert!(!graph_ids.contains(&name.as_str()) && !graph_ids.contains(&reader_at_root.as_str()), "{graph}");
    let (status, body_) = ts
        .client
        .post(
            "/v1.0/users",
            &ts.token_for("dave@root.test"),
            json!({"accountEnabled": true, "displayName": "X", "mailNickname": "x", "userPrincipalName": "x@root.test",
                   "passwordProfile": {"password": "Secret-12345!"}}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body_}");
    let dave_graph = ts.token_for("dave@root.test");
    let check = |query: &str| {
        let (ts, token, query) = (&ts, dave_graph.clone(), query.to_string());
        async move { ts.client.get(&format!("/v1.0/openpim/accessCheck?{query}"), &token).await }
    };
    let (status, answer) = check("action=microsoft.directory/users/standard/read&directoryScopeId=/").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let directory_grant = &answer["grantedBy"];
    assert_ne!(directory_grant["roleDefinitionId"], READER, "never the Azure Reader at ARM's /: {answer}");
    let (_, answer) = check("action=microsoft.directory/users/create&directoryScopeId=/").await;
    assert_eq!(answer["allowed"], false, "{answer}");
    // The Azure question at ARM's `/` is answered by the assignment there.
    let (status, answer) = check("action=Microsoft.Compute/virtualMachines/read&scope=/").await;
    assert_eq!((status, &answer["allowed"]), (StatusCode::OK, &json!(true)), "{answer}");
    assert_eq!(
        (&answer["grantedBy"]["scope"], &answer["grantedBy"]["roleDefinitionId"]),
        (&json!("/"), &json!(READER))
    );
    let (_, answer) = check("action=Microsoft.Compute/virtualMachines/write&scope=/").await;
    assert_eq!(answer["allowed"], false, "{answer}");

    // Removing the elevation: DELETE on its id (200 with it), then it is gone (404, 204 again),
    // and the admin, still a Global Administrator of the directory, holds nothing at `/`.
    let r = arm(&ts, Method::DELETE, &by_id, Some(&admin), None).await;
    assert_eq!((r.status, &r.body["name"]), (StatusCode::OK, &json!(name)), "{}", r.body);
    let mine = root_list(format!("principalId eq '{}'", ts.admin_id)).await;
    assert!(find(&mine, &name).is_none(), "{mine}");
    // With it went the admin's right to read or delete at `/` at all.
    let r = arm(&ts, Method::GET, &by_id, Some(&admin), None).await;
    assert_arm_error(&r, 403, "AuthorizationFailed");
    let r = arm(&ts, Method::DELETE, &by_id, Some(&admin), None).await;
    assert_arm_error(&r, 403, "AuthorizationFailed");
    let r = arm(&ts, Method::PUT, &assignment_path("", &guid()), Some(&admin), Some(&body(READER, &dave))).await;
    assert_arm_error(&r, 403, "AuthorizationFailed");
    let r =
        arm(&ts, Method::GET, &format!("/providers/Microsoft.Authorization/permissions?{V}"), Some(&admin), None).await;
    assert_eq!(r.body["value"].as_array().map(Vec::len), Some(0), "{}", r.body);
    let (status, _) = ts.client.get("/v1.0/users", &ts.admin_token()).await;
    assert_eq!(status, StatusCode::OK, "the directory role is untouched");
    // Elevating again makes a new assignment at `/`.
    let r = elevate(&ts, &admin).await;
    assert_eq!(r.status, StatusCode::OK);
    let mine = root_list(format!("principalId eq '{}'", ts.admin_id)).await;
    assert!(mine["value"].as_array().unwrap().iter().any(|a| a["properties"]["scope"] == "/" && a["name"] != name));

    // The removal and the refusals are audited.
    let (_, logs) = ts.client.get("/v1.0/auditLogs/directoryAudits?$top=200", &ts.admin_token()).await;
    let entries = logs["value"].as_array().unwrap();
    assert!(entries
        .iter()
        .any(|e| e["activityDisplayName"] == "Remove Azure role assignment" && e["result"] == "success"));
    assert!(entries
        .iter()
        .any(|e| e["activityDisplayName"] == "Add Azure role assignment" && e["result"] == "failure"));
    ts.stop().await;
}
