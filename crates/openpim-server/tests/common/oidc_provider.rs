//! Starting the real OpenID provider of the sign-in tests (tests/oidc/provider.mjs, panva's
//! oidc-provider) on a loopback port. Shared by the server's tests/oidc.rs and the CLI's
//! tests/oidc_login.rs (which includes this file by path).
//!
//! Needs node and `npm ci` in tests/oidc (CI does both). Without node, [`start`] says so loudly
//! and answers `None`; with node but without the packages it fails, so CI cannot skip the tests
//! by accident.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The running provider; killed when dropped (and it exits by itself when its stdin closes).
pub struct RunningProvider {
    _child: tokio::process::Child,
    pub issuer: String,
    /// The provider's start line (issuer and signing keys).
    pub start_line: serde_json::Value,
}

/// Starts the provider with `env` (e.g. `OIDC_AUDIENCE`, `OIDC_ACCESS_TTL`), or `None` when node
/// is not installed.
pub async fn start(env: &[(&str, &str)]) -> Option<RunningProvider> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc");
    if std::process::Command::new("node").arg("--version").output().is_err() {
        eprintln!(
            "\n*** SKIPPED: node is not installed, so the OpenID provider tests did not run. ***\n\
             *** Install node and run `npm ci` in tests/oidc to run them.                 ***\n"
        );
        return None;
    }
    assert!(
        dir.join("node_modules/oidc-provider").exists(),
        "node is installed but tests/oidc has no packages: run `npm ci` in {}",
        dir.display()
    );
    let mut child = tokio::process::Command::new("node")
        .arg("provider.mjs")
        .current_dir(&dir)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut stdout = BufReader::new(stdout);
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(30), stdout.read_line(&mut line))
        .await
        .expect("the provider starts within 30 s")
        .expect("the provider's start line");
    // oidc-provider prints notices on stdout later (e.g. on the first device-flow page): keep
    // reading, or its writes fail with EPIPE and take it down.
    tokio::spawn(async move {
        let mut rest = String::new();
        while matches!(stdout.read_line(&mut rest).await, Ok(n) if n > 0) {
            rest.clear();
        }
    });
    let start_line: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("start line {line:?}: {e}"));
    let issuer = start_line["issuer"].as_str().expect("the start line names the issuer").to_string();
    Some(RunningProvider { _child: child, issuer, start_line })
}
