//! `openpim alerts` through the real binary against a real server: a direct assignment to a
//! privileged role raises "roles assigned outside PIM" on refresh, `show` lists the incident and
//! the remedy, `dismiss` hides it, `config` changes a threshold (and refuses a bad one), and a
//! plain user is refused.

mod common;

use common::*;
use serde_json::{json, Value};

const PRIVILEGED_ROLE_ADMINISTRATOR: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";

fn by_key<'a>(list: &'a Value, key: &str) -> &'a Value {
    list.as_array()
        .expect("a list")
        .iter()
        .find(|a| a["id"].as_str().unwrap().ends_with(key))
        .unwrap_or_else(|| panic!("no {key} in {list}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_refresh_show_dismiss_and_config() {
    let cli = Cli::start().await;
    let admin = cli.admin().await;
    let (bob, _) = cli.user("bob").await;
    let resp = cli
        .http
        .post(format!("{}/v1.0/roleManagement/directory/roleAssignments", cli.base))
        .bearer_auth(&admin)
        .json(&json!({"principalId": bob, "roleDefinitionId": PRIVILEGED_ROLE_ADMINISTRATOR, "directoryScopeId": "/"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);

    let listed = cli.ok(&admin, &["alerts", "refresh"]).await;
    assert_eq!(listed.as_array().unwrap().len(), 5, "{listed}");
    let outside = by_key(&listed, "_RolesAssignedOutsidePimAlert");
    assert_eq!((outside["isActive"].clone(), outside["incidentCount"].clone()), (json!(true), json!(1)), "{outside}");
    assert_eq!(by_key(&listed, "_StaleSignInAlert")["isActive"], false);

    let shown = cli.ok(&admin, &["alerts", "show", "outside-pim"]).await;
    assert_eq!(shown["alertIncidents"][0]["assigneeUserPrincipalName"], "bob@openpim.test", "{shown}");
    assert_eq!(shown["alertIncidents"][0]["roleDisplayName"], "Privileged Role Administrator");
    assert!(shown["remedyUrl"].as_str().unwrap().contains("privileged-identity-management"), "{shown}");
    let table = cli.run(Some(&admin), &["alerts", "show", "outside-pim", "--output", "table"]).await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(table.stdout.contains("bob@openpim.test"), "{}", table.stdout);

    let dismissed = cli.ok(&admin, &["alerts", "dismiss", "RolesAssignedOutsidePimAlert"]).await;
    assert_eq!(dismissed["isActive"], false, "{dismissed}");
    let active = cli.ok(&admin, &["alerts", "list", "--active"]).await;
    assert_eq!(active, json!([]), "the dismissed alert is no longer active");

    let c = cli.ok(&admin, &["alerts", "config", "stale", "--days", "7"]).await;
    assert_eq!(c["duration"], "P7D", "{c}");
    assert_eq!(c["@odata.type"], "#microsoft.graph.staleSignInAlertConfiguration");
    cli.fails(&admin, &["alerts", "config", "stale", "--days", "400"])
        .await
        .assert_error(5, "InvalidAlertConfiguration");
    cli.fails(&admin, &["alerts", "config", "no-mfa", "--days", "3"])
        .await
        .assert_error(5, "InvalidAlertConfiguration");
    assert_eq!(cli.ok(&admin, &["alerts", "config", "stale"]).await["duration"], "P7D", "unchanged");
    cli.fails(&admin, &["alerts", "show", "nope"]).await.assert_error(4, "AlertNotFound");

    let (_, plain) = cli.user("plain").await;
    cli.fails(&plain, &["alerts", "list"]).await.assert_error(3, "Authorization_RequestDenied");
    cli.stop().await;
}

/// `--scope`: an Azure subscription's alerts over ARM. The admin's own direct Owner assignment
/// there is "assigned outside PIM"; `show` names it, `dismiss` quiets it, `config` sets an owner
/// threshold (and refuses one out of range), and a directory-only option is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_scope_alerts_over_arm() {
    use common::azure::{arm_token, az, azure, ok, sub};
    let cli = Cli::start().await;
    let admin = cli.admin().await;
    let admin_arm = arm_token(&cli, ADMIN).await;
    azure(&cli, &admin, &admin_arm).await;
    let s = sub();

    let listed = ok(&az(&cli, &admin, &admin_arm, &["alerts", "--scope", &s, "refresh"]).await);
    assert_eq!(listed.as_array().unwrap().len(), 4, "{listed}");
    let outside = listed.as_array().unwrap().iter().find(|a| a["name"] == "AzureRolesAssignedOutsidePimAlert").unwrap();
    assert_eq!(outside["properties"]["isActive"], true, "{outside}");

    let shown = ok(&az(&cli, &admin, &admin_arm, &["alerts", "--scope", &s, "show", "outside-pim"]).await);
    assert_eq!(shown["properties"]["alertIncidents"][0]["properties"]["roleDisplayName"], "Owner", "{shown}");

    let dismissed = ok(&az(&cli, &admin, &admin_arm, &["alerts", "dismiss", "outside-pim", "--scope", &s]).await);
    assert_eq!(dismissed["properties"]["isActive"], false, "{dismissed}");
    let active = ok(&az(&cli, &admin, &admin_arm, &["alerts", "--scope", &s, "list", "--active"]).await);
    assert_eq!(active, json!([]));

    let c = ok(&az(
        &cli,
        &admin,
        &admin_arm,
        &["alerts", "--scope", &s, "config", "too-many-owners", "--owner-count", "5"],
    )
    .await);
    assert_eq!(c["properties"]["thresholdNumberOfOwners"], 5, "{c}");
    let bad =
        az(&cli, &admin, &admin_arm, &["alerts", "--scope", &s, "config", "too-many-owners", "--owner-count", "1"])
            .await;
    assert_ne!(bad.code, 0, "{}", bad.stdout);
    let bad =
        az(&cli, &admin, &admin_arm, &["alerts", "--scope", &s, "config", "too-many-owners", "--days", "3"]).await;
    assert_ne!(bad.code, 0, "{}", bad.stdout);
    cli.stop().await;
}
