//! `openpim azure roles|assignments|activate|deactivate|my roles` through the real binary
//! against a real server, with ARM tokens from `openpim token --audience`: outputs (JSON) and
//! the server's state over ARM, errors with ARM's codes and the documented exit codes.

mod common;

use common::azure::*;
use common::*;
use serde_json::{json, Value};

fn rows_of<'a>(v: &'a Value, principal_id: &str) -> Vec<&'a Value> {
    v.as_array().expect("an array").iter().filter(|r| r["principalId"] == principal_id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_pim_roles_assign_activate_deactivate_remove() {
    let cli = Cli::start().await;
    let admin = cli.admin().await;
    let admin_arm = arm_token(&cli, ADMIN).await;
    azure(&cli, &admin, &admin_arm).await;
    let (alice_id, alice) = cli.user("alice").await;
    let alice_arm = arm_token(&cli, "alice@openpim.test").await;

    // roles: Azure's built-in roles at the subscription, by name and GUID; --custom has none yet.
    let roles = ok(&az(&cli, &admin, &admin_arm, &["azure", "roles", "--scope", &sub()]).await);
    let reader = roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["properties"]["roleName"] == "Reader")
        .unwrap_or_else(|| panic!("no Reader in {roles}"));
    assert_eq!(reader["name"], READER);
    assert_eq!(reader["properties"]["type"], "BuiltInRole");
    let custom = ok(&az(&cli, &admin, &admin_arm, &["azure", "roles", "--scope", &sub(), "--custom"]).await);
    assert_eq!(custom, json!([]), "no custom roles: {custom}");

    // assignments add: an eligibility for Reader ("reader": names ignore case) for 30 days.
    let s = sub();
    let add = [
        "azure",
        "assignments",
        "add",
        "--scope",
        &s,
        "--role",
        "reader",
        "--principal",
        "alice@openpim.test",
        "--eligible",
        "--duration",
        "30d",
        "--justification",
        "web tier",
    ];
    let created = ok(&az(&cli, &admin, &admin_arm, &add).await);
    let p = &created["properties"];
    assert_eq!(p["status"], "Provisioned");
    assert_eq!(p["requestType"], "AdminAssign");
    assert_eq!(p["principalId"], alice_id.as_str());
    assert_eq!(p["scope"], sub());
    assert!(p["roleDefinitionId"].as_str().unwrap().ends_with(READER), "{p}");
    assert_eq!(p["scheduleInfo"]["expiration"]["duration"], "P30D");
    assert!(created["id"].as_str().unwrap().contains("/RoleEligibilityScheduleRequests/"), "{created}");

    // assignments list: alice eligible (Direct), the admin's Owner as an active RBAC assignment.
    let listed = ok(&az(&cli, &admin, &admin_arm, &["azure", "assignments", "list", "--scope", &s]).await);
    let alice_rows = rows_of(&listed, &alice_id);
    assert_eq!(alice_rows.len(), 1, "{listed}");
    assert_eq!(alice_rows[0]["type"], "eligible");
    assert_eq!(alice_rows[0]["role"], "Reader");
    assert_eq!(alice_rows[0]["memberType"], "Direct");
    assert_eq!(alice_rows[0]["principal"], "alice@openpim.test");
    assert!(alice_rows[0]["endDateTime"].is_string(), "30 days: {listed}");
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["type"] == "active" && r["role"] == "Owner" && r["assignmentType"] == "Assigned"),
        "the admin's RBAC Owner assignment: {listed}"
    );
    let eligible_only =
        ok(&az(&cli, &admin, &admin_arm, &["azure", "assignments", "list", "--scope", &s, "--eligible"]).await);
    assert!(eligible_only.as_array().unwrap().iter().all(|r| r["type"] == "eligible"), "{eligible_only}");

    // Alice may not list everyone's rows, nor assign: ARM's AuthorizationFailed, exit 3.
    let out = az(&cli, &alice, &alice_arm, &["azure", "assignments", "list", "--scope", &s]).await;
    out.assert_error(3, "AuthorizationFailed");
    let mut theirs = add;
    theirs[8] = "admin@openpim.test";
    az(&cli, &alice, &alice_arm, &theirs).await.assert_error(3, "AuthorizationFailed");

    // activate at a child scope (the resource group), for 2 hours.
    let web = rg("web");
    let act = ["azure", "activate", "Reader", "--scope", &web, "--duration", "2h", "--justification", "deploy"];
    // Azure's default role settings require a justification on activation: the server's code, exit 5.
    let unjustified = ["azure", "activate", "Reader", "--scope", &web, "--duration", "2h"];
    az(&cli, &alice, &alice_arm, &unjustified).await.assert_error(5, "RoleAssignmentRequestPolicyValidationFailed");
    let activated = ok(&az(&cli, &alice, &alice_arm, &act).await);
    let p = &activated["properties"];
    assert_eq!(p["status"], "Provisioned", "{activated}");
    assert_eq!(p["requestType"], "SelfActivate");
    assert_eq!(p["scope"], web.as_str());
    assert_eq!(p["principalId"], alice_id.as_str());
    assert_eq!(p["scheduleInfo"]["expiration"]["duration"], "PT2H");

    // The server holds it: the admin sees alice's activation at `web` over ARM.
    let (status, body) = arm_call(
        &cli,
        reqwest::Method::GET,
        &format!("{web}/providers/Microsoft.Authorization/roleAssignmentScheduleInstances?api-version=2020-10-01"),
        &admin_arm,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["value"].as_array().unwrap().iter().any(|i| i["properties"]["principalId"] == alice_id.as_str()
            && i["properties"]["assignmentType"] == "Activated"
            && i["properties"]["scope"] == web.as_str()),
        "{body}"
    );

    // my roles: the eligibility at the subscription and the activation at `web`, with ends.
    let mine = ok(&az(&cli, &alice, &alice_arm, &["azure", "my", "roles"]).await);
    let mine = mine.as_array().unwrap();
    assert_eq!(mine.len(), 2, "{mine:?}");
    let eligible = mine.iter().find(|r| r["type"] == "eligible").expect("eligible row");
    assert_eq!((eligible["scope"].as_str(), eligible["role"].as_str()), (Some(s.as_str()), Some("Reader")));
    let active = mine.iter().find(|r| r["type"] == "active").expect("active row");
    assert_eq!(active["scope"], web.as_str());
    assert_eq!(active["assignmentType"], "Activated");
    assert!(active["ends"].as_str().unwrap().contains("(in 1h 59m)"), "{active}");
    // The table says the same for people.
    let out = cli.run(Some(&alice), &["--arm-token", &alice_arm, "azure", "my", "roles", "--output", "table"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("active (activated)") && out.stdout.contains(&web), "{}", out.stdout);

    // A role she holds no eligibility for: by name, the client finds none among hers (exit 4);
    // by GUID, the server refuses the request with ARM's code.
    let out = az(&cli, &alice, &alice_arm, &["azure", "activate", "Owner", "--scope", &s, "--duration", "1h"]).await;
    out.assert_error(4, "RoleNotFound");
    let out = az(&cli, &alice, &alice_arm, &["azure", "activate", OWNER, "--scope", &s, "--duration", "1h"]).await;
    out.assert_error(5, "RoleAssignmentRequestPolicyValidationFailed");
    assert!(out.stderr.contains("EligibilityRule"), "{}", out.stderr);

    // deactivate after the 5-minute minimum.
    cli.advance(time::Duration::minutes(6));
    let done = ok(&az(&cli, &alice, &alice_arm, &["azure", "deactivate", "reader", "--scope", &web]).await);
    assert_eq!(done["properties"]["requestType"], "SelfDeactivate");
    let mine = ok(&az(&cli, &alice, &alice_arm, &["azure", "my", "roles"]).await);
    assert!(mine.as_array().unwrap().iter().all(|r| r["type"] == "eligible"), "no activation left: {mine}");

    // remove: the eligibility goes.
    let removed = ok(&az(
        &cli,
        &admin,
        &admin_arm,
        &["azure", "assignments", "remove", "--scope", &s, "--role", READER, "--principal", &alice_id, "--eligible"],
    )
    .await);
    assert_eq!(removed["properties"]["requestType"], "AdminRemove");
    let listed = ok(&az(&cli, &admin, &admin_arm, &["azure", "assignments", "list", "--scope", &s]).await);
    assert!(rows_of(&listed, &alice_id).is_empty(), "{listed}");
    let mine = ok(&az(&cli, &alice, &alice_arm, &["azure", "my", "roles"]).await);
    assert_eq!(mine, json!([]));
    cli.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_commands_refuse_bad_input_and_the_wrong_token() {
    let cli = Cli::start().await;
    let admin = cli.admin().await;
    let admin_arm = arm_token(&cli, ADMIN).await;
    azure(&cli, &admin, &admin_arm).await;
    let s = sub();

    // No role by that name at the scope: exit 4, nothing sent.
    let out = az(
        &cli,
        &admin,
        &admin_arm,
        &["azure", "assignments", "add", "--scope", &s, "--role", "Nope", "--principal", ADMIN, "--permanent"],
    )
    .await;
    out.assert_error(4, "RoleNotFound");
    // Usage: not an ARM scope; no window; remove without --eligible/--active.
    for args in [
        vec!["azure", "roles", "--scope", "/administrativeUnits/x"],
        vec!["azure", "assignments", "add", "--scope", &s, "--role", "Reader", "--principal", ADMIN],
        vec!["azure", "assignments", "remove", "--scope", &s, "--role", "Reader", "--principal", ADMIN],
        vec!["azure", "activate", "Reader"],
    ] {
        let out = az(&cli, &admin, &admin_arm, &args).await;
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
    }
    // An unknown principal: exit 4.
    let out = az(
        &cli,
        &admin,
        &admin_arm,
        &[
            "azure",
            "assignments",
            "add",
            "--scope",
            &s,
            "--role",
            "Reader",
            "--principal",
            "ghost@openpim.test",
            "--permanent",
        ],
    )
    .await;
    out.assert_error(4, "PrincipalNotFound");
    // The Graph token alone is not valid on ARM's routes: ARM's 401, exit 3.
    let out = cli.run(Some(&admin), &["azure", "roles", "--scope", &s, "--output", "json"]).await;
    out.assert_error(3, "InvalidAuthenticationToken");
    // The ARM token alone cannot read /me: exit 3 with a hint.
    let out = cli.run(Some(&admin_arm), &["azure", "activate", READER, "--scope", &s, "--output", "json"]).await;
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("--arm-token"), "{}", out.stderr);
    // OPENPIM_ARM_TOKEN works as the flag does.
    let out = cli
        .exec(
            &["--server", &cli.base, "--token", &admin, "azure", "roles", "--scope", &s, "--output", "json"],
            &[("OPENPIM_ARM_TOKEN", admin_arm.as_str())],
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.json().as_array().unwrap().iter().any(|r| r["name"] == OWNER));
    cli.stop().await;
}
