//! PIM security alerts (`/beta/identityGovernance/roleManagementAlerts`): each alert's trigger
//! and clearance driven by a fake clock and refreshes, configuration changes, dismissal until
//! the next change, the refresh operation, rights, and the notification queued when an alert
//! is raised. SQLite always; PostgreSQL too when `OPENPIM_TEST_POSTGRES_URL` is set.

use crate::common;

use common::{Client, ADMIN_UPN, GLOBAL_ADMINISTRATOR, GLOBAL_READER, PRIVILEGED_ROLE_ADMINISTRATOR, RM};
use openpim_server::notify::NotificationConfig;
use openpim_server::state::Clock;
use openpim_server::{RunningServer, ServerConfig};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ALERTS: &str = "/beta/identityGovernance/roleManagementAlerts";
const SCOPE: &str = "$filter=scopeId eq '/' and scopeType eq 'DirectoryRole'";

#[derive(Clone)]
struct FakeClock(Arc<Mutex<time::OffsetDateTime>>);

impl Clock for FakeClock {
    fn now(&self) -> time::OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

struct Setup {
    server: RunningServer,
    client: Client,
    clock: FakeClock,
    database: common::TestDatabase,
    _dir: tempfile::TempDir,
}

impl Setup {
    async fn start(notifications: NotificationConfig) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let database = common::TestDatabase::new().await;
        let clock = FakeClock(Arc::new(Mutex::new(time::macros::datetime!(2026-03-01 09:00 UTC))));
        let server = openpim_server::start_with_clock(
            ServerConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                data_dir: dir.path().to_path_buf(),
                database_url: database.url.clone(),
                bootstrap_admin: ADMIN_UPN.into(),
                public_url: None,
                approval_timeout: openpim_server::DEFAULT_APPROVAL_TIMEOUT,
                notifications,
                metrics_access: Default::default(),
                tls: None,
                oidc_issuers: Vec::new(),
                local_issuer: true,
                audit_checkpoint_interval: openpim_server::DEFAULT_AUDIT_CHECKPOINT_INTERVAL,
            },
            Box::new(clock.clone()),
        )
        .await
        .unwrap();
        let client = Client::new(&format!("http://{}", server.addr));
        Setup { server, client, clock, database, _dir: dir }
    }

    async fn stop(self) {
        self.server.stop().await.unwrap();
        self.database.drop().await;
    }

    fn advance_days(&self, days: i64) {
        *self.clock.0.lock().unwrap() += time::Duration::days(days);
    }

    fn token(&self, upn: &str) -> String {
        common::mint_for_upn(&self.server, upn, true, &[], time::OffsetDateTime::now_utc(), Duration::from_secs(3600))
    }

    fn admin(&self) -> String {
        self.token(ADMIN_UPN)
    }

    async fn user(&self, name: &str) -> (String, String) {
        let upn = format!("{name}@openpim.test");
        let (st, body) = self
            .client
            .post("/v1.0/users", &self.admin(), json!({"userPrincipalName": upn, "displayName": name}))
            .await;
        assert_eq!(st, StatusCode::CREATED, "{body}");
        (body["id"].as_str().unwrap().to_string(), upn)
    }

    /// A direct (outside PIM) active assignment; returns its id.
    async fn assign_directly(&self, principal: &str, role: &str) -> String {
        let (st, body) = self
            .client
            .post(
                &format!("{RM}/roleAssignments"),
                &self.admin(),
                json!({"principalId": principal, "roleDefinitionId": role, "directoryScopeId": "/"}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_string()
    }

    async fn unassign(&self, id: &str) {
        let (st, body) = self.client.delete(&format!("{RM}/roleAssignments/{id}"), &self.admin()).await;
        assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
    }

    /// A PIM request (`adminAssign`) for an active assignment or an eligibility, permanent.
    async fn assign_through_pim(&self, kind: &str, principal: &str, role: &str) {
        let (st, body) = self
            .client
            .post(
                &format!("{RM}/role{kind}ScheduleRequests"),
                &self.admin(),
                json!({"action": "adminAssign", "principalId": principal, "roleDefinitionId": role,
                       "directoryScopeId": "/", "justification": "needed",
                       "scheduleInfo": {"expiration": {"type": "noExpiration"}}}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{body}");
    }

    /// Refreshes as the admin: 202 with the operation's URL, which reads `succeeded`.
    async fn refresh(&self) {
        let resp = self
            .client
            .send(
                self.client
                    .request(reqwest::Method::POST, &format!("{ALERTS}/alerts/refresh"), Some(&self.admin()))
                    .json(&json!({"scopeId": "/", "scopeType": "DirectoryRole"})),
            )
            .await;
        assert_eq!(resp.status, StatusCode::ACCEPTED, "{}", resp.body);
        let location = resp.headers["location"].to_str().unwrap().to_string();
        let path = location.split_once("/beta/").map(|(_, p)| format!("/beta/{p}")).unwrap();
        assert!(path.starts_with(&format!("{ALERTS}/operations/")), "{location}");
        // The operation finishes when the scan ran: at once, unless another server on the same
        // PostgreSQL database held the scan's lock a moment (then this node's loop finishes it).
        let mut op = Value::Null;
        for _ in 0..100 {
            let (st, body) = self.client.get(&path, &self.admin()).await;
            assert_eq!(st, StatusCode::OK, "{body}");
            op = body;
            if op["status"] != "running" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(op["@odata.type"], "#microsoft.graph.longRunningOperation");
        assert_eq!(op["status"], "succeeded", "{op}");
    }

    /// The alert `key` with its incidents (`$expand=alertIncidents`).
    async fn alert(&self, key: &str) -> Value {
        let id = format!("DirectoryRole_{}_{key}", self.server.state.tenant_id);
        let (st, body) = self
            .client
            .get(&format!("{ALERTS}/alerts/{id}?$expand=alertIncidents,alertConfiguration"), &self.admin())
            .await;
        assert_eq!(st, StatusCode::OK, "{body}");
        body
    }

    async fn incidents(&self, key: &str) -> Vec<Value> {
        self.alert(key).await["alertIncidents"].as_array().unwrap().clone()
    }

    async fn configure(&self, key: &str, body: Value) -> (StatusCode, Value) {
        let id = format!("DirectoryRole_{}_{key}", self.server.state.tenant_id);
        self.client.patch(&format!("{ALERTS}/alertConfigurations/{id}"), &self.admin(), body).await
    }
}

fn assignee_ids(incidents: &[Value]) -> Vec<String> {
    incidents.iter().map(|i| i["assigneeId"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn too_many_global_admins_triggers_past_the_threshold_and_clears() {
    let s = Setup::start(NotificationConfig::default()).await;
    s.refresh().await;
    let a = s.alert("TooManyGlobalAdminsAssignedToTenantAlert").await;
    assert_eq!((a["isActive"].clone(), a["incidentCount"].clone()), (json!(false), json!(0)), "{a}");
    assert_eq!(a["alertConfiguration"]["globalAdminCountThreshold"], 5, "{a}");
    let mut assignments = Vec::new();
    for n in 0..4 {
        let (id, _) = s.user(&format!("ga{n}")).await;
        assignments.push(s.assign_directly(&id, GLOBAL_ADMINISTRATOR).await);
    }
    s.refresh().await;
    let a = s.alert("TooManyGlobalAdminsAssignedToTenantAlert").await;
    assert_eq!((a["isActive"].clone(), a["incidentCount"].clone()), (json!(true), json!(5)), "{a}");
    let first = &a["alertIncidents"][0];
    assert_eq!(first["@odata.type"], "#microsoft.graph.tooManyGlobalAdminsAssignedToTenantAlertIncident");
    assert_eq!(first["id"], first["assigneeId"], "{first}");
    assert!(first.get("roleTemplateId").is_none(), "not a property of this incident type: {first}");

    s.unassign(&assignments[0]).await;
    s.refresh().await;
    let a = s.alert("TooManyGlobalAdminsAssignedToTenantAlert").await;
    assert_eq!((a["isActive"].clone(), a["incidentCount"].clone()), (json!(false), json!(0)), "{a}");

    // The configuration decides: four is too many once the threshold is four.
    let (st, body) = s
        .configure(
            "TooManyGlobalAdminsAssignedToTenantAlert",
            json!({"@odata.type": "#microsoft.graph.tooManyGlobalAdminsAssignedToTenantAlertConfiguration",
                   "globalAdminCountThreshold": 4, "percentageOfGlobalAdminsOutOfRolesThreshold": 10}),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
    s.refresh().await;
    let a = s.alert("TooManyGlobalAdminsAssignedToTenantAlert").await;
    assert_eq!((a["isActive"].clone(), a["incidentCount"].clone()), (json!(true), json!(4)), "{a}");
    assert_eq!(a["alertConfiguration"]["globalAdminCountThreshold"], 4, "{a}");
    // Disabled: no scanning, nothing shown.
    let (st, _) = s.configure("TooManyGlobalAdminsAssignedToTenantAlert", json!({"isEnabled": false})).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    s.refresh().await;
    assert_eq!(s.alert("TooManyGlobalAdminsAssignedToTenantAlert").await["isActive"], false);
    s.stop().await;
}

#[tokio::test]
async fn roles_assigned_outside_pim_lists_direct_assignments_and_dismissal_lasts_until_a_new_one() {
    let s = Setup::start(NotificationConfig::default()).await;
    const KEY: &str = "RolesAssignedOutsidePimAlert";
    let (bob, _) = s.user("bob").await;
    let (carol, _) = s.user("carol").await;
    // Through PIM: not an incident. The bootstrap's administrator is not one either.
    s.assign_through_pim("Assignment", &carol, PRIVILEGED_ROLE_ADMINISTRATOR).await;
    s.refresh().await;
    assert_eq!(s.alert(KEY).await["isActive"], false);

    let direct = s.assign_directly(&bob, PRIVILEGED_ROLE_ADMINISTRATOR).await;
    s.refresh().await;
    let a = s.alert(KEY).await;
    assert_eq!((a["isActive"].clone(), a["incidentCount"].clone()), (json!(true), json!(1)), "{a}");
    let i = &a["alertIncidents"][0];
    assert_eq!(i["@odata.type"], "#microsoft.graph.rolesAssignedOutsidePrivilegedIdentityManagementAlertIncident");
    assert_eq!(i["id"], direct.as_str(), "{i}");
    assert_eq!(i["assigneeId"], bob.as_str());
    assert_eq!(i["assigneeUserPrincipalName"], "bob@openpim.test");
    assert_eq!(i["roleTemplateId"], PRIVILEGED_ROLE_ADMINISTRATOR);
    assert_eq!(i["roleDisplayName"], "Privileged Role Administrator");
    assert_eq!(i["assignmentCreatedDateTime"], "2026-03-01T09:00:00Z");

    // Dismissed (Graph's PATCH isActive=false): inactive, incidents kept, still after a rescan.
    let id = a["id"].as_str().unwrap().to_string();
    let (st, body) = s.client.patch(&format!("{ALERTS}/alerts/{id}"), &s.admin(), json!({"isActive": true})).await;
    common::assert_graph_error(st, &body, 400, "Request_BadRequest");
    let (st, body) = s.client.patch(&format!("{ALERTS}/alerts/{id}"), &s.admin(), json!({"isActive": false})).await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
    let a = s.alert(KEY).await;
    assert_eq!((a["isActive"].clone(), a["incidentCount"].clone()), (json!(false), json!(1)), "{a}");
    s.refresh().await;
    assert_eq!(s.alert(KEY).await["isActive"], false);
    // A new direct assignment is a change: active again, with both incidents.
    let (dave, _) = s.user("dave").await;
    s.assign_directly(&dave, GLOBAL_ADMINISTRATOR).await;
    s.refresh().await;
    let a = s.alert(KEY).await;
    assert_eq!((a["isActive"].clone(), a["incidentCount"].clone()), (json!(true), json!(2)), "{a}");
    // The extension action dismisses too.
    let (st, body) = s.client.post(&format!("{ALERTS}/alerts/{id}/dismiss"), &s.admin(), json!({})).await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(s.alert(KEY).await["isActive"], false);

    // Cleared when the direct assignment goes.
    s.unassign(&direct).await;
    let mut incidents = s.incidents(KEY).await;
    assert_eq!(incidents.len(), 2, "until the next scan");
    s.refresh().await;
    incidents = s.incidents(KEY).await;
    assert_eq!(assignee_ids(&incidents), [dave]);
    s.stop().await;
}

#[tokio::test]
async fn no_mfa_on_activation_follows_the_role_policy() {
    let s = Setup::start(NotificationConfig::default()).await;
    const KEY: &str = "NoMfaOnRoleActivationAlert";
    s.refresh().await;
    assert_eq!(s.alert(KEY).await["isActive"], false, "the default policies require MFA");
    let filter = format!(
        "/v1.0/policies/roleManagementPolicyAssignments?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '{PRIVILEGED_ROLE_ADMINISTRATOR}'"
    );
    let (st, body) = s.client.get(&filter, &s.admin()).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let policy = body["value"][0]["policyId"].as_str().unwrap().to_string();
    let rule = |enabled: &[&str]| {
        json!({"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule",
               "id": "Enablement_EndUser_Assignment", "enabledRules": enabled,
               "target": {"caller": "EndUser", "operations": ["All"], "level": "Assignment",
                          "inheritableSettings": [], "enforcedSettings": []}})
    };
    let path = format!("/v1.0/policies/roleManagementPolicies/{policy}/rules/Enablement_EndUser_Assignment");
    let (st, body) = s.client.patch(&path, &s.admin(), rule(&["Justification"])).await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
    s.refresh().await;
    let a = s.alert(KEY).await;
    assert_eq!((a["isActive"].clone(), a["incidentCount"].clone()), (json!(true), json!(1)), "{a}");
    let i = &a["alertIncidents"][0];
    assert_eq!(i["@odata.type"], "#microsoft.graph.noMfaOnRoleActivationAlertIncident");
    assert_eq!(i["roleTemplateId"], PRIVILEGED_ROLE_ADMINISTRATOR);
    assert!(i.get("assigneeId").is_none(), "{i}");

    let (st, body) = s.client.patch(&path, &s.admin(), rule(&["MultiFactorAuthentication", "Justification"])).await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
    s.refresh().await;
    let a = s.alert(KEY).await;
    assert_eq!((a["isActive"].clone(), a["incidentCount"].clone()), (json!(false), json!(0)), "{a}");
    s.stop().await;
}

#[tokio::test]
async fn unused_eligibility_and_stale_sign_in_follow_the_clock() {
    let s = Setup::start(NotificationConfig::default()).await;
    let (bob, bob_upn) = s.user("bob").await;
    let (carol, carol_upn) = s.user("carol").await;
    s.assign_through_pim("Eligibility", &bob, PRIVILEGED_ROLE_ADMINISTRATOR).await;
    s.assign_through_pim("Assignment", &carol, PRIVILEGED_ROLE_ADMINISTRATOR).await;
    // Carol signs in today; bob never does until later.
    let (st, _) = s.client.get("/v1.0/me", &s.token(&carol_upn)).await;
    assert_eq!(st, StatusCode::OK);
    s.refresh().await;
    assert_eq!(s.alert("RedundantAssignmentAlert").await["isActive"], false, "new eligibilities get time");
    assert_eq!(s.alert("StaleSignInAlert").await["isActive"], false, "new assignments get time");

    s.advance_days(31);
    s.refresh().await;
    let redundant = s.incidents("RedundantAssignmentAlert").await;
    assert_eq!(assignee_ids(&redundant), std::slice::from_ref(&bob));
    assert_eq!(redundant[0]["@odata.type"], "#microsoft.graph.redundantAssignmentAlertIncident");
    assert_eq!(redundant[0]["lastActivationDateTime"], Value::Null);
    let stale = s.incidents("StaleSignInAlert").await;
    let mut ids = assignee_ids(&stale);
    ids.sort();
    let mut expected = vec![bob.clone(), carol.clone()];
    expected.sort();
    assert_eq!(ids, expected, "the admin signed in by refreshing: {stale:?}");
    let carols = stale.iter().find(|i| i["assigneeId"] == carol.as_str()).unwrap();
    assert_eq!(carols["lastSignInDateTime"], "2026-03-01T09:00:00Z", "{carols}");

    // Bob activates (and so signs in); carol signs in: both alerts clear.
    let (st, body) = s
        .client
        .post(
            &format!("{RM}/roleAssignmentScheduleRequests"),
            &s.token(&bob_upn),
            json!({"action": "selfActivate", "principalId": bob, "roleDefinitionId": PRIVILEGED_ROLE_ADMINISTRATOR,
                   "directoryScopeId": "/", "justification": "maintenance",
                   "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "PT1H"}}}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let (st, _) = s.client.get("/v1.0/me", &s.token(&carol_upn)).await;
    assert_eq!(st, StatusCode::OK);
    s.refresh().await;
    assert_eq!(s.alert("RedundantAssignmentAlert").await["incidentCount"], 0);
    assert_eq!(s.alert("StaleSignInAlert").await["incidentCount"], 0);

    // A shorter window for stale sign-ins: ten days later carol is stale again at 7 days.
    s.advance_days(10);
    let (st, body) = s.configure("StaleSignInAlert", json!({"duration": "P7D"})).await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{body}");
    let (st, body) = s.configure("StaleSignInAlert", json!({"duration": "P400D"})).await;
    common::assert_graph_error(st, &body, 400, "InvalidAlertConfiguration");
    let (st, body) = s.configure("StaleSignInAlert", json!({"globalAdminCountThreshold": 3})).await;
    common::assert_graph_error(st, &body, 400, "InvalidAlertConfiguration");
    s.refresh().await;
    let a = s.alert("StaleSignInAlert").await;
    assert_eq!(a["alertConfiguration"]["duration"], "P7D", "the refused PATCHes changed nothing: {a}");
    assert_eq!(a["alertConfiguration"]["@odata.type"], "#microsoft.graph.staleSignInAlertConfiguration");
    let ids = assignee_ids(a["alertIncidents"].as_array().unwrap());
    assert!(ids.contains(&carol) && ids.contains(&bob), "{a}");
    s.stop().await;
}

#[tokio::test]
async fn lists_require_the_scope_filter_and_rights_are_enforced() {
    let s = Setup::start(NotificationConfig::default()).await;
    let admin = s.admin();
    for set in ["alerts", "alertDefinitions", "alertConfigurations"] {
        let (st, body) = s.client.get(&format!("{ALERTS}/{set}"), &admin).await;
        common::assert_graph_error(st, &body, 400, "Request_BadRequest");
        let (st, body) = s.client.get(&format!("{ALERTS}/{set}?{SCOPE}"), &admin).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        assert_eq!(body["value"].as_array().unwrap().len(), 5, "{body}");
        let (st, body) = s
            .client
            .get(&format!("{ALERTS}/{set}?$filter=scopeId eq '/' and scopeType eq 'AzureResource'"), &admin)
            .await;
        common::assert_graph_error(st, &body, 400, "Request_BadRequest");
    }
    let (st, body) = s
        .client
        .get(&format!("{ALERTS}/alerts?{SCOPE}&$expand=alertDefinition,alertConfiguration,alertIncidents"), &admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let tenant = s.server.state.tenant_id;
    let ga = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == format!("DirectoryRole_{tenant}_TooManyGlobalAdminsAssignedToTenantAlert"))
        .unwrap()
        .clone();
    assert_eq!(ga["alertDefinition"]["displayName"], "There are too many global administrators");
    assert_eq!(ga["alertDefinition"]["severityLevel"], "low");
    assert_eq!(ga["scopeType"], "DirectoryRole");
    let (st, body) =
        s.client.get(&format!("/v1.0/identityGovernance/roleManagementAlerts/alerts?{SCOPE}"), &admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "beta only: {body}");
    let (st, body) = s.client.get(&format!("{ALERTS}/alerts/DirectoryRole_{tenant}_NoSuchAlert"), &admin).await;
    common::assert_graph_error(st, &body, 404, "Request_ResourceNotFound");
    let (st, body) = s
        .client
        .post(&format!("{ALERTS}/alerts/refresh"), &admin, json!({"scopeId": "/", "scopeType": "AzureResource"}))
        .await;
    common::assert_graph_error(st, &body, 400, "Request_BadRequest");
    let (st, body) = s.client.post(&format!("{ALERTS}/alerts/refresh"), &admin, json!({"scopeId": "/"})).await;
    common::assert_graph_error(st, &body, 400, "Request_BadRequest");

    // A plain user reads nothing and changes nothing.
    let (_, upn) = s.user("plain").await;
    let plain = s.token(&upn);
    let id = format!("DirectoryRole_{tenant}_StaleSignInAlert");
    let (st, body) = s.client.get(&format!("{ALERTS}/alerts?{SCOPE}"), &plain).await;
    common::assert_graph_error(st, &body, 403, "Authorization_RequestDenied");
    let (st, body) = s.client.patch(&format!("{ALERTS}/alerts/{id}"), &plain, json!({"isActive": false})).await;
    common::assert_graph_error(st, &body, 403, "Authorization_RequestDenied");
    let (st, body) = s
        .client
        .post(&format!("{ALERTS}/alerts/refresh"), &plain, json!({"scopeId": "/", "scopeType": "DirectoryRole"}))
        .await;
    common::assert_graph_error(st, &body, 403, "Authorization_RequestDenied");
    // A Global Reader reads but does not configure.
    let (reader, reader_upn) = s.user("reader").await;
    s.assign_through_pim("Assignment", &reader, GLOBAL_READER).await;
    let reader_t = s.token(&reader_upn);
    let (st, body) = s.client.get(&format!("{ALERTS}/alertConfigurations/{id}"), &reader_t).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["duration"], "P30D", "{body}");
    let (st, body) =
        s.client.patch(&format!("{ALERTS}/alertConfigurations/{id}"), &reader_t, json!({"duration": "P10D"})).await;
    common::assert_graph_error(st, &body, 403, "Authorization_RequestDenied");
    let (st, body) = s.client.get(&format!("{ALERTS}/alertConfigurations/{id}"), &admin).await;
    assert_eq!(body["duration"], "P30D", "unchanged: {st} {body}");
    s.stop().await;
}

#[tokio::test]
async fn a_raised_alert_queues_a_notification_for_the_administrators() {
    let s = Setup::start(NotificationConfig { webhook_url: Some("http://127.0.0.1:9/hook".into()), smtp: None }).await;
    let (bob, _) = s.user("bob").await;
    s.assign_directly(&bob, PRIVILEGED_ROLE_ADMINISTRATOR).await;
    let store = &s.server.state.store;
    let far = time::macros::datetime!(2100-01-01 00:00 UTC);
    let raised = |items: &[openpim_store::outbox::OutboxItem]| {
        items.iter().filter(|i| i.event == openpim_server::alerts::EVENT).cloned().collect::<Vec<_>>()
    };
    s.refresh().await;
    let queued = raised(&store.outbox_due(far, 100).await.unwrap());
    assert_eq!(queued.len(), 1, "{queued:?}");
    let payload: Value = serde_json::from_str(&queued[0].payload).unwrap();
    assert_eq!(payload["alertId"], format!("DirectoryRole_{}_RolesAssignedOutsidePimAlert", s.server.state.tenant_id));
    assert_eq!(payload["incidentCount"], 1);
    assert!(payload["remedyUrl"].as_str().unwrap().starts_with("https://"), "{payload}");
    assert!(queued[0].recipients.iter().any(|r| r == ADMIN_UPN), "{:?}", queued[0].recipients);
    // Still active on the next scan: not raised again.
    s.refresh().await;
    assert_eq!(raised(&store.outbox_due(far, 100).await.unwrap()).len(), 1);
    s.stop().await;
}

#[tokio::test]
async fn the_alerts_page_lists_incidents_and_dismisses_for_those_who_may_read_them() {
    use common::ui::Browser;
    let s = Setup::start(NotificationConfig::default()).await;
    let base = format!("http://{}", s.server.addr);
    let (_, plain_upn) = s.user("plain").await;
    let mut plain = Browser::signed_in(&base, &s.token(&plain_upn)).await;
    let home = plain.get("/").await;
    assert!(!home.body.contains("href=\"/alerts\""), "no Alerts link for a plain user");
    let refused = plain.get("/alerts").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);

    let (bob, _) = s.user("bob").await;
    s.assign_directly(&bob, PRIVILEGED_ROLE_ADMINISTRATOR).await;
    let mut admin = Browser::signed_in(&base, &s.admin()).await;
    let home = admin.get("/").await;
    assert!(home.body.contains("href=\"/alerts\""), "the Alerts link for an administrator");
    let page = admin.get("/alerts").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let after = admin.submit("/alerts/refresh", &[("csrf", &page.csrf())]).await;
    assert_eq!(after.flash(), "Alerts refreshed.");
    assert!(
        after.body.contains("Roles are being assigned outside of Privileged Identity Management"),
        "{}",
        after.body
    );
    assert!(after.body.contains("bob (bob@openpim.test)"), "{}", after.body);
    assert!(after.body.contains("roles-are-being-assigned-outside-of-privileged-identity-management"), "remedy link");
    let id = format!("DirectoryRole_{}_RolesAssignedOutsidePimAlert", s.server.state.tenant_id);
    let done = admin.submit("/alerts/dismiss", &[("csrf", &after.csrf()), ("id", &id)]).await;
    assert!(done.flash().starts_with("Dismissed"), "{}", done.body);
    assert!(done.body.contains("No active alerts."), "{}", done.body);
    // A plain user's dismissal is the API's 403, shown as the flash.
    let mut plain = Browser::signed_in(&base, &s.token(&plain_upn)).await;
    let home = plain.get("/").await;
    let denied = plain.submit("/alerts/dismiss", &[("csrf", &home.csrf()), ("id", &id)]).await;
    assert!(!denied.flash().starts_with("Dismissed"), "{}", denied.flash());
    s.stop().await;
}
