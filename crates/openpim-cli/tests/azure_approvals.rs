//! `openpim azure approvals list|show|approve|deny` through the real binary against a real
//! server: an admin requires approval with `openpim azure policy set`, a contractor's
//! `openpim azure activate` waits, the approver sees it with the request's facts and approves
//! (the role is then active) or denies it (it is not); nobody approves their own request; and
//! the directory's `openpim approvals list` shows the same request marked as an Azure role's.

mod common;

use common::azure::*;
use common::*;
use serde_json::{json, Value};

/// The approval's GUID from a pending request's `approvalId` (ARM's full resource id).
fn approval_guid(pending: &Value) -> String {
    let full = pending["properties"]["approvalId"].as_str().unwrap_or_else(|| panic!("no approvalId: {pending}"));
    assert!(full.starts_with("/providers/Microsoft.Authorization/roleAssignmentApprovals/"), "{full}");
    full.rsplit('/').next().unwrap().to_string()
}

fn active_at<'a>(mine: &'a Value, scope: &str) -> Vec<&'a Value> {
    mine.as_array().expect("rows").iter().filter(|r| r["type"] == "active" && r["scope"] == scope).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_approvals_approve_deny_and_no_self_approval() {
    let cli = Cli::start().await;
    let admin = cli.admin().await;
    let admin_arm = arm_token(&cli, ADMIN).await;
    azure(&cli, &admin, &admin_arm).await;
    let (carol_id, carol) = cli.user("carol").await;
    let carol_arm = arm_token(&cli, "carol@openpim.test").await;
    let (alice_id, alice) = cli.user("alice").await;
    let alice_arm = arm_token(&cli, "alice@openpim.test").await;
    let (s, web) = (sub(), rg("web"));

    // The admin requires approval for Reader at the subscription, by carol and alice (alice is
    // also the contractor: she must not approve her own activation).
    let set = ok(&az(
        &cli,
        &admin,
        &admin_arm,
        &[
            "azure",
            "policy",
            "set",
            "--scope",
            &s,
            "--role",
            "Reader",
            "--approver",
            "carol@openpim.test",
            "--approver",
            "alice@openpim.test",
        ],
    )
    .await);
    assert_eq!(set["approvalRequired"], true, "{set}");
    let add = ["azure", "assignments", "add", "--scope", &s, "--role", "Reader", "--principal", "alice@openpim.test"];
    ok(&az(&cli, &admin, &admin_arm, &[&add[..], &["--duration", "30d"]].concat()).await);

    // The contractor activates: it waits for an approver.
    let act = ["azure", "activate", "Reader", "--scope", &s, "--duration", "1h", "--justification", "deploy"];
    let pending = ok(&az(&cli, &alice, &alice_arm, &act).await);
    assert_eq!(pending["properties"]["status"], "PendingApproval", "{pending}");
    let first = approval_guid(&pending);
    let mine = ok(&az(&cli, &alice, &alice_arm, &["azure", "my", "roles"]).await);
    assert!(active_at(&mine, &s).is_empty(), "not active before the approval: {mine}");

    // Her own request is not waiting for her, and approving it is refused by the server.
    assert_eq!(ok(&az(&cli, &alice, &alice_arm, &["azure", "approvals", "list"]).await), json!([]));
    let out = az(&cli, &alice, &alice_arm, &["azure", "approvals", "approve", &first, "--justification", "me"]).await;
    out.assert_error(3, "AuthorizationFailed");
    assert!(out.stderr.contains("their own request"), "{}", out.stderr);

    // The approver sees it with the request's facts.
    let listed = ok(&az(&cli, &carol, &carol_arm, &["azure", "approvals", "list"]).await);
    let rows = listed.as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{listed}");
    let row = &rows[0];
    assert_eq!(row["approvalId"], first.as_str());
    assert_eq!(row["id"], pending["properties"]["approvalId"]);
    assert_eq!(row["status"], "InProgress");
    assert_eq!(row["stages"][0]["properties"]["assignedToMe"], true, "{row}");
    let request = &row["request"];
    assert_eq!(request["approvalId"], first.as_str());
    assert_eq!(request["azure"], true);
    assert_eq!(request["requestId"], pending["name"]);
    assert_eq!(request["principalId"], alice_id.as_str());
    assert_eq!(request["requester"], "alice@openpim.test");
    assert_eq!(request["role"], "Reader");
    assert_eq!(request["roleDefinitionId"], READER);
    assert_eq!(request["directoryScopeId"], s.as_str());
    assert_eq!(request["justification"], "deploy");
    assert!(request["window"].as_str().unwrap().ends_with("for 1h"), "{row}");
    let table =
        cli.run(Some(&carol), &["--arm-token", &carol_arm, "azure", "approvals", "list", "--output", "table"]).await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    for text in [first.as_str(), "alice@openpim.test", "Reader", s.as_str(), "deploy"] {
        assert!(table.stdout.contains(text), "{text} in {}", table.stdout);
    }

    // The directory's command shows the same request, marked as an Azure role's at its ARM scope
    // (the role named through ARM with the ARM token, else by its GUID).
    let directory = ok(&az(&cli, &carol, &carol_arm, &["approvals", "list"]).await);
    assert_eq!(directory.as_array().unwrap().len(), 1, "{directory}");
    assert_eq!(directory[0], row["request"], "one row for both commands");
    let out = cli.run(Some(&carol), &["approvals", "list", "--output", "json"]).await;
    assert_eq!(out.json()[0]["role"], READER, "no ARM token: {}", out.stdout);
    let table = cli.run(Some(&carol), &["--arm-token", &carol_arm, "approvals", "list", "--output", "table"]).await;
    let line = table.stdout.lines().find(|l| l.contains(&first)).unwrap_or_else(|| panic!("{}", table.stdout));
    assert!(line.contains("azure") && line.contains("Reader") && line.contains(&s), "{line}");

    // show: by the full id or by the request's id; an unknown id is exit 4.
    let full = pending["properties"]["approvalId"].as_str().unwrap();
    let shown = ok(&az(&cli, &carol, &carol_arm, &["azure", "approvals", "show", full]).await);
    assert_eq!(shown["approvalId"], first.as_str());
    assert_eq!(shown["request"]["requester"], "alice@openpim.test");
    let by_request = pending["name"].as_str().unwrap();
    let shown = ok(&az(&cli, &carol, &carol_arm, &["azure", "approvals", "show", by_request]).await);
    assert_eq!(shown["approvalId"], first.as_str());
    let unknown = uuid::Uuid::new_v4().to_string();
    az(&cli, &carol, &carol_arm, &["azure", "approvals", "show", &unknown])
        .await
        .assert_error(4, "RoleAssignmentApprovalNotFound");

    // Azure's default stage wants the approver's justification: the server's refusal, exit 5.
    az(&cli, &carol, &carol_arm, &["azure", "approvals", "approve", &first])
        .await
        .assert_error(5, "ApproverJustificationRequired");
    let decided =
        ok(&az(&cli, &carol, &carol_arm, &["azure", "approvals", "approve", &first, "--justification", "on call"])
            .await);
    let p = &decided["properties"];
    assert_eq!((p["status"].as_str(), p["reviewResult"].as_str()), (Some("Completed"), Some("Approve")), "{decided}");
    assert_eq!(p["reviewedBy"]["principalId"], carol_id.as_str());
    assert_eq!(p["justification"], "on call");

    // The contractor's role is active now; nothing waits for carol; the approval says Approved.
    let mine = ok(&az(&cli, &alice, &alice_arm, &["azure", "my", "roles"]).await);
    let active = active_at(&mine, &s);
    assert_eq!(active.len(), 1, "{mine}");
    assert_eq!((active[0]["role"].as_str(), active[0]["assignmentType"].as_str()), (Some("Reader"), Some("Activated")));
    assert_eq!(ok(&az(&cli, &carol, &carol_arm, &["azure", "approvals", "list"]).await), json!([]));
    let shown = ok(&az(&cli, &carol, &carol_arm, &["azure", "approvals", "show", &first]).await);
    assert_eq!(shown["status"], "Approved", "{shown}");
    assert!(shown["request"].is_null(), "no longer waiting for carol: {shown}");
    // Deciding it again: nothing in progress, exit 5.
    let again = az(&cli, &carol, &carol_arm, &["azure", "approvals", "deny", &first, "--justification", "x"]).await;
    again.assert_error(5, "ApprovalNotPending");

    // Deny: a second activation at the resource group (`--reason` as `openpim approvals` takes it).
    let act = ["azure", "activate", "Reader", "--scope", &web, "--duration", "1h", "--justification", "hotfix"];
    let second = approval_guid(&ok(&az(&cli, &alice, &alice_arm, &act).await));
    let denied =
        ok(&az(&cli, &carol, &carol_arm, &["azure", "approvals", "deny", &second, "--reason", "not now"]).await);
    assert_eq!(denied["properties"]["reviewResult"], "Deny", "{denied}");
    let mine = ok(&az(&cli, &alice, &alice_arm, &["azure", "my", "roles"]).await);
    assert!(active_at(&mine, &web).is_empty(), "denied, not active: {mine}");
    // The requester sees her denied approval (its stages: the request is hers to read over ARM).
    let shown = ok(&az(&cli, &alice, &alice_arm, &["azure", "approvals", "show", &second]).await);
    assert_eq!(shown["status"], "Denied", "{shown}");
    assert_eq!(shown["stages"][0]["properties"]["justification"], "not now");

    // The directory's command decides an Azure role's approval too (here by its request id).
    cli.advance(time::Duration::minutes(6));
    ok(&az(&cli, &alice, &alice_arm, &["azure", "deactivate", "Reader", "--scope", &s]).await);
    let act = ["azure", "activate", "Reader", "--scope", &s, "--duration", "1h", "--justification", "again"];
    let third = ok(&az(&cli, &alice, &alice_arm, &act).await);
    let request_id = third["name"].as_str().unwrap();
    let decided = ok(&az(&cli, &carol, &carol_arm, &["approvals", "approve", request_id, "--reason", "ok"]).await);
    assert_eq!(decided["approvalId"], approval_guid(&third).as_str(), "{decided}");
    let mine = ok(&az(&cli, &alice, &alice_arm, &["azure", "my", "roles"]).await);
    assert_eq!(active_at(&mine, &s).len(), 1, "approved through Graph: {mine}");
    cli.stop().await;
}
