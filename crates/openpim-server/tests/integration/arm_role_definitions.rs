//! `Microsoft.Authorization/roleDefinitions` over HTTP (issue #15): the 928 built-in Azure roles
//! at every level, ARM's id forms and list filters, custom roles created, updated and deleted
//! under ARM's rules and Azure RBAC, the index resolving them, and the catalog loaded once.
//! Runs on SQLite, and on PostgreSQL when `OPENPIM_TEST_POSTGRES_URL` is set.

use crate::common;

use common::arm::{arm, arm_token_for, assert_arm_error};
use common::{Resp, TestServer};
use openpim_core::audit::{AuditRecord, AuditResult};
use openpim_core::directory::ObjectKind;
use openpim_core::roles::Permission;
use openpim_core::schedule::Kind;
use openpim_core::scope::{ArmScope, DirectoryScope, Scope};
use openpim_core::ObjectId;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const V: &str = "api-version=2022-04-01";
const SUB: &str = "9a1f2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d";
const OTHER_SUB: &str = "11111111-2222-4333-8444-555555555555";
const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const DEFS: &str = "providers/Microsoft.Authorization/roleDefinitions";

fn sub(id: &str) -> String {
    format!("/subscriptions/{id}")
}

fn uuid(s: &str) -> ObjectId {
    ObjectId::parse_str(s).unwrap()
}

fn record(activity: &str) -> AuditRecord {
    AuditRecord {
        id: ObjectId::new_v4(),
        at: time::OffsetDateTime::now_utc(),
        category: "Test",
        activity: activity.into(),
        operation_type: "Add",
        result: AuditResult::Success,
        result_reason: String::new(),
        initiated_by_id: None,
        initiated_by_upn: None,
        initiated_by_display_name: None,
        targets: Vec::new(),
        additional_details: Vec::new(),
        correlation_id: ObjectId::new_v4(),
    }
}

/// Gives `principal` the Azure role `role` at `scope` (a schedule as an ARM assignment makes it;
/// the ARM role-assignment API is another area's), returning the schedule's id.
async fn grant(ts: &TestServer, principal: &str, role: &str, scope: &str, kind: Kind) -> ObjectId {
    let state = &ts.server.state;
    let mut s = openpim_server::bootstrap::direct_assignment(
        uuid(principal),
        ObjectKind::User,
        uuid(role),
        DirectoryScope::Tenant,
        None,
        state.now(),
    );
    s.kind = kind;
    s.scope = Scope::Arm(ArmScope::parse(scope).unwrap());
    let mut tx = state.store.begin_write().await.unwrap();
    tx.insert_schedule(&s).await.unwrap();
    state.commit(tx, &record("test grant")).await.unwrap();
    s.id
}

async fn revoke(ts: &TestServer, id: ObjectId, kind: Kind) {
    let state = &ts.server.state;
    let s = state.store.get_schedule(kind, id).await.unwrap().unwrap();
    let mut tx = state.store.begin_write().await.unwrap();
    tx.remove_schedule(&s).await.unwrap();
    state.commit(tx, &record("test revoke")).await.unwrap();
}

/// Registers a subscription (OpenPIM's extension; the admin holds the Entra right), under the
/// management group `group` when given.
async fn register(ts: &TestServer, id: &str, group: Option<&str>) {
    let mut body = json!({"displayName": format!("Subscription {id}")});
    if let Some(g) = group {
        body["managementGroupId"] = json!(g);
    }
    let (status, body) = ts
        .client
        .call(Method::PUT, &format!("/openpim/azure/subscriptions/{id}"), &ts.admin_token(), Some(&body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// A user and their ARM token.
async fn user(ts: &TestServer, upn: &str) -> (String, String) {
    let id = ts.create_user(upn).await;
    (id, arm_token_for(ts, upn))
}

async fn get(ts: &TestServer, path: &str, token: &str) -> Resp {
    arm(ts, Method::GET, path, Some(token), None).await
}

/// Every item of an ARM list, following `nextLink`s.
async fn list_all(ts: &TestServer, path: &str, token: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut next = Some(path.to_string());
    while let Some(url) = next {
        let r = get(ts, &url, token).await;
        assert_eq!(r.status, StatusCode::OK, "{url}: {}", r.body);
        items.extend(r.body["value"].as_array().unwrap().iter().cloned());
        next = r.body["nextLink"].as_str().map(str::to_string);
    }
    items
}

fn names(items: &[Value]) -> Vec<&str> {
    items.iter().map(|r| r["properties"]["roleName"].as_str().unwrap()).collect()
}

fn custom_role(name: &str, scopes: &[&str]) -> Value {
    json!({"properties": {
        "roleName": name,
        "description": "Contributor without authorization deletes",
        "type": "CustomRole",
        "permissions": [{"actions": ["*"], "notActions": ["Microsoft.Authorization/*/Delete"], "dataActions": [], "notDataActions": []}],
        "assignableScopes": scopes,
    }})
}

async fn put(ts: &TestServer, scope: &str, id: &str, token: &str, body: &Value) -> Resp {
    arm(ts, Method::PUT, &format!("{scope}/{DEFS}/{id}?{V}"), Some(token), Some(body)).await
}

#[tokio::test]
async fn built_in_roles_are_served_at_every_level() {
    let ts = TestServer::start().await;
    let (reader_id, reader) = user(&ts, "reader@openpim.test").await;
    let (_, nobody) = user(&ts, "nobody@openpim.test").await;
    grant(&ts, &reader_id, READER, &sub(SUB), Kind::Assignment).await;

    // Tenant level: the tenant form of the id, for any signed-in caller.
    let r = get(&ts, &format!("/{DEFS}/{OWNER}?{V}"), &nobody).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["id"], format!("/{DEFS}/{OWNER}"));
    assert_eq!(r.body["name"], OWNER);
    assert_eq!(r.body["type"], "Microsoft.Authorization/roleDefinitions");
    let p = &r.body["properties"];
    assert_eq!((p["roleName"].as_str(), p["type"].as_str()), (Some("Owner"), Some("BuiltInRole")));
    assert_eq!(p["assignableScopes"], json!(["/"]));
    assert_eq!(
        p["permissions"],
        json!([{"actions": ["*"], "notActions": [], "dataActions": [], "notDataActions": []}])
    );
    assert!(p["createdBy"].is_null() && p["createdOn"].is_string() && p["updatedOn"].is_string(), "{p}");

    // At a subscription, its resource group or a resource below: the subscription form.
    for scope in [
        sub(SUB),
        format!("{}/resourceGroups/rg1", sub(SUB)),
        format!("{}/resourcegroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1", sub(SUB)),
    ] {
        let r = get(&ts, &format!("{scope}/{DEFS}/{}?{V}", OWNER.to_uppercase()), &reader).await;
        assert_eq!(r.status, StatusCode::OK, "{scope}: {}", r.body);
        assert_eq!(r.body["id"], format!("{}/{DEFS}/{OWNER}", sub(SUB)), "{scope}");
    }
    // The provider-qualified subscription and a doubled slash read the same.
    let r =
        get(&ts, &format!("/providers/Microsoft.Subscription/subscriptions/{SUB}//{DEFS}/{OWNER}?{V}"), &reader).await;
    assert_eq!(r.body["id"], format!("{}/{DEFS}/{OWNER}", sub(SUB)), "{}", r.body);

    // Conditions come through as the catalog has them.
    let r = get(&ts, &format!("/{DEFS}?{V}&$filter=roleName eq 'Key Vault Data Access Administrator'"), &reader).await;
    let perms = &r.body["value"][0]["properties"]["permissions"][0];
    assert!(perms["condition"].as_str().is_some_and(|c| c.contains("roleAssignments")), "{}", r.body);
    assert_eq!(perms["conditionVersion"], "2.0");

    // Lists: all 928 built-ins at a subscription (paged with next links), filters by name
    // (any case, URL-encoded or not) and type.
    let all = list_all(&ts, &format!("{}/{DEFS}?{V}", sub(SUB)), &reader).await;
    assert_eq!(all.len(), 928);
    assert!(all.iter().all(|r| r["properties"]["type"] == "BuiltInRole"));
    let r = get(&ts, &format!("{}/{DEFS}?{V}&$filter=roleName%20eq%20%27owner%27", sub(SUB)), &reader).await;
    assert_eq!(names(r.body["value"].as_array().unwrap()), ["Owner"], "{}", r.body);
    let r = get(&ts, &format!("/{DEFS}?{V}&$filter=roleName+eq+'Security+Reader'"), &reader).await;
    assert_eq!(r.body["value"][0]["name"], "39bc4728-0917-49c7-9d2c-d95423bc2eb4", "Azure's, not Entra's: {}", r.body);
    let r = get(&ts, &format!("/{DEFS}?{V}&$filter=type eq 'CustomRole'"), &reader).await;
    assert_eq!(r.body["value"], json!([]));
    // The versions the specs list are served; others refused.
    for version in ["2015-07-01", "2018-01-01-preview", "2022-05-01-preview"] {
        let r = get(&ts, &format!("/{DEFS}/{OWNER}?api-version={version}"), &reader).await;
        assert_eq!(r.status, StatusCode::OK, "{version}: {}", r.body);
    }
    assert_arm_error(&get(&ts, &format!("/{DEFS}/{OWNER}"), &reader).await, 400, "MissingApiVersionParameter");
    assert_arm_error(
        &get(&ts, &format!("/{DEFS}/{OWNER}?api-version=2099-01-01"), &reader).await,
        400,
        "InvalidApiVersionParameter",
    );

    // Errors: unknown ids, a filter ARM does not have, a scope the caller cannot read.
    let missing = "00000000-0000-4000-8000-000000000001";
    let r = get(&ts, &format!("{}/{DEFS}/{missing}?{V}", sub(SUB)), &reader).await;
    assert_arm_error(&r, 404, "RoleDefinitionDoesNotExist");
    assert!(r.body["error"]["message"].as_str().unwrap().contains(missing));
    assert_arm_error(&get(&ts, &format!("/{DEFS}/not-a-guid?{V}"), &reader).await, 404, "RoleDefinitionDoesNotExist");
    // An Entra role id names no Azure role.
    assert_arm_error(
        &get(&ts, &format!("/{DEFS}/{}?{V}", common::GLOBAL_ADMINISTRATOR), &reader).await,
        404,
        "RoleDefinitionDoesNotExist",
    );
    assert_arm_error(
        &get(&ts, &format!("/{DEFS}?{V}&$filter=description eq 'x'"), &reader).await,
        400,
        "InvalidFilter",
    );
    let r = get(&ts, &format!("{}/{DEFS}?{V}", sub(OTHER_SUB)), &reader).await;
    assert_arm_error(&r, 403, "AuthorizationFailed");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("Microsoft.Authorization/roleDefinitions/read"));
    assert_arm_error(&get(&ts, &format!("{}/{DEFS}/{OWNER}?{V}", sub(SUB)), &nobody).await, 403, "AuthorizationFailed");
    // Methods the resource does not have.
    let r = arm(&ts, Method::POST, &format!("/{DEFS}/{OWNER}?{V}"), Some(&reader), Some(&json!({}))).await;
    assert!(r.status.is_client_error(), "{}", r.body);
    ts.stop().await;
}

#[tokio::test]
async fn custom_roles_are_written_under_arms_rules() {
    let ts = TestServer::start().await;
    register(&ts, SUB, None).await;
    register(&ts, OTHER_SUB, None).await;
    let (owner_id, owner) = user(&ts, "owner@openpim.test").await;
    let (reader_id, reader) = user(&ts, "reader@openpim.test").await;
    grant(&ts, &owner_id, OWNER, &sub(SUB), Kind::Assignment).await;
    grant(&ts, &reader_id, READER, &sub(SUB), Kind::Assignment).await;
    let rg = format!("{}/resourceGroups/Prod", sub(SUB));
    let r = arm(
        &ts,
        Method::PUT,
        &format!("{rg}?api-version=2021-04-01"),
        Some(&owner),
        Some(&json!({"location": "westeurope"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let role_id = "6f1b9c2e-0d7a-4c3e-9a5b-1e2f3a4b5c6d";

    // Created at its assignable scope, with PascalCase keys as Microsoft's REST samples send.
    let body = json!({"Name": role_id, "Properties": {
        "RoleName": "Contributor (JIT)", "Description": "on call", "Type": "CustomRole",
        "Permissions": [{"Actions": ["*"], "NotActions": ["Microsoft.Authorization/*/Delete"]}],
        "AssignableScopes": [format!("/SUBSCRIPTIONS/{SUB}")]}});
    let r = put(&ts, &sub(SUB), role_id, &owner, &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["id"], format!("{}/{DEFS}/{role_id}", sub(SUB)));
    let p = &r.body["properties"];
    assert_eq!((p["type"].as_str(), p["roleName"].as_str()), (Some("CustomRole"), Some("Contributor (JIT)")));
    assert_eq!(p["assignableScopes"], json!([sub(SUB)]), "ARM's keyword spelling");
    assert_eq!(p["createdBy"], owner_id.as_str());
    assert_eq!(p["updatedBy"], owner_id.as_str());
    let created_on = p["createdOn"].clone();

    // Read back at every level it applies to, and listed where ARM lists it.
    assert_eq!(
        get(&ts, &format!("{rg}/{DEFS}/{role_id}?{V}"), &reader).await.body["properties"]["roleName"],
        "Contributor (JIT)"
    );
    let at = |scope: String, filter: &str| format!("{scope}/{DEFS}?{V}&$filter={filter}");
    assert_eq!(names(&list_all(&ts, &at(sub(SUB), "type eq 'CustomRole'"), &reader).await), ["Contributor (JIT)"]);
    assert_eq!(names(&list_all(&ts, &at(rg.clone(), "type eq 'CustomRole'"), &reader).await), ["Contributor (JIT)"]);
    assert_eq!(
        names(&list_all(&ts, &format!("/{DEFS}?{V}&$filter=type+eq+'CustomRole'"), &reader).await),
        ["Contributor (JIT)"]
    );
    let r = get(&ts, &at(sub(SUB), "roleName eq 'contributor (jit)'"), &reader).await;
    assert_eq!(r.body["value"][0]["name"], role_id, "{}", r.body);

    // The index resolves it: a holder gets Contributor's rights minus authorization deletes.
    let (holder_id, _) = user(&ts, "holder@openpim.test").await;
    let assignment = grant(&ts, &holder_id, role_id, &rg, Kind::Assignment).await;
    {
        let index = ts.server.state.index();
        let vm = Scope::Arm(ArmScope::parse(&format!("{rg}/providers/Microsoft.Compute/virtualMachines/vm1")).unwrap());
        let now = ts.server.state.now();
        let write = index.check_permission(
            uuid(&holder_id),
            Permission::AzureAction("Microsoft.Compute/virtualMachines/write"),
            &vm,
            now,
        );
        assert_eq!(write.map(|p| p.grant.role_definition_id), Some(uuid(role_id)));
        let delete = Permission::AzureAction("Microsoft.Authorization/roleAssignments/delete");
        assert!(index.check_permission(uuid(&holder_id), delete, &vm, now).is_none());
    }

    // A role assignable only at the resource group: listed at the subscription only with
    // atScopeAndBelow().
    let narrow_id = "7a2c0d3f-1e8b-4d4f-8b6c-2f3a4b5c6d7e";
    let r = put(&ts, &rg, narrow_id, &owner, &custom_role("Prod VM operator", &[&rg])).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["id"], format!("{}/{DEFS}/{narrow_id}", sub(SUB)));
    assert_eq!(names(&list_all(&ts, &at(sub(SUB), "type eq 'CustomRole'"), &reader).await), ["Contributor (JIT)"]);
    assert_eq!(
        names(&list_all(&ts, &at(sub(SUB), "type eq 'CustomRole' and atScopeAndBelow()"), &reader).await),
        ["Contributor (JIT)", "Prod VM operator"]
    );

    // Update: 201 again (the SDKs accept only 201), creation facts kept.
    let mut update = custom_role("Contributor (JIT)", &[&sub(SUB)]);
    update["properties"]["description"] = json!("on call, updated");
    let r = put(&ts, &sub(SUB), role_id, &owner, &update).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["properties"]["description"], "on call, updated");
    assert_eq!(r.body["properties"]["createdOn"], created_on);

    // The rules, each with ARM's error.
    let fresh = "8b3d1e4a-2f9c-4e5a-9c7d-3a4b5c6d7e8f";
    let cases: Vec<(String, Value, u16, &str)> = vec![
        (sub(SUB), custom_role("CONTRIBUTOR (jit)", &[&sub(SUB)]), 409, "RoleDefinitionWithSameNameExists"),
        (sub(SUB), custom_role("reader", &[&sub(SUB)]), 409, "RoleDefinitionWithSameNameExists"),
        (sub(SUB), custom_role("Everywhere", &["/"]), 400, "InvalidAssignableScopes"),
        (sub(SUB), custom_role("Bad scope", &[&sub(SUB), "/subscriptions/not-a-guid"]), 400, "InvalidAssignableScopes"),
        (sub(OTHER_SUB), custom_role("Elsewhere", &[&sub(SUB)]), 400, "InvalidRoleDefinitionScope"),
        (
            sub(SUB),
            json!({"properties": {"roleName": "Bogus", "permissions": [{"actions": ["Microsoft.Nothing/things/read"]}], "assignableScopes": [sub(SUB)]}}),
            400,
            "InvalidActionOrNotAction",
        ),
        (
            sub(SUB),
            json!({"properties": {"roleName": "Nothing", "permissions": [], "assignableScopes": [sub(SUB)]}}),
            400,
            "InvalidActions",
        ),
        (
            sub(SUB),
            json!({"properties": {"roleName": "x", "type": "BuiltInRole", "permissions": [{"actions": ["*/read"]}], "assignableScopes": [sub(SUB)]}}),
            400,
            "InvalidRoleDefinitionType",
        ),
        (
            sub(SUB),
            json!({"name": role_id, "properties": custom_role("Mismatch", &[&sub(SUB)])["properties"]}),
            400,
            "InvalidRequestContent",
        ),
        (
            sub(SUB),
            json!({"properties": {"roleName": "Blobs", "permissions": [{"dataActions": ["Microsoft.Storage/storageAccounts/read"]}], "assignableScopes": [sub(SUB)]}}),
            400,
            "InvalidDataActionOrNotDataAction",
        ),
        // The request parser's string limit (1,024 characters) comes before ARM's 2,048.
        (
            sub(SUB),
            json!({"properties": {"roleName": "Long", "description": "d".repeat(1025), "permissions": [{"actions": ["*/read"]}], "assignableScopes": [sub(SUB)]}}),
            400,
            "InvalidRequestContent",
        ),
        (
            sub(SUB),
            json!({"properties": {"roleName": "Wild", "permissions": [{"actions": ["Microsoft.*/*/read"]}], "assignableScopes": [sub(SUB)]}}),
            400,
            "InvalidActionOrNotAction",
        ),
        (
            sub(SUB),
            json!({"properties": {"roleName": "Conditional", "permissions": [{"actions": ["*/read"], "condition": "x", "conditionVersion": "2.0"}], "assignableScopes": [sub(SUB)]}}),
            400,
            "InvalidRoleDefinitionPermissions",
        ),
        (sub(SUB), json!({"properties": {"roleName": "x", "unknown": 1}}), 400, "InvalidRequestContent"),
        (sub(SUB), json!({"properties": {"roleName": "x", "permissions": "all"}}), 400, "InvalidRequestContent"),
        (sub(SUB), json!({"properties": {"permissions": []}}), 400, "InvalidRequestContent"),
        // Every assignable scope exists in the hierarchy (where the caller has rights; elsewhere
        // the answer is 403 whether it exists or not).
        (
            sub(SUB),
            custom_role("Unknown subscription", &[&sub(SUB), "/subscriptions/22222222-3333-4444-8555-666666666666"]),
            403,
            "AuthorizationFailed",
        ),
        (
            sub(SUB),
            custom_role("Unknown group", &[&sub(SUB), &format!("{}/resourceGroups/Nope", sub(SUB))]),
            404,
            "ResourceGroupNotFound",
        ),
    ];
    for (scope, body, status, code) in cases {
        let r = put(&ts, &scope, fresh, &owner, &body).await;
        assert_arm_error(&r, status, code);
    }
    let r = arm(&ts, Method::PUT, &format!("{}/{DEFS}/{fresh}?{V}", sub(SUB)), Some(&owner), None).await;
    assert_arm_error(&r, 400, "InvalidRequestContent");
    assert_arm_error(
        &put(&ts, &sub(SUB), "not-a-guid", &owner, &custom_role("x", &[&sub(SUB)])).await,
        400,
        "InvalidRoleDefinitionId",
    );
    // An Entra role's GUID is taken.
    let r = put(&ts, &sub(SUB), common::GLOBAL_ADMINISTRATOR, &owner, &custom_role("Entra twin", &[&sub(SUB)])).await;
    assert_arm_error(&r, 409, "RoleDefinitionIdInUse");
    // Built-in roles are read-only.
    assert_arm_error(
        &put(&ts, &sub(SUB), OWNER, &owner, &custom_role("Owner", &[&sub(SUB)])).await,
        400,
        "BuiltInRoleDefinitionCannotBeModified",
    );
    assert_arm_error(
        &put(&ts, &sub(SUB), READER, &owner, &custom_role("My reader", &[&sub(SUB)])).await,
        400,
        "BuiltInRoleDefinitionCannotBeModified",
    );
    let r = get(&ts, &format!("{}/{DEFS}/{fresh}?{V}", sub(SUB)), &reader).await;
    assert_arm_error(&r, 404, "RoleDefinitionDoesNotExist");

    // Rights: write on every assignable scope (and, for an update, on the ones it had).
    let r = put(&ts, &sub(SUB), fresh, &reader, &custom_role("Reader's role", &[&sub(SUB)])).await;
    assert_arm_error(&r, 403, "AuthorizationFailed");
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Microsoft.Authorization/roleDefinitions/write") && message.contains(&sub(SUB)),
        "{message}"
    );
    let r = put(&ts, &sub(SUB), fresh, &owner, &custom_role("Two subscriptions", &[&sub(SUB), &sub(OTHER_SUB)])).await;
    assert_arm_error(&r, 403, "AuthorizationFailed");
    assert!(r.body["error"]["message"].as_str().unwrap().contains(&sub(OTHER_SUB)), "{}", r.body);
    let (other_owner_id, other_owner) = user(&ts, "other-owner@openpim.test").await;
    grant(&ts, &other_owner_id, OWNER, &sub(OTHER_SUB), Kind::Assignment).await;
    let r =
        put(&ts, &sub(OTHER_SUB), role_id, &other_owner, &custom_role("Contributor (JIT)", &[&sub(OTHER_SUB)])).await;
    assert_arm_error(&r, 403, "AuthorizationFailed");
    assert!(
        r.body["error"]["message"].as_str().unwrap().contains(&sub(SUB)),
        "moving a role away needs rights where it was: {}",
        r.body
    );

    // Delete: refused while assigned (eligibilities too), 200 with the body, then 204.
    let delete_path = format!("{}/{DEFS}/{role_id}?{V}", sub(SUB));
    let delete = |token: String| {
        let (ts, path) = (&ts, delete_path.clone());
        async move { arm(ts, Method::DELETE, &path, Some(&token), None).await }
    };
    assert_arm_error(&delete(reader.clone()).await, 403, "AuthorizationFailed");
    assert_arm_error(&delete(owner.clone()).await, 409, "RoleDefinitionHasAssignments");
    revoke(&ts, assignment, Kind::Assignment).await;
    let eligibility = grant(&ts, &holder_id, role_id, &sub(SUB), Kind::Eligibility).await;
    assert_arm_error(&delete(owner.clone()).await, 409, "RoleDefinitionHasAssignments");
    revoke(&ts, eligibility, Kind::Eligibility).await;
    let r = delete(owner.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["name"], role_id);
    assert_eq!(r.body["properties"]["roleName"], "Contributor (JIT)");
    assert_eq!(delete(owner.clone()).await.status, StatusCode::NO_CONTENT);
    assert_arm_error(&get(&ts, &format!("/{DEFS}/{role_id}?{V}"), &reader).await, 404, "RoleDefinitionDoesNotExist");
    assert!(ts.server.state.index().role(&uuid(role_id)).is_none(), "gone from the index too");
    let r = arm(&ts, Method::DELETE, &format!("{}/{DEFS}/{OWNER}?{V}", sub(SUB)), Some(&owner), None).await;
    assert_arm_error(&r, 400, "BuiltInRoleDefinitionCannotBeModified");
    // The name is free again.
    let r = put(&ts, &sub(SUB), fresh, &owner, &custom_role("Contributor (JIT)", &[&sub(SUB)])).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    // Every change and refusal is in the audit log.
    let admin = ts.admin_token();
    for (activity, result) in [
        ("Add Azure role definition", "success"),
        ("Add Azure role definition", "failure"),
        ("Update Azure role definition", "success"),
        ("Update Azure role definition", "failure"),
        ("Delete Azure role definition", "success"),
        ("Delete Azure role definition", "failure"),
    ] {
        let path = format!(
            "/v1.0/auditLogs/directoryAudits?$filter=activityDisplayName eq '{activity}' and result eq '{result}'"
        );
        let (status, body) = ts.client.get(&path, &admin).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(!body["value"].as_array().unwrap().is_empty(), "no {result} record of '{activity}'");
    }
    ts.stop().await;
}

#[tokio::test]
async fn a_tenant_holds_at_most_5000_custom_roles() {
    let ts = TestServer::start().await;
    register(&ts, SUB, None).await;
    let (owner_id, owner) = user(&ts, "owner@openpim.test").await;
    grant(&ts, &owner_id, OWNER, &sub(SUB), Kind::Assignment).await;
    let state = &ts.server.state;
    let now = state.now();
    let mut tx = state.store.begin_write().await.unwrap();
    for n in 0..4999u32 {
        let role = openpim_core::roles::azure::CustomRoleWrite {
            id: ObjectId::new_v4(),
            scope: Some(ArmScope::parse(&sub(SUB)).unwrap()),
            role_name: format!("Custom role {n}"),
            description: String::new(),
            role_type: None,
            assignable_scopes: vec![sub(SUB)],
            permissions: vec![openpim_core::roles::RolePermission {
                allowed_resource_actions: vec!["*/read".into()],
                ..Default::default()
            }],
        }
        .build(None, uuid(&owner_id), now)
        .unwrap();
        tx.insert_role_definition(&role).await.unwrap();
    }
    state.commit(tx, &record("4999 custom roles")).await.unwrap();
    let r =
        put(&ts, &sub(SUB), "9c4e2f5b-3a0d-4f6b-8d8e-4b5c6d7e8f90", &owner, &custom_role("The 5000th", &[&sub(SUB)]))
            .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r =
        put(&ts, &sub(SUB), "ad5f3a6c-4b1e-4a7c-9e9f-5c6d7e8f9a01", &owner, &custom_role("One too many", &[&sub(SUB)]))
            .await;
    assert_arm_error(&r, 400, "RoleDefinitionLimitExceeded");
    // Updating an existing role is still possible at the limit.
    let r = put(
        &ts,
        &sub(SUB),
        "9c4e2f5b-3a0d-4f6b-8d8e-4b5c6d7e8f90",
        &owner,
        &custom_role("The 5000th, renamed", &[&sub(SUB)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    ts.stop().await;
}

/// The catalog is loaded once: a second load writes nothing, and a built-in role changed in the
/// store (as an older catalog would have left it) is brought back to the catalog's.
#[tokio::test]
async fn the_catalog_load_is_idempotent() {
    let ts = TestServer::start().await;
    let store = &ts.server.state.store;
    let now = ts.server.state.now();
    let load = openpim_server::bootstrap::ensure_azure_catalog(store, now).await.unwrap();
    assert_eq!((load.added, load.updated), (0, 0));
    let owner = store.azure_role_definition(uuid(OWNER)).await.unwrap().unwrap();
    let mut stale = owner.clone();
    stale.description = "an older description".into();
    stale.role_permissions[0].allowed_resource_actions = vec!["*/read".into()];
    let mut tx = store.begin_write().await.unwrap();
    tx.update_role_definition(&stale).await.unwrap();
    tx.commit(&record("stale owner"), |_| {}).await.unwrap();
    let load = openpim_server::bootstrap::ensure_azure_catalog(store, now).await.unwrap();
    assert_eq!((load.added, load.updated), (0, 1));
    let restored = store.azure_role_definition(uuid(OWNER)).await.unwrap().unwrap();
    assert_eq!(restored.role_permissions, owner.role_permissions);
    assert_eq!((restored.description.as_str(), restored.created), (owner.description.as_str(), owner.created));
    assert_eq!(store.azure_role_definitions().await.unwrap().len(), 928);
    ts.stop().await;
}

/// A custom role assignable at a management group is listed at the subscriptions below it (the
/// tree the hierarchy keeps in the index), and writing one needs the right at the group.
#[tokio::test]
async fn management_group_roles_reach_their_subscriptions() {
    let ts = TestServer::start().await;
    let (owner_id, owner) = user(&ts, "mg-owner@openpim.test").await;
    let group = "/providers/Microsoft.Management/managementGroups/Apps";
    grant(&ts, &owner_id, OWNER, &sub(SUB), Kind::Assignment).await;
    // Creating the group takes the right to write groups under the tenant root: Owner there,
    // seeded in the index as the hierarchy tests do.
    common::arm::grant_azure_role(
        &ts,
        uuid(&owner_id),
        "Owner",
        &format!("/providers/Microsoft.Management/managementGroups/{}", tenant_root(&ts).await),
    );
    let r = arm(&ts, Method::PUT, &format!("{group}?api-version=2021-04-01"), Some(&owner), Some(&json!({}))).await;
    assert!(r.status.is_success(), "{}", r.body);
    register(&ts, SUB, Some("Apps")).await;

    let role_id = "be6f4a7d-5c2f-4b8d-8f0a-6d7e8f9a0b12";
    let r = put(&ts, group, role_id, &owner, &custom_role("Apps operator", &[group])).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["id"], format!("{group}/{DEFS}/{role_id}"));
    let listed = list_all(&ts, &format!("{}/{DEFS}?{V}&$filter=type eq 'CustomRole'", sub(SUB)), &owner).await;
    assert_eq!(names(&listed), ["Apps operator"]);
    // Two management groups are one too many; an unknown group does not exist.
    let r = put(
        &ts,
        group,
        "cf7a5b8e-6d3a-4c9e-9a1b-7e8f9a0b1c23",
        &owner,
        &custom_role("Two groups", &[group, "/providers/Microsoft.Management/managementGroups/Other"]),
    )
    .await;
    assert_arm_error(&r, 400, "InvalidAssignableScopes");
    // A group that does not exist is in no tree, so no right reaches it: 403, as for a group
    // the caller may not see.
    let other = "/providers/Microsoft.Management/managementGroups/Nowhere";
    let r = put(&ts, other, "cf7a5b8e-6d3a-4c9e-9a1b-7e8f9a0b1c23", &owner, &custom_role("Nowhere", &[other])).await;
    assert_arm_error(&r, 403, "AuthorizationFailed");
    ts.stop().await;
}

/// The tenant root management group's id (the tenant id, from /healthz).
async fn tenant_root(ts: &TestServer) -> String {
    let (_, health) = ts.client.get("/healthz", "").await;
    health["tenantId"].as_str().expect("tenantId in /healthz").to_string()
}
