//! `openpim audit verify` and `openpim audit export-bundle`, run as the real binary: a clean
//! chain verifies offline (`--data`, beside the running server), through the server and from a
//! bundle file; a row changed in the database or in the bundle fails with exit 7 naming the
//! first broken record; a checkpoint checked with the wrong key fails.

mod common;

use common::*;
use serde_json::Value;
use sqlx::{AnyConnection, Connection, Executor};

async fn tamper(cli: &Cli, sql: &str) {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=rw", cli.data_dir().join("openpim.db").display());
    let mut conn = AnyConnection::connect(&url).await.expect("the server's database");
    conn.execute(sql).await.expect(sql);
    conn.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_offline_through_the_server_and_from_a_bundle() {
    let cli = Cli::start().await;
    let admin = cli.admin().await;
    cli.user("chained").await;
    openpim_server::audit_chain::checkpoint_once(&cli.server.state).await.unwrap();
    let data = cli.data_dir().display().to_string();

    // Offline, no server or token: the database opened read-only beside the running server.
    let out = cli.exec(&["audit", "verify", "--data", &data, "--output", "json"], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let offline = out.json();
    assert_eq!(offline["verified"], true);
    let records = offline["records"].as_i64().unwrap();
    assert!(records >= 2 && offline["checkpoints"].as_i64().unwrap() >= 1, "{offline}");

    // Through the server's export.
    let online = cli.ok(&admin, &["audit", "verify"]).await;
    assert_eq!(online["headSeq"], offline["headSeq"], "{online}");
    let table = cli.run(Some(&admin), &["audit", "verify", "--output", "table"]).await;
    assert!(table.stdout.starts_with(&format!("verified {records} records")), "{}", table.stdout);

    // A bundle file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bundle.json");
    let file_arg = file.display().to_string();
    let out = cli.run(Some(&admin), &["audit", "export-bundle", "--to", &file_arg]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = cli.exec(&["audit", "verify", "--bundle", &file_arg, "--keys", &file_arg, "--output", "json"], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);

    // The server publishes the keys as a JWK set, without a token; `--keys URL` reads it.
    let keys_url = format!("{}/v1.0/openpim/auditChain/keys", cli.base);
    let resp = reqwest::get(&keys_url).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/jwk-set+json");
    let jwks: Value = resp.json().await.unwrap();
    assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(1), "{jwks}");
    assert_eq!(jwks["keys"][0]["kty"], "EC", "{jwks}");
    assert!(jwks["keys"][0].get("d").is_none(), "public key only: {jwks}");
    let out = cli.exec(&["audit", "verify", "--bundle", &file_arg, "--keys", &keys_url, "--output", "json"], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.json()["notes"].as_array().unwrap().iter().all(|n| !n.as_str().unwrap().contains("pass --keys")));

    // The bundle edited: the record is named.
    let mut bundle: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let second = bundle["records"][1].clone();
    bundle["records"][1]["resultReason"] = "edited".into();
    let edited = dir.path().join("edited.json");
    std::fs::write(&edited, serde_json::to_vec(&bundle).unwrap()).unwrap();
    let out = cli.exec(&["audit", "verify", "--bundle", &edited.display().to_string()], &[]).await;
    out.assert_error(7, "AuditChainBroken");
    assert!(
        out.stderr.contains(&format!("seq 2 (id {})", second["id"].as_str().unwrap())) && out.stderr.contains("edited"),
        "{}",
        out.stderr
    );

    // Checkpoints checked with another issuer's key fail.
    let other = tempfile::tempdir().unwrap();
    let stranger = openpim_server::auth::LocalIssuer::load_or_create(other.path()).unwrap();
    let keys = dir.path().join("keys.json");
    std::fs::write(&keys, serde_json::to_vec(&serde_json::json!({"keys": [stranger.public_jwk()]})).unwrap()).unwrap();
    let out = cli.exec(&["audit", "verify", "--bundle", &file_arg, "--keys", &keys.display().to_string()], &[]).await;
    out.assert_error(7, "AuditChainBroken");
    assert!(out.stderr.contains("not validly signed"), "{}", out.stderr);
    cli.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_changed_in_the_database_fail_verify_at_the_right_record() {
    let cli = Cli::start().await;
    let admin = cli.admin().await;
    for name in ["one", "two", "three"] {
        cli.user(name).await;
    }
    let data = cli.data_dir().display().to_string();
    let id_at = |bundle: &Value, seq: i64| {
        bundle["records"].as_array().unwrap().iter().find(|r| r["chainSeq"] == seq).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let bundle: Value = {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("b.json");
        let out = cli.run(Some(&admin), &["audit", "export-bundle", "--to", &file.display().to_string()]).await;
        assert_eq!(out.code, 0, "{}", out.stderr);
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap()
    };
    // Two rows swapped (their places exchanged through a free seq).
    tamper(&cli, "UPDATE audit_log SET chain_seq = -1 WHERE chain_seq = 3").await;
    tamper(&cli, "UPDATE audit_log SET chain_seq = 3 WHERE chain_seq = 4").await;
    tamper(&cli, "UPDATE audit_log SET chain_seq = 4 WHERE chain_seq = -1").await;
    let out = cli.exec(&["audit", "verify", "--data", &data], &[]).await;
    out.assert_error(7, "AuditChainBroken");
    assert!(out.stderr.contains(&format!("record seq 3 (id {})", id_at(&bundle, 4))), "{}", out.stderr);
    assert!(out.stderr.contains("reordered"), "{}", out.stderr);

    // Deleted (the earlier break first: swap back, then delete).
    tamper(&cli, "UPDATE audit_log SET chain_seq = -1 WHERE chain_seq = 3").await;
    tamper(&cli, "UPDATE audit_log SET chain_seq = 3 WHERE chain_seq = 4").await;
    tamper(&cli, "UPDATE audit_log SET chain_seq = 4 WHERE chain_seq = -1").await;
    assert_eq!(cli.exec(&["audit", "verify", "--data", &data], &[]).await.code, 0);
    tamper(&cli, "DELETE FROM audit_log WHERE chain_seq = 2").await;
    let out = cli.run(Some(&admin), &["audit", "verify"]).await;
    out.assert_error(7, "AuditChainBroken");
    assert!(out.stderr.contains("seq 2 is missing"), "{}", out.stderr);
    assert!(out.stderr.contains(&id_at(&bundle, 3)), "{}", out.stderr);
    cli.stop().await;
}
