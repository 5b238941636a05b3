//! `/roleManagement/directory/roleDefinitions`: the built-in catalog and custom roles.

use crate::common;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn defs() -> String {
    format!("{RM}/roleDefinitions")
}

fn custom(name: &str) -> Value {
    json!({"displayName": name, "description": "Update basic properties of application registrations.",
           "rolePermissions": [{"allowedResourceActions": ["microsoft.directory/applications/basic/update"]}],
           "isEnabled": true})
}

#[tokio::test]
async fn built_in_catalog() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let (status, list) = ts.client.get(&defs(), &admin).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(list["@odata.context"].as_str().unwrap().ends_with("$metadata#roleManagement/directory/roleDefinitions"));
    let all = ts.list_all(&defs(), &admin).await;
    assert!(all.len() >= 60, "only {} built-in roles", all.len());
    assert!(all.iter().all(|r| r["isBuiltIn"] == true && r["id"] == r["templateId"]));

    let (status, body) = ts.client.get(&format!("{}?$filter=displayName eq 'Global Reader'", defs()), &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ids(&body), vec![GLOBAL_READER.to_string()]);

    let (status, body) = ts.client.get(&format!("{}?$filter=isBuiltIn eq false", defs()), &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(ids(&body).is_empty(), "{body}");

    let (status, body) =
        ts.client.get(&format!("{}?$filter=templateId eq '{GLOBAL_ADMINISTRATOR}'", defs()), &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ids(&body), vec![GLOBAL_ADMINISTRATOR.to_string()]);
    assert_eq!(body["value"][0]["displayName"], "Global Administrator");

    for (id, name) in [
        (GLOBAL_ADMINISTRATOR, "Global Administrator"),
        (PRIVILEGED_ROLE_ADMINISTRATOR, "Privileged Role Administrator"),
        (USER_ADMINISTRATOR, "User Administrator"),
    ] {
        let (status, r) = ts.client.get(&format!("{}/{id}", defs()), &admin).await;
        assert_eq!(status, StatusCode::OK, "{r}");
        assert!(r["@odata.context"].as_str().unwrap().ends_with("roleDefinitions/$entity"));
        assert_eq!(r["id"], id);
        assert_eq!(r["templateId"], id);
        assert_eq!(r["displayName"], name);
        assert_eq!(r["isBuiltIn"], true);
        assert_eq!(r["isEnabled"], true);
        let perms = r["rolePermissions"].as_array().unwrap();
        assert!(!perms.is_empty());
        assert!(!perms[0]["allowedResourceActions"].as_array().unwrap().is_empty(), "{r}");
    }

    let (status, body) = ts.client.get(&format!("{}/{}", defs(), uuid::Uuid::new_v4()), &admin).await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");
    ts.stop().await;
}

#[tokio::test]
async fn custom_role_lifecycle() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let before = ts.count(&defs()).await;

    let (status, r) = ts.client.post(&defs(), &admin, custom("Application Support")).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert!(r["@odata.context"].as_str().unwrap().ends_with("roleDefinitions/$entity"));
    let id = r["id"].as_str().unwrap().to_string();
    assert_eq!(r["isBuiltIn"], false);
    assert_eq!(r["isEnabled"], true);
    assert_eq!(r["templateId"], id.as_str());
    assert_eq!(r["displayName"], "Application Support");
    assert_eq!(
        r["rolePermissions"][0]["allowedResourceActions"],
        json!(["microsoft.directory/applications/basic/update"])
    );
    let (status, body) = ts.client.get(&format!("{}?$filter=isBuiltIn eq false", defs()), &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&body), vec![id.clone()]);

    // An action Entra does not allow in custom roles: 400 and nothing created.
    let mut bad = custom("Bad Role");
    bad["rolePermissions"][0]["allowedResourceActions"] = json!(["microsoft.directory/bogus/thing"]);
    let (status, body) = ts.client.post(&defs(), &admin, bad).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    assert!(body["error"]["message"].as_str().unwrap().contains("microsoft.directory/bogus/thing"), "{body}");
    // Missing rolePermissions, empty actions.
    let (status, body) = ts.client.post(&defs(), &admin, json!({"displayName": "No perms", "isEnabled": true})).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    let (status, body) = ts
        .client
        .post(
            &defs(),
            &admin,
            json!({"displayName": "Empty", "isEnabled": true, "rolePermissions": [{"allowedResourceActions": []}]}),
        )
        .await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    // Duplicate displayName (also against a built-in).
    for name in ["Application Support", "Global Reader"] {
        let (status, body) = ts.client.post(&defs(), &admin, custom(name)).await;
        assert_graph_error(status, &body, 400, "Request_BadRequest");
    }
    assert_eq!(ts.count(&defs()).await, before + 1);

    // PATCH the custom role.
    let (status, body) = ts
        .client
        .patch(&format!("{}/{id}", defs()), &admin, json!({"description": "Changed", "displayName": "App Support"}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, got) = ts.client.get(&format!("{}/{id}", defs()), &admin).await;
    assert_eq!(got["description"], "Changed");
    assert_eq!(got["displayName"], "App Support");
    let (status, body) = ts
        .client
        .patch(
            &format!("{}/{id}", defs()),
            &admin,
            json!({"rolePermissions": [{"allowedResourceActions": ["microsoft.directory/nope"]}]}),
        )
        .await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    let (_, got) = ts.client.get(&format!("{}/{id}", defs()), &admin).await;
    assert_eq!(
        got["rolePermissions"][0]["allowedResourceActions"],
        json!(["microsoft.directory/applications/basic/update"])
    );

    // Built-ins are read-only.
    let (status, body) =
        ts.client.patch(&format!("{}/{GLOBAL_READER}", defs()), &admin, json!({"description": "mine now"})).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    let (status, body) = ts.client.delete(&format!("{}/{GLOBAL_READER}", defs()), &admin).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    let (_, got) = ts.client.get(&format!("{}/{GLOBAL_READER}", defs()), &admin).await;
    assert_ne!(got["description"], "mine now");

    // Deleting a custom role that is still assigned fails until the assignment is gone.
    let user = ts.create_user("app@openpim.test").await;
    let assignment = ts.assign_role(&user, &id, "/").await;
    let (status, body) = ts.client.delete(&format!("{}/{id}", defs()), &admin).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    assert_eq!(ts.client.get(&format!("{}/{id}", defs()), &admin).await.0, StatusCode::OK);
    let (status, _) = ts.client.delete(&format!("{RM}/roleAssignments/{assignment}"), &admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = ts.client.delete(&format!("{}/{id}", defs()), &admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = ts.client.get(&format!("{}/{id}", defs()), &admin).await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");
    assert_eq!(ts.count(&defs()).await, before);
    ts.stop().await;
}

#[tokio::test]
async fn non_admins_cannot_manage_role_definitions() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let (_, existing) = ts.client.post(&defs(), &admin, custom("Existing")).await;
    let existing = existing["id"].as_str().unwrap().to_string();
    let before = ts.count(&defs()).await;
    ts.create_user("plain@openpim.test").await;
    let (_, ua) = ts.user_with_role("ua@openpim.test", USER_ADMINISTRATOR).await;
    for token in [ts.token_for("plain@openpim.test"), ua] {
        // Reading is allowed.
        assert_eq!(ts.client.get(&defs(), &token).await.0, StatusCode::OK);
        let (status, body) = ts.client.post(&defs(), &token, custom("Sneaky")).await;
        assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
        let (status, body) =
            ts.client.patch(&format!("{}/{existing}", defs()), &token, json!({"description": "x"})).await;
        assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
        let (status, body) = ts.client.delete(&format!("{}/{existing}", defs()), &token).await;
        assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    }
    assert_eq!(ts.count(&defs()).await, before);
    let (_, got) = ts.client.get(&format!("{}/{existing}", defs()), &admin).await;
    assert_ne!(got["description"], "x");

    // A Privileged Role Administrator may.
    let (_, pra) = ts.user_with_role("pra@openpim.test", PRIVILEGED_ROLE_ADMINISTRATOR).await;
    let (status, body) = ts.client.post(&defs(), &pra, custom("By PRA")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    ts.stop().await;
}

const DIRECTORY_READERS: &str = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b";
const HELPDESK_ADMINISTRATOR: &str = "729827e3-9c14-49f7-bb1b-9608f156bbb8";

/// Issue #13: built-in roles document `inheritsPermissionsFrom` (Groups and Helpdesk
/// Administrators inherit from Directory Readers); `$expand` used to return `[]` for every role.
#[tokio::test]
async fn expand_inherits_permissions_from() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    for role in [GROUPS_ADMINISTRATOR, HELPDESK_ADMINISTRATOR] {
        let (status, r) = ts.client.get(&format!("{}/{role}?$expand=inheritsPermissionsFrom", defs()), &admin).await;
        assert_eq!(status, StatusCode::OK, "{r}");
        let parents = r["inheritsPermissionsFrom"].as_array().unwrap_or_else(|| panic!("{r}"));
        assert_eq!(parents.len(), 1, "{r}");
        assert_eq!(parents[0]["id"], DIRECTORY_READERS);
        assert_eq!(parents[0]["displayName"], "Directory Readers");
        assert_eq!(parents[0]["isBuiltIn"], true);
    }
    // Roles without documented inheritance, and custom roles, expand to an empty list.
    let (_, r) =
        ts.client.get(&format!("{}/{GLOBAL_ADMINISTRATOR}?$expand=inheritsPermissionsFrom", defs()), &admin).await;
    assert_eq!(r["inheritsPermissionsFrom"], json!([]), "{r}");
    let (status, c) = ts.client.post(&defs(), &admin, custom("Inherits nothing")).await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    let (_, r) = ts
        .client
        .get(&format!("{}/{}?$expand=inheritsPermissionsFrom", defs(), c["id"].as_str().unwrap()), &admin)
        .await;
    assert_eq!(r["inheritsPermissionsFrom"], json!([]), "{r}");
    // The list expands too.
    let (status, body) = ts
        .client
        .get(
            &format!("{}?$filter=displayName eq 'Helpdesk Administrator'&$expand=inheritsPermissionsFrom", defs()),
            &admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"][0]["inheritsPermissionsFrom"][0]["id"], DIRECTORY_READERS, "{body}");
    ts.stop().await;
}

/// Issue #13: Graph's own create-roleDefinition example uses
/// `microsoft.directory/applications/basic/read`, and built-in roles' documented actions were
/// refused too; only undocumented or non-directory actions are refused now.
#[tokio::test]
async fn custom_roles_accept_every_documented_directory_action() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let body = json!({
        "description": "Update basic properties of application registrations",
        "displayName": "Application Registration Support Administrator",
        "rolePermissions": [{"allowedResourceActions": ["microsoft.directory/applications/basic/read"]}],
        "isEnabled": true
    });
    let (status, r) = ts.client.post(&defs(), &admin, body).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(
        r["rolePermissions"][0]["allowedResourceActions"],
        json!(["microsoft.directory/applications/basic/read"])
    );

    // An action only a built-in role's documented list names (Directory Readers').
    let mut from_builtin = custom("From the built-in lists");
    from_builtin["rolePermissions"][0]["allowedResourceActions"] = json!([
        "microsoft.directory/servicePrincipals/standard/read",
        "microsoft.directory/roleAssignments/standard/read"
    ]);
    let (status, r) = ts.client.post(&defs(), &admin, from_builtin).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");

    let before = ts.count(&defs()).await;
    for bad in
        ["microsoft.office365.supportTickets/allEntities/allTasks", "microsoft.directory/applications/basic/frob"]
    {
        let mut b = custom("Refused");
        b["rolePermissions"][0]["allowedResourceActions"] = json!([bad]);
        let (status, body) = ts.client.post(&defs(), &admin, b).await;
        assert_graph_error(status, &body, 400, "Request_BadRequest");
        assert!(body["error"]["message"].as_str().unwrap().contains(bad), "{body}");
    }
    assert_eq!(ts.count(&defs()).await, before);
    ts.stop().await;
}

/// The 928 built-in Azure roles live in the same store (issue #15) but Graph's directory
/// surfaces never show them: not in the list, its $count or a $filter, not by id, and not as an
/// update or delete target. Entra's own "Security Reader" (Azure has one too) is unaffected.
#[tokio::test]
async fn azure_roles_stay_out_of_graph() {
    const AZURE_OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let all = ts.list_all(&defs(), &admin).await;
    let entra_count = all.len();
    assert!(entra_count < 928, "{entra_count} roles: Azure roles leaked into Graph's list");
    assert!(all.iter().all(|r| r["id"] != AZURE_OWNER && r["displayName"] != "Owner"));
    let (status, count) = ts.client.get_eventual(&format!("{}/$count", defs()), &admin).await;
    assert_eq!(status, StatusCode::OK, "{count}");
    assert_eq!(count, json!(entra_count));

    let (status, body) = ts.client.get(&format!("{}?$filter=displayName eq 'Security Reader'", defs()), &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"].as_array().unwrap().len(), 1, "only Entra's Security Reader: {body}");
    assert_ne!(body["value"][0]["id"], "39bc4728-0917-49c7-9d2c-d95423bc2eb4", "Azure's Security Reader");

    let (status, body) = ts.client.get(&format!("{}/{AZURE_OWNER}", defs()), &admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) =
        ts.client.patch(&format!("{}/{AZURE_OWNER}", defs()), &admin, json!({"description": "x"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = ts.client.delete(&format!("{}/{AZURE_OWNER}", defs()), &admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}
