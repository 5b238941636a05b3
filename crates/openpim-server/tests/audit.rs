//! `/auditLogs/directoryAudits`: every change and every denied attempt is recorded.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const AUDITS: &str = "/v1.0/auditLogs/directoryAudits";

async fn audits(ts: &TestServer, query: &str) -> Vec<Value> {
    let path = if query.is_empty() { AUDITS.to_string() } else { format!("{AUDITS}?{query}") };
    ts.list_all(&path, &ts.admin_token()).await
}

fn find<'a>(entries: &'a [Value], activity: &str, target: &str) -> Vec<&'a Value> {
    entries
        .iter()
        .filter(|e| {
            e["activityDisplayName"] == activity
                && e["targetResources"].as_array().unwrap().iter().any(|t| t["id"] == target)
        })
        .collect()
}

#[tokio::test]
async fn changes_are_audited() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let user = ts.create_user("audited@openpim.test").await;
    let group = ts.create_group("Audited Group", true).await;
    ts.add_group_member(&group, &user).await;
    let au = ts.create_au("Audited Unit").await;
    let assignment = ts.assign_role(&user, GLOBAL_READER, "/").await;
    let (status, _) = ts.client.patch(&format!("/v1.0/users/{user}"), &admin, json!({"jobTitle": "Auditor"})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = ts.client.delete(&format!("{RM}/roleAssignments/{assignment}"), &admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, role) = ts
        .client
        .post(
            &format!("{RM}/roleDefinitions"),
            &admin,
            json!({"displayName": "Audited Role", "isEnabled": true,
                   "rolePermissions": [{"allowedResourceActions": ["microsoft.directory/applications/basic/update"]}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let role_id = role["id"].as_str().unwrap().to_string();

    let (status, page) = ts.client.get(AUDITS, &admin).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page["@odata.context"].as_str().unwrap().ends_with("$metadata#auditLogs/directoryAudits"));
    let all = audits(&ts, "").await;

    let add_user = find(&all, "Add user", &user);
    assert_eq!(add_user.len(), 1, "{all:#?}");
    let e = add_user[0];
    assert_eq!(e["category"], "UserManagement");
    assert_eq!(e["result"], "success");
    assert_eq!(e["operationType"], "Add");
    assert_eq!(e["initiatedBy"]["user"]["id"], ts.admin_id.as_str());
    assert_eq!(e["initiatedBy"]["user"]["userPrincipalName"], ADMIN_UPN);
    assert_eq!(e["targetResources"][0]["id"], user.as_str());
    assert_eq!(e["targetResources"][0]["userPrincipalName"], "audited@openpim.test");
    assert!(time::OffsetDateTime::parse(
        e["activityDateTime"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339
    )
    .is_ok());
    uuid::Uuid::parse_str(e["id"].as_str().unwrap()).unwrap();

    for (activity, target, category) in [
        ("Update user", user.as_str(), "UserManagement"),
        ("Add group", group.as_str(), "GroupManagement"),
        ("Add member to group", group.as_str(), "GroupManagement"),
        ("Add administrative unit", au.as_str(), "DirectoryManagement"),
        ("Add member to role", GLOBAL_READER, "RoleManagement"),
        ("Add member to role", user.as_str(), "RoleManagement"),
        ("Remove member from role", user.as_str(), "RoleManagement"),
        ("Add role definition", role_id.as_str(), "RoleManagement"),
    ] {
        let found = find(&all, activity, target);
        assert_eq!(found.len(), 1, "{activity} on {target}: {all:#?}");
        assert_eq!(found[0]["category"], category, "{activity}");
        assert_eq!(found[0]["result"], "success", "{activity}");
        assert_eq!(found[0]["initiatedBy"]["user"]["id"], ts.admin_id.as_str(), "{activity}");
    }

    // Newest first by default.
    let times: Vec<&str> = all.iter().map(|e| e["activityDateTime"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted);

    // Get one by id.
    let (status, one) = ts.client.get(&format!("{AUDITS}/{}", e["id"].as_str().unwrap()), &admin).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["activityDisplayName"], "Add user");
    let (status, body) = ts.client.get(&format!("{AUDITS}/{}", uuid::Uuid::new_v4()), &admin).await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");
    ts.stop().await;
}

#[tokio::test]
async fn denied_attempts_are_audited() {
    let ts = TestServer::start().await;
    let plain_id = ts.create_user("plain@openpim.test").await;
    let token = ts.token_for("plain@openpim.test");
    let (status, body) =
        ts.client.post("/v1.0/users", &token, json!({"userPrincipalName": "x@openpim.test", "displayName": "X"})).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    let (status, body) = ts
        .client
        .post(
            &format!("{RM}/roleAssignments"),
            &token,
            json!({"principalId": plain_id, "roleDefinitionId": GLOBAL_ADMINISTRATOR, "directoryScopeId": "/"}),
        )
        .await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");

    let mine = audits(&ts, &format!("$filter=initiatedBy/user/id eq '{plain_id}'")).await;
    assert_eq!(mine.len(), 2, "{mine:#?}");
    for e in &mine {
        assert_eq!(e["result"], "failure", "{e}");
        assert!(!e["resultReason"].as_str().unwrap().is_empty(), "{e}");
        assert_eq!(e["initiatedBy"]["user"]["id"], plain_id.as_str());
    }
    let activities: Vec<&str> = mine.iter().map(|e| e["activityDisplayName"].as_str().unwrap()).collect();
    assert!(activities.contains(&"Add user") && activities.contains(&"Add member to role"), "{activities:?}");
    // The denied user creation created nothing.
    assert_eq!(ts.count("/v1.0/users").await, 2);
    ts.stop().await;
}

#[tokio::test]
async fn audit_filters() {
    let ts = TestServer::start().await;
    let user = ts.create_user("early@openpim.test").await;
    // A mark between the two batches of changes, with sub-second precision (as RFC 3339 allows).
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let now = time::OffsetDateTime::now_utc();
    let mark = now.replace_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    ts.assign_role(&user, GLOBAL_READER, "/").await;
    let later = ts.create_user("later@openpim.test").await;

    let rm = audits(&ts, "$filter=category eq 'RoleManagement'").await;
    assert!(!rm.is_empty());
    assert!(rm.iter().all(|e| e["category"] == "RoleManagement"), "{rm:#?}");
    assert_eq!(find(&rm, "Add member to role", &user).len(), 1);

    let stamp = mark.format(&time::format_description::well_known::Rfc3339).unwrap();
    let recent = audits(&ts, &format!("$filter=activityDateTime ge {stamp}")).await;
    assert_eq!(recent.len(), 2, "{stamp}: {recent:#?}");
    assert_eq!(find(&recent, "Add user", &later).len(), 1);
    assert_eq!(find(&recent, "Add user", &user).len(), 0);

    let by_admin = audits(&ts, &format!("$filter=initiatedBy/user/id eq '{}'", ts.admin_id)).await;
    assert_eq!(by_admin.len(), 3, "{by_admin:#?}");
    let combined = audits(&ts, &format!("$filter=category eq 'UserManagement' and activityDateTime ge {stamp}")).await;
    assert_eq!(combined.len(), 1);
    assert_eq!(combined[0]["targetResources"][0]["id"], later.as_str());
    let (status, body) = ts.client.get(&format!("{AUDITS}?$top=1"), &ts.admin_token()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&body).len(), 1);
    assert!(body["@odata.nextLink"].is_string());
    ts.stop().await;
}

#[tokio::test]
async fn who_may_read_the_audit_log() {
    let ts = TestServer::start().await;
    ts.create_user("plain@openpim.test").await;
    let (status, body) = ts.client.get(AUDITS, &ts.token_for("plain@openpim.test")).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    let any = audits(&ts, "").await;
    let (status, body) = ts
        .client
        .get(&format!("{AUDITS}/{}", any[0]["id"].as_str().unwrap()), &ts.token_for("plain@openpim.test"))
        .await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    let (_, ua) = ts.user_with_role("ua@openpim.test", USER_ADMINISTRATOR).await;
    let (status, body) = ts.client.get(AUDITS, &ua).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");

    let (_, reader) = ts.user_with_role("reader@openpim.test", GLOBAL_READER).await;
    let (status, body) = ts.client.get(AUDITS, &reader).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!ids(&body).is_empty());
    // A Global Reader still cannot change anything.
    let (status, body) = ts
        .client
        .post("/v1.0/users", &reader, json!({"userPrincipalName": "x@openpim.test", "displayName": "X"}))
        .await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    ts.stop().await;
}
