//! `openpim azure policy show|set` through the real binary against a real server: Azure's
//! default role settings read rule by rule, changed with one PATCH, and the change in force for
//! the next activation (`openpim azure activate` then waits for approval).

mod common;

use common::azure::*;
use common::*;
use serde_json::Value;

fn rule<'a>(summary: &'a Value, id: &str) -> &'a Value {
    summary["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no rule {id} in {summary}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_policy_show_set_and_the_next_activation() {
    let cli = Cli::start().await;
    let admin = cli.admin().await;
    let admin_arm = arm_token(&cli, ADMIN).await;
    azure(&cli, &admin, &admin_arm).await;
    let (approver_id, _) = cli.user("carol").await;
    let (_, alice) = cli.user("alice").await;
    let alice_arm = arm_token(&cli, "alice@openpim.test").await;
    let s = sub();

    // Azure's defaults for Reader at the subscription: 17 rules, 8 hours, MFA, no approval.
    let shown =
        ok(&az(&cli, &admin, &admin_arm, &["azure", "policy", "show", "--scope", &s, "--role", "Reader"]).await);
    assert_eq!(shown["rules"].as_array().unwrap().len(), 17, "{shown}");
    assert_eq!(shown["role"], "Reader");
    assert_eq!(shown["maxActivation"], "PT8H");
    assert_eq!(shown["approvalRequired"], false);
    assert!(
        shown["policyId"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{s}/providers/Microsoft.Authorization/roleManagementPolicies/")),
        "{shown}"
    );
    assert_eq!(rule(&shown, "Expiration_EndUser_Assignment")["summary"], "an end is required, at most 8h");
    let table = cli
        .run(
            Some(&admin),
            &[
                "--arm-token",
                &admin_arm,
                "azure",
                "policy",
                "show",
                "--scope",
                &s,
                "--role",
                "reader",
                "--output",
                "table",
            ],
        )
        .await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(
        table.stdout.contains("Max activation:") && table.stdout.contains("Approval_EndUser_Assignment"),
        "{}",
        table.stdout
    );

    // set: 2 hours, justification, no MFA, approval by carol.
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
            "--max-activation",
            "2h",
            "--require-justification",
            "--require-mfa=false",
            "--approver",
            "carol@openpim.test",
        ],
    )
    .await);
    assert_eq!(set["maxActivation"], "PT2H");
    assert_eq!(set["activationRequires"], serde_json::json!(["Justification"]));
    assert_eq!(set["approvalRequired"], true);
    assert_eq!(set["approvers"][0]["id"], approver_id.as_str());
    assert_eq!(set["approvers"][0]["userType"], "User");
    // The server keeps it: show reads it back.
    let shown = ok(&az(&cli, &admin, &admin_arm, &["azure", "policy", "show", "--scope", &s, "--role", READER]).await);
    assert_eq!(shown["maxActivation"], "PT2H");
    assert_eq!(shown["approvalRequired"], true);
    assert_eq!(rule(&shown, "Approval_EndUser_Assignment")["summary"], "approval required, by carol@openpim.test");

    // Nothing to change, and approvers with approval turned off: usage errors, nothing sent.
    let out = az(&cli, &admin, &admin_arm, &["azure", "policy", "set", "--scope", &s, "--role", "Reader"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    let out = az(
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
            "--require-approval=false",
            "--approver",
            "carol@openpim.test",
        ],
    )
    .await;
    assert_eq!(out.code, 2, "{out:?}");
    // Alice may not change it: ARM's AuthorizationFailed, exit 3.
    let out = az(
        &cli,
        &alice,
        &alice_arm,
        &["azure", "policy", "set", "--scope", &s, "--role", READER, "--max-activation", "8h"],
    )
    .await;
    out.assert_error(3, "AuthorizationFailed");

    // The next activation follows it: 3 hours is refused, 1 hour waits for carol.
    let add = [
        "azure",
        "assignments",
        "add",
        "--scope",
        &s,
        "--role",
        "Reader",
        "--principal",
        "alice@openpim.test",
        "--duration",
        "30d",
    ];
    ok(&az(&cli, &admin, &admin_arm, &add).await);
    let out = az(
        &cli,
        &alice,
        &alice_arm,
        &["azure", "activate", "Reader", "--scope", &s, "--duration", "3h", "--justification", "x"],
    )
    .await;
    out.assert_error(5, "RoleAssignmentRequestPolicyValidationFailed");
    let pending = ok(&az(
        &cli,
        &alice,
        &alice_arm,
        &["azure", "activate", "Reader", "--scope", &s, "--duration", "1h", "--justification", "deploy"],
    )
    .await);
    assert_eq!(pending["properties"]["status"], "PendingApproval", "{pending}");
    assert!(pending["properties"]["approvalId"].is_string(), "{pending}");
    let table = cli.run(Some(&alice), &["--arm-token", &alice_arm, "azure", "my", "roles", "--output", "table"]).await;
    assert!(!table.stdout.contains("active"), "not active before the approval: {}", table.stdout);
    cli.stop().await;
}
