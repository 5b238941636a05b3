//! Harness for the CLI tests: a real OpenPIM server in this process (on 127.0.0.1:0, with a
//! fresh data directory and a domain clock the test moves), and the real `openpim` binary run
//! against it with tokens minted by `openpim token`.
//!
//! The fake clock starts at the real time: JWT lifetimes are checked against the system clock
//! and the CLI says "in 1h 59m" from its own clock, so the server's "now" stays near real time
//! and only moves forward by the minutes a test needs (e.g. past the 5-minute removal rule).

#![allow(dead_code)]

pub mod azure;
pub mod process;

use openpim_server::state::Clock;
use openpim_server::{RunningServer, ServerConfig};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tempfile::TempDir;
use time::OffsetDateTime;

pub const ADMIN: &str = "admin@openpim.test";
pub const USER_ADMINISTRATOR: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";
pub const GLOBAL_READER: &str = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";

pub struct FakeClock(Arc<Mutex<OffsetDateTime>>);

impl Clock for FakeClock {
    fn now(&self) -> OffsetDateTime {
        let t = *self.0.lock().expect("clock lock");
        // Microseconds, the precision the store keeps.
        t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000).unwrap_or(t)
    }
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }

    /// Asserts a failure with `code` and the `error: <code>: ...` line naming `error_code`.
    #[track_caller]
    pub fn assert_error(&self, code: i32, error_code: &str) {
        assert_eq!(self.code, code, "exit code; stdout: {}\nstderr: {}", self.stdout, self.stderr);
        assert!(
            self.stderr.lines().any(|l| l.starts_with(&format!("error: {error_code}: "))),
            "stderr should say 'error: {error_code}: ...': {}",
            self.stderr
        );
        assert!(self.stdout.is_empty(), "nothing on stdout after an error: {}", self.stdout);
    }
}

pub struct Cli {
    pub server: RunningServer,
    pub base: String,
    clock: Arc<Mutex<OffsetDateTime>>,
    data: TempDir,
    /// OPENPIM_CONFIG_DIR of every run: where `login` keeps profiles.
    pub config: TempDir,
    pub http: reqwest::Client,
    /// The PostgreSQL test database (base URL, schema, URL) when the server runs on one.
    postgres: Option<(String, String, String)>,
}

impl Cli {
    pub async fn start() -> Self {
        Self::start_with(Vec::new()).await
    }

    /// A server on PostgreSQL (a fresh schema of its own, dropped by [`Cli::stop`]) when
    /// `OPENPIM_TEST_POSTGRES_URL` is set, else on SQLite: for tests that run on both stores.
    pub async fn start_on_test_database() -> Self {
        let postgres = match std::env::var("OPENPIM_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) {
            None => None,
            Some(base) => {
                let (schema, url) =
                    openpim_store::testing::create_postgres_schema(&base).await.expect("a fresh PostgreSQL schema");
                Some((base, schema, url))
            }
        };
        Self::start_full(Vec::new(), postgres).await
    }

    /// Which store the server runs on, for test output.
    pub fn store(&self) -> &'static str {
        if self.postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    }

    /// A server that also trusts the external issuers `oidc_issuers`.
    pub async fn start_with(oidc_issuers: Vec<openpim_server::auth::external::IssuerConfig>) -> Self {
        Self::start_full(oidc_issuers, None).await
    }

    async fn start_full(
        oidc_issuers: Vec<openpim_server::auth::external::IssuerConfig>,
        postgres: Option<(String, String, String)>,
    ) -> Self {
        let data = tempfile::tempdir().expect("data dir");
        let config = tempfile::tempdir().expect("config dir");
        let now = OffsetDateTime::now_utc();
        let clock = Arc::new(Mutex::new(now.replace_nanosecond(0).unwrap_or(now)));
        let server = openpim_server::start_with_clock(
            ServerConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                data_dir: data.path().to_path_buf(),
                database_url: postgres.as_ref().map(|(_, _, url)| url.clone()),
                bootstrap_admin: ADMIN.into(),
                public_url: None,
                approval_timeout: openpim_server::DEFAULT_APPROVAL_TIMEOUT,
                notifications: Default::default(),
                metrics_access: Default::default(),
                tls: None,
                oidc_issuers,
                local_issuer: true,
                audit_checkpoint_interval: openpim_server::DEFAULT_AUDIT_CHECKPOINT_INTERVAL,
            },
            Box::new(FakeClock(clock.clone())),
        )
        .await
        .expect("server starts");
        let base = format!("http://{}", server.addr);
        Cli { server, base, clock, data, config, http: reqwest::Client::new(), postgres }
    }

    pub async fn stop(self) {
        self.server.stop().await.expect("server stops cleanly");
        if let Some((base, schema, _)) = self.postgres {
            openpim_store::testing::drop_postgres_schema(&base, &schema).await.expect("test schema dropped");
        }
    }

    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    pub fn advance(&self, by: time::Duration) {
        *self.clock.lock().unwrap() += by;
    }

    pub fn profile_file(&self) -> PathBuf {
        self.config.path().join("profiles.json")
    }

    /// Runs `openpim ARGS` with a clean environment (no OPENPIM_* from the caller).
    pub async fn exec(&self, args: &[&str], envs: &[(&str, &str)]) -> Out {
        let mut cmd = process::openpim_default_log(args);
        cmd.env("OPENPIM_CONFIG_DIR", self.config.path());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let out = cmd.output().await.expect("the openpim binary runs");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// A token from the real `openpim token` subcommand, MFA-challenged when `mfa`.
    pub async fn mint(&self, upn: &str, mfa: bool) -> String {
        let data = self.data.path().to_str().expect("utf-8 temp path");
        let mut args = vec!["token", "--data", data, "--user", upn];
        if let Some((_, _, url)) = &self.postgres {
            args.extend(["--database", url.as_str()]);
        }
        if mfa {
            args.push("--mfa");
        }
        let out = self.exec(&args, &[]).await;
        assert_eq!(out.code, 0, "openpim token: {}", out.stderr);
        let token = out.stdout.trim().to_string();
        assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
        token
    }

    pub async fn admin(&self) -> String {
        self.mint(ADMIN, true).await
    }

    /// `openpim --server BASE [--token T] ARGS`.
    pub async fn run(&self, token: Option<&str>, args: &[&str]) -> Out {
        let mut all = vec!["--server", self.base.as_str()];
        if let Some(t) = token {
            all.extend(["--token", t]);
        }
        all.extend(args);
        self.exec(&all, &[]).await
    }

    /// Runs with `--output json` and expects success; returns the parsed output.
    pub async fn ok(&self, token: &str, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        let out = self.run(Some(token), &all).await;
        assert_eq!(out.code, 0, "openpim {args:?} failed: {}\nstdout: {}", out.stderr, out.stdout);
        out.json()
    }

    /// Runs with `--output json` and expects failure.
    pub async fn fails(&self, token: &str, args: &[&str]) -> Out {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        self.run(Some(token), &all).await
    }

    /// Creates a user over HTTP (the CLI has no user commands); returns (id, MFA token).
    pub async fn user(&self, name: &str) -> (String, String) {
        let upn = format!("{name}@openpim.test");
        let resp = self
            .http
            .post(format!("{}/v1.0/users", self.base))
            .bearer_auth(self.admin().await)
            .json(&json!({"userPrincipalName": upn, "displayName": name, "accountEnabled": true}))
            .send()
            .await
            .expect("create user");
        assert_eq!(resp.status().as_u16(), 201, "create {upn}");
        let body: Value = resp.json().await.expect("user JSON");
        (body["id"].as_str().expect("id").to_string(), self.mint(&upn, true).await)
    }
}

impl Cli {
    /// Creates a role-assignable security group with `members` (user ids) over HTTP; returns its id.
    pub async fn group(&self, name: &str, members: &[&str]) -> String {
        let admin = self.admin().await;
        let resp = self
            .http
            .post(format!("{}/v1.0/groups", self.base))
            .bearer_auth(&admin)
            .json(&json!({"displayName": name, "mailEnabled": false, "securityEnabled": true,
                          "mailNickname": name.replace(' ', ""), "isAssignableToRole": true}))
            .send()
            .await
            .expect("create group");
        assert_eq!(resp.status().as_u16(), 201, "create group {name}");
        let id = resp.json::<Value>().await.expect("group JSON")["id"].as_str().expect("id").to_string();
        for m in members {
            let resp = self
                .http
                .post(format!("{}/v1.0/groups/{id}/members/$ref", self.base))
                .bearer_auth(&admin)
                .json(&json!({"@odata.id": format!("{}/v1.0/directoryObjects/{m}", self.base)}))
                .send()
                .await
                .expect("add member");
            assert_eq!(resp.status().as_u16(), 204, "add {m} to {name}");
        }
        id
    }

    /// Runs `openpim ARGS` with `stdin` as standard input.
    pub async fn exec_with_stdin(&self, args: &[&str], stdin: &str) -> Out {
        use tokio::io::AsyncWriteExt;
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_openpim"));
        cmd.args(args)
            .kill_on_drop(true)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (k, _) in std::env::vars() {
            if k.starts_with("OPENPIM_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("OPENPIM_CONFIG_DIR", self.config.path());
        let mut child = cmd.spawn().expect("the openpim binary runs");
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(stdin.as_bytes()).await.expect("write stdin");
        drop(input);
        let out = child.wait_with_output().await.expect("openpim finishes");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// The rows of a JSON array output.
#[track_caller]
pub fn rows(v: &Value) -> Vec<Value> {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}")).clone()
}

/// Parses an RFC 3339 property.
#[track_caller]
pub fn at(v: &Value) -> OffsetDateTime {
    let s = v.as_str().unwrap_or_else(|| panic!("not a date-time: {v}"));
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).expect("RFC 3339")
}
