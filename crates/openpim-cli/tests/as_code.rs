//! Policy as code through the real binary against real servers, on SQLite or (with
//! OPENPIM_TEST_POSTGRES_URL) PostgreSQL: export → apply on an empty server → export is the same
//! file; every kind of change planned and applied; a second apply changes nothing; refusals
//! (unknown names, the 5-minute rule, the last Global Administrator); `validate` pointing at lines.

mod common;

use common::azure::{arm_call, arm_token, azure, rg, sub};
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Writes `text` to `name` in `dir`; returns the path as a string.
fn write(dir: &Path, name: &str, text: &str) -> String {
    let path: PathBuf = dir.join(name);
    std::fs::write(&path, text).expect("write the file");
    path.to_str().expect("utf-8 path").to_string()
}

/// The file without its id comments (`  # 0c5f...`): ids differ between tenants, names do not.
fn without_ids(yaml: &str) -> String {
    yaml.lines()
        .map(|l| match l.rsplit_once("  # ") {
            Some((before, c)) if uuid::Uuid::parse_str(c.trim()).is_ok() => before,
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn export(cli: &Cli, token: &str) -> String {
    let out = cli.run(Some(token), &["export"]).await;
    assert_eq!(out.code, 0, "export: {}", out.stderr);
    out.stdout
}

/// `openpim plan FILE` in the readable form; returns (exit code, stdout, stderr).
async fn plan(cli: &Cli, token: &str, file: &str) -> Out {
    cli.run(Some(token), &["plan", file, "--output", "table"]).await
}

async fn apply(cli: &Cli, token: &str, file: &str) -> Out {
    cli.run(Some(token), &["apply", file, "--auto-approve", "--output", "table"]).await
}

/// POSTs as the admin; returns the answer.
async fn post(cli: &Cli, token: &str, path: &str, body: Value) -> Value {
    let resp = cli.http.post(format!("{}{path}", cli.base)).bearer_auth(token).json(&body).send().await.unwrap();
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "POST {path}: {status} {body}");
    body
}

async fn get(cli: &Cli, token: &str, path: &str) -> Value {
    let resp = cli.http.get(format!("{}{path}", cli.base)).bearer_auth(token).send().await.unwrap();
    assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
    resp.json().await.unwrap()
}

/// A tenant with something of every kind: a custom role, a role-assignable group with a member,
/// changed settings (approvers, a shorter activation, MFA for eligibility), eligibilities
/// (permanent, with an end, a group's) and an active assignment with an end.
async fn populate(cli: &Cli, admin: &str) {
    let (alice, _) = cli.user("alice").await;
    cli.user("bob").await;
    cli.group("Tier0 Operators", &[&alice]).await;
    let r = cli
        .run(
            Some(admin),
            &[
                "roles",
                "create-custom",
                "--name",
                "Helpdesk Reader",
                "--action",
                "microsoft.directory/users/basic/update",
            ],
        )
        .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = cli
        .run(
            Some(admin),
            &["policy", "set", "Global Reader", "--max-activation", "2h", "--approvers", "bob@openpim.test"],
        )
        .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let end = (time::OffsetDateTime::now_utc() + time::Duration::days(90))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    for args in [
        vec!["--principal", "alice@openpim.test", "--role", "Global Reader", "--type", "eligible", "--until", &end],
        vec!["--principal", "Tier0 Operators", "--role", "User Administrator", "--type", "eligible"],
        vec!["--principal", "bob@openpim.test", "--role", "Helpdesk Reader", "--type", "eligible"],
        vec![
            "--principal",
            "bob@openpim.test",
            "--role",
            "Global Reader",
            "--type",
            "active",
            "--until",
            &end,
            "--justification",
            "on call",
        ],
    ] {
        let mut all = vec!["assignments", "add"];
        all.extend(args);
        let r = cli.run(Some(admin), &all).await;
        assert_eq!(r.code, 0, "{all:?}: {}", r.stderr);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_apply_on_an_empty_server_exports_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let a = Cli::start_on_test_database().await;
    let admin_a = a.admin().await;
    populate(&a, &admin_a).await;
    // A future-dated eligibility: its start round-trips.
    let rfc = |t: time::OffsetDateTime| {
        t.replace_nanosecond(0).unwrap().format(&time::format_description::well_known::Rfc3339).unwrap()
    };
    let now = time::OffsetDateTime::now_utc();
    let (start, until) = (rfc(now + time::Duration::days(10)), rfc(now + time::Duration::days(40)));
    let args = ["--principal", "alice@openpim.test", "--role", "User Administrator", "--type", "eligible"];
    let mut all = vec!["assignments", "add"];
    all.extend(args);
    all.extend(["--start", &start, "--until", &until]);
    let r = a.run(Some(&admin_a), &all).await;
    assert_eq!(r.code, 0, "{all:?}: {}", r.stderr);
    let first = export(&a, &admin_a).await;
    assert!(
        first.contains(&format!("  role: User Administrator\n  start: {start}\n  end: {until}\n")),
        "the start is exported:\n{first}"
    );
    eprintln!("store: {}\n{first}", a.store());
    // Names, durations with a comment, ids as comments, settings only where they differ.
    for expected in [
        "principal: alice@openpim.test  # ",
        "- displayName: Helpdesk Reader",
        "- displayName: Tier0 Operators",
        "  members:\n  - alice@openpim.test  # ",
        "- role: Global Reader\n  rules:\n    Expiration_EndUser_Assignment:\n      maximumDuration: PT2H  # 2h",
        "      - bob@openpim.test  # ",
        "principal: Tier0 Operators  # ",
    ] {
        assert!(first.contains(expected), "export lacks {expected:?}:\n{first}");
    }
    assert!(!first.contains("role: User Administrator\n  rules"), "default settings are left out:\n{first}");
    let file = write(dir.path(), "pim.yaml", &first);
    let v = a.run(None, &["validate", &file, "--output", "table"]).await;
    assert_eq!(v.code, 0, "{}", v.stderr);
    let p = plan(&a, &admin_a, &file).await;
    assert_eq!((p.code, p.stdout.as_str()), (0, "No changes. The tenant matches the file.\n"), "{}", p.stderr);

    // An empty server with the same people: the plan creates everything, apply makes it so.
    let b = Cli::start_on_test_database().await;
    let admin_b = b.admin().await;
    b.user("alice").await;
    b.user("bob").await;
    let p = plan(&b, &admin_b, &file).await;
    assert_eq!(p.code, 2, "changes pending: {}\n{}", p.stdout, p.stderr);
    assert!(p.stdout.contains("+ custom role 'Helpdesk Reader'"), "{}", p.stdout);
    assert!(p.stdout.contains("+ group 'Tier0 Operators'"), "{}", p.stdout);
    assert!(
        p.stdout.contains(&format!("+ eligible alice@openpim.test → User Administrator at / (from {start}, {until})")),
        "{}",
        p.stdout
    );
    let plan_id = p.stdout.lines().next().unwrap().trim_start_matches("Plan ").trim_end_matches(':').to_string();
    let applied = apply(&b, &admin_b, &file).await;
    assert_eq!(applied.code, 0, "{}\n{}", applied.stdout, applied.stderr);
    assert!(applied.stdout.contains(&format!("of plan {plan_id}.")), "{}", applied.stdout);
    // Idempotent: a second apply changes nothing.
    let again = apply(&b, &admin_b, &file).await;
    assert_eq!(
        (again.code, again.stdout.as_str()),
        (0, "No changes. The tenant matches the file.\n"),
        "{}",
        again.stderr
    );
    let second = export(&b, &admin_b).await;
    assert_eq!(without_ids(&second), without_ids(&first), "round trip");

    // Each assignment was requested with the plan's id in the justification (so audited).
    let requests = get(&b, &admin_b, "/v1.0/roleManagement/directory/roleEligibilityScheduleRequests").await;
    let justifications: Vec<&str> =
        requests["value"].as_array().unwrap().iter().filter_map(|r| r["justification"].as_str()).collect();
    assert_eq!(justifications.len(), 4, "{requests}");
    assert!(
        justifications.iter().all(|j| j.starts_with(&format!("openpim apply {plan_id}: + eligible "))),
        "{justifications:?}"
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_change_and_the_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let cli = Cli::start_on_test_database().await;
    let admin = cli.admin().await;
    populate(&cli, &admin).await;
    cli.user("carol").await;
    let exported = export(&cli, &admin).await;
    let mut f: Value = serde_norway::from_str(&exported).unwrap();

    // Create, update and remove of every kind.
    f["customRoles"] = json!([
        {"displayName": "Helpdesk Reader", "description": "reads users",
         "allowedResourceActions": ["microsoft.directory/users/basic/update", "microsoft.directory/groups/basic/update"]},
        {"displayName": "Auditor", "allowedResourceActions": ["microsoft.directory/auditLogs/allProperties/read"]}
    ]);
    f["groups"] = json!([
        {"displayName": "Tier0 Operators", "description": "break glass", "members": ["carol@openpim.test"]},
        {"displayName": "Tier1", "members": ["bob@openpim.test"]}
    ]);
    f["roleSettings"] = json!([
        {"role": "User Administrator", "rules": {
            "Expiration_EndUser_Assignment": {"maximumDuration": "PT1H"},
            "Enablement_EndUser_Assignment": {"enabledRules": ["Justification", "Ticketing"]}}},
        {"role": "Auditor", "rules": {"Approval_EndUser_Assignment": {"isApprovalRequired": true,
            "approvalStages": [{"primaryApprovers": ["Tier1"]}]}}}
    ]);
    let end = (time::OffsetDateTime::now_utc() + time::Duration::days(30)).replace_nanosecond(0).unwrap();
    let end = end.format(&time::format_description::well_known::Rfc3339).unwrap();
    f["eligibilities"] = json!([
        {"principal": "alice@openpim.test", "role": "Global Reader"},
        {"principal": "Tier1", "role": "Auditor", "end": end},
        {"principal": "carol@openpim.test", "role": "Helpdesk Reader"}
    ]);
    let mut assignments = f["assignments"].as_array().unwrap().clone();
    assignments.retain(|a| a["principal"] != "bob@openpim.test");
    assignments.push(json!({"principal": "carol@openpim.test", "role": "Global Reader", "end": end}));
    f["assignments"] = Value::Array(assignments);
    let file = write(dir.path(), "changed.yaml", &serde_norway::to_string(&f).unwrap());
    let p = plan(&cli, &admin, &file).await;
    assert_eq!(p.code, 2, "{}\n{}", p.stdout, p.stderr);
    for line in [
        "+ custom role 'Auditor'",
        "~ custom role 'Helpdesk Reader': description None → Some(\"reads users\"); actions +[\"microsoft.directory/groups/basic/update\"] -[]",
        "+ group 'Tier1'",
        "~ group 'Tier0 Operators': description None → Some(\"break glass\")",
        "+ member carol@openpim.test of group 'Tier0 Operators'",
        "+ member bob@openpim.test of group 'Tier1'",
        "~ setting Expiration_EndUser_Assignment of 'User Administrator'",
        "~ setting Enablement_EndUser_Assignment of 'User Administrator'",
        "~ setting Approval_EndUser_Assignment of 'Auditor'",
        "~ setting Expiration_EndUser_Assignment of 'Global Reader'",
        "+ eligible Tier1 → Auditor at /",
        "+ eligible carol@openpim.test → Helpdesk Reader at /",
        "+ active carol@openpim.test → Global Reader at /",
        "~ eligible alice@openpim.test → Global Reader at /: end ",
        "- eligible Tier0 Operators → User Administrator at /",
        "- eligible bob@openpim.test → Helpdesk Reader at /",
        "- active bob@openpim.test → Global Reader at /",
        "- member alice@openpim.test of group 'Tier0 Operators'",
    ] {
        assert!(p.stdout.contains(line), "plan lacks {line:?}:\n{}", p.stdout);
    }
    // Removals come last, after every creation and update.
    let first_removal = p.stdout.lines().position(|l| l.starts_with("  - ")).unwrap();
    let last_other = p
        .stdout
        .lines()
        .collect::<Vec<_>>()
        .iter()
        .rposition(|l| l.starts_with("  + ") || l.starts_with("  ~ "))
        .unwrap();
    assert!(last_other < first_removal, "{}", p.stdout);
    // The assignments made by `populate` are under 5 minutes old.
    assert!(p.stdout.contains("warning: removing the eligible assignment of bob@openpim.test"), "{}", p.stdout);

    // The 5-minute rule: apply stops at the first removal and says what it applied.
    let stopped = apply(&cli, &admin, &file).await;
    assert_eq!(stopped.code, 5, "refused: {}\n{}", stopped.stdout, stopped.stderr);
    assert!(stopped.stderr.contains("stopped at: - eligible"), "{}", stopped.stderr);
    assert!(stopped.stderr.contains("error: EligibleDurationTooShort: "), "{}", stopped.stderr);
    let applied = stopped.stdout.lines().filter(|l| l.starts_with("applied: ")).count();
    assert!(stopped.stderr.contains(&format!("Applied {applied} of ")), "{}", stopped.stderr);
    // Past the five minutes, the rest applies; then nothing is left.
    cli.advance(time::Duration::minutes(6));
    let rest = apply(&cli, &admin, &file).await;
    assert_eq!(rest.code, 0, "{}\n{}", rest.stdout, rest.stderr);
    assert!(
        !rest.stdout.contains("+ custom role 'Auditor'"),
        "the first run's changes are not redone: {}",
        rest.stdout
    );
    let p = plan(&cli, &admin, &file).await;
    assert_eq!(p.code, 0, "{}\n{}", p.stdout, p.stderr);
    // The server has what the file says.
    let policy = cli.ok(&admin, &["policy", "show", "User Administrator"]).await;
    assert_eq!(policy["maxActivation"], "PT1H");
    assert_eq!(policy["activationRequires"], json!(["justification", "ticket"]));
    let auditor = cli.ok(&admin, &["policy", "show", "Auditor"]).await;
    assert_eq!(auditor["approvers"][0]["name"], "Tier1 (group)");
    let members = cli.ok(&admin, &["assignments", "list", "--principal", "carol@openpim.test"]).await;
    assert_eq!(rows(&members).len(), 2, "{members}");

    // A file naming people and roles the tenant lacks is refused whole, each problem on its line.
    let bad = "version: 1\neligibilities:\n- principal: nobody@openpim.test\n  role: Global Reader\n- principal: alice@openpim.test\n  role: Chief Wizard\n";
    let bad = write(dir.path(), "bad.yaml", bad);
    let before = export(&cli, &admin).await;
    let refused = plan(&cli, &admin, &bad).await;
    assert_eq!(refused.code, 1, "{}\n{}", refused.stdout, refused.stderr);
    assert!(
        refused
            .stderr
            .contains(&format!("{bad}:3: eligibilities[0].principal: no user is signed in as 'nobody@openpim.test'")),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains(&format!("{bad}:6: eligibilities[1].role: no role is named 'Chief Wizard'")),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("error: InvalidFile: 2 problem(s)"), "{}", refused.stderr);
    let refused = apply(&cli, &admin, &bad).await;
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert_eq!(export(&cli, &admin).await, before, "a refused file changes nothing");

    // The last Global Administrator: the plan warns, the server refuses, apply reports it.
    let mut f: Value = serde_norway::from_str(&before).unwrap();
    f["assignments"] = json!([]);
    let no_ga = write(dir.path(), "no-ga.yaml", &serde_norway::to_string(&f).unwrap());
    let p = plan(&cli, &admin, &no_ga).await;
    assert_eq!(p.code, 2);
    assert!(p.stdout.contains("warning: the file leaves no user holding Global Administrator"), "{}", p.stdout);
    let refused = apply(&cli, &admin, &no_ga).await;
    assert_eq!(refused.code, 5, "{}\n{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains("stopped at: - active admin@openpim.test → Global Administrator"),
        "{}",
        refused.stderr
    );

    // --plan-id: a reviewed plan only.
    let mismatch = cli.run(Some(&admin), &["apply", &no_ga, "--auto-approve", "--plan-id", "000000000000"]).await;
    mismatch.assert_error(5, "PlanChanged");
    cli.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_points_at_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let cli = Cli::start().await;
    let typo = write(
        dir.path(),
        "typo.yaml",
        "version: 1\neligibilities:\n- principal: a@x\n  role: Global Reader\n  ends: 2027-01-01T00:00:00Z\n",
    );
    let out = cli.run(None, &["validate", &typo]).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(&format!("{typo}:5:")) && out.stderr.contains("unknown field `ends`"),
        "{}",
        out.stderr
    );
    let semantic = write(
        dir.path(),
        "semantic.yaml",
        "version: 1\nassignments:\n- principal: a@x\n  role: Global Reader\n  end: next week\n- principal: a@x\n  role: global reader\n",
    );
    let out = cli.run(None, &["validate", &semantic]).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(&format!("{semantic}:5: assignments[0].end: 'next week' is not an RFC 3339")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("{semantic}:6: assignments[1]: the same assignment as assignments[0]")),
        "{}",
        out.stderr
    );
    let good = write(dir.path(), "good.yaml", "version: 1\neligibilities: []\n");
    let out = cli.run(None, &["validate", &good, "--output", "json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["valid"], true);
    // Without --auto-approve, apply asks: anything but "yes" changes nothing.
    let admin = cli.admin().await;
    let role = write(
        dir.path(),
        "role.yaml",
        "version: 1\ncustomRoles:\n- displayName: Group Editor\n  allowedResourceActions: [microsoft.directory/groups/basic/update]\n",
    );
    let args = ["--server", cli.base.as_str(), "--token", admin.as_str(), "apply", role.as_str(), "--output", "table"];
    let no = cli.exec_with_stdin(&args, "no\n").await;
    assert_eq!(no.code, 1, "{}", no.stderr);
    assert!(no.stderr.contains("error: Cancelled: apply cancelled; nothing was changed"), "{}", no.stderr);
    assert_eq!(cli.ok(&admin, &["roles", "list", "--custom"]).await, json!([]));
    let yes = cli.exec_with_stdin(&args, "yes\n").await;
    assert_eq!(yes.code, 0, "{}", yes.stderr);
    assert!(yes.stdout.contains("applied: + custom role 'Group Editor'"), "{}", yes.stdout);
    assert_eq!(rows(&cli.ok(&admin, &["roles", "list", "--custom"]).await).len(), 1);
    // The schema is the one published in docs/.
    let schema = cli.run(None, &["validate", "--schema"]).await;
    let published =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/pim.schema.json")).unwrap();
    assert_eq!(schema.stdout, published);
    cli.stop().await;
}

/// `openpim --arm-token ARM ARGS` with the Graph token too (the Azure section reads both).
async fn with_arm(cli: &Cli, graph: &str, arm: &str, args: &[&str]) -> Out {
    let mut all = vec!["--arm-token", arm];
    all.extend(args);
    cli.run(Some(graph), &all).await
}

/// An Azure custom role PUT over ARM at the subscription (its only assignable scope).
async fn azure_role(cli: &Cli, arm: &str, name: &str, actions: &[&str]) {
    let path = format!(
        "{}/providers/Microsoft.Authorization/roleDefinitions/{}?api-version=2022-04-01",
        sub(),
        uuid::Uuid::new_v4()
    );
    let body = json!({"properties": {"roleName": name, "type": "CustomRole", "assignableScopes": [sub()],
        "permissions": [{"actions": actions}]}});
    let (status, resp) = arm_call(cli, reqwest::Method::PUT, &path, arm, Some(body)).await;
    assert_eq!(status, 201, "{resp}");
}

/// A server with the Azure set-up (`common::azure::azure`: the admin elevated, Owner of the
/// subscription, resource group `web`) and alice, bob and the group Ops (alice).
async fn azure_tenant() -> (Cli, String, String) {
    let cli = Cli::start_on_test_database().await;
    let admin = cli.admin().await;
    let arm = arm_token(&cli, ADMIN).await;
    azure(&cli, &admin, &arm).await;
    let (alice, _) = cli.user("alice").await;
    cli.user("bob").await;
    cli.group("Ops", &[&alice]).await;
    (cli, admin, arm)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_section_round_trip_every_change_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let (a, admin_a, arm_a) = azure_tenant().await;
    azure_role(&a, &arm_a, "Web Operator", &["Microsoft.Web/sites/restart/action", "Microsoft.Web/sites/read"]).await;
    azure_role(&a, &arm_a, "Old Role", &["Microsoft.Compute/virtualMachines/read"]).await;
    let end = (time::OffsetDateTime::now_utc() + time::Duration::days(90)).replace_nanosecond(0).unwrap();
    let end = end.format(&time::format_description::well_known::Rfc3339).unwrap();
    let (s, web) = (sub(), rg("web"));
    for args in [
        vec!["--scope", &web, "--role", "Reader", "--principal", "alice@openpim.test", "--eligible", "--end", &end],
        vec!["--scope", &s, "--role", "Web Operator", "--principal", "Ops", "--eligible", "--end", &end],
        vec![
            "--scope",
            &web,
            "--role",
            "Web Operator",
            "--principal",
            "bob@openpim.test",
            "--active",
            "--end",
            &end,
            "--justification",
            "on call",
        ],
    ] {
        let mut all = vec!["azure", "assignments", "add"];
        all.extend(args);
        let r = with_arm(&a, &admin_a, &arm_a, &all).await;
        assert_eq!(r.code, 0, "{all:?}: {}", r.stderr);
    }
    let out = with_arm(&a, &admin_a, &arm_a, &["export", "--only", "azure"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let first = out.stdout;
    eprintln!("store: {}\n{first}", a.store());
    for expected in [
        "azure:\n  customRoles:\n  - roleName: Old Role\n",
        "  - roleName: Web Operator\n",
        &format!("    assignableScopes:\n    - {s}\n    actions:\n    - Microsoft.Web/sites/read\n"),
        "  - principal: alice@openpim.test  # ",
        &format!("    role: Reader\n    scope: {web}\n    end: {end}\n"),
        "  - principal: Ops  # ",
        // The admin's plain RBAC Owner assignment is a permanent active one.
        &format!("    role: Owner\n    scope: {s}\n"),
    ] {
        assert!(first.contains(expected), "export lacks {expected:?}:\n{first}");
    }
    assert!(!first.contains("eligibilities:\n- "), "only the azure section:\n{first}");
    assert!(!first.contains("scope: /\n"), "the tenant root (elevateAccess) is not managed:\n{first}");
    let file = write(dir.path(), "azure.yaml", &first);
    let v = a.run(None, &["validate", &file, "--output", "json"]).await;
    assert_eq!(v.code, 0, "{}", v.stderr);
    assert_eq!((v.json()["azureCustomRoles"].clone(), v.json()["azureEligibilities"].clone()), (json!(2), json!(2)));
    let p = with_arm(&a, &admin_a, &arm_a, &["plan", &file, "--output", "table"]).await;
    assert_eq!((p.code, p.stdout.as_str()), (0, "No changes. The tenant matches the file.\n"), "{}", p.stderr);

    // An empty server with the same people and subscription: apply creates it all, once.
    let (b, admin_b, arm_b) = azure_tenant().await;
    let p = with_arm(&b, &admin_b, &arm_b, &["plan", &file, "--output", "table"]).await;
    assert_eq!(p.code, 2, "{}\n{}", p.stdout, p.stderr);
    let lines: Vec<&str> = p.stdout.lines().collect();
    let at = |needle: &str| {
        lines.iter().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle:?} not in:\n{}", p.stdout))
    };
    // Custom roles before the assignments that use them.
    assert!(at("+ Azure custom role 'Web Operator'") < at("+ eligible Ops → Web Operator at "), "{}", p.stdout);
    assert!(p.stdout.contains(&format!("+ eligible alice@openpim.test → Reader at {web} ({end})")), "{}", p.stdout);
    assert!(p.stdout.contains(&format!("+ active bob@openpim.test → Web Operator at {web} ({end})")), "{}", p.stdout);
    let plan_id = p.stdout.lines().next().unwrap().trim_start_matches("Plan ").trim_end_matches(':').to_string();
    let applied = with_arm(&b, &admin_b, &arm_b, &["apply", &file, "--auto-approve", "--output", "table"]).await;
    assert_eq!(applied.code, 0, "{}\n{}", applied.stdout, applied.stderr);
    let again = with_arm(&b, &admin_b, &arm_b, &["apply", &file, "--auto-approve", "--output", "table"]).await;
    assert_eq!(
        (again.code, again.stdout.as_str()),
        (0, "No changes. The tenant matches the file.\n"),
        "{}",
        again.stderr
    );
    let second = with_arm(&b, &admin_b, &arm_b, &["export", "--only", "azure"]).await;
    assert_eq!(without_ids(&second.stdout), without_ids(&first), "round trip");
    // Each ARM request carries the plan's id in its justification.
    let path = format!("{s}/providers/Microsoft.Authorization/roleEligibilityScheduleRequests?api-version=2020-10-01");
    let (status, requests) = arm_call(&b, reqwest::Method::GET, &path, &arm_b, None).await;
    assert_eq!(status, 200, "{requests}");
    let justifications: Vec<&str> = requests["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["properties"]["justification"].as_str())
        .collect();
    assert_eq!(justifications.len(), 2, "{requests}");
    assert!(
        justifications.iter().all(|j| j.starts_with(&format!("openpim apply {plan_id}: + eligible "))),
        "{justifications:?}"
    );
    b.stop().await;

    // Every kind of Azure change on the first server.
    a.user("carol").await;
    let mut f: Value = serde_norway::from_str(&first).unwrap();
    let later = (time::OffsetDateTime::now_utc() + time::Duration::days(30)).replace_nanosecond(0).unwrap();
    let later = later.format(&time::format_description::well_known::Rfc3339).unwrap();
    let soon = (time::OffsetDateTime::now_utc() + time::Duration::days(3)).replace_nanosecond(0).unwrap();
    let soon = soon.format(&time::format_description::well_known::Rfc3339).unwrap();
    f["azure"]["customRoles"] = json!([
        {"roleName": "Web Operator", "description": "restarts sites", "assignableScopes": [s],
         "actions": ["Microsoft.Web/sites/read", "Microsoft.Web/sites/restart/action", "Microsoft.Web/sites/stop/action"]},
        {"roleName": "Blob Reader", "assignableScopes": [s],
         "dataActions": ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"]}
    ]);
    f["azure"]["eligibilities"] = json!([
        {"principal": "alice@openpim.test", "role": "Reader", "scope": web, "end": later},
        {"principal": "carol@openpim.test", "role": "Blob Reader", "scope": s, "start": soon, "end": later}
    ]);
    let mut active = f["azure"]["assignments"].as_array().unwrap().clone();
    active.retain(|x| x["principal"] != "bob@openpim.test");
    active.push(json!({"principal": "carol@openpim.test", "role": "Web Operator", "scope": web, "end": later}));
    f["azure"]["assignments"] = Value::Array(active);
    let changed = write(dir.path(), "changed.yaml", &serde_norway::to_string(&f).unwrap());
    let p = with_arm(&a, &admin_a, &arm_a, &["plan", &changed, "--output", "table"]).await;
    assert_eq!(p.code, 2, "{}\n{}", p.stdout, p.stderr);
    for line in [
        "+ Azure custom role 'Blob Reader' (0 action(s), 1 data action(s)",
        "~ Azure custom role 'Web Operator': description None → Some(\"restarts sites\"); actions +[\"Microsoft.Web/sites/stop/action\"] -[]",
        &format!("+ eligible carol@openpim.test → Blob Reader at {s} (from {soon}, {later})"),
        &format!("+ active carol@openpim.test → Web Operator at {web} ({later})"),
        &format!("~ eligible alice@openpim.test → Reader at {web}: end {end} → {later}"),
        &format!("- eligible Ops → Web Operator at {s}"),
        &format!("- active bob@openpim.test → Web Operator at {web}"),
        "- Azure custom role 'Old Role'",
        "warning: removing the eligible assignment of Ops to Web Operator will be refused until",
    ] {
        assert!(p.stdout.contains(line), "plan lacks {line:?}:\n{}", p.stdout);
    }
    let lines: Vec<&str> = p.stdout.lines().collect();
    let first_removal = lines.iter().position(|l| l.starts_with("  - ")).unwrap();
    let last_other = lines.iter().rposition(|l| l.starts_with("  + ") || l.starts_with("  ~ ")).unwrap();
    assert!(last_other < first_removal, "removals last: {}", p.stdout);
    // The 5-minute rule stops apply at the first removal; past it, the rest applies.
    let stopped = with_arm(&a, &admin_a, &arm_a, &["apply", &changed, "--auto-approve", "--output", "table"]).await;
    assert_eq!(stopped.code, 5, "{}\n{}", stopped.stdout, stopped.stderr);
    assert!(stopped.stderr.contains("stopped at: - "), "{}", stopped.stderr);
    a.advance(time::Duration::minutes(6));
    let rest = with_arm(&a, &admin_a, &arm_a, &["apply", &changed, "--auto-approve", "--output", "table"]).await;
    assert_eq!(rest.code, 0, "{}\n{}", rest.stdout, rest.stderr);
    assert!(rest.stdout.contains("applied: - Azure custom role 'Old Role'"), "{}", rest.stdout);
    let p = with_arm(&a, &admin_a, &arm_a, &["plan", &changed, "--output", "table"]).await;
    assert_eq!((p.code, p.stdout.as_str()), (0, "No changes. The tenant matches the file.\n"), "{}", p.stderr);
    let now = with_arm(&a, &admin_a, &arm_a, &["export", "--only", "azure"]).await.stdout;
    assert!(now.contains(&format!("    role: Blob Reader\n    scope: {s}\n    start: {soon}\n")), "{now}");
    // Moving the start is an update of the schedule.
    let mut moved = f.clone();
    let sooner = (time::OffsetDateTime::now_utc() + time::Duration::days(2)).replace_nanosecond(0).unwrap();
    let sooner = sooner.format(&time::format_description::well_known::Rfc3339).unwrap();
    moved["azure"]["eligibilities"][1]["start"] = json!(sooner);
    // A service principal (a workload identity) named by its display name.
    let app = post(&a, &admin_a, "/v1.0/applications", json!({"displayName": "Deployer"})).await;
    post(&a, &admin_a, "/v1.0/servicePrincipals", json!({"appId": app["appId"]})).await;
    moved["azure"]["eligibilities"]
        .as_array_mut()
        .unwrap()
        .push(json!({"principal": "deployer", "role": "Reader", "scope": s, "end": later}));
    let moved = write(dir.path(), "moved.yaml", &serde_norway::to_string(&moved).unwrap());
    let p = with_arm(&a, &admin_a, &arm_a, &["apply", &moved, "--auto-approve", "--output", "table"]).await;
    assert_eq!(p.code, 0, "{}\n{}", p.stdout, p.stderr);
    for line in [
        format!("~ eligible carol@openpim.test → Blob Reader at {s}: start {soon} → {sooner}"),
        format!("+ eligible Deployer → Reader at {s} ({later})"),
    ] {
        assert!(p.stdout.contains(&line), "{line:?} in {}", p.stdout);
    }
    let sp = with_arm(&a, &admin_a, &arm_a, &["export", "--only", "azure"]).await.stdout;
    assert!(sp.contains("  - principal: Deployer  # "), "exported by name:\n{sp}");
    let p = with_arm(&a, &admin_a, &arm_a, &["plan", &moved, "--output", "table"]).await;
    assert_eq!((p.code, p.stdout.as_str()), (0, "No changes. The tenant matches the file.\n"), "{}", p.stderr);
    let roles =
        with_arm(&a, &admin_a, &arm_a, &["azure", "roles", "--scope", &s, "--custom", "--output", "json"]).await;
    let roles = roles.json();
    let mut names: Vec<&str> =
        roles.as_array().unwrap().iter().filter_map(|r| r["properties"]["roleName"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, vec!["Blob Reader", "Web Operator"], "{roles}");

    // Unknown names: refused whole, each problem on its line, nothing changed.
    let before = with_arm(&a, &admin_a, &arm_a, &["export", "--only", "azure"]).await.stdout;
    let bad = format!("version: 1\nazure:\n  eligibilities:\n  - principal: nobody@openpim.test\n    role: Reader\n    scope: {s}\n  - principal: alice@openpim.test\n    role: Chief Wizard\n    scope: {s}\n");
    let bad = write(dir.path(), "bad.yaml", &bad);
    let refused = with_arm(&a, &admin_a, &arm_a, &["apply", &bad, "--auto-approve"]).await;
    assert_eq!(refused.code, 1, "{}\n{}", refused.stdout, refused.stderr);
    for expected in [
        format!("{bad}:4: azure.eligibilities[0].principal: no user is signed in as 'nobody@openpim.test'"),
        format!("{bad}:8: azure.eligibilities[1].role: no Azure role is named 'Chief Wizard'"),
        "error: InvalidFile: 2 problem(s)".to_string(),
    ] {
        assert!(refused.stderr.contains(&expected), "{expected:?} in {}", refused.stderr);
    }
    assert_eq!(with_arm(&a, &admin_a, &arm_a, &["export", "--only", "azure"]).await.stdout, before);
    // Scopes and roles are checked without a server.
    let offline = "version: 1\nazure:\n  customRoles:\n  - roleName: Empty\n    assignableScopes: [/subscriptions/nope]\n  assignments:\n  - principal: a@x\n    role: Reader\n    scope: /\n";
    let offline = write(dir.path(), "offline.yaml", offline);
    let v = a.run(None, &["validate", &offline]).await;
    assert_eq!(v.code, 1, "{}", v.stderr);
    for expected in [
        "azure.customRoles[0].assignableScopes[0]: '/subscriptions/nope' is not an ARM scope",
        "azure.customRoles[0].actions: an Azure custom role needs at least one action or data action",
        "azure.assignments[0].scope: '/' is the tenant root",
    ] {
        assert!(v.stderr.contains(expected), "{expected:?} in {}", v.stderr);
    }

    // The last Owner: the plan warns, the server refuses, apply says where it stopped.
    let mut f: Value = serde_norway::from_str(&before).unwrap();
    f["azure"]["assignments"] = json!([]);
    let no_owner = write(dir.path(), "no-owner.yaml", &serde_norway::to_string(&f).unwrap());
    let p = with_arm(&a, &admin_a, &arm_a, &["plan", &no_owner, "--output", "table"]).await;
    assert_eq!(p.code, 2, "{}", p.stderr);
    assert!(p.stdout.contains(&format!("warning: the file leaves no permanent Owner at or above {s}")), "{}", p.stdout);
    let refused = with_arm(&a, &admin_a, &arm_a, &["apply", &no_owner, "--auto-approve", "--output", "table"]).await;
    assert_eq!(refused.code, 5, "{}\n{}", refused.stdout, refused.stderr);
    assert!(refused.stderr.contains("stopped at: - active admin@openpim.test → Owner"), "{}", refused.stderr);
    a.stop().await;
}

/// 10,000 eligibilities (200 users × 50 roles) applied to an empty tenant, then planned again.
/// The time is printed, not asserted (docs/POLICY_AS_CODE.md states what it was measured at).
/// Ignored by default: unoptimised, it takes well over a minute (run it with `--ignored`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "10,000 requests: over a minute in a debug build; run with --ignored"]
async fn ten_thousand_eligibilities() {
    let dir = tempfile::tempdir().unwrap();
    let cli = Cli::start_on_test_database().await;
    let admin = cli.admin().await;
    let mut upns = Vec::new();
    for i in 0..200 {
        let upn = format!("user{i:03}@openpim.test");
        post(
            &cli,
            &admin,
            "/v1.0/users",
            json!({"userPrincipalName": upn, "displayName": upn, "accountEnabled": true}),
        )
        .await;
        upns.push(upn);
    }
    let roles = cli.ok(&admin, &["roles", "list", "--builtin"]).await;
    let roles: Vec<String> = rows(&roles)
        .iter()
        .map(|r| r["displayName"].as_str().unwrap().to_string())
        .filter(|n| n != "Global Administrator")
        .take(50)
        .collect();
    assert_eq!(roles.len(), 50);
    let mut yaml = String::from("version: 1\neligibilities:\n");
    for role in &roles {
        for upn in &upns {
            yaml.push_str(&format!("- principal: {upn}\n  role: {role}\n"));
        }
    }
    let file = write(dir.path(), "large.yaml", &yaml);
    let started = std::time::Instant::now();
    let out = cli.run(Some(&admin), &["apply", &file, "--auto-approve", "--output", "json"]).await;
    let took = started.elapsed();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["applied"].as_array().unwrap().len(), 10_000);
    eprintln!("applied 10000 eligibilities on {} in {:.1} s", cli.store(), took.as_secs_f64());
    let started = std::time::Instant::now();
    let again = plan(&cli, &admin, &file).await;
    eprintln!("planned 10000 unchanged eligibilities on {} in {:.1} s", cli.store(), started.elapsed().as_secs_f64());
    assert_eq!(
        (again.code, again.stdout.as_str()),
        (0, "No changes. The tenant matches the file.\n"),
        "{}",
        again.stderr
    );
    cli.stop().await;
}
