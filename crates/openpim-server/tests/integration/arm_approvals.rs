//! Approvals of Azure role activations over ARM (issue #16): a custom role whose subscription
//! settings require approval; a contractor eligible at the subscription activates at a resource
//! group below it; the request waits (PendingApproval) with an approval that ARM's preview
//! `roleAssignmentApprovals` API shows; the contractor cannot approve their own request; a member
//! of the approver group approves; the permissions API then shows the role's actions. Also: a
//! denial, and a fresh scope's defaults needing no approval (settings not inherited); the list
//! paged with next links, and its filters (`asApprover()`, `asCreatedBy()`, `asTarget()`, none)
//! as Azure's docs describe them. SQLite always; PostgreSQL too when `OPENPIM_TEST_POSTGRES_URL`
//! is set.

use crate::arm_pim_requests::{
    actions_at, arm_token, assignment, azure, call, eligibility, guid, request_body, rg, schedule_for, sub, SUB,
};
use crate::pim::Pim;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use time::Duration;

const A: &str = "api-version=2021-01-01-preview";

/// Creates the custom role "Web Deployer" assignable at the subscription; returns its GUID.
pub async fn custom_role(pim: &Pim, admin: &str) -> String {
    let id = guid();
    let body = json!({"properties": {
        "roleName": "Web Deployer",
        "description": "Deploys web apps",
        "type": "CustomRole",
        "permissions": [{"actions": ["Microsoft.Web/sites/read", "Microsoft.Web/sites/write"], "notActions": [], "dataActions": [], "notDataActions": []}],
        "assignableScopes": [sub()],
    }});
    let path = format!("{}/providers/Microsoft.Authorization/roleDefinitions/{id}?api-version=2022-04-01", sub());
    let (status, resp) = call(pim, Method::PUT, &path, admin, Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{resp}");
    id
}

/// PATCHes `rules` (ARM rule objects, merged by id) into the settings of `role` at `scope`.
pub async fn patch_rules(pim: &Pim, admin: &str, scope: &str, role: &str, rules: Value) {
    let filter = format!("roleDefinitionId%20eq%20'{scope}/providers/Microsoft.Authorization/roleDefinitions/{role}'");
    let list = format!(
        "{scope}/providers/Microsoft.Authorization/roleManagementPolicies?api-version=2020-10-01&$filter={filter}"
    );
    let (status, body) = call(pim, Method::GET, &list, admin, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let policy_id = body["value"][0]["id"].as_str().expect("policy id").to_string();
    let patch = json!({"properties": {"rules": rules}});
    let (status, body) =
        call(pim, Method::PATCH, &format!("{policy_id}?api-version=2020-10-01"), admin, Some(&patch)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Requires approval by `approvers` (ARM UserSets) for activating `role` at `scope`.
pub async fn require_approval(pim: &Pim, admin: &str, scope: &str, role: &str, approvers: Value) {
    let rule = json!({
        "id": "Approval_EndUser_Assignment", "ruleType": "RoleManagementPolicyApprovalRule",
        "target": {"caller": "EndUser", "operations": ["All"], "level": "Assignment"},
        "setting": {"isApprovalRequired": true, "isApprovalRequiredForExtension": false, "isRequestorJustificationRequired": true,
            "approvalMode": "SingleStage", "approvalStages": [{"approvalStageTimeOutInDays": 1, "isApproverJustificationRequired": true,
            "escalationTimeInMinutes": 0, "isEscalationEnabled": false, "primaryApprovers": approvers, "escalationApprovers": null}]}
    });
    patch_rules(pim, admin, scope, role, json!([rule])).await;
}

pub fn approval_path(id: &str) -> String {
    format!("/providers/Microsoft.Authorization/roleAssignmentApprovals/{id}?{A}")
}

pub fn stage_path(id: &str, stage: &str) -> String {
    format!("/providers/Microsoft.Authorization/roleAssignmentApprovals/{id}/stages/{stage}?{A}")
}

/// Eligible at the subscription, activating at the resource group `web`: PendingApproval.
pub async fn pending_activation(pim: &Pim, admin: &str, contractor: &str, role: &str) -> (Value, String) {
    let contractor_arm = arm_token(pim, contractor);
    let (status, body) =
        eligibility(pim, admin, &sub(), &request_body("AdminAssign", contractor, role, Some(schedule_for("P30D"))))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    pim.advance(Duration::minutes(1));
    let (status, request) = assignment(
        pim,
        &contractor_arm,
        &rg("web"),
        &request_body("SelfActivate", contractor, role, Some(schedule_for("PT2H"))),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    assert_eq!(request["properties"]["status"], "PendingApproval", "{request}");
    let approval = request["properties"]["approvalId"].as_str().expect("an approval id").to_string();
    // Azure names the approval by its resource id; clients strip the prefix to call its routes.
    let approval = approval
        .strip_prefix("/providers/Microsoft.Authorization/roleAssignmentApprovals/")
        .unwrap_or_else(|| panic!("approvalId is the approval's resource id: {approval}"))
        .to_string();
    (request, approval)
}

#[tokio::test]
async fn subscription_settings_require_approval_a_group_member_approves_and_nobody_self_approves() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;
    let role = custom_role(&pim, &admin).await;
    let (contractor, _) = pim.user("contractor").await;
    let (carol, _) = pim.user("carol").await;
    let (dave, _) = pim.user("dave").await;
    let approvers = pim.group("web approvers", false).await;
    pim.add_member(&approvers, &carol).await;
    require_approval(
        &pim,
        &admin,
        &sub(),
        &role,
        json!([{"id": approvers, "userType": "Group", "isBackup": false, "description": "web approvers"}]),
    )
    .await;

    let (_, approval) = pending_activation(&pim, &admin, &contractor, &role).await;
    let contractor_arm = arm_token(&pim, &contractor);
    let carol_arm = arm_token(&pim, &carol);
    let dave_arm = arm_token(&pim, &dave);
    assert!(actions_at(&pim, &contractor_arm, &rg("web")).await.is_empty(), "nothing before approval");

    // The requester sees the approval; its one stage is in progress and not theirs to decide.
    let (status, a) = call(&pim, Method::GET, &approval_path(&approval), &contractor_arm, None).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert_eq!(a["name"], approval.as_str());
    assert_eq!(a["type"], "Microsoft.Authorization/roleAssignmentApprovals");
    let stage = a["properties"]["stages"][0].clone();
    let stage_id = stage["name"].as_str().unwrap().to_string();
    assert_eq!(stage["properties"]["status"], "InProgress");
    assert_eq!(stage["properties"]["reviewResult"], "NotReviewed");
    assert_eq!(stage["properties"]["assignedToMe"], false);

    // No self-approval, whatever the body's form; someone outside the approval does not see it.
    let approve = json!({"reviewResult": "Approve", "justification": "I trust me"});
    let (status, body) =
        call(&pim, Method::PATCH, &stage_path(&approval, &stage_id), &contractor_arm, Some(&approve)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "AuthorizationFailed");
    let (status, body) = call(&pim, Method::GET, &approval_path(&approval), &dave_arm, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = call(&pim, Method::PATCH, &stage_path(&approval, &stage_id), &dave_arm, Some(&approve)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(actions_at(&pim, &contractor_arm, &rg("web")).await.is_empty(), "still nothing");

    // Carol, a member of the approver group, has it waiting for her, and approves it (the REST
    // spec's body, wrapped in properties).
    let (status, mine) = call(
        &pim,
        Method::GET,
        &format!("/providers/Microsoft.Authorization/roleAssignmentApprovals?{A}&$filter=asApprover()"),
        &carol_arm,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    let listed: Vec<&str> = mine["value"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(listed, [approval.as_str()]);
    assert_eq!(mine["value"][0]["properties"]["stages"][0]["properties"]["assignedToMe"], true);
    // ARM's own way for an approver to read the requests: asApprover() on the tenant's list.
    // Carol reads no role assignments anywhere, yet sees the request waiting for her; Dave sees
    // none; asApprover() means nothing on schedules.
    let waiting =
        "/providers/Microsoft.Authorization/roleAssignmentScheduleRequests?api-version=2020-10-01&$filter=asApprover()";
    let (status, rows) = call(&pim, Method::GET, waiting, &carol_arm, None).await;
    assert_eq!(status, StatusCode::OK, "{rows}");
    let rows = rows["value"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["properties"]["principalId"], contractor.as_str());
    assert_eq!(rows[0]["properties"]["status"], "PendingApproval");
    assert_eq!(rows[0]["properties"]["scope"], rg("web").as_str());
    let (status, rows) = call(&pim, Method::GET, waiting, &dave_arm, None).await;
    assert_eq!(status, StatusCode::OK, "{rows}");
    assert_eq!(rows["value"], json!([]), "nothing waits for Dave");
    let on_schedules = format!(
        "{}/providers/Microsoft.Authorization/roleAssignmentSchedules?api-version=2020-10-01&$filter=asApprover()",
        sub()
    );
    let (status, body) = call(&pim, Method::GET, &on_schedules, &admin, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, st) = call(&pim, Method::GET, &stage_path(&approval, &stage_id), &carol_arm, None).await;
    assert_eq!(status, StatusCode::OK, "{st}");
    assert_eq!(st["type"], "Microsoft.Authorization/roleAssignmentApprovals/stages");
    let body = json!({"properties": {"reviewResult": "Approve", "justification": "Change CHG-42"}});
    let (status, decided) = call(&pim, Method::PATCH, &stage_path(&approval, &stage_id), &carol_arm, Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    let p = &decided["properties"];
    assert_eq!((p["status"].as_str(), p["reviewResult"].as_str()), (Some("Completed"), Some("Approve")));
    assert_eq!(p["reviewedBy"]["principalId"], carol.as_str());
    assert_eq!(p["justification"], "Change CHG-42");

    // The activation is granted at the resource group only, as the permissions API shows.
    let actions = actions_at(&pim, &contractor_arm, &rg("web")).await;
    assert_eq!(actions, ["Microsoft.Web/sites/read", "Microsoft.Web/sites/write"]);
    assert!(actions_at(&pim, &contractor_arm, &rg("data")).await.is_empty());
    // A second decision on a decided stage changes nothing.
    let (status, _) = call(&pim, Method::PATCH, &stage_path(&approval, &stage_id), &carol_arm, Some(&body)).await;
    assert!(status.is_client_error(), "{status}");

    let audits = pim.audits().await;
    assert!(audits
        .iter()
        .any(|a| a["activityDisplayName"] == "Approve role activation request in PIM" && a["result"] == "success"));
    assert!(
        audits
            .iter()
            .any(|a| a["activityDisplayName"] == "Approve role activation request in PIM" && a["result"] == "failure"),
        "the self-approval is audited"
    );
    pim.stop().await;
}

#[tokio::test]
async fn a_single_user_approver_denies_and_fresh_scopes_need_no_approval() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;
    let role = custom_role(&pim, &admin).await;
    let (contractor, contractor_graph) = pim.user("contractor").await;
    let (bob, bob_graph) = pim.user("bob").await;
    require_approval(&pim, &admin, &sub(), &role, json!([{"id": bob, "userType": "User", "isBackup": false}])).await;
    let (_, approval) = pending_activation(&pim, &admin, &contractor, &role).await;
    let bob_arm = arm_token(&pim, &bob);
    let contractor_arm = arm_token(&pim, &contractor);
    let (status, a) = call(&pim, Method::GET, &approval_path(&approval), &bob_arm, None).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    let stage_id = a["properties"]["stages"][0]["name"].as_str().unwrap().to_string();
    // The web UI and CLI read approvals through Graph: the same approval waits for Bob there.
    let (status, graph) = call(
        &pim,
        Method::GET,
        "/v1.0/roleManagement/directory/roleAssignmentApprovals/filterByCurrentUser(on='approver')",
        &bob_graph,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{graph}");
    assert!(graph["value"].as_array().unwrap().iter().any(|a| a["id"] == approval.as_str()), "{graph}");
    // So does its request, at its ARM scope: Graph's directory navigation properties expand to
    // null for it (they answered 400 InvalidDirectoryScope to the whole list before).
    let (status, waiting) = call(
        &pim,
        Method::GET,
        "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')\
         ?$expand=roleDefinition,directoryScope",
        &bob_graph,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{waiting}");
    let request = waiting["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["approvalId"] == approval.as_str())
        .unwrap_or_else(|| panic!("the request of {approval} in {waiting}"));
    assert_eq!(request["directoryScopeId"], rg("web").as_str());
    assert_eq!(request["roleDefinitionId"], role.as_str());
    assert!(request["roleDefinition"].is_null() && request["directoryScope"].is_null(), "{request}");
    // Read by id, an Azure role's request stays ARM's: Graph's 400, even for its principal.
    let by_id =
        format!("/v1.0/roleManagement/directory/roleAssignmentScheduleRequests/{}", request["id"].as_str().unwrap());
    let (status, body) = call(&pim, Method::GET, &by_id, &contractor_graph, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "InvalidDirectoryScope", "{body}");
    // An unknown result is a 400.
    let (status, body) =
        call(&pim, Method::PUT, &stage_path(&approval, &stage_id), &bob_arm, Some(&json!({"reviewResult": "Maybe"})))
            .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = call(
        &pim,
        Method::POST,
        &stage_path(&approval, &stage_id),
        &bob_arm,
        Some(&json!({"reviewResult": "Deny", "justification": "Not this week"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["properties"]["reviewResult"], "Deny");
    assert!(actions_at(&pim, &contractor_arm, &rg("web")).await.is_empty(), "denied: nothing granted");

    // An eligibility made at the resource group `data` follows that scope's own settings, which
    // nobody changed: Azure's defaults, no approval (the subscription's are not inherited).
    let (status, body) = eligibility(
        &pim,
        &admin,
        &rg("data"),
        &request_body("AdminAssign", &contractor, &role, Some(schedule_for("P30D"))),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    pim.advance(Duration::minutes(1));
    let (status, body) = assignment(
        &pim,
        &contractor_arm,
        &rg("data"),
        &request_body("SelfActivate", &contractor, &role, Some(schedule_for("PT1H"))),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["properties"]["status"], "Provisioned", "{body}");
    assert_eq!(
        actions_at(&pim, &contractor_arm, &rg("data")).await,
        ["Microsoft.Web/sites/read", "Microsoft.Web/sites/write"]
    );
    let _ = SUB;
    pim.stop().await;
}

/// The approvals' names `token` lists from `path`, following next links; and how many pages.
async fn approvals_over_pages(pim: &Pim, token: &str, path: &str) -> (Vec<String>, usize) {
    let (mut names, mut pages, mut next) = (Vec::new(), 0, Some(path.to_string()));
    while let Some(url) = next {
        let (status, body) = call(pim, Method::GET, &url, token, None).await;
        assert_eq!(status, StatusCode::OK, "{url}: {body}");
        names.extend(body["value"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap().to_string()));
        // The next link is absolute, on the server's origin; the client takes the path.
        next = body["nextLink"].as_str().map(|link| {
            assert!(link.starts_with("http") && link.contains("skiptoken=") && link.contains(A), "{link}");
            link[link.find("/providers/").expect("an ARM path")..].to_string()
        });
        pages += 1;
        assert!(pages < 20, "runaway paging");
    }
    (names, pages)
}

#[tokio::test]
async fn the_approvals_list_pages_and_filters_as_azure_documents() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;
    let role = custom_role(&pim, &admin).await;
    let (carol, _) = pim.user("carol").await;
    let (dave, _) = pim.user("dave").await;
    require_approval(&pim, &admin, &sub(), &role, json!([{"id": carol, "userType": "User", "isBackup": false}])).await;
    // Five contractors each wait for Carol: more approvals than a two-item page holds.
    let mut expected = Vec::new();
    let mut contractors = Vec::new();
    for n in 0..5 {
        let (contractor, _) = pim.user(&format!("contractor{n}")).await;
        let (_, approval) = pending_activation(&pim, &admin, &contractor, &role).await;
        expected.push(approval);
        contractors.push(contractor);
    }
    expected.sort();
    let carol_arm = arm_token(&pim, &carol);
    let list = |query: &str| format!("/providers/Microsoft.Authorization/roleAssignmentApprovals?{A}{query}");

    // `$top` is the page size: 2 + 2 + 1, no approval twice, none missing.
    let (mut names, pages) = approvals_over_pages(&pim, &carol_arm, &list("&$top=2")).await;
    assert_eq!(pages, 3);
    names.sort();
    assert_eq!(names, expected);
    // The filter is kept on every page.
    let (mut names, pages) = approvals_over_pages(&pim, &carol_arm, &list("&$filter=asApprover()&$top=2")).await;
    names.sort();
    assert_eq!((names, pages), (expected.clone(), 3));
    // Unpaged (the default page holds them all): one page, no next link.
    let (status, body) = call(&pim, Method::GET, &list(""), &carol_arm, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"].as_array().unwrap().len(), 5);
    assert!(body.get("nextLink").is_none_or(Value::is_null), "{body}");

    // Who sees what: the approver sees none as their own requests; each requester sees only
    // their own (no filter, asCreatedBy(), asTarget()) and none as an approver; an outsider none.
    for filter in ["&$filter=asCreatedBy()", "&$filter=asTarget()"] {
        assert!(approvals_over_pages(&pim, &carol_arm, &list(filter)).await.0.is_empty(), "{filter}");
    }
    let first = arm_token(&pim, &contractors[0]);
    let mine = approvals_over_pages(&pim, &first, &list("")).await.0;
    assert_eq!(mine.len(), 1);
    assert!(expected.contains(&mine[0]));
    for filter in ["&$filter=asCreatedBy()", "&$filter=asTarget()"] {
        assert_eq!(approvals_over_pages(&pim, &first, &list(filter)).await.0, mine, "{filter}");
    }
    assert!(approvals_over_pages(&pim, &first, &list("&$filter=asApprover()")).await.0.is_empty());
    let dave_arm = arm_token(&pim, &dave);
    assert!(approvals_over_pages(&pim, &dave_arm, &list("")).await.0.is_empty());

    // Bad paging and filters are ARM's 400s.
    for (query, code) in [
        ("&$filter=asOwner()", "InvalidFilter"),
        ("&$skiptoken=forged", "InvalidSkipToken"),
        ("&$top=0", "InvalidQueryParameterValue"),
    ] {
        let (status, body) = call(&pim, Method::GET, &list(query), &carol_arm, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"]["code"], code, "{query}: {body}");
    }

    // A decided approval leaves the list.
    let (_, a) = call(&pim, Method::GET, &approval_path(&mine[0]), &carol_arm, None).await;
    let stage = a["properties"]["stages"][0]["name"].as_str().unwrap().to_string();
    let approve = json!({"reviewResult": "Approve", "justification": "Planned work"});
    let (status, body) = call(&pim, Method::PATCH, &stage_path(&mine[0], &stage), &carol_arm, Some(&approve)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (names, pages) = approvals_over_pages(&pim, &carol_arm, &list("&$top=2")).await;
    assert_eq!((names.len(), pages), (4, 2));
    assert!(!names.contains(&mine[0]));
    pim.stop().await;
}
