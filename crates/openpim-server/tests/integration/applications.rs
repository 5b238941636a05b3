//! `/applications` and `/servicePrincipals` (issue #13): applications are directory scopes
//! (`/{applicationObjectId}`), service principals are principals that can hold roles.

use crate::common;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const APPS: &str = "/v1.0/applications";
const SPS: &str = "/v1.0/servicePrincipals";
const APPLICATION_ADMINISTRATOR: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";
const CLOUD_APPLICATION_ADMINISTRATOR: &str = "158c047a-c907-4556-b7ef-446551a6b5f7";
const AUDITS: &str = "/v1.0/auditLogs/directoryAudits";

async fn create_app(ts: &TestServer, token: &str, name: &str) -> Value {
    let (status, app) = ts.client.post(APPS, token, json!({"displayName": name})).await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    app
}

async fn create_sp(ts: &TestServer, token: &str, app: &Value) -> Value {
    let (status, sp) = ts.client.post(SPS, token, json!({"appId": app["appId"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{sp}");
    sp
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

#[tokio::test]
async fn application_and_service_principal_crud() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();

    let app = create_app(&ts, &admin, "Payroll").await;
    assert!(app["@odata.context"].as_str().unwrap().ends_with("$metadata#applications/$entity"), "{app}");
    assert_eq!(app["@odata.type"], "#microsoft.graph.application");
    assert_eq!(app["displayName"], "Payroll");
    let app_id = app["appId"].as_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&app_id).is_ok() && app_id != id(&app), "{app}");
    create_app(&ts, &admin, "Expenses").await;

    let (status, got) = ts.client.get(&format!("{APPS}/{}", id(&app)), &admin).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["appId"], app_id.as_str());
    let (status, list) =
        ts.client.get(&format!("{APPS}?$filter=displayName eq 'payroll'&$select=id,appId"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(ids(&list), vec![id(&app)]);
    assert_eq!(list["value"][0].get("displayName"), None, "$select keeps only id and appId: {list}");
    let (status, list) = ts.client.get(&format!("{APPS}?$filter=appId eq '{app_id}'"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(ids(&list), vec![id(&app)]);
    let (status, page) = ts.client.get(&format!("{APPS}?$top=1"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(ids(&page).len(), 1);
    assert!(page["@odata.nextLink"].is_string(), "{page}");
    let (status, counted) = ts.client.get_eventual(&format!("{APPS}?$count=true"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{counted}");
    assert_eq!(counted["@odata.count"], 2);
    let (status, n) = ts.client.get_eventual(&format!("{APPS}/$count"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{n}");
    assert_eq!(n, json!(2));

    // Update; appId is read-only.
    let (status, body) = ts
        .client
        .patch(&format!("{APPS}/{}", id(&app)), &admin, json!({"displayName": "Payroll v2", "description": "HR"}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, got) = ts.client.get(&format!("{APPS}/{}", id(&app)), &admin).await;
    assert_eq!((got["displayName"].as_str(), got["description"].as_str()), (Some("Payroll v2"), Some("HR")));
    let (status, body) = ts
        .client
        .patch(&format!("{APPS}/{}", id(&app)), &admin, json!({"appId": uuid::Uuid::new_v4().to_string()}))
        .await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    // Bad input: missing name, unknown property, wrong type, bad id, unknown id.
    for bad in [json!({}), json!({"displayName": "x", "bogus": 1}), json!({"displayName": 5})] {
        let (status, body) = ts.client.post(APPS, &admin, bad).await;
        assert_graph_error(status, &body, 400, "Request_BadRequest");
    }
    let (status, body) = ts.client.get(&format!("{APPS}/nope"), &admin).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    let (status, body) = ts.client.get(&format!("{APPS}/{}", uuid::Uuid::new_v4()), &admin).await;
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");

    // A service principal for the application.
    let sp = create_sp(&ts, &admin, &app).await;
    assert!(sp["@odata.context"].as_str().unwrap().ends_with("$metadata#servicePrincipals/$entity"), "{sp}");
    assert_eq!(sp["@odata.type"], "#microsoft.graph.servicePrincipal");
    assert_eq!(sp["appId"], app_id.as_str());
    assert_eq!(sp["displayName"], "Payroll v2");
    assert_eq!(sp["appDisplayName"], "Payroll v2");
    assert_eq!(sp["servicePrincipalType"], "Application");
    assert_eq!(sp["accountEnabled"], true);
    // One per application; the appId must name an application of this tenant.
    let (status, body) = ts.client.post(SPS, &admin, json!({"appId": app_id})).await;
    assert_graph_error(status, &body, 409, "Request_MultipleObjectsWithSameKeyValue");
    let (status, body) = ts.client.post(SPS, &admin, json!({"appId": uuid::Uuid::new_v4().to_string()})).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    let (status, body) = ts.client.post(SPS, &admin, json!({"displayName": "no app"})).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    let (status, list) = ts.client.get(&format!("{SPS}?$filter=appId eq '{app_id}'"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(ids(&list), vec![id(&sp)]);
    let (status, n) = ts.client.get_eventual(&format!("{SPS}/$count"), &admin).await;
    assert_eq!((status, n), (StatusCode::OK, json!(1)));
    let (status, body) = ts.client.patch(&format!("{SPS}/{}", id(&sp)), &admin, json!({"accountEnabled": false})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, got) = ts.client.get(&format!("{SPS}/{}", id(&sp)), &admin).await;
    assert_eq!(got["accountEnabled"], false);

    // Every change is audited.
    let (status, audits) =
        ts.client.get(&format!("{AUDITS}?$filter=category eq 'ApplicationManagement'"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{audits}");
    let activities: Vec<&str> =
        audits["value"].as_array().unwrap().iter().filter_map(|a| a["activityDisplayName"].as_str()).collect();
    for expected in ["Add application", "Update application", "Add service principal", "Update service principal"] {
        assert!(activities.contains(&expected), "{expected} not audited: {activities:?}");
    }

    // Deleting the application deletes its service principal.
    let (status, body) = ts.client.delete(&format!("{APPS}/{}", id(&app)), &admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = ts.client.get(&format!("{APPS}/{}", id(&app)), &admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = ts.client.get(&format!("{SPS}/{}", id(&sp)), &admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    ts.stop().await;
}

/// A service principal holds roles (direct assignments and PIM eligibilities); the access check
/// sees them; `$expand=principal` renders it; deleting it removes what it held.
#[tokio::test]
async fn service_principals_hold_roles() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let app = create_app(&ts, &admin, "Automation").await;
    let sp = create_sp(&ts, &admin, &app).await;
    let sp_id = id(&sp);

    let assignment = ts.assign_role(&sp_id, USER_ADMINISTRATOR, "/").await;
    let (status, a) = ts.client.get(&format!("{RM}/roleAssignments/{assignment}?$expand=principal"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert_eq!(a["principal"]["@odata.type"], "#microsoft.graph.servicePrincipal", "{a}");
    assert_eq!(a["principal"]["id"], sp_id.as_str());

    let (status, check) = ts
        .client
        .get(&format!("/v1.0/openpim/accessCheck?action=microsoft.directory/users/create&principalId={sp_id}"), &admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{check}");
    assert_eq!(check["allowed"], true, "{check}");

    let (status, body) = ts
        .client
        .post(
            &format!("{RM}/roleEligibilityScheduleRequests"),
            &admin,
            json!({"action": "adminAssign", "principalId": sp_id, "roleDefinitionId": GROUPS_ADMINISTRATOR,
                   "directoryScopeId": "/", "scheduleInfo": {"expiration": {"type": "noExpiration"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) =
        ts.client.get(&format!("{RM}/roleEligibilityScheduleRequests/{}?$expand=principal", id(&body)), &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["principal"]["@odata.type"], "#microsoft.graph.servicePrincipal", "{body}");

    // Deleting the service principal removes its assignment and eligibility, and the index
    // forgets what it held.
    let (status, body) = ts.client.delete(&format!("{SPS}/{sp_id}"), &admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    for set in ["roleAssignments", "roleEligibilitySchedules"] {
        let (status, list) = ts.client.get(&format!("{RM}/{set}?$filter=principalId eq '{sp_id}'"), &admin).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert!(ids(&list).is_empty(), "{set}: {list}");
    }
    let (_, check) = ts
        .client
        .get(&format!("/v1.0/openpim/accessCheck?action=microsoft.directory/users/create&principalId={sp_id}"), &admin)
        .await;
    assert_eq!(check["allowed"], false, "{check}");
    let (status, audits) =
        ts.client.get(&format!("{AUDITS}?$filter=activityDisplayName eq 'Delete service principal'"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{audits}");
    assert_eq!(ids(&audits).len(), 1, "{audits}");
    ts.stop().await;
}

/// The documented application-scoped assignment: `directoryScopeId: "/{applicationObjectId}"`.
/// An Application Administrator assigned there manages that application and no other; deleting
/// the application removes the assignment.
#[tokio::test]
async fn application_scoped_assignments() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let app = create_app(&ts, &admin, "Scoped").await;
    let other = create_app(&ts, &admin, "Other").await;
    let app_scope = format!("/{}", id(&app));

    let dev = ts.create_user("appdev@openpim.test").await;
    let token = ts.token_for("appdev@openpim.test");
    let assignment = ts.assign_role(&dev, APPLICATION_ADMINISTRATOR, &app_scope).await;
    let (status, a) = ts.client.get(&format!("{RM}/roleAssignments/{assignment}?$expand=directoryScope"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert_eq!(a["directoryScopeId"], app_scope.as_str());
    assert_eq!(a["directoryScope"]["@odata.type"], "#microsoft.graph.application", "{a}");
    assert_eq!(a["directoryScope"]["id"], id(&app).as_str());

    // Rights over this application only.
    let (status, body) = ts.client.patch(&format!("{APPS}/{}", id(&app)), &token, json!({"description": "mine"})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) =
        ts.client.patch(&format!("{APPS}/{}", id(&other)), &token, json!({"description": "not mine"})).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    let (status, body) = ts.client.post(APPS, &token, json!({"displayName": "New"})).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");

    // A scope naming nothing is refused.
    let (status, body) = ts
        .client
        .post(
            &format!("{RM}/roleAssignments"),
            &admin,
            json!({"principalId": dev, "roleDefinitionId": APPLICATION_ADMINISTRATOR,
                   "directoryScopeId": format!("/{}", uuid::Uuid::new_v4())}),
        )
        .await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");

    // Deleting the application removes what was scoped to it.
    let (status, body) = ts.client.delete(&format!("{APPS}/{}", id(&app)), &token).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, list) = ts.client.get(&format!("{RM}/roleAssignments?$filter=principalId eq '{dev}'"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(ids(&list).is_empty(), "{list}");
    ts.stop().await;
}

/// Application and Cloud Application Administrators manage applications and service
/// principals; a user without a role may read but not change them.
#[tokio::test]
async fn who_may_manage_applications() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let (_, plain) = {
        let id = ts.create_user("plain@openpim.test").await;
        (id, ts.token_for("plain@openpim.test"))
    };
    let app = create_app(&ts, &admin, "Shared").await;
    let (status, body) = ts.client.get(APPS, &plain).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = ts.client.post(APPS, &plain, json!({"displayName": "Nope"})).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    let (status, body) = ts.client.post(SPS, &plain, json!({"appId": app["appId"]})).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    let (status, body) = ts.client.delete(&format!("{APPS}/{}", id(&app)), &plain).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    assert_eq!(ts.count(APPS).await, 1);

    for (upn, role) in [
        ("appadmin@openpim.test", APPLICATION_ADMINISTRATOR),
        ("cloudadmin@openpim.test", CLOUD_APPLICATION_ADMINISTRATOR),
    ] {
        let (_, token) = ts.user_with_role(upn, role).await;
        let mine = create_app(&ts, &token, upn).await;
        let sp = create_sp(&ts, &token, &mine).await;
        let (status, body) =
            ts.client.patch(&format!("{SPS}/{}", id(&sp)), &token, json!({"accountEnabled": false})).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let (status, body) = ts.client.delete(&format!("{SPS}/{}", id(&sp)), &token).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let (status, body) = ts.client.delete(&format!("{APPS}/{}", id(&mine)), &token).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }

    // A service principal holding a privileged role is protected: an Application Administrator
    // may not delete it (that takes someone who may assign roles).
    let privileged = create_sp(&ts, &admin, &app).await;
    ts.assign_role(&id(&privileged), PRIVILEGED_ROLE_ADMINISTRATOR, "/").await;
    let token = ts.token_for("appadmin@openpim.test");
    let (status, body) = ts.client.delete(&format!("{SPS}/{}", id(&privileged)), &token).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    let (status, body) = ts.client.delete(&format!("{APPS}/{}", id(&app)), &token).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    let (status, _) = ts.client.get(&format!("{SPS}/{}", id(&privileged)), &admin).await;
    assert_eq!(status, StatusCode::OK);
    ts.stop().await;
}

/// A service principal may be a member of a role-assignable group and holds the group's roles
/// through it, as a user does; administrative units take only users and groups.
#[tokio::test]
async fn service_principals_hold_roles_through_groups() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let app = create_app(&ts, &admin, "Grouped").await;
    let sp = id(&create_sp(&ts, &admin, &app).await);
    let group = ts.create_group("Robots", true).await;
    ts.assign_role(&group, USER_ADMINISTRATOR, "/").await;
    ts.add_group_member(&group, &sp).await;
    let check = format!("/v1.0/openpim/accessCheck?action=microsoft.directory/users/create&principalId={sp}");
    let (status, body) = ts.client.get(&check, &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["allowed"], true, "{body}");
    assert_eq!(body["grantedBy"]["groupId"], group.as_str(), "{body}");
    let (status, members) = ts.client.get(&format!("/v1.0/groups/{group}/members"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{members}");
    assert_eq!(members["value"][0]["@odata.type"], "#microsoft.graph.servicePrincipal", "{members}");

    let au = ts.create_au("Unit").await;
    let (status, body) =
        ts.client.post(&format!("/v1.0/directory/administrativeUnits/{au}/members/$ref"), &admin, reference(&sp)).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");

    let (status, body) = ts.client.delete(&format!("/v1.0/groups/{group}/members/{sp}/$ref"), &admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, body) = ts.client.get(&check, &admin).await;
    assert_eq!(body["allowed"], false, "{body}");
    ts.stop().await;
}
