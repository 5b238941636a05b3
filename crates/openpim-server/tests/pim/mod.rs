//! PIM test harness: a real server whose domain clock the test controls, so schedules can be
//! walked through their lifetimes (the five-minute removal lock, future starts, expiry at the
//! exact second) without sleeping. Tokens are minted against real time because the JWT expiry
//! is checked against the system clock; only the server's notion of "now" is fake.
//!
//! Included by the integration suite (`tests/integration/main.rs`) as `crate::pim`.

#![allow(dead_code)]

use crate::common::{assert_graph_error, reference, Client, ADMIN_UPN, RM};
use openpim_server::auth::TokenRequest;
use openpim_server::state::Clock;
use openpim_server::{RunningServer, ServerConfig};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tempfile::TempDir;
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// Where every test's domain clock starts: a whole second, so end times are easy to hit exactly.
pub const T0: OffsetDateTime = datetime!(2026-03-02 09:00:00 UTC);

pub const ELIGIBILITY_REQUESTS: &str = "/v1.0/roleManagement/directory/roleEligibilityScheduleRequests";
pub const ASSIGNMENT_REQUESTS: &str = "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests";
pub const ELIGIBILITY_SCHEDULES: &str = "/v1.0/roleManagement/directory/roleEligibilitySchedules";
pub const ASSIGNMENT_SCHEDULES: &str = "/v1.0/roleManagement/directory/roleAssignmentSchedules";
pub const ELIGIBILITY_INSTANCES: &str = "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances";
pub const ASSIGNMENT_INSTANCES: &str = "/v1.0/roleManagement/directory/roleAssignmentScheduleInstances";

/// The action User Administrator grants and a plain user lacks.
pub const CREATE_USERS: &str = "microsoft.directory/users/create";

/// The server's clock: a shared instant the test moves by hand.
pub struct FakeClock(pub Arc<Mutex<OffsetDateTime>>);

impl Clock for FakeClock {
    fn now(&self) -> OffsetDateTime {
        let t = *self.0.lock().expect("clock lock");
        // Microseconds, the precision the store keeps (as the system clock does).
        t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000).unwrap_or(t)
    }
}

/// A running server with a fake clock and its own data directory.
pub struct Pim {
    pub server: RunningServer,
    pub client: Client,
    pub clock: Arc<Mutex<OffsetDateTime>>,
    pub admin_id: String,
    users: Mutex<u32>,
    database: crate::common::TestDatabase,
    _dir: TempDir,
}

impl Pim {
    pub async fn start() -> Self {
        Self::start_with(Default::default()).await
    }

    /// A server with notifications configured (by default they are off).
    pub async fn start_with(notifications: openpim_server::notify::NotificationConfig) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = Arc::new(Mutex::new(T0));
        let database = crate::common::TestDatabase::new().await;
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
            Box::new(FakeClock(clock.clone())),
        )
        .await
        .expect("server starts");
        let client = Client::new(&format!("http://{}", server.addr));
        let mut pim = Pim { server, client, clock, admin_id: String::new(), users: Mutex::new(0), database, _dir: dir };
        let (status, me) = pim.client.get("/v1.0/me", &pim.admin_token()).await;
        assert_eq!(status, StatusCode::OK, "{me}");
        pim.admin_id = me["id"].as_str().expect("admin id").to_string();
        pim
    }

    pub async fn stop(self) {
        let Pim { server, database, _dir, .. } = self;
        server.stop().await.expect("server stops cleanly");
        database.drop().await;
    }

    // ---- the clock ----

    /// The server's address, as the web UI's test browser (`common::ui::Browser`) takes it.
    pub fn base(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    pub fn now(&self) -> OffsetDateTime {
        *self.clock.lock().unwrap()
    }

    pub fn advance(&self, by: Duration) {
        *self.clock.lock().unwrap() += by;
    }

    pub fn set_now(&self, at: OffsetDateTime) {
        *self.clock.lock().unwrap() = at;
    }

    // ---- tokens and principals ----

    fn mint(&self, upn: &str, mfa: bool) -> String {
        if upn == ADMIN_UPN && !self.admin_id.is_empty() {
            // The admin's id is known: no database lookup for the most used token.
            let oid = uuid::Uuid::parse_str(&self.admin_id).expect("admin id");
            let req =
                TokenRequest { oid, upn: upn.into(), mfa, acrs: vec![], ttl: std::time::Duration::from_secs(3600) };
            return self.server.state.issuer.mint(&req, OffsetDateTime::now_utc());
        }
        crate::common::mint_for_upn(
            &self.server,
            upn,
            mfa,
            &[],
            OffsetDateTime::now_utc(),
            std::time::Duration::from_secs(3600),
        )
    }

    /// An MFA-challenged session (what activation needs by default).
    pub fn token(&self, upn: &str) -> String {
        self.mint(upn, true)
    }

    pub fn token_without_mfa(&self, upn: &str) -> String {
        self.mint(upn, false)
    }

    pub fn admin_token(&self) -> String {
        self.token(ADMIN_UPN)
    }

    /// Creates a user as the admin; returns (id, MFA token).
    pub async fn user(&self, name: &str) -> (String, String) {
        let upn = format!("{name}@openpim.test");
        let (status, body) = self
            .client
            .post(
                "/v1.0/users",
                &self.admin_token(),
                json!({"userPrincipalName": upn, "displayName": name, "accountEnabled": true}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "create user {upn}: {body}");
        (body["id"].as_str().expect("user id").to_string(), self.token(&upn))
    }

    /// Creates a group as the admin; returns its id.
    pub async fn group(&self, name: &str, role_assignable: bool) -> String {
        let (status, body) = self
            .client
            .post(
                "/v1.0/groups",
                &self.admin_token(),
                json!({"displayName": name, "mailEnabled": false, "securityEnabled": true,
                       "mailNickname": name.replace(' ', ""), "isAssignableToRole": role_assignable}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "create group {name}: {body}");
        assert_eq!(body["isAssignableToRole"], json!(role_assignable), "{body}");
        body["id"].as_str().expect("group id").to_string()
    }

    pub async fn add_member(&self, group: &str, member: &str) {
        let (status, body) = self
            .client
            .post(&format!("/v1.0/groups/{group}/members/$ref"), &self.admin_token(), reference(member))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "add {member} to {group}: {body}");
    }

    pub async fn remove_member(&self, group: &str, member: &str) {
        let (status, body) =
            self.client.delete(&format!("/v1.0/groups/{group}/members/{member}/$ref"), &self.admin_token()).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "remove {member} from {group}: {body}");
    }

    // ---- requests ----

    pub async fn eligibility_request(&self, token: &str, body: Value) -> (StatusCode, Value) {
        self.client.post(ELIGIBILITY_REQUESTS, token, body).await
    }

    pub async fn assignment_request(&self, token: &str, body: Value) -> (StatusCode, Value) {
        self.client.post(ASSIGNMENT_REQUESTS, token, body).await
    }

    /// Makes `principal` permanently eligible for `role` at the tenant (as the admin); returns
    /// the created request.
    pub async fn make_eligible(&self, principal: &str, role: &str) -> Value {
        let (status, body) = self
            .eligibility_request(&self.admin_token(), request("adminAssign", principal, role, Some(no_expiration())))
            .await;
        assert_eq!(status, StatusCode::CREATED, "make {principal} eligible for {role}: {body}");
        assert_eq!(body["status"], "Provisioned", "{body}");
        body
    }

    /// `selfActivate` for `duration` starting now, with a justification.
    pub async fn activate(&self, token: &str, principal: &str, role: &str, duration: &str) -> (StatusCode, Value) {
        self.assignment_request(token, request("selfActivate", principal, role, Some(for_duration(None, duration))))
            .await
    }

    /// `selfActivate` that must succeed; returns the request.
    pub async fn activate_ok(&self, token: &str, principal: &str, role: &str, duration: &str) -> Value {
        let (status, body) = self.activate(token, principal, role, duration).await;
        assert_eq!(status, StatusCode::CREATED, "activation: {body}");
        body
    }

    pub async fn deactivate(&self, token: &str, principal: &str, role: &str) -> (StatusCode, Value) {
        self.assignment_request(token, request("selfDeactivate", principal, role, None)).await
    }

    // ---- reads ----

    /// `GET /v1.0/openpim/accessCheck` for the caller; returns the result object.
    pub async fn access(&self, token: &str, action: &str) -> Value {
        let (status, body) = self.client.get(&format!("/v1.0/openpim/accessCheck?action={action}"), token).await;
        assert_eq!(status, StatusCode::OK, "access check: {body}");
        assert_eq!(body["action"], action, "{body}");
        body
    }

    pub async fn allowed(&self, token: &str, action: &str) -> bool {
        let v = self.access(token, action).await;
        let allowed = v["allowed"].as_bool().unwrap_or_else(|| panic!("allowed is not a boolean: {v}"));
        assert_eq!(allowed, !v["grantedBy"].is_null(), "grantedBy is present exactly when allowed: {v}");
        allowed
    }

    /// Tries to create a user with `token` (what User Administrator is for); returns the status.
    pub async fn try_create_user(&self, token: &str, name: &str) -> StatusCode {
        let (status, body) = self
            .client
            .post(
                "/v1.0/users",
                token,
                json!({"userPrincipalName": format!("{name}@openpim.test"), "displayName": name, "accountEnabled": true}),
            )
            .await;
        if status != StatusCode::CREATED {
            assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
        }
        status
    }

    /// A collection's items (must answer 200).
    pub async fn list(&self, path: &str, token: &str) -> Vec<Value> {
        let (status, body) = self.client.get(path, token).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        assert!(body["@odata.context"].is_string(), "collection without @odata.context: {body}");
        body["value"].as_array().unwrap_or_else(|| panic!("not a collection: {body}")).clone()
    }

    /// Rows of a schedules/instances collection held by `principal`, as the admin sees them.
    pub async fn rows_of(&self, collection: &str, principal: &str) -> Vec<Value> {
        self.list(&format!("{collection}?$filter=principalId eq '{principal}'"), &self.admin_token()).await
    }

    /// Audit records (newest first) as the admin.
    pub async fn audits(&self) -> Vec<Value> {
        self.list("/v1.0/auditLogs/directoryAudits?$top=999", &self.admin_token()).await
    }
}

// ---- request bodies ----

/// A schedule request body with a justification.
pub fn request(action: &str, principal: &str, role: &str, schedule: Option<Value>) -> Value {
    let mut v = json!({
        "action": action,
        "principalId": principal,
        "roleDefinitionId": role,
        "directoryScopeId": "/",
        "justification": "Investigating ticket INC-4711",
    });
    if let Some(s) = schedule {
        v["scheduleInfo"] = s;
    }
    v
}

/// Permanent, starting in the past (which the server replaces with its own now).
pub fn no_expiration() -> Value {
    json!({"startDateTime": "2022-04-10T00:00:00Z", "expiration": {"type": "NoExpiration"}})
}

/// `afterDuration`, starting at `start` (now when `None`).
pub fn for_duration(start: Option<OffsetDateTime>, duration: &str) -> Value {
    let mut v = json!({"expiration": {"type": "AfterDuration", "duration": duration}});
    if let Some(s) = start {
        v["startDateTime"] = json!(rfc3339(s));
    }
    v
}

/// `afterDateTime` ending at `end`, starting now.
pub fn until(end: OffsetDateTime) -> Value {
    json!({"expiration": {"type": "afterDateTime", "endDateTime": rfc3339(end)}})
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

/// Parses a date-time property of a response.
#[track_caller]
pub fn at(v: &Value) -> OffsetDateTime {
    let s = v.as_str().unwrap_or_else(|| panic!("not a date-time string: {v}"));
    OffsetDateTime::parse(s, &Rfc3339).unwrap_or_else(|e| panic!("'{s}' is not RFC 3339: {e}"))
}

/// The ids of a list of rows.
pub fn row_ids(rows: &[Value]) -> Vec<String> {
    rows.iter().map(|r| r["id"].as_str().expect("id").to_string()).collect()
}

/// Asserts the complete shape of a schedule request response (property names as in Graph).
#[track_caller]
pub fn assert_request_shape(v: &Value, kind_set: &str) {
    let obj = v.as_object().unwrap_or_else(|| panic!("not an object: {v}"));
    for key in [
        "id",
        "status",
        "createdDateTime",
        "completedDateTime",
        "approvalId",
        "customData",
        "action",
        "principalId",
        "roleDefinitionId",
        "directoryScopeId",
        "appScopeId",
        "isValidationOnly",
        "targetScheduleId",
        "justification",
        "createdBy",
        "scheduleInfo",
        "ticketInfo",
    ] {
        assert!(obj.contains_key(key), "request lacks '{key}': {v}");
    }
    if let Some(ctx) = v.get("@odata.context") {
        let ctx = ctx.as_str().expect("context string");
        assert!(ctx.ends_with(&format!("$metadata#roleManagement/directory/{kind_set}/$entity")), "{ctx}");
    }
    assert!(v["createdBy"]["user"]["id"].is_string(), "createdBy.user.id: {v}");
    assert!(v["createdBy"].as_object().unwrap().contains_key("application"), "{v}");
    assert!(
        v["ticketInfo"].as_object().is_some_and(|t| t.contains_key("ticketNumber") && t.contains_key("ticketSystem")),
        "{v}"
    );
    if let Some(info) = v["scheduleInfo"].as_object() {
        assert!(info.contains_key("startDateTime") && info.contains_key("recurrence"), "{v}");
        let exp = info["expiration"].as_object().unwrap_or_else(|| panic!("scheduleInfo.expiration: {v}"));
        for key in ["type", "endDateTime", "duration"] {
            assert!(exp.contains_key(key), "expiration lacks '{key}': {v}");
        }
    }
    at(&v["createdDateTime"]);
}

/// A path under `/v1.0/roleManagement/directory/`.
pub fn rm(path: &str) -> String {
    format!("{RM}/{path}")
}

/// An approver: one user.
pub fn single_user(id: &str) -> Value {
    json!({"@odata.type": "#microsoft.graph.singleUser", "userId": id})
}

/// `Approval_EndUser_Assignment` requiring one stage of approval by `approvers`.
pub fn approval_rule(approvers: Vec<Value>) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule",
        "id": "Approval_EndUser_Assignment",
        "target": {"caller": "EndUser", "operations": ["All"], "level": "Assignment",
                   "inheritableSettings": [], "enforcedSettings": []},
        "setting": {
            "isApprovalRequired": true,
            "isApprovalRequiredForExtension": false,
            "isRequestorJustificationRequired": true,
            "approvalMode": "SingleStage",
            "approvalStages": [{
                "approvalStageTimeOutInDays": 1,
                "isApproverJustificationRequired": true,
                "escalationTimeInMinutes": 0,
                "isEscalationEnabled": false,
                "primaryApprovers": approvers,
                "escalationApprovers": []
            }]
        }
    })
}
