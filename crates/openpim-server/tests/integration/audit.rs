//! `/auditLogs/directoryAudits`: every change and every denied attempt is recorded.

use crate::common;

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

fn detail<'a>(audit: &'a Value, key: &str) -> Option<&'a str> {
    audit["additionalDetails"].as_array()?.iter().find(|d| d["key"] == key)?["value"].as_str()
}

#[tokio::test]
async fn records_name_every_target_and_the_initiator_even_refusals() {
    let ts = TestServer::start().await;
    let user = ts.create_user_named("named@openpim.test", "Named Person").await;
    // The role assignment's writer knows the role's name but only the principal's id.
    ts.assign_role(&user, GLOBAL_READER, "/").await;
    let all = audits(&ts, "").await;
    let added = find(&all, "Add member to role", &user);
    assert_eq!(added.len(), 1, "{all:#?}");
    let e = added[0];
    let principal = e["targetResources"].as_array().unwrap().iter().find(|t| t["id"] == user.as_str()).unwrap();
    assert_eq!(principal["displayName"], "Named Person", "{e}");
    assert_eq!(principal["userPrincipalName"], "named@openpim.test", "{e}");
    assert!(e["initiatedBy"]["user"]["displayName"].is_string(), "{e}");
    assert_eq!(detail(e, "directoryScopeName"), Some("Directory"), "{e}");

    // A refused attempt (no right to assign roles) is named too.
    let token = ts.token_for("named@openpim.test");
    let (status, body) = ts
        .client
        .post(
            &format!("{RM}/roleAssignments"),
            &token,
            json!({"principalId": user, "roleDefinitionId": GLOBAL_ADMINISTRATOR, "directoryScopeId": "/"}),
        )
        .await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    let mine = audits(&ts, &format!("$filter=initiatedBy/user/id eq '{user}'")).await;
    assert_eq!(mine.len(), 1, "{mine:#?}");
    let refused = &mine[0];
    assert_eq!(refused["result"], "failure");
    assert_eq!(refused["initiatedBy"]["user"]["displayName"], "Named Person", "{refused}");
    assert_eq!(refused["targetResources"][0]["displayName"], "Global Administrator", "{refused}");
    assert_eq!(detail(refused, "principalName"), Some("Named Person"), "{refused}");
    assert_eq!(detail(refused, "directoryScopeName"), Some("Directory"), "{refused}");
    // And the initiator's name can be filtered on.
    let by_name = audits(&ts, "$filter=initiatedBy/user/displayName eq 'Named Person'").await;
    assert_eq!(by_name.len(), 1, "{by_name:#?}");
    ts.stop().await;
}

#[tokio::test]
async fn policy_changes_record_old_and_new_values() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let rows = ts
        .list_all(
            &format!(
                "/v1.0/policies/roleManagementPolicyAssignments?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '{USER_ADMINISTRATOR}'"
            ),
            &admin,
        )
        .await;
    let policy = rows[0]["policyId"].as_str().unwrap().to_string();
    let (status, body) = ts
        .client
        .patch(
            &format!("/v1.0/policies/roleManagementPolicies/{policy}/rules/Expiration_EndUser_Assignment"),
            &admin,
            json!({"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
                   "id": "Expiration_EndUser_Assignment", "isExpirationRequired": true, "maximumDuration": "PT2H"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let all = audits(&ts, "").await;
    let changed = find(&all, "Update role setting in PIM", USER_ADMINISTRATOR);
    assert_eq!(changed.len(), 1, "{all:#?}");
    let e = changed[0];
    let role = &e["targetResources"][0];
    assert_eq!(role["displayName"], "User Administrator", "{e}");
    let modified = role["modifiedProperties"].as_array().unwrap();
    assert_eq!(modified.len(), 1, "only the changed property: {e}");
    assert_eq!(modified[0]["displayName"], "Expiration_EndUser_Assignment.maximumDuration", "{e}");
    assert_eq!(modified[0]["oldValue"], "\"PT8H\"", "{e}");
    assert_eq!(modified[0]["newValue"], "\"PT2H\"", "{e}");
    assert_eq!(detail(e, "ruleId"), Some("Expiration_EndUser_Assignment"), "{e}");
    ts.stop().await;
}

// ---------------------------------------------------------------- the CSV export

const CSV: &str = "/v1.0/openpim/auditLogs/directoryAudits/csv";

/// Parses RFC 4180 text (quoted fields, doubled quotes, CRLF records) into records.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {
                chars.next();
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => panic!("unquoted character {c:?} in a CSV that quotes every field"),
        }
    }
    assert!(field.is_empty() && record.is_empty(), "the CSV ends with CRLF");
    records
}

async fn get_csv(ts: &TestServer, query: &str, token: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let path = if query.is_empty() { CSV.to_string() } else { format!("{CSV}?{query}") };
    let resp = ts.client.http.get(ts.client.url(&path)).bearer_auth(token).send().await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap())
}

#[tokio::test]
async fn the_csv_export_holds_every_record_exactly_once_across_pages() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    // 520 users: more than two of the export's pages of records.
    for i in 0..520 {
        ts.create_user(&format!("bulk{i}@openpim.test")).await;
    }
    // A display name a spreadsheet would run as a formula, in a field the CSV carries verbatim.
    ts.create_user_named("formula@openpim.test", "=HYPERLINK(\"http://x\",\"y\")").await;
    let (status, _) = ts
        .client
        .post(
            "/v1.0/users",
            &ts.token_for("formula@openpim.test"),
            json!({"userPrincipalName": "z@openpim.test", "displayName": "Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let json_ids: Vec<String> = audits(&ts, "").await.iter().map(|a| a["id"].as_str().unwrap().to_string()).collect();
    assert!(json_ids.len() > 520, "{}", json_ids.len());
    let (status, headers, text) = get_csv(&ts, "", &admin).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(headers[reqwest::header::CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"));
    let records = parse_csv(&text);
    let header = &records[0];
    assert_eq!(header[0], "activityDateTime");
    assert!(text.starts_with("\"activityDateTime\",\"category\","), "every field is quoted: {}", &text[..80]);
    let id_col = header.iter().position(|h| h == "id").unwrap();
    let csv_ids: Vec<String> = records[1..].iter().map(|r| r[id_col].clone()).collect();
    assert!(records.iter().all(|r| r.len() == header.len()), "every record has every column");
    let unique: std::collections::HashSet<&String> = csv_ids.iter().collect();
    assert_eq!(unique.len(), csv_ids.len(), "no record twice");
    assert_eq!(csv_ids, json_ids, "every record once, newest first, as the API lists them");

    // Formula injection is defused; other fields are left as they are.
    let name_col = header.iter().position(|h| h == "initiatedByUserDisplayName").unwrap();
    let refused = records.iter().find(|r| r[name_col].contains("HYPERLINK")).expect("the refused attempt");
    assert_eq!(refused[name_col], "'=HYPERLINK(\"http://x\",\"y\")");

    // $filter narrows, $top caps the rows, $orderby orders.
    let (_, _, text) = get_csv(&ts, "$filter=result%20eq%20'failure'", &admin).await;
    let failures = parse_csv(&text);
    assert_eq!(failures.len(), 2, "the header and the one refusal: {text}");
    let (_, _, text) = get_csv(&ts, "$top=5", &admin).await;
    assert_eq!(parse_csv(&text).len(), 6, "{text}");
    let (_, _, text) = get_csv(&ts, "$orderby=activityDateTime%20asc&$top=1", &admin).await;
    let oldest = parse_csv(&text);
    assert_eq!(oldest[1][id_col], *json_ids.last().unwrap());

    // A bad filter and a missing right are Graph errors before any row.
    let (status, _, text) = get_csv(&ts, "$filter=nonsense%20eq%201", &admin).await;
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("a Graph error, not CSV: {text}"));
    assert_graph_error(status, &body, 400, "BadRequest");
    ts.create_user("plain@openpim.test").await;
    let (status, _, text) = get_csv(&ts, "", &ts.token_for("plain@openpim.test")).await;
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("a Graph error, not CSV: {text}"));
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    ts.stop().await;
}

#[tokio::test]
async fn application_scopes_and_service_principals_are_named() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let (status, app) = ts.client.post("/v1.0/applications", &admin, json!({"displayName": "Payroll App"})).await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    let app_id = app["id"].as_str().unwrap().to_string();
    let (status, sp) = ts.client.post("/v1.0/servicePrincipals", &admin, json!({"appId": app["appId"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{sp}");
    let sp_id = sp["id"].as_str().unwrap().to_string();
    let user = ts.create_user_named("appdev@openpim.test", "App Developer").await;
    // Application Administrator over one application: the scope is named after it.
    ts.assign_role(&user, "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", &format!("/{app_id}")).await;
    // A service principal holding a role is a ServicePrincipal target, named.
    ts.assign_role(&sp_id, GLOBAL_READER, "/").await;

    let all = audits(&ts, "").await;
    let scoped = find(&all, "Add member to role", &user);
    assert_eq!(scoped.len(), 1, "{all:#?}");
    assert_eq!(detail(scoped[0], "directoryScopeName"), Some("Payroll App"), "{}", scoped[0]);
    let held = find(&all, "Add member to role", &sp_id);
    assert_eq!(held.len(), 1, "{all:#?}");
    let target = held[0]["targetResources"].as_array().unwrap().iter().find(|t| t["id"] == sp_id.as_str()).unwrap();
    assert_eq!(target["type"], "ServicePrincipal", "{}", held[0]);
    assert_eq!(target["displayName"], sp["displayName"], "{}", held[0]);
    // Application records read back with their own category and target type.
    let added = find(&all, "Add application", &app_id);
    assert_eq!(added.len(), 1, "{all:#?}");
    assert_eq!(added[0]["category"], "ApplicationManagement", "{}", added[0]);
    assert_eq!(added[0]["targetResources"][0]["type"], "Application", "{}", added[0]);
    ts.stop().await;
}

/// `openpim_targets` (an OpenPIM filter-only extension): records naming a target, by its name,
/// sign-in name or id, case-insensitively, on both stores.
#[tokio::test]
async fn records_filter_by_their_targets() {
    let ts = TestServer::start().await;
    let alice = ts.create_user_named("alice@openpim.test", "Alice Quote\"s").await;
    let bob = ts.create_user("bob@openpim.test").await;
    ts.assign_role(&bob, GLOBAL_READER, "/").await;

    let alices = audits(&ts, "$filter=contains(openpim_targets,'ALICE@openpim')").await;
    assert_eq!(alices.len(), 1, "{alices:#?}");
    assert_eq!(alices[0]["targetResources"][0]["id"], alice.as_str());
    let by_id = audits(&ts, &format!("$filter=contains(openpim_targets,'{bob}')")).await;
    assert_eq!(by_id.len(), 2, "bob's creation and his role: {by_id:#?}");
    // A role by its exact name as the record stores it (JSON text), quotes included.
    let reader = audits(&ts, "$filter=contains(openpim_targets,'\"displayName\":\"Global Reader\"')").await;
    assert_eq!(reader.len(), 1, "{reader:#?}");
    assert_eq!(find(&reader, "Add member to role", &bob).len(), 1);
    let quoted = audits(&ts, "$filter=contains(openpim_targets,'\"displayName\":\"Alice Quote\\\"s\"')").await;
    assert_eq!(quoted.len(), 1, "{quoted:#?}");
    // Filter-only: it does not sort.
    let (status, _) = ts.client.get(&format!("{AUDITS}?$orderby=openpim_targets"), &ts.admin_token()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    ts.stop().await;
}
