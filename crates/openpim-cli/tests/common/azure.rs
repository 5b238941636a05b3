//! Helpers of the `openpim azure` tests (azure_pim.rs, azure_policy.rs): ARM tokens from the
//! real `openpim token --audience`, the binary run with both tokens, and an Azure set-up (the
//! admin elevated, a registered subscription the admin owns, a resource group `web`).

#![allow(dead_code)]

use super::*;
use serde_json::{json, Value};

pub const SUB: &str = "5c1e0f3a-9b7d-4c2e-8f10-0000000000d1";
pub const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
pub const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";

pub fn sub() -> String {
    format!("/subscriptions/{SUB}")
}

pub fn rg(name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{name}")
}

/// An MFA-challenged ARM token from the real `openpim token --audience https://management.azure.com/`.
pub async fn arm_token(cli: &Cli, upn: &str) -> String {
    arm_token_mfa(cli, upn, true).await
}

pub async fn arm_token_mfa(cli: &Cli, upn: &str, mfa: bool) -> String {
    let data = cli.data_dir().to_str().unwrap().to_string();
    let mut args = vec!["token", "--data", &data, "--user", upn, "--audience", "https://management.azure.com/"];
    // On PostgreSQL the users are in the database, not the data directory.
    if let Some((_, _, url)) = &cli.postgres {
        args.extend(["--database", url.as_str()]);
    }
    if mfa {
        args.push("--mfa");
    }
    let out = cli.exec(&args, &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout.trim().to_string()
}

/// `openpim --server B --token GRAPH --arm-token ARM ARGS --output json`.
pub async fn az(cli: &Cli, graph: &str, arm: &str, args: &[&str]) -> Out {
    let mut all = vec!["--arm-token", arm];
    all.extend(args);
    all.extend(["--output", "json"]);
    cli.run(Some(graph), &all).await
}

#[track_caller]
pub fn ok(out: &Out) -> Value {
    assert_eq!(out.code, 0, "failed: {}\nstdout: {}", out.stderr, out.stdout);
    out.json()
}

pub async fn arm_call(
    cli: &Cli,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = cli.http.request(method, format!("{}{path}", cli.base)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("ARM call");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The admin elevates, registers SUB (with the CLI), owns it and creates the group `web`.
pub async fn azure(cli: &Cli, admin: &str, admin_arm: &str) {
    let (status, body) = arm_call(
        cli,
        reqwest::Method::POST,
        "/providers/Microsoft.Authorization/elevateAccess?api-version=2016-07-01",
        admin_arm,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let added = cli.ok(admin, &["azure", "subscription", "add", "--id", SUB, "--name", "Production"]).await;
    assert_eq!(added["subscriptionId"], SUB);
    let me: Value = cli
        .http
        .get(format!("{}/v1.0/me", cli.base))
        .bearer_auth(admin)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("me JSON");
    let path = format!(
        "{}/providers/Microsoft.Authorization/roleAssignments/{}?api-version=2022-04-01",
        sub(),
        uuid::Uuid::new_v4()
    );
    let body = json!({"properties": {
        "roleDefinitionId": format!("/providers/Microsoft.Authorization/roleDefinitions/{OWNER}"),
        "principalId": me["id"],
    }});
    let (status, resp) = arm_call(cli, reqwest::Method::PUT, &path, admin_arm, Some(body)).await;
    assert_eq!(status, 201, "{resp}");
    let (status, resp) = arm_call(
        cli,
        reqwest::Method::PUT,
        &format!("{}?api-version=2021-04-01", rg("web")),
        admin_arm,
        Some(json!({"location": "westeurope"})),
    )
    .await;
    assert!((200..300).contains(&status), "{resp}");
}
