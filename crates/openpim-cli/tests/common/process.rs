//! The `openpim` binary as a child process, for the tests that run the service itself (`serve`,
//! `backup`, `restore`, `recover`): a command with none of the caller's OPENPIM_* variables (so a
//! developer's environment cannot change what a test sees), run to its end with a time limit, and
//! a server's address read from its "OpenPIM listening on URL" line.

use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

/// `openpim ARGS` with no OPENPIM_* variables from the caller's environment and the log at `warn`.
pub fn openpim(args: &[&str]) -> Command {
    let mut cmd = openpim_default_log(args);
    cmd.env("OPENPIM_LOG", "warn");
    cmd
}

/// `openpim ARGS` with no OPENPIM_* variables from the caller's environment, so the default log
/// filter applies.
pub fn openpim_default_log(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_openpim"));
    cmd.args(args).kill_on_drop(true);
    for (k, _) in std::env::vars() {
        if k.starts_with("OPENPIM_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Runs `cmd` to completion within `limit`: (exit code, stdout, stderr).
pub async fn finish(mut cmd: Command, limit: Duration) -> (i32, String, String) {
    let out = tokio::time::timeout(limit, cmd.output()).await.expect("the command finishes").expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Reads a started `openpim serve`'s standard error (piped) until it says "OpenPIM listening on
/// URL" (within a minute); returns the URL and the rest of standard error, drained in the
/// background so the server never blocks on a full pipe.
pub async fn listening(child: &mut Child) -> (String, JoinHandle<String>) {
    let mut lines = BufReader::new(child.stderr.take().expect("stderr is piped")).lines();
    let mut seen = String::new();
    let base = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("stderr readable") {
            seen.push_str(&line);
            seen.push('\n');
            if let Some(url) = line.strip_prefix("OpenPIM listening on ") {
                return url.trim().to_string();
            }
        }
        panic!("the server exited before listening:\n{seen}");
    })
    .await
    .expect("the server listens within a minute");
    let rest = tokio::spawn(async move {
        let mut rest = String::new();
        while let Ok(Some(line)) = lines.next_line().await {
            rest.push_str(&line);
            rest.push('\n');
        }
        rest
    });
    (base, rest)
}
