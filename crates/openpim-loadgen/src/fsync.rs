//! `sqlite-fsync`: the durable-commit ceiling. One connection, WAL, `synchronous=FULL`, and a loop
//! of BEGIN; INSERT one row; COMMIT: every commit waits for its fsync, as OpenPIM's do.

use crate::hist::{round3, Latencies, Summary};
use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug, Serialize)]
pub struct Report {
    pub mode: &'static str,
    pub duration_s: f64,
    pub commits: u64,
    pub commits_per_s: f64,
    pub latency: Summary,
}

pub async fn run(dir: &Path, duration: Duration) -> anyhow::Result<Report> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("fsync-ceiling.db");
    let _ = std::fs::remove_file(&path);
    let mut conn = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .connect()
        .await?;
    sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT NOT NULL, at BIGINT NOT NULL)")
        .execute(&mut conn)
        .await?;
    let mut lat = Latencies::new();
    let start = Instant::now();
    let mut n: i64 = 0;
    while start.elapsed() < duration {
        let t0 = Instant::now();
        let mut tx = conn.begin().await?;
        sqlx::query("INSERT INTO t (payload, at) VALUES ($1, $2)")
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(n)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        lat.record(t0.elapsed());
        n += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM t").fetch_one(&mut conn).await?;
    anyhow::ensure!(count == n, "{n} commits but {count} rows");
    conn.close().await?;
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(dir.join("fsync-ceiling.db-wal"));
    let _ = std::fs::remove_file(dir.join("fsync-ceiling.db-shm"));
    Ok(Report {
        mode: "sqlite-fsync",
        duration_s: round3(secs),
        commits: n as u64,
        commits_per_s: round3(n as f64 / secs),
        latency: lat.summary(),
    })
}
