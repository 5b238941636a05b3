//! `openpim token` binds the token to the user's object id, looked up in the server's store
//! (issue #12: tokens named their user by UPN, and UPNs can be changed or reused).

mod common;

use common::*;
use serde_json::{json, Value};

async fn me(cli: &Cli, token: &str) -> (u16, Value) {
    let resp = cli.http.get(format!("{}/v1.0/me", cli.base)).bearer_auth(token).send().await.expect("GET /me");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minted_token_stays_with_its_user_across_renames_and_name_reuse() {
    let cli = Cli::start().await;
    let admin = cli.admin().await;
    let (bob, bob_t) = cli.user("bob").await;
    // Bob is renamed, and a new account takes his old name.
    let resp = cli
        .http
        .patch(format!("{}/v1.0/users/{bob}", cli.base))
        .bearer_auth(&admin)
        .json(&json!({"userPrincipalName": "robert@openpim.test"}))
        .send()
        .await
        .expect("rename");
    assert_eq!(resp.status().as_u16(), 204);
    let (impostor, impostor_t) = cli.user("bob").await;
    assert_ne!(bob, impostor);
    // The token minted for bob still acts as bob, not as the new holder of the name.
    let (status, body) = me(&cli, &bob_t).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], bob.as_str());
    let (status, body) = me(&cli, &impostor_t).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], impostor.as_str());
    cli.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_is_minted_for_a_user_who_does_not_exist() {
    let cli = Cli::start().await;
    let data = cli.data_dir().to_str().unwrap().to_string();
    let out = cli.exec(&["token", "--data", &data, "--user", "nobody@openpim.test"], &[]).await;
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.trim().is_empty(), "no token printed: {}", out.stdout);
    assert!(out.stderr.contains("nobody@openpim.test"), "{}", out.stderr);
    cli.stop().await;
}
