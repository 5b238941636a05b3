//! Approval of activations over HTTP: with `Approval_EndUser_Assignment` requiring approval, a
//! selfActivate waits in `PendingApproval` until a listed approver (a user, or a member of a
//! listed group) approves or denies it. Nobody decides their own request; outsiders see nothing;
//! cancel and timeout end the approval; only an approval grants, from the approval time.

use crate::common;
use crate::pim;

use common::{assert_graph_error, USER_ADMINISTRATOR};
use pim::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use time::Duration;

const APPROVALS: &str = "/v1.0/roleManagement/directory/roleAssignmentApprovals";
const POLICY_ASSIGNMENTS: &str = "/v1.0/policies/roleManagementPolicyAssignments";
const APPROVER_REQUESTS: &str =
    "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')";
const APPROVER_APPROVALS: &str =
    "/v1.0/roleManagement/directory/roleAssignmentApprovals/filterByCurrentUser(on='approver')";

/// Requester bob (eligible for User Administrator), approver alice, outsider eve.
struct World {
    pim: Pim,
    policy: String,
    bob: String,
    bob_t: String,
    alice: String,
    alice_t: String,
    eve_t: String,
}

impl World {
    async fn new() -> Self {
        let pim = Pim::start().await;
        let (bob, bob_t) = pim.user("bob").await;
        let (alice, alice_t) = pim.user("alice").await;
        let (_, eve_t) = pim.user("eve").await;
        pim.make_eligible(&bob, USER_ADMINISTRATOR).await;
        let rows = pim
            .list(
                &format!(
                    "{POLICY_ASSIGNMENTS}?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '{USER_ADMINISTRATOR}'"
                ),
                &pim.admin_token(),
            )
            .await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        let policy = rows[0]["policyId"].as_str().unwrap().to_string();
        let w = World { pim, policy, bob, bob_t, alice: alice.clone(), alice_t, eve_t };
        w.set_approvers(vec![single_user(&alice)]).await;
        w
    }

    async fn set_approvers(&self, approvers: Vec<Value>) {
        let (status, body) = self
            .pim
            .client
            .patch(
                &format!("/v1.0/policies/roleManagementPolicies/{}/rules/Approval_EndUser_Assignment", self.policy),
                &self.pim.admin_token(),
                approval_rule(approvers),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "set approvers: {body}");
    }

    /// bob's selfActivate for two hours; must wait for approval. Returns (request id, approval id).
    async fn request(&self) -> (String, String) {
        let (status, body) = self.pim.activate(&self.bob_t, &self.bob, USER_ADMINISTRATOR, "PT2H").await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_request_shape(&body, "roleAssignmentScheduleRequests");
        assert_eq!(body["status"], "PendingApproval", "{body}");
        let approval = body["approvalId"].as_str().unwrap_or_else(|| panic!("approvalId: {body}")).to_string();
        (body["id"].as_str().unwrap().to_string(), approval)
    }

    async fn get_request(&self, id: &str) -> Value {
        let (status, body) = self.pim.client.get(&format!("{ASSIGNMENT_REQUESTS}/{id}"), &self.bob_t).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn approval(&self, token: &str, id: &str) -> (StatusCode, Value) {
        self.pim.client.get(&format!("{APPROVALS}/{id}"), token).await
    }

    /// The id of the approval's (only) step, as alice sees it.
    async fn step_id(&self, approval: &str) -> String {
        let (status, a) = self.approval(&self.alice_t, approval).await;
        assert_eq!(status, StatusCode::OK, "{a}");
        a["steps"][0]["id"].as_str().unwrap().to_string()
    }

    async fn decide(
        &self,
        token: &str,
        approval: &str,
        step: &str,
        result: &str,
        justification: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut body = json!({"reviewResult": result});
        if let Some(j) = justification {
            body["justification"] = json!(j);
        }
        self.pim.client.patch(&format!("{APPROVALS}/{approval}/steps/{step}"), token, body).await
    }

    async fn bob_has_the_role(&self) -> bool {
        self.pim.allowed(&self.bob_t, CREATE_USERS).await
    }

    /// Ids in a collection as `token` sees it.
    async fn ids(&self, path: &str, token: &str) -> Vec<String> {
        row_ids(&self.pim.list(path, token).await)
    }

    /// Requests and approvals awaiting `token`'s holder.
    async fn awaiting(&self, token: &str) -> (Vec<String>, Vec<String>) {
        (self.ids(APPROVER_REQUESTS, token).await, self.ids(APPROVER_APPROVALS, token).await)
    }

    async fn nothing_granted(&self) {
        assert!(!self.bob_has_the_role().await, "bob must not hold the role");
        assert!(self.pim.rows_of(ASSIGNMENT_INSTANCES, &self.bob).await.is_empty(), "no instance for bob");
        assert!(self.pim.rows_of(ASSIGNMENT_SCHEDULES, &self.bob).await.is_empty(), "no schedule for bob");
    }
}

/// The audit rows with `activity`.
async fn audits_named(pim: &Pim, activity: &str) -> Vec<Value> {
    pim.audits().await.into_iter().filter(|a| a["activityDisplayName"] == activity).collect()
}

fn detail<'a>(audit: &'a Value, key: &str) -> Option<&'a str> {
    audit["additionalDetails"].as_array()?.iter().find(|d| d["key"] == key)?["value"].as_str()
}

// ---------------------------------------------------------------- waiting

#[tokio::test]
async fn an_activation_that_needs_approval_waits_and_grants_nothing() {
    let w = World::new().await;
    let (request, approval) = w.request().await;
    assert_eq!(w.get_request(&request).await["approvalId"], approval.as_str());
    w.nothing_granted().await;

    // One pending request per role and scope.
    let (status, body) = w.pim.activate(&w.bob_t, &w.bob, USER_ADMINISTRATOR, "PT2H").await;
    assert_graph_error(status, &body, 400, "PendingRoleAssignmentRequest");
    let (status, body) = w.pim.activate(&w.bob_t, &w.bob, USER_ADMINISTRATOR, "PT1H").await;
    assert_graph_error(status, &body, 400, "PendingRoleAssignmentRequest");

    // alice sees what awaits her.
    let (requests, approvals) = w.awaiting(&w.alice_t).await;
    assert_eq!(requests, vec![request.clone()]);
    assert_eq!(approvals, vec![approval.clone()]);
    let listed = w.pim.list(APPROVER_REQUESTS, &w.alice_t).await;
    assert_eq!(listed[0]["status"], "PendingApproval");
    assert_eq!(listed[0]["principalId"], w.bob.as_str());
    assert_eq!(listed[0]["justification"], "Investigating ticket INC-4711");
    let (status, a) = w.approval(&w.alice_t, &approval).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert_eq!(a["id"], approval.as_str());
    assert!(a["@odata.context"].as_str().unwrap().contains("roleAssignmentApprovals"), "{a}");
    let steps = a["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "{a}");
    assert_eq!(steps[0]["status"], "InProgress", "{a}");
    assert_eq!(steps[0]["reviewResult"], "NotReviewed", "{a}");
    assert_eq!(steps[0]["assignedToMe"], true, "{a}");
    assert_eq!(steps[0]["reviewedBy"], Value::Null, "{a}");
    assert_eq!(steps[0]["reviewedDateTime"], Value::Null, "{a}");
    let step = steps[0]["id"].as_str().unwrap();
    let (status, s) = w.pim.client.get(&format!("{APPROVALS}/{approval}/steps/{step}"), &w.alice_t).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(s["id"], step);
    let (status, s) = w.pim.client.get(&format!("{APPROVALS}/{approval}/steps"), &w.alice_t).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(s["value"].as_array().map(Vec::len), Some(1), "{s}");

    // bob sees his own approval, but nothing is assigned to him and nothing awaits him.
    let (status, mine) = w.approval(&w.bob_t, &approval).await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["steps"][0]["assignedToMe"], false, "{mine}");
    assert_eq!(w.awaiting(&w.bob_t).await, (vec![], vec![]));

    // eve sees nothing, and cannot decide.
    assert_eq!(w.awaiting(&w.eve_t).await, (vec![], vec![]));
    let (status, body) = w.approval(&w.eve_t, &approval).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = w.pim.client.get(&format!("{ASSIGNMENT_REQUESTS}/{request}"), &w.eve_t).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = w.decide(&w.eve_t, &approval, step, "Approve", Some("sure")).await;
    assert!(status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN, "{status}: {body}");
    assert_eq!(w.get_request(&request).await["status"], "PendingApproval");
    w.nothing_granted().await;

    // A step id or approval id that does not exist.
    let (status, body) =
        w.decide(&w.alice_t, &approval, &uuid::Uuid::new_v4().to_string(), "Approve", Some("ok")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = w.approval(&w.alice_t, &uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // A review result that is neither Approve nor Deny.
    let (status, body) = w.decide(&w.alice_t, &approval, step, "Maybe", Some("hmm")).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    assert_eq!(w.get_request(&request).await["status"], "PendingApproval");
    w.pim.stop().await;
}

#[tokio::test]
async fn nobody_approves_their_own_request_even_when_listed() {
    let w = World::new().await;
    w.set_approvers(vec![single_user(&w.bob), single_user(&w.alice)]).await;
    let (request, approval) = w.request().await;
    assert_eq!(w.awaiting(&w.bob_t).await, (vec![], vec![]), "bob's own request does not await bob");
    let (status, a) = w.approval(&w.bob_t, &approval).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert_eq!(a["steps"][0]["assignedToMe"], false, "{a}");
    let step = a["steps"][0]["id"].as_str().unwrap().to_string();

    let (status, body) = w.decide(&w.bob_t, &approval, &step, "Approve", Some("I trust me")).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    assert_eq!(w.get_request(&request).await["status"], "PendingApproval");
    w.nothing_granted().await;

    // The refusal is audited as a failure, initiated by bob.
    let refused: Vec<Value> = audits_named(&w.pim, "Approve role activation request in PIM")
        .await
        .into_iter()
        .filter(|a| a["result"] == "failure")
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["initiatedBy"]["user"]["id"], w.bob.as_str(), "{}", refused[0]);
    assert_eq!(detail(&refused[0], "requestId"), Some(request.as_str()), "{}", refused[0]);
    assert!(!refused[0]["resultReason"].as_str().unwrap_or_default().is_empty(), "{}", refused[0]);

    // alice, also listed, still can.
    let (status, body) = w.decide(&w.alice_t, &approval, &step, "Approve", Some("ok")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(w.bob_has_the_role().await);
    w.pim.stop().await;
}

// ---------------------------------------------------------------- deciding

#[tokio::test]
async fn approval_grants_from_the_time_of_approval() {
    let w = World::new().await;
    let requested_at = w.pim.now();
    let (request, approval) = w.request().await;
    assert_eq!(at(&w.get_request(&request).await["createdDateTime"]), requested_at);
    let step = w.step_id(&approval).await;

    w.pim.advance(Duration::minutes(37));
    let approved_at = w.pim.now();
    // The stage requires the approver's justification.
    let (status, body) = w.decide(&w.alice_t, &approval, &step, "Approve", None).await;
    assert_graph_error(status, &body, 400, "ApproverJustificationRequired");
    let (status, body) = w.decide(&w.alice_t, &approval, &step, "Approve", Some("   ")).await;
    assert_graph_error(status, &body, 400, "ApproverJustificationRequired");
    assert_eq!(w.get_request(&request).await["status"], "PendingApproval");
    w.nothing_granted().await;

    let (status, body) = w.decide(&w.alice_t, &approval, &step, "Approve", Some("Known incident")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(body, Value::Null);

    let r = w.get_request(&request).await;
    assert_eq!(r["status"], "Provisioned", "{r}");
    assert_eq!(at(&r["completedDateTime"]), approved_at, "{r}");
    assert_eq!(r["approvalId"], approval.as_str(), "{r}");
    assert!(w.bob_has_the_role().await, "the approved activation is in effect");
    let instances = w.pim.rows_of(ASSIGNMENT_INSTANCES, &w.bob).await;
    assert_eq!(instances.len(), 1, "{instances:?}");
    let i = &instances[0];
    assert_eq!(i["assignmentType"], "Activated", "{i}");
    assert_eq!(i["roleDefinitionId"], USER_ADMINISTRATOR, "{i}");
    assert_eq!(at(&i["startDateTime"]), approved_at, "starts when approved, not when requested: {i}");
    assert_eq!(at(&i["endDateTime"]), approved_at + Duration::hours(2), "lasts the requested two hours: {i}");
    let schedules = w.pim.rows_of(ASSIGNMENT_SCHEDULES, &w.bob).await;
    assert_eq!(schedules.len(), 1, "{schedules:?}");
    assert_eq!(schedules[0]["createdUsing"], request.as_str(), "{}", schedules[0]);

    // The approval shows the decision.
    let (status, a) = w.approval(&w.alice_t, &approval).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    let s = &a["steps"][0];
    assert_eq!(s["status"], "Completed", "{a}");
    assert_eq!(s["reviewResult"], "Approve", "{a}");
    assert_eq!(s["reviewedBy"]["id"], w.alice.as_str(), "{a}");
    assert_eq!(at(&s["reviewedDateTime"]), approved_at, "{a}");
    assert_eq!(s["justification"], "Known incident", "{a}");
    assert_eq!(w.awaiting(&w.alice_t).await, (vec![], vec![]), "nothing awaits alice any more");

    // A second decision is refused, either way.
    for result in ["Approve", "Deny"] {
        let (status, body) = w.decide(&w.alice_t, &approval, &step, result, Some("again")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{result}: {body}");
    }
    assert_eq!(w.get_request(&request).await["status"], "Provisioned");

    // Audited as a success by alice.
    let approved = audits_named(&w.pim, "Approve role activation request in PIM").await;
    let ok: Vec<&Value> = approved.iter().filter(|a| a["result"] == "success").collect();
    assert_eq!(ok.len(), 1, "{approved:?}");
    assert_eq!(ok[0]["initiatedBy"]["user"]["id"], w.alice.as_str(), "{}", ok[0]);
    assert_eq!(detail(ok[0], "requestId"), Some(request.as_str()), "{}", ok[0]);
    assert_eq!(detail(ok[0], "approvalId"), Some(approval.as_str()), "{}", ok[0]);
    assert_eq!(at(&ok[0]["activityDateTime"]), approved_at, "{}", ok[0]);
    w.pim.stop().await;
}

#[tokio::test]
async fn a_denied_request_grants_nothing() {
    let w = World::new().await;
    let (request, approval) = w.request().await;
    let step = w.step_id(&approval).await;
    w.pim.advance(Duration::minutes(5));
    let (status, body) = w.decide(&w.alice_t, &approval, &step, "Deny", None).await;
    assert_graph_error(status, &body, 400, "ApproverJustificationRequired");
    let (status, body) = w.decide(&w.alice_t, &approval, &step, "Deny", Some("No incident open")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let r = w.get_request(&request).await;
    assert_eq!(r["status"], "Denied", "{r}");
    assert_eq!(at(&r["completedDateTime"]), w.pim.now(), "{r}");
    w.nothing_granted().await;
    let (_, a) = w.approval(&w.bob_t, &approval).await;
    assert_eq!(a["steps"][0]["reviewResult"], "Deny", "{a}");
    assert_eq!(a["steps"][0]["status"], "Completed", "{a}");
    assert_eq!(w.awaiting(&w.alice_t).await, (vec![], vec![]));
    let (status, body) = w.decide(&w.alice_t, &approval, &step, "Approve", Some("changed my mind")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    w.nothing_granted().await;

    let audits = audits_named(&w.pim, "Deny role activation request in PIM").await;
    let (denied, refused): (Vec<Value>, Vec<Value>) = audits.into_iter().partition(|a| a["result"] == "success");
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert_eq!(refused.len(), 1, "the denial without justification is audited as a failure: {refused:?}");
    assert_eq!(refused[0]["result"], "failure", "{}", refused[0]);
    assert!(refused[0]["resultReason"].as_str().unwrap().contains("ApproverJustificationRequired"), "{}", refused[0]);
    assert_eq!(denied[0]["initiatedBy"]["user"]["id"], w.alice.as_str(), "{}", denied[0]);
    assert_eq!(detail(&denied[0], "requestId"), Some(request.as_str()), "{}", denied[0]);

    // Denied is final for that request, not for bob: he may ask again.
    let (again, _) = w.request().await;
    assert_ne!(again, request);
    w.pim.stop().await;
}

#[tokio::test]
async fn canceling_a_pending_request_ends_its_approval() {
    let w = World::new().await;
    let (request, approval) = w.request().await;
    let step = w.step_id(&approval).await;
    // Only bob (or an admin) may cancel; eve does not even see it.
    let (status, body) =
        w.pim.client.post(&format!("{ASSIGNMENT_REQUESTS}/{request}/cancel"), &w.eve_t, json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) =
        w.pim.client.post(&format!("{ASSIGNMENT_REQUESTS}/{request}/cancel"), &w.bob_t, json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    assert_eq!(w.get_request(&request).await["status"], "Canceled");
    assert_eq!(w.awaiting(&w.alice_t).await, (vec![], vec![]), "nothing awaits alice");
    let (status, body) = w.decide(&w.alice_t, &approval, &step, "Approve", Some("too late")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(w.get_request(&request).await["status"], "Canceled");
    w.nothing_granted().await;
    let (status, body) =
        w.pim.client.post(&format!("{ASSIGNMENT_REQUESTS}/{request}/cancel"), &w.bob_t, json!({})).await;
    assert_graph_error(status, &body, 400, "RequestNotCancelable");

    // A fresh request is possible and can be approved.
    let (again, approval) = w.request().await;
    let step = w.step_id(&approval).await;
    let (status, body) = w.decide(&w.alice_t, &approval, &step, "Approve", Some("ok")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(w.get_request(&again).await["status"], "Provisioned");
    assert!(w.bob_has_the_role().await);
    w.pim.stop().await;
}

#[tokio::test]
async fn deleting_the_requester_ends_the_pending_request_and_its_approval() {
    let w = World::new().await;
    let (request, approval) = w.request().await;
    let step = w.step_id(&approval).await;
    let admin = w.pim.admin_token();
    let (status, body) = w.pim.client.delete(&format!("/v1.0/users/{}", w.bob), &admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // The request stays as history, closed.
    let (status, body) = w.pim.client.get(&format!("{ASSIGNMENT_REQUESTS}/{request}"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "Revoked", "{body}");
    assert_eq!(w.awaiting(&w.alice_t).await, (vec![], vec![]), "nothing awaits alice");
    let (status, body) = w.decide(&w.alice_t, &approval, &step, "Approve", Some("too late")).await;
    assert_graph_error(status, &body, 400, "ApprovalNotPending");
    w.pim.stop().await;
}

#[tokio::test]
async fn members_of_an_approver_group_can_approve() {
    let w = World::new().await;
    let group = w.pim.group("PIM approvers", false).await;
    w.pim.add_member(&group, &w.alice).await;
    w.set_approvers(vec![json!({"@odata.type": "#microsoft.graph.groupMembers", "groupId": group})]).await;
    let (request, approval) = w.request().await;

    let (requests, approvals) = w.awaiting(&w.alice_t).await;
    assert_eq!((requests, approvals), (vec![request.clone()], vec![approval.clone()]));
    assert_eq!(w.awaiting(&w.eve_t).await, (vec![], vec![]), "eve is not in the group");
    let (status, a) = w.approval(&w.alice_t, &approval).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert_eq!(a["steps"][0]["assignedToMe"], true, "{a}");
    let step = a["steps"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = w.decide(&w.eve_t, &approval, &step, "Approve", Some("sure")).await;
    assert!(status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN, "{status}: {body}");

    let (status, body) = w.decide(&w.alice_t, &approval, &step, "Approve", Some("on call")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(w.get_request(&request).await["status"], "Provisioned");
    assert!(w.bob_has_the_role().await);
    w.pim.stop().await;
}

// ---------------------------------------------------------------- timeout

#[tokio::test]
async fn an_undecided_request_times_out() {
    let w = World::new().await;
    let (request, approval) = w.request().await;
    let step = w.step_id(&approval).await;

    // Not yet: a few seconds before the day is up, the tidy-up leaves it alone.
    w.pim.advance(Duration::hours(24) - Duration::seconds(5));
    openpim_server::jobs::tidy_once(&w.pim.server.state).await.expect("tidy");
    assert_eq!(w.get_request(&request).await["status"], "PendingApproval");
    assert_eq!(w.awaiting(&w.alice_t).await.1, vec![approval.clone()]);

    w.pim.advance(Duration::seconds(6));
    // Past the stage timeout it cannot be decided, even before the tidy-up runs.
    assert_eq!(w.awaiting(&w.alice_t).await, (vec![], vec![]));
    let (status, body) = w.decide(&w.alice_t, &approval, &step, "Approve", Some("late")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    openpim_server::jobs::tidy_once(&w.pim.server.state).await.expect("tidy");
    let r = w.get_request(&request).await;
    assert_eq!(r["status"], "TimedOut", "{r}");
    assert_eq!(at(&r["completedDateTime"]), w.pim.now(), "{r}");
    let (status, body) = w.decide(&w.alice_t, &approval, &step, "Approve", Some("late")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = w.decide(&w.alice_t, &approval, &step, "Deny", Some("late")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(w.get_request(&request).await["status"], "TimedOut");
    w.nothing_granted().await;
    let (status, body) =
        w.pim.client.post(&format!("{ASSIGNMENT_REQUESTS}/{request}/cancel"), &w.bob_t, json!({})).await;
    assert_graph_error(status, &body, 400, "RequestNotCancelable");

    // Running the job again changes nothing; the timeout is audited once.
    openpim_server::jobs::tidy_once(&w.pim.server.state).await.expect("tidy");
    let timed_out = audits_named(&w.pim, "Role activation request timed out waiting for approval (PIM)").await;
    assert_eq!(timed_out.len(), 1, "{timed_out:?}");
    assert_eq!(detail(&timed_out[0], "requestId"), Some(request.as_str()));

    // bob may ask again.
    let (again, _) = w.request().await;
    assert_ne!(again, request);
    w.pim.stop().await;
}

#[tokio::test]
async fn the_configured_approval_timeout_caps_the_stage_timeout() {
    use openpim_server::ServerConfig;
    use std::sync::{Arc, Mutex};

    let dir = tempfile::tempdir().unwrap();
    let database = common::TestDatabase::new().await;
    let clock = Arc::new(Mutex::new(T0));
    let server = openpim_server::start_with_clock(
        ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
            database_url: database.url.clone(),
            bootstrap_admin: common::ADMIN_UPN.into(),
            public_url: None,
            approval_timeout: std::time::Duration::from_secs(3600),
            notifications: Default::default(),
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
    let client = common::Client::new(&format!("http://{}", server.addr));
    let token = |upn: &str| {
        common::mint_for_upn(
            &server,
            upn,
            true,
            &[],
            time::OffsetDateTime::now_utc(),
            std::time::Duration::from_secs(3600),
        )
    };
    let admin = token(common::ADMIN_UPN);
    let mut ids = Vec::new();
    for name in ["bob", "alice"] {
        let (status, u) = client
            .post(
                "/v1.0/users",
                &admin,
                json!({"userPrincipalName": format!("{name}@openpim.test"), "displayName": name, "accountEnabled": true}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{u}");
        ids.push(u["id"].as_str().unwrap().to_string());
    }
    let (bob, alice) = (ids[0].clone(), ids[1].clone());
    let (status, body) = client
        .post(ELIGIBILITY_REQUESTS, &admin, request("adminAssign", &bob, USER_ADMINISTRATOR, Some(no_expiration())))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, rows) = client
        .get(
            &format!(
                "{POLICY_ASSIGNMENTS}?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '{USER_ADMINISTRATOR}'"
            ),
            &admin,
        )
        .await;
    let policy = rows["value"][0]["policyId"].as_str().unwrap().to_string();
    let (status, body) = client
        .patch(
            &format!("/v1.0/policies/roleManagementPolicies/{policy}/rules/Approval_EndUser_Assignment"),
            &admin,
            approval_rule(vec![single_user(&alice)]),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let bob_t = token("bob@openpim.test");
    let alice_t = token("alice@openpim.test");
    let (status, r) = client
        .post(
            ASSIGNMENT_REQUESTS,
            &bob_t,
            request("selfActivate", &bob, USER_ADMINISTRATOR, Some(for_duration(None, "PT1H"))),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["status"], "PendingApproval", "{r}");
    let request_id = r["id"].as_str().unwrap().to_string();
    let approval = r["approvalId"].as_str().unwrap().to_string();

    *clock.lock().unwrap() += Duration::minutes(61);
    openpim_server::jobs::tidy_once(&server.state).await.expect("tidy");
    let (_, r) = client.get(&format!("{ASSIGNMENT_REQUESTS}/{request_id}"), &bob_t).await;
    assert_eq!(r["status"], "TimedOut", "the one-hour server limit applies before the one-day stage timeout: {r}");
    let (status, a) = client.get(&format!("{APPROVALS}/{approval}"), &alice_t).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    let step = a["steps"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = client
        .patch(
            &format!("{APPROVALS}/{approval}/steps/{step}"),
            &alice_t,
            json!({"reviewResult": "Approve", "justification": "late"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    server.stop().await.expect("server stops");
    database.drop().await;
}

// ---------------------------------------------------------------- more ways it can go

#[tokio::test]
async fn serial_stages_are_decided_in_order() {
    let w = World::new().await;
    let (carol, carol_t) = w.pim.user("carol").await;
    let mut rule = approval_rule(vec![single_user(&w.alice)]);
    rule["setting"]["approvalMode"] = json!("Serial");
    let mut second = rule["setting"]["approvalStages"][0].clone();
    second["primaryApprovers"] = json!([single_user(&carol)]);
    rule["setting"]["approvalStages"].as_array_mut().unwrap().push(second);
    let (status, body) = w
        .pim
        .client
        .patch(
            &format!("/v1.0/policies/roleManagementPolicies/{}/rules/Approval_EndUser_Assignment", w.policy),
            &w.pim.admin_token(),
            rule,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let (request, approval) = w.request().await;
    assert_eq!(w.awaiting(&carol_t).await, (vec![], vec![]), "the second stage waits for the first");
    let (_, a) = w.approval(&carol_t, &approval).await;
    let steps = a["steps"].as_array().unwrap().clone();
    assert_eq!(steps.len(), 2, "{a}");
    assert_eq!((steps[0]["status"].clone(), steps[1]["status"].clone()), (json!("InProgress"), json!("NotStarted")));
    let (first, second) = (steps[0]["id"].as_str().unwrap(), steps[1]["id"].as_str().unwrap());
    let (status, body) = w.decide(&carol_t, &approval, second, "Approve", Some("early")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = w.decide(&carol_t, &approval, first, "Approve", Some("not mine")).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");

    let (status, body) = w.decide(&w.alice_t, &approval, first, "Approve", Some("stage one")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(w.get_request(&request).await["status"], "PendingApproval", "one stage of two");
    w.nothing_granted().await;
    assert_eq!(w.awaiting(&w.alice_t).await, (vec![], vec![]));
    assert_eq!(w.awaiting(&carol_t).await, (vec![request.clone()], vec![approval.clone()]));

    w.pim.advance(Duration::minutes(3));
    let (status, body) = w.decide(&carol_t, &approval, second, "Approve", Some("stage two")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(w.get_request(&request).await["status"], "Provisioned");
    assert!(w.bob_has_the_role().await);
    let instances = w.pim.rows_of(ASSIGNMENT_INSTANCES, &w.bob).await;
    assert_eq!(at(&instances[0]["startDateTime"]), w.pim.now(), "starts at the final approval");
    w.pim.stop().await;
}

#[tokio::test]
async fn an_administrator_who_is_not_listed_cannot_decide() {
    let w = World::new().await;
    let (request, approval) = w.request().await;
    let admin = w.pim.admin_token();
    // The admin reads everything...
    let (status, a) = w.approval(&admin, &approval).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert_eq!(a["steps"][0]["assignedToMe"], false, "{a}");
    assert_eq!(w.awaiting(&admin).await, (vec![], vec![]));
    // ...but decides only what the policy gives them.
    let step = a["steps"][0]["id"].as_str().unwrap();
    let (status, body) = w.decide(&admin, &approval, step, "Approve", Some("I am admin")).await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    assert_eq!(w.get_request(&request).await["status"], "PendingApproval");
    w.nothing_granted().await;
    w.pim.stop().await;
}

#[tokio::test]
async fn leaving_the_approver_group_ends_the_right_to_decide() {
    let w = World::new().await;
    let group = w.pim.group("PIM approvers", false).await;
    w.pim.add_member(&group, &w.alice).await;
    w.set_approvers(vec![json!({"@odata.type": "#microsoft.graph.groupMembers", "groupId": group})]).await;
    let (request, approval) = w.request().await;
    let step = w.step_id(&approval).await;
    w.pim.remove_member(&group, &w.alice).await;
    assert_eq!(w.awaiting(&w.alice_t).await, (vec![], vec![]));
    let (status, body) = w.decide(&w.alice_t, &approval, &step, "Approve", Some("ok")).await;
    assert!(status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN, "{status}: {body}");
    assert_eq!(w.get_request(&request).await["status"], "PendingApproval");
    w.nothing_granted().await;
    w.pim.stop().await;
}

#[tokio::test]
async fn an_approval_for_a_later_start_is_granted_then_provisioned() {
    let w = World::new().await;
    let start = w.pim.now() + Duration::hours(1);
    let (status, body) = w
        .pim
        .assignment_request(
            &w.bob_t,
            request("selfActivate", &w.bob, USER_ADMINISTRATOR, Some(for_duration(Some(start), "PT2H"))),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "PendingApproval", "{body}");
    let (request, approval) =
        (body["id"].as_str().unwrap().to_string(), body["approvalId"].as_str().unwrap().to_string());
    let step = w.step_id(&approval).await;
    w.pim.advance(Duration::minutes(10));
    let (status, body) = w.decide(&w.alice_t, &approval, &step, "Approve", Some("planned change")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(w.get_request(&request).await["status"], "Granted");
    assert!(!w.bob_has_the_role().await, "not before the requested start");

    w.pim.set_now(start);
    assert!(w.bob_has_the_role().await, "in effect from the requested start");
    openpim_server::jobs::tidy_once(&w.pim.server.state).await.expect("tidy");
    assert_eq!(w.get_request(&request).await["status"], "Provisioned");
    let instances = w.pim.rows_of(ASSIGNMENT_INSTANCES, &w.bob).await;
    assert_eq!(instances.len(), 1, "{instances:?}");
    assert_eq!(at(&instances[0]["startDateTime"]), start);
    assert_eq!(at(&instances[0]["endDateTime"]), start + Duration::hours(2));
    w.pim.stop().await;
}

#[tokio::test]
async fn an_approval_after_the_eligibility_went_away_grants_nothing() {
    let w = World::new().await;
    let (request_id, approval) = w.request().await;
    let step = w.step_id(&approval).await;
    w.pim.advance(Duration::minutes(10));
    let (status, body) =
        w.pim.eligibility_request(&w.pim.admin_token(), request("adminRemove", &w.bob, USER_ADMINISTRATOR, None)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "Revoked", "{body}");

    let (status, body) = w.decide(&w.alice_t, &approval, &step, "Approve", Some("ok")).await;
    let r = w.get_request(&request_id).await;
    match status {
        StatusCode::NO_CONTENT => assert_eq!(r["status"], "Failed", "{r}"),
        StatusCode::BAD_REQUEST => assert_ne!(r["status"], "Provisioned", "{r}"),
        other => panic!("unexpected {other}: {body}"),
    }
    w.nothing_granted().await;
    w.pim.stop().await;
}

// ---------------------------------------------------------------- what the audit log tells auditors

/// Every target of an audit row is named, and so is the initiator.
fn assert_named(audit: &Value) {
    let initiator = &audit["initiatedBy"]["user"];
    assert!(initiator["displayName"].as_str().is_some_and(|n| !n.is_empty()), "initiator unnamed: {audit}");
    for t in audit["targetResources"].as_array().unwrap() {
        assert!(t["displayName"].as_str().is_some_and(|n| !n.is_empty()), "target unnamed: {audit}");
    }
}

#[tokio::test]
async fn activation_and_decision_records_carry_what_auditors_look_for() {
    let w = World::new().await;
    let requested_at = w.pim.now();
    let mut body = request("selfActivate", &w.bob, USER_ADMINISTRATOR, Some(for_duration(None, "PT2H")));
    body["ticketInfo"] = json!({"ticketNumber": "INC-4711", "ticketSystem": "ServiceNow"});
    let (status, created) = w.pim.assignment_request(&w.bob_t, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let request_id = created["id"].as_str().unwrap().to_string();
    let approval = created["approvalId"].as_str().unwrap().to_string();

    // The activation: requestor, role and scope (ids and names), justification, ticket, the
    // window asked for, and the approval it waits for.
    let asked = audits_named(&w.pim, "Add member to role (PIM activation)").await;
    assert_eq!(asked.len(), 1, "{asked:?}");
    let a = &asked[0];
    assert_named(a);
    assert_eq!(a["initiatedBy"]["user"]["displayName"], "bob", "{a}");
    let role = a["targetResources"].as_array().unwrap().iter().find(|t| t["type"] == "Role").unwrap();
    assert_eq!(role["displayName"], "User Administrator", "{a}");
    let principal = a["targetResources"].as_array().unwrap().iter().find(|t| t["type"] == "User").unwrap();
    assert_eq!(
        (principal["id"].as_str(), principal["userPrincipalName"].as_str()),
        (Some(w.bob.as_str()), Some("bob@openpim.test"))
    );
    let start = rfc3339(requested_at);
    let end = rfc3339(requested_at + Duration::hours(2));
    for (key, value) in [
        ("requestorId", w.bob.as_str()),
        ("requestorName", "bob"),
        ("roleDefinitionId", USER_ADMINISTRATOR),
        ("roleName", "User Administrator"),
        ("directoryScopeId", "/"),
        ("directoryScopeName", "Directory"),
        ("justification", "Investigating ticket INC-4711"),
        ("ticketNumber", "INC-4711"),
        ("ticketSystem", "ServiceNow"),
        ("requestedStartDateTime", start.as_str()),
        ("requestedEndDateTime", end.as_str()),
        ("requestedDuration", "PT2H"),
        ("requestId", request_id.as_str()),
        ("status", "PendingApproval"),
        ("approvalId", approval.as_str()),
    ] {
        assert_eq!(detail(a, key), Some(value), "{key}: {a}");
    }
    assert_eq!(detail(a, "grantedStartDateTime"), None, "nothing is granted while it waits: {a}");

    // The decision: stage, result, the approver's reason, and what it granted.
    let step = w.step_id(&approval).await;
    w.pim.advance(Duration::minutes(10));
    let approved_at = w.pim.now();
    let (status, body) = w.decide(&w.alice_t, &approval, &step, "Approve", Some("Known incident")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let decided = audits_named(&w.pim, "Approve role activation request in PIM").await;
    assert_eq!(decided.len(), 1, "{decided:?}");
    let d = &decided[0];
    assert_named(d);
    assert_eq!(d["initiatedBy"]["user"]["displayName"], "alice", "{d}");
    let granted_start = rfc3339(approved_at);
    let granted_end = rfc3339(approved_at + Duration::hours(2));
    for (key, value) in [
        ("approvalId", approval.as_str()),
        ("approvalStage", "1"),
        ("approvalResult", "Approve"),
        ("approvalReason", "Known incident"),
        ("approverId", w.alice.as_str()),
        ("approverName", "alice"),
        ("requestId", request_id.as_str()),
        ("requestorName", "bob"),
        ("justification", "Investigating ticket INC-4711"),
        ("ticketNumber", "INC-4711"),
        ("directoryScopeName", "Directory"),
        ("grantedStartDateTime", granted_start.as_str()),
        ("grantedEndDateTime", granted_end.as_str()),
        ("grantedDuration", "PT2H"),
    ] {
        assert_eq!(detail(d, key), Some(value), "{key}: {d}");
    }
    w.pim.stop().await;
}

#[tokio::test]
async fn a_refused_decision_is_audited_with_names_and_its_stage() {
    let w = World::new().await;
    w.set_approvers(vec![single_user(&w.bob), single_user(&w.alice)]).await;
    let (_, approval) = w.request().await;
    let step = w.step_id(&approval).await;
    // Bob may not decide his own request: refused, audited, and named like any other record.
    let (status, _) = w.decide(&w.bob_t, &approval, &step, "Approve", Some("me")).await;
    assert!(status.is_client_error(), "{status}");
    let refused: Vec<Value> = audits_named(&w.pim, "Approve role activation request in PIM")
        .await
        .into_iter()
        .filter(|a| a["result"] == "failure")
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_named(&refused[0]);
    assert_eq!(detail(&refused[0], "approverName"), Some("bob"), "{}", refused[0]);
    assert_eq!(detail(&refused[0], "roleName"), Some("User Administrator"), "{}", refused[0]);
    w.pim.stop().await;
}
