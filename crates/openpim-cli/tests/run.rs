//! Running the service through the real `openpim` binary: the configuration file and `config
//! check` (precedence flag > environment > file > default, secrets masked, every problem listed),
//! a taken port, and SIGTERM draining an in-flight request before exiting 0.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

mod common;
use common::process::{finish, listening, openpim};

const ADMIN: &str = "admin@openpim.test";

async fn output(cmd: Command) -> (i32, String, String) {
    finish(cmd, Duration::from_secs(60)).await
}

async fn run(args: &[&str]) -> (i32, String, String) {
    output(openpim(args)).await
}

/// `openpim serve ARGS`, once it announced its address.
struct Served {
    child: Child,
    base: String,
    log: tokio::task::JoinHandle<String>,
}

async fn serve(args: &[&str]) -> Served {
    let mut child = openpim(&[&["serve"], args].concat())
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openpim serve starts");
    // The log (on standard output) and standard error both end up in `log`.
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let out_log = tokio::spawn(async move {
        let mut all = String::new();
        while let Ok(Some(line)) = stdout.next_line().await {
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let (base, rest) = listening(&mut child).await;
    let log = tokio::spawn(async move { rest.await.unwrap_or_default() + &out_log.await.unwrap_or_default() });
    Served { child, base, log }
}

impl Served {
    fn terminate(&self) {
        let pid = self.child.id().expect("running").to_string();
        let status = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        assert!(status.success());
    }

    /// Waits for the exit after a signal: (status, log).
    async fn exited(mut self) -> (std::process::ExitStatus, String) {
        let exit = tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await.expect("exits").unwrap();
        (exit, self.log.await.unwrap())
    }

    fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }
}

async fn token(data: &Path, upn: &str) -> String {
    let (code, out, err) = run(&["token", "--data", data.to_str().unwrap(), "--user", upn]).await;
    assert_eq!(code, 0, "openpim token: {err}");
    out.trim().to_string()
}

#[tokio::test]
async fn config_check_prints_the_effective_configuration_with_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("db-url"), "postgres://openpim:hunter2@db.example.com:5432/pim\n").unwrap();
    let file = dir.path().join("openpim.toml");
    std::fs::write(
        &file,
        r#"
listen = "127.0.0.1:9000"
data = "/srv/openpim"
database_file = "db-url"
approval_timeout = "2d"
audit_checkpoint_interval = "10m"
metrics = "token"
log = "warn,openpim_server=info"

[notifications]
webhook = "https://hooks.example.com/pim?token=t0psecret"

[limits]
refusals_per_minute = 5

[[issuer]]
url = "https://idp.example.com"
audience = "api://openpim"
client_id = "web"
client_secret = "c1ientsecret"
"#,
    )
    .unwrap();
    let config = file.to_str().unwrap();
    let mut cmd = openpim(&["config", "check", "--config", config, "--refusals-per-minute", "7"]);
    // The environment beats the file, the flag beats the environment.
    cmd.env_remove("OPENPIM_LOG")
        .env("OPENPIM_LISTEN", "127.0.0.1:9001")
        .env("OPENPIM_REFUSALS_PER_MINUTE", "6")
        .env("OPENPIM_BOOTSTRAP_ADMIN", "root@example.com");
    let (code, out, err) = output(cmd).await;
    assert_eq!(code, 0, "{err}");
    let printed: toml::Table = toml::from_str(&out).unwrap_or_else(|e| panic!("config check prints TOML: {e}\n{out}"));
    assert_eq!(printed["listen"].as_str(), Some("127.0.0.1:9001"), "env over file: {out}");
    assert_eq!(printed["limits"]["refusals_per_minute"].as_integer(), Some(7), "flag over env: {out}");
    assert_eq!(printed["limits"]["signins_per_minute"].as_integer(), Some(60), "the default: {out}");
    assert_eq!(printed["bootstrap_admin"].as_str(), Some("root@example.com"), "{out}");
    assert_eq!(printed["data"].as_str(), Some("/srv/openpim"), "file over default: {out}");
    assert_eq!(printed["approval_timeout"].as_str(), Some("2d"), "{out}");
    assert_eq!(printed["audit_checkpoint_interval"].as_str(), Some("10m"), "{out}");
    assert_eq!(printed["metrics"].as_str(), Some("token"), "{out}");
    assert_eq!(printed["log"].as_str(), Some("warn,openpim_server=info"), "the file's log filter: {out}");
    assert_eq!(printed["database"].as_str(), Some("postgres://openpim:***@db.example.com:5432/pim"), "{out}");
    assert_eq!(printed["notifications"]["webhook"].as_str(), Some("https://hooks.example.com/pim?***"), "{out}");
    assert_eq!(printed["issuer"][0]["client_secret"].as_str(), Some("***"), "{out}");
    assert_eq!(printed["issuer"][0]["client_id"].as_str(), Some("web"), "{out}");
    for secret in ["hunter2", "t0psecret", "c1ientsecret"] {
        assert!(!out.contains(secret) && !err.contains(secret), "{secret} leaked: {out}{err}");
    }
    assert!(!dir.path().join("openpim-data").exists() && !Path::new("/srv/openpim").exists(), "nothing created");

    // What it printed (secrets aside) is itself a configuration that checks.
    let reprinted = dir.path().join("printed.toml");
    std::fs::write(
        &reprinted,
        out.replace("database = \"postgres://openpim:***@", "database = \"postgres://openpim:x@"),
    )
    .unwrap();
    let (code, again, err) = run(&["config", "check", "--config", reprinted.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{err}");
    assert!(again.contains("listen = \"127.0.0.1:9001\""), "{again}");
}

#[tokio::test]
async fn config_check_lists_every_problem_with_its_line_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "listen = \"nowhere\"\napproval_timeout = \"3y\"\n\n[tls]\ncert = \"/nonexistent.pem\"\n")
        .unwrap();
    let (code, out, err) = run(&["config", "check", "--config", file.to_str().unwrap()]).await;
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.is_empty(), "nothing printed on standard output: {out}");
    assert!(err.contains("3 problem(s)"), "{err}");
    assert!(err.contains("line 1, `listen`"), "{err}");
    assert!(err.contains("line 2, `approval_timeout`") && err.contains("unknown unit 'y'"), "{err}");
    assert!(err.contains("[tls] needs both `cert` and `key`"), "{err}");

    // A misspelt key is an error naming it and its line, not a silent default.
    std::fs::write(&file, "listen = \"127.0.0.1:1\"\n[limits]\nrefusal_per_minute = 3\n").unwrap();
    let (code, _, err) = run(&["config", "check", "--config", file.to_str().unwrap()]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown field `refusal_per_minute`") && err.contains("line 3"), "{err}");
    // The same file stops `serve` before it listens or creates anything.
    let data = dir.path().join("data");
    let (code, _, err) = run(&["serve", "--config", file.to_str().unwrap(), "--data", data.to_str().unwrap()]).await;
    assert_ne!(code, 0);
    assert!(err.contains("refusal_per_minute"), "{err}");
    assert!(!data.exists());
    // A missing file is a problem too.
    let (code, _, err) = run(&["config", "check", "--config", "/nonexistent/openpim.toml"]).await;
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/openpim.toml: cannot read it"), "{err}");
}

#[tokio::test]
async fn serve_reads_its_settings_from_the_file_and_a_taken_port_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("from-file");
    let file = dir.path().join("openpim.toml");
    std::fs::write(
        &file,
        format!("listen = \"127.0.0.1:0\"\ndata = {:?}\nbootstrap_admin = \"{ADMIN}\"\n", data.to_str().unwrap()),
    )
    .unwrap();
    let server = serve(&["--config", file.to_str().unwrap()]).await;
    assert!(data.join("openpim.db").exists(), "the file's data directory is used");
    let admin = token(&data, ADMIN).await;
    let me: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/v1.0/me", server.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["userPrincipalName"], ADMIN, "the file's bootstrap admin: {me}");
    let ready = reqwest::get(format!("{}/readyz", server.base)).await.unwrap();
    assert_eq!(ready.status(), 200);

    // A second server on the same port: refused, naming the address, its data directory untouched.
    let other = dir.path().join("other");
    let addr = server.addr();
    let (code, _, err) = run(&["serve", "--listen", &addr, "--data", other.to_str().unwrap()]).await;
    assert_ne!(code, 0);
    assert!(err.contains(&format!("cannot listen on {addr}: address in use")), "{err}");
    assert!(!other.exists(), "the data directory was not created");

    // `openpim health`, the container's health check, probes both endpoints.
    let (code, out, err) = run(&["health", "--url", &server.base]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"status\":\"ok\""), "{out}");
    let (code, out, err) = run(&["health", "--url", &server.base, "--ready"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"status\":\"ready\""), "{out}");

    server.terminate();
    let (exit, log) = server.exited().await;
    assert!(exit.success(), "{exit}: {log}");
    let (code, _, err) = run(&["health", "--url", &format!("http://{addr}"), "--timeout", "2s"]).await;
    assert_eq!(code, 1, "a stopped server is not healthy: {err}");
    assert!(err.contains("/healthz"), "{err}");
}

/// A request whose body is still arriving when SIGTERM comes: the server stops accepting, lets
/// it finish (the write commits), answers it in full, and exits 0.
#[tokio::test]
async fn sigterm_drains_an_in_flight_request_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let server = serve(&["--data", data, "--listen", "127.0.0.1:0", "--bootstrap-admin", ADMIN]).await;
    let admin = token(dir.path(), ADMIN).await;
    let body = serde_json::json!({"userPrincipalName": "drained@openpim.test", "displayName": "Drained"}).to_string();
    let (head, tail) = body.split_at(body.len() / 2);
    let mut conn = std::net::TcpStream::connect(server.addr()).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        conn,
        "POST /v1.0/users HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {admin}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{head}",
        server.addr(),
        body.len()
    )
    .unwrap();
    conn.flush().unwrap();
    // Let the server read the head and wait on the rest of the body, then ask it to stop.
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.terminate();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // New connections are refused meanwhile; the old one is still being served.
    assert!(std::net::TcpStream::connect(server.addr()).is_err(), "the listener is closed while draining");
    conn.write_all(tail.as_bytes()).unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "the in-flight request was answered: {response}");
    assert!(response.contains("drained@openpim.test"), "in full: {response}");
    let (exit, log) = server.exited().await;
    assert!(exit.success(), "exit 0 after draining ({exit}): {log}");

    // The write it finished is durable.
    let server = serve(&["--data", data, "--listen", "127.0.0.1:0"]).await;
    let users: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/v1.0/users?$filter=userPrincipalName eq 'drained@openpim.test'", server.base))
        .bearer_auth(token(dir.path(), ADMIN).await)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(users["value"].as_array().map(Vec::len), Some(1), "{users}");
    server.terminate();
    assert!(server.exited().await.0.success());
}

/// A request that never completes does not hold the shutdown past --shutdown-timeout.
#[tokio::test]
async fn a_stalled_request_is_cut_at_the_shutdown_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let server =
        serve(&["--data", data, "--listen", "127.0.0.1:0", "--shutdown-timeout", "1s", "--bootstrap-admin", ADMIN])
            .await;
    let admin = token(dir.path(), ADMIN).await;
    let mut conn = std::net::TcpStream::connect(server.addr()).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    // Authorised, so the handler is reached and waits for a body that never comes.
    write!(
        conn,
        "POST /v1.0/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\nContent-Type: application/json\r\n\
         Content-Length: 1000\r\n\r\n{{"
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.terminate();
    let (exit, log) = server.exited().await;
    assert!(exit.success(), "exit 0 after the bound ({exit}): {log}");
    assert!(log.contains("shutdown timeout"), "the cut is logged: {log}");
    let mut response = String::new();
    let _ = conn.read_to_string(&mut response);
    assert!(!response.contains("201"), "the stalled request was not served: {response}");
}
