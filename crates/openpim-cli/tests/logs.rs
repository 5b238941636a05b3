//! `openpim serve --log-json` through the real binary, at the default log level: one JSON line
//! per request naming its request id (the one the response's `request-id` header carries), one
//! per audited change, and never the bearer token that authenticated the request.

use serde_json::Value;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncReadExt;

mod common;
// The default log filter: what the test checks is what an operator sees without OPENPIM_LOG.
use common::process::{listening, openpim_default_log};

const ADMIN: &str = "admin@openpim.test";
const CLIENT_ID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

#[tokio::test]
async fn serve_with_log_json_prints_a_json_line_per_request_and_per_change() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let mut child = openpim_default_log(&[
        "serve",
        "--data",
        data,
        "--listen",
        "127.0.0.1:0",
        "--bootstrap-admin",
        ADMIN,
        "--log-json",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("openpim serve starts");
    let (base, drain_stderr) = listening(&mut child).await;
    // The log, read to its end once the server exits.
    let mut stdout = child.stdout.take().unwrap();
    let log = tokio::spawn(async move {
        let mut text = String::new();
        stdout.read_to_string(&mut text).await.expect("stdout readable");
        text
    });

    let out = openpim_default_log(&["token", "--data", data, "--user", ADMIN, "--mfa"])
        .output()
        .await
        .expect("openpim token runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();

    let http = reqwest::Client::new();
    let me = http
        .get(format!("{base}/v1.0/me?$select=id"))
        .bearer_auth(&token)
        .header("client-request-id", CLIENT_ID)
        .send()
        .await
        .expect("the server answers");
    assert_eq!(me.status(), 200);
    let me_id = me.headers()["request-id"].to_str().unwrap().to_string();
    let admin_id = me.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let created = http
        .post(format!("{base}/v1.0/users"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"userPrincipalName": "dana@openpim.test", "displayName": "Dana", "accountEnabled": true}))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(created.status(), 201);
    let created_id = created.headers()["request-id"].to_str().unwrap().to_string();

    let pid = child.id().expect("running").to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let exit = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("stops").unwrap();
    assert!(exit.success(), "exit 0 on SIGTERM: {exit}");
    drain_stderr.await.unwrap();
    let text = log.await.unwrap();

    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    let request_line = |id: &str| -> Value {
        let mine: Vec<&Value> =
            lines.iter().filter(|l| l["target"] == "openpim::request" && l["request_id"] == id).collect();
        assert_eq!(mine.len(), 1, "one request line for {id}:\n{text}");
        mine[0].clone()
    };
    let line = request_line(&me_id);
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["method"], "GET");
    assert_eq!(line["route"], "/v1.0/me");
    assert_eq!(line["path"], "/v1.0/me", "never the query string");
    assert_eq!(line["status"], 200);
    assert_eq!(line["caller_id"], admin_id.as_str());
    assert_eq!(line["client_request_id"], CLIENT_ID);
    assert!(line["duration_ms"].is_number(), "{line}");
    let line = request_line(&created_id);
    assert_eq!((line["method"].as_str(), line["status"].as_u64()), (Some("POST"), Some(201)), "{line}");

    let change: Vec<&Value> =
        lines.iter().filter(|l| l["target"] == "openpim::change" && l["correlation_id"] == created_id).collect();
    assert_eq!(change.len(), 1, "one change line for the user creation:\n{text}");
    assert_eq!(change[0]["activity"], "Add user");
    assert_eq!(change[0]["result"], "success");
    assert_eq!(change[0]["actor_id"], admin_id.as_str());
    assert_eq!(change[0]["span"]["request_id"], created_id.as_str(), "in the request's span");

    assert!(!text.contains(&token), "the bearer token reached the log");
}
