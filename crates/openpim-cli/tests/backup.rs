//! Backups through the real `openpim` binary: `openpim backup` of a server's data directory
//! while it takes writes, `openpim restore` into a new directory, and a server on the restored
//! directory that has every write acknowledged before the backup began and accepts the tokens
//! the old server issued. Also what restore refuses (a used directory, a damaged or truncated
//! file, a foreign issuer key), and for PostgreSQL, a `pg_dump`/`pg_restore` round trip (with
//! OPENPIM_TEST_POSTGRES_URL).

use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::process::Child;

mod common;
use common::process::{finish, listening, openpim};

const ADMIN: &str = "admin@openpim.test";

/// Runs a command to completion: (exit code, stdout, stderr).
async fn run(args: &[&str]) -> (i32, String, String) {
    finish(openpim(args), Duration::from_secs(120)).await
}

/// A server started through the binary on a free port.
struct Served {
    child: Child,
    base: String,
    http: reqwest::Client,
    log: tokio::task::JoinHandle<String>,
}

async fn serve(data: &Path, extra: &[&str]) -> Served {
    let data = data.to_str().unwrap();
    let mut args = vec!["serve", "--data", data, "--listen", "127.0.0.1:0", "--bootstrap-admin", ADMIN];
    args.extend(extra);
    let mut child = openpim(&args).stderr(Stdio::piped()).stdout(Stdio::null()).spawn().expect("openpim serve starts");
    let (base, log) = listening(&mut child).await;
    Served { child, base, http: reqwest::Client::new(), log }
}

impl Served {
    /// SIGTERM, then waits for a clean exit.
    async fn stop(mut self) {
        let pid = self.child.id().expect("running").to_string();
        let status = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        assert!(status.success());
        let exit = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await.expect("stops").unwrap();
        let log = self.log.await.unwrap();
        assert!(exit.success(), "the server exits 0 on SIGTERM ({exit}): {log}");
    }

    async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let r = self.http.get(format!("{}{path}", self.base)).bearer_auth(token).send().await.expect("reaches");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn create_user(&self, token: &str, name: &str) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/v1.0/users", self.base))
            .bearer_auth(token)
            .json(&json!({"userPrincipalName": format!("{name}@openpim.test"), "displayName": name}))
            .send()
            .await
            .expect("reaches");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

async fn token(data: &Path, extra: &[&str]) -> String {
    let mut args = vec!["token", "--data", data.to_str().unwrap(), "--user", ADMIN, "--mfa"];
    args.extend(extra);
    let (code, out, err) = run(&args).await;
    assert_eq!(code, 0, "openpim token: {err}");
    out.trim().to_string()
}

/// One user creation as the writers saw it.
#[derive(Clone, Debug)]
struct Write {
    id: String,
    /// Sequence numbers of the moment the request was sent and the moment it was acknowledged
    /// (one counter shared with the backup's start and end, so "before" needs no clock).
    sent: u64,
    acked: u64,
}

#[derive(Default)]
struct Log {
    tick: u64,
    writes: Vec<Write>,
}

impl Log {
    fn tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }
}

#[tokio::test]
async fn a_backup_taken_under_write_load_restores_every_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Arc::new(serve(&data, &[]).await);
    let admin = token(&data, &[]).await;

    // Four writers create users as fast as the server acknowledges them.
    let log = Arc::new(Mutex::new(Log::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (server, admin, log, stop) = (server.clone(), admin.clone(), log.clone(), stop.clone());
            tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    let sent = log.lock().unwrap().tick();
                    let (status, body) = server.create_user(&admin, &format!("w{w}-{i}")).await;
                    assert_eq!(status, 201, "writer {w}: {body}");
                    let mut log = log.lock().unwrap();
                    let acked = log.tick();
                    log.writes.push(Write { id: body["id"].as_str().unwrap().to_string(), sent, acked });
                    i += 1;
                }
            })
        })
        .collect();
    let acked_count = || log.lock().unwrap().writes.len();
    let wait_for = |n: usize| async move {
        tokio::time::timeout(Duration::from_secs(120), async {
            while acked_count() < n {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the writers make progress");
    };
    wait_for(40).await;

    let backup_file = dir.path().join("openpim.backup");
    let backup_started = log.lock().unwrap().tick();
    let (code, stdout, stderr) =
        run(&["backup", "--data", data.to_str().unwrap(), "--to", backup_file.to_str().unwrap()]).await;
    let backup_ended = log.lock().unwrap().tick();
    assert_eq!(code, 0, "openpim backup: {stderr}");
    let manifest: Value = serde_json::from_str(&stdout).expect("the manifest on stdout");
    assert_eq!(manifest["kind"], "openpim-backup");
    assert_eq!(manifest["includesIssuerKey"], true);
    let written = acked_count();
    // The writers keep going after the backup; those writes must not be in it.
    wait_for(written + 40).await;
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.expect("a writer failed");
    }
    Arc::into_inner(server).expect("writers are done").stop().await;

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&backup_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the backup holds the issuer key");
    }

    let restored = dir.path().join("restored");
    let (code, _, stderr) =
        run(&["restore", "--from", backup_file.to_str().unwrap(), "--data", restored.to_str().unwrap()]).await;
    assert_eq!(code, 0, "openpim restore: {stderr}");
    assert!(stderr.contains("integrity check ok"), "{stderr}");
    let facts = openpim_store::backup::inspect(&restored.join("openpim.db")).await.unwrap();
    assert!(facts.is_sound(), "{facts:?}");

    let writes = log.lock().unwrap().writes.clone();
    let before: Vec<&Write> = writes.iter().filter(|w| w.acked < backup_started).collect();
    let after: Vec<&Write> = writes.iter().filter(|w| w.sent > backup_ended).collect();
    // At most one write per writer was in flight when the backup ended.
    assert!(before.len() >= 40 && after.len() >= 36, "{} before, {} after", before.len(), after.len());

    // The old server's token works on the restored one: same issuer, same key.
    let server = serve(&restored, &[]).await;
    for w in &before {
        let (status, body) = server.get(&format!("/v1.0/users/{}", w.id), &admin).await;
        assert_eq!(status, 200, "user {} was acknowledged before the backup began: {body}", w.id);
    }
    for w in &after {
        let (status, _) = server.get(&format!("/v1.0/users/{}", w.id), &admin).await;
        assert_eq!(status, 404, "user {} was created after the backup ended", w.id);
    }
    // Every user the snapshot holds is one of the writers' (or the administrator).
    let ids: HashSet<&str> = writes.iter().map(|w| w.id.as_str()).collect();
    let (status, body) = server.get("/v1.0/users?$top=999&$select=id,userPrincipalName", &admin).await;
    assert_eq!(status, 200, "{body}");
    let listed = body["value"].as_array().unwrap();
    assert!(listed.len() > before.len(), "at least the acknowledged users and the admin");
    for u in listed {
        let id = u["id"].as_str().unwrap();
        assert!(ids.contains(id) || u["userPrincipalName"] == ADMIN, "unexpected user {u}");
    }
    // And it takes writes.
    let (status, body) = server.create_user(&admin, "after-restore").await;
    assert_eq!(status, 201, "{body}");
    server.stop().await;
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".openpim-"))
        .collect()
}

#[tokio::test]
async fn restore_refuses_a_used_directory_a_damaged_file_and_a_foreign_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = serve(&data, &[]).await;
    let admin = token(&data, &[]).await;
    assert_eq!(server.create_user(&admin, "kept").await.0, 201);
    let full = dir.path().join("full.backup");
    let keyless = dir.path().join("keyless.backup");
    let (code, _, err) = run(&["backup", "--data", data.to_str().unwrap(), "--to", full.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{err}");
    let (code, _, err) =
        run(&["backup", "--data", data.to_str().unwrap(), "--to", keyless.to_str().unwrap(), "--without-issuer-key"])
            .await;
    assert_eq!(code, 0, "{err}");
    // A backup is never overwritten.
    let (code, _, err) = run(&["backup", "--data", data.to_str().unwrap(), "--to", full.to_str().unwrap()]).await;
    assert_ne!(code, 0);
    assert!(err.contains("exists already"), "{err}");
    server.stop().await;

    let restore = |from: &Path, to: &Path, key: Option<&Path>| {
        let mut args = vec![
            "restore".to_string(),
            "--from".into(),
            from.display().to_string(),
            "--data".into(),
            to.display().to_string(),
        ];
        if let Some(k) = key {
            args.extend(["--issuer-key".into(), k.display().to_string()]);
        }
        async move { run(&args.iter().map(String::as_str).collect::<Vec<_>>()).await }
    };

    // A directory in use (here: holding a file) is refused and left as it was.
    let used = dir.path().join("used");
    std::fs::create_dir(&used).unwrap();
    std::fs::write(used.join("notes.txt"), b"mine").unwrap();
    let (code, _, err) = restore(&full, &used, None).await;
    assert_ne!(code, 0);
    assert!(err.contains("is not empty"), "{err}");
    assert_eq!(std::fs::read_dir(&used).unwrap().count(), 1);
    assert_eq!(std::fs::read(used.join("notes.txt")).unwrap(), b"mine");
    // The data directory itself, too.
    let (code, _, err) = restore(&full, &data, None).await;
    assert!(code != 0 && err.contains("is not empty"), "{err}");

    // A byte changed inside the database: the checksum says so.
    let mut bytes = std::fs::read(&full).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xFF;
    let damaged = dir.path().join("damaged.backup");
    std::fs::write(&damaged, &bytes).unwrap();
    let target = dir.path().join("target");
    let (code, _, err) = restore(&damaged, &target, None).await;
    assert_ne!(code, 0);
    assert!(err.contains("is damaged") && err.contains("does not match its checksum"), "{err}");
    // Cut short: refused too.
    let truncated = dir.path().join("truncated.backup");
    std::fs::write(&truncated, &std::fs::read(&full).unwrap()[..middle]).unwrap();
    let (code, _, err) = restore(&truncated, &target, None).await;
    assert!(code != 0 && err.contains("not an OpenPIM backup or is damaged"), "{err}");
    // Not a backup at all.
    let (code, _, err) = restore(&dir.path().join("data/openpim.db"), &target, None).await;
    assert!(code != 0 && err.contains("not an OpenPIM backup or is damaged"), "{err}");

    // Without its key, the keyless backup needs --issuer-key, and only the right one.
    let (code, _, err) = restore(&keyless, &target, None).await;
    assert!(code != 0 && err.contains("--issuer-key"), "{err}");
    let other = dir.path().join("other");
    openpim_server::auth::LocalIssuer::load_or_create(&other).unwrap();
    let (code, _, err) = restore(&keyless, &target, Some(&other.join("issuer-key.p8"))).await;
    assert!(code != 0 && err.contains("the issuer key does not belong to this backup"), "{err}");
    let (code, _, err) = restore(&full, &target, Some(&other.join("issuer-key.p8"))).await;
    assert!(code != 0 && err.contains("differs from the key inside the backup"), "{err}");
    // None of the refusals left anything behind.
    assert!(!target.exists());
    assert!(leftovers(dir.path()).is_empty(), "{:?}", leftovers(dir.path()));

    // The right key restores it, into an existing empty directory.
    std::fs::create_dir(&target).unwrap();
    let (code, _, err) = restore(&keyless, &target, Some(&data.join("issuer-key.p8"))).await;
    assert_eq!(code, 0, "{err}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&target), 0o700);
        for f in ["openpim.db", "issuer-key.p8", "issuer.json"] {
            assert_eq!(mode(&target.join(f)), 0o600, "{f}");
        }
    }
    let server = serve(&target, &[]).await;
    let (status, body) = server.get("/v1.0/users?$filter=displayName eq 'kept'", &admin).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["value"].as_array().map(Vec::len), Some(1), "{body}");
    server.stop().await;
}

/// A PostgreSQL store is backed up with pg_dump: dump the test database, restore it into a new
/// database with pg_restore, and a server started on that one (with the same issuer key) has
/// the data and accepts the old tokens. Needs OPENPIM_TEST_POSTGRES_URL, pg_dump and pg_restore.
#[tokio::test]
#[ignore = "needs PostgreSQL: set OPENPIM_TEST_POSTGRES_URL and run with --include-ignored"]
async fn postgres_pg_dump_and_pg_restore_round_trip() {
    let url = std::env::var("OPENPIM_TEST_POSTGRES_URL").expect("OPENPIM_TEST_POSTGRES_URL is set");
    let tool_version = |tool: &str| -> Option<u32> {
        let out = std::process::Command::new(tool).arg("--version").output().ok()?;
        // "pg_dump (PostgreSQL) 15.20 (Debian ...)"
        String::from_utf8_lossy(&out.stdout).split_whitespace().nth(2)?.split('.').next()?.parse().ok()
    };
    let psql = |db_url: &str, sql: &str| -> String {
        let out = std::process::Command::new("psql")
            .args([db_url, "-v", "ON_ERROR_STOP=1", "-tAc", sql])
            .output()
            .expect("psql runs");
        assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let Some(dump_major) = tool_version("pg_dump") else {
        eprintln!("SKIPPED postgres_pg_dump_and_pg_restore_round_trip: pg_dump is not installed");
        return;
    };
    let server_major: u32 = psql(&url, "SHOW server_version_num").parse::<u32>().unwrap() / 10_000;
    if dump_major < server_major {
        eprintln!(
            "SKIPPED postgres_pg_dump_and_pg_restore_round_trip: pg_dump {dump_major} is older than the server \
             ({server_major}); install the server's client tools"
        );
        return;
    }

    // Two databases of our own beside the test database: the source and the restored copy.
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let (source_db, copy_db) = (format!("openpim_bk_src_{suffix}"), format!("openpim_bk_copy_{suffix}"));
    let with_db = |name: &str| match url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("OPENPIM_TEST_POSTGRES_URL has no database: {url}"),
    };
    psql(&url, &format!("CREATE DATABASE {source_db}"));
    psql(&url, &format!("CREATE DATABASE {copy_db}"));
    let (source_url, copy_url) = (with_db(&source_db), with_db(&copy_db));

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = serve(&data, &["--database", &source_url]).await;
    let admin = token(&data, &["--database", &source_url]).await;
    let (status, created) = server.create_user(&admin, "dumped").await;
    assert_eq!(status, 201, "{created}");
    let dump = dir.path().join("openpim.dump");
    // The commands docs/OPERATIONS.md gives: custom format, no owners or privileges.
    let out = std::process::Command::new("pg_dump")
        .args(["--format=custom", "--no-owner", "--no-privileges", "--file", dump.to_str().unwrap(), &source_url])
        .output()
        .expect("pg_dump runs");
    assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
    server.stop().await;

    let out = std::process::Command::new("pg_restore")
        .args(["--no-owner", "--no-privileges", "--exit-on-error", "--dbname", &copy_url, dump.to_str().unwrap()])
        .output()
        .expect("pg_restore runs");
    assert!(out.status.success(), "pg_restore: {}", String::from_utf8_lossy(&out.stderr));

    // The same data directory (issuer key) with the restored database.
    let server = serve(&data, &["--database", &copy_url]).await;
    let (status, body) = server.get(&format!("/v1.0/users/{}", created["id"].as_str().unwrap()), &admin).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["displayName"], "dumped");
    server.stop().await;
    // The row came through pg_restore into the copy.
    assert_eq!(psql(&copy_url, "SELECT COUNT(*) FROM users WHERE display_name = 'dumped'"), "1");

    psql(&url, &format!("DROP DATABASE {source_db} WITH (FORCE)"));
    psql(&url, &format!("DROP DATABASE {copy_db} WITH (FORCE)"));
}
