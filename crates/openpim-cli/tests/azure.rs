//! `openpim azure subscription add` and `openpim token --audience` through the real binary.

mod common;

use common::*;

const SUB: &str = "5c1e0f3a-9b7d-4c2e-8f10-0000000000c1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_global_administrator_registers_a_subscription_and_reads_it_over_arm() {
    let cli = Cli::start().await;
    let admin = cli.admin().await;
    let added = cli.ok(&admin, &["azure", "subscription", "add", "--id", SUB, "--name", "Production"]).await;
    assert_eq!(added["subscriptionId"], SUB);
    assert_eq!(added["displayName"], "Production");
    assert_eq!(added["state"], "Enabled");
    let tenant = added["tenantId"].as_str().expect("tenant id").to_string();
    assert_eq!(added["managementGroupId"], tenant.as_str(), "the tenant root group by default");
    // Again: renamed, same subscription.
    let renamed = cli.ok(&admin, &["azure", "subscription", "add", "--id", SUB, "--name", "Prod EU"]).await;
    assert_eq!(renamed["displayName"], "Prod EU");
    // Unknown management group, and a caller who is not a Global Administrator.
    let out = cli
        .fails(&admin, &["azure", "subscription", "add", "--id", SUB, "--name", "x", "--management-group", "nope"])
        .await;
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("ManagementGroupNotFound"), "{}", out.stderr);
    let (_, user) = cli.user("plainsub").await;
    let out = cli.fails(&user, &["azure", "subscription", "add", "--id", SUB, "--name", "Mine"]).await;
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("Authorization_RequestDenied"), "{}", out.stderr);

    // `openpim token --audience` mints an ARM token; ARM accepts it, Graph does not.
    let data = cli.data_dir().to_str().unwrap().to_string();
    let out = cli
        .exec(
            &["token", "--data", &data, "--user", "admin@openpim.test", "--audience", "https://management.azure.com/"],
            &[],
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let arm_token = out.stdout.trim().to_string();
    let resp = cli
        .http
        .get(format!("{}/subscriptions?api-version=2022-12-01", cli.base))
        .bearer_auth(&arm_token)
        .send()
        .await
        .expect("GET /subscriptions");
    assert_eq!(resp.status().as_u16(), 200, "no role yet, but the token is accepted");
    let resp = cli.http.get(format!("{}/v1.0/me", cli.base)).bearer_auth(&arm_token).send().await.expect("GET /me");
    assert_eq!(resp.status().as_u16(), 401);
    let out = cli
        .exec(&["token", "--data", &data, "--user", "admin@openpim.test", "--audience", "https://example.com"], &[])
        .await;
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("not an audience"), "{}", out.stderr);
    cli.stop().await;
}
