//! The `openpim` client commands, run as the real binary against a real server: login profiles,
//! the role catalog, admin assignments, activation with its policy checks, approvals (including
//! nobody approving their own request), deactivation after the five-minute lock, cancel, the
//! audit log and its CSV export, and the exit codes scripts rely on.

mod common;

use common::*;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_saves_a_private_profile_that_later_commands_use() {
    let cli = Cli::start().await;
    let admin = cli.admin().await;

    let out = cli.run(Some(&admin), &["login", "--output", "json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let saved = out.json();
    assert_eq!(saved["user"], ADMIN, "{saved}");
    assert_eq!(saved["server"], cli.base.as_str(), "{saved}");
    assert!(!out.stdout.contains(&admin) && !out.stderr.contains(&admin), "the token is never printed back");

    let file = cli.profile_file();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("profile file").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "profiles.json is private");
    }

    // No --server, no --token: both come from the profile.
    let out = cli.exec(&["roles", "show", "user administrator", "--output", "json"], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["id"], USER_ADMINISTRATOR);

    // The saved token is only sent to the server it was saved for.
    let out = cli.exec(&["--server", "http://127.0.0.1:9", "roles", "list"], &[]).await;
    out.assert_error(3, "NotSignedIn");

    // A token that the server refuses is not saved.
    let out = cli.run(Some("not-a-token"), &["login", "--profile", "broken"]).await;
    out.assert_error(3, "InvalidAuthenticationToken");
    assert!(!std::fs::read_to_string(&file).unwrap().contains("broken"), "refused logins save nothing");

    let out = cli.exec(&["logout", "--output", "json"], &[]).await;
    assert_eq!((out.code, out.json()["removed"].as_bool()), (0, Some(true)), "{}", out.stderr);
    let out = cli.run(None, &["roles", "list"]).await;
    out.assert_error(3, "NotSignedIn");
    cli.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_list_show_and_create_custom() {
    let cli = Cli::start().await;
    let admin = cli.admin().await;

    let listed = rows(&cli.ok(&admin, &["roles", "list", "--name", "user admin"]).await);
    let names: Vec<&str> = listed.iter().map(|r| r["displayName"].as_str().unwrap()).collect();
    assert!(names.contains(&"User Administrator"), "{names:?}");
    assert!(names.iter().all(|n| n.to_lowercase().contains("user admin")), "the name filter narrows: {names:?}");

    // By template id, and by name in any case.
    let shown = cli.ok(&admin, &["roles", "show", GLOBAL_READER]).await;
    assert_eq!(shown["displayName"], "Global Reader");
    let shown = cli.ok(&admin, &["roles", "show", "GLOBAL READER"]).await;
    assert_eq!(shown["id"], GLOBAL_READER);

    let created = cli
        .ok(
            &admin,
            &[
                "roles",
                "create-custom",
                "--name",
                "Helpdesk Lite",
                "--description",
                "resets names",
                "--action",
                "microsoft.directory/users/basic/update",
            ],
        )
        .await;
    let id = created["id"].as_str().expect("id").to_string();
    assert_eq!(created["isBuiltIn"], false, "{created}");
    let shown = cli.ok(&admin, &["roles", "show", "helpdesk lite"]).await;
    assert_eq!(shown["id"], id.as_str());
    assert_eq!(shown["rolePermissions"][0]["allowedResourceActions"][0], "microsoft.directory/users/basic/update");
    let custom = rows(&cli.ok(&admin, &["roles", "list", "--custom"]).await);
    assert_eq!(custom.len(), 1, "{custom:?}");

    // A same-named second role: the name is now ambiguous, the id is not.
    let out = cli
        .fails(
            &admin,
            &[
                "roles",
                "create-custom",
                "--name",
                "Helpdesk Lite",
                "--action",
                "microsoft.directory/users/basic/update",
            ],
        )
        .await;
    if out.code == 0 {
        cli.run(Some(&admin), &["roles", "show", "Helpdesk Lite"]).await.assert_error(4, "AmbiguousRole");
    } else {
        assert_eq!(out.code, 5, "a refused duplicate is a rule refusal: {}", out.stderr);
    }

    // An action custom roles may not have is the server's refusal.
    let out = cli.fails(&admin, &["roles", "create-custom", "--name", "Bad", "--action", "not/an/action"]).await;
    assert_eq!(out.code, 5, "{}", out.stderr);

    // A plain user may read the catalog but not write it.
    let (_, bob) = cli.user("bob").await;
    assert!(!rows(&cli.ok(&bob, &["roles", "list"]).await).is_empty());
    let out = cli
        .fails(
            &bob,
            &["roles", "create-custom", "--name", "Mine", "--action", "microsoft.directory/users/basic/update"],
        )
        .await;
    out.assert_error(3, "Authorization_RequestDenied");

    cli.run(Some(&admin), &["roles", "show", "No Such Role"]).await.assert_error(4, "RoleNotFound");
    cli.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eligible_user_activates_sees_it_and_deactivates_after_five_minutes() {
    let cli = Cli::start().await;
    let admin = cli.admin().await;
    let (bob_id, bob) = cli.user("bob").await;

    let added = cli
        .ok(
            &admin,
            &[
                "assignments",
                "add",
                "--principal",
                "bob@openpim.test",
                "--role",
                "User Administrator",
                "--type",
                "eligible",
                "--justification",
                "on call",
            ],
        )
        .await;
    assert_eq!((added["status"].as_str(), added["action"].as_str()), (Some("Provisioned"), Some("adminAssign")));
    let listed = rows(&cli.ok(&admin, &["assignments", "list", "--principal", "bob@openpim.test"]).await);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["type"], "eligible");
    assert_eq!(listed[0]["role"], "User Administrator");
    assert_eq!(listed[0]["principal"], "bob@openpim.test");
    assert_eq!(listed[0]["memberType"], "Direct");
    assert!(listed[0]["endDateTime"].is_null(), "permanent: {}", listed[0]);

    // The default policy wants a justification: the server's code and exit 5.
    let out = cli.fails(&bob, &["activate", "User Administrator", "--duration", "2h"]).await;
    out.assert_error(5, "RoleAssignmentRequestPolicyValidationFailed");
    assert!(out.stderr.contains("JustificationRule"), "{}", out.stderr);

    // And MFA: a token without it is refused the same way.
    let no_mfa = cli.mint("bob@openpim.test", false).await;
    let out = cli.fails(&no_mfa, &["activate", "User Administrator", "--justification", "x"]).await;
    out.assert_error(5, "RoleAssignmentRequestPolicyValidationFailed");
    assert!(out.stderr.contains("MfaRule"), "{}", out.stderr);

    let before = OffsetDateTime::now_utc();
    let req = cli.ok(&bob, &["activate", "User Administrator", "--justification", "INC-42", "--duration", "2h"]).await;
    assert_eq!(req["status"], "Provisioned", "{req}");
    assert_eq!(req["principalId"], bob_id.as_str());
    assert_eq!(req["scheduleInfo"]["expiration"]["duration"], "PT2H", "{req}");

    let mine = rows(&cli.ok(&bob, &["my", "roles"]).await);
    let active: Vec<&Value> = mine.iter().filter(|r| r["type"] == "active").collect();
    assert_eq!(active.len(), 1, "{mine:?}");
    assert_eq!(active[0]["assignmentType"], "Activated");
    assert_eq!(active[0]["role"], "User Administrator");
    assert_eq!(active[0]["directoryScopeId"], "/");
    let end = at(&active[0]["endDateTime"]);
    let expected = before + Duration::hours(2);
    assert!((end - expected).abs() < Duration::minutes(1), "ends two hours on: {end} vs {expected}");
    let ends = active[0]["ends"].as_str().unwrap();
    assert!(ends.contains("(in 1h 59m)") || ends.contains("(in 2h)"), "{ends}");
    assert!(mine.iter().any(|r| r["type"] == "eligible" && r["ends"] == "permanent"), "{mine:?}");

    // Inside the five-minute lock the server refuses; past it, deactivation works.
    cli.fails(&bob, &["deactivate", "User Administrator"]).await.assert_error(5, "ActiveDurationTooShort");
    cli.advance(Duration::minutes(6));
    let done = cli.ok(&bob, &["deactivate", "User Administrator"]).await;
    assert_eq!(done["action"], "selfDeactivate", "{done}");
    let mine = rows(&cli.ok(&bob, &["my", "roles"]).await);
    assert!(mine.iter().all(|r| r["type"] != "active"), "no longer active: {mine:?}");

    // The admin removes the eligibility (made more than five minutes ago).
    let removed = cli
        .ok(
            &admin,
            &["assignments", "remove", "--principal", &bob_id, "--role", USER_ADMINISTRATOR, "--type", "eligible"],
        )
        .await;
    assert_eq!(removed["status"], "Revoked", "{removed}");
    assert!(rows(&cli.ok(&bob, &["my", "roles"]).await).is_empty());
    cli.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_bound_and_active_assignments() {
    let cli = Cli::start().await;
    let admin = cli.admin().await;
    cli.user("carol").await;
    let out = cli
        .ok(
            &admin,
            &[
                "assignments",
                "add",
                "--principal",
                "carol@openpim.test",
                "--role",
                "Global Reader",
                "--type",
                "active",
                "--duration",
                "30d",
                "--justification",
                "audit season",
            ],
        )
        .await;
    assert_eq!(out["scheduleInfo"]["expiration"]["duration"], "P30D", "{out}");
    let until = (OffsetDateTime::now_utc() + Duration::days(10))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let out = cli
        .ok(
            &admin,
            &[
                "assignments",
                "add",
                "--principal",
                "carol@openpim.test",
                "--role",
                "User Administrator",
                "--type",
                "eligible",
                "--until",
                &until,
            ],
        )
        .await;
    assert_eq!(out["scheduleInfo"]["expiration"]["type"], "afterDateTime", "{out}");

    let all = rows(&cli.ok(&admin, &["assignments", "list", "--principal", "carol@openpim.test"]).await);
    assert_eq!(all.len(), 2, "{all:?}");
    let active =
        rows(&cli.ok(&admin, &["assignments", "list", "--principal", "carol@openpim.test", "--type", "active"]).await);
    assert_eq!(active.len(), 1);
    assert_eq!(
        (active[0]["assignmentType"].as_str(), active[0]["role"].as_str()),
        (Some("Assigned"), Some("Global Reader"))
    );
    let end = at(&active[0]["endDateTime"]);
    assert!((end - (OffsetDateTime::now_utc() + Duration::days(30))).abs() < Duration::minutes(2), "{end}");
    let by_role = rows(&cli.ok(&admin, &["assignments", "list", "--role", "user administrator"]).await);
    assert_eq!(by_role.len(), 1, "{by_role:?}");
    assert_eq!(
        at(&by_role[0]["endDateTime"]),
        OffsetDateTime::parse(&until, &time::format_description::well_known::Rfc3339).unwrap()
    );

    // The same assignment again is the server's conflict.
    let out = cli
        .fails(
            &admin,
            &[
                "assignments",
                "add",
                "--principal",
                "carol@openpim.test",
                "--role",
                "Global Reader",
                "--type",
                "active",
                "--duration",
                "30d",
                "--justification",
                "again",
            ],
        )
        .await;
    out.assert_error(5, "RoleAssignmentExists");
    cli.run(
        Some(&admin),
        &["assignments", "add", "--principal", "nobody@openpim.test", "--role", "Global Reader", "--type", "active"],
    )
    .await
    .assert_error(4, "PrincipalNotFound");
    cli.stop().await;
}

/// Requester bob, approver alice; the User Administrator policy requires alice's approval.
async fn approval_world() -> (Cli, String, String, String) {
    let cli = Cli::start().await;
    let admin = cli.admin().await;
    let (_, bob) = cli.user("bob").await;
    let (alice_id, alice) = cli.user("alice").await;
    cli.ok(
        &admin,
        &[
            "assignments",
            "add",
            "--principal",
            "bob@openpim.test",
            "--role",
            "User Administrator",
            "--type",
            "eligible",
        ],
    )
    .await;
    let set = cli
        .ok(
            &admin,
            &["policy", "set", "User Administrator", "--approvers", "alice@openpim.test", "--max-activation", "2h"],
        )
        .await;
    let mut changed: Vec<&str> = set["changedRules"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    changed.sort();
    assert_eq!(changed, ["Approval_EndUser_Assignment", "Expiration_EndUser_Assignment"], "one PATCH per changed rule");
    let shown = cli.ok(&bob, &["policy", "show", "User Administrator"]).await;
    assert_eq!(shown["approvalRequired"], true, "{shown}");
    assert_eq!(shown["maxActivation"], "PT2H", "{shown}");
    assert_eq!(shown["approvers"][0]["id"], alice_id.as_str(), "{shown}");
    assert_eq!(shown["approvers"][0]["name"], "alice@openpim.test", "{shown}");
    // Setting the same again changes nothing.
    let again = cli.ok(&admin, &["policy", "set", "User Administrator", "--approvers", "alice@openpim.test"]).await;
    assert_eq!(again["changedRules"], serde_json::json!([]), "{again}");
    (cli, admin, bob, alice)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_is_needed_and_nobody_approves_their_own() {
    let (cli, _admin, bob, alice) = approval_world().await;

    let req = cli.ok(&bob, &["activate", "User Administrator", "--justification", "INC-7", "--duration", "1h"]).await;
    assert_eq!(req["status"], "PendingApproval", "{req}");
    let approval = req["approvalId"].as_str().expect("approval id").to_string();
    let request = req["id"].as_str().unwrap().to_string();
    assert!(rows(&cli.ok(&bob, &["my", "roles"]).await).iter().all(|r| r["type"] != "active"), "nothing granted yet");

    let waiting = rows(&cli.ok(&alice, &["approvals", "list"]).await);
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(waiting[0]["approvalId"], approval.as_str());
    assert_eq!(waiting[0]["requester"], "bob@openpim.test");
    assert_eq!(waiting[0]["role"], "User Administrator");
    assert_eq!(waiting[0]["justification"], "INC-7");
    assert!(waiting[0]["window"].as_str().unwrap().ends_with("for 1h"), "{}", waiting[0]);
    assert!(rows(&cli.ok(&bob, &["approvals", "list"]).await).is_empty(), "bob approves nothing");

    // Bob may not approve his own request: the server refuses (403 → exit 3).
    let out = cli.fails(&bob, &["approvals", "approve", &approval, "--reason", "trust me"]).await;
    out.assert_error(3, "Authorization_RequestDenied");
    assert!(out.stderr.contains("own request"), "{}", out.stderr);

    // Alice approves, naming the request rather than the approval.
    let decided = cli.ok(&alice, &["approvals", "approve", &request, "--reason", "looks right"]).await;
    assert_eq!(
        (decided["approvalId"].as_str(), decided["reviewResult"].as_str()),
        (Some(approval.as_str()), Some("Approve"))
    );
    let mine = rows(&cli.ok(&bob, &["my", "roles"]).await);
    assert!(mine.iter().any(|r| r["type"] == "active" && r["role"] == "User Administrator"), "{mine:?}");
    // Decided once is decided.
    cli.fails(&alice, &["approvals", "deny", &approval, "--reason", "late"])
        .await
        .assert_error(5, "ApprovalNotPending");
    let listed = rows(&cli.ok(&bob, &["requests", "list"]).await);
    assert!(listed.iter().any(|r| r["id"] == request.as_str() && r["status"] == "Provisioned"), "{listed:?}");
    cli.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_and_canceled_requests() {
    let (cli, admin, bob, alice) = approval_world().await;

    let req = cli.ok(&bob, &["activate", "User Administrator", "--justification", "please"]).await;
    let approval = req["approvalId"].as_str().unwrap().to_string();
    // A second request while one waits is refused by the server.
    cli.fails(&bob, &["activate", "User Administrator", "--justification", "again"])
        .await
        .assert_error(5, "PendingRoleAssignmentRequest");
    let denied = cli.ok(&alice, &["approvals", "deny", &approval, "--reason", "not today"]).await;
    assert_eq!(denied["reviewResult"], "Deny");
    let mine = rows(&cli.ok(&bob, &["requests", "list"]).await);
    assert!(mine.iter().any(|r| r["id"] == req["id"] && r["status"] == "Denied"), "{mine:?}");
    assert!(rows(&cli.ok(&bob, &["my", "roles"]).await).iter().all(|r| r["type"] != "active"));

    // Bob cancels his next request while it waits; alice then has nothing to decide.
    let req = cli.ok(&bob, &["activate", "User Administrator", "--justification", "retry"]).await;
    let id = req["id"].as_str().unwrap().to_string();
    let canceled = cli.ok(&bob, &["requests", "cancel", &id]).await;
    assert_eq!(canceled["status"], "Canceled");
    let mine = rows(&cli.ok(&bob, &["requests", "list"]).await);
    assert!(mine.iter().any(|r| r["id"] == id.as_str() && r["status"] == "Canceled"), "{mine:?}");
    assert!(rows(&cli.ok(&alice, &["approvals", "list"]).await).is_empty());
    cli.fails(&bob, &["requests", "cancel", &id]).await.assert_error(5, "RequestNotCancelable");
    cli.fails(&bob, &["requests", "cancel", "00000000-0000-0000-0000-000000000000"])
        .await
        .assert_error(4, "RequestNotFound");

    // The admin sees everyone's requests with --all, bob's included.
    let all = rows(&cli.ok(&admin, &["requests", "list", "--all"]).await);
    assert!(all.iter().any(|r| r["id"] == id.as_str() && r["principal"] == "bob@openpim.test"), "{all:?}");

    // --no-approval turns it off again.
    let set =
        cli.ok(&admin, &["policy", "set", "User Administrator", "--no-approval", "--require", "justification"]).await;
    assert_eq!(set["approvalRequired"], false, "{set}");
    assert_eq!(set["activationRequires"], serde_json::json!(["justification"]), "{set}");
    let no_mfa = cli.mint("bob@openpim.test", false).await;
    let req = cli.ok(&no_mfa, &["activate", "User Administrator", "--justification", "now direct"]).await;
    assert_eq!(req["status"], "Provisioned", "no approval and no MFA needed now: {req}");
    cli.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_list_and_csv_export_show_the_steps() {
    let cli = Cli::start().await;
    let admin = cli.admin().await;
    let (_, bob) = cli.user("bob").await;
    cli.ok(
        &admin,
        &[
            "assignments",
            "add",
            "--principal",
            "bob@openpim.test",
            "--role",
            "User Administrator",
            "--type",
            "eligible",
        ],
    )
    .await;
    // A second between steps, so "newest first" has an order to show.
    cli.advance(Duration::seconds(1));
    cli.fails(&bob, &["activate", "User Administrator"])
        .await
        .assert_error(5, "RoleAssignmentRequestPolicyValidationFailed");
    cli.advance(Duration::seconds(1));
    cli.ok(&bob, &["activate", "User Administrator", "--justification", "INC, \"quoted\""]).await;

    let latest = rows(&cli.ok(&admin, &["audit", "list", "--top", "2"]).await);
    assert_eq!(latest.len(), 2, "--top limits: {latest:?}");
    assert!(latest.iter().all(|r| r["activityDisplayName"] == "Add member to role (PIM activation)"), "{latest:?}");
    assert_eq!(latest[0]["result"], "success", "{latest:?}");
    assert_eq!(latest[1]["result"], "failure", "the refused attempt is audited too: {latest:?}");
    let failures = rows(&cli.ok(&admin, &["audit", "list", "--filter", "result eq 'failure'"]).await);
    assert!(!failures.is_empty() && failures.iter().all(|r| r["result"] == "failure"), "{failures:?}");

    let file = cli.config.path().join("audit.csv");
    let out = cli.run(Some(&admin), &["audit", "export", "--csv", "--file", file.to_str().unwrap()]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let csv = std::fs::read_to_string(&file).expect("CSV written");
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    // The server's one CSV format: every field quoted (openpim_core::audit::csv).
    assert!(
        lines[0].starts_with("\"activityDateTime\",\"category\",\"activityDisplayName\",\"operationType\",\"result\""),
        "{}",
        lines[0]
    );
    let all = rows(&cli.ok(&admin, &["audit", "list", "--top", "999"]).await);
    assert_eq!(lines.len(), all.len() + 1, "every record, one line each");
    assert!(lines.iter().any(|l| l.contains("action=adminAssign")), "{csv}");
    assert!(lines.iter().any(|l| l.contains("action=selfActivate") && l.contains(",\"success\",")), "{csv}");
    // Names beside ids: the activation names bob's role and the scope.
    assert!(
        lines.iter().any(|l| l.contains("roleName=User Administrator") && l.contains("directoryScopeName=Directory")),
        "{csv}"
    );
    // The failure reason holds quotes: CSV doubles them inside a quoted field.
    assert!(csv.contains("\"RoleAssignmentRequestPolicyValidationFailed: The following policy rules failed: [\"\"JustificationRule\"\"]\""), "{csv}");

    // Standard output too; and bob may not read the audit log.
    let out = cli.run(Some(&admin), &["audit", "export", "--csv"]).await;
    assert_eq!((out.code, out.stdout.lines().count()), (0, lines.len()), "{}", out.stderr);
    cli.run(Some(&bob), &["audit", "list"]).await.assert_error(3, "Authorization_RequestDenied");
    cli.run(Some(&bob), &["audit", "export", "--csv"]).await.assert_error(3, "Authorization_RequestDenied");
    // --filter narrows the server's export (bob's refused reads are failures too by now).
    let failures = rows(&cli.ok(&admin, &["audit", "list", "--top", "999", "--filter", "result eq 'failure'"]).await);
    let out = cli.run(Some(&admin), &["audit", "export", "--csv", "--filter", "result eq 'failure'"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let failures_csv: Vec<&str> = out.stdout.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(failures_csv.len(), failures.len() + 1, "{}", out.stdout);
    cli.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_for_bad_tokens_unknown_names_usage_and_a_dead_server() {
    let cli = Cli::start().await;
    let admin = cli.admin().await;

    cli.run(Some("garbage"), &["roles", "list"]).await.assert_error(3, "InvalidAuthenticationToken");
    cli.run(Some(&admin), &["activate", "Chief Coffee Officer", "--justification", "x"])
        .await
        .assert_error(4, "RoleNotFound");
    cli.run(Some(&admin), &["policy", "set", "User Administrator", "--approvers", "Nobody Group"])
        .await
        .assert_error(4, "PrincipalNotFound");
    // Eligibility is required to activate: the server's code, exit 5.
    cli.run(Some(&admin), &["activate", "User Administrator", "--justification", "x"])
        .await
        .assert_error(5, "RoleAssignmentDoesNotExist");

    // clap's usage errors exit 2, as do arguments that do not go together.
    let out = cli.run(Some(&admin), &["activate", "User Administrator", "--duration", "forever"]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    let out = cli.run(Some(&admin), &["policy", "set", "User Administrator", "--require", "none,mfa"]).await;
    out.assert_error(2, "InvalidArgument");
    let out = cli.run(Some(&admin), &["audit", "export"]).await;
    assert_eq!(out.code, 2, "export needs a format: {}", out.stderr);

    // A server that is not there: exit 6.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out =
        cli.exec(&["--server", &format!("http://127.0.0.1:{port}"), "--token", &admin, "roles", "list"], &[]).await;
    out.assert_error(6, "ServerUnreachable");
    cli.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_render_for_people() {
    let cli = Cli::start().await;
    let admin = cli.admin().await;
    let (_, bob) = cli.user("bob").await;
    cli.ok(
        &admin,
        &[
            "assignments",
            "add",
            "--principal",
            "bob@openpim.test",
            "--role",
            "User Administrator",
            "--type",
            "eligible",
        ],
    )
    .await;
    cli.ok(&bob, &["activate", "User Administrator", "--justification", "table test", "--duration", "90m"]).await;

    let out = cli.run(Some(&bob), &["my", "roles", "--output", "table"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("TYPE") && lines[0].contains("ROLE") && lines[0].ends_with("END"), "{}", out.stdout);
    let active = lines.iter().find(|l| l.starts_with("active (activated)")).unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(
        active.contains("User Administrator") && (active.contains("(in 1h 29m)") || active.contains("(in 1h 30m)")),
        "{active}"
    );
    assert!(lines.iter().any(|l| l.starts_with("eligible") && l.ends_with("permanent")), "{}", out.stdout);

    let out = cli.run(Some(&admin), &["policy", "show", "User Administrator", "--output", "table"]).await;
    assert!(out.stdout.contains("Max activation:") && out.stdout.contains("8h"), "{}", out.stdout);
    assert!(out.stdout.contains("mfa, justification"), "{}", out.stdout);
    let out = cli.run(Some(&admin), &["roles", "list", "--name", "global reader", "--output", "table"]).await;
    assert_eq!(out.stdout.lines().count(), 2, "header and one row: {}", out.stdout);
    assert!(out.stdout.lines().nth(1).unwrap().starts_with("Global Reader"), "{}", out.stdout);
    // Without --output and not on a terminal: JSON.
    let out = cli.run(Some(&admin), &["roles", "list", "--name", "global reader"]).await;
    assert_eq!(rows(&out.json()).len(), 1);
    cli.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_are_principals_by_name_and_members_see_what_the_group_holds() {
    let cli = Cli::start().await;
    let admin = cli.admin().await;
    let (bob_id, bob) = cli.user("bob").await;
    let (_, alice) = cli.user("alice").await;
    let group = cli.group("Helpdesk Team", &[&bob_id]).await;

    let added = cli
        .ok(
            &admin,
            &[
                "assignments",
                "add",
                "--principal",
                "Helpdesk Team",
                "--role",
                "User Administrator",
                "--type",
                "eligible",
            ],
        )
        .await;
    assert_eq!(added["principalId"], group.as_str(), "the group, by its display name: {added}");

    // The group's own row, and bob's through it.
    let listed = rows(&cli.ok(&admin, &["assignments", "list", "--role", "User Administrator"]).await);
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(
        listed.iter().any(|r| r["principalId"] == group.as_str()
            && r["memberType"] == "Direct"
            && r["principal"] == "Helpdesk Team (group)"),
        "{listed:?}"
    );
    assert!(listed.iter().any(|r| r["principalId"] == bob_id.as_str() && r["memberType"] == "Group"), "{listed:?}");
    let mine = rows(&cli.ok(&bob, &["my", "roles"]).await);
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!((mine[0]["type"].as_str(), mine[0]["memberType"].as_str()), (Some("eligible"), Some("Group")));
    // ...and may activate it.
    let req = cli.ok(&bob, &["activate", "User Administrator", "--justification", "via group"]).await;
    assert_eq!(req["status"], "Provisioned", "{req}");

    // A group as approver: its members decide.
    let set = cli.ok(&admin, &["policy", "set", "Global Reader", "--approvers", &group]).await;
    assert_eq!(set["approvers"][0]["type"], "group", "{set}");
    assert_eq!(set["approvers"][0]["name"], "Helpdesk Team (group)", "{set}");
    cli.ok(
        &admin,
        &["assignments", "add", "--principal", "alice@openpim.test", "--role", "Global Reader", "--type", "eligible"],
    )
    .await;
    let req = cli.ok(&alice, &["activate", "Global Reader", "--justification", "read"]).await;
    assert_eq!(req["status"], "PendingApproval", "{req}");
    let waiting = rows(&cli.ok(&bob, &["approvals", "list"]).await);
    assert_eq!(waiting.len(), 1, "bob decides as a member of the group: {waiting:?}");
    // A second later, so the approval is the newest audit record.
    cli.advance(Duration::seconds(1));
    cli.ok(&bob, &["approvals", "approve", waiting[0]["approvalId"].as_str().unwrap(), "--reason", "fine"]).await;
    assert!(rows(&cli.ok(&alice, &["my", "roles"]).await).iter().any(|r| r["type"] == "active"));

    // The audit table names the role and the user that the records only identify.
    let out = cli.run(Some(&admin), &["audit", "list", "--top", "1", "--output", "table"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let row = out.stdout.lines().nth(1).unwrap_or_default();
    assert!(
        row.contains("Approve role activation request in PIM") && row.contains("Role: Global Reader"),
        "{}",
        out.stdout
    );
    assert!(row.contains("User: alice@openpim.test"), "{}", out.stdout);
    cli.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_can_come_from_standard_input() {
    let cli = Cli::start().await;
    let admin = cli.admin().await;
    let out = cli
        .exec_with_stdin(
            &["--server", &cli.base, "--token", "-", "login", "--profile", "ops", "--output", "json"],
            &format!("{admin}\n"),
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["user"], ADMIN);
    let out = cli.exec(&["--profile", "ops", "roles", "show", "Global Reader", "--output", "json"], &[]).await;
    assert_eq!((out.code, out.json()["id"].as_str()), (0, Some(GLOBAL_READER)), "{}", out.stderr);
    // Environment variables work as the flags do.
    let out = cli.exec(&["my", "roles"], &[("OPENPIM_SERVER", &cli.base), ("OPENPIM_TOKEN", &admin)]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(rows(&out.json()).iter().any(|r| r["role"] == "Global Administrator" && r["assignmentType"] == "Assigned"));
    cli.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_limits_and_requirements_are_enforced_by_the_server() {
    let cli = Cli::start().await;
    let admin = cli.admin().await;
    let (_, dave) = cli.user("dave").await;

    let set = cli
        .ok(
            &admin,
            &[
                "policy",
                "set",
                "Global Reader",
                "--max-eligible",
                "30d",
                "--max-active",
                "P7D",
                "--require",
                "ticket,justification",
            ],
        )
        .await;
    assert_eq!(
        (set["maxEligible"].as_str(), set["eligibleExpirationRequired"].as_bool()),
        (Some("P30D"), Some(true)),
        "{set}"
    );
    assert_eq!(
        (set["maxActive"].as_str(), set["activeExpirationRequired"].as_bool()),
        (Some("P7D"), Some(true)),
        "{set}"
    );
    assert_eq!(set["activationRequires"], serde_json::json!(["ticket", "justification"]), "{set}");

    // A permanent eligibility is now against the rules; 10 days is fine.
    let out = cli
        .fails(
            &admin,
            &[
                "assignments",
                "add",
                "--principal",
                "dave@openpim.test",
                "--role",
                "Global Reader",
                "--type",
                "eligible",
            ],
        )
        .await;
    out.assert_error(5, "RoleAssignmentRequestPolicyValidationFailed");
    assert!(out.stderr.contains("ExpirationRule"), "{}", out.stderr);
    cli.ok(
        &admin,
        &[
            "assignments",
            "add",
            "--principal",
            "dave@openpim.test",
            "--role",
            "Global Reader",
            "--type",
            "eligible",
            "--duration",
            "10d",
        ],
    )
    .await;

    // Activation now needs a ticket.
    let out = cli.fails(&dave, &["activate", "Global Reader", "--justification", "x"]).await;
    out.assert_error(5, "RoleAssignmentRequestPolicyValidationFailed");
    assert!(out.stderr.contains("TicketingRule"), "{}", out.stderr);
    let req = cli
        .ok(
            &dave,
            &["activate", "Global Reader", "--justification", "x", "--ticket", "CHG-1", "--ticket-system", "Jira"],
        )
        .await;
    assert_eq!(req["ticketInfo"]["ticketNumber"], "CHG-1", "{req}");

    // Back to permanent eligibility; and a limit the server will not take is its refusal.
    let set = cli.ok(&admin, &["policy", "set", "Global Reader", "--max-eligible", "permanent"]).await;
    assert_eq!(set["eligibleExpirationRequired"], false, "{set}");
    assert_eq!(set["changedRules"], serde_json::json!(["Expiration_Admin_Eligibility"]), "{set}");
    let out = cli.fails(&admin, &["policy", "set", "Global Reader", "--max-activation", "48h"]).await;
    assert_eq!(out.code, 5, "{}", out.stderr);
    // Nobody but an admin changes settings.
    cli.fails(&dave, &["policy", "set", "Global Reader", "--max-activation", "1h"])
        .await
        .assert_error(3, "Authorization_RequestDenied");
    cli.stop().await;
}
