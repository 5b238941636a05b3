//! Operating the service through the real `openpim` binary: the data directory's lock (a second
//! server on one directory is refused), break-glass recovery, and private file modes.

use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Child;

mod common;
use common::process::{finish, listening, openpim};

const ADMIN: &str = "admin@openpim.test";
const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";

/// Runs a command to completion: (exit code, stdout, stderr).
async fn run(args: &[&str]) -> (i32, String, String) {
    finish(openpim(args), Duration::from_secs(60)).await
}

/// A server started through the binary on a free port.
struct Served {
    child: Child,
    base: String,
    log: tokio::task::JoinHandle<String>,
}

async fn serve(data: &Path) -> Served {
    let data = data.to_str().unwrap();
    let mut child = openpim(&["serve", "--data", data, "--listen", "127.0.0.1:0", "--bootstrap-admin", ADMIN])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("openpim serve starts");
    let (base, log) = listening(&mut child).await;
    Served { child, base, log }
}

impl Served {
    fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// SIGTERM, then waits for a clean exit.
    async fn stop(mut self) {
        let pid = self.pid().to_string();
        let status = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        assert!(status.success());
        let exit = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await.expect("stops").unwrap();
        let log = self.log.await.unwrap();
        assert!(exit.success(), "the server exits 0 on SIGTERM ({exit}): {log}");
    }

    async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let r = reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("request reaches the server");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        let r = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request reaches the server");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

async fn token(data: &Path, upn: &str) -> String {
    let (code, out, err) = run(&["token", "--data", data.to_str().unwrap(), "--user", upn, "--mfa"]).await;
    assert_eq!(code, 0, "openpim token: {err}");
    out.trim().to_string()
}

#[tokio::test]
async fn a_second_server_on_the_same_data_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = serve(dir.path()).await;
    let data = dir.path().to_str().unwrap();
    let (code, _, err) = run(&["serve", "--data", data, "--listen", "127.0.0.1:0"]).await;
    assert_ne!(code, 0, "the second server must not start: {err}");
    assert!(err.contains(data), "the message names the directory: {err}");
    assert!(err.contains(&format!("pid {}", first.pid())), "the message names the holder's pid: {err}");
    assert!(err.contains("in use by another OpenPIM process"), "{err}");
    // The first one is unaffected and still answers.
    let (status, _) = first.get("/v1.0/me", &token(dir.path(), ADMIN).await).await;
    assert_eq!(status, 200);
    first.stop().await;
    // Once stopped, the directory is free again.
    let again = serve(dir.path()).await;
    again.stop().await;
}

#[tokio::test]
async fn recover_grants_global_admin_offline_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    // A directory no server ever used: refused, and left untouched.
    let (code, _, err) = run(&["recover", "--data", data, "--grant-global-admin", "ops@openpim.test"]).await;
    assert_ne!(code, 0);
    assert!(err.contains("no tenant yet"), "{err}");
    assert!(!dir.path().join("openpim.db").exists());
    let server = serve(dir.path()).await;
    let admin = token(dir.path(), ADMIN).await;
    // A locked-out user: disabled, no role.
    let (status, body) = server
        .post(
            "/v1.0/users",
            &admin,
            serde_json::json!({"userPrincipalName": "ops@openpim.test", "displayName": "Ops", "accountEnabled": false}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let ops_id = body["id"].as_str().unwrap().to_string();

    // Refused while the server runs.
    let (code, _, err) = run(&["recover", "--data", data, "--grant-global-admin", "ops@openpim.test"]).await;
    assert_ne!(code, 0, "recover must refuse while a server holds the data directory: {err}");
    assert!(err.contains(&format!("pid {}", server.pid())), "{err}");
    server.stop().await;

    let (code, _, err) = run(&["recover", "--data", data, "--grant-global-admin", "ops@openpim.test"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("Re-enabled user ops@openpim.test"), "{err}");
    assert!(err.contains("Granted ops@openpim.test a permanent Global Administrator"), "{err}");
    // Idempotent: a second run grants nothing new.
    let (code, _, err) = run(&["recover", "--data", data, "--grant-global-admin", "ops@openpim.test"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("already holds"), "{err}");
    // A user that does not exist is created.
    let (code, _, err) = run(&["recover", "--data", data, "--grant-global-admin", "glass@openpim.test"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("Created user glass@openpim.test"), "{err}");

    let server = serve(dir.path()).await;
    let ops = token(dir.path(), "ops@openpim.test").await;
    let (status, me) = server.get("/v1.0/me", &ops).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["accountEnabled"], true, "{me}");
    let filter = format!(
        "/v1.0/roleManagement/directory/roleAssignments?$filter=principalId%20eq%20'{ops_id}'%20and%20roleDefinitionId%20eq%20'{GLOBAL_ADMINISTRATOR}'"
    );
    let (status, list) = server.get(&filter, &ops).await;
    assert_eq!(status, 200, "ops is an administrator now: {list}");
    let assignments = list["value"].as_array().unwrap();
    assert_eq!(assignments.len(), 1, "{list}");
    assert_eq!(assignments[0]["directoryScopeId"], "/", "{list}");
    // The new user is an administrator too.
    let glass = token(dir.path(), "glass@openpim.test").await;
    let (status, body) = server.get("/v1.0/users", &glass).await;
    assert_eq!(status, 200, "{body}");

    let (status, audits) = server.get("/v1.0/auditLogs/directoryAudits?$top=999", &ops).await;
    assert_eq!(status, 200, "{audits}");
    let recoveries: Vec<&Value> = audits["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["activityDisplayName"] == "Break-glass recovery")
        .collect();
    assert_eq!(recoveries.len(), 3, "one audit record per run: {audits}");
    assert!(recoveries.iter().any(|a| a["targetResources"][0]["id"] == ops_id.as_str()), "{audits}");
    assert!(recoveries.iter().all(|a| a.to_string().contains("local operator")), "{audits}");
    server.stop().await;
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_its_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data");
    let server = serve(&dir).await;
    let mode = |name: &str| {
        let p = if name.is_empty() { dir.clone() } else { dir.join(name) };
        std::fs::metadata(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o777
    };
    assert_eq!(mode(""), 0o700, "data directory");
    for f in ["openpim.db", "openpim.db-wal", "openpim.db-shm", "issuer-key.p8", "issuer.json", "openpim.lock"] {
        assert_eq!(mode(f), 0o600, "{f}");
    }
    server.stop().await;

    // Loosened by hand (e.g. copied with a permissive umask): fixed on the next start.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(dir.join("issuer-key.p8"), std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(dir.join("issuer.json"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let server = serve(&dir).await;
    assert_eq!(mode(""), 0o700);
    assert_eq!(mode("issuer-key.p8"), 0o600);
    assert_eq!(mode("issuer.json"), 0o600);
    server.stop().await;
}
